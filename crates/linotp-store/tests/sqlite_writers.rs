//! SQLite writers of one process queue per database file: a long write on one file (the audit
//! trail's batch) does not hold up writes to another (token counters).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::mpsc;
use std::time::Duration;

use linotp_store::testing::TestDb;
use linotp_store::tokens::{self, Token};
use linotp_store::{StoreError, write_transaction};

#[test]
fn a_writer_on_one_file_does_not_wait_for_a_writer_on_another() {
    let audit_like = TestDb::sqlite().migrated();
    let main = TestDb::sqlite().migrated();
    let (inside_tx, inside_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();

    let holder_store = audit_like.store().clone();
    let holder = std::thread::spawn(move || {
        let mut conn = holder_store.connection().unwrap();
        write_transaction(&mut conn, |conn| {
            tokens::insert(conn, &Token::new("HOLDER01", "HMAC"))?;
            inside_tx.send(()).unwrap();
            // Holds this file's write turn until the other file's write is done.
            release_rx.recv().unwrap();
            Ok::<_, StoreError>(())
        })
        .unwrap();
    });
    inside_rx.recv().unwrap();

    let writer_store = main.store().clone();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut conn = writer_store.connection().unwrap();
        let written = write_transaction(&mut conn, |conn| {
            tokens::insert(conn, &Token::new("WRITER01", "HMAC"))
        });
        done_tx.send(written.is_ok()).unwrap();
    });
    // Bounded, so a regression fails instead of hanging the suite.
    let finished = done_rx.recv_timeout(Duration::from_secs(30));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(finished, Ok(true), "the write to the other file waited");

    let mut conn = main.store().connection().unwrap();
    assert!(
        tokens::get_by_serial(&mut conn, "WRITER01")
            .unwrap()
            .is_some()
    );
    let mut conn = audit_like.store().connection().unwrap();
    assert!(
        tokens::get_by_serial(&mut conn, "HOLDER01")
            .unwrap()
            .is_some()
    );
}
