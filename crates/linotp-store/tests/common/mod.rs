//! Test databases (`linotp_store::testing`) and a macro running a check on every backend.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub use linotp_store::testing::TestDb;

/// Runs each named check (a `fn(&TestDb)`) on SQLite, PostgreSQL and (with the `mysql`
/// feature) MySQL/MariaDB; the server variants skip with a message when their URI is unset.
#[macro_export]
macro_rules! on_every_backend {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $check() {
                    super::$check(&$crate::common::TestDb::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    if let Some(db) = $crate::common::TestDb::postgres() {
                        super::$check(&db);
                    }
                }
            )*
        }
        #[cfg(feature = "mysql")]
        mod mysql {
            $(
                #[test]
                fn $check() {
                    if let Some(db) = $crate::common::TestDb::mysql() {
                        super::$check(&db);
                    }
                }
            )*
        }
    };
}
