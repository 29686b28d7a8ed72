//! Races on one token: concurrent requests with the same OTP (a RADIUS retransmit, an
//! attacker replaying a sniffed OTP) must authenticate exactly once, and concurrent failures
//! must all count. Real threads, a real SQLite database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod validate_common;

use linotp_api::test_app::TestApp;
use validate_common::{NewToken, check, insert_token, token};

const RACERS: usize = 16;

async fn race(app: &TestApp, pass: &'static str) -> Vec<bool> {
    let router = app.router();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut racers = Vec::new();
    for _ in 0..RACERS {
        let router = router.clone();
        let barrier = barrier.clone();
        racers.push(tokio::spawn(async move {
            barrier.wait().await;
            check(
                &router,
                "/validate/check_s",
                &[("serial", "RACE1"), ("pass", pass)],
            )
            .await
        }));
    }
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_otp_sent_concurrently_authenticates_exactly_once() {
    let app = TestApp::sqlite();
    // Losers that read the counter after the winner stored it fail as replays and count as
    // failures; a high limit keeps the token usable for the next round.
    let mut new = NewToken::hotp("RACE1", "pin");
    new.max_fail = 1000;
    insert_token(&app, &new);
    for (round, otp) in ["pin755224", "pin287082", "pin359152"]
        .into_iter()
        .enumerate()
    {
        let results = race(&app, otp).await;
        let accepted = results.iter().filter(|accepted| **accepted).count();
        assert_eq!(accepted, 1, "round {round}: {results:?}");
        assert_eq!(token(&app, "RACE1").count, round as i32 + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_all_count() {
    let app = TestApp::sqlite();
    let mut new = NewToken::hotp("RACE1", "pin");
    new.max_fail = 1000;
    insert_token(&app, &new);
    let results = race(&app, "pin000000").await;
    assert!(results.iter().all(|accepted| !accepted));
    assert_eq!(token(&app, "RACE1").fail_count, RACERS as i32);
}
