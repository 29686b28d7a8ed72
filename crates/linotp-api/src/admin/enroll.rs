//! `/admin/init`: enrolling (or re-initialising) hmac, totp, motp, spass, pw and dpw tokens,
//! with LinOTP's parameter rules, generated serials, stored columns and enrollment details.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use linotp_core::{HashAlgorithm, InfoValue, TokenKind, parse_validity_date};
use linotp_crypto::token_secrets;
use linotp_policy::RealmRights;
use linotp_store::realms;
use linotp_store::tokens::{self, Token, TokenFilter, TokenListOptions};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use super::otpauth::{self, OtpAuth, python_str};
use super::{Access, Ctx, admin_handler, store_info, token_info};
use crate::error::{ApiError, Result, codes};
use crate::params::Params;
use crate::pyfmt::python_str_repr;
use crate::reply::{HTML_CONTENT_TYPE, JsonReply, reply_id};
use crate::sysconfig::SystemConfig;
use crate::users::RequestedUser;

admin_handler!(
    /// `POST /admin/init`.
    init,
    "admin/init",
    Access::Write,
    reply_id::DEFAULT,
    init_token
);

/// The serial prefix of a token class (`getClassPrefix`, upper-cased by `genSerial`).
pub(crate) fn class_prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Hmac => "OATH",
        TokenKind::Totp => "TOTP",
        TokenKind::Motp => "LSMO",
        TokenKind::Spass => "LSSP",
        TokenKind::Password => "KIPW",
        TokenKind::DayPassword => "DOTP",
    }
}

/// Key length in bytes of a generated HMAC/TOTP seed for a hash name.
fn generated_key_len(hashlib: &str) -> usize {
    match hashlib.to_lowercase().as_str() {
        "sha256" => 32,
        "sha512" => 64,
        _ => 20,
    }
}

/// What `/admin/init` sets on a token, worked out from the parameters before anything is
/// written (LinOTP's token class `update`).
pub(crate) struct Enrollment {
    pub(crate) kind: TokenKind,
    /// The seed as the token keeps it: hex for HOTP/TOTP/spass, the ASCII secret for mOTP and
    /// DPW, the password for pw.
    pub(crate) seed: Zeroizing<String>,
    /// mOTP device PIN (`otppin`).
    pub(crate) device_pin: Option<Zeroizing<String>>,
    /// Tokeninfo entries in the order LinOTP writes them.
    pub(crate) info: Vec<(String, InfoValue)>,
    /// New OTP length, if the parameters set one.
    pub(crate) otp_len: Option<i32>,
    /// The token PIN, if given (even empty).
    pub(crate) pin: Option<Zeroizing<String>>,
    /// `encryptpin=true`: store the PIN encrypted (`@@…`) instead of hashed.
    pub(crate) encrypt_pin: bool,
    pub(crate) description: Option<String>,
    pub(crate) active: Option<bool>,
    /// Hash name for the enrollment URL.
    pub(crate) hashlib: String,
    /// Time step for the enrollment URL (TOTP).
    pub(crate) time_step: Option<String>,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("kind", &self.kind)
            .field("seed", &"<redacted>")
            .field("otp_len", &self.otp_len)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(true) => Some("True".to_owned()),
        Value::Bool(false) => Some("False".to_owned()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A parameter as a tokeninfo value: JSON numbers stay numbers, everything else is text
/// (LinOTP stores form values as the strings they arrived as).
fn info_value(value: &Value) -> InfoValue {
    serde_json::from_value::<InfoValue>(value.clone()).unwrap_or(InfoValue::Null)
}

fn random_hex(ctx: &Ctx<'_>, bytes: usize, upper: bool) -> Result<Zeroizing<String>> {
    let mut buffer = Zeroizing::new(vec![0u8; bytes]);
    ctx.app.security.random(&mut buffer)?;
    let encoded = if upper {
        data_encoding::HEXUPPER.encode(&buffer)
    } else {
        data_encoding::HEXLOWER.encode(&buffer)
    };
    Ok(Zeroizing::new(encoded))
}

fn non_hex_seed() -> ApiError {
    // LinOTP's InvalidSeedException prints the repr of its message.
    ApiError::Internal("'The provided token seed contains non-hexadecimal characters'".to_owned())
}

impl Enrollment {
    /// Works out the enrollment from the parameters (LinOTP's `update` of the token class),
    /// with LinOTP's errors for missing, conflicting or malformed values.
    pub(crate) fn from_params(
        ctx: &Ctx<'_>,
        kind: TokenKind,
        params: &Params,
        config: &SystemConfig,
    ) -> Result<Enrollment> {
        let mut info: Vec<(String, InfoValue)> = Vec::new();
        let mut otpkey: Option<Zeroizing<String>> =
            params.get("otpkey").and_then(text_of).map(Zeroizing::new);
        let mut genkey_consumed = false;
        let mut otp_len = None;
        let mut device_pin = None;
        let mut time_step = None;
        let hashlib = params
            .optional("hashlib")
            .filter(|name| !name.is_empty())
            .map_or_else(|| "sha1".to_owned(), |name| name.into_owned());

        match kind {
            TokenKind::Totp => {
                if params.int("genkey")? == Some(1) {
                    otpkey = Some(random_hex(ctx, generated_key_len(&hashlib), false)?);
                    genkey_consumed = true;
                } else if otpkey.is_none() {
                    return Err(ApiError::MissingParameter {
                        name: "otpkey".to_owned(),
                    });
                }
                otp_len = Some(match params.optional("otplen") {
                    Some(text) => python_int("otplen", &text)?,
                    None => config.default_otp_len(),
                });
            }
            TokenKind::Motp => {
                if params.optional("genkey").as_deref() == Some("1") {
                    otpkey = Some(random_hex(ctx, 8, true)?);
                    genkey_consumed = true;
                }
                if otpkey.is_none() {
                    return Err(ApiError::MissingParameter {
                        name: "otpkey".to_owned(),
                    });
                }
                let pin = params.required("otppin")?;
                device_pin = Some(Zeroizing::new(pin.into_owned()));
            }
            TokenKind::Spass => {
                if params.contains("onetime") {
                    info.push(("count_auth_success_max".to_owned(), InfoValue::from(1)));
                }
            }
            TokenKind::Password => {
                if !params.contains("otpkey") {
                    return Err(ApiError::Parameter(
                        "Missing Parameter 'otpkey'!".to_owned(),
                    ));
                }
                if params.contains("onetime") {
                    info.push(("count_auth_success_max".to_owned(), InfoValue::from(1)));
                }
            }
            TokenKind::DayPassword => {
                if otpkey.is_none() {
                    return Err(ApiError::MissingParameter {
                        name: "otpkey".to_owned(),
                    });
                }
            }
            TokenKind::Hmac => {}
        }

        let hex_seed = matches!(kind, TokenKind::Hmac | TokenKind::Totp | TokenKind::Motp);
        if hex_seed {
            if HashAlgorithm::from_linotp_name(&hashlib).is_err() {
                return Err(ApiError::Internal(format!(
                    "unsupported hash function {}",
                    python_str_repr(&hashlib)
                )));
            }
            set_info(&mut info, "hashlib", InfoValue::from(hashlib.as_str()));
            if let Some(key) = otpkey.as_mut() {
                let stripped: String = key.chars().filter(|c| *c != ' ' && *c != '-').collect();
                *key = Zeroizing::new(stripped);
            }
        }

        // TokenClass.update: genkey / otpkey rules.
        let genkey = if genkey_consumed {
            0
        } else {
            params.int("genkey")?.unwrap_or(0)
        };
        if genkey != 0 && genkey != 1 {
            return Err(ApiError::Internal(format!(
                "TokenClass supports only genkey in range [0,1] : {genkey}"
            )));
        }
        let forced_genkey = kind == TokenKind::Spass && otpkey.is_none();
        if genkey == 1 && otpkey.is_some() {
            return Err(ApiError::Coded {
                id: codes::GENKEY_AND_OTPKEY,
                description:
                    "[ParameterError] You may either specifygenkey or otpkey, but not both!"
                        .to_owned(),
            });
        }
        if otpkey.is_none() && (genkey == 1 || forced_genkey) {
            let length = if kind == TokenKind::Hmac {
                generated_key_len(&hashlib)
            } else {
                20
            };
            otpkey = Some(random_hex(ctx, length, false)?);
        }
        let Some(seed) = otpkey else {
            return Err(ApiError::MissingParameter {
                name: "otpkey".to_owned(),
            });
        };
        if hex_seed && !seed.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(non_hex_seed());
        }

        let pin = params.get("pin").and_then(text_of).map(Zeroizing::new);
        let encrypt_pin = params
            .optional("encryptpin")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        if kind != TokenKind::Totp
            && let Some(text) = params.optional("otplen").filter(|text| !text.is_empty())
        {
            otp_len = Some(python_int("otplen", &text)?);
        }

        let mut description = params
            .optional("description")
            .filter(|text| !text.is_empty())
            .map(|text| text.into_owned());
        let scope = if let Some(raw) = params.get("scope") {
            Some(match raw {
                Value::String(text) => serde_json::from_str::<Value>(text)
                    .map_err(|error| ApiError::Internal(error.to_string()))?,
                other => other.clone(),
            })
        } else if params.contains("rollout") {
            Some(json!({"path": ["userservice"]}))
        } else {
            None
        };
        if let Some(scope) = scope.filter(is_truthy) {
            let paths: Vec<String> = scope
                .get("path")
                .and_then(Value::as_array)
                .map(|paths| paths.iter().filter_map(text_of).collect())
                .unwrap_or_default();
            set_info(&mut info, "scope", info_value(&scope));
            if description.is_none()
                && paths
                    .iter()
                    .any(|path| path == "userservice" || path == "validate")
            {
                description = Some("rollout token".to_owned());
            }
        }
        let active = match params.get("enable") {
            None => None,
            Some(_) => Some(params.bool("enable")?.unwrap_or(true)),
        };

        if kind == TokenKind::Totp {
            let configured = |key: &str, default: i64| -> InfoValue {
                config
                    .get(key)
                    .map_or_else(|| InfoValue::from(default), InfoValue::from)
            };
            let window = params
                .get("timeWindow")
                .map_or_else(|| configured("totp.timeWindow", 180), info_value);
            let shift = params
                .get("timeShift")
                .map_or_else(|| configured("totp.timeShift", 0), info_value);
            let step = params
                .get("timeStep")
                .map_or_else(|| configured("totp.timeStep", 30), info_value);
            for (key, value) in [
                ("timeWindow", window),
                ("timeShift", shift),
                ("timeStep", step),
            ] {
                if !matches!(&value, InfoValue::Null) && value.as_str() != Some("") {
                    if key == "timeStep" {
                        time_step = Some(match &value {
                            InfoValue::String(text) => text.clone(),
                            InfoValue::Number(number) => number.to_string(),
                            _ => "30".to_owned(),
                        });
                    }
                    set_info(&mut info, key, value);
                }
            }
            set_info(&mut info, "hashlib", InfoValue::from(hashlib.as_str()));
        }
        if kind == TokenKind::Password {
            otp_len = Some(i64::try_from(seed.chars().count()).unwrap_or(i64::MAX));
        }
        for key in ["validity_period_start", "validity_period_end"] {
            if let Some(text) = params.optional(key).filter(|text| !text.is_empty()) {
                parse_validity_date(&text).map_err(|_| {
                    ApiError::Internal(format!(
                        "time data {} does not match format '%d/%m/%y %H:%M'",
                        python_str_repr(&text)
                    ))
                })?;
                set_info(&mut info, key, InfoValue::from(text.as_ref()));
            }
        }

        Ok(Enrollment {
            kind,
            seed,
            device_pin,
            info,
            otp_len: otp_len.map(|len| i32::try_from(len).unwrap_or(i32::MAX)),
            pin,
            encrypt_pin,
            description,
            active,
            hashlib,
            time_step,
        })
    }

    /// Writes the enrollment onto a token row (seed, PINs, lengths, tokeninfo, flags).
    pub(crate) fn apply(&self, ctx: &Ctx<'_>, row: &mut Token) -> Result<()> {
        let security = ctx.app.security.as_ref();
        let stored = if self.kind == TokenKind::Password {
            token_secrets::create_pw_token_seed(&self.seed)?
        } else {
            token_secrets::encrypt_seed(security, self.seed.as_bytes())?
        };
        row.key_iv = stored.key_iv;
        row.key_enc = stored.key_enc;
        // A new seed starts a new token: counter and fail counter back to 0.
        row.count = 0;
        row.fail_count = 0;
        if let Some(device_pin) = &self.device_pin {
            let stored = token_secrets::encrypt_user_pin(security, device_pin)?;
            row.pin_user = stored.pin_user;
            row.pin_user_iv = stored.pin_user_iv;
        }
        if let Some(pin) = &self.pin {
            let stored = if self.encrypt_pin {
                token_secrets::encrypt_pin_for_token(security, pin)?
            } else {
                token_secrets::hash_pin(security, pin)?
            };
            row.pin_hash = stored.pin_hash;
            row.pin_salt = stored.pin_seed;
        }
        if let Some(otp_len) = self.otp_len {
            row.otp_len = otp_len;
        }
        if !self.info.is_empty() {
            let mut info = token_info(row)?;
            for (key, value) in &self.info {
                info.set(key, value.clone());
            }
            store_info(row, &info);
        }
        if let Some(description) = &self.description {
            row.description.clone_from(description);
        }
        if let Some(active) = self.active {
            row.is_active = active;
        }
        Ok(())
    }
}

fn set_info(info: &mut Vec<(String, InfoValue)>, key: &str, value: InfoValue) {
    match info.iter_mut().find(|(existing, _)| existing == key) {
        Some(slot) => slot.1 = value,
        None => info.push((key.to_owned(), value)),
    }
}

fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(members) => !members.is_empty(),
    }
}

/// Python's `int(text)` of a numeric setting `name` (lengths, windows, counters: never
/// secrets, so the value is shown as Python's ValueError shows it).
pub(crate) fn python_int(name: &str, text: &str) -> Result<i64> {
    crate::params::parse_python_int(text).ok_or_else(|| ApiError::InvalidInteger {
        name: name.to_owned(),
        shown: python_str_repr(text),
    })
}

/// A new serial: `<PREFIX><NNNN><hex>`, NNNN = tokens of the type + 1 (at least 4 digits),
/// random upper-case hex up to 8 characters after the prefix; retried until unused.
pub(crate) fn generate_serial(
    ctx: &mut Ctx<'_>,
    kind: TokenKind,
    prefix: Option<&str>,
) -> Result<String> {
    let prefix = prefix.map_or_else(|| class_prefix(kind).to_owned(), str::to_owned);
    let of_type = tokens::list(
        ctx.conn,
        &TokenFilter {
            token_type: Some(kind.linotp_type().to_owned()),
            ..TokenFilter::default()
        },
        &TokenListOptions {
            page: Some((1, 1)),
            ..TokenListOptions::default()
        },
    )?
    .total;
    let number = format!("{:04}", of_type + 1);
    let hex_len = 8usize.saturating_sub(number.len());
    loop {
        let random = random_hex(ctx, hex_len.div_ceil(2), true)?;
        let serial = format!("{prefix}{number}{}", &random[..hex_len.min(random.len())]);
        if tokens::get_by_serial(ctx.conn, &serial)?.is_none() {
            return Ok(serial);
        }
    }
}

fn init_token(ctx: &mut Ctx<'_>, params: &Params) -> Result<Response> {
    let type_param = params
        .optional("type")
        .filter(|alias| !alias.is_empty())
        .map_or_else(|| "hmac".to_owned(), |alias| alias.into_owned());
    let kind = TokenKind::from_linotp_type(&type_param).ok_or_else(|| ApiError::Coded {
        id: codes::UNKNOWN_TOKEN_TYPE,
        description: format!(
            "admin/init failed: unknown token type {}",
            python_str_repr(&type_param)
        ),
    })?;
    let user = ctx.requested_user(params);
    let admin_realms = authorize_init(ctx, kind, &user, params)?;

    let serial = match params
        .optional("serial")
        .filter(|serial| !serial.is_empty())
    {
        Some(serial) => serial.into_owned(),
        None => {
            let prefix = params.optional("prefix");
            generate_serial(ctx, kind, prefix.as_deref())?
        }
    };
    let existing = tokens::get_by_serial(ctx.conn, &serial)?;
    if let Some(existing) = &existing
        && super::kind(existing) != Some(kind)
    {
        return Err(ApiError::Linotp(format!(
            "initToken failed: token {} already exist with type {}. Can not initialize \
             token with new type {}",
            python_str_repr(&serial),
            python_str_repr(&existing.token_type),
            python_str_repr(&type_param)
        )));
    }

    let config = ctx.config.clone();
    let mut enrollment = Enrollment::from_params(ctx, kind, params, &config)?;
    let owner = owner_of(ctx, &user)?;
    if let Some(owner) = &owner {
        super::limits::check_enrollment(ctx, owner, kind)?;
    }
    let pin_rules = super::pin_policy::for_enrollment(ctx, &user, owner.as_ref())?;
    if let Some(random) = pin_rules.random {
        enrollment.pin = Some(random);
    }
    enrollment.encrypt_pin |= pin_rules.encrypt;

    let naming = super::limits::enrollment_naming(ctx, owner.as_ref(), &user.realm)?;
    let fill = |template: &str| {
        template
            .replace("<s>", &serial)
            .replace("<u>", &user.login)
            .replace("<r>", &user.realm)
            .replace("<d>", enrollment.description.as_deref().unwrap_or_default())
    };
    let label = match &naming.label {
        Some(template) => fill(template),
        None if user.is_empty() => serial.clone(),
        None => user.login.clone(),
    };
    let issuer = fill(&naming.issuer);
    let mut row = match &existing {
        Some(existing) => existing.clone(),
        None => {
            let mut row = Token::new(&serial, kind.linotp_type());
            row.otp_len = clamp(config.default_otp_len());
            row.count_window = clamp(config.default_count_window());
            row.max_fail = clamp(config.default_max_fail());
            row.sync_window = clamp(config.default_sync_window());
            row.creation_date = Some(ctx.now_utc());
            row
        }
    };
    row.token_type = kind.linotp_type().to_owned();
    enrollment.apply(ctx, &mut row)?;
    if let Some(owner) = &owner {
        row.user_id.clone_from(&owner.user_id);
        row.id_resolver.clone_from(&owner.resolver_class_short);
        row.id_res_class.clone_from(&owner.resolver_spec);
    }

    let otp_len_text = row.otp_len.to_string();
    let url = otpauth::authenticator_url(&OtpAuth {
        token_type: params.optional("type").as_deref().unwrap_or("hotp"),
        otp_len: Some(&otp_len_text),
        hashlib: &enrollment.hashlib,
        seed: &enrollment.seed,
        time_step: enrollment.time_step.as_deref(),
        issuer: &issuer,
        label: &label,
    })?;

    let row = match existing {
        Some(_) => {
            tokens::update(ctx.conn, &row)?;
            row
        }
        None => tokens::insert(ctx.conn, &row)?,
    };
    let realm_names = token_realms(ctx, &user, params, &admin_realms)?;
    let names: Vec<&str> = realm_names.iter().map(String::as_str).collect();
    realms::set_token_realms(ctx.conn, row.id, &names)?;

    ctx.audit.serial.clone_from(&row.serial);
    ctx.audit.token_type = kind.linotp_type().to_owned();
    ctx.audit.success = true;
    ctx.audit.realm = if user.realm.is_empty() {
        admin_realms.join(", ")
    } else {
        user.realm.clone()
    };
    super::limits::check_realm_count_after(ctx, &user.realm)?;
    ctx.note_token_count()?;

    let detail = init_detail(&row.serial, &enrollment.seed, url.as_deref())?;
    if params.contains("qr") {
        let mode = params.optional("qr").filter(|mode| !mode.is_empty());
        return qr_reply(mode.as_deref().unwrap_or("html"), &detail);
    }
    Ok(JsonReply::result(true)
        .detail(Value::Object(detail))
        .into_response())
}

/// LinOTP's admin-rights pre-check of `init` (`init<TYPE>`, e.g. `initHMAC`): the user the
/// token is for must be in a realm the admin may enroll in, the admin must have that right
/// somewhere, and re-initialising an existing token needs the right in one of its realms.
/// The refusals name the `serial` and `type` parameters as Python prints them (`None` when
/// absent).
///
/// Returns the realms a token enrolled without a user goes into so that the admin sees it
/// afterwards: those the admin may enroll in, unless the admin may enroll everywhere.
fn authorize_init(
    ctx: &mut Ctx<'_>,
    kind: TokenKind,
    user: &RequestedUser,
    params: &Params,
) -> Result<Vec<String>> {
    let init_action = format!("init{}", kind.linotp_type().to_uppercase());
    let rights = ctx.admin_rights(Some(&init_action));
    let admin_realms = match &rights {
        RealmRights::Unrestricted => return Ok(Vec::new()),
        RealmRights::Only(realms) if user.login.is_empty() => realms.iter().cloned().collect(),
        RealmRights::Only(_) | RealmRights::AllExcept(_) => Vec::new(),
    };
    let shown = |name: &str| {
        params
            .optional(name)
            .map_or_else(|| "None".to_owned(), |value| value.into_owned())
    };
    let (serial, token_type) = (shown("serial"), shown("type"));
    let admin = ctx.admin.username.clone();
    let refuse = |message: String| {
        tracing::warn!(%admin, action = %init_action, "init refused by policy");
        Err(ApiError::Policy(message))
    };
    if !user.login.is_empty() && !rights.permits(&user.realm) {
        // The realm as the request spelled it (LinOTP keeps the user's realm unchanged).
        let realm = params
            .optional("realm")
            .filter(|realm| !realm.is_empty())
            .map_or_else(|| user.realm.clone(), |realm| realm.into_owned());
        return refuse(format!(
            "You do not have the administrative right to init token {serial} of type \
             {token_type} to user {}@{realm}. Check the policies.",
            user.login
        ));
    }
    if !rights.has_any() {
        return refuse(
            "You do not have the administrative right to enroll tokens. Check the policies."
                .to_owned(),
        );
    }
    if let Some(existing) = params
        .optional("serial")
        .filter(|serial| !serial.is_empty())
        .map(|serial| tokens::get_by_serial(ctx.conn, &serial))
        .transpose()?
        .flatten()
    {
        let token_realms = ctx.realms_of(&existing)?;
        if !rights.permits_token(&token_realms, false) {
            return refuse(format!(
                "You do not have the administrative right to init token {serial} of type \
                 {token_type}."
            ));
        }
    }
    Ok(admin_realms)
}

fn clamp(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

/// The user a token is enrolled for, found in the realm's resolvers; LinOTP's error when
/// nobody knows the user.
pub(crate) fn owner_of(
    ctx: &mut Ctx<'_>,
    user: &RequestedUser,
) -> Result<Option<crate::users::ResolvedUser>> {
    if user.is_empty() {
        return Ok(None);
    }
    match ctx.resolve(user)? {
        Some(resolved) => Ok(Some(resolved)),
        None => Err(unknown_user(&user.login)),
    }
}

/// LinOTP's `getUserResolverId` error for a user no resolver knows.
pub(crate) fn unknown_user(login: &str) -> ApiError {
    ApiError::Coded {
        id: codes::USER,
        description: format!(
            "getUserResolverId failed: UserError(description={}, id=1205)",
            python_str_repr(&format!("getUserId failed: no user >{login}< found!"))
        ),
    }
}

/// The realms a new token goes into: the user's realm (created when missing), plus
/// `admin_realms` (see [`authorize_init`]) and the `realm` and `tokenrealm` parameters where
/// those realms exist.
fn token_realms(
    ctx: &mut Ctx<'_>,
    user: &RequestedUser,
    params: &Params,
    admin_realms: &[String],
) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    if !user.is_empty() && !user.realm.is_empty() {
        realms::get_or_create(ctx.conn, &user.realm)?;
        names.push(user.realm.to_lowercase());
    }
    let mut requested: Vec<String> = admin_realms.to_vec();
    if let Some(realm) = params.optional("realm") {
        requested.push(realm.into_owned());
    }
    if let Some(list) = params.optional("tokenrealm") {
        requested.extend(list.split(',').map(|name| name.trim().to_owned()));
    }
    for name in requested {
        let name = name.to_lowercase();
        if name.is_empty() || names.contains(&name) {
            continue;
        }
        if realms::get_by_name(ctx.conn, &name)?.is_some() {
            names.push(name);
        }
    }
    Ok(names)
}

/// The reply `detail` of `/admin/init`: `otpkey` (the seed and its QR image), `serial`, and
/// for authenticator-app tokens `enrollment_url` and its alias `googleurl`.
pub(crate) fn init_detail(
    serial: &str,
    seed: &str,
    url: Option<&str>,
) -> Result<Map<String, Value>> {
    let mut detail = Map::new();
    detail.insert(
        "otpkey".to_owned(),
        json!({
            "order": "1",
            "description": "OTP seed",
            "value": format!("seed://{seed}"),
            "img": otpauth::img_tag(seed, 200, None)?,
        }),
    );
    detail.insert("serial".to_owned(), Value::from(serial));
    if let Some(url) = url {
        let entry = json!({
            "order": "0",
            "description": "OTPAuth Url",
            "value": url,
            "img": otpauth::img_tag(url, 250, None)?,
        });
        detail.insert("enrollment_url".to_owned(), entry.clone());
        detail.insert("googleurl".to_owned(), entry);
    }
    Ok(detail)
}

/// The `qr=` image reply of `/admin/init` (LinOTP's `sendQRImageResult`): `png` is the QR of
/// the enrollment URL, `img`/`embed` its `<img>` tag, anything else an HTML page listing the
/// enrollment details.
pub(crate) fn qr_reply(mode: &str, detail: &Map<String, Value>) -> Result<Response> {
    let url_entry = detail.get("enrollment_url");
    // Without an enrollment URL, LinOTP encodes Python's `str(None)`.
    let data = url_entry
        .and_then(|entry| entry.get("value"))
        .and_then(Value::as_str)
        .unwrap_or("None");
    let html = |body: String| {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(HTML_CONTENT_TYPE),
            )],
            body,
        )
            .into_response()
    };
    match mode {
        "png" => Ok((
            [(header::CONTENT_TYPE, HeaderValue::from_static("image/png"))],
            otpauth::qr_png(data)?,
        )
            .into_response()),
        "img" | "embed" => {
            let alt = url_entry.map(otpauth::python_repr);
            Ok(html(otpauth::img_tag(data, 0, alt.as_deref())?))
        }
        _ => {
            let items: Vec<(String, String)> = detail
                .iter()
                .map(|(key, value)| (key.clone(), python_str(value)))
                .collect();
            Ok(html(otpauth::html_page(data, &items)?))
        }
    }
}
