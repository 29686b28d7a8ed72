//! Replays LinOTP's recorded `/admin` session (`fixtures/golden/admin.json`) in order against
//! the in-process application and compares every reply by the corpus rules.
//!
//! Adapted or skipped cases:
//! * `setup.import_users` and `setup.setRealm.gldrealm` run `/tools/import_users` and
//!   `/system/setRealm`; the same users, resolver and realm are written straight into the
//!   store instead (those endpoints belong to other groups).
//! * `login.*` and `logout` (admin login, tested with the login endpoint), `userlist*`
//!   (needs the user-listing endpoint) and `teardown.delRealm` / `teardown.delResolver`
//!   (`/system`) are not admin token management and are skipped.
//! * `setup.fail_*` (`/validate/check_s`) run through the real validate endpoint: the
//!   following `show` pins the fail counter they leave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_support;

use admin_support::Admin;
use linotp_api::testing::{Captures, GoldenCase, compare, load_golden_file};
use linotp_crypto::password::hash_password_with_rounds;
use linotp_store::users::{self, ImportedUser};
use linotp_store::{config, defaults};

const SKIPPED: &[&str] = &[
    "login.ok",
    "login.bad_password",
    "login.unknown_user",
    "userlist",
    "userlist.one_user",
    "teardown.delRealm.gldrealm",
    "teardown.delResolver",
    "logout",
];

/// What `setup.import_users` + `setup.setRealm.gldrealm` create, from the case's CSV.
fn import_golden_users(admin: &Admin, case: &GoldenCase) {
    let (_, file) = case.uploads().into_iter().next().unwrap();
    let mut conn = admin.conn();
    for line in file.content.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [
            username,
            userid,
            surname,
            givenname,
            email,
            phone,
            mobile,
            password,
        ] = fields.as_slice()
        else {
            panic!("unexpected CSV line {line}");
        };
        users::insert(
            &mut conn,
            &ImportedUser {
                groupid: "GldRes".to_owned(),
                userid: (*userid).to_owned(),
                username: (*username).to_owned(),
                phone: (*phone).to_owned(),
                mobile: (*mobile).to_owned(),
                email: (*email).to_owned(),
                surname: (*surname).to_owned(),
                givenname: (*givenname).to_owned(),
                password: hash_password_with_rounds(password, 1000).unwrap(),
            },
        )
        .unwrap();
    }
    defaults::ensure_admin_realm(&mut conn, "gldrealm", "GldRes").unwrap();
    config::touch_timestamp(&mut conn).unwrap();
}

#[tokio::test]
async fn the_recorded_admin_session_replays_with_linotps_replies() {
    let admin = Admin::new();
    let cases = load_golden_file("admin.json").unwrap();
    let mut captures = Captures::default();
    let mut replayed = 0;
    for case in &cases {
        if SKIPPED.contains(&case.name.as_str()) {
            continue;
        }
        match case.name.as_str() {
            "setup.import_users" => {
                import_golden_users(&admin, case);
                continue;
            }
            "setup.setRealm.gldrealm" => continue,
            _ => {}
        }
        let params = case.params_with(&captures);
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let observed = admin.observe(&case.method, &case.path, &pairs).await;
        if let Err(mismatches) = compare(case, &observed, &mut captures) {
            panic!("case {}: {mismatches}\nbody: {}", case.name, observed.body);
        }
        replayed += 1;
    }
    assert!(replayed >= 55, "only {replayed} cases replayed");
}

#[tokio::test]
async fn admin_error_cases_of_errors_json_match() {
    let admin = Admin::new();
    let cases = load_golden_file("errors.json").unwrap();
    let mut captures = Captures::default();
    for name in [
        "missing.remove_serial",
        "missing.enable_params",
        "missing.init_otpkey",
        "unknown_serial.remove",
        "unknown_serial.reset",
        "unknown_serial.enable",
        "unknown_serial.assign",
        "httperror_500.admin_remove_unknown",
        "httperror_empty.admin_remove_unknown",
    ] {
        let case = cases.iter().find(|case| case.name == name).unwrap();
        let params = case.params_with(&captures);
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let observed = admin.observe(&case.method, &case.path, &pairs).await;
        if let Err(mismatches) = compare(case, &observed, &mut captures) {
            panic!("case {name}: {mismatches}\nbody: {}", observed.body);
        }
        // Byte for byte, too: the envelope text is LinOTP's.
        assert_eq!(observed.body, case.body, "{name}");
    }
}
