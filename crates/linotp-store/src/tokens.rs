//! The `Token` table: lookups, `/admin/show` listing, and the compare-and-set counter commit.

use std::collections::HashMap;
use std::fmt;

use chrono::{NaiveDateTime, Timelike, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::connection::{AnyConnection, MultiBackend, last_insert_id, write_transaction};
use crate::error::{Result, StoreError};
use crate::like;
use crate::schema::{challenges, realm, token, token_realm};

/// One row of LinOTP's `Token` table.
///
/// NULL columns read as LinOTP's column defaults (`""`, otplen 6, maxfail 10, count window 10,
/// sync window 1000, active `true`, counters 0), so callers need not care whether a row was
/// written by LinOTP or by us. Field names follow the `LinOtp*` columns; see
/// `spec/schema.md` §1 for the meaning and encryption of each. `Debug` hides the encrypted
/// key, PIN hash and user PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// `LinOtpTokenId`.
    pub id: i32,
    /// `LinOtpTokenSerialnumber`.
    pub serial: String,
    /// `LinOtpTokenType` (`HMAC`, `TOTP`, `mOTP`, `spass`, …).
    pub token_type: String,
    /// `LinOtpTokenDesc`.
    pub description: String,
    /// `LinOtpTokenInfo`: JSON text.
    pub token_info: String,
    /// `LinOtpTokenPinUser`: encrypted user PIN (hex).
    pub pin_user: String,
    /// `LinOtpTokenPinUserIV`.
    pub pin_user_iv: String,
    /// `LinOtpIdResolver` (`<Class>.IdResolver.<name>`).
    pub id_resolver: String,
    /// `LinOtpIdResClass` (`useridresolver.<Class>.IdResolver.<name>`).
    pub id_res_class: String,
    /// `LinOtpUserid`: the owner's id in its resolver (empty: unassigned).
    pub user_id: String,
    /// `LinOtpSeed`: despite the name, the hex salt of the PIN hash.
    pub pin_salt: String,
    /// `LinOtpOtpLen`.
    pub otp_len: i32,
    /// `LinOtpPinHash`.
    pub pin_hash: String,
    /// `LinOtpKeyEnc`: the encrypted OTP seed (hex).
    pub key_enc: String,
    /// `LinOtpKeyIV`.
    pub key_iv: String,
    /// `LinOtpMaxFail`.
    pub max_fail: i32,
    /// `LinOtpIsactive`.
    pub is_active: bool,
    /// `LinOtpFailCount`.
    pub fail_count: i32,
    /// `LinOtpCount`.
    pub count: i32,
    /// `LinOtpCountWindow`.
    pub count_window: i32,
    /// `LinOtpSyncWindow`.
    pub sync_window: i32,
    /// `LinOtpCreationDate`.
    pub creation_date: Option<NaiveDateTime>,
    /// `LinOtpLastAuthSuccess`.
    pub last_auth_success: Option<NaiveDateTime>,
    /// `LinOtpLastAuthMatch`.
    pub last_auth_match: Option<NaiveDateTime>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |value: &str| if value.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("serial", &self.serial)
            .field("token_type", &self.token_type)
            .field("description", &self.description)
            .field("token_info", &self.token_info)
            .field("pin_user", &hidden(&self.pin_user))
            .field("id_resolver", &self.id_resolver)
            .field("id_res_class", &self.id_res_class)
            .field("user_id", &self.user_id)
            .field("otp_len", &self.otp_len)
            .field("pin_hash", &hidden(&self.pin_hash))
            .field("key_enc", &hidden(&self.key_enc))
            .field("max_fail", &self.max_fail)
            .field("is_active", &self.is_active)
            .field("fail_count", &self.fail_count)
            .field("count", &self.count)
            .field("count_window", &self.count_window)
            .field("sync_window", &self.sync_window)
            .field("creation_date", &self.creation_date)
            .field("last_auth_success", &self.last_auth_success)
            .field("last_auth_match", &self.last_auth_match)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// A new, unsaved token with LinOTP's defaults (HMAC type given by the caller, 6 digits,
    /// maxfail 10, windows 10/1000, active, created now in UTC, whole seconds). `id` is 0
    /// until [`insert`] assigns one.
    pub fn new(serial: &str, token_type: &str) -> Token {
        let now = Utc::now().naive_utc();
        Token {
            id: 0,
            serial: serial.to_owned(),
            token_type: token_type.to_owned(),
            description: String::new(),
            token_info: String::new(),
            pin_user: String::new(),
            pin_user_iv: String::new(),
            id_resolver: String::new(),
            id_res_class: String::new(),
            user_id: String::new(),
            pin_salt: String::new(),
            otp_len: 6,
            pin_hash: String::new(),
            key_enc: String::new(),
            key_iv: String::new(),
            max_fail: 10,
            is_active: true,
            fail_count: 0,
            count: 0,
            count_window: 10,
            sync_window: 1000,
            creation_date: now.with_nanosecond(0),
            last_auth_success: None,
            last_auth_match: None,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = token)]
struct TokenRow {
    id: i32,
    serial: String,
    token_type: Option<String>,
    description: Option<String>,
    token_info: Option<String>,
    pin_user: Option<String>,
    pin_user_iv: Option<String>,
    id_resolver: Option<String>,
    id_res_class: Option<String>,
    user_id: Option<String>,
    pin_salt: Option<String>,
    otp_len: Option<i32>,
    pin_hash: Option<String>,
    key_enc: Option<String>,
    key_iv: Option<String>,
    max_fail: Option<i32>,
    is_active: Option<bool>,
    fail_count: Option<i32>,
    count: Option<i32>,
    count_window: Option<i32>,
    sync_window: Option<i32>,
    creation_date: Option<NaiveDateTime>,
    last_auth_success: Option<NaiveDateTime>,
    last_auth_match: Option<NaiveDateTime>,
}

impl From<TokenRow> for Token {
    fn from(row: TokenRow) -> Token {
        Token {
            id: row.id,
            serial: row.serial,
            token_type: row.token_type.unwrap_or_default(),
            description: row.description.unwrap_or_default(),
            token_info: row.token_info.unwrap_or_default(),
            pin_user: row.pin_user.unwrap_or_default(),
            pin_user_iv: row.pin_user_iv.unwrap_or_default(),
            id_resolver: row.id_resolver.unwrap_or_default(),
            id_res_class: row.id_res_class.unwrap_or_default(),
            user_id: row.user_id.unwrap_or_default(),
            pin_salt: row.pin_salt.unwrap_or_default(),
            otp_len: row.otp_len.unwrap_or(6),
            pin_hash: row.pin_hash.unwrap_or_default(),
            key_enc: row.key_enc.unwrap_or_default(),
            key_iv: row.key_iv.unwrap_or_default(),
            max_fail: row.max_fail.unwrap_or(10),
            is_active: row.is_active.unwrap_or(true),
            fail_count: row.fail_count.unwrap_or(0),
            count: row.count.unwrap_or(0),
            count_window: row.count_window.unwrap_or(10),
            sync_window: row.sync_window.unwrap_or(1000),
            creation_date: row.creation_date,
            last_auth_success: row.last_auth_success,
            last_auth_match: row.last_auth_match,
        }
    }
}

/// The columns a listing shows: [`TokenRow`] without the secrets.
#[derive(Queryable, Selectable)]
#[diesel(table_name = token)]
struct ShownTokenRow {
    id: i32,
    serial: String,
    token_type: Option<String>,
    description: Option<String>,
    token_info: Option<String>,
    id_resolver: Option<String>,
    id_res_class: Option<String>,
    user_id: Option<String>,
    otp_len: Option<i32>,
    max_fail: Option<i32>,
    is_active: Option<bool>,
    fail_count: Option<i32>,
    count: Option<i32>,
    count_window: Option<i32>,
    sync_window: Option<i32>,
    creation_date: Option<NaiveDateTime>,
    last_auth_success: Option<NaiveDateTime>,
    last_auth_match: Option<NaiveDateTime>,
}

impl From<ShownTokenRow> for Token {
    fn from(row: ShownTokenRow) -> Token {
        Token::from(TokenRow {
            id: row.id,
            serial: row.serial,
            token_type: row.token_type,
            description: row.description,
            token_info: row.token_info,
            pin_user: None,
            pin_user_iv: None,
            id_resolver: row.id_resolver,
            id_res_class: row.id_res_class,
            user_id: row.user_id,
            pin_salt: None,
            otp_len: row.otp_len,
            pin_hash: None,
            key_enc: None,
            key_iv: None,
            max_fail: row.max_fail,
            is_active: row.is_active,
            fail_count: row.fail_count,
            count: row.count,
            count_window: row.count_window,
            sync_window: row.sync_window,
            creation_date: row.creation_date,
            last_auth_success: row.last_auth_success,
            last_auth_match: row.last_auth_match,
        })
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = token, treat_none_as_null = true)]
struct TokenValues<'a> {
    serial: &'a str,
    token_type: &'a str,
    description: &'a str,
    token_info: &'a str,
    pin_user: &'a str,
    pin_user_iv: &'a str,
    id_resolver: &'a str,
    id_res_class: &'a str,
    user_id: &'a str,
    pin_salt: &'a str,
    otp_len: i32,
    pin_hash: &'a str,
    key_enc: &'a str,
    key_iv: &'a str,
    max_fail: i32,
    is_active: bool,
    fail_count: i32,
    count: i32,
    count_window: i32,
    sync_window: i32,
    creation_date: Option<NaiveDateTime>,
    last_auth_success: Option<NaiveDateTime>,
    last_auth_match: Option<NaiveDateTime>,
}

impl<'a> From<&'a Token> for TokenValues<'a> {
    fn from(t: &'a Token) -> Self {
        TokenValues {
            serial: &t.serial,
            token_type: &t.token_type,
            description: &t.description,
            token_info: &t.token_info,
            pin_user: &t.pin_user,
            pin_user_iv: &t.pin_user_iv,
            id_resolver: &t.id_resolver,
            id_res_class: &t.id_res_class,
            user_id: &t.user_id,
            pin_salt: &t.pin_salt,
            otp_len: t.otp_len,
            pin_hash: &t.pin_hash,
            key_enc: &t.key_enc,
            key_iv: &t.key_iv,
            max_fail: t.max_fail,
            is_active: t.is_active,
            fail_count: t.fail_count,
            count: t.count,
            count_window: t.count_window,
            sync_window: t.sync_window,
            creation_date: t.creation_date,
            last_auth_success: t.last_auth_success,
            last_auth_match: t.last_auth_match,
        }
    }
}

/// Inserts a token (its `id` is ignored) and returns it with the assigned id.
/// A serial that exists already gives [`StoreError::Duplicate`].
pub fn insert(conn: &mut AnyConnection, new_token: &Token) -> Result<Token> {
    write_transaction(conn, |conn| {
        diesel::insert_into(token::table)
            .values(TokenValues::from(new_token))
            .execute(conn)
            .map_err(StoreError::on_duplicate("token", &new_token.serial))?;
        let id = last_insert_id(conn)?;
        Ok(Token {
            id,
            ..new_token.clone()
        })
    })
}

/// Writes every column of `changed` to the row with its id (last writer wins: use
/// [`commit_counter`] for the validation path). Fails with [`StoreError::NotFound`] if the
/// row is gone.
pub fn update(conn: &mut AnyConnection, changed: &Token) -> Result<()> {
    let rows = diesel::update(token::table.filter(token::id.eq(changed.id)))
        .set(TokenValues::from(changed))
        .execute(conn)
        .map_err(StoreError::on_duplicate("token", &changed.serial))?;
    if rows == 0 {
        return Err(StoreError::NotFound {
            what: "token",
            key: changed.serial.clone(),
        });
    }
    Ok(())
}

/// Deletes a token with its realm links and its challenges (as LinOTP's `removeToken` does).
/// Returns false if no token had that id.
pub fn delete(conn: &mut AnyConnection, token_id: i32) -> Result<bool> {
    write_transaction(conn, |conn| {
        let serial: Option<String> = token::table
            .filter(token::id.eq(token_id))
            .select(token::serial)
            .get_result(conn)
            .optional()?;
        let Some(serial) = serial else {
            return Ok(false);
        };
        diesel::delete(token_realm::table.filter(token_realm::token_id.eq(token_id)))
            .execute(conn)?;
        diesel::delete(challenges::table.filter(challenges::tokenserial.eq(&serial)))
            .execute(conn)?;
        diesel::delete(token::table.filter(token::id.eq(token_id))).execute(conn)?;
        Ok(true)
    })
}

/// The token with this serial (exact match).
pub fn get_by_serial(conn: &mut AnyConnection, serial: &str) -> Result<Option<Token>> {
    // `get_result`, not `first()`, on unique keys throughout this crate: the `LIMIT ?` that
    // `first()` adds keeps diesel from reusing the prepared statement on SQLite, which made
    // this lookup about four times slower (measured: ~45 µs vs ~12 µs).
    let row = token::table
        .filter(token::serial.eq(serial))
        .select(TokenRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(Token::from))
}

/// The token with this id.
pub fn get_by_id(conn: &mut AnyConnection, token_id: i32) -> Result<Option<Token>> {
    let row = token::table
        .filter(token::id.eq(token_id))
        .select(TokenRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(Token::from))
}

/// LinOTP's resolver-class pattern: legacy `useridresolveree.` is normalised and the
/// `useridresolver.` prefix matches any package path (`useridresolver%.`).
pub fn resolver_class_pattern(resolver_class: &str) -> String {
    resolver_class
        .replace("useridresolveree.", "useridresolver.")
        .replace("useridresolver.", "useridresolver%.")
}

/// Tokens of a user: `LinOtpUserid = user_id AND LinOtpIdResClass LIKE <pattern>` with
/// LinOTP's pattern from [`resolver_class_pattern`] (the class is matched with LIKE exactly
/// as LinOTP does, so `_` in a resolver name is a wildcard there too). Ordered by id.
pub fn find_by_user(
    conn: &mut AnyConnection,
    user_id: &str,
    resolver_class: &str,
) -> Result<Vec<Token>> {
    let pattern = resolver_class_pattern(resolver_class);
    // `LIKE (? || '')` rather than `LIKE ?`: SQLite recompiles a statement whenever the bound
    // value of a bare LIKE parameter changes (for its LIKE optimisation), which made this,
    // the validate-by-user lookup, four times slower; the concatenation hides the parameter.
    let pattern = pattern
        .into_sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>()
        .concat("");
    let rows = token::table
        .filter(token::user_id.eq(user_id))
        .filter(token::id_res_class.like(pattern))
        .order(token::id.asc())
        .select(TokenRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Token::from).collect())
}

/// Tokens linked to the realm (name compared lower-case, as LinOTP stores realm names).
pub fn find_by_realm(conn: &mut AnyConnection, realm_name: &str) -> Result<Vec<Token>> {
    let realm_name = realm_name.to_lowercase();
    let rows = token::table
        .filter(
            token::id.nullable().eq_any(
                token_realm::table
                    .inner_join(realm::table.on(realm::id.nullable().eq(token_realm::realm_id)))
                    .filter(realm::name.eq(realm_name))
                    .select(token_realm::token_id),
            ),
        )
        .order(token::id.asc())
        .select(TokenRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Token::from).collect())
}

/// Number of tokens in the table.
pub fn count_all(conn: &mut AnyConnection) -> Result<i64> {
    Ok(token::table.select(count_star()).get_result(conn)?)
}

/// The new state a successful (or failed) validation wants to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterCommit {
    /// `LinOtpTokenId` of the token.
    pub token_id: i32,
    /// The counter value the validation read: the update only happens if it is unchanged.
    pub expected_count: i32,
    /// The new `LinOtpCount`.
    pub new_count: i32,
    /// The new `LinOtpFailCount`.
    pub new_fail_count: i32,
    /// New `LinOtpTokenInfo` JSON, or `None` to leave it.
    pub new_token_info: Option<String>,
    /// New `LinOtpLastAuthSuccess`, or `None` to leave it.
    pub last_auth_success: Option<NaiveDateTime>,
    /// New `LinOtpLastAuthMatch`, or `None` to leave it.
    pub last_auth_match: Option<NaiveDateTime>,
}

#[derive(AsChangeset)]
#[diesel(table_name = token)]
struct CounterChangeset<'a> {
    count: i32,
    fail_count: i32,
    token_info: Option<&'a str>,
    last_auth_success: Option<NaiveDateTime>,
    last_auth_match: Option<NaiveDateTime>,
}

/// Compare-and-set commit of a token's counter state:
/// `UPDATE "Token" SET LinOtpCount = new, LinOtpFailCount = …, … WHERE LinOtpTokenId = ? AND
/// LinOtpCount = expected`.
///
/// Returns true if this call changed the row, false if the counter had moved on (another
/// request or node accepted an OTP first) or the token is gone. Of any number of concurrent
/// commits from the same `expected_count`, at most one returns true, on every backend: the
/// row lock of the UPDATE serialises them and the losers no longer match the WHERE clause.
pub fn commit_counter(conn: &mut AnyConnection, commit: &CounterCommit) -> Result<bool> {
    let rows = diesel::update(
        token::table
            .filter(token::id.eq(commit.token_id))
            .filter(token::count.eq(commit.expected_count)),
    )
    .set(CounterChangeset {
        count: commit.new_count,
        fail_count: commit.new_fail_count,
        token_info: commit.new_token_info.as_deref(),
        last_auth_success: commit.last_auth_success,
        last_auth_match: commit.last_auth_match,
    })
    .execute(conn)?;
    Ok(rows == 1)
}

/// Adds one to the fail counter in the database (no read-modify-write, so concurrent
/// failures all count), but never beyond `limit` when given. Returns false if the token is
/// gone or already at the limit.
pub fn increment_fail_count(
    conn: &mut AnyConnection,
    token_id: i32,
    limit: Option<i32>,
) -> Result<bool> {
    let rows = match limit {
        Some(limit) => diesel::update(
            token::table
                .filter(token::id.eq(token_id))
                .filter(token::fail_count.lt(limit)),
        )
        .set(token::fail_count.eq(token::fail_count + 1))
        .execute(conn)?,
        None => diesel::update(token::table.filter(token::id.eq(token_id)))
            .set(token::fail_count.eq(token::fail_count + 1))
            .execute(conn)?,
    };
    Ok(rows == 1)
}

/// Sets `LinOtpIsactive`. Returns false if no token had that id.
pub fn set_active(conn: &mut AnyConnection, token_id: i32, active: bool) -> Result<bool> {
    let rows = diesel::update(token::table.filter(token::id.eq(token_id)))
        .set(token::is_active.eq(active))
        .execute(conn)?;
    Ok(rows == 1)
}

/// Sets `LinOtpFailCount` to 0 (a success after failures). Returns false if no token had
/// that id.
pub fn reset_fail_count(conn: &mut AnyConnection, token_id: i32) -> Result<bool> {
    let rows = diesel::update(token::table.filter(token::id.eq(token_id)))
        .set(token::fail_count.eq(0))
        .execute(conn)?;
    Ok(rows == 1)
}

/// Records `at` as the token's last matching authentication (`LinOtpLastAuthMatch`).
pub fn set_last_auth_match(
    conn: &mut AnyConnection,
    token_id: i32,
    at: NaiveDateTime,
) -> Result<bool> {
    let rows = diesel::update(token::table.filter(token::id.eq(token_id)))
        .set(token::last_auth_match.eq(at))
        .execute(conn)?;
    Ok(rows == 1)
}

/// Compare-and-set of `LinOtpTokenInfo`: stores `new` only while the column still holds
/// `expected` (an empty `expected` also matches NULL). Returns whether it was stored.
pub fn set_token_info_if(
    conn: &mut AnyConnection,
    token_id: i32,
    expected: &str,
    new: &str,
) -> Result<bool> {
    let target = token::table.filter(token::id.eq(token_id));
    let rows = if expected.is_empty() {
        diesel::update(target.filter(token::token_info.is_null().or(token::token_info.eq(""))))
            .set(token::token_info.eq(new))
            .execute(conn)
    } else {
        diesel::update(target.filter(token::token_info.eq(expected)))
            .set(token::token_info.eq(new))
            .execute(conn)
    }?;
    Ok(rows == 1)
}

/// How a serial is matched in [`TokenFilter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialMatch {
    /// Equal.
    Exact(String),
    /// LinOTP wildcard: `*` matches any text.
    Wildcard(String),
}

impl SerialMatch {
    /// LinOTP's rule: a serial containing `*` is a wildcard, otherwise exact.
    pub fn from_param(serial: &str) -> SerialMatch {
        if serial.contains('*') {
            SerialMatch::Wildcard(serial.to_owned())
        } else {
            SerialMatch::Exact(serial.to_owned())
        }
    }
}

/// Which owner a listing wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerFilter {
    /// Unassigned tokens (`LinOtpUserid` empty or NULL).
    Unassigned,
    /// Tokens whose serial is one of these (the API resolves user names to serials; an empty
    /// list matches nothing, as in LinOTP).
    Serials(Vec<String>),
    /// `LinOtpUserid` equal to this (and `LinOtpIdResClass` equal to the class when given).
    UserId {
        /// The user id.
        user_id: String,
        /// The full resolver class spec.
        resolver_class: Option<String>,
    },
}

/// Which realms a listing wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealmFilter {
    /// Tokens linked to at least one of these realms (names, any case).
    AnyOf(Vec<String>),
    /// Tokens linked to no realm.
    None,
}

/// The column a listing is sorted by (LinOTP's `sortby` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenSort {
    /// `TokenDesc` (LinOTP's default).
    #[default]
    Description,
    /// `TokenId`.
    Id,
    /// `TokenType`.
    Type,
    /// `TokenSerialnumber`.
    Serial,
    /// `IdResolver`.
    IdResolver,
    /// `IdResClass`.
    IdResClass,
    /// `Userid`.
    UserId,
    /// `FailCount`.
    FailCount,
    /// `Count`.
    Count,
    /// `Isactive`.
    IsActive,
    /// `CreationDate`.
    CreationDate,
    /// `LastAuthMatch`.
    LastAuthMatch,
    /// `LastAuthSuccess`.
    LastAuthSuccess,
}

impl TokenSort {
    /// Parses LinOTP's `sortby` value (`TokenDesc`, `TokenSerialnumber`, …).
    pub fn from_param(name: &str) -> Option<TokenSort> {
        Some(match name {
            "TokenDesc" => TokenSort::Description,
            "TokenId" => TokenSort::Id,
            "TokenType" => TokenSort::Type,
            "TokenSerialnumber" => TokenSort::Serial,
            "IdResolver" => TokenSort::IdResolver,
            "IdResClass" => TokenSort::IdResClass,
            "Userid" => TokenSort::UserId,
            "FailCount" => TokenSort::FailCount,
            "Count" => TokenSort::Count,
            "Isactive" => TokenSort::IsActive,
            "CreationDate" => TokenSort::CreationDate,
            "LastAuthMatch" => TokenSort::LastAuthMatch,
            "LastAuthSuccess" => TokenSort::LastAuthSuccess,
            _ => return None,
        })
    }
}

/// Conditions for [`list`]; all given conditions must hold (AND), as in LinOTP's
/// `TokenIterator`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFilter {
    /// Serial condition.
    pub serial: Option<SerialMatch>,
    /// Owner condition.
    pub owner: Option<OwnerFilter>,
    /// Realm condition.
    pub realms: Option<RealmFilter>,
    /// Active / inactive only (LinOTP's `/:active:/`, `/:inactive:/` filters).
    pub active: Option<bool>,
    /// Substring searched in description, resolver class, serial, user id and type (any).
    pub text: Option<String>,
    /// Token type, compared case-insensitively.
    pub token_type: Option<String>,
}

/// Sorting and paging for [`list`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenListOptions {
    /// Sort column.
    pub sort: TokenSort,
    /// Descending instead of ascending.
    pub descending: bool,
    /// `(page, page_size)`, page counted from 1; `None` returns all rows.
    pub page: Option<(u32, u32)>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPage {
    /// The tokens on this page.
    pub tokens: Vec<Token>,
    /// Rows matching the filter on all pages.
    pub total: i64,
}

impl TokenPage {
    /// Number of pages for a page size (0 when nothing matched, as flask-sqlalchemy counts).
    pub fn pages(&self, page_size: u32) -> i64 {
        if page_size == 0 {
            return 0;
        }
        let size = i64::from(page_size);
        (self.total + size - 1) / size
    }
}

type BoxedTokenQuery<'a, ST> = diesel::internal::table_macro::BoxedSelectStatement<
    'a,
    ST,
    diesel::internal::table_macro::FromClause<token::table>,
    MultiBackend,
>;

fn apply_filter<'a, ST: 'a>(
    mut query: BoxedTokenQuery<'a, ST>,
    filter: &'a TokenFilter,
) -> BoxedTokenQuery<'a, ST> {
    match &filter.serial {
        Some(SerialMatch::Exact(serial)) => query = query.filter(token::serial.eq(serial)),
        Some(SerialMatch::Wildcard(pattern)) => {
            query = query.filter(
                token::serial
                    .like(like::wildcard(pattern))
                    .escape(like::ESCAPE),
            )
        }
        None => {}
    }
    match &filter.owner {
        Some(OwnerFilter::Unassigned) => {
            query = query.filter(token::user_id.eq("").or(token::user_id.is_null()))
        }
        Some(OwnerFilter::Serials(serials)) => query = query.filter(token::serial.eq_any(serials)),
        Some(OwnerFilter::UserId {
            user_id,
            resolver_class,
        }) => {
            query = query.filter(token::user_id.eq(user_id));
            if let Some(class) = resolver_class {
                query = query.filter(token::id_res_class.eq(class));
            }
        }
        None => {}
    }
    match &filter.realms {
        Some(RealmFilter::AnyOf(names)) => {
            let names: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
            query = query.filter(
                token::id.nullable().eq_any(
                    token_realm::table
                        .inner_join(realm::table.on(realm::id.nullable().eq(token_realm::realm_id)))
                        .filter(realm::name.eq_any(names))
                        .select(token_realm::token_id),
                ),
            )
        }
        Some(RealmFilter::None) => {
            // NOT IN over non-NULL ids: a NULL in the list would make NOT IN unknown.
            query = query.filter(
                token::id.nullable().ne_all(
                    token_realm::table
                        .filter(token_realm::token_id.is_not_null())
                        .select(token_realm::token_id),
                ),
            )
        }
        None => {}
    }
    if let Some(active) = filter.active {
        query = query.filter(token::is_active.eq(active));
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", like::escape(text));
        query = query.filter(
            token::description
                .like(pattern.clone())
                .escape(like::ESCAPE)
                .or(token::id_res_class
                    .like(pattern.clone())
                    .escape(like::ESCAPE))
                .or(token::serial
                    .nullable()
                    .like(pattern.clone())
                    .escape(like::ESCAPE))
                .or(token::user_id.like(pattern.clone()).escape(like::ESCAPE))
                .or(token::token_type.like(pattern).escape(like::ESCAPE)),
        );
    }
    if let Some(token_type) = &filter.token_type {
        query = query.filter(lower(token::token_type).eq(token_type.to_lowercase()));
    }
    query
}

diesel::define_sql_function! {
    /// SQL `LOWER()`.
    fn lower(text: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// The `/admin/show` listing: filter, count, sort, page.
///
/// Ties in the sort column are broken by token id so pages never overlap.
pub fn list(
    conn: &mut AnyConnection,
    filter: &TokenFilter,
    options: &TokenListOptions,
) -> Result<TokenPage> {
    let query = sorted_page(
        apply_filter(
            token::table.select(TokenRow::as_select()).into_boxed(),
            filter,
        ),
        options,
    );
    let rows: Vec<TokenRow> = query.load(conn)?;
    let total = page_total(conn, filter, options, rows.len())?;
    Ok(TokenPage {
        tokens: rows.into_iter().map(Token::from).collect(),
        total,
    })
}

/// [`list`] for displaying tokens: the same rows, but without reading the secret columns
/// (seed, its IV, PIN hash and salt, user PIN), which stay empty. A listing of thousands of
/// tokens then neither decodes nor holds their secrets.
pub fn list_shown(
    conn: &mut AnyConnection,
    filter: &TokenFilter,
    options: &TokenListOptions,
) -> Result<TokenPage> {
    let query = sorted_page(
        apply_filter(
            token::table.select(ShownTokenRow::as_select()).into_boxed(),
            filter,
        ),
        options,
    );
    let rows: Vec<ShownTokenRow> = query.load(conn)?;
    let total = page_total(conn, filter, options, rows.len())?;
    Ok(TokenPage {
        tokens: rows.into_iter().map(Token::from).collect(),
        total,
    })
}

/// The rows matching `filter` on all pages: counted only when a page was asked for,
/// otherwise every matching row was loaded already.
fn page_total(
    conn: &mut AnyConnection,
    filter: &TokenFilter,
    options: &TokenListOptions,
    loaded: usize,
) -> Result<i64> {
    if options.page.is_none() {
        return Ok(i64::try_from(loaded).unwrap_or(i64::MAX));
    }
    Ok(apply_filter(token::table.select(count_star()).into_boxed(), filter).get_result(conn)?)
}

/// Sorts by the option's column, then by id in the same direction, and cuts the page.
fn sorted_page<'a, ST: 'a>(
    mut query: BoxedTokenQuery<'a, ST>,
    options: &TokenListOptions,
) -> BoxedTokenQuery<'a, ST> {
    query = match (options.sort, options.descending) {
        (TokenSort::Description, false) => query.order_by(token::description.asc()),
        (TokenSort::Description, true) => query.order_by(token::description.desc()),
        (TokenSort::Id, false) => query.order_by(token::id.asc()),
        (TokenSort::Id, true) => query.order_by(token::id.desc()),
        (TokenSort::Type, false) => query.order_by(token::token_type.asc()),
        (TokenSort::Type, true) => query.order_by(token::token_type.desc()),
        (TokenSort::Serial, false) => query.order_by(token::serial.asc()),
        (TokenSort::Serial, true) => query.order_by(token::serial.desc()),
        (TokenSort::IdResolver, false) => query.order_by(token::id_resolver.asc()),
        (TokenSort::IdResolver, true) => query.order_by(token::id_resolver.desc()),
        (TokenSort::IdResClass, false) => query.order_by(token::id_res_class.asc()),
        (TokenSort::IdResClass, true) => query.order_by(token::id_res_class.desc()),
        (TokenSort::UserId, false) => query.order_by(token::user_id.asc()),
        (TokenSort::UserId, true) => query.order_by(token::user_id.desc()),
        (TokenSort::FailCount, false) => query.order_by(token::fail_count.asc()),
        (TokenSort::FailCount, true) => query.order_by(token::fail_count.desc()),
        (TokenSort::Count, false) => query.order_by(token::count.asc()),
        (TokenSort::Count, true) => query.order_by(token::count.desc()),
        (TokenSort::IsActive, false) => query.order_by(token::is_active.asc()),
        (TokenSort::IsActive, true) => query.order_by(token::is_active.desc()),
        (TokenSort::CreationDate, false) => query.order_by(token::creation_date.asc()),
        (TokenSort::CreationDate, true) => query.order_by(token::creation_date.desc()),
        (TokenSort::LastAuthMatch, false) => query.order_by(token::last_auth_match.asc()),
        (TokenSort::LastAuthMatch, true) => query.order_by(token::last_auth_match.desc()),
        (TokenSort::LastAuthSuccess, false) => query.order_by(token::last_auth_success.asc()),
        (TokenSort::LastAuthSuccess, true) => query.order_by(token::last_auth_success.desc()),
    };
    query = if options.descending {
        query.then_order_by(token::id.desc())
    } else {
        query.then_order_by(token::id.asc())
    };
    if let Some((page, page_size)) = options.page {
        let page = i64::from(page.max(1));
        let size = i64::from(page_size.max(1));
        query = query.limit(size).offset((page - 1) * size);
    }
    query
}

/// Token ids up to which [`realm_names_of`] names each id in its query; for more, it reads
/// the links of the id range instead (one cached statement, and clear of the databases'
/// limits on bound parameters).
const REALM_LOOKUP_BY_ID_MAX: usize = 100;

/// Realm names (lower-case, sorted) of each of the given tokens, for listings.
pub fn realm_names_of(
    conn: &mut AnyConnection,
    token_ids: &[i32],
) -> Result<HashMap<i32, Vec<String>>> {
    let links = token_realm::table
        .inner_join(realm::table.on(realm::id.nullable().eq(token_realm::realm_id)))
        .select((token_realm::token_id, realm::name))
        .order((token_realm::token_id.asc(), realm::name.asc()));
    let (Some(lowest), Some(highest)) = (token_ids.iter().min(), token_ids.iter().max()) else {
        return Ok(HashMap::new());
    };
    let rows: Vec<(Option<i32>, String)> = if token_ids.len() <= REALM_LOOKUP_BY_ID_MAX {
        links
            .filter(token_realm::token_id.eq_any(token_ids))
            .load(conn)?
    } else {
        links
            .filter(token_realm::token_id.between(*lowest, *highest))
            .load(conn)?
    };
    let wanted: std::collections::HashSet<i32> = token_ids.iter().copied().collect();
    let mut out: HashMap<i32, Vec<String>> = HashMap::new();
    for (token_id, name) in rows {
        if let Some(token_id) = token_id.filter(|id| wanted.contains(id)) {
            out.entry(token_id).or_default().push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::realms;
    use crate::testing::TestDb;

    #[test]
    fn long_listings_get_the_same_realms_and_rows_without_secrets() {
        let db = TestDb::sqlite();
        db.store().migrate().unwrap();
        let mut conn = db.store().connection().unwrap();
        let mut ids = Vec::new();
        for number in 0..150 {
            let mut new_token = Token::new(&format!("R{number:03}"), "HMAC");
            new_token.key_enc = "983d069bb8fcf16f".to_owned();
            new_token.pin_hash = "7d449f47e899480d".to_owned();
            let stored = insert(&mut conn, &new_token).unwrap();
            if number % 3 == 0 {
                realms::add_token_realm(&mut conn, stored.id, "zeta").unwrap();
                realms::add_token_realm(&mut conn, stored.id, "alpha").unwrap();
            }
            ids.push(stored.id);
        }
        // Some tokens from the 3rd to the 140th, a few and many (more than are named one by
        // one), with linked tokens inside the id range that were not asked for.
        let wanted: Vec<i32> = ids[2..140].iter().copied().step_by(2).collect();
        assert!(wanted.len() <= REALM_LOOKUP_BY_ID_MAX);
        let wanted_many: Vec<i32> = (2..140)
            .filter(|number| number % 5 != 0)
            .map(|number| ids[number])
            .collect();
        assert!(wanted_many.len() > REALM_LOOKUP_BY_ID_MAX);

        for asked in [&wanted, &wanted_many] {
            let names = realm_names_of(&mut conn, asked).unwrap();
            for (number, id) in ids.iter().enumerate() {
                let expected = (asked.contains(id) && number % 3 == 0)
                    .then(|| vec!["alpha".to_owned(), "zeta".to_owned()]);
                assert_eq!(names.get(id), expected.as_ref(), "token {number}");
            }
        }
        assert!(realm_names_of(&mut conn, &[]).unwrap().is_empty());

        let options = TokenListOptions {
            sort: TokenSort::Serial,
            descending: true,
            page: Some((2, 40)),
        };
        let full = list(&mut conn, &TokenFilter::default(), &options).unwrap();
        let shown = list_shown(&mut conn, &TokenFilter::default(), &options).unwrap();
        assert_eq!((full.total, shown.total), (150, 150));
        assert_eq!(shown.tokens.len(), 40);
        for (full, shown) in full.tokens.iter().zip(&shown.tokens) {
            assert_eq!(shown.key_enc, "");
            assert_eq!(shown.pin_hash, "");
            let without_secrets = Token {
                key_enc: String::new(),
                pin_hash: String::new(),
                ..full.clone()
            };
            assert_eq!(shown, &without_secrets);
        }
        let unpaged = list_shown(
            &mut conn,
            &TokenFilter::default(),
            &TokenListOptions::default(),
        )
        .unwrap();
        assert_eq!((unpaged.total, unpaged.tokens.len()), (150, 150));
    }
}
