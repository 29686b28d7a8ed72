//! The `challenges` table.
//!
//! Column names are LinOTP's database names (`data`, `bdata`, `challenge`, `lchallenge`,
//! `bchallenge`, …); LinOTP's ORM calls `bdata` "data" and `bchallenge` "challenge", the other
//! text columns are legacy and usually empty.

use std::fmt;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::{AnyConnection, last_insert_id, write_transaction};
use crate::error::{Result, StoreError};
use crate::like;
use crate::schema::challenges;

/// One challenge row. `Debug` shows sizes of the binary payloads, not their content.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// `id` (0 until inserted).
    pub id: i32,
    /// `transid`: the transaction id (unique).
    pub transid: String,
    /// `ptransid`: parent transaction id (unused by LinOTP 4).
    pub ptransid: String,
    /// `data`: legacy text data.
    pub data: String,
    /// `bdata`: UTF-8 JSON of the token's challenge data.
    pub bdata: Option<Vec<u8>>,
    /// `challenge`: legacy.
    pub challenge: String,
    /// `lchallenge`: legacy.
    pub lchallenge: String,
    /// `bchallenge`: UTF-8 challenge / message text.
    pub bchallenge: Option<Vec<u8>>,
    /// `session`: JSON with status and MAC.
    pub session: String,
    /// `tokenserial`.
    pub tokenserial: String,
    /// `timestamp`: creation time, local time, whole seconds.
    pub timestamp: Option<NaiveDateTime>,
    /// `received_count`.
    pub received_count: i32,
    /// `received_tan`.
    pub received_tan: bool,
    /// `valid_tan`.
    pub valid_tan: bool,
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("id", &self.id)
            .field("transid", &self.transid)
            .field("tokenserial", &self.tokenserial)
            .field("bdata_len", &self.bdata.as_ref().map(Vec::len))
            .field("bchallenge_len", &self.bchallenge.as_ref().map(Vec::len))
            .field("session", &self.session)
            .field("timestamp", &self.timestamp)
            .field("received_count", &self.received_count)
            .field("received_tan", &self.received_tan)
            .field("valid_tan", &self.valid_tan)
            .finish_non_exhaustive()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = challenges)]
struct ChallengeRow {
    id: i32,
    transid: String,
    ptransid: Option<String>,
    data: Option<String>,
    bdata: Option<Vec<u8>>,
    challenge: Option<String>,
    lchallenge: Option<String>,
    bchallenge: Option<Vec<u8>>,
    session: Option<String>,
    tokenserial: Option<String>,
    timestamp: Option<NaiveDateTime>,
    received_count: Option<i32>,
    received_tan: Option<bool>,
    valid_tan: Option<bool>,
}

impl From<ChallengeRow> for Challenge {
    fn from(row: ChallengeRow) -> Self {
        Challenge {
            id: row.id,
            transid: row.transid,
            ptransid: row.ptransid.unwrap_or_default(),
            data: row.data.unwrap_or_default(),
            bdata: row.bdata,
            challenge: row.challenge.unwrap_or_default(),
            lchallenge: row.lchallenge.unwrap_or_default(),
            bchallenge: row.bchallenge,
            session: row.session.unwrap_or_default(),
            tokenserial: row.tokenserial.unwrap_or_default(),
            timestamp: row.timestamp,
            received_count: row.received_count.unwrap_or(0),
            received_tan: row.received_tan.unwrap_or(false),
            valid_tan: row.valid_tan.unwrap_or(false),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = challenges)]
struct NewChallengeRow<'a> {
    transid: &'a str,
    ptransid: &'a str,
    data: &'a str,
    bdata: Option<&'a [u8]>,
    challenge: &'a str,
    lchallenge: &'a str,
    bchallenge: Option<&'a [u8]>,
    session: &'a str,
    tokenserial: &'a str,
    timestamp: Option<NaiveDateTime>,
    received_count: i32,
    received_tan: bool,
    valid_tan: bool,
}

/// Inserts a challenge (its `id` is ignored) and returns it with the assigned id. A
/// transaction id that exists already gives [`StoreError::Duplicate`].
pub fn insert(conn: &mut AnyConnection, new: &Challenge) -> Result<Challenge> {
    write_transaction(conn, |conn| {
        diesel::insert_into(challenges::table)
            .values(NewChallengeRow {
                transid: &new.transid,
                ptransid: &new.ptransid,
                data: &new.data,
                bdata: new.bdata.as_deref(),
                challenge: &new.challenge,
                lchallenge: &new.lchallenge,
                bchallenge: new.bchallenge.as_deref(),
                session: &new.session,
                tokenserial: &new.tokenserial,
                timestamp: new.timestamp,
                received_count: new.received_count,
                received_tan: new.received_tan,
                valid_tan: new.valid_tan,
            })
            .execute(conn)
            .map_err(StoreError::on_duplicate("challenge", &new.transid))?;
        let id = last_insert_id(conn)?;
        Ok(Challenge { id, ..new.clone() })
    })
}

/// The challenge with this transaction id.
pub fn get_by_transid(conn: &mut AnyConnection, transid: &str) -> Result<Option<Challenge>> {
    let row = challenges::table
        .filter(challenges::transid.eq(transid))
        .select(ChallengeRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(Challenge::from))
}

/// Challenges whose transaction id starts with `prefix` (LinOTP's sub-transactions
/// `<transid>.<nn>`), by id.
pub fn find_by_transid_prefix(conn: &mut AnyConnection, prefix: &str) -> Result<Vec<Challenge>> {
    let pattern = format!("{}%", like::escape(prefix));
    let rows = challenges::table
        .filter(challenges::transid.like(pattern).escape(like::ESCAPE))
        .order(challenges::id.asc())
        .select(ChallengeRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Challenge::from).collect())
}

/// Challenges of a token, by id.
pub fn find_by_serial(conn: &mut AnyConnection, serial: &str) -> Result<Vec<Challenge>> {
    let rows = challenges::table
        .filter(challenges::tokenserial.eq(serial))
        .order(challenges::id.asc())
        .select(ChallengeRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Challenge::from).collect())
}

/// The fields a challenge's life cycle changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeStatus {
    /// New `session` JSON (status and MAC).
    pub session: String,
    /// New `received_count`.
    pub received_count: i32,
    /// New `received_tan`.
    pub received_tan: bool,
    /// New `valid_tan`.
    pub valid_tan: bool,
}

/// Updates the status fields of a challenge. Returns false if the transaction id is unknown.
pub fn update_status(
    conn: &mut AnyConnection,
    transid: &str,
    status: &ChallengeStatus,
) -> Result<bool> {
    let rows = diesel::update(challenges::table.filter(challenges::transid.eq(transid)))
        .set((
            challenges::session.eq(&status.session),
            challenges::received_count.eq(status.received_count),
            challenges::received_tan.eq(status.received_tan),
            challenges::valid_tan.eq(status.valid_tan),
        ))
        .execute(conn)?;
    Ok(rows == 1)
}

/// Deletes one challenge. Returns false if it did not exist.
pub fn delete_by_transid(conn: &mut AnyConnection, transid: &str) -> Result<bool> {
    let rows =
        diesel::delete(challenges::table.filter(challenges::transid.eq(transid))).execute(conn)?;
    Ok(rows > 0)
}

/// Deletes all challenges of a token; returns how many.
pub fn delete_by_serial(conn: &mut AnyConnection, serial: &str) -> Result<usize> {
    Ok(
        diesel::delete(challenges::table.filter(challenges::tokenserial.eq(serial)))
            .execute(conn)?,
    )
}

/// Deletes challenges created before `cutoff` (compare in the same clock the rows were written
/// with: LinOTP uses local time); returns how many.
pub fn delete_created_before(conn: &mut AnyConnection, cutoff: NaiveDateTime) -> Result<usize> {
    Ok(diesel::delete(challenges::table.filter(challenges::timestamp.lt(cutoff))).execute(conn)?)
}
