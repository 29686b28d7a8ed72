//! `/tools/import_users`: users from an uploaded CSV (or passwd-style) file into LinOTP's
//! `imported_user` table, served by a `readonly` SQL resolver of the same name.
//!
//! A re-import is a synchronisation, as in LinOTP: users of the file are created or updated,
//! users of the resolver missing from the file are deleted. The reply lists them:
//! `created`, `updated` (unchanged users, LinOTP's name), `modified`, `deleted`, each as
//! user id → login. Plain-text passwords are stored as crypt hashes (`sha512_crypt`).

use axum::extract::State;
use axum::response::Response;
use linotp_crypto::{hash_password, verify_password};
use linotp_resolvers::define_resolver;
use linotp_store::users::{self as user_store, ImportedUser};
use serde_json::{Map, Value};

use super::resolvers::{readonly_flag, store_definition};
use super::{Access, Ctx, Endpoint, Guard, UploadForm, answer, check_system_right, ok};
use crate::app::AppState;
use crate::auth::AdminIdentity;
use crate::error::{ApiError, Result};
use crate::http::ClientIp;
use crate::params::Params;
use crate::pyfmt::{JsonStyle, python_json, python_str_repr};

/// The `imported_user` columns in table order (LinOTP's `ImportedUser.user_entries`).
const USER_ENTRIES: [&str; 9] = [
    "groupid",
    "userid",
    "username",
    "phone",
    "mobile",
    "email",
    "surname",
    "givenname",
    "password",
];

/// Columns of LinOTP's default CSV layout.
const CSV_MAPPING: [(&str, usize); 8] = [
    ("username", 0),
    ("userid", 1),
    ("surname", 2),
    ("givenname", 3),
    ("email", 4),
    ("phone", 5),
    ("mobile", 6),
    ("password", 7),
];

/// Columns of a passwd file after LinOTP's split of the GECOS field.
const PASSWD_MAPPING: [(&str, usize); 8] = [
    ("userid", 2),
    ("username", 0),
    ("phone", 8),
    ("mobile", 7),
    ("email", 9),
    ("surname", 5),
    ("givenname", 4),
    ("password", 1),
];

/// Python's `csv.reader` over lines (default dialect: `doublequote`, no escape character):
/// one row per line; a quoted field may span lines.
fn read_csv(text: &str, delimiter: char, quote: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut lines = text.split('\n');
    while let Some(first) = lines.next() {
        let mut line = first.strip_suffix('\r').unwrap_or(first).to_owned();
        let mut row = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut at_field_start = true;
        let mut chars: Vec<char> = line.chars().collect();
        let mut index = 0;
        loop {
            if index >= chars.len() {
                if quoted {
                    // The quoted field goes on on the next line.
                    match lines.next() {
                        Some(next) => {
                            field.push('\n');
                            line = next.strip_suffix('\r').unwrap_or(next).to_owned();
                            chars = line.chars().collect();
                            index = 0;
                            continue;
                        }
                        None => break,
                    }
                }
                break;
            }
            let ch = chars[index];
            index += 1;
            if quoted {
                if ch == quote {
                    if chars.get(index) == Some(&quote) {
                        field.push(quote);
                        index += 1;
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push(ch);
                }
            } else if ch == delimiter {
                row.push(std::mem::take(&mut field));
                at_field_start = true;
                continue;
            } else if ch == quote && at_field_start {
                quoted = true;
            } else {
                field.push(ch);
            }
            at_field_start = false;
        }
        if !(row.is_empty() && field.is_empty() && !quoted && chars.is_empty()) {
            row.push(field);
            rows.push(row);
        }
    }
    rows
}

/// LinOTP's `PasswdFormatReader.prepare_row`: the GECOS field (`Name Surname,…,mobile,email`)
/// spread over columns 4 (given name), 5 (surname), 6–9.
fn prepare_passwd_row(row: Vec<String>) -> Vec<String> {
    if row.len() < 5 {
        return row;
    }
    let mut extended: Vec<String> = row[..4].to_vec();
    let attributes: Vec<String> = if row[4].contains(',') {
        let mut attributes: Vec<String> = row[4].split(',').map(str::to_owned).collect();
        if attributes.len() < 5 {
            attributes.push(String::new());
        }
        attributes
    } else {
        vec![
            row[4].clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]
    };
    let name = &attributes[0];
    let (given, sur) = match name.split_once(' ') {
        Some((given, sur)) => (given.to_owned(), sur.to_owned()),
        None => (name.clone(), String::new()),
    };
    extended.push(given);
    extended.push(sur);
    extended.extend(attributes[1..].iter().cloned());
    extended.extend(row[5..].iter().cloned());
    extended
}

/// One user read from the file, with its password in clear when the file had it so.
struct FileUser {
    user: ImportedUser,
    plain_password: Option<String>,
}

fn set_column(user: &mut ImportedUser, column: &str, value: String) {
    match column {
        "groupid" => user.groupid = value,
        "userid" => user.userid = value,
        "username" => user.username = value,
        "phone" => user.phone = value,
        "mobile" => user.mobile = value,
        "email" => user.email = value,
        "surname" => user.surname = value,
        "givenname" => user.givenname = value,
        "password" => user.password = value,
        _ => {}
    }
}

/// Whether a stored user already is what the file says (the group is not compared; a clear
/// password is checked against the stored hash).
fn is_unchanged(stored: &ImportedUser, new: &FileUser) -> bool {
    let same_password = match &new.plain_password {
        Some(plain) => verify_password(plain, &stored.password),
        None => stored.password == new.user.password,
    };
    same_password
        && stored.userid == new.user.userid
        && stored.username == new.user.username
        && stored.phone == new.user.phone
        && stored.mobile == new.user.mobile
        && stored.email == new.user.email
        && stored.surname == new.user.surname
        && stored.givenname == new.user.givenname
}

/// The column mapping: LinOTP's for the format, or the request's `column_mapping` (JSON).
fn column_mapping(params: &Params, defaults: &[(&str, usize)]) -> Result<Vec<(String, usize)>> {
    let Some(text) = params.optional("column_mapping") else {
        return Ok(defaults
            .iter()
            .map(|(column, index)| ((*column).to_owned(), *index))
            .collect());
    };
    let parsed: Map<String, Value> = serde_json::from_str(&text)
        .map_err(|error| ApiError::Internal(format!("column_mapping: {error}")))?;
    Ok(parsed
        .into_iter()
        .filter_map(|(column, index)| {
            let index = index
                .as_u64()
                .or_else(|| index.as_str().and_then(|text| text.trim().parse().ok()))?;
            Some((column, usize::try_from(index).ok()?))
        })
        .collect())
}

fn single_char(params: &Params, name: &str, default: char) -> Result<char> {
    let Some(text) = params.optional(name) else {
        return Ok(default);
    };
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(ch), None) => Ok(ch),
        _ => Err(ApiError::Internal(format!(
            "\"{name}\" must be a 1-character string"
        ))),
    }
}

fn import_users_work(ctx: &mut Ctx<'_>, form: &UploadForm) -> Result<Response> {
    let params = &form.params;
    let Some(file) = form.file("file") else {
        return Err(ApiError::Parameter(
            "Missing parameter: KeyError('file')".to_owned(),
        ));
    };
    let Some(resolver) = params.optional("resolver").map(|name| name.into_owned()) else {
        return Err(ApiError::Parameter(
            "Missing parameter: KeyError('resolver')".to_owned(),
        ));
    };
    if resolver == ctx.app.options.admin_resolver {
        return Err(ApiError::Internal(format!(
            "default admin resolver {resolver} is not allowed to be overwritten!"
        )));
    }
    ctx.audit.info = format!("resolver: {resolver}");
    let data = String::from_utf8(file.content.clone()).map_err(|_| {
        ApiError::Internal("'utf-8' codec can't decode the uploaded file".to_owned())
    })?;
    let dryrun = params.bool_or("dryrun", false)?;
    let plaintext = params.bool_or("passwords_in_plaintext", false)?;
    let format = params
        .optional("format")
        .map_or_else(|| "csv".to_owned(), |format| format.into_owned());
    let (rows, mapping) = if format == "password" || format == "passwd" {
        let rows: Vec<Vec<String>> = read_csv(&data, ':', '"')
            .into_iter()
            .map(prepare_passwd_row)
            .collect();
        (rows, column_mapping(&Params::default(), &PASSWD_MAPPING)?)
    } else if "csv".contains(format.as_str()) {
        // LinOTP tests `format in ("csv")`, a substring test.
        let data = if params.bool_or("skip_header", false)? {
            data.split('\n').skip(1).collect::<Vec<_>>().join("\n")
        } else {
            data
        };
        let delimiter = single_char(params, "delimiter", ',')?;
        let quote = single_char(params, "quotechar", '"')?;
        (
            read_csv(&data, delimiter, quote),
            column_mapping(params, &CSV_MAPPING)?,
        )
    } else {
        return Err(ApiError::Internal("unspecified file foramt".to_owned()));
    };

    // LinOTP answers this one refusal with the exception's repr as a plain (-311) text.
    check_system_right(ctx, "setResolver").map_err(|error| match error {
        ApiError::Policy(message) => ApiError::Internal(format!(
            "PolicyException(description={}, id=410)",
            python_str_repr(&message)
        )),
        other => other,
    })?;
    let existing = readonly_flag(ctx, &resolver);
    if existing == Some(false) {
        return Err(ApiError::Internal(format!(
            "Unmanged resolver with same name: {} already exists!",
            python_str_repr(&resolver)
        )));
    }

    let stored = user_store::list_group(ctx.conn, &resolver)?;
    let mut to_delete: Vec<(String, String)> = stored
        .iter()
        .map(|user| (user.userid.clone(), user.username.clone()))
        .collect();
    let mut created: Vec<FileUser> = Vec::new();
    let mut unchanged: Vec<FileUser> = Vec::new();
    let mut modified: Vec<FileUser> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for row in rows {
        if row.is_empty() {
            continue;
        }
        let mut user = ImportedUser::default();
        for (column, index) in &mapping {
            if USER_ENTRIES.contains(&column.as_str())
                && let Some(value) = row.get(*index)
            {
                set_column(&mut user, column, value.clone());
            }
        }
        user.groupid = resolver.clone();
        if user.userid.is_empty() || user.username.is_empty() {
            continue;
        }
        if seen
            .iter()
            .any(|(id, name)| *id == user.userid || *name == user.username)
        {
            return Err(ApiError::Internal(format!(
                "Violation of unique constraint - duplicate user in data: {} ({})",
                python_str_repr(&user.username),
                python_str_repr(&user.userid)
            )));
        }
        seen.push((user.userid.clone(), user.username.clone()));
        let plain_password = plaintext.then(|| user.password.clone());
        let file_user = FileUser {
            user,
            plain_password,
        };
        match stored
            .iter()
            .find(|known| known.userid == file_user.user.userid)
        {
            None => created.push(file_user),
            Some(known) => {
                to_delete.retain(|(id, _)| *id != known.userid);
                if is_unchanged(known, &file_user) {
                    unchanged.push(file_user);
                } else {
                    modified.push(file_user);
                }
            }
        }
    }

    let listing = |users: &[FileUser]| -> Value {
        Value::Object(
            users
                .iter()
                .map(|user| {
                    (
                        user.user.userid.clone(),
                        Value::from(user.user.username.as_str()),
                    )
                })
                .collect(),
        )
    };
    let mut result = Map::new();
    result.insert("created".to_owned(), listing(&created));
    result.insert("updated".to_owned(), listing(&unchanged));
    result.insert("modified".to_owned(), listing(&modified));
    result.insert(
        "deleted".to_owned(),
        Value::Object(
            to_delete
                .iter()
                .map(|(id, name)| (id.clone(), Value::from(name.as_str())))
                .collect(),
        ),
    );
    if dryrun {
        ctx.audit.success = true;
        return ok(result);
    }

    // The resolver first: an unusable definition leaves the users untouched.
    define_managed_resolver(ctx, &resolver)?;
    for mut user in created.into_iter().chain(modified) {
        if let Some(plain) = &user.plain_password {
            user.user.password = hash_password(plain)?;
        }
        user_store::upsert(ctx.conn, &user.user)?;
    }
    for (user_id, _) in &to_delete {
        user_store::delete(ctx.conn, &resolver, user_id)?;
    }
    ctx.audit.success = true;
    ctx.audit.action_detail = python_json(&Value::Object(counts(&result)), JsonStyle::Spaced);
    ok(result)
}

/// `{"created": n, ...}` for the audit row (never the users themselves).
fn counts(result: &Map<String, Value>) -> Map<String, Value> {
    result
        .iter()
        .map(|(kind, users)| {
            (
                kind.clone(),
                Value::from(users.as_object().map_or(0, Map::len)),
            )
        })
        .collect()
}

/// Creates (or re-writes) the `readonly` SQL resolver over `imported_user` that LinOTP's
/// `SQLImportHandler` defines.
fn define_managed_resolver(ctx: &mut Ctx<'_>, resolver: &str) -> Result<()> {
    let mapping: Map<String, Value> = USER_ENTRIES
        .iter()
        .map(|entry| ((*entry).to_owned(), Value::from(*entry)))
        .collect();
    let map_text = python_json(&Value::Object(mapping), JsonStyle::Spaced);
    let where_clause = format!("groupid = '{resolver}'");
    let request = |key: &str| -> Option<String> {
        match key {
            "name" => Some(resolver.to_owned()),
            "type" => Some("sqlresolver".to_owned()),
            "Driver" | "Server" | "Port" | "Database" | "User" | "Password" => Some(String::new()),
            "Table" => Some("imported_user".to_owned()),
            "Where" => Some(where_clause.clone()),
            "Map" => Some(map_text.clone()),
            "readonly" => Some("True".to_owned()),
            _ => None,
        }
    };
    // Defined afresh like LinOTP's `SQLImportHandler` does (not `setResolver`'s update
    // rules): the managed definition is ours and simply replaces the stored one.
    let definition = define_resolver(&request, &|_: &str| None).map_err(super::resolver_error)?;
    store_definition(ctx, &definition.config)
}

/// `/tools/import_users`: imports the users of the uploaded `file` into resolver `resolver`
/// (`format` `csv` or `password`, `skip_header`, `passwords_in_plaintext`, `dryrun`,
/// `column_mapping`, `delimiter`, `quotechar`).
pub(crate) async fn import_users(
    State(app): State<AppState>,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    form: UploadForm,
) -> Response {
    let endpoint = Endpoint {
        action: "tools/import_users",
        guard: Guard::Tools("import_users"),
        access: Access::Write,
    };
    answer(app, admin, client, endpoint, move |ctx| {
        import_users_work(ctx, &form)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_follow_python_csv() {
        let rows = read_csv(
            "a,b,c\n\n\"x, y\",\"say \"\"hi\"\"\",\r\n\"multi\nline\",z",
            ',',
            '"',
        );
        assert_eq!(
            rows,
            vec![
                vec!["a", "b", "c"],
                vec!["x, y", "say \"hi\"", ""],
                vec!["multi\nline", "z"],
            ]
        );
        assert_eq!(read_csv("a;b", ';', '"'), vec![vec!["a", "b"]]);
    }

    #[test]
    fn passwd_rows_spread_the_gecos_field() {
        let row: Vec<String> =
            "alice:$6$x:1001:100:Alice Smith,room,0123,0170,alice@x:/home/a:/bin/sh"
                .split(':')
                .map(str::to_owned)
                .collect();
        let prepared = prepare_passwd_row(row);
        assert_eq!(prepared[0], "alice");
        assert_eq!(prepared[2], "1001");
        assert_eq!(prepared[4], "Alice");
        assert_eq!(prepared[5], "Smith");
        assert_eq!(prepared[7], "0123");
        assert_eq!(prepared[8], "0170");
        assert_eq!(prepared[9], "alice@x");
        let plain: Vec<String> = "bob:x:1002:100:Bob:/home/b:/bin/sh"
            .split(':')
            .map(str::to_owned)
            .collect();
        let prepared = prepare_passwd_row(plain);
        assert_eq!((prepared[4].as_str(), prepared[5].as_str()), ("Bob", ""));
    }

    #[test]
    fn column_mapping_comes_from_the_request_when_given() {
        let params = Params::from_pairs([("column_mapping", r#"{"username": 1, "userid": "0"}"#)]);
        let mapping = column_mapping(&params, &CSV_MAPPING).unwrap();
        assert_eq!(
            mapping,
            vec![("username".to_owned(), 1), ("userid".to_owned(), 0)]
        );
        let bad = Params::from_pairs([("column_mapping", "{nope")]);
        assert!(column_mapping(&bad, &CSV_MAPPING).is_err());
        assert_eq!(
            column_mapping(&Params::default(), &CSV_MAPPING)
                .unwrap()
                .len(),
            8
        );
    }
}
