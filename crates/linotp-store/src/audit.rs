//! The `audit` table: batched inserts with LinOTP's per-row signature, search, cleanup.
//!
//! LinOTP signs a row after inserting it, because the signed text includes the row id; the
//! batch insert here does the same inside one transaction, calling back for each signature.

use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable};

use crate::connection::{AnyConnection, MultiBackend, last_insert_id, write_transaction};
use crate::error::Result;
use crate::schema::audit;

/// A stored audit row. Text columns are `None` where the database holds NULL (the signature
/// check must see NULL and `""` as LinOTP did).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = audit)]
pub struct AuditEntry {
    /// `id`.
    pub id: i32,
    /// `timestamp`: UTC ISO-8601 text with milliseconds.
    pub timestamp: Option<String>,
    /// `signature`: hex RSA signature.
    pub signature: Option<String>,
    /// `action`, e.g. `validate/check`.
    pub action: Option<String>,
    /// `success`: `"1"` / `"0"`.
    pub success: Option<String>,
    /// `serial`.
    pub serial: Option<String>,
    /// `tokentype`.
    pub tokentype: Option<String>,
    /// `user`.
    pub user: Option<String>,
    /// `realm`.
    pub realm: Option<String>,
    /// `administrator`.
    pub administrator: Option<String>,
    /// `action_detail`.
    pub action_detail: Option<String>,
    /// `info`.
    pub info: Option<String>,
    /// `linotp_server`.
    pub linotp_server: Option<String>,
    /// `client`.
    pub client: Option<String>,
    /// `log_level`.
    pub log_level: Option<String>,
    /// `clearance_level`.
    pub clearance_level: Option<i32>,
}

/// A row to insert (LinOTP writes `""` for absent text, so these are plain strings).
#[derive(Debug, Clone, PartialEq, Eq, Default, Insertable)]
#[diesel(table_name = audit)]
pub struct NewAuditEntry {
    /// `timestamp`.
    pub timestamp: String,
    /// `action`.
    pub action: String,
    /// `success`.
    pub success: String,
    /// `serial`.
    pub serial: String,
    /// `tokentype`.
    pub tokentype: String,
    /// `user`.
    pub user: String,
    /// `realm`.
    pub realm: String,
    /// `administrator`.
    pub administrator: String,
    /// `action_detail`.
    pub action_detail: String,
    /// `info`.
    pub info: String,
    /// `linotp_server`.
    pub linotp_server: String,
    /// `client`.
    pub client: String,
    /// `log_level`.
    pub log_level: String,
    /// `clearance_level`.
    pub clearance_level: i32,
}

/// Column lengths of the `audit` table.
const LIMITS: &[(&str, usize)] = &[
    ("timestamp", 30),
    ("action", 30),
    ("success", 30),
    ("serial", 30),
    ("tokentype", 40),
    ("user", 255),
    ("realm", 255),
    ("administrator", 255),
    ("action_detail", 512),
    ("info", 512),
    ("linotp_server", 80),
    ("client", 80),
    ("log_level", 20),
];

impl NewAuditEntry {
    fn fields_mut(&mut self) -> [(&'static str, &mut String); 13] {
        [
            ("timestamp", &mut self.timestamp),
            ("action", &mut self.action),
            ("success", &mut self.success),
            ("serial", &mut self.serial),
            ("tokentype", &mut self.tokentype),
            ("user", &mut self.user),
            ("realm", &mut self.realm),
            ("administrator", &mut self.administrator),
            ("action_detail", &mut self.action_detail),
            ("info", &mut self.info),
            ("linotp_server", &mut self.linotp_server),
            ("client", &mut self.client),
            ("log_level", &mut self.log_level),
        ]
    }

    /// Names of the columns whose value is longer than the column allows (in characters).
    pub fn overlong_columns(&mut self) -> Vec<&'static str> {
        self.fields_mut()
            .into_iter()
            .filter(|(name, value)| value.chars().count() > limit(name))
            .map(|(name, _)| name)
            .collect()
    }

    /// Cuts over-long values the way LinOTP does (`value[:max-1] + "…"`) and returns the
    /// names of the columns it cut.
    pub fn truncate_to_columns(&mut self) -> Vec<&'static str> {
        let mut cut = Vec::new();
        for (name, value) in self.fields_mut() {
            let max = limit(name);
            if value.chars().count() > max {
                let kept: String = value.chars().take(max - 1).collect();
                *value = format!("{kept}…");
                cut.push(name);
            }
        }
        cut
    }

    fn to_entry(&self, id: i32) -> AuditEntry {
        AuditEntry {
            id,
            timestamp: Some(self.timestamp.clone()),
            signature: Some(String::new()),
            action: Some(self.action.clone()),
            success: Some(self.success.clone()),
            serial: Some(self.serial.clone()),
            tokentype: Some(self.tokentype.clone()),
            user: Some(self.user.clone()),
            realm: Some(self.realm.clone()),
            administrator: Some(self.administrator.clone()),
            action_detail: Some(self.action_detail.clone()),
            info: Some(self.info.clone()),
            linotp_server: Some(self.linotp_server.clone()),
            client: Some(self.client.clone()),
            log_level: Some(self.log_level.clone()),
            clearance_level: Some(self.clearance_level),
        }
    }
}

fn limit(column: &str) -> usize {
    LIMITS
        .iter()
        .find(|(name, _)| *name == column)
        .map_or(usize::MAX, |(_, max)| *max)
}

/// Inserts rows in one transaction. For each row, after the insert assigned its id, `sign`
/// gets the complete row and returns the hex signature that is then stored (LinOTP signs
/// over the id too). Returns the stored rows. A row one at a time: diesel's multi-backend
/// connection cannot batch-insert, and each id is needed for its signature anyway.
pub fn insert_batch<F>(
    conn: &mut AnyConnection,
    entries: &[NewAuditEntry],
    mut sign: F,
) -> Result<Vec<AuditEntry>>
where
    F: FnMut(&AuditEntry) -> String,
{
    write_transaction(conn, |conn| {
        let mut stored = Vec::with_capacity(entries.len());
        for entry in entries {
            diesel::insert_into(audit::table)
                .values(entry)
                .execute(conn)?;
            let id = last_insert_id(conn)?;
            let mut row = entry.to_entry(id);
            let signature = sign(&row);
            diesel::update(audit::table.filter(audit::id.eq(id)))
                .set(audit::signature.eq(&signature))
                .execute(conn)?;
            row.signature = Some(signature);
            stored.push(row);
        }
        Ok(stored)
    })
}

/// Searchable / sortable audit columns (LinOTP's search parameter names in the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditColumn {
    /// `number` → `id`.
    #[default]
    Id,
    /// `date` → `timestamp`.
    Timestamp,
    /// `action`.
    Action,
    /// `success`.
    Success,
    /// `serial`.
    Serial,
    /// `tokentype`.
    TokenType,
    /// `user`.
    User,
    /// `realm`.
    Realm,
    /// `administrator`.
    Administrator,
    /// `action_detail`.
    ActionDetail,
    /// `info`.
    Info,
    /// `linotp_server`.
    LinotpServer,
    /// `client`.
    Client,
    /// `log_level`.
    LogLevel,
    /// `clearance_level`.
    ClearanceLevel,
}

impl AuditColumn {
    /// Parses LinOTP's parameter names (`serial`, `number`, `date`, …; case-insensitive).
    pub fn from_param(name: &str) -> Option<AuditColumn> {
        Some(match name.to_ascii_lowercase().as_str() {
            "number" | "id" => AuditColumn::Id,
            "date" | "timestamp" => AuditColumn::Timestamp,
            "action" => AuditColumn::Action,
            "success" => AuditColumn::Success,
            "serial" => AuditColumn::Serial,
            "tokentype" => AuditColumn::TokenType,
            "user" => AuditColumn::User,
            "realm" => AuditColumn::Realm,
            "administrator" => AuditColumn::Administrator,
            "action_detail" => AuditColumn::ActionDetail,
            "info" => AuditColumn::Info,
            "linotp_server" => AuditColumn::LinotpServer,
            "client" => AuditColumn::Client,
            "log_level" => AuditColumn::LogLevel,
            "clearance_level" => AuditColumn::ClearanceLevel,
            _ => return None,
        })
    }
}

/// An audit search: like LinOTP, each condition is `column LIKE pattern` (SQL wildcards `%`
/// and `_` as given), combined with AND, or OR when `match_any`. The integer columns `id` and
/// `clearance_level` compare for equality instead (LIKE on integers fails on PostgreSQL); a
/// non-numeric pattern for them matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// `(column, pattern)` pairs; empty patterns are ignored as in LinOTP.
    pub conditions: Vec<(AuditColumn, String)>,
    /// OR instead of AND.
    pub match_any: bool,
    /// Sort column (LinOTP's default: id).
    pub sort: AuditColumn,
    /// Descending order.
    pub descending: bool,
    /// `(page, rows_per_page)`, page from 1; `None` returns every match.
    pub page: Option<(u32, u32)>,
}

type AuditPredicate<'a> =
    Box<dyn BoxableExpression<audit::table, MultiBackend, SqlType = Nullable<Bool>> + 'a>;

fn condition(column: AuditColumn, pattern: &str) -> AuditPredicate<'_> {
    let pattern = pattern.to_owned();
    let integer = pattern.trim().parse::<i32>().ok();
    match column {
        AuditColumn::Id => match integer {
            Some(id) => Box::new(audit::id.nullable().eq(id)),
            None => Box::new(diesel::dsl::sql::<Nullable<Bool>>("1 = 0")),
        },
        AuditColumn::ClearanceLevel => match integer {
            Some(level) => Box::new(audit::clearance_level.eq(level)),
            None => Box::new(diesel::dsl::sql::<Nullable<Bool>>("1 = 0")),
        },
        AuditColumn::Timestamp => Box::new(audit::timestamp.like(pattern)),
        AuditColumn::Action => Box::new(audit::action.like(pattern)),
        AuditColumn::Success => Box::new(audit::success.like(pattern)),
        AuditColumn::Serial => Box::new(audit::serial.like(pattern)),
        AuditColumn::TokenType => Box::new(audit::tokentype.like(pattern)),
        AuditColumn::User => Box::new(audit::user.like(pattern)),
        AuditColumn::Realm => Box::new(audit::realm.like(pattern)),
        AuditColumn::Administrator => Box::new(audit::administrator.like(pattern)),
        AuditColumn::ActionDetail => Box::new(audit::action_detail.like(pattern)),
        AuditColumn::Info => Box::new(audit::info.like(pattern)),
        AuditColumn::LinotpServer => Box::new(audit::linotp_server.like(pattern)),
        AuditColumn::Client => Box::new(audit::client.like(pattern)),
        AuditColumn::LogLevel => Box::new(audit::log_level.like(pattern)),
    }
}

fn predicate(query: &AuditQuery) -> Option<AuditPredicate<'_>> {
    let mut combined: Option<AuditPredicate<'_>> = None;
    for (column, pattern) in query.conditions.iter().filter(|(_, p)| !p.is_empty()) {
        let next = condition(*column, pattern);
        combined = Some(match combined {
            None => next,
            Some(previous) if query.match_any => Box::new(previous.or(next)),
            Some(previous) => Box::new(previous.and(next)),
        });
    }
    combined
}

/// Audit rows matching `query`, with the total number of matches.
pub fn search(conn: &mut AnyConnection, query: &AuditQuery) -> Result<(Vec<AuditEntry>, i64)> {
    let mut count_query = audit::table.select(count_star()).into_boxed();
    if let Some(p) = predicate(query) {
        count_query = count_query.filter(p);
    }
    let total: i64 = count_query.get_result(conn)?;

    let mut rows_query = audit::table.select(AuditEntry::as_select()).into_boxed();
    if let Some(p) = predicate(query) {
        rows_query = rows_query.filter(p);
    }
    macro_rules! sort {
        ($column:expr) => {
            if query.descending {
                rows_query.order_by($column.desc())
            } else {
                rows_query.order_by($column.asc())
            }
        };
    }
    rows_query = match query.sort {
        AuditColumn::Id => sort!(audit::id),
        AuditColumn::Timestamp => sort!(audit::timestamp),
        AuditColumn::Action => sort!(audit::action),
        AuditColumn::Success => sort!(audit::success),
        AuditColumn::Serial => sort!(audit::serial),
        AuditColumn::TokenType => sort!(audit::tokentype),
        AuditColumn::User => sort!(audit::user),
        AuditColumn::Realm => sort!(audit::realm),
        AuditColumn::Administrator => sort!(audit::administrator),
        AuditColumn::ActionDetail => sort!(audit::action_detail),
        AuditColumn::Info => sort!(audit::info),
        AuditColumn::LinotpServer => sort!(audit::linotp_server),
        AuditColumn::Client => sort!(audit::client),
        AuditColumn::LogLevel => sort!(audit::log_level),
        AuditColumn::ClearanceLevel => sort!(audit::clearance_level),
    };
    rows_query = if query.descending {
        rows_query.then_order_by(audit::id.desc())
    } else {
        rows_query.then_order_by(audit::id.asc())
    };
    if let Some((page, size)) = query.page {
        let size = i64::from(size.max(1));
        let page = i64::from(page.max(1));
        rows_query = rows_query.limit(size).offset((page - 1) * size);
    }
    let rows = rows_query.load(conn)?;
    Ok((rows, total))
}

/// The highest audit id (None for an empty table).
pub fn max_id(conn: &mut AnyConnection) -> Result<Option<i32>> {
    Ok(audit::table.select(max(audit::id)).get_result(conn)?)
}

/// Number of audit rows.
pub fn count(conn: &mut AnyConnection) -> Result<i64> {
    Ok(audit::table.select(count_star()).get_result(conn)?)
}

/// One row by id.
pub fn get(conn: &mut AnyConnection, id: i32) -> Result<Option<AuditEntry>> {
    Ok(audit::table
        .filter(audit::id.eq(id))
        .select(AuditEntry::as_select())
        .get_result(conn)
        .optional()?)
}

/// Deletes rows with id below `first_kept` (for `linotp audit cleanup`); returns how many.
pub fn delete_below(conn: &mut AnyConnection, first_kept: i32) -> Result<usize> {
    Ok(diesel::delete(audit::table.filter(audit::id.lt(first_kept))).execute(conn)?)
}
