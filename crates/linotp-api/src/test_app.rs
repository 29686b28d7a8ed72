//! A complete application on a throw-away SQLite database, for in-process HTTP tests
//! (feature `testing`): real store, real encKey, real crypto; only the audit writer is off.

use std::sync::Arc;

use axum::Router;
use linotp_crypto::password::hash_password_with_rounds;
use linotp_crypto::{DefaultSecurityModule, EncKey, SecurityModule};
use linotp_store::testing::TestDb;
use linotp_store::users::{self, ImportedUser};
use linotp_store::{config, defaults};
use tokio::sync::mpsc;

use crate::app::{App, AppOptions, AppState};
use crate::audit::{AuditEvent, AuditLog};
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

    /// The same application (database, keys, clock, options) with a fresh config cache and
    /// an audit log whose events arrive on the returned queue instead of the database.
    pub fn audited(&self) -> (AppState, mpsc::Receiver<AuditEvent>) {
        let (sender, receiver) = mpsc::channel(4096);
        let state = Arc::new(App {
            store: self.state.store.clone(),
            security: self.state.security.clone(),
            config: ConfigCache::new(),
            audit: AuditLog::from_sender(sender),
            auth: self.state.auth.clone(),
            clock: self.state.clock.clone(),
            options: self.state.options.clone(),
        });
        (state, receiver)
    }

    /// Creates what `/tools/import_users` and `/system/setRealm` create: the `imported_user`
    /// rows of `users` (group `resolver`) and a realm `realm` listing that SQL resolver.
    #[allow(clippy::expect_used)]
    pub fn import_users(
        &self,
        resolver: &str,
        realm: &str,
        users: impl IntoIterator<Item = ImportedUser>,
    ) {
        let mut conn = self
            .state
            .store
            .connection()
            .expect("test database connection");
        defaults::ensure_admin_realm(&mut conn, realm, resolver).expect("realm");
        for user in users {
            users::insert(&mut conn, &user).expect("imported user");
        }
        config::touch_timestamp(&mut conn).expect("config timestamp");
    }
}

/// An imported user as the tests make them: mail `<login>@example.test`, the login in upper
/// case as surname, `password` hashed with few rounds.
#[allow(clippy::expect_used)]
pub fn imported_user(resolver: &str, login: &str, user_id: &str, password: &str) -> ImportedUser {
    ImportedUser {
        groupid: resolver.to_owned(),
        userid: user_id.to_owned(),
        username: login.to_owned(),
        email: format!("{login}@example.test"),
        surname: login.to_uppercase(),
        password: hash_password_with_rounds(password, 1000).expect("password hash"),
        ..ImportedUser::default()
    }
}

/// A form body (`application/x-www-form-urlencoded`, also a query string) of `params`.
pub fn form_body(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encoded(name), percent_encoded(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encoded(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}
