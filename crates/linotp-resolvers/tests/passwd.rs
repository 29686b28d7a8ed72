//! passwd-file resolver on real files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use linotp_resolvers::{
    ResolverClass, ResolverConfig, ResolverEnvironment, ResolverRegistry, ResolverSpec,
    UserIdResolver, UserSearch,
};

/// "Test123!" as sha512_crypt, md5_crypt and DES crypt (made with libxcrypt).
const SHA512: &str = "$6$rounds=1000$abcdefgh$sq7w2EXEFBc10jkWD9f93wgdENd6K/j.aeWaZ6THi2VvQj5cu5u3JsjgkNgvxB0gKsDxSUPN.O5zPzCJ1mLER1";

fn passwd_file(dir: &std::path::Path, body: &str) -> std::path::PathBuf {
    let file = dir.join("passwd");
    std::fs::write(&file, body).unwrap();
    file
}

fn rows(file: &std::path::Path) -> HashMap<String, String> {
    HashMap::from([(
        "linotp.passwdresolver.fileName.local".to_owned(),
        file.display().to_string(),
    )])
}

fn spec() -> ResolverSpec {
    ResolverSpec::new(ResolverClass::Passwd, "local")
}

#[test]
fn users_resolve_search_and_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let file = passwd_file(
        dir.path(),
        &format!(
            "root:x:0:0:root:/root:/bin/bash\n\
             alice:{SHA512}:1001:1001:Alice Smith,Room 1,+49111,+49222,alice@example.test:/home/alice:/bin/sh\n\
             bob:*:1002:1002:Bob Builder:/home/bob:/bin/sh\n\
             svc:x:2000:2000::/srv:/usr/sbin/nologin\n"
        ),
    );
    let registry = ResolverRegistry::new(ResolverEnvironment::default());
    let passwd = registry.resolver(&spec(), &rows(&file)).unwrap().unwrap();

    assert_eq!(passwd.user_id("alice").unwrap().as_deref(), Some("1001"));
    assert_eq!(passwd.user_id("nobody").unwrap(), None);
    let alice = passwd.user_info("1001").unwrap().unwrap();
    assert_eq!(alice.text("username").as_deref(), Some("alice"));
    assert_eq!(alice.text("surname").as_deref(), Some("Smith"));
    assert_eq!(alice.text("email").as_deref(), Some("alice@example.test"));
    assert!(alice.get("cryptpass").is_none());

    assert!(passwd.check_password("1001", "Test123!").unwrap());
    assert!(!passwd.check_password("1001", "test123!").unwrap());
    // Shadowed and locked accounts cannot be checked here.
    assert!(!passwd.check_password("1002", "anything").unwrap());

    let names = |search: UserSearch| -> Vec<String> {
        passwd
            .search(&search)
            .unwrap()
            .iter()
            .filter_map(|user| user.username())
            .collect()
    };
    assert_eq!(names(UserSearch::all()), ["root", "alice", "bob", "svc"]);
    assert_eq!(
        names(UserSearch::new([("userid", ">=1001")])),
        ["alice", "bob", "svc"]
    );
    assert_eq!(
        names(UserSearch::new([("userid", "between 1000,1001")])),
        ["alice"]
    );
    assert_eq!(
        names(UserSearch::new([("username", "*o*")])),
        ["root", "bob"]
    );
    assert_eq!(
        names(UserSearch::new([("description", "*builder")])),
        ["bob"]
    );
    assert_eq!(names(UserSearch::new([("searchTerm", "svc")])), ["svc"]);
}

#[test]
fn an_edited_file_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = passwd_file(dir.path(), "alice:x:1001:1001::/:/bin/sh\n");
    let registry = ResolverRegistry::new(ResolverEnvironment::default());
    let passwd = registry.resolver(&spec(), &rows(&file)).unwrap().unwrap();
    assert_eq!(passwd.user_id("carol").unwrap(), None);
    // Make sure the modification time differs even on coarse-grained file systems.
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::fs::write(
        &file,
        "alice:x:1001:1001::/:/bin/sh\ncarol:x:1003:1003::/:/bin/sh\n",
    )
    .unwrap();
    let handle = std::fs::File::options().write(true).open(&file).unwrap();
    handle
        .set_modified(before + std::time::Duration::from_secs(2))
        .unwrap();
    assert_eq!(passwd.user_id("carol").unwrap().as_deref(), Some("1003"));
}

#[test]
fn a_missing_file_cannot_define_a_resolver() {
    let rows = HashMap::from([(
        "linotp.passwdresolver.fileName.local".to_owned(),
        "/nonexistent/passwd".to_owned(),
    )]);
    let config = ResolverConfig::from_config(ResolverClass::Passwd, "local", &rows).unwrap();
    let error = config.settings().unwrap_err();
    assert_eq!(
        error.to_string(),
        "Unable to instantiate the resolver 'local'.Please verify configuration or connection!"
    );
    let registry = ResolverRegistry::new(ResolverEnvironment::default());
    assert!(registry.resolver(&spec(), &rows).is_err());
    assert!(
        registry
            .resolver(&spec(), &HashMap::new())
            .unwrap()
            .is_none()
    );
}
