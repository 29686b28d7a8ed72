//! The audit log as the services see it: one [`AuditEvent`] per request, handed to a
//! background writer that signs and stores rows in batches (off the request's critical path).

use tokio::sync::mpsc;

/// What one request did, in LinOTP's audit vocabulary (column names of the `audit` table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEvent {
    /// `action`: the path without the leading `/`, e.g. `validate/check`.
    pub action: String,
    /// `success`.
    pub success: bool,
    /// `serial`.
    pub serial: String,
    /// `tokentype`.
    pub token_type: String,
    /// `user`: the login name.
    pub user: String,
    /// `realm`.
    pub realm: String,
    /// `administrator`: `login@realm` of the admin, empty for /validate.
    pub administrator: String,
    /// `action_detail`.
    pub action_detail: String,
    /// `info`.
    pub info: String,
    /// `client`: the client's IP address.
    pub client: String,
}

/// Sends audit events to the writer. Cloning shares the writer.
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    sender: Option<mpsc::Sender<AuditEvent>>,
}

impl AuditLog {
    /// No audit log (`AUDIT_DATABASE_URI = OFF`): events are dropped.
    pub fn disabled() -> AuditLog {
        AuditLog { sender: None }
    }

    /// A log feeding the given writer queue.
    pub fn from_sender(sender: mpsc::Sender<AuditEvent>) -> AuditLog {
        AuditLog {
            sender: Some(sender),
        }
    }

    /// Whether events are recorded at all.
    pub fn is_enabled(&self) -> bool {
        self.sender.is_some()
    }

    /// Queues an event. Waits while the writer's queue is full rather than dropping rows: a
    /// slow database slows requests down but never loses audit records.
    pub async fn record(&self, event: AuditEvent) {
        if let Some(sender) = &self.sender
            && sender.send(event).await.is_err()
        {
            tracing::error!("audit writer stopped; an audit event was lost");
        }
    }
}
