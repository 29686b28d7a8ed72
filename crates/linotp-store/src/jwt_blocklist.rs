//! `linotp_rs_jwt_blocklist`: revoked admin JWTs, shared by all nodes.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::connection::{AnyConnection, write_transaction};
use crate::error::Result;
use crate::schema::linotp_rs_jwt_blocklist as blocklist;

/// Blocks a token id until `expires_at` (UTC). Blocking an id again keeps the later expiry.
pub fn insert(conn: &mut AnyConnection, jti: &str, expires_at: NaiveDateTime) -> Result<()> {
    write_transaction(conn, |conn| {
        let current: Option<NaiveDateTime> = blocklist::table
            .filter(blocklist::jti.eq(jti))
            .select(blocklist::expires_at)
            .get_result(conn)
            .optional()?;
        match current {
            Some(existing) if existing >= expires_at => {}
            Some(_) => {
                diesel::update(blocklist::table.filter(blocklist::jti.eq(jti)))
                    .set(blocklist::expires_at.eq(expires_at))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(blocklist::table)
                    .values((blocklist::jti.eq(jti), blocklist::expires_at.eq(expires_at)))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

/// True if the token id is blocked (entries stay blocked until purged, even past expiry, which
/// is harmless: an expired JWT is refused anyway).
pub fn contains(conn: &mut AnyConnection, jti: &str) -> Result<bool> {
    let found: i64 = blocklist::table
        .filter(blocklist::jti.eq(jti))
        .select(count_star())
        .get_result(conn)?;
    Ok(found > 0)
}

/// Removes entries that expired before `now` (UTC); returns how many.
pub fn purge_expired(conn: &mut AnyConnection, now: NaiveDateTime) -> Result<usize> {
    Ok(diesel::delete(blocklist::table.filter(blocklist::expires_at.lt(now))).execute(conn)?)
}
