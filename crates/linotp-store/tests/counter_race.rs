//! Many threads racing to accept the same OTP: the compare-and-set counter commit lets
//! exactly one of them win, on every backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Barrier};

use common::TestDb;
use linotp_store::tokens::{self, CounterCommit, Token};

const THREADS: usize = 16;
const ROUNDS: i32 = 10;

fn exactly_one_concurrent_commit_wins(db: &TestDb) {
    let store = db.store();
    store.migrate().unwrap();
    let token = {
        let mut conn = store.connection().unwrap();
        let mut token = Token::new("RACE0001", "HMAC");
        token.count = 5;
        tokens::insert(&mut conn, &token).unwrap()
    };

    for round in 0..ROUNDS {
        let expected_count = 5 + round;
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|thread| {
                let store = store.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    // Every thread holds its own connection before the start signal.
                    let mut conn = store.connection().unwrap();
                    barrier.wait();
                    tokens::commit_counter(
                        &mut conn,
                        &CounterCommit {
                            token_id: token.id,
                            expected_count,
                            new_count: expected_count + 1,
                            new_fail_count: 0,
                            new_token_info: Some(format!("{{\"winner\": {thread}}}")),
                            last_auth_success: None,
                            last_auth_match: None,
                        },
                    )
                    .unwrap()
                })
            })
            .collect();
        let winners = handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .filter(|won| *won)
            .count();
        assert_eq!(
            winners, 1,
            "round {round}: {winners} commits accepted the same OTP"
        );

        let mut conn = store.connection().unwrap();
        let stored = tokens::get_by_id(&mut conn, token.id).unwrap().unwrap();
        assert_eq!(stored.count, expected_count + 1);
    }
}

on_every_backend!(exactly_one_concurrent_commit_wins);
