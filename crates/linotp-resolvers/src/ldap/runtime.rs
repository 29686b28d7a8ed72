//! The small tokio runtime every LDAP resolver's I/O runs on, and the bridge that lets the
//! synchronous resolver interface wait for it from any thread.

use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::error::{ResolverError, Result};

static RUNTIME: OnceLock<Runtime> = OnceLock::new();
static STARTING: Mutex<()> = Mutex::new(());

/// The shared LDAP runtime (two worker threads named `linotp-ldap`), started on first use.
fn runtime() -> Result<&'static Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let _starting = STARTING.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("linotp-ldap")
        .enable_all()
        .build()
        .map_err(|error| ResolverError::unavailable("ldap", format!("runtime: {error}")))?;
    let _ = RUNTIME.set(runtime);
    RUNTIME
        .get()
        .ok_or_else(|| ResolverError::unavailable("ldap", "runtime did not start"))
}

/// Runs `work` on the LDAP runtime and waits for its result, at most `limit` (the work has
/// its own, tighter timeouts; this is the backstop). Safe from any thread: it blocks on a
/// channel, never on a runtime. A panic inside `work` (ldap3 panics on malformed server
/// replies) ends that task only and comes back as an error.
pub(crate) fn run<T, F>(resolver: &str, limit: Duration, work: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    let task = runtime()?.spawn(async move {
        let _ = sender.send(work.await);
    });
    match receiver.recv_timeout(limit) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            task.abort();
            Err(ResolverError::unavailable(
                resolver,
                format!("no answer within {limit:?}"),
            ))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(ResolverError::backend(
            resolver,
            "the LDAP task failed (malformed server reply?)",
        )),
    }
}
