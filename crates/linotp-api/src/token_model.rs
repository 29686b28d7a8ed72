//! Between a `Token` row and the token engine: the row's state for `linotp-core`, its
//! decrypted secret for one check, and its PIN check.

use std::sync::Arc;

use linotp_core::{Secret, TokenInfo, TokenKind, TokenSecret, TokenState};
use linotp_crypto::SecurityModule;
use linotp_crypto::token_secrets::{self, SeedEncoding};
use linotp_store::tokens::Token;

use crate::error::{ApiError, Result};

/// The token type of a row (`LinOtpTokenType`, any case; empty means `hmac`), if
/// linotp-core can check it.
pub fn kind_of(row: &Token) -> Option<TokenKind> {
    let stored = row.token_type.trim();
    if stored.is_empty() {
        return Some(TokenKind::Hmac);
    }
    TokenKind::from_linotp_type(stored)
}

/// The state `linotp-core` checks and updates.
pub fn state_of(row: &Token) -> Result<TokenState> {
    let info = if row.token_info.trim().is_empty() {
        TokenInfo::new()
    } else {
        TokenInfo::parse(&row.token_info).map_err(|error| {
            ApiError::Internal(format!(
                "token {} has unreadable tokeninfo: {error}",
                row.serial
            ))
        })?
    };
    Ok(TokenState {
        count: i64::from(row.count),
        count_window: i64::from(row.count_window),
        sync_window: i64::from(row.sync_window),
        otp_len: u32::try_from(row.otp_len).unwrap_or(6),
        max_fail: i64::from(row.max_fail),
        fail_count: i64::from(row.fail_count),
        active: row.is_active,
        info,
    })
}

/// Writes a checked state back onto a copy of the row (counter, fail counter, activity,
/// tokeninfo); the caller persists it.
pub fn apply_state(row: &Token, state: &TokenState) -> Token {
    let mut updated = row.clone();
    updated.count = clamp_i32(state.count);
    updated.fail_count = clamp_i32(state.fail_count);
    updated.max_fail = clamp_i32(state.max_fail);
    updated.count_window = clamp_i32(state.count_window);
    updated.sync_window = clamp_i32(state.sync_window);
    updated.otp_len = i32::try_from(state.otp_len).unwrap_or(i32::MAX);
    updated.is_active = state.active;
    updated.token_info = tokeninfo_text(row, state);
    updated
}

/// The tokeninfo column for `state`: unchanged text when nothing changed (LinOTP leaves a
/// never-written column empty; rewriting it would churn the row for nothing).
pub fn tokeninfo_text(row: &Token, state: &TokenState) -> String {
    let unchanged = state_of(row).is_ok_and(|old| old.info == state.info);
    if unchanged {
        row.token_info.clone()
    } else {
        state.info.to_linotp_json()
    }
}

fn clamp_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// The decrypted secret of a row, for one check. Fails for types linotp-core cannot check.
pub fn secret_of(row: &Token, security: &Arc<dyn SecurityModule>) -> Result<TokenSecret> {
    let kind = kind_of(row).ok_or_else(|| {
        ApiError::TokenTypeNotSupported(format!("unknown token type {:?}", row.token_type))
    })?;
    let decrypt = |encoding: SeedEncoding| -> Result<Secret> {
        let seed = token_secrets::decrypt_seed(security.as_ref(), &row.key_iv, &row.key_enc)
            .map_err(|error| hsm_error(row, error))?;
        let key =
            token_secrets::seed_to_key(&seed, encoding).map_err(|error| hsm_error(row, error))?;
        Ok(Secret::from_slice(key.expose()))
    };
    Ok(match kind {
        TokenKind::Hmac => TokenSecret::Hmac {
            key: decrypt(SeedEncoding::Hex)?,
        },
        TokenKind::Totp => TokenSecret::Totp {
            key: decrypt(SeedEncoding::Hex)?,
        },
        TokenKind::Motp => {
            let pin =
                token_secrets::decrypt_user_pin(security.as_ref(), &row.pin_user, &row.pin_user_iv)
                    .map_err(|error| hsm_error(row, error))?;
            TokenSecret::Motp {
                secret: decrypt(SeedEncoding::Ascii)?,
                pin: Secret::from_slice(pin.expose().as_bytes()),
            }
        }
        TokenKind::Spass => TokenSecret::Spass,
        TokenKind::DayPassword => TokenSecret::DayPassword {
            secret: decrypt(SeedEncoding::Ascii)?,
        },
        TokenKind::Password => {
            let security = Arc::clone(security);
            let key_iv = row.key_iv.clone();
            let key_enc = row.key_enc.clone();
            let serial = row.serial.clone();
            TokenSecret::Password {
                verifier: Box::new(move |candidate: &str| {
                    token_secrets::verify_pw_token(security.as_ref(), &key_iv, &key_enc, candidate)
                        .unwrap_or_else(|error| {
                            tracing::warn!(%serial, %error, "pw token secret unreadable");
                            false
                        })
                }),
            }
        }
    })
}

fn hsm_error(row: &Token, error: linotp_crypto::CryptoError) -> ApiError {
    tracing::warn!(serial = %row.serial, %error, "token secret cannot be decrypted");
    ApiError::Hsm(format!("cannot decrypt the secret of token {}", row.serial))
}

/// Checks a PIN against the row's stored PIN (hashed, or `@@`-encrypted), in constant time.
pub fn pin_matches(row: &Token, security: &dyn SecurityModule, pin: &str) -> bool {
    token_secrets::verify_token_pin(security, &row.pin_hash, &row.pin_salt, pin).unwrap_or_else(
        |error| {
            tracing::warn!(serial = %row.serial, %error, "token PIN unreadable");
            false
        },
    )
}
