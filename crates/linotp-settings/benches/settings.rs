//! How long loading settings takes: done once per process start and per `linotp` command.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use linotp_settings::{Environment, Settings};

const SHARE_CFG: &str = r#"
# Distribution defaults
ROOT_DIR = '/etc/linotp'
BACKUP_DIR = '/var/backups/linotp'
LOG_FILE_DIR = '/var/log/linotp'
LOG_FILE_LEVEL = 'DEBUG'
CACHE_DIR = '/var/cache/linotp'
CUSTOM_TEMPLATES_DIR = "custom-templates"
BABEL_TRANSLATION_DIRECTORIES = '/usr/share/linotp/i18n'
"#;

const SITE_CFG: &str = r#"
DATABASE_URI = "postgresql://linotp:secret@db.example.org/linotp"
AUDIT_DATABASE_URI = "SHARED"
LOG_LEVEL = "INFO"
LOG_FILE_MAX_LENGTH = 10 * 1024 * 1024
TRUSTED_PROXIES = ["127.0.0.1", "::1"]
LOG_FILE_LINE_FORMAT = ("%(asctime)s %(levelname)s: %(message)s "
                        "[in %(pathname)s:%(lineno)d]")
HSM_PKCS11_CONFIG = {
    "module": "linotp.lib.security.pkcs11.Pkcs11SecurityModule",
    "library": "/usr/lib/softhsm/libsofthsm2.so",
    "password": "1234",
    "slotid": 0,
    "configLabel": "config",
    "tokenLabel": "token",
    "valueLabel": "value",
    "defaultLabel": "default",
    "poolsize": 10,
}
"#;

fn bench_load(c: &mut Criterion) {
    let empty = tempfile::tempdir().unwrap();
    let defaults_env = Environment::new(empty.path());
    c.bench_function("load_defaults_no_files", |b| {
        b.iter(|| black_box(Settings::load_with(black_box(&defaults_env)).unwrap()))
    });

    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("conf.d")).unwrap();
    std::fs::write(site.path().join("share.cfg"), SHARE_CFG).unwrap();
    std::fs::write(site.path().join("conf.d/50-site.cfg"), SITE_CFG).unwrap();
    let site_env = Environment::new(site.path())
        .with_var("LINOTP_CFG", "share.cfg:conf.d:-missing.cfg")
        .with_var("LINOTP_LOG_LEVEL", "DEBUG")
        .with_var("LINOTP_SESSION_COOKIE_SECURE", "false");
    c.bench_function("load_two_files_dir_glob_and_env", |b| {
        b.iter(|| black_box(Settings::load_with(black_box(&site_env)).unwrap()))
    });

    let settings = Settings::load_with(&site_env).unwrap();
    c.bench_function("config_show_entries", |b| {
        b.iter(|| black_box(black_box(&settings).entries()))
    });
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
