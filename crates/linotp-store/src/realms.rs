//! The `Realm` table and the `TokenRealm` links.
//!
//! LinOTP 4 keeps the default realm in the `Config` key `linotp.DefaultRealm`; the `default`
//! column is LinOTP's older flag, still written by some code paths. Both are offered here,
//! the caller decides which to maintain.

use diesel::prelude::*;

use crate::connection::{AnyConnection, last_insert_id, write_transaction};
use crate::error::{Result, StoreError};
use crate::schema::{realm, token_realm};

/// One row of `Realm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realm {
    /// `id`.
    pub id: i32,
    /// `name`, lower-case.
    pub name: String,
    /// `default` (NULL reads as false).
    pub is_default: bool,
    /// `option`.
    pub option: String,
}

type RealmRow = (i32, String, Option<bool>, Option<String>);

fn realm_from(row: RealmRow) -> Realm {
    Realm {
        id: row.0,
        name: row.1,
        is_default: row.2.unwrap_or(false),
        option: row.3.unwrap_or_default(),
    }
}

const REALM_COLUMNS: (realm::id, realm::name, realm::is_default, realm::option) =
    (realm::id, realm::name, realm::is_default, realm::option);

/// Creates a realm (name stored lower-case, as LinOTP does). An existing name gives
/// [`StoreError::Duplicate`].
pub fn create(conn: &mut AnyConnection, name: &str) -> Result<Realm> {
    let name = name.to_lowercase();
    write_transaction(conn, |conn| {
        diesel::insert_into(realm::table)
            .values((
                realm::name.eq(&name),
                realm::is_default.eq(false),
                realm::option.eq(""),
            ))
            .execute(conn)
            .map_err(StoreError::on_duplicate("realm", &name))?;
        let id = last_insert_id(conn)?;
        Ok(Realm {
            id,
            name: name.clone(),
            is_default: false,
            option: String::new(),
        })
    })
}

/// The realm with this name (any case).
pub fn get_by_name(conn: &mut AnyConnection, name: &str) -> Result<Option<Realm>> {
    let row: Option<RealmRow> = realm::table
        .filter(realm::name.eq(name.to_lowercase()))
        .select(REALM_COLUMNS)
        .get_result(conn)
        .optional()?;
    Ok(row.map(realm_from))
}

/// The realm with this name, created if missing.
pub fn get_or_create(conn: &mut AnyConnection, name: &str) -> Result<Realm> {
    if let Some(found) = get_by_name(conn, name)? {
        return Ok(found);
    }
    match create(conn, name) {
        Err(error) if error.is_duplicate() => get_by_name(conn, name)?.ok_or(error),
        other => other,
    }
}

/// All realms, by name.
pub fn list(conn: &mut AnyConnection) -> Result<Vec<Realm>> {
    let rows: Vec<RealmRow> = realm::table
        .select(REALM_COLUMNS)
        .order(realm::name.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(realm_from).collect())
}

/// Deletes a realm and its token links. Returns false if it did not exist.
pub fn delete(conn: &mut AnyConnection, name: &str) -> Result<bool> {
    let name = name.to_lowercase();
    write_transaction(conn, |conn| {
        let id: Option<i32> = realm::table
            .filter(realm::name.eq(&name))
            .select(realm::id)
            .get_result(conn)
            .optional()?;
        let Some(id) = id else {
            return Ok(false);
        };
        diesel::delete(token_realm::table.filter(token_realm::realm_id.eq(id))).execute(conn)?;
        diesel::delete(realm::table.filter(realm::id.eq(id))).execute(conn)?;
        Ok(true)
    })
}

/// Marks `name` as the default realm and clears the flag on every other realm.
/// Fails with [`StoreError::NotFound`] if the realm does not exist.
pub fn set_default(conn: &mut AnyConnection, name: &str) -> Result<()> {
    let name = name.to_lowercase();
    write_transaction(conn, |conn| {
        diesel::update(realm::table.filter(realm::name.ne(&name)))
            .set(realm::is_default.eq(false))
            .execute(conn)?;
        let rows = diesel::update(realm::table.filter(realm::name.eq(&name)))
            .set(realm::is_default.eq(true))
            .execute(conn)?;
        if rows == 0 {
            return Err(StoreError::NotFound {
                what: "realm",
                key: name.clone(),
            });
        }
        Ok(())
    })
}

/// The realm whose `default` flag is set, if any.
pub fn get_default(conn: &mut AnyConnection) -> Result<Option<Realm>> {
    let row: Option<RealmRow> = realm::table
        .filter(realm::is_default.eq(true))
        .select(REALM_COLUMNS)
        .order(realm::id.asc())
        .first(conn)
        .optional()?;
    Ok(row.map(realm_from))
}

/// Names (lower-case, sorted) of the realms a token is linked to.
pub fn realms_of_token(conn: &mut AnyConnection, token_id: i32) -> Result<Vec<String>> {
    Ok(token_realm::table
        .inner_join(realm::table.on(realm::id.nullable().eq(token_realm::realm_id)))
        .filter(token_realm::token_id.eq(token_id))
        .select(realm::name)
        .order(realm::name.asc())
        .load(conn)?)
}

/// Replaces a token's realm links by links to the named realms (created when missing), as
/// LinOTP's `tokenrealm` call does. Duplicate names are linked once.
pub fn set_token_realms(conn: &mut AnyConnection, token_id: i32, names: &[&str]) -> Result<()> {
    write_transaction(conn, |conn| {
        diesel::delete(token_realm::table.filter(token_realm::token_id.eq(token_id)))
            .execute(conn)?;
        let mut linked = Vec::new();
        for name in names {
            let found = get_or_create(conn, name)?;
            if linked.contains(&found.id) {
                continue;
            }
            link(conn, token_id, found.id)?;
            linked.push(found.id);
        }
        Ok(())
    })
}

fn link(conn: &mut AnyConnection, token_id: i32, realm_id: i32) -> Result<()> {
    diesel::insert_into(token_realm::table)
        .values((
            token_realm::token_id.eq(token_id),
            token_realm::realm_id.eq(realm_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Links a token to one realm (created when missing); does nothing if already linked.
pub fn add_token_realm(conn: &mut AnyConnection, token_id: i32, name: &str) -> Result<()> {
    write_transaction(conn, |conn| {
        let found = get_or_create(conn, name)?;
        let existing: i64 = token_realm::table
            .filter(token_realm::token_id.eq(token_id))
            .filter(token_realm::realm_id.eq(found.id))
            .count()
            .get_result(conn)?;
        if existing == 0 {
            link(conn, token_id, found.id)?;
        }
        Ok(())
    })
}

/// Removes a token's link to a realm. Returns false if there was none.
pub fn remove_token_realm(conn: &mut AnyConnection, token_id: i32, name: &str) -> Result<bool> {
    let Some(found) = get_by_name(conn, name)? else {
        return Ok(false);
    };
    let rows = diesel::delete(
        token_realm::table
            .filter(token_realm::token_id.eq(token_id))
            .filter(token_realm::realm_id.eq(found.id)),
    )
    .execute(conn)?;
    Ok(rows > 0)
}
