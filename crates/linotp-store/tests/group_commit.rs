//! Group commit on SQLite: concurrent writes share transactions, yet each caller gets its
//! own result, a failing write rolls back only itself, and the compare-and-set of the token
//! counter still lets exactly one of many racing requests win.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};

use linotp_store::testing::TestDb;
use linotp_store::tokens::{self, CounterCommit, Token};
use linotp_store::{StoreError, write_transaction};

const THREADS: usize = 16;

#[test]
fn every_write_is_stored_or_refused_on_its_own() {
    let db = TestDb::sqlite().migrated();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let store = db.store().clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut conn = store.connection().unwrap();
                barrier.wait();
                store.write_grouped(&mut conn, move |conn| {
                    let serial = format!("GROUP{thread:03}");
                    let stored = tokens::insert(conn, &Token::new(&serial, "HMAC"))?;
                    if thread % 2 == 1 {
                        // Odd writers change their mind after writing.
                        return Err(StoreError::GroupCommit(format!("{serial} refused")));
                    }
                    Ok(stored.serial)
                })
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let mut conn = db.store().connection().unwrap();
    for (thread, result) in results.iter().enumerate() {
        let serial = format!("GROUP{thread:03}");
        let stored = tokens::get_by_serial(&mut conn, &serial).unwrap();
        if thread % 2 == 0 {
            assert_eq!(result.as_ref().unwrap(), &serial);
            assert!(stored.is_some(), "{serial} lost");
        } else {
            assert!(result.is_err(), "{serial}: {result:?}");
            assert!(
                stored.is_none(),
                "{serial} stored although its write failed"
            );
        }
    }
}

#[test]
fn exactly_one_of_racing_counter_commits_wins() {
    let db = TestDb::sqlite().migrated();
    let token = {
        let mut conn = db.store().connection().unwrap();
        let mut token = Token::new("RACEGRP1", "HMAC");
        token.count = 7;
        tokens::insert(&mut conn, &token).unwrap()
    };
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|thread| {
            let store = db.store().clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut conn = store.connection().unwrap();
                barrier.wait();
                store.write_grouped(&mut conn, move |conn| {
                    tokens::commit_counter(
                        conn,
                        &CounterCommit {
                            token_id: token.id,
                            expected_count: 7,
                            new_count: 8 + i32::try_from(thread).unwrap(),
                            new_fail_count: 0,
                            new_token_info: None,
                            last_auth_success: None,
                            last_auth_match: None,
                        },
                    )
                })
            })
        })
        .collect();
    let wins = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(wins, 1);
    let mut conn = db.store().connection().unwrap();
    assert!(
        tokens::get_by_id(&mut conn, token.id)
            .unwrap()
            .unwrap()
            .count
            >= 8
    );
}

#[test]
fn inside_a_callers_transaction_the_write_joins_it() {
    let db = TestDb::sqlite().migrated();
    let store = db.store().clone();
    let mut conn = store.connection().unwrap();
    let outcome: Result<(), StoreError> = write_transaction(&mut conn, |conn| {
        store.write_grouped(conn, |conn| {
            tokens::insert(conn, &Token::new("JOINED01", "HMAC")).map(|_| ())
        })?;
        Err(StoreError::GroupCommit("the caller rolls back".to_owned()))
    });
    assert!(outcome.is_err());
    // Rolled back with the caller's transaction: it never went to the committer.
    assert!(
        tokens::get_by_serial(&mut conn, "JOINED01")
            .unwrap()
            .is_none()
    );
}
