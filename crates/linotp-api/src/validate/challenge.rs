//! The seam for challenge-response (SMS, e-mail, push, QR, HMAC with the
//! `challenge_response` policy), which needs policies and message providers (next issues).
//!
//! Today no token triggers a challenge (`linotp_core::check_token` never returns
//! `Verdict::Challenge`, and no policy enables it), so there are no open transactions of ours:
//! [`NoChallenges`] answers every lookup with none, which is how LinOTP answers an unknown
//! transaction id. The challenge engine (creating rows with their MAC, delivering them,
//! verifying answers by transaction id) implements [`ChallengeService`] and replaces it.

use linotp_store::AnyConnection;

use crate::error::Result;

/// One open challenge as `/validate/check_status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenChallenge {
    /// The (sub-)transaction id.
    pub transaction_id: String,
    /// Serial of the token that was challenged.
    pub serial: String,
    /// Stored type of that token.
    pub token_type: String,
    /// The challenge text shown to the user.
    pub message: String,
    /// `open` or `closed`.
    pub status: String,
    /// How often an answer was received.
    pub received_count: i32,
    /// Whether an answer was received.
    pub received_tan: bool,
    /// Whether a received answer was right.
    pub valid_tan: bool,
}

/// Challenges by transaction id.
pub trait ChallengeService: Send + Sync + std::fmt::Debug {
    /// The valid (unexpired, MAC-checked) challenges of a transaction: an exact id of the
    /// configured length, or a base id naming all its `<base>.NN` sub-transactions.
    fn transaction(
        &self,
        conn: &mut AnyConnection,
        transaction_id: &str,
    ) -> Result<Vec<OpenChallenge>>;
}

/// No challenge-response yet: every transaction is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoChallenges;

impl ChallengeService for NoChallenges {
    fn transaction(
        &self,
        _conn: &mut AnyConnection,
        _transaction_id: &str,
    ) -> Result<Vec<OpenChallenge>> {
        Ok(Vec::new())
    }
}
