//! diesel table definitions for LinOTP's schema (LinOTP 4.0.0.0 data model) and our additive
//! `linotp_rs_*` tables.
//!
//! Rust names are snake_case; `sql_name` keeps LinOTP's exact, case-sensitive table and column
//! names (diesel quotes every identifier, so `"Token"` stays mixed-case on PostgreSQL).

diesel::table! {
    /// LinOTP's `Token` table.
    #[sql_name = "Token"]
    token (id) {
        #[sql_name = "LinOtpTokenId"]
        id -> Integer,
        #[sql_name = "LinOtpTokenDesc"]
        description -> Nullable<Text>,
        #[sql_name = "LinOtpTokenSerialnumber"]
        serial -> Text,
        #[sql_name = "LinOtpTokenType"]
        token_type -> Nullable<Text>,
        #[sql_name = "LinOtpTokenInfo"]
        token_info -> Nullable<Text>,
        #[sql_name = "LinOtpTokenPinUser"]
        pin_user -> Nullable<Text>,
        #[sql_name = "LinOtpTokenPinUserIV"]
        pin_user_iv -> Nullable<Text>,
        #[sql_name = "LinOtpIdResolver"]
        id_resolver -> Nullable<Text>,
        #[sql_name = "LinOtpIdResClass"]
        id_res_class -> Nullable<Text>,
        #[sql_name = "LinOtpUserid"]
        user_id -> Nullable<Text>,
        #[sql_name = "LinOtpSeed"]
        pin_salt -> Nullable<Text>,
        #[sql_name = "LinOtpOtpLen"]
        otp_len -> Nullable<Integer>,
        #[sql_name = "LinOtpPinHash"]
        pin_hash -> Nullable<Text>,
        #[sql_name = "LinOtpKeyEnc"]
        key_enc -> Nullable<Text>,
        #[sql_name = "LinOtpKeyIV"]
        key_iv -> Nullable<Text>,
        #[sql_name = "LinOtpMaxFail"]
        max_fail -> Nullable<Integer>,
        #[sql_name = "LinOtpIsactive"]
        is_active -> Nullable<Bool>,
        #[sql_name = "LinOtpFailCount"]
        fail_count -> Nullable<Integer>,
        #[sql_name = "LinOtpCount"]
        count -> Nullable<Integer>,
        #[sql_name = "LinOtpCountWindow"]
        count_window -> Nullable<Integer>,
        #[sql_name = "LinOtpSyncWindow"]
        sync_window -> Nullable<Integer>,
        #[sql_name = "LinOtpCreationDate"]
        creation_date -> Nullable<Timestamp>,
        #[sql_name = "LinOtpLastAuthSuccess"]
        last_auth_success -> Nullable<Timestamp>,
        #[sql_name = "LinOtpLastAuthMatch"]
        last_auth_match -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// LinOTP's `Realm` table.
    #[sql_name = "Realm"]
    realm (id) {
        id -> Integer,
        name -> Text,
        #[sql_name = "default"]
        is_default -> Nullable<Bool>,
        option -> Nullable<Text>,
    }
}

diesel::table! {
    /// LinOTP's `TokenRealm` link table.
    #[sql_name = "TokenRealm"]
    token_realm (id) {
        id -> Integer,
        token_id -> Nullable<Integer>,
        realm_id -> Nullable<Integer>,
    }
}

diesel::table! {
    /// LinOTP's `Config` key/value table.
    #[sql_name = "Config"]
    config (key) {
        #[sql_name = "Key"]
        key -> Text,
        #[sql_name = "Value"]
        value -> Nullable<Text>,
        #[sql_name = "Type"]
        typ -> Nullable<Text>,
        #[sql_name = "Description"]
        description -> Nullable<Text>,
    }
}

diesel::table! {
    /// LinOTP's `challenges` table.
    challenges (id) {
        id -> Integer,
        transid -> Text,
        ptransid -> Nullable<Text>,
        data -> Nullable<Text>,
        bdata -> Nullable<Binary>,
        challenge -> Nullable<Text>,
        lchallenge -> Nullable<Text>,
        bchallenge -> Nullable<Binary>,
        session -> Nullable<Text>,
        tokenserial -> Nullable<Text>,
        timestamp -> Nullable<Timestamp>,
        received_count -> Nullable<Integer>,
        received_tan -> Nullable<Bool>,
        valid_tan -> Nullable<Bool>,
    }
}

diesel::table! {
    /// LinOTP's `imported_user` table (imported users and, with group
    /// `LinOTP_local_admins`, the local administrators).
    imported_user (groupid, userid) {
        groupid -> Text,
        userid -> Text,
        username -> Nullable<Text>,
        phone -> Nullable<Text>,
        mobile -> Nullable<Text>,
        email -> Nullable<Text>,
        surname -> Nullable<Text>,
        givenname -> Nullable<Text>,
        password -> Nullable<Text>,
    }
}

diesel::table! {
    /// LinOTP's `audit` table.
    audit (id) {
        id -> Integer,
        timestamp -> Nullable<Text>,
        signature -> Nullable<Text>,
        action -> Nullable<Text>,
        success -> Nullable<Text>,
        serial -> Nullable<Text>,
        tokentype -> Nullable<Text>,
        user -> Nullable<Text>,
        realm -> Nullable<Text>,
        administrator -> Nullable<Text>,
        action_detail -> Nullable<Text>,
        info -> Nullable<Text>,
        linotp_server -> Nullable<Text>,
        client -> Nullable<Text>,
        log_level -> Nullable<Text>,
        clearance_level -> Nullable<Integer>,
    }
}

diesel::table! {
    /// LinOTP's `logging_config` table.
    logging_config (name) {
        name -> Text,
        level -> Nullable<Integer>,
    }
}

diesel::table! {
    /// LinOTP's `REPORTING` table.
    #[sql_name = "REPORTING"]
    reporting (id) {
        #[sql_name = "R_ID"]
        id -> Integer,
        #[sql_name = "R_TIMESTAMP"]
        timestamp -> Nullable<Timestamp>,
        #[sql_name = "R_EVENT"]
        event -> Nullable<Text>,
        #[sql_name = "R_REALM"]
        realm -> Nullable<Text>,
        #[sql_name = "R_PARAMETER"]
        parameter -> Nullable<Text>,
        #[sql_name = "R_VALUE"]
        value -> Nullable<Text>,
        #[sql_name = "R_COUNT"]
        count -> Nullable<Integer>,
        #[sql_name = "R_DETAIL"]
        detail -> Nullable<Text>,
        #[sql_name = "R_SESSION"]
        session -> Nullable<Text>,
        #[sql_name = "R_DESCRIPTION"]
        description -> Nullable<Text>,
    }
}

diesel::table! {
    /// Our applied-migration log.
    linotp_rs_schema_migrations (version) {
        version -> Text,
        name -> Text,
        applied_at -> Timestamp,
        baseline -> Bool,
    }
}

diesel::table! {
    /// Revoked admin JWTs (by `jti`), shared by all nodes.
    linotp_rs_jwt_blocklist (jti) {
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(token, realm, token_realm, challenges);
