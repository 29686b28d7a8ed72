//! `imported_user`: users imported with `/tools/import_users`, and LinOTP's local
//! administrators.
//!
//! LinOTP 4 keeps local administrators in `imported_user` too, under the group (resolver
//! name) `LinOTP_local_admins`, served by a SQL resolver on that table (see `LocalAdminResolver`
//! in LinOTP's `model/local_admin_user.py`). The `admin_users` table of LinOTP's
//! `set_password` tool only exists in its "cloud mode" and is not used here.
//!
//! The table has no enabled flag. Disabling an administrator therefore prefixes the stored
//! password hash with `!` (as `passwd -l` does): no password verifies against it, in linotp-rs
//! or in LinOTP, and enabling removes the prefix so the old password works again.

use std::fmt;

use diesel::prelude::*;

use crate::connection::{AnyConnection, write_transaction};
use crate::error::{Result, StoreError};
use crate::schema::imported_user;

/// The resolver (group) name of LinOTP's local administrators (`ADMIN_RESOLVER_NAME`).
pub const LOCAL_ADMIN_GROUP: &str = "LinOTP_local_admins";

/// Prefix that marks a disabled administrator's password hash.
pub const DISABLED_PREFIX: char = '!';

/// One `imported_user` row. `Debug` hides the password hash.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ImportedUser {
    /// `groupid`: the resolver name the user belongs to.
    pub groupid: String,
    /// `userid`.
    pub userid: String,
    /// `username`.
    pub username: String,
    /// `phone`.
    pub phone: String,
    /// `mobile`.
    pub mobile: String,
    /// `email`.
    pub email: String,
    /// `surname`.
    pub surname: String,
    /// `givenname`.
    pub givenname: String,
    /// `password`: crypt-style hash (`$6$…`), or `*` for none.
    pub password: String,
}

impl fmt::Debug for ImportedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedUser")
            .field("groupid", &self.groupid)
            .field("userid", &self.userid)
            .field("username", &self.username)
            .field("phone", &self.phone)
            .field("mobile", &self.mobile)
            .field("email", &self.email)
            .field("surname", &self.surname)
            .field("givenname", &self.givenname)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = imported_user)]
struct UserRow {
    groupid: String,
    userid: String,
    username: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    surname: Option<String>,
    givenname: Option<String>,
    password: Option<String>,
}

impl From<UserRow> for ImportedUser {
    fn from(row: UserRow) -> Self {
        ImportedUser {
            groupid: row.groupid,
            userid: row.userid,
            username: row.username.unwrap_or_default(),
            phone: row.phone.unwrap_or_default(),
            mobile: row.mobile.unwrap_or_default(),
            email: row.email.unwrap_or_default(),
            surname: row.surname.unwrap_or_default(),
            givenname: row.givenname.unwrap_or_default(),
            password: row.password.unwrap_or_default(),
        }
    }
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = imported_user)]
struct UserValues<'a> {
    groupid: &'a str,
    userid: &'a str,
    username: &'a str,
    phone: &'a str,
    mobile: &'a str,
    email: &'a str,
    surname: &'a str,
    givenname: &'a str,
    password: &'a str,
}

impl<'a> From<&'a ImportedUser> for UserValues<'a> {
    fn from(u: &'a ImportedUser) -> Self {
        UserValues {
            groupid: &u.groupid,
            userid: &u.userid,
            username: &u.username,
            phone: &u.phone,
            mobile: &u.mobile,
            email: &u.email,
            surname: &u.surname,
            givenname: &u.givenname,
            password: &u.password,
        }
    }
}

/// Inserts a user; an existing (groupid, userid) gives [`StoreError::Duplicate`].
pub fn insert(conn: &mut AnyConnection, user: &ImportedUser) -> Result<()> {
    diesel::insert_into(imported_user::table)
        .values(UserValues::from(user))
        .execute(conn)
        .map_err(StoreError::on_duplicate(
            "user",
            &format!("{}/{}", user.groupid, user.userid),
        ))?;
    Ok(())
}

/// Inserts the user or replaces all its fields.
pub fn upsert(conn: &mut AnyConnection, user: &ImportedUser) -> Result<()> {
    write_transaction(conn, |conn| {
        let rows = diesel::update(
            imported_user::table
                .filter(imported_user::groupid.eq(&user.groupid))
                .filter(imported_user::userid.eq(&user.userid)),
        )
        .set(UserValues::from(user))
        .execute(conn)?;
        if rows == 0 {
            insert(conn, user)?;
        }
        Ok(())
    })
}

/// One user by group and user id.
pub fn get(conn: &mut AnyConnection, groupid: &str, userid: &str) -> Result<Option<ImportedUser>> {
    let row = imported_user::table
        .filter(imported_user::groupid.eq(groupid))
        .filter(imported_user::userid.eq(userid))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(ImportedUser::from))
}

/// One user by group and login name.
pub fn get_by_username(
    conn: &mut AnyConnection,
    groupid: &str,
    username: &str,
) -> Result<Option<ImportedUser>> {
    let row = imported_user::table
        .filter(imported_user::groupid.eq(groupid))
        .filter(imported_user::username.eq(username))
        .order(imported_user::userid.asc())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(ImportedUser::from))
}

/// All users of a group, by user id.
pub fn list_group(conn: &mut AnyConnection, groupid: &str) -> Result<Vec<ImportedUser>> {
    let rows = imported_user::table
        .filter(imported_user::groupid.eq(groupid))
        .order(imported_user::userid.asc())
        .select(UserRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(ImportedUser::from).collect())
}

/// The distinct group names, in the database collation's order.
pub fn list_groups(conn: &mut AnyConnection) -> Result<Vec<String>> {
    Ok(imported_user::table
        .select(imported_user::groupid)
        .distinct()
        .order(imported_user::groupid.asc())
        .load(conn)?)
}

/// Deletes one user. Returns false if it did not exist.
pub fn delete(conn: &mut AnyConnection, groupid: &str, userid: &str) -> Result<bool> {
    let rows = diesel::delete(
        imported_user::table
            .filter(imported_user::groupid.eq(groupid))
            .filter(imported_user::userid.eq(userid)),
    )
    .execute(conn)?;
    Ok(rows > 0)
}

/// Deletes every user of a group; returns how many.
pub fn delete_group(conn: &mut AnyConnection, groupid: &str) -> Result<usize> {
    Ok(
        diesel::delete(imported_user::table.filter(imported_user::groupid.eq(groupid)))
            .execute(conn)?,
    )
}

/// Replaces a group's users by `users` in one transaction (a re-import).
pub fn replace_group(
    conn: &mut AnyConnection,
    groupid: &str,
    users: &[ImportedUser],
) -> Result<()> {
    write_transaction(conn, |conn| {
        delete_group(conn, groupid)?;
        for user in users {
            let user = ImportedUser {
                groupid: groupid.to_owned(),
                ..user.clone()
            };
            insert(conn, &user)?;
        }
        Ok(())
    })
}

/// LinOTP's local administrators: `imported_user` rows of one group (by default
/// [`LOCAL_ADMIN_GROUP`]); user id and user name are both the login name, as LinOTP writes
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAdmins {
    group: String,
}

impl Default for LocalAdmins {
    fn default() -> Self {
        LocalAdmins::new(LOCAL_ADMIN_GROUP)
    }
}

/// Contact details of a local administrator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdminDetails {
    /// Surname.
    pub surname: String,
    /// Given name.
    pub givenname: String,
    /// Phone.
    pub phone: String,
    /// Mobile.
    pub mobile: String,
    /// E-mail.
    pub email: String,
}

impl LocalAdmins {
    /// Administrators of the group `group` (LinOTP's `ADMIN_RESOLVER_NAME`).
    pub fn new(group: &str) -> LocalAdmins {
        LocalAdmins {
            group: group.to_owned(),
        }
    }

    /// The group name.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Adds an administrator with a crypt-style password hash (`*` for none).
    /// An existing name gives [`StoreError::Duplicate`].
    pub fn add(
        &self,
        conn: &mut AnyConnection,
        username: &str,
        password_hash: &str,
        details: &AdminDetails,
    ) -> Result<ImportedUser> {
        let admin = ImportedUser {
            groupid: self.group.clone(),
            userid: username.to_owned(),
            username: username.to_owned(),
            phone: details.phone.clone(),
            mobile: details.mobile.clone(),
            email: details.email.clone(),
            surname: details.surname.clone(),
            givenname: details.givenname.clone(),
            password: password_hash.to_owned(),
        };
        insert(conn, &admin).map_err(|error| match error {
            StoreError::Duplicate { what, .. } => StoreError::Duplicate {
                what,
                key: username.to_owned(),
            },
            other => other,
        })?;
        Ok(admin)
    }

    /// All administrators, by name.
    pub fn list(&self, conn: &mut AnyConnection) -> Result<Vec<ImportedUser>> {
        list_group(conn, &self.group)
    }

    /// One administrator.
    pub fn get(&self, conn: &mut AnyConnection, username: &str) -> Result<Option<ImportedUser>> {
        get(conn, &self.group, username)
    }

    fn set_password_column(
        &self,
        conn: &mut AnyConnection,
        username: &str,
        value: &str,
    ) -> Result<()> {
        let rows = diesel::update(
            imported_user::table
                .filter(imported_user::groupid.eq(&self.group))
                .filter(imported_user::userid.eq(username)),
        )
        .set(imported_user::password.eq(value))
        .execute(conn)?;
        if rows == 0 {
            return Err(StoreError::NotFound {
                what: "local admin",
                key: username.to_owned(),
            });
        }
        Ok(())
    }

    /// Replaces the password hash (this also enables a disabled administrator).
    pub fn set_password_hash(
        &self,
        conn: &mut AnyConnection,
        username: &str,
        password_hash: &str,
    ) -> Result<()> {
        self.set_password_column(conn, username, password_hash)
    }

    /// Replaces the contact details.
    pub fn update_details(
        &self,
        conn: &mut AnyConnection,
        username: &str,
        details: &AdminDetails,
    ) -> Result<()> {
        let rows = diesel::update(
            imported_user::table
                .filter(imported_user::groupid.eq(&self.group))
                .filter(imported_user::userid.eq(username)),
        )
        .set((
            imported_user::surname.eq(&details.surname),
            imported_user::givenname.eq(&details.givenname),
            imported_user::phone.eq(&details.phone),
            imported_user::mobile.eq(&details.mobile),
            imported_user::email.eq(&details.email),
        ))
        .execute(conn)?;
        if rows == 0 {
            return Err(StoreError::NotFound {
                what: "local admin",
                key: username.to_owned(),
            });
        }
        Ok(())
    }

    /// Removes an administrator. Returns false if there was none of that name.
    pub fn remove(&self, conn: &mut AnyConnection, username: &str) -> Result<bool> {
        delete(conn, &self.group, username)
    }

    /// True unless the password hash carries the [`DISABLED_PREFIX`].
    pub fn is_enabled(admin: &ImportedUser) -> bool {
        !admin.password.starts_with(DISABLED_PREFIX)
    }

    /// Disables an administrator (prefixes the hash with `!`); idempotent.
    pub fn disable(&self, conn: &mut AnyConnection, username: &str) -> Result<()> {
        write_transaction(conn, |conn| {
            let admin = self
                .get(conn, username)?
                .ok_or_else(|| StoreError::NotFound {
                    what: "local admin",
                    key: username.to_owned(),
                })?;
            if LocalAdmins::is_enabled(&admin) {
                let locked = format!("{DISABLED_PREFIX}{}", admin.password);
                self.set_password_column(conn, username, &locked)?;
            }
            Ok(())
        })
    }

    /// Enables an administrator (removes the `!` prefix); idempotent.
    pub fn enable(&self, conn: &mut AnyConnection, username: &str) -> Result<()> {
        write_transaction(conn, |conn| {
            let admin = self
                .get(conn, username)?
                .ok_or_else(|| StoreError::NotFound {
                    what: "local admin",
                    key: username.to_owned(),
                })?;
            if let Some(hash) = admin.password.strip_prefix(DISABLED_PREFIX) {
                self.set_password_column(conn, username, hash)?;
            }
            Ok(())
        })
    }
}
