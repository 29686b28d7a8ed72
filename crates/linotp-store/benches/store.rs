//! Token lookups and the counter compare-and-set on SQLite, with 1,000 and 100,000 tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use linotp_store::tokens::{self, CounterCommit, Token};
use linotp_store::{PoolOptions, Store, write_transaction};

const SIZES: [usize; 2] = [1_000, 100_000];
const RESOLVER_CLASS: &str = "useridresolver.SQLIdResolver.IdResolver.bench";

fn serial(i: usize) -> String {
    format!("BENCH{i:08}")
}

/// Two tokens per user, so a user lookup returns two rows.
fn user_id(i: usize) -> String {
    format!("user{:08}", i / 2)
}

/// A migrated SQLite database with `size` tokens, inserted in one transaction.
fn database(size: usize) -> (tempfile::TempDir, Store, Vec<i32>) {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("bench.db").display());
    let store = Store::open(
        &linotp_store::DatabaseUri::parse(&uri).unwrap(),
        PoolOptions::default(),
    )
    .unwrap();
    store.migrate().unwrap();
    let mut conn = store.connection().unwrap();
    let ids = write_transaction(&mut conn, |conn| {
        (0..size)
            .map(|i| {
                let token = Token {
                    user_id: user_id(i),
                    id_resolver: "SQLIdResolver.IdResolver.bench".into(),
                    id_res_class: RESOLVER_CLASS.into(),
                    token_info: "{\n\"hashlib\": \"sha1\"\n}".into(),
                    key_enc: "00".repeat(48),
                    key_iv: "00".repeat(16),
                    ..Token::new(&serial(i), "HMAC")
                };
                tokens::insert(conn, &token).map(|t| t.id)
            })
            .collect::<Result<Vec<i32>, _>>()
    })
    .unwrap();
    (dir, store, ids)
}

/// Visits indexes in a scattered order so lookups do not walk the B-tree sequentially.
fn scattered(step: usize, size: usize) -> usize {
    (step.wrapping_mul(7919)) % size
}

fn benches(c: &mut Criterion) {
    for size in SIZES {
        let (_dir, store, ids) = database(size);
        let mut conn = store.connection().unwrap();

        let mut group = c.benchmark_group("sqlite");
        let mut step = 0usize;
        group.bench_with_input(
            BenchmarkId::new("lookup_by_serial", size),
            &size,
            |b, &size| {
                b.iter(|| {
                    step += 1;
                    let found =
                        tokens::get_by_serial(&mut conn, &serial(scattered(step, size))).unwrap();
                    black_box(found.unwrap());
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("lookup_by_user", size),
            &size,
            |b, &size| {
                b.iter(|| {
                    step += 1;
                    let found = tokens::find_by_user(
                        &mut conn,
                        &user_id(scattered(step, size)),
                        RESOLVER_CLASS,
                    )
                    .unwrap();
                    assert_eq!(found.len(), 2);
                    black_box(found);
                })
            },
        );
        let mut counts = vec![0i32; size];
        group.bench_with_input(BenchmarkId::new("counter_cas", size), &size, |b, &size| {
            b.iter(|| {
                step += 1;
                let index = scattered(step, size);
                let commit = CounterCommit {
                    token_id: ids[index],
                    expected_count: counts[index],
                    new_count: counts[index] + 1,
                    new_fail_count: 0,
                    new_token_info: None,
                    last_auth_success: None,
                    last_auth_match: None,
                };
                assert!(tokens::commit_counter(&mut conn, &commit).unwrap());
                counts[index] += 1;
            })
        });
        group.finish();
    }
}

/// Eight threads committing counters at once, as concurrent `/validate/check` requests do: each
/// commit alone (one fsync each, writers queued) against SQLite's group commit (one fsync per
/// batch). Time per commit, all threads together.
fn concurrent_commits(c: &mut Criterion) {
    // Within the pool's 10 connections: each thread holds one throughout.
    const THREADS: usize = 8;
    let (_dir, store, ids) = database(1_000);
    let mut group = c.benchmark_group("sqlite_8_threads_counter_commit");
    for grouped in [false, true] {
        let name = if grouped {
            "group_commit"
        } else {
            "one_commit_each"
        };
        let counts: Vec<std::sync::Arc<std::sync::atomic::AtomicI32>> = (0..THREADS)
            .map(|_| std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0)))
            .collect();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let per_thread = iters.div_ceil(THREADS as u64);
                let start = std::time::Instant::now();
                std::thread::scope(|scope| {
                    for (thread, count) in counts.iter().enumerate() {
                        let store = store.clone();
                        // Each variant counts on tokens of its own.
                        let token_id = ids[thread + if grouped { THREADS } else { 0 }];
                        scope.spawn(move || {
                            let mut conn = store.connection().unwrap();
                            for _ in 0..per_thread {
                                let expected = count.load(std::sync::atomic::Ordering::Relaxed);
                                let commit = CounterCommit {
                                    token_id,
                                    expected_count: expected,
                                    new_count: expected + 1,
                                    new_fail_count: 0,
                                    new_token_info: None,
                                    last_auth_success: None,
                                    last_auth_match: None,
                                };
                                let won = if grouped {
                                    store.write_grouped(&mut conn, move |conn| {
                                        tokens::commit_counter(conn, &commit)
                                    })
                                } else {
                                    write_transaction(&mut conn, |conn| {
                                        tokens::commit_counter(conn, &commit)
                                    })
                                };
                                assert!(won.unwrap());
                                count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(store_benches, benches, concurrent_commits);
criterion_main!(store_benches);
