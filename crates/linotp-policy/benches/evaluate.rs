//! Cost of the policy lookups on a `/validate/check` and of reloading the
//! policies after a config change, for the fixture's 3 policies and for a
//! large installation (200 policies in 20 realms).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use linotp_policy::{OtpPin, PolicyContext, PolicySet, UserContext};

fn fixture_rows() -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut policy = |name: &str, fields: [(&str, &str); 7]| {
        for (attribute, value) in fields {
            rows.push((
                format!("linotp.Policy.{name}.{attribute}"),
                value.to_owned(),
            ));
        }
    };
    policy(
        "fix_auth_otppin",
        [
            ("action", "otppin=1"),
            ("scope", "authentication"),
            ("realm", "fixrealm"),
            ("user", "carol"),
            ("time", ""),
            ("client", ""),
            ("active", "True"),
        ],
    );
    policy(
        "fix_admin_all",
        [
            ("action", "*"),
            ("scope", "admin"),
            ("realm", "*"),
            ("user", "admin"),
            ("time", ""),
            ("client", ""),
            ("active", "True"),
        ],
    );
    policy(
        "fix_selfservice",
        [
            (
                "action",
                "enrollHMAC, enrollTOTP, setOTPPIN, history, otp_pin_minlength=4",
            ),
            ("scope", "selfservice"),
            ("realm", "fixrealm"),
            ("user", "*"),
            ("time", ""),
            ("client", ""),
            ("active", "True"),
        ],
    );
    rows
}

/// 200 policies: per realm, authentication policies by user, resolver and
/// network, authorization, enrollment, selfservice and admin policies.
fn large_rows() -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for realm in 0..20 {
        let per_realm: [(&str, &str, &str, &str, &str); 10] = [
            (
                "auth_user",
                "authentication",
                "otppin=1",
                "user7, user8, !user9",
                "*",
            ),
            (
                "auth_res",
                "authentication",
                "otppin=2",
                "res3:, *@realm3",
                "10.0.0.0/8",
            ),
            (
                "auth_net",
                "authentication",
                "passthru, challenge_response=hmac totp",
                "*",
                "192.168.0.0/16, !192.168.99.0/24",
            ),
            (
                "auth_all",
                "authentication",
                "otppin=0, smstext='Your OTP: <otp>'",
                "*",
                "*",
            ),
            (
                "authz",
                "authorization",
                "tokentype=hmac totp, detail_on_fail",
                "*",
                "*",
            ),
            (
                "enroll",
                "enrollment",
                "maxtoken=3, tokencount=1000, otp_pin_random=6",
                "*",
                "*",
            ),
            (
                "self",
                "selfservice",
                "enrollHMAC, enrollTOTP, history, otp_pin_minlength=6",
                "*",
                "*",
            ),
            (
                "self_vip",
                "selfservice",
                "enrollFIDO2, delete",
                "vip*",
                "*",
            ),
            (
                "admin",
                "admin",
                "show, enable, disable, reset",
                "helpdesk",
                "*",
            ),
            ("admin_ops", "admin", "*", "ops@linotp_admins", "*"),
        ];
        for (kind, scope, action, user, client) in per_realm {
            let name = format!("{kind}_{realm}");
            let fields = [
                ("action", action.to_owned()),
                ("scope", scope.to_owned()),
                ("realm", format!("realm{realm}")),
                ("user", user.to_owned()),
                (
                    "time",
                    if realm % 5 == 0 {
                        "* 6-20 * * 1-5 *".to_owned()
                    } else {
                        String::new()
                    },
                ),
                ("client", client.to_owned()),
                ("active", "True".to_owned()),
            ];
            for (attribute, value) in fields {
                rows.push((format!("linotp.Policy.{name}.{attribute}"), value));
            }
        }
    }
    rows
}

fn lookups(c: &mut Criterion) {
    let now = NaiveDate::from_ymd_opt(2026, 11, 26)
        .unwrap()
        .and_hms_opt(10, 11, 12)
        .unwrap();
    let fixture = PolicySet::from_config(fixture_rows());
    let carol =
        PolicyContext::for_user(UserContext::new("carol", "fixrealm").with_resolver("fixres"))
            .with_client("127.0.0.1".parse().unwrap())
            .at(now);
    assert_eq!(fixture.otppin(&carol).unwrap(), OtpPin::Password);
    c.bench_function("otppin, 3 policies (fixture)", |b| {
        b.iter(|| fixture.otppin(black_box(&carol)).unwrap())
    });

    let large = PolicySet::from_config(large_rows());
    assert_eq!(large.len(), 200);
    let user7 = PolicyContext::for_user(UserContext::new("user7", "realm3").with_resolver("res3"))
        .with_client("10.1.2.3".parse().unwrap())
        .at(now);
    assert_eq!(large.otppin(&user7).unwrap(), OtpPin::Password);
    c.bench_function("otppin, 200 policies", |b| {
        b.iter(|| large.otppin(black_box(&user7)).unwrap())
    });
    c.bench_function("validate/check set (otppin, passthru, challenge_response, tokentype, detail), 200 policies", |b| {
        b.iter(|| {
            let ctx = black_box(&user7);
            large.otppin(ctx).unwrap();
            large.passthru(ctx).unwrap();
            large.challenge_response(ctx, "hmac").unwrap();
            large.token_type_allowed(ctx, "hmac").unwrap();
            large.detail_on_success(ctx).unwrap()
        })
    });
    let helpdesk = PolicyContext::for_admin(UserContext::new("helpdesk", "linotp_admins")).at(now);
    c.bench_function("admin_realms, 200 policies", |b| {
        b.iter(|| large.admin_realms("admin", Some("enable"), black_box(&helpdesk)))
    });
    c.bench_function("explain otppin, 200 policies", |b| {
        b.iter(|| large.explain("authentication", "otppin", black_box(&user7)))
    });
}

fn reload(c: &mut Criterion) {
    let rows = large_rows();
    c.bench_function("from_config, 200 policies", |b| {
        b.iter(|| PolicySet::from_config(black_box(&rows).iter().map(|(k, v)| (k, v))))
    });
}

criterion_group!(benches, lookups, reload);
criterion_main!(benches);
