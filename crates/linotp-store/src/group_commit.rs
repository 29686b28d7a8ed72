//! Group commit for SQLite: the writes of concurrent requests share one transaction and so
//! one `fsync`.
//!
//! SQLite has one writer at a time and every commit waits for the disk; at a few hundred
//! microseconds per `fsync` that, not the CPU, bounds how many checks per second one node
//! stores. A committer thread with a connection of its own takes every write that is waiting,
//! runs each in a savepoint of one transaction (a failing write rolls back only itself), commits
//! once, and only then answers each caller with its own result. Durability is unchanged:
//! nobody hears "stored" before the commit is on disk. PostgreSQL and MySQL group commits
//! themselves; there the write runs on the caller's connection.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use crate::connection::{AnyConnection, PoolOptions, write_transaction};
use crate::error::{Result, StoreError};
use crate::uri::DatabaseUri;

/// Most writes committed together (bounds the time a write can wait behind others).
const MAX_BATCH: usize = 64;

/// A write to run inside the shared transaction; returns how to tell its caller the outcome.
type Job = Box<dyn FnOnce(&mut AnyConnection) -> Delivery + Send>;
/// Tells a caller its result once the shared commit is known (`Err` text when it failed).
type Delivery = Box<dyn FnOnce(std::result::Result<(), &str>) + Send>;

/// The committer of one SQLite database file.
#[derive(Debug)]
pub(crate) struct GroupCommitter {
    jobs: mpsc::Sender<Job>,
}

impl GroupCommitter {
    /// Starts the committer thread with a connection of its own.
    pub(crate) fn start(uri: &DatabaseUri, options: &PoolOptions) -> Result<GroupCommitter> {
        let conn = AnyConnection::open(uri, options)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let reopen = (uri.clone(), options.clone());
        std::thread::Builder::new()
            .name("sqlite-group-commit".to_owned())
            .spawn(move || commit_loop(conn, &queue, &reopen))
            .map_err(|error| StoreError::GroupCommit(format!("cannot start: {error}")))?;
        Ok(GroupCommitter { jobs })
    }

    /// Runs `body` in the next shared transaction and returns its result after the commit.
    pub(crate) fn write<T, F>(&self, body: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(move |conn| {
            // A savepoint inside the shared transaction.
            let result = write_transaction(conn, body);
            Box::new(move |commit| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(failure) => Err(StoreError::GroupCommit(failure.to_owned())),
                };
                let _ = reply.send(outcome);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::GroupCommit("the committer has stopped".to_owned()))?;
        answer.recv().map_err(|_| {
            StoreError::GroupCommit("the write was abandoned (see the log)".to_owned())
        })?
    }
}

fn commit_loop(
    mut conn: AnyConnection,
    queue: &mpsc::Receiver<Job>,
    reopen: &(DatabaseUri, PoolOptions),
) {
    // Ends when every Store handle (and so every sender) is gone.
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut deliveries: Vec<Delivery> = Vec::with_capacity(batch.len());
        let mut panicked = false;
        let committed = write_transaction(&mut conn, |conn| {
            for job in batch.drain(..) {
                match catch_unwind(AssertUnwindSafe(|| job(conn))) {
                    Ok(delivery) => deliveries.push(delivery),
                    Err(_) => {
                        panicked = true;
                        return Err(StoreError::GroupCommit(
                            "a write in the batch panicked; the batch was rolled back".to_owned(),
                        ));
                    }
                }
            }
            Ok(())
        });
        let failure = committed.err().map(|error| error.to_string());
        if let Some(failure) = &failure {
            tracing::error!(writes = deliveries.len(), %failure, "group commit failed");
        }
        for deliver in deliveries {
            deliver(failure.as_deref().map_or(Ok(()), Err));
        }
        // Writes not run (the transaction could not begin, or one panicked) are dropped: their
        // callers hear that the write was abandoned.
        drop(batch);
        if panicked || failure.is_some() {
            // The transaction state of this connection is unknown now: start afresh.
            match AnyConnection::open(&reopen.0, &reopen.1) {
                Ok(fresh) => conn = fresh,
                Err(error) => tracing::error!(%error, "group commit cannot reconnect"),
            }
        }
    }
}
