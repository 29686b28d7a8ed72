//! The `/validate` endpoints: what PAM, FreeRADIUS and SAML bridges call.
//!
//! Every endpoint answers HTTP 200 and, like LinOTP, reports a failed authentication (and
//! almost every error) as `value: false`, never as an error envelope; `check_s` reports
//! errors with `status: false`. Each request writes one audit event with LinOTP's
//! `action_detail` texts. The decisions live in [`service`]; [`persist`] stores them with a
//! compare-and-set on the token counter, so an OTP is accepted once even when requests race
//! on several nodes.
//!
//! | endpoint | reply |
//! |---|---|
//! | `check` | `value` bool, `id` 0 |
//! | `check_s` | `value` bool, `id` 0; errors `status: false` |
//! | `simplecheck` | text `:-)` / `:-(` |
//! | `samlcheck` | `value {"auth": bool, "attributes": {…}}`, `id` 0 |
//! | `check_t` | `value {"value": bool, "failcount": n}`, `id` 1 |
//! | `check_status` | `value` bool, `id` 0 |

pub mod challenge;
mod persist;
pub mod policy;
pub mod service;

use axum::Router;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::app::{App, AppState};
use crate::error::{ApiError, Result};
use crate::http::{ClientIp, Endpoints};
use crate::params::Params;
use crate::pyfmt::python_str_repr;
use crate::reply::{JsonReply, SimpleCheck, reply_id};
use crate::users;
use challenge::{ChallengeService, NoChallenges};
use service::{AuditTrail, CheckOutcome};

/// The routes of this endpoint group, with the application state applied.
pub fn routes(state: &AppState) -> Router {
    Endpoints::<AppState>::new()
        .endpoint("/validate/check", check)
        .endpoint("/validate/check_s", check_s)
        .endpoint("/validate/simplecheck", simplecheck)
        .endpoint("/validate/samlcheck", samlcheck)
        .endpoint("/validate/check_t", check_t)
        .endpoint("/validate/check_status", check_status)
        .into_router()
        .with_state(state.clone())
}

/// Where challenge transactions are looked up (none exist until challenge-response lands).
fn challenges() -> &'static dyn ChallengeService {
    &NoChallenges
}

fn client_text(client: Option<ClientIp>) -> Option<String> {
    client.map(|ClientIp(address)| address.to_string())
}

/// Runs a check on the blocking pool; a failure to get there (pool exhausted, database gone)
/// is a raised error like any other.
async fn run_check(
    app: &AppState,
    params: Params,
    check: fn(&App, &mut linotp_store::AnyConnection, &Params) -> CheckOutcome,
) -> CheckOutcome {
    let outcome = app
        .with_conn(move |app, conn| Ok(check(app, conn, &params)))
        .await;
    outcome.unwrap_or_else(CheckOutcome::from_error)
}

async fn record(
    app: &AppState,
    action: &str,
    success: bool,
    audit: &AuditTrail,
    client: Option<ClientIp>,
) {
    app.audit
        .record(audit.event(action, success, client_text(client)))
        .await;
}

/// `/validate/check`: `user` (+ `realm`) and `pass`.
async fn check(State(app): State<AppState>, client: Option<ClientIp>, params: Params) -> JsonReply {
    let outcome = run_check(&app, params, service::check_user_pass).await;
    record(
        &app,
        "validate/check",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    let reply = JsonReply::result(outcome.accepted).id(reply_id::VALIDATE);
    match outcome.detail {
        Some(detail) => reply.detail(detail),
        None => reply,
    }
}

/// `/validate/check_s`: `serial` and `pass`.
async fn check_s(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> JsonReply {
    let outcome = run_check(&app, params, service::check_serial_pass).await;
    record(
        &app,
        "validate/check_s",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    if outcome.raised.is_some() {
        return JsonReply::result(false)
            .id(reply_id::VALIDATE)
            .status_flag(false);
    }
    let reply = JsonReply::result(outcome.accepted).id(reply_id::VALIDATE);
    match outcome.detail {
        Some(detail) => reply.detail(detail),
        None => reply,
    }
}

/// `/validate/simplecheck`: the text reply of `check`.
async fn simplecheck(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> SimpleCheck {
    let outcome = run_check(&app, params, service::check_user_pass).await;
    record(
        &app,
        "validate/simplecheck",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    if outcome.accepted {
        SimpleCheck::Accepted
    } else {
        SimpleCheck::Rejected
    }
}

/// The user attributes `samlcheck` returns with `allowSamlAttributes = True`.
const SAML_ATTRIBUTES: [&str; 6] = [
    "username",
    "surname",
    "mobile",
    "phone",
    "givenname",
    "email",
];

fn saml_check(
    app: &App,
    conn: &mut linotp_store::AnyConnection,
    params: &Params,
) -> (CheckOutcome, Map<String, Value>) {
    let outcome = service::check_user_pass(app, conn, params);
    let mut attributes = Map::new();
    if !outcome.accepted || outcome.raised.is_some() {
        return (outcome, attributes);
    }
    match saml_attributes(app, conn, params) {
        Ok(Some(found)) => attributes = found,
        Ok(None) => {}
        Err(error) => return (CheckOutcome::from_error(error), Map::new()),
    }
    (outcome, attributes)
}

fn saml_attributes(
    app: &App,
    conn: &mut linotp_store::AnyConnection,
    params: &Params,
) -> Result<Option<Map<String, Value>>> {
    let config = app.system_config(conn)?;
    if config.get("allowSamlAttributes") != Some("True") {
        return Ok(None);
    }
    let requested = users::requested_user(params, &config);
    let Some(user) = users::resolve_requested(app, &config, conn, &requested)? else {
        return Ok(None);
    };
    let info = users::owner_info(app, &config, conn, &user.resolver_spec, &user.user_id)?;
    let mut attributes = Map::new();
    for key in SAML_ATTRIBUTES {
        let value = info
            .as_ref()
            .and_then(|info| info.get(key))
            .map_or(Value::Null, Value::from);
        attributes.insert(key.to_owned(), value);
    }
    Ok(Some(attributes))
}

/// `/validate/samlcheck`: `check` with the user's attributes.
async fn samlcheck(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> JsonReply {
    let result = app
        .with_conn(move |app, conn| Ok(saml_check(app, conn, &params)))
        .await;
    let (outcome, attributes) =
        result.unwrap_or_else(|error| (CheckOutcome::from_error(error), Map::new()));
    record(
        &app,
        "validate/samlcheck",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    if outcome.raised.is_some() {
        return JsonReply::result(false).id(reply_id::VALIDATE);
    }
    let value = json!({"auth": outcome.accepted, "attributes": Value::Object(attributes)});
    let reply = JsonReply::result(value).id(reply_id::VALIDATE);
    match outcome.detail {
        Some(detail) => reply.detail(detail),
        None => reply,
    }
}

/// The transaction id of a request: `state` wins over `transactionid`, as in LinOTP.
fn transaction_id(params: &Params) -> Option<String> {
    params
        .optional("state")
        .or_else(|| params.optional("transactionid"))
        .map(|value| value.into_owned())
}

/// `/validate/check_t`: the answer to a challenge, by transaction id.
async fn check_t(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> JsonReply {
    let mut audit = AuditTrail::default();
    let failed = |audit: &mut AuditTrail, message: String| {
        audit.info = message;
        JsonReply::result(false).id(reply_id::VALIDATE)
    };
    if params.optional("pass").is_none() {
        let reply = failed(&mut audit, "ERR905: Missing parameter: 'pass'".to_owned());
        record(&app, "validate/check_t", false, &audit, client).await;
        return reply;
    }
    let Some(transaction) = transaction_id(&params) else {
        let reply = failed(
            &mut audit,
            "missing parameter: state or transactionid!".to_owned(),
        );
        record(&app, "validate/check_t", false, &audit, client).await;
        return reply;
    };
    let lookup = transaction.clone();
    let found = app
        .with_conn(move |_, conn| challenges().transaction(conn, &lookup))
        .await;
    let reply = match found {
        Ok(open) if open.is_empty() => {
            let failure = format!(
                "No challenge for transaction {} found",
                python_str_repr(&transaction)
            );
            JsonReply::result(json!({"value": false, "failcount": 0}))
                .id(reply_id::DEFAULT)
                .detail(json!({"value": false, "failure": failure}))
        }
        Ok(_) => {
            // Answering challenges arrives with challenge-response (see `challenge`).
            failed(
                &mut audit,
                "challenge answers are not supported yet".to_owned(),
            )
        }
        Err(error) => failed(&mut audit, error.message()),
    };
    record(&app, "validate/check_t", false, &audit, client).await;
    reply
}

/// `/validate/check_status`: polling the state of a challenge transaction.
async fn check_status(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> JsonReply {
    let mut audit = AuditTrail::default();
    let transaction = transaction_id(&params).filter(|id| !id.is_empty());
    let reply = JsonReply::result(false).id(reply_id::VALIDATE);
    let Some(transaction) = transaction else {
        audit.info =
            "ERR905: Missing required parameter \"state\" or \"transactionid\"!".to_owned();
        record(&app, "validate/check_status", false, &audit, client).await;
        return reply;
    };
    if params.optional("pass").is_none() {
        audit.info = "ERR905: Missing required parameter \"pass\"!".to_owned();
        record(&app, "validate/check_status", false, &audit, client).await;
        return reply;
    }
    let found = app
        .with_conn(move |_, conn| challenges().transaction(conn, &transaction))
        .await;
    audit.info = match found {
        // No open transaction: LinOTP's `str(None)`.
        Ok(open) if open.is_empty() => "None".to_owned(),
        Ok(_) => "challenge status is not supported yet".to_owned(),
        Err(error) => error.message(),
    };
    record(&app, "validate/check_status", false, &audit, client).await;
    reply
}

impl CheckOutcome {
    /// The outcome of a check that could not run (database unavailable).
    pub fn from_error(error: ApiError) -> CheckOutcome {
        tracing::error!(%error, "validation could not run");
        let audit = AuditTrail {
            info: error.message(),
            ..AuditTrail::default()
        };
        CheckOutcome {
            accepted: false,
            detail: None,
            raised: Some(error),
            audit,
        }
    }
}
