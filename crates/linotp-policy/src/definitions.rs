//! Every scope and action LinOTP knows, with value types, allowed values
//! and the defaults LinOTP applies when no policy sets an action — the data
//! behind `/system/getPolicyDef` and behind `policy_action_validation`.

use std::borrow::Cow;
use std::sync::LazyLock;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::action::{ActionValue, Actions};
use crate::error::{Error, Result, py_str};

/// The value type LinOTP declares for an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionType {
    /// `"bool"`.
    Bool,
    /// `"int"`.
    Int,
    /// `"str"`.
    Str,
    /// `"string"`: LinOTP's older spelling of `str`, kept for `getPolicyDef`.
    LegacyString,
    /// `"set"`: one of `value`, or space-separated members of `range`.
    Set,
    /// `["int", "duration"]`: days, or a duration like `2h 30m` / `P1D`.
    IntOrDuration,
}

impl ActionType {
    fn py_repr(self) -> &'static str {
        match self {
            Self::Bool => "'bool'",
            Self::Int => "'int'",
            Self::Str => "'str'",
            Self::LegacyString => "'string'",
            Self::Set => "'set'",
            Self::IntOrDuration => "['int', 'duration']",
        }
    }
}

impl Serialize for ActionType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Bool => serializer.serialize_str("bool"),
            Self::Int => serializer.serialize_str("int"),
            Self::Str => serializer.serialize_str("str"),
            Self::LegacyString => serializer.serialize_str("string"),
            Self::Set => serializer.serialize_str("set"),
            Self::IntOrDuration => {
                let mut seq = serializer.serialize_seq(Some(2))?;
                seq.serialize_element("int")?;
                seq.serialize_element("duration")?;
                seq.end()
            }
        }
    }
}

/// One allowed value of an action (`value` list of a definition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Literal {
    /// An integer.
    Int(i64),
    /// A string.
    Str(&'static str),
}

impl Literal {
    fn py_repr(self) -> String {
        match self {
            Self::Int(value) => value.to_string(),
            Self::Str(value) => py_str(value),
        }
    }

    fn equals(self, value: &ActionValue) -> bool {
        match (self, value) {
            (Self::Int(expected), ActionValue::Int(actual)) => expected == *actual,
            // Python: True == 1, False == 0.
            (Self::Int(expected), ActionValue::Bool(actual)) => expected == i64::from(*actual),
            (Self::Str(expected), ActionValue::Str(actual)) => expected == actual,
            _ => false,
        }
    }
}

impl Serialize for Literal {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Int(value) => serializer.serialize_i64(*value),
            Self::Str(value) => serializer.serialize_str(value),
        }
    }
}

/// Which JSON key LinOTP used for an action's description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DescriptionKey {
    Desc,
    Description,
}

/// The definition of one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionDef {
    name: String,
    kind: ActionType,
    description: Option<(DescriptionKey, Cow<'static, str>)>,
    values: Vec<Literal>,
    range: &'static [&'static str],
    default: Option<ActionValue>,
}

impl ActionDef {
    fn new(name: impl Into<String>, kind: ActionType) -> Self {
        Self {
            name: name.into(),
            kind,
            description: None,
            values: Vec::new(),
            range: &[],
            default: None,
        }
    }

    fn desc(mut self, text: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some((DescriptionKey::Desc, text.into()));
        self
    }

    fn description(mut self, text: &'static str) -> Self {
        self.description = Some((DescriptionKey::Description, Cow::Borrowed(text)));
        self
    }

    fn values(mut self, values: &[Literal]) -> Self {
        self.values = values.to_vec();
        self
    }

    fn ints(self, values: impl IntoIterator<Item = i64>) -> Self {
        let values: Vec<Literal> = values.into_iter().map(Literal::Int).collect();
        self.values(&values)
    }

    fn range(mut self, range: &'static [&'static str]) -> Self {
        self.range = range;
        self
    }

    fn default(mut self, value: ActionValue) -> Self {
        self.default = Some(value);
        self
    }

    /// The action name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The declared value type.
    pub fn kind(&self) -> ActionType {
        self.kind
    }

    /// The description text, if LinOTP has one.
    pub fn description_text(&self) -> Option<&str> {
        self.description.as_ref().map(|(_, text)| text.as_ref())
    }

    /// The allowed values (empty: any value of the type).
    pub fn allowed_values(&self) -> &[Literal] {
        &self.values
    }

    /// For `set` actions: the allowed members of a space-separated list.
    pub fn allowed_members(&self) -> &[&'static str] {
        self.range
    }

    /// What LinOTP does when no policy sets the action, as a value (`None`:
    /// the feature is off or unrestricted; see the typed helpers).
    pub fn default_value(&self) -> Option<&ActionValue> {
        self.default.as_ref()
    }
}

impl Serialize for ActionDef {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", &self.kind)?;
        if let Some((key, text)) = &self.description {
            let key = match key {
                DescriptionKey::Desc => "desc",
                DescriptionKey::Description => "description",
            };
            map.serialize_entry(key, text.as_ref())?;
        }
        if !self.values.is_empty() {
            map.serialize_entry("value", &self.values)?;
        }
        if !self.range.is_empty() {
            map.serialize_entry("range", self.range)?;
        }
        map.end()
    }
}

/// The definitions of one scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeDef {
    name: &'static str,
    actions: Vec<ActionDef>,
}

impl ScopeDef {
    /// The scope name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// One action's definition.
    pub fn action(&self, name: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|action| action.name == name)
    }

    /// All actions, in LinOTP's order.
    pub fn actions(&self) -> &[ActionDef] {
        &self.actions
    }

    fn upsert(&mut self, action: ActionDef) {
        match self
            .actions
            .iter_mut()
            .find(|existing| existing.name == action.name)
        {
            Some(existing) => *existing = action,
            None => self.actions.push(action),
        }
    }
}

impl Serialize for ScopeDef {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.actions.len()))?;
        for action in &self.actions {
            map.serialize_entry(&action.name, action)?;
        }
        map.end()
    }
}

/// All scopes. Serialises to the `getPolicyDef` reply value without a scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definitions {
    scopes: Vec<ScopeDef>,
}

impl Definitions {
    /// One scope's definitions.
    pub fn scope(&self, name: &str) -> Option<&ScopeDef> {
        self.scopes.iter().find(|scope| scope.name == name)
    }

    /// One action's definition.
    pub fn action(&self, scope: &str, action: &str) -> Option<&ActionDef> {
        self.scope(scope).and_then(|scope| scope.action(action))
    }

    /// All scopes in LinOTP's order.
    pub fn scopes(&self) -> &[ScopeDef] {
        &self.scopes
    }

    /// The `value` of `/system/getPolicyDef`: all scopes without `scope`,
    /// one scope's actions with it, `{}` for an unknown scope.
    pub fn to_json(&self, scope: Option<&str>) -> serde_json::Value {
        let rendered = match scope {
            None => serde_json::to_value(self),
            Some(name) => match self.scope(name) {
                Some(scope) => serde_json::to_value(scope),
                None => return serde_json::Value::Object(serde_json::Map::new()),
            },
        };
        rendered.unwrap_or_else(|_| serde_json::Value::Object(serde_json::Map::new()))
    }

    fn scope_mut(&mut self, name: &str) -> Option<&mut ScopeDef> {
        self.scopes.iter_mut().find(|scope| scope.name == name)
    }
}

impl Serialize for Definitions {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.scopes.len()))?;
        for scope in &self.scopes {
            map.serialize_entry(scope.name, scope)?;
        }
        map.end()
    }
}

/// LinOTP's token types, whose `init<TYPE>`, `enroll<TYPE>` and
/// `maxtoken<TYPE>` actions are added to the static definitions.
pub const TOKEN_TYPES: &[&str] = &[
    "dpw", "email", "fido2", "forward", "hmac", "motp", "ocra2", "pw", "push", "qr", "radius",
    "remote", "sms", "spass", "totp", "u2f", "voice", "yubico", "yubikey",
];

/// Token types without a self-service enrolment page (no `enroll<TYPE>`).
const NOT_SELF_ENROLLABLE: &[&str] = &["u2f", "voice", "yubikey"];

/// Scopes whose checks allow everything until an active policy exists in
/// them (admin-side authorisation).
pub const ADMIN_SCOPES: &[&str] = &[
    "admin",
    "system",
    "audit",
    "tools",
    "monitoring",
    "reporting.access",
];

/// What `/system/<method>` needs in scope `system`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemRight {
    /// Action `read`.
    Read,
    /// Action `write`.
    Write,
}

impl SystemRight {
    /// The policy action name.
    pub fn action(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// The `system` action a `/system/<method>` call is checked against;
/// `None` for methods LinOTP does not know (error "Unknown method").
pub fn system_right(method: &str) -> Option<SystemRight> {
    use SystemRight::{Read, Write};
    let right = match method {
        "setDefault" | "setConfig" | "delConfig" | "delResolver" | "setResolver"
        | "setDefaultRealm" | "setRealm" | "delRealm" | "setPolicy" | "importPolicy"
        | "delPolicy" | "setSupport" | "setProvider" | "setDefaultProvider" | "delProvider" => {
            Write
        }
        "getConfig"
        | "getRealms"
        | "getResolver"
        | "getResolvers"
        | "getDefaultRealm"
        | "policies_flexi"
        | "getPolicy"
        | "getPolicyDef"
        | "checkPolicy"
        | "testProvider"
        | "getProvider"
        | "getReportedStatuses" => Read,
        _ => return None,
    };
    Some(right)
}

/// The definitions of every scope, including the per-token-type actions.
pub fn definitions() -> &'static Definitions {
    static DEFINITIONS: LazyLock<Definitions> = LazyLock::new(build_definitions);
    &DEFINITIONS
}

fn bool_def(name: &str) -> ActionDef {
    ActionDef::new(name, ActionType::Bool)
}

fn str_def(name: &str) -> ActionDef {
    ActionDef::new(name, ActionType::Str)
}

fn int_def(name: &str) -> ActionDef {
    ActionDef::new(name, ActionType::Int)
}

fn scope(name: &'static str, actions: Vec<ActionDef>) -> ScopeDef {
    ScopeDef { name, actions }
}

fn build_definitions() -> Definitions {
    use ActionValue::{Bool, Int, Str};
    let admin = scope(
        "admin",
        [
            "enable",
            "disable",
            "set",
            "setOTPPIN",
            "setMOTPPIN",
            "setOCRAPIN",
            "resync",
            "reset",
            "assign",
            "unassign",
            "import",
            "remove",
            "userlist",
            "tokenowner",
            "checkstatus",
            "manageToken",
            "getserial",
            "copytokenpin",
            "copytokenuser",
            "losttoken",
            "totp_lookup",
            "getotp",
            "show",
            "unpair",
        ]
        .into_iter()
        .map(|name| {
            let def = bool_def(name);
            if name == "getotp" {
                def.desc("allow the administrator to retrieve OTP values for tokens.")
            } else {
                def
            }
        })
        .collect(),
    );
    let gettoken = scope(
        "gettoken",
        vec![
            int_def("max_count_dpw"),
            int_def("max_count_hotp"),
            int_def("max_count_totp"),
        ],
    );
    let selfservice = scope(
        "selfservice",
        vec![
            bool_def("assign").desc("The user is allowed to assign an existing token using the token serial number."),
            bool_def("disable"),
            bool_def("enable"),
            bool_def("delete"),
            bool_def("unassign"),
            bool_def("resync"),
            bool_def("verify"),
            bool_def("reset").desc("Allow to reset the failcounter of a token."),
            bool_def("setOTPPIN"),
            bool_def("setDescription"),
            bool_def("setMOTPPIN"),
            int_def("otp_pin_maxlength").ints(0..100),
            int_def("otp_pin_minlength").ints(0..100),
            str_def("otp_pin_contents"),
            bool_def("history").desc("Allow the user to view his own token history"),
            bool_def("getserial").desc("Allow to search an unassigned token by OTP value."),
            bool_def("mfa_login").desc("Requires OTP for selfservice authentication").default(Bool(false)),
            bool_def("mfa_3_fields").desc("optional OTP for selfservice authentication").default(Bool(false)),
            bool_def("mfa_passOnNoToken")
                .desc("support mfa login if user has no token with password only")
                .default(Bool(false)),
            str_def("footer_text").desc(
                "Text to show on the selfservice page in the footersection. Replaces the LinOTP copyright notice",
            ),
            str_def("imprint_url").desc("URL to link to an imprint page"),
            str_def("privacy_notice_url").desc("URL to link to a privacy notice page"),
        ],
    );
    let system = scope("system", vec![bool_def("read"), bool_def("write")]);
    let enrollment = scope(
        "enrollment",
        vec![
            int_def("tokencount").desc("Limit the number of tokens in a realm."),
            int_def("maxtoken").desc("Limit the number of tokens a user in the realm may have assigned."),
            int_def("otp_pin_random").ints(0..100),
            ActionDef::new("otp_pin_random_content", ActionType::LegacyString)
                .desc("The contents of the temporary password, described by the characters C, c, n, s."),
            int_def("otp_pin_encrypt").ints([0, 1]).default(Int(0)),
            str_def("tokenlabel").desc("the label for the authenticator and webAuthn username (fido2)."),
            str_def("tokenissuer").desc("the issuer label for the authenticator.").default(Str("LinOTP".into())),
            str_def("autoenrollment").desc(
                "users can enroll a token just by using the pin to authenticate and will an otp for authentication",
            ),
            bool_def("autoassignment_forward")
                .desc("in case of an autoassignement with a remotetoken, the credentials are forwarded")
                .default(Bool(false)),
            str_def("autoassignment_from_realm")
                .desc("define the src realm, where the unassigned tokens should be taken from"),
            bool_def("autoassignment_without_password")
                .desc(
                    "users can assign a token just by using the unassigned token to authenticate providing the otp \
                     value only.",
                )
                .default(Bool(false)),
            bool_def("autoassignment")
                .desc("users can assign a token just by using the unassigned token to authenticate.")
                .default(Bool(false)),
            bool_def("ignore_autoassignment_pin")
                .desc("Do not set password from auto assignment as token pin.")
                .default(Bool(false)),
            int_def("lostTokenPWLen").desc("The length of the password in case of temporary token.").default(Int(10)),
            str_def("lostTokenPWContents")
                .desc("The contents of the temporary password, described by the characters C, c, n, s."),
            ActionDef::new("lostTokenValid", ActionType::IntOrDuration).desc(
                "The length of the validity for the temporary token as days or duration with \"d\"-days, \
                 \"h\"-hours, \"m\"-minutes, \"s\"-seconds.",
            ),
            bool_def("purge_rollout_token")
                .desc("After a successfull login with a second token, therollout token is removed.")
                .default(Bool(false)),
        ],
    );
    let notification = scope(
        "notification",
        vec![
            str_def("autoenrollment")
                .description("provider to be used for enrollment notification"),
            str_def("enrollment").description("provider to be used for enrollment notification"),
            str_def("setPin").description("provider to be used for setPin notification"),
        ],
    );
    let authentication = scope(
        "authentication",
        vec![
            bool_def("delete_on_authentication_exceed")
                .desc("should the token be deleted if maximum authentication count was reached")
                .default(Bool(false)),
            bool_def("disable_on_authentication_exceed")
                .desc("should the token be disabled if maximum authentication count was reached")
                .default(Bool(false)),
            str_def("voice_provider").desc("The voice provider that should be used to send voice notifications"),
            str_def("push_provider").desc("The push provider that should be used to send push notifications"),
            str_def("email_provider").desc("The email provider that should be used to send emails"),
            str_def("sms_provider").desc("The sms provider that should be used to submit sms"),
            bool_def("trigger_sms")
                .desc("should it be possible to trigger a sms challengeby check_s")
                .default(Bool(false)),
            str_def("smstext")
                .desc("The text that will be send via SMS for an SMS token. Use <otp> and <serial> as parameters."),
            bool_def("enforce_smstext")
                .desc("if swith enforce_smstext, the challenge \"data\" is ignored ignored if smstext is set")
                .default(Bool(false)),
            ActionDef::new("otppin", ActionType::Set)
                .values(&[
                    Literal::Int(0),
                    Literal::Int(1),
                    Literal::Int(2),
                    Literal::Int(3),
                    Literal::Str("token_pin"),
                    Literal::Str("password"),
                    Literal::Str("only_otp"),
                    Literal::Str("ignore_pin"),
                ])
                .desc(
                    "either use the Token PIN (0=token_pin), use the Userstore Password (1=password),use no fixed \
                     password component (2=only_otp) orignore the pin/password (3=ignore_pin).",
                )
                .default(Int(0)),
            bool_def("autosms")
                .desc("if set, a new SMS OTP will be sent after successful authentication with one SMS OTP")
                .default(Bool(false)),
            bool_def("passthru")
                .desc(
                    "If set, the user in this realm will be authenticated against the UserIdResolver, if the user \
                     has no tokens assigned.",
                )
                .default(Bool(false)),
            str_def("forward_server").desc(
                "If set, the users authentication request will be forwarded to another linotp or radius server.",
            ),
            bool_def("forward_on_no_token")
                .desc("the authentication request of the user will beforwarded, if the user has no token")
                .default(Bool(false)),
            bool_def("passOnNoToken")
                .desc("if the user has no token, the authentication request for this user will always be true.")
                .default(Bool(false)),
            str_def("qrtanurl").desc("The URL for the half automatic mode that should be used in a QR Token"),
            str_def("qrtanurl_init")
                .desc("The URL for rollout in the half automatic mode that should be used in a QR Token rollout."),
            str_def("challenge_response")
                .desc("A list of tokentypes for which challenge response should be used.")
                .default(Str(String::new())),
            str_def("qrtoken_pairing_callback_url").desc("The url the pairing response should be send to"),
            str_def("qrtoken_pairing_callback_sms").desc("The phone number the pairing response should be send to"),
            str_def("qrtoken_challenge_callback_url").desc("The url the challenge response should be send to"),
            str_def("qrtoken_challenge_callback_sms").desc("The sms number the challenge response should be send to"),
            str_def("qrtoken_pairing_cert").desc(
                "Signifies the certificate id that should be used during pairing. If it is not set, the system will \
                 assume that pairing should be done without a certificate.",
            ),
            ActionDef::new("support_offline", ActionType::Set)
                .range(&["qr", "u2f", "forward", "fido2"])
                .desc("The token types that should support offline authentication"),
        ],
    );
    let authorization = scope(
        "authorization",
        vec![
            bool_def("authorize").desc("The user/realm will be authorized to login to the clients IPs."),
            str_def("tokentype").desc("The user will only be authenticated with this very tokentype."),
            str_def("serial")
                .desc("The user will only be authenticated if the serial number of the token matches this regexp."),
            str_def("setrealm").desc(
                "The Realm of the user is set to this very realm. This is important if the user is not contained \
                 in the default realm and can not pass his realm.",
            ),
            bool_def("detail_on_success")
                .desc("In case of successful authentication additional detail information will be returned.")
                .default(Bool(false)),
            bool_def("detail_on_fail")
                .desc("In case of failed authentication additional detail information will be returned.")
                .default(Bool(false)),
        ],
    );
    let audit = scope("audit", vec![bool_def("view")]);
    let tools = scope(
        "tools",
        vec![
            bool_def("migrate_resolver")
                .desc("Support the migration of assigned tokens to a new resolver "),
            bool_def("import_users").desc("Import users from a file into a new resolver "),
        ],
    );
    let monitoring = scope(
        "monitoring",
        vec![
            bool_def("config").desc("Allow to see basic configuratiuon"),
            bool_def("license").desc("Allow to check the license"),
            bool_def("storageEncryption").desc("Allow to check if encryption works"),
            bool_def("tokens").desc("Allow to see number of tokens in realms"),
            bool_def("userinfo").desc("Allow to get information on user-id-resolvers"),
            bool_def("activeUsers").desc("Allow to get information on active user count"),
        ],
    );
    let reporting = scope(
        "reporting",
        vec![
            bool_def("token_total").desc("Report total number of tokens"),
            bool_def("token_user_total").desc("Report total number of token users"),
            str_def("token_status").desc(
                "Report number of tokens which are in-/active,un-/assigned or combinations of these concatenatet \
                 with \"&\"",
            ),
        ],
    );
    let reporting_access = scope(
        "reporting.access",
        vec![
            bool_def("maximum"),
            bool_def("period"),
            bool_def("delete_all"),
            bool_def("delete_before")
                .desc("Delete all reporting entries before given date.Date must be geiven as \"yyyy-mm-dd\""),
            bool_def("show"),
        ],
    );
    let mut definitions = Definitions {
        scopes: vec![
            admin,
            gettoken,
            selfservice,
            system,
            enrollment,
            notification,
            authentication,
            authorization,
            audit,
            tools,
            monitoring,
            reporting,
            reporting_access,
        ],
    };
    add_token_type_actions(&mut definitions);
    definitions
}

/// Adds what LinOTP derives from its token classes: `maxtoken<TYPE>`,
/// `init<TYPE>`, `enroll<TYPE>` and each class's own policy section.
fn add_token_type_actions(definitions: &mut Definitions) {
    for token_type in TOKEN_TYPES {
        let upper = token_type.to_uppercase();
        push(
            definitions,
            "enrollment",
            int_def(&format!("maxtoken{upper}")),
        );
        push(definitions, "admin", bool_def(&format!("init{upper}")));
        if !NOT_SELF_ENROLLABLE.contains(token_type) {
            let description = format!("The user is allowed to enroll a {token_type} token.");
            push(
                definitions,
                "selfservice",
                bool_def(&format!("enroll{upper}")).desc(description),
            );
        }
        for (scope, action) in token_class_actions(token_type) {
            push(definitions, scope, action);
        }
    }
}

fn push(definitions: &mut Definitions, scope: &str, action: ActionDef) {
    if let Some(scope) = definitions.scope_mut(scope) {
        scope.upsert(action);
    }
}

/// The `policy` section of a LinOTP token class.
fn token_class_actions(token_type: &str) -> Vec<(&'static str, ActionDef)> {
    use ActionValue::Int;
    const VERIFICATION: &[Literal] = &[
        Literal::Str("required"),
        Literal::Str("preferred"),
        Literal::Str("discouraged"),
    ];
    match token_type {
        "email" => vec![
            (
                "selfservice",
                int_def("edit_email")
                    .ints([0, 1])
                    .desc("define if the user should be allowed to define the email address")
                    .default(Int(1)),
            ),
            (
                "authentication",
                str_def("emailtext").desc(
                    "The text that will be send via email for an email token. Use <otp> and <serial> as parameters.",
                ),
            ),
            (
                "authentication",
                str_def("emailsubject").desc(
                    "The subject that will be send via email for an email token. Use <otp> and <serial> as \
                     parameters.",
                ),
            ),
            (
                "authentication",
                bool_def("dynamic_email_address")
                    .desc("if set, a new email address will be retrieved from the user info instead of the token"),
            ),
        ],
        "fido2" => vec![
            ("enrollment", str_def("fido2_rp_id").desc("Relying Party ID for FIDO2/WebAuthn tokens")),
            ("enrollment", str_def("fido2_rp_name").desc("Relying Party name for FIDO2/WebAuthn tokens")),
            (
                "enrollment",
                ActionDef::new("fido2_attestation_conveyance", ActionType::Set)
                    .values(&[
                        Literal::Str("direct"),
                        Literal::Str("indirect"),
                        Literal::Str("none"),
                        Literal::Str("enterprise"),
                    ])
                    .desc(
                        "Attestation conveyance preference for FIDO2/WebAuthn token enrollment. Controls whether and \
                         how the authenticator's attestation statement is conveyed during registration.",
                    ),
            ),
            (
                "enrollment",
                ActionDef::new("fido2_user_verification_requirement", ActionType::Set).values(VERIFICATION).desc(
                    "User verification requirement for FIDO2/WebAuthn tokens. Controls whether the authenticator \
                     must verify the user (e.g. via PIN or biometric) during registration.",
                ),
            ),
            (
                "enrollment",
                ActionDef::new("fido2_resident_key_requirement", ActionType::Set).values(VERIFICATION).desc(
                    "Resident key (discoverable credential) requirement preference for FIDO2/WebAuthn token \
                     enrollment. Controls whether the authenticator should create a discoverable credential.",
                ),
            ),
            (
                "enrollment",
                ActionDef::new("fido2_authenticator_types", ActionType::Set)
                    .range(&["client-device", "security-key", "hybrid"])
                    .desc(
                        "Preferred authenticator types for FIDO2/WebAuthn token enrollment. Controls authenticator \
                         attachment and WebAuthn hints sent to the client.",
                    ),
            ),
            (
                "enrollment",
                str_def("fido2_allowed_authenticators").desc(
                    "List of allowed authenticator AAGUIDs for FIDO2/WebAuthn token enrollment. Only \
                     authenticators whose AAGUID is in this list will be accepted during registration. Enter \
                     AAGUIDs as space-separated values.",
                ),
            ),
            (
                "authentication",
                ActionDef::new("fido2_user_verification_requirement", ActionType::Set).values(VERIFICATION).desc(
                    "User verification requirement for FIDO2/WebAuthn token authentication. Controls whether the \
                     authenticator must verify the user (e.g. via PIN or biometric) during authentication.",
                ),
            ),
            (
                "authorization",
                str_def("fido2_allowed_authenticators").desc(
                    "List of allowed authenticator AAGUIDs for FIDO2/WebAuthn token authentication. Only already \
                     enrolled tokens whose AAGUID is in this list may be used. Enter AAGUIDs as space-separated \
                     values.",
                ),
            ),
        ],
        "forward" => vec![(
            "authentication",
            bool_def("forwardtoken:no_failcounter_forwarding")
                .desc("Specify if the target token fail counter should be incremented / resets or not"),
        )],
        "hmac" => vec![
            (
                "selfservice",
                int_def("hmac_hashlib")
                    .ints([1, 2, 3])
                    .desc("Specify the hashlib to be used. Can be sha1 (1), sha256 (2) or sha512 (3)"),
            ),
            (
                "selfservice",
                int_def("hmac_otplen").ints([6, 8]).desc("Specify the otplen to be used. Can be 6 or 8 digits."),
            ),
        ],
        "ocra2" => vec![("selfservice", bool_def("activate_OCRA2"))],
        "push" => vec![
            ("authentication", str_def("pushtoken_pairing_callback_url")),
            ("authentication", str_def("pushtoken_challenge_callback_url")),
            ("selfservice", bool_def("activate_PushToken").description("activate your PushToken")),
        ],
        "qr" => vec![
            ("authentication", str_def("qrtoken_pairing_callback_url")),
            ("authentication", str_def("qrtoken_pairing_callback_sms")),
            ("authentication", str_def("qrtoken_challenge_callback_url")),
            ("authentication", str_def("qrtoken_challenge_callback_sms")),
            ("selfservice", bool_def("activate_QRToken").description("activate your QRToken")),
        ],
        "sms" => vec![
            (
                "selfservice",
                int_def("edit_sms").ints([0, 1]).desc("define if the user should be allowed to define the sms").default(Int(1)),
            ),
            (
                "authentication",
                bool_def("sms_dynamic_mobile_number")
                    .desc("if set, a new mobile number will be retrieved from the user info instead of the token"),
            ),
        ],
        "totp" => vec![
            (
                "selfservice",
                int_def("totp_timestep").ints([30, 60]).desc("Specify the time step of the timebased OTP token."),
            ),
            (
                "selfservice",
                int_def("totp_hashlib")
                    .ints([1, 2, 3])
                    .desc("Specify the hashlib to be used. Can be sha1 (1), sha256 (2) or sha512 (3)"),
            ),
            (
                "selfservice",
                int_def("totp_otplen").ints([6, 8]).desc("Specify the otplen to be used. Can be 6 or 8 digits."),
            ),
        ],
        "u2f" => vec![("enrollment", str_def("u2f_valid_facets")), ("enrollment", str_def("u2f_app_id"))],
        "voice" => vec![
            (
                "authentication",
                str_def("voice_language").desc("Define the language which should be usedto render the voice message."),
            ),
            (
                "authentication",
                str_def("voice_message")
                    .desc("Define the message which will be sendto the voice service for the phonecall."),
            ),
            (
                "authentication",
                bool_def("voice_dynamic_mobile_number")
                    .desc("If set, a new mobile number will be retrieved from the user info instead of the token"),
            ),
        ],
        _ => Vec::new(),
    }
}

/// Turns a parsed action value into the type its definition declares, the
/// way LinOTP does when it reads a value for use (lenient: `bool` accepts
/// `1`, `-1`, `true`; unknown actions keep their parsed value).
pub(crate) fn typed_value(
    scope: &str,
    action: &str,
    raw: &ActionValue,
) -> std::result::Result<ActionValue, ()> {
    let Some(definition) = definitions().action(scope, action) else {
        return Ok(raw.clone());
    };
    let typed = match (definition.kind, raw) {
        (ActionType::Bool, ActionValue::Str(text)) => {
            let lower = text.trim().to_lowercase();
            let truth = if lower == "-1" {
                false
            } else if lower == "true" {
                true
            } else if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) {
                lower.parse::<u64>().map_or(true, |n| n > 0)
            } else {
                false
            };
            ActionValue::Bool(truth)
        }
        (ActionType::Int, ActionValue::Bool(value)) => ActionValue::Int(i64::from(*value)),
        (ActionType::Int, ActionValue::Str(text)) => {
            ActionValue::Int(text.trim().parse().map_err(|_| ())?)
        }
        (ActionType::Str | ActionType::LegacyString, ActionValue::Bool(value)) => {
            ActionValue::Str(ActionValue::Bool(*value).to_text())
        }
        (ActionType::Set, ActionValue::Str(text))
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            ActionValue::Int(text.parse().map_err(|_| ())?)
        }
        (_, other) => other.clone(),
    };
    Ok(typed)
}

/// A value as `convert_policy_value` sees it while validating.
enum Validated {
    One(ActionValue),
    Members(Vec<ActionValue>),
}

impl Validated {
    fn py_repr(&self) -> String {
        match self {
            Self::One(value) => value.py_repr(),
            Self::Members(members) => {
                let listed: Vec<String> = members.iter().map(ActionValue::py_repr).collect();
                format!("{{{}}}", listed.join(", "))
            }
        }
    }
}

/// With `policy_action_validation` on: checks every action of a policy
/// against the definitions of its scope (known action, value type,
/// allowed values), with LinOTP's messages.
pub(crate) fn validate_actions(policy: &str, scope: &str, actions: &Actions) -> Result<()> {
    if scope == "ocra" || scope == "ocra2" {
        return Ok(());
    }
    let skipped: &[&str] = match scope {
        "admin" => &["*", "initETNG", "initSPASS"],
        "system" | "tools" | "audit" | "monitoring" | "gettoken" | "reporting.access" => &["*"],
        _ => &[],
    };
    let Some(scope_def) = definitions().scope(scope) else {
        return Err(Error::UnknownScope {
            policy: policy.to_owned(),
            scope: scope.to_owned(),
        });
    };
    for (action, value) in actions.iter() {
        let base = action.split_once('.').map_or(action, |(base, _)| base);
        if skipped.contains(&base) {
            continue;
        }
        let Some(definition) = scope_def.action(base) else {
            return Err(Error::UnknownAction {
                policy: policy.to_owned(),
                action: base.to_owned(),
            });
        };
        let invalid = |message: String| Error::InvalidActionValue {
            scope: scope.to_owned(),
            action: base.to_owned(),
            message,
        };
        let wrong_type = || {
            invalid(format!(
                "Action value {} for {scope}.{base} not of the expected type {}",
                value.py_repr(),
                definition.kind.py_repr()
            ))
        };
        let validated =
            convert_for_validation(definition.kind, value).map_err(|problem| match problem {
                ConversionProblem::WrongType => wrong_type(),
                ConversionProblem::Duration(text) => {
                    invalid(format!("must be of type 'duration': {}", py_str(&text)))
                }
            })?;
        if !definition.values.is_empty() {
            let allowed = matches!(&validated, Validated::One(v) if definition.values.iter().any(|l| l.equals(v)));
            if !allowed {
                let listed: Vec<String> = definition.values.iter().map(|l| l.py_repr()).collect();
                return Err(invalid(format!(
                    "Action value {} for {scope}.{base} not in supported values [{}]",
                    validated.py_repr(),
                    listed.join(", ")
                )));
            }
        } else if !definition.range.is_empty() {
            let members = match &validated {
                Validated::One(value) => vec![value.clone()],
                Validated::Members(members) => members.clone(),
            };
            let inside = members
                .iter()
                .all(|member| matches!(member, ActionValue::Str(text) if definition.range.contains(&text.as_str())));
            if !inside {
                let listed: Vec<String> = definition
                    .range
                    .iter()
                    .map(|member| py_str(member))
                    .collect();
                let shown = Validated::Members(members).py_repr();
                return Err(invalid(format!(
                    "Action value {shown} for {scope}.{base} not in supported range [{}]",
                    listed.join(", ")
                )));
            }
        }
    }
    Ok(())
}

enum ConversionProblem {
    WrongType,
    Duration(String),
}

fn convert_for_validation(
    kind: ActionType,
    value: &ActionValue,
) -> std::result::Result<Validated, ConversionProblem> {
    let as_int = |value: &ActionValue| match value {
        ActionValue::Bool(flag) => Some(i64::from(*flag)),
        ActionValue::Int(number) => Some(*number),
        ActionValue::Str(text) => text.trim().parse::<i64>().ok(),
    };
    match kind {
        ActionType::Bool => match value {
            ActionValue::Bool(_) => Ok(Validated::One(value.clone())),
            ActionValue::Int(number) if *number == 0 || *number == 1 => {
                Ok(Validated::One(ActionValue::Bool(*number == 1)))
            }
            ActionValue::Str(text) => match text.to_lowercase().as_str() {
                "1" | "yes" | "true" => Ok(Validated::One(ActionValue::Bool(true))),
                "0" | "no" | "false" => Ok(Validated::One(ActionValue::Bool(false))),
                _ => Err(ConversionProblem::WrongType),
            },
            ActionValue::Int(_) => Err(ConversionProblem::WrongType),
        },
        ActionType::Str | ActionType::LegacyString => match value {
            ActionValue::Str(_) => Ok(Validated::One(value.clone())),
            _ => Err(ConversionProblem::WrongType),
        },
        ActionType::Int => as_int(value)
            .map(|n| Validated::One(ActionValue::Int(n)))
            .ok_or(ConversionProblem::WrongType),
        ActionType::IntOrDuration => {
            if let Some(number) = as_int(value) {
                return Ok(Validated::One(ActionValue::Int(number)));
            }
            let text = value.to_text();
            if is_duration(&text) {
                Ok(Validated::One(value.clone()))
            } else {
                Err(ConversionProblem::Duration(
                    text.split_whitespace().collect(),
                ))
            }
        }
        ActionType::Set => {
            let ActionValue::Str(text) = value else {
                return Err(ConversionProblem::WrongType);
            };
            let mut members: Vec<ActionValue> = Vec::new();
            for member in text.split(' ') {
                let member = if !member.is_empty() && member.chars().all(|c| c.is_ascii_digit()) {
                    member
                        .parse()
                        .map_or_else(|_| ActionValue::Str(member.to_owned()), ActionValue::Int)
                } else {
                    ActionValue::Str(member.to_owned())
                };
                if !members.contains(&member) {
                    members.push(member);
                }
            }
            match members.as_slice() {
                [single] => Ok(Validated::One(single.clone())),
                _ => Ok(Validated::Members(members)),
            }
        }
    }
}

/// LinOTP's duration syntax: `1w2d3h4m5s` style (long unit names allowed,
/// whitespace ignored) or anything starting with ISO 8601's `P`.
pub(crate) fn is_duration(text: &str) -> bool {
    let compact: String = text.split_whitespace().collect();
    if compact.to_uppercase().starts_with('P') {
        return true;
    }
    let compact = compact.to_lowercase();
    const UNITS: [&[&str]; 5] = [
        &["weeks", "week", "w"],
        &["days", "day", "d"],
        &["hours", "hour", "h"],
        &["minutes", "minute", "m"],
        &["seconds", "second", "s"],
    ];
    let mut rest = compact.as_str();
    for names in UNITS {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let after_digits = &rest[digits..];
        let unit = names.iter().find(|name| {
            after_digits.strip_prefix(**name).is_some_and(|tail| {
                tail.is_empty() || tail.starts_with(|c: char| c.is_ascii_digit())
            })
        });
        if let Some(unit) = unit {
            rest = &after_digits[unit.len()..];
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(scope: &str, actions: &str) -> Result<()> {
        validate_actions("pol", scope, &Actions::parse(actions).unwrap())
    }

    #[test]
    fn every_scope_is_defined_with_token_type_actions() {
        let names: Vec<&str> = definitions().scopes().iter().map(ScopeDef::name).collect();
        assert_eq!(
            names,
            [
                "admin",
                "gettoken",
                "selfservice",
                "system",
                "enrollment",
                "notification",
                "authentication",
                "authorization",
                "audit",
                "tools",
                "monitoring",
                "reporting",
                "reporting.access"
            ]
        );
        let defs = definitions();
        assert_eq!(
            defs.action("admin", "initHMAC").map(ActionDef::kind),
            Some(ActionType::Bool)
        );
        assert_eq!(
            defs.action("enrollment", "maxtokenTOTP")
                .map(ActionDef::kind),
            Some(ActionType::Int)
        );
        assert!(defs.action("selfservice", "enrollHMAC").is_some());
        assert!(defs.action("selfservice", "enrollVOICE").is_none());
        assert!(defs.action("selfservice", "enrollYUBIKEY").is_none());
        assert_eq!(
            defs.action("selfservice", "totp_otplen")
                .map(|d| d.allowed_values().len()),
            Some(2)
        );
        assert_eq!(
            defs.action("authentication", "otppin")
                .and_then(ActionDef::default_value),
            Some(&ActionValue::Int(0))
        );
        assert!(defs.action("authentication", "voice_message").is_some());
    }

    #[test]
    fn get_policy_def_json_shape() {
        let json = definitions().to_json(Some("authentication"));
        assert_eq!(json["otppin"]["type"], "set");
        assert_eq!(json["otppin"]["value"][0], 0);
        assert_eq!(json["otppin"]["value"][4], "token_pin");
        assert_eq!(
            json["support_offline"]["range"],
            serde_json::json!(["qr", "u2f", "forward", "fido2"])
        );
        assert_eq!(json["passthru"]["type"], "bool");
        assert!(
            json["passthru"]["desc"]
                .as_str()
                .unwrap()
                .starts_with("If set, the user")
        );
        assert!(json["passthru"].get("default").is_none());
        let all = definitions().to_json(None);
        assert_eq!(
            all["enrollment"]["lostTokenValid"]["type"],
            serde_json::json!(["int", "duration"])
        );
        assert_eq!(
            all["enrollment"]["otp_pin_random_content"]["type"],
            "string"
        );
        assert_eq!(
            all["selfservice"]["otp_pin_maxlength"]["value"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
        assert_eq!(
            all["selfservice"]["activate_QRToken"]["description"],
            "activate your QRToken"
        );
        assert_eq!(all["system"]["write"], serde_json::json!({"type": "bool"}));
        assert_eq!(
            definitions().to_json(Some("nosuchscope")),
            serde_json::json!({})
        );
    }

    #[test]
    fn validation_accepts_well_typed_actions() {
        let good: &[(&str, &str)] = &[
            ("admin", "*"),
            ("admin", "enable, disable, initHMAC, initSPASS"),
            ("system", "read, write"),
            ("system", "*"),
            ("authentication", "otppin=1"),
            ("authentication", "otppin=password"),
            ("authentication", "passthru, !passOnNoToken"),
            ("authentication", "passthru=yes"),
            ("authentication", "support_offline=qr u2f"),
            (
                "authentication",
                "smstext='Your OTP: <otp>, serial <serial>'",
            ),
            ("enrollment", "maxtoken=3, tokencount=100, otp_pin_random=6"),
            ("enrollment", "lostTokenValid=5"),
            ("enrollment", "lostTokenValid=2d 3h"),
            ("enrollment", "lostTokenValid=P1D"),
            (
                "selfservice",
                "enrollHMAC, enrollTOTP, setOTPPIN, history, otp_pin_minlength=4",
            ),
            ("selfservice", "totp_otplen=8"),
            (
                "enrollment",
                "fido2_authenticator_types=hybrid security-key",
            ),
            ("ocra", "anything=goes"),
        ];
        for (scope, actions) in good {
            assert_eq!(validate(scope, actions), Ok(()), "{scope}: {actions}");
        }
    }

    #[test]
    fn validation_rejects_with_linotp_messages() {
        let bad: &[(&str, &str, &str)] = &[
            (
                "admin",
                "enable, bogus",
                "unsupported policy action 'bogus' in policy 'pol' ",
            ),
            (
                "selfservice",
                "*",
                "unsupported policy action '*' in policy 'pol' ",
            ),
            (
                "enrollment",
                "maxtoken=many",
                "Action value 'many' for enrollment.maxtoken not of the expected type 'int'",
            ),
            (
                "authentication",
                "passthru=maybe",
                "Action value 'maybe' for authentication.passthru not of the expected type 'bool'",
            ),
            (
                "authentication",
                "smstext",
                "Action value True for authentication.smstext not of the expected type 'str'",
            ),
            (
                "authentication",
                "otppin=7",
                "Action value 7 for authentication.otppin not in supported values [0, 1, 2, 3, 'token_pin', 'password', 'only_otp', 'ignore_pin']",
            ),
            (
                "selfservice",
                "totp_otplen=7",
                "Action value 7 for selfservice.totp_otplen not in supported values [6, 8]",
            ),
            (
                "authentication",
                "support_offline=qr sms",
                "Action value {'qr', 'sms'} for authentication.support_offline not in supported range ['qr', 'u2f', 'forward', 'fido2']",
            ),
            (
                "enrollment",
                "lostTokenValid=soon",
                "must be of type 'duration': 'soon'",
            ),
            (
                "nosuchscope",
                "x",
                "unsupported policy scope 'nosuchscope' in policy 'pol'",
            ),
        ];
        for (scope, actions, message) in bad {
            let error = validate(scope, actions).unwrap_err();
            assert_eq!(error.to_string(), *message, "{scope}: {actions}");
        }
        // Sub keys are validated by their base name.
        assert!(validate("authentication", "passthru.realm1=true").is_ok());
    }

    #[test]
    fn typing_follows_linotp_conversion() {
        let s = |v: &str| ActionValue::Str(v.to_owned());
        let cases: &[(&str, &str, ActionValue, ActionValue)] = &[
            (
                "authentication",
                "passthru",
                ActionValue::Bool(true),
                ActionValue::Bool(true),
            ),
            (
                "authentication",
                "passthru",
                s("true"),
                ActionValue::Bool(true),
            ),
            (
                "authentication",
                "passthru",
                s("1"),
                ActionValue::Bool(true),
            ),
            (
                "authentication",
                "passthru",
                s("0"),
                ActionValue::Bool(false),
            ),
            (
                "authentication",
                "passthru",
                s("-1"),
                ActionValue::Bool(false),
            ),
            (
                "authentication",
                "passthru",
                s("nonsense"),
                ActionValue::Bool(false),
            ),
            ("enrollment", "maxtoken", s(" 3 "), ActionValue::Int(3)),
            (
                "enrollment",
                "maxtoken",
                ActionValue::Bool(true),
                ActionValue::Int(1),
            ),
            ("authentication", "otppin", s("1"), ActionValue::Int(1)),
            ("authentication", "otppin", s("password"), s("password")),
            (
                "authentication",
                "smstext",
                ActionValue::Bool(true),
                s("True"),
            ),
            ("authentication", "undefined_action", s("x"), s("x")),
        ];
        for (scope, action, raw, expected) in cases {
            assert_eq!(
                typed_value(scope, action, raw),
                Ok(expected.clone()),
                "{scope}.{action} = {raw:?}"
            );
        }
        assert_eq!(typed_value("enrollment", "maxtoken", &s("abc")), Err(()));
    }

    #[test]
    fn durations() {
        for good in [
            "",
            "10s",
            "1h",
            "3h 20m 10s",
            "2days",
            "1w2d3h4m5s",
            "P23DT23H",
            "5minutes",
        ] {
            assert!(is_duration(good), "{good:?}");
        }
        for bad in ["soon", "1x", "3m2h", "h", "1 month"] {
            assert!(!is_duration(bad), "{bad:?}");
        }
    }

    #[test]
    fn system_methods_map_to_read_and_write() {
        assert_eq!(system_right("setPolicy"), Some(SystemRight::Write));
        assert_eq!(system_right("checkPolicy"), Some(SystemRight::Read));
        assert_eq!(system_right("setupSecurityModule"), None);
        assert_eq!(SystemRight::Write.action(), "write");
    }
}
