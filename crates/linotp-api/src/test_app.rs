//! A complete application on a throw-away SQLite database, for in-process HTTP tests
//! (feature `testing`): real store, real encKey, real crypto; only the audit writer is off.

use std::sync::Arc;

use axum::Router;
use linotp_crypto::{DefaultSecurityModule, EncKey, SecurityModule};
use linotp_store::defaults;
use linotp_store::testing::TestDb;

use crate::app::{App, AppOptions, AppState};
use crate::audit::AuditLog;
use crate::auth::{
    AdminAuth, AdminIdentity, Clock, JwtKey, JwtSettings, MemoryBlocklist, SystemClock,
};
use crate::http::HttpSettings;
use crate::routes;
use crate::sysconfig::ConfigCache;

/// An [`App`] on its own database, with LinOTP's default configuration and admin realm.
pub struct TestApp {
    /// The application.
    pub state: AppState,
    /// Its database (dropped with the test).
    pub db: TestDb,
}

impl std::fmt::Debug for TestApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestApp").field("db", &self.db).finish()
    }
}

impl TestApp {
    /// A fresh application on SQLite with the system clock.
    pub fn sqlite() -> TestApp {
        TestApp::sqlite_with_clock(Arc::new(SystemClock))
    }

    /// A fresh application on SQLite with the given clock (e.g. a `ManualClock`).
    #[allow(clippy::expect_used)]
    pub fn sqlite_with_clock(clock: Arc<dyn Clock>) -> TestApp {
        let db = TestDb::sqlite().migrated();
        {
            let mut conn = db.store().connection().expect("test database connection");
            defaults::ensure_default_config(&mut conn).expect("default config");
            defaults::ensure_admin_realm(&mut conn, "linotp_admins", "LinOTP_local_admins")
                .expect("admin realm");
        }
        let security: Arc<dyn SecurityModule> = Arc::new(DefaultSecurityModule::new(
            EncKey::generate().expect("encKey"),
        ));
        TestApp::assemble(db, security, clock)
    }

    #[allow(clippy::expect_used)]
    fn assemble(db: TestDb, security: Arc<dyn SecurityModule>, clock: Arc<dyn Clock>) -> TestApp {
        let jwt_secret = security.jwt_secret().expect("JWT secret");
        let auth = AdminAuth::new(
            JwtKey::new(jwt_secret.expose()).expect("JWT key"),
            JwtSettings {
                cookie_secure: false,
                ..JwtSettings::default()
            },
            clock.clone(),
            Arc::new(MemoryBlocklist::new(clock.clone())),
        );
        let app = App {
            store: db.store().clone(),
            security,
            config: ConfigCache::new(),
            audit: AuditLog::disabled(),
            auth,
            clock,
            options: AppOptions::default(),
        };
        TestApp {
            state: Arc::new(app),
            db,
        }
    }

    /// The application on a copy of the database and encKey LinOTP made
    /// ([`crate::testing::fixture_dir`]; the fixture itself stays untouched), adopted as the
    /// server adopts a LinOTP database at start.
    #[allow(clippy::expect_used)]
    pub fn on_linotp_fixture(clock: Arc<dyn Clock>) -> TestApp {
        let source = crate::testing::fixture_dir();
        let dir = tempfile::tempdir().expect("temporary directory");
        for file in ["linotp.db", "encKey"] {
            std::fs::copy(source.join(file), dir.path().join(file))
                .unwrap_or_else(|error| panic!("{}: {error}", source.join(file).display()));
        }
        let key_file = dir.path().join("encKey");
        let database = dir.path().join("linotp.db");
        let db = TestDb::sqlite_file(dir, &database).migrated();
        let security: Arc<dyn SecurityModule> = Arc::new(
            DefaultSecurityModule::from_key_file(&key_file).expect("the fixture's encKey"),
        );
        TestApp::assemble(db, security, clock)
    }

    /// The full HTTP application.
    pub fn router(&self) -> Router {
        routes::router(&self.state, HttpSettings::default())
    }

    /// `Cookie` header value and CSRF token of a logged-in admin `username` (issued directly,
    /// without `/admin/login`).
    #[allow(clippy::expect_used)]
    pub fn admin_session(&self, username: &str) -> (String, String) {
        let issued = self
            .state
            .auth
            .issue(AdminIdentity {
                username: username.to_owned(),
                realm: "linotp_admins".to_owned(),
                resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".to_owned(),
            })
            .expect("admin token");
        let cookie = format!(
            "access_token_cookie={}; csrf_access_token={}",
            issued.token, issued.claims.csrf
        );
        (cookie, issued.claims.csrf)
    }
}
