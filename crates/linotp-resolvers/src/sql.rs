//! `SQLIdResolver`: users in any table of SQLite, PostgreSQL or MySQL/MariaDB.
//!
//! Queries are raw SQL built from the resolver's mapping: identifiers are quoted for the
//! backend, every value (login, user id, search pattern) is a bound parameter. The `Where`
//! setting is an SQL condition written by the administrator and is used as written, as in
//! LinOTP. Columns are read as text (cast in SQL) and turned back into numbers where the
//! table declares a numeric type, so user info looks as it does in LinOTP.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use diesel::QueryableByName;
use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Nullable, Text};
use linotp_store::{AnyConnection, Backend, DatabaseUri, MultiBackend, PoolOptions, Store};
use serde_json::Value;

use crate::config::{SqlSettings, SqlSource};
use crate::error::{ResolverError, Result};
use crate::info::{UserInfo, UserSearch};
use crate::password::verify_sql_password;
use crate::resolver::{ConnectionTest, UserIdResolver};
use crate::spec::{ResolverClass, ResolverSpec};

/// Most mapped attributes an SQL resolver reads.
pub const MAX_MAPPED_COLUMNS: usize = 24;

/// What LinOTP shows for an attribute whose column does not exist.
const COLUMN_MAPPING_ERROR: &str = "-ERR: column mapping-";

/// Pool settings for resolvers on other databases: small, and quick to give up.
fn external_pool_options() -> PoolOptions {
    PoolOptions {
        max_size: 4,
        min_idle: 1,
        connection_timeout: Duration::from_secs(5),
        ..PoolOptions::default()
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    is_text: bool,
    is_numeric: bool,
}

#[derive(Debug, Clone)]
struct TableSchema {
    table: String,
    columns: Vec<Column>,
}

impl TableSchema {
    fn column(&self, wanted: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|column| column.name == wanted)
            .or_else(|| {
                self.columns
                    .iter()
                    .find(|column| column.name.eq_ignore_ascii_case(wanted))
            })
    }
}

/// An SQL resolver.
pub struct SqlResolver {
    spec: ResolverSpec,
    settings: SqlSettings,
    own_database: Option<Store>,
    external: Mutex<Option<Store>>,
    schema: OnceLock<TableSchema>,
}

impl std::fmt::Debug for SqlResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlResolver")
            .field("spec", &self.spec)
            .field("source", &self.settings.source)
            .field("table", &self.settings.table)
            .finish()
    }
}

#[derive(QueryableByName)]
struct UserRow {
    #[diesel(sql_type = Nullable<Text>)]
    c0: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c5: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c6: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c7: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c8: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c9: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c10: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c11: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c12: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c13: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c14: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c15: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c16: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c17: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c18: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c19: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c20: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c21: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c22: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    c23: Option<String>,
}

impl UserRow {
    fn into_values(self) -> [Option<String>; MAX_MAPPED_COLUMNS] {
        [
            self.c0, self.c1, self.c2, self.c3, self.c4, self.c5, self.c6, self.c7, self.c8,
            self.c9, self.c10, self.c11, self.c12, self.c13, self.c14, self.c15, self.c16,
            self.c17, self.c18, self.c19, self.c20, self.c21, self.c22, self.c23,
        ]
    }
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    typ: Option<String>,
    #[diesel(sql_type = Text)]
    tbl: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A raw query with its bound text parameters, placeholders spelled for the backend.
struct Query {
    backend: Backend,
    sql: String,
    binds: Vec<String>,
}

impl Query {
    fn new(backend: Backend) -> Query {
        Query {
            backend,
            sql: String::new(),
            binds: Vec::new(),
        }
    }

    fn placeholder(&mut self, value: &str) -> String {
        self.binds.push(value.to_owned());
        match self.backend {
            Backend::Postgres => format!("${}", self.binds.len()),
            _ => "?".to_owned(),
        }
    }

    fn load<T>(self, conn: &mut AnyConnection) -> diesel::QueryResult<Vec<T>>
    where
        T: QueryableByName<MultiBackend> + 'static,
    {
        let mut query = diesel::sql_query(self.sql).into_boxed::<MultiBackend>();
        for value in self.binds {
            query = query.bind::<Text, _>(value);
        }
        query.load(conn)
    }
}

fn quote(backend: Backend, identifier: &str) -> String {
    match backend {
        Backend::Mysql => format!("`{}`", identifier.replace('`', "``")),
        _ => format!("\"{}\"", identifier.replace('"', "\"\"")),
    }
}

fn text_type(backend: Backend) -> &'static str {
    match backend {
        Backend::Mysql => "CHAR",
        _ => "TEXT",
    }
}

/// `pattern` in LinOTP's syntax → an SQL LIKE pattern (`*` → `%`, `.` → `_`, `%` and `_`
/// escaped with `\`); MySQL gets `%` for `.` as in LinOTP (multi-byte characters).
fn like_pattern(backend: Backend, pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '%' => out.push_str("\\%"),
            '_' => out.push_str("\\_"),
            '*' => out.push('%'),
            '.' if backend == Backend::Mysql => out.push('%'),
            '.' => out.push('_'),
            other => out.push(other),
        }
    }
    out.trim().to_owned()
}

impl SqlResolver {
    /// Builds the resolver. `own_database` is LinOTP's database, used by `readonly` ("managed")
    /// resolvers such as imported users; give it a pool the caller is not holding a connection
    /// of while it asks the resolver. Other databases are opened on first use.
    pub fn new(settings: &SqlSettings, own_database: Option<&Store>) -> Result<SqlResolver> {
        if settings.map.len() > MAX_MAPPED_COLUMNS {
            return Err(ResolverError::definition(format!(
                "resolver {}: at most {MAX_MAPPED_COLUMNS} mapped columns are supported",
                settings.name
            )));
        }
        if settings.table.trim().is_empty() {
            return Err(ResolverError::definition(format!(
                "resolver {}: no Table configured",
                settings.name
            )));
        }
        let own_database = match settings.source {
            SqlSource::OwnDatabase => Some(own_database.cloned().ok_or_else(|| {
                ResolverError::definition(format!(
                    "resolver {}: a readonly SQL resolver needs LinOTP's own database",
                    settings.name
                ))
            })?),
            SqlSource::Uri(_) => None,
        };
        Ok(SqlResolver {
            spec: ResolverSpec::new(ResolverClass::Sql, &settings.name),
            settings: settings.clone(),
            own_database,
            external: Mutex::new(None),
            schema: OnceLock::new(),
        })
    }

    fn store(&self) -> Result<Store> {
        if let Some(store) = &self.own_database {
            return Ok(store.clone());
        }
        let mut external = self.external.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = external.as_ref() {
            return Ok(store.clone());
        }
        let SqlSource::Uri(uri) = &self.settings.source else {
            return Err(ResolverError::definition("no database for SQL resolver"));
        };
        let uri = DatabaseUri::parse(uri).map_err(|error| {
            ResolverError::definition(format!("resolver {}: {error}", self.spec.name()))
        })?;
        let store = Store::open(&uri, external_pool_options())
            .map_err(|error| ResolverError::unavailable(self.spec.name(), error.to_string()))?;
        *external = Some(store.clone());
        Ok(store)
    }

    fn with_conn<T>(&self, body: impl FnOnce(&mut AnyConnection) -> Result<T>) -> Result<T> {
        let store = self.store()?;
        let mut conn = store
            .connection()
            .map_err(|error| ResolverError::unavailable(self.spec.name(), error.to_string()))?;
        body(&mut conn)
    }

    fn query_error(&self, error: diesel::result::Error) -> ResolverError {
        ResolverError::backend(self.spec.name(), error.to_string())
    }

    fn schema(&self, conn: &mut AnyConnection) -> Result<&TableSchema> {
        if let Some(schema) = self.schema.get() {
            return Ok(schema);
        }
        let schema = self.reflect(conn)?;
        for (key, column) in &self.settings.map {
            if schema.column(column).is_none() {
                tracing::error!(resolver = %self.spec, key, column, "mapped column not in table");
            }
        }
        Ok(self.schema.get_or_init(|| schema))
    }

    fn reflect(&self, conn: &mut AnyConnection) -> Result<TableSchema> {
        let backend = conn.backend();
        let table = self.settings.table.trim();
        let mut query = Query::new(backend);
        query.sql = match backend {
            Backend::Sqlite => {
                let name = query.placeholder(table);
                let arg = query.placeholder(table);
                format!(
                    "SELECT name AS name, type AS typ, {name} AS tbl FROM pragma_table_info({arg})"
                )
            }
            Backend::Postgres => {
                let arg = query.placeholder(table);
                format!(
                    "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS typ, \
                     CAST(table_name AS TEXT) AS tbl FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND lower(table_name) = lower({arg}) \
                     ORDER BY ordinal_position"
                )
            }
            Backend::Mysql => {
                let arg = query.placeholder(table);
                format!(
                    "SELECT CAST(column_name AS CHAR) AS name, CAST(data_type AS CHAR) AS typ, \
                     CAST(table_name AS CHAR) AS tbl FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND lower(table_name) = lower({arg}) \
                     ORDER BY ordinal_position"
                )
            }
        };
        let rows: Vec<ColumnRow> = query.load(conn).map_err(|e| self.query_error(e))?;
        if rows.is_empty() {
            return Err(ResolverError::backend(
                self.spec.name(),
                format!("no such table: {table}"),
            ));
        }
        // Several tables differing only in case (PostgreSQL): prefer the exact spelling.
        let exact = rows.iter().any(|row| row.tbl == table);
        let chosen = if exact {
            table.to_owned()
        } else {
            rows[0].tbl.clone()
        };
        let columns = rows
            .into_iter()
            .filter(|row| row.tbl == chosen)
            .map(|row| {
                let typ = row.typ.unwrap_or_default().to_ascii_lowercase();
                let is_text = ["char", "text", "clob", "string"]
                    .iter()
                    .any(|word| typ.contains(word))
                    || (backend == Backend::Sqlite && typ.is_empty());
                let is_numeric = !is_text
                    && [
                        "int", "numeric", "decimal", "real", "floa", "doub", "serial",
                    ]
                    .iter()
                    .any(|word| typ.contains(word));
                Column {
                    name: row.name,
                    is_text,
                    is_numeric,
                }
            })
            .collect();
        Ok(TableSchema {
            table: if backend == Backend::Sqlite {
                table.to_owned()
            } else {
                chosen
            },
            columns,
        })
    }

    /// The column as text, for comparisons with bound text values. SQLite's type affinity
    /// converts the value itself, so its indexes stay usable.
    fn text_expr(backend: Backend, column: &Column) -> String {
        let quoted = quote(backend, &column.name);
        if column.is_text || backend == Backend::Sqlite {
            quoted
        } else {
            format!("CAST({quoted} AS {})", text_type(backend))
        }
    }

    fn select(&self, backend: Backend, schema: &TableSchema) -> String {
        let mut columns = Vec::with_capacity(MAX_MAPPED_COLUMNS);
        for slot in 0..MAX_MAPPED_COLUMNS {
            let expr = match self
                .settings
                .map
                .get(slot)
                .and_then(|(_, name)| schema.column(name))
            {
                Some(column) => format!(
                    "CAST({} AS {})",
                    quote(backend, &column.name),
                    text_type(backend)
                ),
                None => format!("CAST(NULL AS {})", text_type(backend)),
            };
            columns.push(format!("{expr} AS c{slot}"));
        }
        format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            quote(backend, &schema.table)
        )
    }

    fn where_sql(&self, condition: Option<String>) -> String {
        let configured = self.settings.where_clause.trim();
        match (configured.is_empty(), condition) {
            (true, None) => String::new(),
            (true, Some(condition)) => format!(" WHERE {condition}"),
            (false, None) => format!(" WHERE ({configured})"),
            (false, Some(condition)) => format!(" WHERE ({configured}) AND {condition}"),
        }
    }

    /// Rows whose `field`'s column equals `value`, as (raw values in map order).
    fn rows_where(
        &self,
        conn: &mut AnyConnection,
        field: &str,
        value: &str,
    ) -> Result<Vec<[Option<String>; MAX_MAPPED_COLUMNS]>> {
        let backend = conn.backend();
        let Some(column_name) = self.settings.column_of(field) else {
            return Err(ResolverError::definition(format!(
                "{field} column definition required!"
            )));
        };
        let schema = self.schema(conn)?.clone();
        let Some(column) = schema.column(column_name) else {
            return Err(ResolverError::backend(
                self.spec.name(),
                format!("no column {column_name} in {}", schema.table),
            ));
        };
        let mut query = Query::new(backend);
        let placeholder = query.placeholder(value);
        let condition = format!(
            "{} = {placeholder}",
            SqlResolver::text_expr(backend, column)
        );
        query.sql = format!(
            "{}{}",
            self.select(backend, &schema),
            self.where_sql(Some(condition))
        );
        let rows: Vec<UserRow> = query.load(conn).map_err(|e| self.query_error(e))?;
        Ok(rows.into_iter().map(UserRow::into_values).collect())
    }

    fn raw_value(
        &self,
        values: &[Option<String>; MAX_MAPPED_COLUMNS],
        field: &str,
    ) -> Option<String> {
        let slot = self.settings.map.iter().position(|(key, _)| key == field)?;
        values.get(slot).cloned().flatten()
    }

    fn info_of(
        &self,
        schema: &TableSchema,
        values: &[Option<String>; MAX_MAPPED_COLUMNS],
    ) -> UserInfo {
        let fields = self
            .settings
            .map
            .iter()
            .enumerate()
            .filter(|(_, (key, _))| key != "password")
            .map(|(slot, (key, column_name))| {
                let value = match schema.column(column_name) {
                    None => Value::from(COLUMN_MAPPING_ERROR),
                    Some(column) => match values.get(slot).cloned().flatten() {
                        None => Value::Null,
                        Some(text) if column.is_numeric => number_or_text(text),
                        Some(text) => Value::from(text),
                    },
                };
                (key.clone(), value)
            });
        UserInfo::from_fields(fields)
    }

    fn search_condition(
        &self,
        query: &mut Query,
        schema: &TableSchema,
        search: &UserSearch,
    ) -> Option<String> {
        let backend = query.backend;
        let searchable = |key: &str| key != "password" && key != "salt";
        let mut parts = Vec::new();
        if let Some(term) = search.search_term() {
            let alternatives: Vec<String> = self
                .settings
                .map
                .iter()
                .filter(|(key, _)| searchable(key))
                .filter_map(|(_, column)| schema.column(column))
                .map(|column| predicate(query, column, term))
                .collect();
            if !alternatives.is_empty() {
                parts.push(format!("({})", alternatives.join(" OR ")));
            }
        }
        let mut fields: Vec<(&str, &str)> = search.field_patterns().collect();
        if search.fields.is_empty() {
            fields.push(("username", "*"));
        }
        for (key, pattern) in fields {
            let column = self
                .settings
                .map
                .iter()
                .filter(|(mapped, _)| searchable(mapped))
                .find(|(mapped, _)| mapped.eq_ignore_ascii_case(key))
                .and_then(|(_, column)| schema.column(column));
            match column {
                Some(column) => parts.push(predicate(query, column, pattern)),
                None => tracing::debug!(resolver = %self.spec, key, "no column for search key"),
            }
        }
        let _ = backend;
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }
}

/// One search predicate in LinOTP's pattern syntax.
fn predicate(query: &mut Query, column: &Column, pattern: &str) -> String {
    let backend = query.backend;
    let pattern = pattern.trim();
    for operator in ["<=", ">=", "<", ">"] {
        if let Some(bound) = pattern.strip_prefix(operator) {
            let bound = bound.trim();
            let numeric_bound = bound.parse::<f64>().is_ok_and(f64::is_finite);
            let placeholder = query.placeholder(bound);
            return if column.is_numeric && numeric_bound {
                let value = match backend {
                    Backend::Postgres => format!("CAST({placeholder} AS NUMERIC)"),
                    _ => placeholder,
                };
                format!("{} {operator} {value}", quote(backend, &column.name))
            } else {
                format!(
                    "{} {operator} {placeholder}",
                    SqlResolver::text_expr(backend, column)
                )
            };
        }
    }
    let placeholder = query.placeholder(&like_pattern(backend, pattern));
    let escape = match backend {
        Backend::Sqlite => " ESCAPE '\\'",
        _ => "",
    };
    format!(
        "{} LIKE {placeholder}{escape}",
        SqlResolver::text_expr(backend, column)
    )
}

fn number_or_text(text: String) -> Value {
    if let Ok(integer) = text.parse::<i64>() {
        return Value::from(integer);
    }
    match text.parse::<f64>() {
        Ok(float) if float.is_finite() => Value::from(float),
        _ => Value::from(text),
    }
}

impl UserIdResolver for SqlResolver {
    fn spec(&self) -> &ResolverSpec {
        &self.spec
    }

    fn user_id(&self, login: &str) -> Result<Option<String>> {
        if login.is_empty() {
            return Ok(None);
        }
        self.with_conn(|conn| {
            let rows = self.rows_where(conn, "username", login)?;
            Ok(rows
                .last()
                .and_then(|values| self.raw_value(values, "userid"))
                .filter(|id| !id.is_empty()))
        })
    }

    fn user_info(&self, user_id: &str) -> Result<Option<UserInfo>> {
        self.with_conn(|conn| {
            let rows = self.rows_where(conn, "userid", user_id)?;
            let schema = self.schema(conn)?;
            Ok(rows.last().map(|values| self.info_of(schema, values)))
        })
    }

    fn search(&self, search: &UserSearch) -> Result<Vec<UserInfo>> {
        self.with_conn(|conn| {
            let backend = conn.backend();
            let schema = self.schema(conn)?.clone();
            let mut query = Query::new(backend);
            let condition = self.search_condition(&mut query, &schema, search);
            query.sql = format!(
                "{}{} LIMIT {}",
                self.select(backend, &schema),
                self.where_sql(condition),
                self.settings.limit.max(0)
            );
            let rows: Vec<UserRow> = query.load(conn).map_err(|e| self.query_error(e))?;
            // LinOTP collects users in a dict keyed by user id: one entry per id, at the
            // position of its first row, holding its last row.
            let mut users: Vec<(String, UserInfo)> = Vec::new();
            for values in rows.into_iter().map(UserRow::into_values) {
                let info = self.info_of(&schema, &values);
                let id = self.raw_value(&values, "userid").unwrap_or_default();
                match users.iter_mut().find(|(seen, _)| *seen == id) {
                    Some((_, slot)) => *slot = info,
                    None => users.push((id, info)),
                }
            }
            Ok(users.into_iter().map(|(_, info)| info).collect())
        })
    }

    fn check_password(&self, user_id: &str, password: &str) -> Result<bool> {
        if password.is_empty() {
            return Ok(false);
        }
        if self.settings.column_of("password").is_none() {
            tracing::error!(resolver = %self.spec, "password is not defined in SQL mapping");
            return Ok(false);
        }
        self.with_conn(|conn| {
            let rows = self.rows_where(conn, "userid", user_id)?;
            let Some(hash) = rows
                .last()
                .and_then(|values| self.raw_value(values, "password"))
            else {
                return Ok(false);
            };
            let hash = zeroize::Zeroizing::new(hash);
            let matched = verify_sql_password(password, &hash);
            if !matched {
                tracing::info!(resolver = %self.spec, "user failed to authenticate");
            }
            Ok(matched)
        })
    }

    fn test_connection(&self) -> ConnectionTest {
        let counted = self.with_conn(|conn| {
            let backend = conn.backend();
            let schema = self.schema(conn)?.clone();
            let mut query = Query::new(backend);
            query.sql = format!(
                "SELECT COUNT(*) AS n FROM {}{}",
                quote(backend, &schema.table),
                self.where_sql(None)
            );
            let rows: Vec<CountRow> = query.load(conn).map_err(|e| self.query_error(e))?;
            Ok(rows.first().map_or(0, |row| row.n))
        });
        match counted {
            Ok(rows) => ConnectionTest::Sql {
                rows,
                error: String::new(),
            },
            Err(error) => ConnectionTest::Sql {
                rows: -1,
                error: error.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_translate_linotp_wildcards() {
        assert_eq!(like_pattern(Backend::Sqlite, " gld* "), "gld%");
        assert_eq!(like_pattern(Backend::Postgres, "a.ice"), "a_ice");
        assert_eq!(like_pattern(Backend::Mysql, "a.ice"), "a%ice");
        assert_eq!(like_pattern(Backend::Sqlite, "100%_x"), "100\\%\\_x");
    }

    #[test]
    fn identifiers_are_quoted_per_backend() {
        assert_eq!(quote(Backend::Postgres, "we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote(Backend::Mysql, "we`ird"), "`we``ird`");
        assert_eq!(quote(Backend::Sqlite, "users"), "\"users\"");
    }

    #[test]
    fn numbers_come_back_as_numbers() {
        assert_eq!(number_or_text("42".into()), Value::from(42));
        assert_eq!(number_or_text("4.5".into()), Value::from(4.5));
        assert_eq!(number_or_text("n/a".into()), Value::from("n/a"));
    }
}
