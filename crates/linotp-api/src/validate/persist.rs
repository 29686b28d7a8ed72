//! Storing what a check decided, without lost updates and without accepting an OTP twice.
//!
//! * The winning token's new counter is a compare-and-set on `LinOtpCount`
//!   ([`tokens::commit_counter`]): of concurrent requests that read the same counter, on any
//!   node, exactly one commits. The others are refused; nothing else of theirs is stored.
//! * Failures count with an atomic `LinOtpFailCount + 1` ([`tokens::increment_fail_count`]),
//!   so concurrent wrong guesses all count.
//! * Tokeninfo changes (auto-resync bookkeeping, `count_auth`, TOTP drift of other tokens) are
//!   a compare-and-set on the tokeninfo text; on a conflict the change is re-applied to the
//!   fresh value (counters add up, other keys are set or removed as this request changed them).
//!
//! * Challenge changes (answered, refused, closed, expired rows, each re-signed) and tokens
//!   deleted by policy `delete_on_authentication_exceed` go into the same transaction, and
//!   only when the winner's counter could be committed.
//!
//! The checks themselves (crypto, resolver password checks) run before any of this and
//! outside any transaction, so no lock is held while hashing.

use chrono::NaiveDateTime;
use linotp_core::{Decision, Finished, TokenInfo, TokenKind, TokenState, Verdict};
use std::sync::Arc;

use linotp_crypto::SecurityModule;
use linotp_store::Result as StoreResult;
use linotp_store::tokens::{self, CounterCommit, Token};
use linotp_store::{AnyConnection, Store};

use super::challenge::ChallengeChanges;
use crate::error::Result;
use crate::token_model;

/// How often a tokeninfo change is re-applied after concurrent writers won.
const TOKEN_INFO_ATTEMPTS: usize = 5;

/// Whether the request's decision could be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Committed {
    /// Everything is stored.
    Yes,
    /// The winning token's counter moved since it was read: another request used the OTP.
    CounterMoved,
}

/// What the request knew about each token when it checked it.
pub(super) struct CheckedRow<'a> {
    /// The row as read.
    pub row: &'a Token,
    /// How the token took part.
    pub verdict: &'a Verdict,
}

/// Everything a request stores after its check, owned, so that SQLite's group commit can run
/// it beside other requests' writes.
pub(super) struct Outcome {
    /// The tokens as read, in check order.
    pub rows: Vec<Token>,
    /// How each took part.
    pub verdicts: Vec<Verdict>,
    /// What the check decided and every token's new state.
    pub finished: Finished,
    /// Recorded as last access when config `token.last_access` is on.
    pub now: Option<NaiveDateTime>,
    /// Challenge rows answered, refused, closed or expired.
    pub challenges: ChallengeChanges,
    /// Tokens to delete (policy `delete_on_authentication_exceed`), by index into `rows`.
    pub deleted: Vec<usize>,
    /// Signs the changed challenge rows.
    pub security: Arc<dyn SecurityModule>,
}

/// What a request changes beyond its tokens' states.
struct Aftermath<'a> {
    challenges: &'a ChallengeChanges,
    deleted: &'a [usize],
    security: &'a dyn SecurityModule,
}

/// Stores the finished states of all tokens of a request, and its challenge changes.
///
/// Everything is written in one short transaction — on SQLite shared with the writes of other
/// requests (one commit, one fsync for all of them); the compare-and-set and the SQL-side
/// increments keep it correct on backends whose isolation lets other transactions interleave.
/// When the winner's counter moved, nothing of this request is stored.
pub(super) fn persist(
    store: &Store,
    conn: &mut AnyConnection,
    outcome: Outcome,
) -> Result<Committed> {
    Ok(store.write_grouped(conn, move |conn| {
        let checked: Vec<CheckedRow<'_>> = outcome
            .rows
            .iter()
            .zip(&outcome.verdicts)
            .map(|(row, verdict)| CheckedRow { row, verdict })
            .collect();
        let aftermath = Aftermath {
            challenges: &outcome.challenges,
            deleted: &outcome.deleted,
            security: outcome.security.as_ref(),
        };
        persist_in(conn, &checked, &outcome.finished, outcome.now, &aftermath)
    })?)
}

fn persist_in(
    conn: &mut AnyConnection,
    checked: &[CheckedRow<'_>],
    finished: &Finished,
    now: Option<NaiveDateTime>,
    aftermath: &Aftermath<'_>,
) -> StoreResult<Committed> {
    let winner = match finished.decision {
        Decision::Success { token } => Some(token),
        _ => None,
    };
    if let Some(index) = winner {
        let (Some(entry), Some(state)) = (checked.get(index), finished.tokens.get(index)) else {
            return Ok(Committed::CounterMoved);
        };
        if !commit_winner(conn, entry.row, state, now)? {
            return Ok(Committed::CounterMoved);
        }
    }
    for (index, (entry, state)) in checked.iter().zip(&finished.tokens).enumerate() {
        if Some(index) == winner {
            continue;
        }
        if aftermath.deleted.contains(&index) {
            tracing::info!(serial = %entry.row.serial, "token deleted: authentication limits exceeded");
            tokens::delete(conn, entry.row.id)?;
            continue;
        }
        store_side_effects(conn, entry, state, winner.is_some(), now)?;
    }
    aftermath.challenges.store(conn, aftermath.security)?;
    Ok(Committed::Yes)
}

/// Token types whose success does not consume anything (no counter to replay against): a
/// lost compare-and-set there only means another request stored the same value first.
fn is_replay_free(row: &Token) -> bool {
    matches!(
        token_model::kind_of(row),
        Some(TokenKind::Spass | TokenKind::Password | TokenKind::DayPassword)
    )
}

fn clamp_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

fn commit_winner(
    conn: &mut AnyConnection,
    row: &Token,
    state: &TokenState,
    now: Option<NaiveDateTime>,
) -> StoreResult<bool> {
    let info_text = token_model::tokeninfo_text(row, state);
    let mut commit = CounterCommit {
        token_id: row.id,
        expected_count: row.count,
        new_count: clamp_i32(state.count),
        new_fail_count: clamp_i32(state.fail_count),
        new_token_info: (info_text != row.token_info).then_some(info_text),
        last_auth_success: now,
        last_auth_match: now,
    };
    if tokens::commit_counter(conn, &commit)? {
        return Ok(true);
    }
    if !is_replay_free(row) {
        tracing::warn!(
            serial = %row.serial,
            "token counter moved during the check: the OTP was used by a concurrent request"
        );
        return Ok(false);
    }
    for _ in 0..TOKEN_INFO_ATTEMPTS {
        let Some(fresh) = tokens::get_by_id(conn, row.id)? else {
            return Ok(false);
        };
        commit.expected_count = fresh.count;
        if tokens::commit_counter(conn, &commit)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn store_side_effects(
    conn: &mut AnyConnection,
    entry: &CheckedRow<'_>,
    state: &TokenState,
    request_succeeded: bool,
    now: Option<NaiveDateTime>,
) -> StoreResult<()> {
    let row = entry.row;
    let took_part = !matches!(entry.verdict, Verdict::Skipped(_));
    let old_fail = i64::from(row.fail_count);
    if request_succeeded && took_part && state.fail_count == 0 {
        if old_fail != 0 {
            tokens::reset_fail_count(conn, row.id)?;
        }
    } else {
        for _ in old_fail..state.fail_count {
            tokens::increment_fail_count(conn, row.id, None)?;
        }
    }
    if state.count != i64::from(row.count) {
        // Several valid tokens: each one's OTP is spent although the request fails.
        let fail_now = tokens::get_by_id(conn, row.id)?.map_or(row.fail_count, |t| t.fail_count);
        tokens::commit_counter(
            conn,
            &CounterCommit {
                token_id: row.id,
                expected_count: row.count,
                new_count: clamp_i32(state.count),
                new_fail_count: fail_now,
                new_token_info: None,
                last_auth_success: None,
                last_auth_match: None,
            },
        )?;
    }
    let old_info = token_model::state_of(row).map(|old| old.info);
    if let Ok(old_info) = old_info
        && old_info != state.info
    {
        update_token_info(conn, row, &old_info, &state.info)?;
    }
    if state.active != row.is_active {
        tokens::set_active(conn, row.id, state.active)?;
    }
    if took_part && let Some(now) = now {
        tokens::set_last_auth_match(conn, row.id, now)?;
    }
    Ok(())
}

/// Counters in tokeninfo that requests increase: concurrent increases add up.
const INFO_COUNTERS: [&str; 2] = ["count_auth", "count_auth_success"];

/// This request's tokeninfo change (`old` → `new`) applied to `base`.
fn reapply(old: &TokenInfo, new: &TokenInfo, base: &TokenInfo) -> TokenInfo {
    let mut merged = base.clone();
    for (key, value) in new.iter() {
        let before = old.get(key);
        if before == Some(value) {
            continue;
        }
        if INFO_COUNTERS.contains(&key) {
            let added = value.as_int().unwrap_or(0) - before.and_then(|v| v.as_int()).unwrap_or(0);
            let current = merged.get(key).and_then(|v| v.as_int()).unwrap_or(0);
            merged.set(key, current.saturating_add(added));
        } else {
            merged.set(key, value.clone());
        }
    }
    for (key, _) in old.iter() {
        if new.get(key).is_none() {
            merged.remove(key);
        }
    }
    merged
}

fn update_token_info(
    conn: &mut AnyConnection,
    row: &Token,
    old: &TokenInfo,
    new: &TokenInfo,
) -> StoreResult<()> {
    let mut expected = row.token_info.clone();
    let mut target = new.to_linotp_json();
    for _ in 0..TOKEN_INFO_ATTEMPTS {
        if tokens::set_token_info_if(conn, row.id, &expected, &target)? {
            return Ok(());
        }
        let Some(fresh) = tokens::get_by_id(conn, row.id)? else {
            return Ok(());
        };
        let Ok(fresh_info) = TokenInfo::parse(&fresh.token_info) else {
            tracing::warn!(serial = %row.serial, "tokeninfo became unreadable; change dropped");
            return Ok(());
        };
        target = reapply(old, new, &fresh_info).to_linotp_json();
        expected = fresh.token_info;
    }
    tracing::warn!(serial = %row.serial, "tokeninfo kept changing; this request's change dropped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reapplied_changes_add_counters_and_keep_other_writers_keys() {
        let old =
            TokenInfo::parse("{\"count_auth\": 2, \"hashlib\": \"sha1\", \"otp1c\": 5}").unwrap();
        let mut new = old.clone();
        new.set("count_auth", 3);
        new.remove("otp1c");
        new.set("dueDate", 99);
        let base =
            TokenInfo::parse("{\"count_auth\": 4, \"hashlib\": \"sha1\", \"otp1c\": 5, \"x\": 1}")
                .unwrap();
        let merged = reapply(&old, &new, &base);
        assert_eq!(merged.get("count_auth").and_then(|v| v.as_int()), Some(5));
        assert!(merged.get("otp1c").is_none());
        assert_eq!(merged.get("dueDate").and_then(|v| v.as_int()), Some(99));
        assert_eq!(merged.get("x").and_then(|v| v.as_int()), Some(1));
    }
}
