//! The `/validate` endpoints: what PAM, FreeRADIUS and SAML bridges call.
//!
//! Every endpoint answers HTTP 200 and, like LinOTP, reports a failed authentication (and
//! almost every error) as `value: false`, never as an error envelope; `check_s` reports
//! errors with `status: false`. Each request writes one audit event with LinOTP's
//! `action_detail` texts. The decisions live in [`service`], the policies it consults in
//! [`policy`], challenge-response in [`challenge`]; [`persist`] stores the decisions with a
//! compare-and-set on the token counter, so an OTP is accepted once even when requests race
//! on several nodes.
//!
//! | endpoint | reply |
//! |---|---|
//! | `check` | `value` bool, `id` 0; a challenge: `value: false` + `detail.transactionid`, `detail.message` |
//! | `check_s` | `value` bool, `id` 0; errors `status: false` |
//! | `simplecheck` | text `:-)` / `:-(` / `:-( <transactionid> <message>` |
//! | `samlcheck` | `value {"auth": bool, "attributes": {…}}`, `id` 0 |
//! | `check_t` | `value {"value": bool, "failcount": n}`, `id` 1 |
//! | `check_status` | `value` bool, `id` 0, `detail.transactions` |
//!
//! The policies `authorization/detail_on_success` and `detail_on_fail` add to the `detail` of
//! every JSON reply, as LinOTP's `__after__` hook does.

pub mod challenge;
mod persist;
pub mod policy;
pub mod service;

use axum::Router;
use axum::extract::State;
use serde_json::{Map, Value, json};

use crate::app::{App, AppState};
use crate::error::Result;
use crate::http::{ClientIp, Endpoints};
use crate::params::Params;
use crate::policy::RequestOrigin;
use crate::reply::{JsonReply, SimpleCheck, reply_id};
use crate::users;
use service::{AuditTrail, CheckOutcome, ReplySubject};

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

fn client_text(client: Option<ClientIp>) -> Option<String> {
    client.map(|ClientIp(address)| address.to_string())
}

fn origin_of(app: &App, client: Option<ClientIp>) -> RequestOrigin {
    RequestOrigin::of(app, client.map(|ClientIp(address)| address))
}

/// Adds the detail policies' keys to `detail`; a failure to read them leaves the reply as
/// it is (logged), since the authentication itself was decided.
fn with_detail_policies(
    app: &App,
    conn: &mut linotp_store::AnyConnection,
    origin: RequestOrigin,
    subject: &ReplySubject,
    success: bool,
    audit: &AuditTrail,
    detail: &mut Option<Value>,
) {
    if let Err(error) = service::apply_detail_policies(
        app,
        conn,
        origin,
        subject,
        success,
        &audit.action_detail,
        detail,
    ) {
        tracing::warn!(%error, "detail policies not applied");
    }
}

/// A check and its detail policies on the blocking pool; a failure to get there (pool
/// exhausted, database gone) is a raised error like any other. `detail_success` says what
/// the detail policies count as a success (LinOTP reads it from the reply's `value`).
async fn run_check(
    app: &AppState,
    params: Params,
    origin: RequestOrigin,
    check: fn(&App, &mut linotp_store::AnyConnection, &Params, RequestOrigin) -> CheckOutcome,
    detail_success: fn(&CheckOutcome) -> bool,
) -> CheckOutcome {
    let outcome = app
        .with_conn(move |app, conn| {
            let mut outcome = check(app, conn, &params, origin);
            let success = detail_success(&outcome);
            with_detail_policies(
                app,
                conn,
                origin,
                &outcome.subject,
                success,
                &outcome.audit,
                &mut outcome.detail,
            );
            Ok(outcome)
        })
        .await;
    outcome.unwrap_or_else(CheckOutcome::from_error)
}

fn accepted(outcome: &CheckOutcome) -> bool {
    outcome.accepted
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

fn with_detail(reply: JsonReply, detail: Option<Value>) -> JsonReply {
    match detail {
        Some(Value::Object(map)) if map.is_empty() => reply,
        Some(detail) => reply.detail(detail),
        None => reply,
    }
}

/// `/validate/check`: `user` (+ `realm`) and `pass`.
async fn check(State(app): State<AppState>, client: Option<ClientIp>, params: Params) -> JsonReply {
    let origin = origin_of(&app, client);
    let outcome = run_check(&app, params, origin, service::check_user_pass, accepted).await;
    record(
        &app,
        "validate/check",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    with_detail(
        JsonReply::result(outcome.accepted).id(reply_id::VALIDATE),
        outcome.detail,
    )
}

/// `/validate/check_s`: `serial` and `pass`.
async fn check_s(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> JsonReply {
    let origin = origin_of(&app, client);
    let outcome = run_check(&app, params, origin, service::check_serial_pass, accepted).await;
    record(
        &app,
        "validate/check_s",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    let reply = JsonReply::result(outcome.accepted).id(reply_id::VALIDATE);
    let reply = if outcome.raised.is_some() {
        reply.status_flag(false)
    } else {
        reply
    };
    with_detail(reply, outcome.detail)
}

/// `/validate/simplecheck`: the text reply of `check`.
async fn simplecheck(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> SimpleCheck {
    let origin = origin_of(&app, client);
    let outcome = app
        .with_conn(move |app, conn| Ok(service::check_user_pass(app, conn, &params, origin)))
        .await
        .unwrap_or_else(CheckOutcome::from_error);
    record(
        &app,
        "validate/simplecheck",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    if outcome.accepted {
        return SimpleCheck::Accepted;
    }
    match outcome.challenge() {
        Some((transaction_id, message)) => SimpleCheck::Challenge {
            transaction_id,
            message,
        },
        None => SimpleCheck::Rejected,
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
    origin: RequestOrigin,
) -> (CheckOutcome, Map<String, Value>) {
    let mut outcome = service::check_user_pass(app, conn, params, origin);
    let mut attributes = Map::new();
    if outcome.accepted && outcome.raised.is_none() {
        match saml_attributes(app, conn, &outcome.subject) {
            Ok(Some(found)) => attributes = found,
            Ok(None) => {}
            Err(error) => return (CheckOutcome::from_error(error), Map::new()),
        }
    }
    // LinOTP reads success from `result.value`, which is a dict here: detail policies always
    // see a failure.
    with_detail_policies(
        app,
        conn,
        origin,
        &outcome.subject,
        false,
        &outcome.audit,
        &mut outcome.detail,
    );
    (outcome, attributes)
}

fn saml_attributes(
    app: &App,
    conn: &mut linotp_store::AnyConnection,
    subject: &ReplySubject,
) -> Result<Option<Map<String, Value>>> {
    let config = app.system_config(conn)?;
    if config.get("allowSamlAttributes") != Some("True") {
        return Ok(None);
    }
    let Some(user) = &subject.user else {
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
    let origin = origin_of(&app, client);
    let result = app
        .with_conn(move |app, conn| Ok(saml_check(app, conn, &params, origin)))
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
        return with_detail(
            JsonReply::result(false).id(reply_id::VALIDATE),
            outcome.detail,
        );
    }
    let value = json!({"auth": outcome.accepted, "attributes": Value::Object(attributes)});
    with_detail(
        JsonReply::result(value).id(reply_id::VALIDATE),
        outcome.detail,
    )
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
    let origin = origin_of(&app, client);
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
    let result = app
        .with_conn(move |app, conn| {
            let outcome = service::check_transaction(app, conn, &params, &transaction, origin);
            let mut detail = Some(Value::Object(outcome.detail.clone()));
            if outcome.raised.is_none() {
                with_detail_policies(
                    app,
                    conn,
                    origin,
                    &outcome.subject,
                    outcome.accepted,
                    &outcome.audit,
                    &mut detail,
                );
            }
            Ok((outcome, detail))
        })
        .await;
    let (outcome, detail) = match result {
        Ok(done) => done,
        Err(error) => {
            let reply = failed(&mut audit, error.message());
            record(&app, "validate/check_t", false, &audit, client).await;
            return reply;
        }
    };
    record(
        &app,
        "validate/check_t",
        outcome.accepted,
        &outcome.audit,
        client,
    )
    .await;
    if outcome.raised.is_some() {
        return JsonReply::result(false).id(reply_id::VALIDATE);
    }
    let value = json!({"value": outcome.accepted, "failcount": outcome.fail_count});
    with_detail(JsonReply::result(value).id(reply_id::DEFAULT), detail)
}

/// `/validate/check_status`: polling the state of a challenge transaction.
async fn check_status(
    State(app): State<AppState>,
    client: Option<ClientIp>,
    params: Params,
) -> JsonReply {
    let origin = origin_of(&app, client);
    let mut audit = AuditTrail::default();
    let reply = JsonReply::result(false).id(reply_id::VALIDATE);
    let transaction = transaction_id(&params).filter(|id| !id.is_empty());
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
    let result = app
        .with_conn(move |app, conn| {
            let outcome = service::transaction_status(app, conn, &params, &transaction, origin);
            let mut detail = Some(Value::Object(outcome.detail.clone()));
            let success = outcome.found && any_answered(&outcome.detail);
            with_detail_policies(
                app,
                conn,
                origin,
                &outcome.subject,
                success,
                &outcome.audit,
                &mut detail,
            );
            Ok((outcome, detail))
        })
        .await;
    let (outcome, detail) = match result {
        Ok(done) => done,
        Err(error) => {
            audit.info = error.message();
            record(&app, "validate/check_status", false, &audit, client).await;
            return reply;
        }
    };
    record(
        &app,
        "validate/check_status",
        outcome.found,
        &outcome.audit,
        client,
    )
    .await;
    if outcome.raised.is_some() {
        return reply;
    }
    with_detail(
        JsonReply::result(outcome.found).id(reply_id::VALIDATE),
        detail,
    )
}

/// LinOTP's `validate_transactions`: with transactions in the reply, a success needs one of
/// them closed with a valid answer.
fn any_answered(detail: &Map<String, Value>) -> bool {
    match detail.get("transactions").and_then(Value::as_object) {
        Some(transactions) if !transactions.is_empty() => transactions.values().any(|entry| {
            entry.get("status").and_then(Value::as_str) == Some("closed")
                && entry.get("valid_tan").and_then(Value::as_bool) == Some(true)
        }),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_status_counts_as_success_only_with_an_answered_transaction() {
        let open = json!({"transactions": {"1": {"status": "open", "valid_tan": false}}});
        let answered = json!({"transactions": {"1": {"status": "closed", "valid_tan": true}}});
        let refused = json!({"transactions": {"1": {"status": "closed", "valid_tan": false}}});
        assert!(!any_answered(open.as_object().unwrap()));
        assert!(any_answered(answered.as_object().unwrap()));
        assert!(!any_answered(refused.as_object().unwrap()));
        assert!(any_answered(&Map::new()));
    }
}
