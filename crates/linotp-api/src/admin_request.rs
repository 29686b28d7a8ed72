//! The one runner behind every request of an authenticated admin (`/admin`, `/system`,
//! `/tools`, `/audit/search`, `/api/v2`): the work runs on the blocking pool with a database
//! connection and the current configuration, optionally in one write transaction, and
//! yields the request's audit event, marked failed when the work failed. The endpoint groups
//! differ only in how they check rights first and how they turn an error into a reply.

use std::sync::Arc;

use linotp_policy::{PolicyContext, RealmRights, UserContext};
use linotp_store::{AnyConnection, StoreError, write_transaction};

use crate::app::{App, AppState};
use crate::audit::AuditEvent;
use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::http::ClientIp;
use crate::sysconfig::SystemConfig;
use crate::users::ResolverSpec;

/// Whether an endpoint changes the database (its work then runs in one transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Everything a handler's database work may use, for one request.
pub(crate) struct Ctx<'a> {
    pub(crate) app: &'a App,
    pub(crate) conn: &'a mut AnyConnection,
    pub(crate) admin: &'a AdminIdentity,
    pub(crate) audit: &'a mut AuditEvent,
    pub(crate) config: Arc<SystemConfig>,
}

impl Ctx<'_> {
    /// The admin as the policies see it: login, the admin realm, the admin's resolver.
    pub(crate) fn admin_user(&self) -> UserContext {
        admin_user_context(self.admin)
    }

    /// LinOTP's `is_authorized(admin, scope, action)`: allowed while no active policy exists
    /// in the scope, else an applying policy must grant the action. Realms, clients and
    /// times are not looked at, as in LinOTP.
    pub(crate) fn is_authorized(&self, scope: &str, action: &str) -> bool {
        let context = PolicyContext::for_admin(self.admin_user());
        self.config.policies().is_allowed(scope, action, &context)
    }

    /// The realms the admin may act on for the admin-scope `action` (`None`: any admin
    /// policy of the admin, what token listings go by).
    pub(crate) fn admin_rights(&self, action: Option<&str>) -> RealmRights {
        let context = PolicyContext::for_admin(self.admin_user());
        self.config
            .policies()
            .admin_realms("admin", action, &context)
    }

    /// LinOTP's `checkPolicyPre("audit", "view")`.
    pub(crate) fn require_audit_view(&self) -> Result<(), ApiError> {
        if self.is_authorized("audit", "view") {
            return Ok(());
        }
        tracing::warn!(admin = %self.admin.username, "audit view refused by policy");
        Err(ApiError::Policy(
            "You do not have the administrative right to view the audit trail. You are missing \
             a policy scope=audit, action=view"
                .to_owned(),
        ))
    }

    /// Reloads the configuration after this request changed it (the stamp moved).
    pub(crate) fn reload_config(&mut self) -> Result<(), ApiError> {
        self.config = self.app.system_config(self.conn)?;
        Ok(())
    }

    /// Runs `work` directly for [`Access::Read`], in one write transaction (rolled back when
    /// it fails) for [`Access::Write`].
    pub(crate) fn with_access<T, E, F>(&mut self, access: Access, work: F) -> Result<T, E>
    where
        E: From<ApiError>,
        F: for<'b> FnOnce(&mut Ctx<'b>) -> Result<T, E>,
    {
        match access {
            Access::Read => work(self),
            Access::Write => {
                let Ctx {
                    app,
                    conn,
                    admin,
                    audit,
                    config,
                } = self;
                in_transaction(conn, |conn| {
                    work(&mut Ctx {
                        app,
                        conn,
                        admin,
                        audit,
                        config: Arc::clone(config),
                    })
                })
            }
        }
    }
}

/// The admin as the policies see it.
pub(crate) fn admin_user_context(admin: &AdminIdentity) -> UserContext {
    let context = UserContext::new(admin.username.clone(), admin.realm.clone());
    match ResolverSpec::parse(&admin.resolver) {
        Some(spec) => context.with_resolver(spec.name()),
        None => context,
    }
}

/// An error inside [`in_transaction`]: the body's, or one from the transaction itself.
enum TxError<E> {
    Body(E),
    Db(linotp_store::diesel::result::Error),
}

impl<E> From<linotp_store::diesel::result::Error> for TxError<E> {
    fn from(error: linotp_store::diesel::result::Error) -> Self {
        TxError::Db(error)
    }
}

/// Runs `body` in one write transaction, rolled back when it fails.
pub(crate) fn in_transaction<T, E>(
    conn: &mut AnyConnection,
    body: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<ApiError>,
{
    write_transaction(conn, |conn| body(conn).map_err(TxError::Body)).map_err(|error| match error {
        TxError::Body(error) => error,
        TxError::Db(error) => E::from(ApiError::Store(StoreError::from(error))),
    })
}

/// Runs one request's work (`action` names it in the audit trail) and hands back its
/// outcome with the audit event, which the caller records once it has done the rest.
pub(crate) async fn run<T, E, F>(
    app: &AppState,
    admin: AdminIdentity,
    client: Option<ClientIp>,
    action: &str,
    work: F,
) -> (Result<T, E>, AuditEvent)
where
    T: Send + 'static,
    E: From<ApiError> + Send + 'static,
    F: for<'a> FnOnce(&mut Ctx<'a>) -> Result<T, E> + Send + 'static,
{
    let audit = AuditEvent {
        administrator: AuditEvent::administrator_of(&admin),
        client: client.map(|ip| ip.0.to_string()).unwrap_or_default(),
        ..AuditEvent::new(action)
    };
    let fallback = audit.clone();
    let outcome = app
        .with_conn(move |app, conn| {
            let mut audit = audit;
            let result = match app.system_config(conn) {
                Ok(config) => work(&mut Ctx {
                    app,
                    conn,
                    admin: &admin,
                    audit: &mut audit,
                    config,
                }),
                Err(error) => Err(E::from(error)),
            };
            Ok((result, audit))
        })
        .await;
    let (result, mut audit) = match outcome {
        Ok(done) => done,
        Err(error) => (Err(E::from(error)), fallback),
    };
    if result.is_err() {
        audit.success = false;
    }
    (result, audit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_policy_user_carries_the_resolver_name() {
        let admin = AdminIdentity {
            username: "admin".into(),
            realm: "linotp_admins".into(),
            resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
        };
        let user = admin_user_context(&admin);
        assert_eq!(user.login, "admin");
        assert_eq!(user.realm, "linotp_admins");
        assert_eq!(user.resolver_names, ["LinOTP_local_admins"]);
    }
}
