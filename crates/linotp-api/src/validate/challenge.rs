//! Challenge-response: LinOTP's `challenges` table, its transaction ids and integrity MACs.
//!
//! A token that may run challenge-response (policy `challenge_response`) and gets only its
//! PIN triggers a challenge: a row with a fresh transaction id, the message shown to the user
//! and the token's challenge data, protected by an HMAC-SHA256 over LinOTP's own serialisation
//! of the row with encKey slot 2 (validate.md §7). The answer comes with the transaction id
//! (`check` with `transactionid`/`state`, `check_t`), or is polled (`check_status`).
//!
//! Rows are shared with LinOTP byte for byte: the MAC covers the same Python `json.dumps`
//! text, so challenges LinOTP created verify here and ours verify there. A row whose MAC does
//! not match is ignored, as LinOTP ignores it.
//!
//! What a token type does when it is challenged is a [`ChallengeSender`]: HMAC and TOTP tokens
//! only prompt for the OTP their device shows ([`OtpPrompt`]); SMS and e-mail tokens will
//! send their OTP through a provider behind the same trait.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDateTime;
use linotp_core::TokenKind;
use linotp_crypto::SecurityModule;
use linotp_store::challenges::{self, Challenge, ChallengeStatus};
use linotp_store::tokens::Token;
use linotp_store::{AnyConnection, StoreError};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, Result};
use crate::pyfmt::{JsonStyle, python_json};
use crate::sysconfig::SystemConfig;

/// LinOTP's `DefaultChallengeValidityTime` in seconds.
const DEFAULT_VALIDITY_SECS: i64 = 120;
/// How often a new transaction id is drawn when the drawn one exists already.
const TRANSACTION_ID_ATTEMPTS: usize = 100;
/// The layout of challenge timestamps in MACs (`%Y-%m-%d %H:%M:%S`).
const TIMESTAMP_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// What a challenged token shows and keeps (LinOTP's `createChallenge` result).
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeContent {
    /// The text shown to the user (`detail.message`).
    pub message: String,
    /// The token's data kept with the challenge (`bdata`, JSON).
    pub data: Value,
    /// Extra reply attributes (`detail.<key>`), in order.
    pub attributes: Map<String, Value>,
}

/// How a token type answers being challenged (LinOTP's `initChallenge` + `createChallenge`).
pub trait ChallengeSender: Send + Sync + fmt::Debug {
    /// The content of a new challenge with `transaction_id` for `token`, created at the local
    /// time `now`. Delivering it (SMS, e-mail) happens here too; an error aborts the challenge.
    fn create(
        &self,
        token: &Token,
        config: &SystemConfig,
        transaction_id: &str,
        now: NaiveDateTime,
    ) -> Result<ChallengeContent>;
}

/// `<TYPE>_CHALLENGE_PROMPT` of the configuration, or `default`.
fn prompt(config: &SystemConfig, token: &Token, default: &str) -> String {
    let key = format!("{}_CHALLENGE_PROMPT", token.token_type.to_uppercase());
    config.get(&key).unwrap_or(default).to_owned()
}

/// HMAC and TOTP tokens: the challenge only asks for the OTP the device shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct OtpPrompt;

/// The HMAC/TOTP prompt LinOTP shows.
pub const OTP_PROMPT: &str = "Please enter your otp value: ";

impl ChallengeSender for OtpPrompt {
    fn create(
        &self,
        token: &Token,
        config: &SystemConfig,
        _transaction_id: &str,
        now: NaiveDateTime,
    ) -> Result<ChallengeContent> {
        Ok(ChallengeContent {
            message: prompt(config, token, OTP_PROMPT),
            data: json!({"serial": token.serial, "date": now.format(TIMESTAMP_FORMAT).to_string()}),
            attributes: Map::new(),
        })
    }
}

/// Other tokens with both modes (mOTP, pw, DPW): LinOTP's base class prompt.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlainPrompt;

impl ChallengeSender for PlainPrompt {
    fn create(
        &self,
        token: &Token,
        config: &SystemConfig,
        _transaction_id: &str,
        _now: NaiveDateTime,
    ) -> Result<ChallengeContent> {
        Ok(ChallengeContent {
            message: prompt(config, token, "Otp:"),
            data: json!({"serial": token.serial}),
            attributes: Map::new(),
        })
    }
}

/// The sender of a token kind; `None` for kinds that never run challenge-response (spass).
pub fn sender_for(kind: TokenKind) -> Option<&'static dyn ChallengeSender> {
    match kind {
        TokenKind::Hmac | TokenKind::Totp => Some(&OtpPrompt),
        TokenKind::Motp | TokenKind::Password | TokenKind::DayPassword => Some(&PlainPrompt),
        TokenKind::Spass => None,
    }
}

/// Python's `str.capitalize()`.
fn capitalized(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first
            .to_uppercase()
            .chain(characters.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// How long a challenge of `token` stays valid, in seconds: `DefaultChallengeValidityTime`,
/// overridden by `<Type>ChallengeValidityTime` (tried as `Hmac…`, `HMAC…`, `hmac…`), overridden
/// by the token's `challenge_validity_time`. An unreadable number anywhere gives 120, as in
/// LinOTP.
pub fn validity_secs(config: &SystemConfig, token: &Token) -> i64 {
    let read = |text: &str| text.trim().parse::<i64>().ok();
    let mut validity = match config.get("DefaultChallengeValidityTime") {
        Some(text) => match read(text) {
            Some(value) => value,
            None => return DEFAULT_VALIDITY_SECS,
        },
        None => DEFAULT_VALIDITY_SECS,
    };
    let token_type = token.token_type.trim();
    for spelling in [
        capitalized(token_type),
        token_type.to_uppercase(),
        token_type.to_lowercase(),
    ] {
        if let Some(text) = config.get(&format!("{spelling}ChallengeValidityTime")) {
            match read(text) {
                Some(value) => validity = value,
                None => return DEFAULT_VALIDITY_SECS,
            }
        }
    }
    let info = serde_json::from_str::<Map<String, Value>>(&token.token_info).unwrap_or_default();
    match info.get("challenge_validity_time") {
        None => validity,
        Some(Value::Number(number)) => number.as_i64().unwrap_or(DEFAULT_VALIDITY_SECS),
        Some(Value::String(text)) => read(text).unwrap_or(DEFAULT_VALIDITY_SECS),
        Some(_) => DEFAULT_VALIDITY_SECS,
    }
}

/// One row of the `challenges` table with its session parsed.
#[derive(Debug, Clone)]
pub struct StoredChallenge {
    row: Challenge,
    /// The session JSON without its MAC (what the MAC covers).
    session: Map<String, Value>,
    mac: Option<String>,
}

impl StoredChallenge {
    fn new(row: Challenge) -> StoredChallenge {
        let mut session = if row.session.is_empty() {
            None
        } else {
            serde_json::from_str::<Map<String, Value>>(&row.session).ok()
        }
        .unwrap_or_else(|| {
            let mut open = Map::new();
            open.insert("status".to_owned(), Value::from("open"));
            open
        });
        let mac = session
            .remove("mac")
            .and_then(|mac| mac.as_str().map(str::to_owned));
        StoredChallenge { row, session, mac }
    }

    /// The row id.
    pub fn id(&self) -> i32 {
        self.row.id
    }

    /// The (sub-)transaction id.
    pub fn transaction_id(&self) -> &str {
        &self.row.transid
    }

    /// The serial of the challenged token.
    pub fn serial(&self) -> &str {
        &self.row.tokenserial
    }

    /// The challenge text shown to the user.
    pub fn message(&self) -> String {
        match &self.row.bchallenge {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => self.row.challenge.clone(),
        }
    }

    /// `open` or `closed` (LinOTP reads a missing status as open).
    pub fn status(&self) -> &str {
        self.session
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("open")
    }

    /// Whether the challenge still waits for its answer.
    pub fn is_open(&self) -> bool {
        self.status() == "open"
    }

    /// How often an answer was received.
    pub fn received_count(&self) -> i32 {
        self.row.received_count
    }

    /// Whether an answer was received.
    pub fn received_tan(&self) -> bool {
        self.row.received_tan
    }

    /// Whether the received answer was right.
    pub fn valid_tan(&self) -> bool {
        self.row.valid_tan
    }

    /// A boolean kept in the session (`accept` / `reject` of push transactions).
    pub fn session_flag(&self, key: &str) -> Option<&Value> {
        self.session.get(key)
    }

    /// The challenge data as LinOTP's `getData`: parsed JSON, or the text as it is.
    fn data(&self) -> Value {
        let text = self
            .row
            .bdata
            .as_deref()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
            .unwrap_or_else(|| self.row.data.clone());
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    /// The text the MAC covers: Python's `json.dumps` of LinOTP's `get_vars(save=True)`.
    fn mac_message(
        &self,
        received_tan: bool,
        valid_tan: bool,
        session: &Map<String, Value>,
    ) -> Option<String> {
        let timestamp = self.row.timestamp?;
        let vars = json!({
            "id": self.row.id,
            "transid": self.row.transid,
            "challenge": self.message(),
            "tokenserial": self.row.tokenserial,
            "data": self.data(),
            "timestamp": timestamp.format(TIMESTAMP_FORMAT).to_string(),
            "received_tan": received_tan,
            "valid_tan": valid_tan,
            "session": Value::Object(session.clone()),
        });
        Some(python_json(&vars, JsonStyle::Spaced))
    }

    fn mac_matches(&self, security: &dyn SecurityModule) -> bool {
        let (Some(mac), Some(message)) = (
            self.mac.as_deref(),
            self.mac_message(self.row.received_tan, self.row.valid_tan, &self.session),
        ) else {
            return false;
        };
        security.verify_message_signature(message.as_bytes(), mac)
    }

    fn is_expired(&self, validity_secs: i64, now: NaiveDateTime) -> bool {
        self.row
            .timestamp
            .is_none_or(|created| now > created + chrono::Duration::seconds(validity_secs))
    }
}

/// What a request does to one challenge; several changes to the same row combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PendingChange {
    /// `Some(valid)`: an answer was received (count + 1), right or wrong.
    answer: Option<bool>,
    /// The challenge is done.
    close: bool,
}

/// The challenge changes of one request, stored with its token changes.
#[derive(Debug, Default)]
pub struct ChallengeChanges {
    pending: BTreeMap<i32, (StoredChallenge, PendingChange)>,
    deleted: Vec<String>,
}

impl ChallengeChanges {
    fn change(&mut self, challenge: &StoredChallenge, apply: impl FnOnce(&mut PendingChange)) {
        let entry = self
            .pending
            .entry(challenge.id())
            .or_insert_with(|| (challenge.clone(), PendingChange::default()));
        apply(&mut entry.1);
    }

    /// The right answer to `challenge` arrived: received, valid, closed.
    pub fn answered(&mut self, challenge: &StoredChallenge) {
        self.change(challenge, |change| {
            change.answer = Some(true);
            change.close = true;
        });
    }

    /// A wrong answer arrived for `challenge`: received, not valid, still open.
    pub fn refused(&mut self, challenge: &StoredChallenge) {
        self.change(challenge, |change| {
            if change.answer.is_none() {
                change.answer = Some(false);
            }
        });
    }

    /// `challenge` is done without an answer of its own (older challenges of the token, the
    /// other sub-transactions of an answered transaction).
    pub fn closed(&mut self, challenge: &StoredChallenge) {
        self.change(challenge, |change| change.close = true);
    }

    /// `challenge` expired and is removed.
    pub fn expired(&mut self, challenge: &StoredChallenge) {
        self.deleted.push(challenge.transaction_id().to_owned());
    }

    /// Whether there is nothing to store.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.deleted.is_empty()
    }

    /// Stores the changes, each changed row with a new MAC.
    pub(super) fn store(
        &self,
        conn: &mut AnyConnection,
        security: &dyn SecurityModule,
    ) -> std::result::Result<(), StoreError> {
        for (challenge, change) in self.pending.values() {
            let Some(status) = changed_status(challenge, *change, security) else {
                continue;
            };
            challenges::update_status(conn, challenge.transaction_id(), &status)?;
        }
        for transaction_id in &self.deleted {
            challenges::delete_by_transid(conn, transaction_id)?;
        }
        Ok(())
    }
}

/// The new status fields of a challenge after `change`, signed.
fn changed_status(
    challenge: &StoredChallenge,
    change: PendingChange,
    security: &dyn SecurityModule,
) -> Option<ChallengeStatus> {
    let mut session = challenge.session.clone();
    let mut received_count = challenge.row.received_count;
    let mut received_tan = challenge.row.received_tan;
    let mut valid_tan = challenge.row.valid_tan;
    if let Some(valid) = change.answer {
        received_tan = true;
        received_count = received_count.saturating_add(1);
        valid_tan = valid;
    }
    if change.close {
        session.insert("status".to_owned(), Value::from("closed"));
        if session.contains_key("reject") {
            valid_tan = false;
        }
    }
    let unchanged = change.answer.is_none()
        && session == challenge.session
        && valid_tan == challenge.row.valid_tan
        && challenge.mac.is_some();
    if unchanged {
        // Closing a closed challenge: LinOTP re-signs the same content to the same MAC.
        return None;
    }
    signed_status(
        challenge,
        session,
        received_count,
        received_tan,
        valid_tan,
        security,
    )
}

/// LinOTP's `signChallenge`: the session gets its status (open unless set) and the MAC of the
/// row as it is now.
fn signed_status(
    challenge: &StoredChallenge,
    mut session: Map<String, Value>,
    received_count: i32,
    received_tan: bool,
    valid_tan: bool,
    security: &dyn SecurityModule,
) -> Option<ChallengeStatus> {
    let message = challenge.mac_message(received_tan, valid_tan, &session)?;
    let mac = match security.sign_message(message.as_bytes()) {
        Ok(mac) => mac,
        Err(error) => {
            tracing::error!(%error, "challenge MAC cannot be computed");
            return None;
        }
    };
    if !session.contains_key("status") {
        session.insert("status".to_owned(), Value::from("open"));
    }
    session.insert("mac".to_owned(), Value::from(mac));
    Some(ChallengeStatus {
        session: python_json(&Value::Object(session), JsonStyle::Spaced),
        received_count,
        received_tan,
        valid_tan,
    })
}

/// The challenges of one token for one request.
#[derive(Debug, Default)]
pub struct TokenChallenges {
    /// Unexpired challenges with a valid MAC, newest first.
    pub valid: Vec<StoredChallenge>,
    /// Expired challenges (to delete; their MACs are not checked).
    pub expired: Vec<StoredChallenge>,
}

impl TokenChallenges {
    /// The open ones among the valid challenges.
    pub fn open(&self) -> impl Iterator<Item = &StoredChallenge> {
        self.valid.iter().filter(|challenge| challenge.is_open())
    }
}

/// The challenges of one transaction.
#[derive(Debug, Default)]
pub struct TransactionChallenges {
    /// Unexpired challenges with a valid MAC, newest first, each with its token.
    pub valid: Vec<(StoredChallenge, Token)>,
    /// Expired challenges (to delete).
    pub expired: Vec<StoredChallenge>,
}

/// A challenge just created: the reply detail LinOTP sends for it.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedChallenge {
    /// The transaction id.
    pub transaction_id: String,
    /// `{"transactionid", "message", …attributes, "linotp_tokenserial", "linotp_tokentype",
    /// "linotp_tokendescription"}`.
    pub reply: Map<String, Value>,
}

/// The `challenges` table as one request sees it: its configuration, clock and keys.
pub struct ChallengeStore<'a> {
    security: &'a dyn SecurityModule,
    config: &'a SystemConfig,
    now: NaiveDateTime,
}

impl fmt::Debug for ChallengeStore<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChallengeStore")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<'a> ChallengeStore<'a> {
    /// The challenges of a request at the local time `now`.
    pub fn new(
        security: &'a dyn SecurityModule,
        config: &'a SystemConfig,
        now: NaiveDateTime,
    ) -> ChallengeStore<'a> {
        ChallengeStore {
            security,
            config,
            now,
        }
    }

    /// The key material challenges are signed with.
    pub fn security(&self) -> &'a dyn SecurityModule {
        self.security
    }

    /// `TransactionIdLength`; LinOTP refuses values outside 12..=17.
    pub fn transaction_id_length(&self) -> Result<usize> {
        let Some(text) = self.config.get("TransactionIdLength") else {
            return Ok(17);
        };
        match text.trim().parse::<usize>() {
            Ok(length) if (12..=17).contains(&length) => Ok(length),
            Ok(length) => Err(ApiError::Internal(format!(
                "TransactionIdLength must be between 12 and 17, was {length}"
            ))),
            Err(_) => Err(ApiError::Internal(format!(
                "invalid literal for int() with base 10: {}",
                crate::pyfmt::python_str_repr(text)
            ))),
        }
    }

    /// LinOTP's `lookup_challenges`: by transaction id (an id of the configured length
    /// exactly, a shorter one as the base of `<id>.NN` sub-transactions) and/or serial,
    /// newest first. No MAC or expiry check.
    pub fn lookup(
        &self,
        conn: &mut AnyConnection,
        serial: Option<&str>,
        transaction_id: Option<&str>,
    ) -> Result<Vec<StoredChallenge>> {
        let mut rows = match transaction_id.filter(|id| !id.is_empty()) {
            Some(id) if id.len() == self.transaction_id_length()? => {
                challenges::get_by_transid(conn, id)?.into_iter().collect()
            }
            Some(id) => challenges::find_by_transid_prefix(conn, &format!("{id}."))?,
            None => match serial {
                Some(serial) => challenges::find_by_serial(conn, serial)?,
                None => Vec::new(),
            },
        };
        if let Some(serial) = serial {
            rows.retain(|row| row.tokenserial == serial);
        }
        rows.sort_by_key(|row| std::cmp::Reverse(row.id));
        Ok(rows.into_iter().map(StoredChallenge::new).collect())
    }

    /// LinOTP's `get_challenges` for one token: its challenges (of `transaction_id` if given)
    /// split into valid and expired; rows with a bad MAC are left out.
    pub fn of_token(
        &self,
        conn: &mut AnyConnection,
        token: &Token,
        transaction_id: Option<&str>,
    ) -> Result<TokenChallenges> {
        let found = self.lookup(conn, Some(&token.serial), transaction_id)?;
        Ok(self.sort_out(found, token))
    }

    fn sort_out(&self, found: Vec<StoredChallenge>, token: &Token) -> TokenChallenges {
        let validity = validity_secs(self.config, token);
        let mut sorted = TokenChallenges::default();
        for challenge in found {
            // Expired rows go either way; only live ones are worth their MAC check.
            if challenge.is_expired(validity, self.now) {
                sorted.expired.push(challenge);
                continue;
            }
            if !challenge.mac_matches(self.security) {
                tracing::error!(
                    transaction = %challenge.transaction_id(),
                    serial = %challenge.serial(),
                    "checksum verification failure for challenge; ignored"
                );
                continue;
            }
            sorted.valid.push(challenge);
        }
        sorted
    }

    /// The valid and expired challenges of a transaction with their tokens (the token is
    /// looked up by serial; challenges of vanished tokens are left out).
    pub fn of_transaction(
        &self,
        conn: &mut AnyConnection,
        transaction_id: &str,
    ) -> Result<TransactionChallenges> {
        let mut valid = Vec::new();
        let mut expired = Vec::new();
        for challenge in self.lookup(conn, None, Some(transaction_id))? {
            let Some(token) = linotp_store::tokens::get_by_serial(conn, challenge.serial())? else {
                continue;
            };
            let mut sorted = self.sort_out(vec![challenge], &token);
            if let Some(challenge) = sorted.valid.pop() {
                valid.push((challenge, token));
            } else {
                expired.append(&mut sorted.expired);
            }
        }
        Ok(TransactionChallenges { valid, expired })
    }

    /// A random transaction id of `length` decimal digits, the first not 0.
    fn random_id(&self, length: usize) -> Result<String> {
        let mut digits = String::with_capacity(length);
        let mut buffer = [0u8; 32];
        while digits.len() < length {
            self.security.random(&mut buffer)?;
            for byte in buffer {
                // 250 = 25 · 10: below it every digit is equally likely.
                if byte >= 250 || (digits.is_empty() && byte % 10 == 0) {
                    continue;
                }
                digits.push(char::from(b'0' + byte % 10));
                if digits.len() == length {
                    break;
                }
            }
        }
        Ok(digits)
    }

    /// LinOTP's `create_challenge`: a new challenge for `token`, with `transaction_id` when
    /// given (a sub-transaction `<base>.NN`), else a fresh id ending in `postfix`.
    pub fn create(
        &self,
        conn: &mut AnyConnection,
        token: &Token,
        sender: &dyn ChallengeSender,
        transaction_id: Option<&str>,
        postfix: &str,
    ) -> Result<CreatedChallenge> {
        let length = self
            .transaction_id_length()?
            .saturating_sub(postfix.len())
            .max(1);
        let mut attempts = 0;
        let chosen = loop {
            attempts += 1;
            if attempts > TRANSACTION_ID_ATTEMPTS {
                return Err(ApiError::Internal(
                    "Failed to create challenge: no free transaction id".to_owned(),
                ));
            }
            let candidate = match transaction_id {
                Some(id) => id.to_owned(),
                None => format!("{}{postfix}", self.random_id(length)?),
            };
            if challenges::get_by_transid(conn, &candidate)?.is_none() {
                break candidate;
            }
        };
        let content = sender.create(token, self.config, &chosen, self.now)?;
        let data = python_json(&content.data, JsonStyle::Spaced);
        let new = Challenge {
            transid: chosen.clone(),
            tokenserial: token.serial.clone(),
            bchallenge: Some(content.message.clone().into_bytes()),
            bdata: Some(data.into_bytes()),
            timestamp: Some(self.now),
            ..Challenge::default()
        };
        let security = self.security;
        linotp_store::write_transaction(conn, |conn| -> std::result::Result<(), StoreError> {
            let stored = StoredChallenge::new(challenges::insert(conn, &new)?);
            let Some(status) =
                signed_status(&stored, stored.session.clone(), 0, false, false, security)
            else {
                // Without its MAC the row would be ignored anyway: do not keep it.
                return Err(linotp_store::diesel::result::Error::RollbackTransaction.into());
            };
            challenges::update_status(conn, &chosen, &status)?;
            Ok(())
        })?;
        let mut reply = Map::new();
        reply.insert("transactionid".to_owned(), Value::from(chosen.as_str()));
        reply.insert("message".to_owned(), Value::from(content.message));
        reply.extend(content.attributes);
        reply.insert(
            "linotp_tokenserial".to_owned(),
            Value::from(token.serial.as_str()),
        );
        reply.insert(
            "linotp_tokentype".to_owned(),
            Value::from(token.token_type.as_str()),
        );
        reply.insert(
            "linotp_tokendescription".to_owned(),
            Value::from(token.description.as_str()),
        );
        Ok(CreatedChallenge {
            transaction_id: chosen,
            reply,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sysconfig::test_config as config;
    use linotp_crypto::{DefaultSecurityModule, EncKey};

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, TIMESTAMP_FORMAT).unwrap()
    }

    /// The synthetic key of crypto.md §3: bytes 0x00 … 0x5f.
    fn spec_module() -> DefaultSecurityModule {
        DefaultSecurityModule::new(EncKey::from_bytes((0u8..96).collect()).unwrap())
    }

    fn row(session: &str) -> Challenge {
        Challenge {
            id: 7,
            transid: "12345678901234567".into(),
            tokenserial: "OATH0001".into(),
            bchallenge: Some(b"Please enter your otp value: ".to_vec()),
            bdata: Some(
                br#"{"serial": "OATH0001", "date": "2026-11-26 10:41:40.123456"}"#.to_vec(),
            ),
            timestamp: Some(at("2026-11-26 10:41:40")),
            session: session.into(),
            ..Challenge::default()
        }
    }

    #[test]
    fn the_mac_covers_linotps_serialisation_of_the_row() {
        let challenge = StoredChallenge::new(row(""));
        let message = challenge
            .mac_message(false, false, &challenge.session)
            .unwrap();
        assert_eq!(
            message,
            "{\"id\": 7, \"transid\": \"12345678901234567\", \"challenge\": \"Please enter your otp value: \", \
             \"tokenserial\": \"OATH0001\", \"data\": {\"serial\": \"OATH0001\", \"date\": \"2026-11-26 10:41:40.123456\"}, \
             \"timestamp\": \"2026-11-26 10:41:40\", \"received_tan\": false, \"valid_tan\": false, \
             \"session\": {\"status\": \"open\"}}"
        );
    }

    #[test]
    fn signed_rows_verify_and_tampered_rows_do_not() {
        let security = spec_module();
        let unsigned = StoredChallenge::new(row(""));
        let status = signed_status(
            &unsigned,
            unsigned.session.clone(),
            0,
            false,
            false,
            &security,
        )
        .unwrap();
        assert!(
            status
                .session
                .starts_with("{\"status\": \"open\", \"mac\": \"")
        );
        let signed = StoredChallenge::new(row(&status.session));
        assert!(signed.mac_matches(&security));
        assert!(signed.is_open());

        let mut tampered = row(&status.session);
        tampered.valid_tan = true;
        assert!(!StoredChallenge::new(tampered).mac_matches(&security));
        assert!(!unsigned.mac_matches(&security), "no MAC at all");
    }

    #[test]
    fn answers_close_and_count_and_stay_verifiable() {
        let security = spec_module();
        let fresh = StoredChallenge::new(row(""));
        let status =
            signed_status(&fresh, fresh.session.clone(), 0, false, false, &security).unwrap();
        let open = StoredChallenge::new(row(&status.session));

        let refused = changed_status(
            &open,
            PendingChange {
                answer: Some(false),
                close: false,
            },
            &security,
        )
        .unwrap();
        assert_eq!(
            (
                refused.received_count,
                refused.received_tan,
                refused.valid_tan
            ),
            (1, true, false)
        );
        let mut refused_row = row(&refused.session);
        refused_row.received_count = refused.received_count;
        refused_row.received_tan = true;
        let refused_challenge = StoredChallenge::new(refused_row);
        assert!(refused_challenge.is_open());
        assert!(refused_challenge.mac_matches(&security));

        let answered = changed_status(
            &refused_challenge,
            PendingChange {
                answer: Some(true),
                close: true,
            },
            &security,
        )
        .unwrap();
        assert_eq!(
            (
                answered.received_count,
                answered.received_tan,
                answered.valid_tan
            ),
            (2, true, true)
        );
        let mut answered_row = row(&answered.session);
        answered_row.received_count = 2;
        answered_row.received_tan = true;
        answered_row.valid_tan = true;
        let closed = StoredChallenge::new(answered_row);
        assert_eq!(closed.status(), "closed");
        assert!(closed.mac_matches(&security));
    }

    #[test]
    fn validity_comes_from_config_type_and_token() {
        let mut token = Token::new("S", "HMAC");
        assert_eq!(validity_secs(&config(&[]), &token), 120);
        let configured = config(&[
            ("DefaultChallengeValidityTime", "300"),
            ("HmacChallengeValidityTime", "60"),
        ]);
        assert_eq!(validity_secs(&configured, &token), 60);
        token.token_info = "{\"challenge_validity_time\": 30}".into();
        assert_eq!(validity_secs(&configured, &token), 30);
        let broken = config(&[("DefaultChallengeValidityTime", "soon")]);
        token.token_info = String::new();
        assert_eq!(validity_secs(&broken, &token), 120);

        let challenge = StoredChallenge::new(row(""));
        assert!(!challenge.is_expired(120, at("2026-11-26 10:43:40")));
        assert!(challenge.is_expired(120, at("2026-11-26 10:43:41")));
    }

    #[test]
    fn transaction_ids_are_digits_of_the_configured_length() {
        let security = spec_module();
        let default = config(&[]);
        let store = ChallengeStore::new(&security, &default, at("2026-11-26 10:41:40"));
        assert_eq!(store.transaction_id_length().unwrap(), 17);
        for _ in 0..50 {
            let id = store.random_id(14).unwrap();
            assert_eq!(id.len(), 14);
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
            assert_ne!(id.as_bytes()[0], b'0');
        }
        let short = config(&[("TransactionIdLength", "11")]);
        let store = ChallengeStore::new(&security, &short, at("2026-11-26 10:41:40"));
        assert!(store.transaction_id_length().is_err());
    }

    #[test]
    fn prompts_follow_the_config_and_the_type() {
        let token = Token::new("S", "HMAC");
        let now = at("2026-11-26 10:41:40");
        let content = OtpPrompt.create(&token, &config(&[]), "1", now).unwrap();
        assert_eq!(content.message, OTP_PROMPT);
        assert_eq!(
            content.data,
            json!({"serial": "S", "date": "2026-11-26 10:41:40"})
        );
        let custom = config(&[("HMAC_CHALLENGE_PROMPT", "Code?")]);
        assert_eq!(
            OtpPrompt.create(&token, &custom, "1", now).unwrap().message,
            "Code?"
        );
        let motp = Token::new("M", "mOTP");
        assert_eq!(
            PlainPrompt
                .create(&motp, &config(&[]), "1", now)
                .unwrap()
                .message,
            "Otp:"
        );
        assert!(sender_for(TokenKind::Spass).is_none());
    }
}
