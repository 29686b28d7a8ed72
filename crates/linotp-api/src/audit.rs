//! The audit log: one [`AuditEvent`] per request, stored in LinOTP's `audit` table by a
//! background writer, signed the way LinOTP signs rows, and searched by `/audit/search`.
//!
//! # Signing off the request path
//!
//! LinOTP inserts and RSA-signs every row inside the request. An RSA-2048 signature costs about
//! 0.65 ms of one core here even with `ring`, so a server answering thousands of checks per
//! second cannot sign in step with them on two cores. The work is therefore split in three:
//!
//! 1. [`AuditLog::record`] only queues the event (a bounded channel: when the database falls
//!    behind, requests wait for room instead of dropping rows).
//! 2. The **writer** thread drains the queue in batches of up to 256 rows, one transaction
//!    each, and stores every row with a *pending mark* in its `signature` column: an
//!    HMAC-SHA256 of LinOTP's signed text under a key derived from the private audit key
//!    ([`AuditSigner::pending_mark`], microseconds per row).
//! 3. The **signer** thread, at the lowest CPU priority, replaces pending marks by real
//!    signatures, oldest first, after checking each mark (a row changed in the database
//!    meanwhile keeps its mark and fails `sig_check`). It works when the CPU is idle, so
//!    after a burst the signatures catch up; its results go back through the writer, which
//!    is the only thread that writes. The pending rows live in the database, not in memory:
//!    the backlog costs no RAM, survives a restart, and any node with the audit key signs
//!    the rows of any other (the update is a compare-and-set on the mark).
//!
//! On shutdown the writer stores everything still queued, then spends up to a grace period
//! signing what is pending itself; what remains is signed after the next start.
//! `/audit/search` reports `sig_check` `OK` for a valid RSA signature (LinOTP's rows and
//! ours) and for a valid pending mark (the row is authentic; its signature is on the way).

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use linotp_crypto::audit::{PENDING_MARK_PREFIX, is_pending_mark};
use linotp_crypto::{AuditRecord, AuditSigner, AuditVerifier};
use linotp_store::audit::{self as audit_rows, AuditColumn, AuditEntry, AuditQuery, NewAuditEntry};
use linotp_store::diesel::prelude::*;
use linotp_store::schema::audit as audit_table;
use linotp_store::{AnyConnection, PooledConnection, Store, StoreError, write_transaction};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::auth::AdminIdentity;
use crate::error::{ApiError, Result};
use crate::params::{Params, parse_python_int};
use crate::pyfmt::{JsonStyle, python_json};
use crate::reply::{JSON_CONTENT_TYPE, JsonReply, LinotpShaped};

/// What one request did, in LinOTP's audit vocabulary (column names of the `audit` table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEvent {
    /// `action`: the path without the leading `/`, e.g. `validate/check`.
    pub action: String,
    /// `success`.
    pub success: bool,
    /// `serial`; a comma list becomes one row per serial, as in LinOTP.
    pub serial: String,
    /// `tokentype`.
    pub token_type: String,
    /// `user`: the login name.
    pub user: String,
    /// `realm`.
    pub realm: String,
    /// `administrator`: `login@realm (resolver)` of the admin, empty for /validate.
    pub administrator: String,
    /// `action_detail`.
    pub action_detail: String,
    /// `info`.
    pub info: String,
    /// `client`: the client's IP address.
    pub client: String,
}

impl AuditEvent {
    /// An event for `action` (a request path; the leading `/` is dropped), not yet successful.
    pub fn new(action: &str) -> AuditEvent {
        AuditEvent {
            action: action.trim_start_matches('/').to_owned(),
            ..AuditEvent::default()
        }
    }

    /// How LinOTP writes an admin into the `administrator` column (`str(User)`):
    /// `admin@linotp_admins (LinOTP_local_admins)`.
    pub fn administrator_of(identity: &AdminIdentity) -> String {
        let resolver = identity
            .resolver
            .rsplit('.')
            .next()
            .unwrap_or(identity.resolver.as_str());
        format!("{}@{} ({resolver})", identity.username, identity.realm)
    }
}

/// Default capacity of the writer's queue (events waiting to be stored).
pub const DEFAULT_QUEUE_CAPACITY: usize = 8192;
/// Default number of rows stored per transaction.
pub const DEFAULT_BATCH_SIZE: usize = 256;
/// How long the writer waits for more rows before it stores a batch.
const BATCH_LINGER: Duration = Duration::from_millis(5);
/// Polling step while lingering (the writer thread is synchronous).
const LINGER_POLL: Duration = Duration::from_micros(500);
/// Pending rows the signer loads and signs at a time.
const SIGNING_CHUNK: i64 = 64;
/// How long a searcher waits for the writer to store the events queued before the search.
const FLUSH_WAIT: Duration = Duration::from_secs(10);

/// Sends audit events to the writer. Cloning shares the writer.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    sink: Sink,
    reader: Option<Arc<AuditReader>>,
}

#[derive(Debug, Clone, Default)]
enum Sink {
    #[default]
    Disabled,
    Events(mpsc::Sender<AuditEvent>),
    Writer(mpsc::Sender<WriterMessage>),
}

impl AuditLog {
    /// No audit log (`AUDIT_DATABASE_URI = OFF`): events are dropped.
    pub fn disabled() -> AuditLog {
        AuditLog::default()
    }

    /// A log feeding the given queue (tests read the events from its receiver).
    pub fn from_sender(sender: mpsc::Sender<AuditEvent>) -> AuditLog {
        AuditLog {
            sink: Sink::Events(sender),
            reader: None,
        }
    }

    /// Whether events are recorded at all.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.sink, Sink::Disabled)
    }

    /// Queues an event. Waits while the writer's queue is full rather than dropping rows: a
    /// slow database slows requests down but never loses audit records.
    pub async fn record(&self, event: AuditEvent) {
        let delivered = match &self.sink {
            Sink::Disabled => true,
            Sink::Events(sender) => sender.send(event).await.is_ok(),
            Sink::Writer(sender) => sender
                .send(WriterMessage::Event {
                    event,
                    timestamp: audit_timestamp(chrono::Utc::now()),
                })
                .await
                .is_ok(),
        };
        if !delivered {
            tracing::error!("audit writer stopped; an audit event was lost");
        }
    }

    /// Waits until every event recorded before this call is stored (not necessarily
    /// signed), so a search sees them as LinOTP's synchronous log would. Returns false when
    /// the writer did not confirm in time.
    pub async fn flush(&self) -> bool {
        let Sink::Writer(sender) = &self.sink else {
            return true;
        };
        let (done, stored) = oneshot::channel();
        if sender.send(WriterMessage::Flush(done)).await.is_err() {
            return false;
        }
        matches!(tokio::time::timeout(FLUSH_WAIT, stored).await, Ok(Ok(())))
    }

    /// The search side of the log (`None` when the audit log is off).
    pub fn reader(&self) -> Option<&Arc<AuditReader>> {
        self.reader.as_ref()
    }

    /// Searches the stored trail once the rows of requests answered before are stored, as
    /// LinOTP's synchronous log would have them; an empty page when the log is off.
    pub async fn search_stored(&self, search: AuditSearch) -> Result<AuditPage> {
        let Some(reader) = self.reader() else {
            return Ok(AuditPage::empty(search.page_number));
        };
        if !self.flush().await {
            tracing::warn!("audit search: the audit writer did not confirm in time");
        }
        reader.search(search).await
    }
}

/// Settings of the background writer.
#[derive(Debug, Clone)]
pub struct AuditWriterOptions {
    /// `linotp_server` of every row (this node's host name).
    pub server_name: String,
    /// Events that may wait in the queue before `record` waits for room.
    pub queue_capacity: usize,
    /// Rows stored per transaction.
    pub batch_size: usize,
    /// `AUDIT_ERROR_ON_TRUNCATION`: over-long values are logged as errors (they are still
    /// stored truncated: the request that caused them has already been answered).
    pub error_on_truncation: bool,
    /// Run the signer thread (off only in tests that look at pending rows).
    pub background_signing: bool,
}

impl Default for AuditWriterOptions {
    fn default() -> Self {
        AuditWriterOptions {
            server_name: "localhost".to_owned(),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            batch_size: DEFAULT_BATCH_SIZE,
            error_on_truncation: false,
            background_signing: true,
        }
    }
}

/// What the writer did, reported when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterReport {
    /// Rows stored.
    pub rows_written: u64,
    /// Pending marks replaced by signatures (by either thread).
    pub rows_signed: u64,
    /// Rows that could not be stored before the shutdown deadline.
    pub rows_lost: u64,
    /// Rows still pending when the writer stopped (signed after the next start).
    pub rows_left_pending: u64,
}

/// The running audit writer and signer. Stop it with [`AuditWriter::shutdown`] after the
/// server stopped taking requests.
#[derive(Debug)]
pub struct AuditWriter {
    log: AuditLog,
    sender: mpsc::Sender<WriterMessage>,
    shared: Arc<SignerShared>,
    writer: Option<JoinHandle<WriterReport>>,
    signer: Option<JoinHandle<()>>,
}

impl AuditWriter {
    /// Starts the writer (and the background signer) on `store`, the database holding the
    /// `audit` table. `verifier` checks signatures for searches (LinOTP's public key file).
    pub fn start(
        store: Store,
        signer: Arc<AuditSigner>,
        verifier: AuditVerifier,
        options: AuditWriterOptions,
    ) -> Result<AuditWriter> {
        let newest = {
            let mut conn = store.connection()?;
            audit_rows::max_id(&mut conn)?.unwrap_or(0)
        };
        let (sender, receiver) = mpsc::channel(options.queue_capacity.max(1));
        let shared = Arc::new(SignerShared::new(newest));
        let signer_thread = if options.background_signing {
            let store = store.clone();
            let signer = Arc::clone(&signer);
            let results = sender.clone();
            let shared = Arc::clone(&shared);
            Some(
                std::thread::Builder::new()
                    .name("audit-signer".to_owned())
                    .spawn(move || run_signer(&store, &signer, &results, &shared))?,
            )
        } else {
            None
        };
        let context = WriterContext {
            store: store.clone(),
            signer: Arc::clone(&signer),
            options,
            shared: Arc::clone(&shared),
        };
        let writer_thread = std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || context.run(receiver))?;
        let log = AuditLog {
            sink: Sink::Writer(sender.clone()),
            reader: Some(Arc::new(AuditReader {
                store,
                verifier,
                signer,
            })),
        };
        Ok(AuditWriter {
            log,
            sender,
            shared,
            writer: Some(writer_thread),
            signer: signer_thread,
        })
    }

    /// The log handle the application records into.
    pub fn log(&self) -> AuditLog {
        self.log.clone()
    }

    /// Stores everything queued so far, signs pending rows for up to `signing_grace`, and
    /// stops both threads. Call it once no request can record any more.
    pub async fn shutdown(mut self, signing_grace: Duration) -> WriterReport {
        // A writer stuck retrying a dead database stops retrying after the grace period.
        self.shared.set_give_up_at(Instant::now() + signing_grace);
        let (reply, report) = oneshot::channel();
        let sent = self
            .sender
            .send(WriterMessage::Shutdown {
                signing_grace,
                reply,
            })
            .await
            .is_ok();
        let report = if sent {
            report.await.unwrap_or_default()
        } else {
            WriterReport::default()
        };
        let writer = self.writer.take();
        let signer = self.signer.take();
        let joined = tokio::task::spawn_blocking(move || {
            let report = writer.and_then(|thread| thread.join().ok());
            if let Some(thread) = signer {
                let _ = thread.join();
            }
            report
        })
        .await
        .ok()
        .flatten();
        let report = joined.unwrap_or(report);
        tracing::info!(
            written = report.rows_written,
            signed = report.rows_signed,
            lost = report.rows_lost,
            pending = report.rows_left_pending,
            "audit writer stopped"
        );
        report
    }
}

// Nearly every message is an event, so boxing the large variant would only add an
// allocation per request.
#[allow(clippy::large_enum_variant)]
enum WriterMessage {
    Event {
        event: AuditEvent,
        timestamp: String,
    },
    Signed(Vec<SignedRow>),
    Flush(oneshot::Sender<()>),
    Shutdown {
        signing_grace: Duration,
        reply: oneshot::Sender<WriterReport>,
    },
}

impl fmt::Debug for WriterMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriterMessage::Event { event, .. } => f.debug_tuple("Event").field(event).finish(),
            WriterMessage::Signed(rows) => f.debug_tuple("Signed").field(&rows.len()).finish(),
            WriterMessage::Flush(_) => f.write_str("Flush"),
            WriterMessage::Shutdown { signing_grace, .. } => f
                .debug_struct("Shutdown")
                .field("signing_grace", signing_grace)
                .finish(),
        }
    }
}

/// A signature replacing a pending mark (the update only applies while the mark is there).
#[derive(Debug, Clone)]
struct SignedRow {
    id: i32,
    mark: String,
    signature: String,
}

/// `timestamp` column text: UTC ISO-8601 with milliseconds, as LinOTP writes it.
pub fn audit_timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// The rows one event becomes: one per serial of a comma list (LinOTP's `Audit.log`).
pub fn rows_for_event(
    event: &AuditEvent,
    timestamp: &str,
    server_name: &str,
) -> Vec<NewAuditEntry> {
    let row = |serial: &str| NewAuditEntry {
        timestamp: timestamp.to_owned(),
        action: event.action.trim_start_matches('/').to_owned(),
        success: if event.success { "1" } else { "0" }.to_owned(),
        serial: serial.to_owned(),
        tokentype: event.token_type.clone(),
        user: event.user.clone(),
        realm: event.realm.clone(),
        administrator: event.administrator.clone(),
        action_detail: event.action_detail.clone(),
        info: event.info.clone(),
        linotp_server: server_name.to_owned(),
        client: event.client.clone(),
        log_level: "INFO".to_owned(),
        clearance_level: 0,
    };
    if event.serial.is_empty() {
        vec![row("")]
    } else {
        event.serial.split(',').map(row).collect()
    }
}

/// The text LinOTP signs and verifies for a stored row: its values with NULL read as `""`
/// (LinOTP replaces `None` before verifying), except `administrator`, which LinOTP formats
/// with `repr()` first (NULL becomes `None`).
pub fn signed_record(row: &AuditEntry) -> AuditRecord {
    let text = |value: &Option<String>| Some(value.clone().unwrap_or_default());
    AuditRecord {
        id: i64::from(row.id),
        timestamp: Some(row.timestamp.clone().unwrap_or_else(|| "None".to_owned())),
        action: text(&row.action),
        success: text(&row.success),
        serial: text(&row.serial),
        tokentype: text(&row.tokentype),
        user: text(&row.user),
        realm: text(&row.realm),
        administrator: row.administrator.clone(),
        action_detail: text(&row.action_detail),
        info: text(&row.info),
        linotp_server: text(&row.linotp_server),
        client: text(&row.client),
        log_level: text(&row.log_level),
        clearance_level: row.clearance_level.map(i64::from),
    }
}

// ---------------------------------------------------------------------------------------------
// writer

#[derive(Debug)]
struct SignerState {
    newest: i32,
    stopping: bool,
    /// Set by [`AuditWriter::shutdown`]: retries of a failing database end here, so a dead
    /// database cannot hold the process forever.
    give_up_at: Option<Instant>,
}

/// What the writer tells the signer: the newest stored id, and when to stop.
#[derive(Debug)]
struct SignerShared {
    state: Mutex<SignerState>,
    wake: Condvar,
}

impl SignerShared {
    fn new(newest: i32) -> SignerShared {
        SignerShared {
            state: Mutex::new(SignerState {
                newest,
                stopping: false,
                give_up_at: None,
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SignerState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn advance(&self, newest: i32) {
        let mut state = self.lock();
        if newest > state.newest {
            state.newest = newest;
            self.wake.notify_all();
        }
    }

    fn stop(&self) {
        self.lock().stopping = true;
        self.wake.notify_all();
    }

    fn give_up_at(&self) -> Option<Instant> {
        self.lock().give_up_at
    }

    fn set_give_up_at(&self, at: Instant) {
        self.lock().give_up_at = Some(at);
    }

    /// The newest id, or `None` once stopping.
    fn snapshot(&self) -> Option<i32> {
        let state = self.lock();
        (!state.stopping).then_some(state.newest)
    }

    /// Sleeps until a row newer than `seen` exists, the signer must stop, or `timeout` passed.
    fn wait_for_newer(&self, seen: i32, timeout: Duration) {
        let state = self.lock();
        let _ = self
            .wake
            .wait_timeout_while(state, timeout, |state| {
                !state.stopping && state.newest <= seen
            })
            .map(|(guard, _)| drop(guard));
    }
}

struct WriterContext {
    store: Store,
    signer: Arc<AuditSigner>,
    options: AuditWriterOptions,
    shared: Arc<SignerShared>,
}

/// Messages taken from the queue for one round of the writer.
#[derive(Default)]
struct Round {
    events: Vec<(AuditEvent, String)>,
    signed: Vec<SignedRow>,
    flushes: Vec<oneshot::Sender<()>>,
    shutdown: Option<(Duration, oneshot::Sender<WriterReport>)>,
}

impl Round {
    fn take(&mut self, message: WriterMessage) {
        match message {
            WriterMessage::Event { event, timestamp } => self.events.push((event, timestamp)),
            WriterMessage::Signed(rows) => self.signed.extend(rows),
            WriterMessage::Flush(done) => self.flushes.push(done),
            WriterMessage::Shutdown {
                signing_grace,
                reply,
            } => self.shutdown = Some((signing_grace, reply)),
        }
    }
}

impl WriterContext {
    fn run(self, mut receiver: mpsc::Receiver<WriterMessage>) -> WriterReport {
        let mut conn = None;
        let mut report = WriterReport::default();
        while let Some(first) = receiver.blocking_recv() {
            let mut round = Round::default();
            round.take(first);
            // Linger briefly for more rows: one transaction (one commit, one sync) for many
            // rows costs a fraction of one per row. A searcher or the shutdown does not wait.
            let linger_until = Instant::now() + BATCH_LINGER;
            while round.events.len() < self.options.batch_size
                && round.shutdown.is_none()
                && round.flushes.is_empty()
            {
                match receiver.try_recv() {
                    Ok(message) => round.take(message),
                    Err(mpsc::error::TryRecvError::Empty) if Instant::now() < linger_until => {
                        std::thread::sleep(LINGER_POLL);
                    }
                    Err(_) => break,
                }
            }
            self.persist(&mut conn, &mut round, &mut report, None);
            for done in round.flushes.drain(..) {
                let _ = done.send(());
            }
            if let Some((grace, reply)) = round.shutdown.take() {
                self.finish(&mut receiver, &mut conn, grace, &mut report);
                let _ = reply.send(report);
                return report;
            }
        }
        // Every sender is gone without a shutdown message: nothing more can arrive.
        self.shared.stop();
        report
    }

    /// Stores the round's events (retrying until it works, or until `deadline`) and the
    /// signatures the signer sent.
    fn persist(
        &self,
        conn: &mut Option<PooledConnection>,
        round: &mut Round,
        report: &mut WriterReport,
        deadline: Option<Instant>,
    ) {
        if !round.events.is_empty() {
            let entries = self.entries_of(&round.events);
            let mut delay = Duration::from_millis(100);
            loop {
                match self.insert(conn, &entries) {
                    Ok(newest) => {
                        report.rows_written += entries.len() as u64;
                        if let Some(newest) = newest {
                            self.shared.advance(newest);
                        }
                        break;
                    }
                    Err(error) => {
                        *conn = None;
                        let deadline = deadline.or_else(|| self.shared.give_up_at());
                        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                            tracing::error!(
                                %error,
                                rows = entries.len(),
                                "audit rows could not be stored before shutdown; they are lost"
                            );
                            report.rows_lost += entries.len() as u64;
                            break;
                        }
                        tracing::error!(
                            %error,
                            rows = entries.len(),
                            retry_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            "storing audit rows failed; retrying"
                        );
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
            round.events.clear();
        }
        if !round.signed.is_empty() {
            match self.store_signatures(conn, &round.signed) {
                Ok(stored) => report.rows_signed += stored as u64,
                Err(error) => {
                    *conn = None;
                    // The marks stay; the next start signs those rows.
                    tracing::warn!(%error, rows = round.signed.len(), "storing audit signatures failed");
                }
            }
            round.signed.clear();
        }
    }

    fn entries_of(&self, events: &[(AuditEvent, String)]) -> Vec<NewAuditEntry> {
        let mut entries = Vec::with_capacity(events.len());
        for (event, timestamp) in events {
            for mut entry in rows_for_event(event, timestamp, &self.options.server_name) {
                let cut = entry.truncate_to_columns();
                if !cut.is_empty() {
                    if self.options.error_on_truncation {
                        tracing::error!(columns = ?cut, action = %entry.action, "audit data too long; stored truncated");
                    } else {
                        tracing::warn!(columns = ?cut, action = %entry.action, "truncating audit data");
                    }
                }
                entries.push(entry);
            }
        }
        entries
    }

    fn connection<'a>(
        &self,
        conn: &'a mut Option<PooledConnection>,
    ) -> Result<&'a mut PooledConnection> {
        if conn.is_none() {
            let mut fresh = self.store.connection()?;
            relax_sync(&mut fresh);
            *conn = Some(fresh);
        }
        conn.as_mut()
            .ok_or_else(|| ApiError::Internal("no audit database connection".to_owned()))
    }

    /// Inserts rows with pending marks; returns the newest id.
    fn insert(
        &self,
        conn: &mut Option<PooledConnection>,
        entries: &[NewAuditEntry],
    ) -> Result<Option<i32>> {
        let conn = self.connection(conn)?;
        let stored = audit_rows::insert_batch(conn, entries, |row| {
            self.signer.pending_mark(&signed_record(row))
        })?;
        Ok(stored.iter().map(|row| row.id).max())
    }

    fn store_signatures(
        &self,
        conn: &mut Option<PooledConnection>,
        rows: &[SignedRow],
    ) -> Result<usize> {
        let conn = self.connection(conn)?;
        Ok(replace_marks(conn, rows)?)
    }

    /// After the shutdown message: store what is still queued, then sign pending rows,
    /// newest first (the signer works from the oldest), until none are left or the grace
    /// period is over.
    fn finish(
        &self,
        receiver: &mut mpsc::Receiver<WriterMessage>,
        conn: &mut Option<PooledConnection>,
        grace: Duration,
        report: &mut WriterReport,
    ) {
        let deadline = Instant::now() + grace;
        let mut below = i32::MAX;
        loop {
            let mut round = Round::default();
            while let Ok(message) = receiver.try_recv() {
                round.take(message);
            }
            self.persist(conn, &mut round, report, Some(deadline));
            for done in round.flushes.drain(..) {
                let _ = done.send(());
            }
            if Instant::now() >= deadline {
                break;
            }
            let rows = match self
                .connection(conn)
                .and_then(|conn| Ok(pending_rows(conn, below, Direction::Older)?))
            {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::warn!(%error, "reading pending audit rows failed");
                    break;
                }
            };
            let Some(oldest) = rows.last().map(|row| row.id) else {
                break;
            };
            below = oldest;
            round.signed = sign_rows(&self.signer, &rows);
            self.persist(conn, &mut round, report, Some(deadline));
        }
        self.shared.stop();
        // Whatever the signer still sends is stored once more before the queue closes.
        let mut round = Round::default();
        while let Ok(message) = receiver.try_recv() {
            round.take(message);
        }
        self.persist(conn, &mut round, report, Some(deadline));
        receiver.close();
        report.rows_left_pending = self
            .connection(conn)
            .and_then(|conn| Ok(count_pending(conn)?))
            .unwrap_or(0);
    }
}

/// On SQLite, the writer's connection commits without waiting for the disk
/// (`synchronous = NORMAL`, safe with WAL: a power cut can lose the last commits, never
/// corrupt the file). Rows not yet committed are lost in such a cut anyway, being queued in
/// memory; this only widens that window by milliseconds, and it keeps the writer from
/// spending its time in `fsync`.
fn relax_sync(conn: &mut AnyConnection) {
    use linotp_store::diesel::connection::SimpleConnection;
    if matches!(conn, AnyConnection::Sqlite(_))
        && let Err(error) = conn.batch_execute("PRAGMA synchronous = NORMAL")
    {
        tracing::debug!(%error, "audit connection keeps synchronous = FULL");
    }
}

// ---------------------------------------------------------------------------------------------
// signer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// Ids above the bound, ascending.
    Newer,
    /// Ids below the bound, descending.
    Older,
}

/// Up to [`SIGNING_CHUNK`] rows still carrying a pending mark, next to `bound`.
fn pending_rows(
    conn: &mut AnyConnection,
    bound: i32,
    direction: Direction,
) -> std::result::Result<Vec<AuditEntry>, StoreError> {
    let pattern = format!("{PENDING_MARK_PREFIX}%");
    let query = audit_table::table
        .filter(audit_table::signature.like(pattern))
        .select(AuditEntry::as_select())
        .limit(SIGNING_CHUNK)
        .into_boxed();
    let query = match direction {
        Direction::Newer => query
            .filter(audit_table::id.gt(bound))
            .order_by(audit_table::id.asc()),
        Direction::Older => query
            .filter(audit_table::id.lt(bound))
            .order_by(audit_table::id.desc()),
    };
    Ok(query.load(conn)?)
}

fn count_pending(conn: &mut AnyConnection) -> std::result::Result<u64, StoreError> {
    let pattern = format!("{PENDING_MARK_PREFIX}%");
    let pending: i64 = audit_table::table
        .filter(audit_table::signature.like(pattern))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(pending).unwrap_or(0))
}

/// Replaces pending marks by signatures where the mark is still in place.
fn replace_marks(
    conn: &mut AnyConnection,
    rows: &[SignedRow],
) -> std::result::Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let mut replaced = 0;
        for row in rows {
            replaced += linotp_store::diesel::update(
                audit_table::table
                    .filter(audit_table::id.eq(row.id))
                    .filter(audit_table::signature.eq(&row.mark)),
            )
            .set(audit_table::signature.eq(&row.signature))
            .execute(conn)?;
        }
        Ok(replaced)
    })
}

/// Signs rows whose pending mark is intact; rows changed since they were stored keep their
/// mark (and so fail `sig_check`).
fn sign_rows(signer: &AuditSigner, rows: &[AuditEntry]) -> Vec<SignedRow> {
    let mut signed = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(mark) = row.signature.as_deref() else {
            continue;
        };
        let record = signed_record(row);
        if !signer.verify_pending_mark(&record, mark) {
            tracing::warn!(
                id = row.id,
                "audit row does not match its pending mark (changed after it was written, or \
                 marked with another key); left unsigned"
            );
            continue;
        }
        match signer.sign_record(&record) {
            Ok(signature) => signed.push(SignedRow {
                id: row.id,
                mark: mark.to_owned(),
                signature,
            }),
            Err(error) => tracing::error!(id = row.id, %error, "signing an audit row failed"),
        }
    }
    signed
}

/// Nice 19: the signer runs on CPU time nothing else wants (Linux sets nice per thread).
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19) {
        tracing::debug!(%error, "cannot lower the audit signer's priority");
    }
}

fn run_signer(
    store: &Store,
    signer: &AuditSigner,
    results: &mpsc::Sender<WriterMessage>,
    shared: &SignerShared,
) {
    lower_thread_priority();
    // Starting at 0 picks up rows a previous run (or another node) left pending.
    let mut cursor = 0;
    let mut conn: Option<PooledConnection> = None;
    while let Some(newest) = shared.snapshot() {
        if conn.is_none() {
            match store.connection() {
                Ok(fresh) => conn = Some(fresh),
                Err(error) => {
                    tracing::warn!(%error, "audit signer has no database connection");
                    shared.wait_for_newer(i32::MAX, Duration::from_secs(1));
                    continue;
                }
            }
        }
        let Some(connection) = conn.as_mut() else {
            continue;
        };
        match pending_rows(connection, cursor, Direction::Newer) {
            Ok(rows) if rows.is_empty() => {
                cursor = cursor.max(newest);
                shared.wait_for_newer(cursor, Duration::from_secs(5));
            }
            Ok(rows) => {
                cursor = rows.last().map_or(cursor, |row| row.id);
                let signed = sign_rows(signer, &rows);
                if !signed.is_empty()
                    && results
                        .blocking_send(WriterMessage::Signed(signed))
                        .is_err()
                {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "audit signer cannot read pending rows");
                conn = None;
                shared.wait_for_newer(i32::MAX, Duration::from_secs(1));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// search

/// The search side: the audit database and the keys that check row signatures.
pub struct AuditReader {
    store: Store,
    verifier: AuditVerifier,
    signer: Arc<AuditSigner>,
}

impl fmt::Debug for AuditReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditReader")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// `sig_check` of a row: `OK` for a valid signature or a valid pending mark.
impl AuditReader {
    /// A reader of `store` checking signatures with `verifier` and pending marks with
    /// `signer`.
    pub fn new(store: Store, verifier: AuditVerifier, signer: Arc<AuditSigner>) -> AuditReader {
        AuditReader {
            store,
            verifier,
            signer,
        }
    }

    /// Whether a stored row's signature (or pending mark) is valid.
    pub fn signature_is_valid(&self, row: &AuditEntry) -> bool {
        let Some(signature) = row.signature.as_deref().filter(|sig| !sig.is_empty()) else {
            return false;
        };
        let record = signed_record(row);
        if is_pending_mark(signature) {
            self.signer.verify_pending_mark(&record, signature)
        } else {
            self.verifier.verify_record(&record, signature)
        }
    }

    /// Runs a search on the blocking pool.
    pub async fn search(self: &Arc<Self>, search: AuditSearch) -> Result<AuditPage> {
        let reader = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = reader.store.connection()?;
            reader.search_blocking(&mut conn, &search)
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "audit search task failed");
            ApiError::Unexpected
        })?
    }

    fn search_blocking(&self, conn: &mut AnyConnection, search: &AuditSearch) -> Result<AuditPage> {
        let (rows, total) = if search.rows_per_page == Some(0) {
            // LinOTP slices `[offset:offset+0]`: no rows, but the total still counts.
            let query = AuditQuery {
                page: None,
                ..search.query.clone()
            };
            let (_, total) = audit_rows::search(
                conn,
                &AuditQuery {
                    page: Some((1, 1)),
                    ..query
                },
            )?;
            (Vec::new(), total)
        } else {
            audit_rows::search(conn, &search.query)?
        };
        let rows = rows
            .iter()
            .map(|row| AuditLine::of(row, self.signature_is_valid(row)))
            .collect();
        Ok(AuditPage {
            page: search.page_number,
            rows,
            total,
        })
    }
}

/// Parameters of `/audit/search` (system-api.md §2), parsed as LinOTP's `AuditQuery` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSearch {
    /// Conditions, sort and paging for the store.
    pub query: AuditQuery,
    /// `page` as echoed in the reply.
    pub page_number: i64,
    /// `rp` when paging (0 gives no rows).
    pub rows_per_page: Option<i64>,
    /// `headers`: each row also carries the column names.
    pub headers: bool,
    /// `outform=csv`.
    pub csv: bool,
}

/// LinOTP's search keys (`_buildCondition`'s mapping); other parameters are not filters.
const SEARCH_KEYS: &[&str] = &[
    "serial",
    "user",
    "realm",
    "action",
    "action_detail",
    "date",
    "number",
    "success",
    "tokentype",
    "administrator",
    "info",
    "linotp_server",
    "client",
    "log_level",
    "clearance_level",
];

/// The reply columns, in order.
pub const AUDIT_COLUMNS: [&str; 17] = [
    "number",
    "date",
    "sig_check",
    "missing_line",
    "action",
    "success",
    "serial",
    "token_type",
    "user",
    "realm",
    "administrator",
    "action_detail",
    "info",
    "linotp_server",
    "client",
    "log_level",
    "clearance_level",
];

fn param_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    }
}

/// Python `int()` of a paging value, with LinOTP's fallback for junk and negatives.
fn paging_int(value: Option<String>, fallback: i64) -> i64 {
    value
        .as_deref()
        .and_then(parse_python_int)
        .filter(|number| *number >= 0)
        .unwrap_or(fallback)
}

impl AuditSearch {
    /// Reads the search from request parameters. `query` without `qtype` fails as in LinOTP
    /// (answered with "audit/search failed").
    pub fn from_params(params: &Params) -> Result<AuditSearch> {
        let text = |name: &str| params.get(name).map(param_text);
        let mut filters: Vec<(String, String)> = Vec::new();
        if let Some(query) = text("query") {
            let qtype = text("qtype").ok_or_else(|| {
                ApiError::Internal("audit/search: 'query' without 'qtype'".to_owned())
            })?;
            if qtype == "extsearch" {
                for part in query.split(';') {
                    let (key, value) = part.split_once('=').unwrap_or((part, ""));
                    filters.push((key.trim().to_owned(), value.trim().to_owned()));
                }
            } else {
                filters.push((qtype, query));
            }
        } else {
            for (name, value) in params.iter() {
                if name != "outform" && name != "delimiter" {
                    filters.push((name.to_owned(), param_text(value)));
                }
            }
        }
        let conditions = filters
            .iter()
            .filter(|(key, value)| !value.is_empty() && SEARCH_KEYS.contains(&key.as_str()))
            .filter_map(|(key, value)| {
                AuditColumn::from_param(key).map(|column| (column, value.clone()))
            })
            .collect();
        let match_any = text("or").is_some_and(|value| value.to_lowercase() == "true");

        let sort = text("sortname")
            .map(|name| name.to_lowercase())
            .filter(|name| SEARCH_KEYS.contains(&name.as_str()))
            .and_then(|name| AuditColumn::from_param(&name))
            .unwrap_or_default();
        let descending = text("sortorder").as_deref() == Some("desc");

        let page_given = params.contains("page");
        let rp_given = params.contains("rp");
        let page_number = if page_given {
            paging_int(text("page"), 1)
        } else {
            1
        };
        let rows_per_page = rp_given.then(|| paging_int(text("rp"), 15));
        let page = (page_given || rp_given).then(|| {
            let size = rows_per_page.unwrap_or(15);
            (
                u32::try_from(page_number.max(1)).unwrap_or(u32::MAX),
                u32::try_from(size.max(1)).unwrap_or(u32::MAX),
            )
        });
        Ok(AuditSearch {
            query: AuditQuery {
                conditions,
                match_any,
                sort,
                descending,
                page,
            },
            page_number,
            rows_per_page,
            headers: params.contains("headers"),
            csv: text("outform").as_deref() == Some("csv"),
        })
    }
}

/// One row as `/audit/search` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditLine {
    /// `number`.
    pub id: i32,
    /// The 17 cells of [`AUDIT_COLUMNS`].
    pub cells: Vec<Value>,
}

impl AuditLine {
    fn of(row: &AuditEntry, signature_ok: bool) -> AuditLine {
        let text = |value: &Option<String>| Value::from(value.clone().unwrap_or_default());
        let administrator = match &row.administrator {
            Some(name) => linotp_crypto::audit::python_repr(name),
            None => "None".to_owned(),
        };
        let cells = vec![
            Value::from(row.id),
            Value::from(row.timestamp.clone().unwrap_or_else(|| "None".to_owned())),
            Value::from(if signature_ok { "OK" } else { "FAIL" }),
            Value::from(""),
            text(&row.action),
            text(&row.success),
            text(&row.serial),
            text(&row.tokentype),
            text(&row.user),
            text(&row.realm),
            Value::from(administrator),
            text(&row.action_detail),
            text(&row.info),
            text(&row.linotp_server),
            text(&row.client),
            text(&row.log_level),
            row.clearance_level.map_or(Value::from(""), Value::from),
        ];
        AuditLine { id: row.id, cells }
    }
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    /// `page` of the reply.
    pub page: i64,
    /// The rows.
    pub rows: Vec<AuditLine>,
    /// Matches in all pages.
    pub total: i64,
}

impl AuditPage {
    /// An empty result (audit log off).
    pub fn empty(page: i64) -> AuditPage {
        AuditPage {
            page,
            rows: Vec::new(),
            total: 0,
        }
    }

    /// LinOTP's hand-built JSON: `{ "page": 1, "rows": [ <row>,  <row> ], "total": 2 }`
    /// with every row as `json.dumps(row, indent=3)`.
    pub fn render_json(&self, headers: bool) -> String {
        let mut out = format!("{{ \"page\": {}, \"rows\": [", self.page);
        for (index, line) in self.rows.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            let mut entry = Map::new();
            entry.insert("id".to_owned(), Value::from(line.id));
            entry.insert("cell".to_owned(), Value::Array(line.cells.clone()));
            if headers {
                entry.insert("data".to_owned(), json!(AUDIT_COLUMNS));
            }
            out.push(' ');
            out.push_str(&python_json(&Value::Object(entry), JsonStyle::PRETTY));
        }
        out.push_str(&format!(" ], \"total\": {} }}", self.total));
        out
    }

    /// LinOTP's CSV: each row's cells as a JSON list without brackets (`"` in texts
    /// replaced by `'`), the header line first when asked for, an empty line at the end.
    pub fn render_csv(&self, headers: bool) -> String {
        let list = |cells: &[Value]| -> String {
            cells
                .iter()
                .map(|cell| match cell {
                    Value::String(text) => {
                        serde_json::to_string(&text.replace('"', "'")).unwrap_or_default()
                    }
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = String::new();
        if headers {
            let names: Vec<Value> = AUDIT_COLUMNS
                .iter()
                .map(|name| Value::from(*name))
                .collect();
            out.push_str(&list(&names));
            out.push('\n');
        }
        for line in &self.rows {
            out.push_str(&list(&line.cells));
            out.push('\n');
        }
        out.push('\n');
        out
    }

    /// The HTTP reply (JSON, or CSV as an attachment).
    pub fn into_response(self, search: &AuditSearch) -> Response {
        let mut response = if search.csv {
            let mut response = self.render_csv(search.headers).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment"),
            );
            response
        } else {
            let mut response = self.render_json(search.headers).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            );
            response
        };
        response.extensions_mut().insert(LinotpShaped);
        response
    }
}

/// The error reply of a failed search (`sendError("audit/search failed", 0)`).
pub fn search_failed() -> JsonReply {
    JsonReply::error(crate::error::codes::NON_LINOTP, "audit/search failed").id(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let at = chrono::DateTime::from_timestamp(1_704_164_645, 678_900_000).unwrap();
        assert_eq!(audit_timestamp(at), "2024-01-02T03:04:05.678+00:00");
    }

    #[test]
    fn comma_separated_serials_become_one_row_each() {
        let event = AuditEvent {
            serial: "A1,B2".to_owned(),
            success: true,
            ..AuditEvent::new("/admin/remove")
        };
        let rows = rows_for_event(&event, "t", "node");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].serial, "A1");
        assert_eq!(rows[1].serial, "B2");
        assert_eq!(rows[0].action, "admin/remove");
        assert_eq!(rows[0].success, "1");
        assert_eq!(rows[0].linotp_server, "node");
        assert_eq!(rows[0].log_level, "INFO");
        assert_eq!(rows_for_event(&AuditEvent::new("x"), "t", "n").len(), 1);
    }

    #[test]
    fn administrator_is_written_like_linotps_user_object() {
        let identity = AdminIdentity {
            username: "admin".into(),
            realm: "linotp_admins".into(),
            resolver: "useridresolver.SQLIdResolver.IdResolver.LinOTP_local_admins".into(),
        };
        assert_eq!(
            AuditEvent::administrator_of(&identity),
            "admin@linotp_admins (LinOTP_local_admins)"
        );
    }

    #[test]
    fn search_parameters_follow_linotps_audit_query() {
        let search = AuditSearch::from_params(&params(&[
            ("serial", "GLDAUD"),
            ("rp", "1"),
            ("page", "2"),
            ("sortorder", "asc"),
            ("session", "ignored"),
            ("action", ""),
        ]))
        .unwrap();
        assert_eq!(
            search.query.conditions,
            vec![(AuditColumn::Serial, "GLDAUD".to_owned())]
        );
        assert_eq!(search.query.page, Some((2, 1)));
        assert_eq!(search.page_number, 2);
        assert!(!search.query.descending);

        let ext = AuditSearch::from_params(&params(&[
            ("query", "serial=X1; action = validate/%"),
            ("qtype", "extsearch"),
            ("sortname", "DATE"),
            ("sortorder", "desc"),
            ("or", "TRUE"),
        ]))
        .unwrap();
        assert_eq!(ext.query.conditions.len(), 2);
        assert_eq!(ext.query.sort, AuditColumn::Timestamp);
        assert!(ext.query.descending && ext.query.match_any);
        assert_eq!(ext.query.page, None);

        let junk_paging =
            AuditSearch::from_params(&params(&[("rp", "x"), ("page", "-3")])).unwrap();
        assert_eq!(junk_paging.query.page, Some((1, 15)));
        assert!(AuditSearch::from_params(&params(&[("query", "x")])).is_err());
        // `id` and `timestamp` are no search keys in LinOTP.
        let ignored =
            AuditSearch::from_params(&params(&[("id", "3"), ("timestamp", "x")])).unwrap();
        assert!(ignored.query.conditions.is_empty());
    }

    fn sample_page() -> AuditPage {
        let row = AuditEntry {
            id: 7,
            timestamp: Some("2026-11-26T10:11:12.839+00:00".into()),
            signature: None,
            action: Some("validate/check".into()),
            success: Some("1".into()),
            serial: Some("S\"1".into()),
            tokentype: Some("HMAC".into()),
            user: Some("jürgen".into()),
            realm: Some("r".into()),
            administrator: Some(String::new()),
            action_detail: None,
            info: Some("ok".into()),
            linotp_server: Some("node".into()),
            client: Some("127.0.0.1".into()),
            log_level: Some("INFO".into()),
            clearance_level: Some(0),
        };
        AuditPage {
            page: 1,
            rows: vec![AuditLine::of(&row, true)],
            total: 1,
        }
    }

    #[test]
    fn json_layout_is_linotps_hand_built_one() {
        let text = sample_page().render_json(false);
        assert!(text.starts_with(
            "{ \"page\": 1, \"rows\": [ {\n   \"id\": 7,\n   \"cell\": [\n      7,\n"
        ));
        assert!(text.ends_with("\n   ]\n} ], \"total\": 1 }"));
        assert!(
            text.contains("\"j\\u00fcrgen\""),
            "ensure_ascii like Python: {text}"
        );
        assert!(text.contains("      \"''\",\n"), "administrator as repr");
        assert_eq!(
            AuditPage::empty(3).render_json(false),
            "{ \"page\": 3, \"rows\": [ ], \"total\": 0 }"
        );
        let parsed: Value = serde_json::from_str(&sample_page().render_json(true)).unwrap();
        assert_eq!(parsed["rows"][0]["data"][2], "sig_check");
        assert_eq!(parsed["rows"][0]["cell"][11], "");
    }

    #[test]
    fn csv_layout_quotes_like_json_without_brackets() {
        let text = sample_page().render_csv(true);
        let mut lines = text.split('\n');
        assert_eq!(
            lines.next().unwrap(),
            "\"number\", \"date\", \"sig_check\", \"missing_line\", \"action\", \"success\", \
             \"serial\", \"token_type\", \"user\", \"realm\", \"administrator\", \
             \"action_detail\", \"info\", \"linotp_server\", \"client\", \"log_level\", \
             \"clearance_level\""
        );
        assert_eq!(
            lines.next().unwrap(),
            "7, \"2026-11-26T10:11:12.839+00:00\", \"OK\", \"\", \"validate/check\", \"1\", \
             \"S'1\", \"HMAC\", \"jürgen\", \"r\", \"''\", \"\", \"ok\", \"node\", \
             \"127.0.0.1\", \"INFO\", 0"
        );
        assert!(text.ends_with("0\n\n"));
    }
}
