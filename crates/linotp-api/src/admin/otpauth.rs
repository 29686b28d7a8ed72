//! Enrollment URLs (`otpauth://`) and QR code images, rendered as LinOTP's
//! `create_authenticator`, `create_img` and `create_html` render them.
//!
//! ```
//! use linotp_api::admin::otpauth::{OtpAuth, authenticator_url};
//! let url = authenticator_url(&OtpAuth {
//!     token_type: "hmac",
//!     otp_len: None,
//!     hashlib: "sha1",
//!     seed: "3132333435363738393031323334353637383930",
//!     time_step: None,
//!     issuer: "LinOTP",
//!     label: "GLDHMAC1",
//! })
//! .unwrap()
//! .unwrap();
//! assert_eq!(
//!     url,
//!     "otpauth://hotp/LinOTP:GLDHMAC1?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0&issuer=LinOTP"
//! );
//! ```

use std::fmt::Write as _;

use data_encoding::{BASE32_NOPAD, BASE64};
use qrcode::{Color, EcLevel, QrCode};
use serde_json::Value;

use crate::error::{ApiError, Result};
use crate::params::parse_python_int;
use crate::pyfmt::{python_float_repr, python_str_repr};

/// Longest enrollment URL LinOTP produces; the label is cut to fit.
pub const MAX_URL_LEN: usize = 400;

/// Pixels per QR module and modules of quiet zone (python-qrcode's defaults).
const BOX_SIZE: usize = 10;
const BORDER: usize = 4;

/// What an enrollment URL is made of (the `/admin/init` parameters as the token class left
/// them).
#[derive(Debug, Clone, Copy)]
pub struct OtpAuth<'a> {
    /// The `type` parameter (`hmac`, `totp`, `motp`, …).
    pub token_type: &'a str,
    /// The `otplen` parameter as sent.
    pub otp_len: Option<&'a str>,
    /// The hash name (`sha1`, `sha256`, `sha512`; anything else counts as SHA1).
    pub hashlib: &'a str,
    /// The seed as enrolled: hex for HOTP/TOTP, the ASCII secret for mOTP.
    pub seed: &'a str,
    /// The `timeStep` parameter as sent.
    pub time_step: Option<&'a str>,
    /// The issuer (policy `tokenissuer`, default `LinOTP`).
    pub issuer: &'a str,
    /// The account label (policy `tokenlabel`, default the user's login or the serial).
    pub label: &'a str,
}

/// The `otpauth://` URL LinOTP returns as `enrollment_url` / `googleurl`, or `None` for token
/// types authenticator apps do not know (spass, pw, dpw, …). Unsupported digits, periods or
/// an empty seed are errors, as in LinOTP.
pub fn authenticator_url(auth: &OtpAuth<'_>) -> Result<Option<String>> {
    let url_type = match auth.token_type.to_lowercase().as_str() {
        "hmac" | "hotp" => "hotp",
        "totp" => "totp",
        "motp" => "motp",
        _ => return Ok(None),
    };
    let digits = python_int_param("otplen", auth.otp_len, 6)?;
    if digits != 6 && digits != 8 {
        return Err(ApiError::Internal(format!(
            "unsupported digits {}",
            shown(auth.otp_len)
        )));
    }
    let mut algorithm = auth.hashlib.to_uppercase();
    if !["SHA1", "SHA256", "SHA512"].contains(&algorithm.as_str()) {
        algorithm = "SHA1".to_owned();
    }
    let seed_bytes = if url_type == "motp" {
        auth.seed.as_bytes().to_vec()
    } else {
        unhexlify(auth.seed)?
    };
    if seed_bytes.is_empty() {
        return Err(ApiError::Internal(
            "Failed to create token url due to missing seed!".to_owned(),
        ));
    }
    let secret = BASE32_NOPAD.encode(&seed_bytes);
    let period = python_int_param("timeStep", auth.time_step, 30)?;
    if period != 30 && period != 60 {
        return Err(ApiError::Internal(format!(
            "unsupported period for totp token {}",
            shown(auth.time_step)
        )));
    }

    let mut query: Vec<(&str, String)> = vec![("secret", secret)];
    if digits != 6 {
        query.push(("digits", digits.to_string()));
    }
    if algorithm != "SHA1" {
        query.push(("algorithm", algorithm));
    }
    match url_type {
        "totp" if period != 30 => query.push(("period", period.to_string())),
        "hotp" => query.push(("counter", "0".to_owned())),
        _ => {}
    }
    query.push(("issuer", auth.issuer.to_owned()));
    let parameters = query
        .iter()
        .map(|(name, value)| format!("{}={}", quote(name, ""), quote(value, "")))
        .collect::<Vec<_>>()
        .join("&");

    let label = format!("{}:{}", quote(auth.issuer, "/"), quote(auth.label, "/"));
    let base_len = format!("otpauth://{url_type}/?{parameters}").len();
    let label = python_prefix(&label, MAX_URL_LEN as i64 - base_len as i64);
    Ok(Some(format!("otpauth://{url_type}/{label}?{parameters}")))
}

/// `int(value)` of an optional parameter, with LinOTP's ValueError text.
fn python_int_param(name: &str, value: Option<&str>, default: i64) -> Result<i64> {
    match value {
        None => Ok(default),
        Some(text) => parse_python_int(text).ok_or_else(|| ApiError::InvalidInteger {
            name: name.to_owned(),
            shown: python_str_repr(text),
        }),
    }
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "None".to_owned(), python_str_repr)
}

/// `text[0:end]` of Python for ASCII text: a negative end counts from the back.
fn python_prefix(text: &str, end: i64) -> &str {
    let length = text.len() as i64;
    let cut = if end < 0 {
        length + end
    } else {
        end.min(length)
    };
    let cut = usize::try_from(cut.max(0)).unwrap_or(0);
    text.get(..cut).unwrap_or(text)
}

/// `binascii.unhexlify` with its error texts.
fn unhexlify(text: &str) -> Result<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return Err(ApiError::Internal("Odd-length string".to_owned()));
    }
    hex_decode(text).ok_or_else(|| ApiError::Internal("Non-hexadecimal digit found".to_owned()))
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    bytes
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(*pair.get(1)?).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

/// Python's `urllib.parse.quote(text, safe)`: UTF-8 bytes outside `A-Za-z0-9_.-~` and `safe`
/// as `%XX`.
pub fn quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let ch = char::from(byte);
        if byte.is_ascii_alphanumeric() || "_.-~".contains(ch) || (byte < 0x80 && safe.contains(ch))
        {
            out.push(ch);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Python's `urllib.parse.quote_plus(text)`: as [`quote`] with nothing safe, and spaces as `+`.
pub fn quote_plus(text: &str) -> String {
    quote(text, " ").replace(' ', "+")
}

/// The QR code of `data` as a PNG (1-bit greyscale, 10 pixels per module, 4 modules of quiet
/// zone, error correction M: python-qrcode's defaults that LinOTP uses).
pub fn qr_png(data: &str) -> Result<Vec<u8>> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|error| ApiError::Internal(format!("cannot make a QR code: {error}")))?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * BORDER) * BOX_SIZE;
    let row_bytes = side.div_ceil(8);
    let mut pixels = vec![0xFFu8; row_bytes * side];
    for (index, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (module_x, module_y) = (index % modules, index / modules);
        for dy in 0..BOX_SIZE {
            let y = (module_y + BORDER) * BOX_SIZE + dy;
            for dx in 0..BOX_SIZE {
                let x = (module_x + BORDER) * BOX_SIZE + dx;
                pixels[y * row_bytes + x / 8] &= !(0x80 >> (x % 8));
            }
        }
    }
    let side_u32 =
        u32::try_from(side).map_err(|_| ApiError::Internal("QR code too large".to_owned()))?;
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, side_u32, side_u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder
            .write_header()
            .map_err(|error| ApiError::Internal(format!("cannot write PNG: {error}")))?;
        writer
            .write_image_data(&pixels)
            .map_err(|error| ApiError::Internal(format!("cannot write PNG: {error}")))?;
    }
    Ok(png_bytes)
}

/// LinOTP's `create_img`: `<img id="challenge_qrcode" {alt} {width} src="data:…"/>`, where
/// `alt` is the text that goes into the `alt` attribute (URL-encoded here) and `width` 0
/// leaves the width out.
pub fn img_tag(data: &str, width: u32, alt: Option<&str>) -> Result<String> {
    let source = BASE64.encode(&qr_png(data)?);
    let width_text = if width == 0 {
        String::new()
    } else {
        format!(" width={width} ")
    };
    let alt_text = alt.map_or_else(String::new, |alt| format!(" alt={} ", quote_plus(alt)));
    Ok(format!(
        "<img id=\"challenge_qrcode\" {alt_text} {width_text} src=\"data:image/png;base64,{source}\"/>"
    ))
}

/// LinOTP's `create_html`: the QR image of `data` (with `data` as its alt text) and a list of
/// `key: value` items, in a minimal HTML page.
pub fn html_page(data: &str, items: &[(String, String)]) -> Result<String> {
    let img = img_tag(data, 0, Some(data))?;
    let list = if items.is_empty() {
        String::new()
    } else {
        let entries: String = items
            .iter()
            .map(|(key, value)| format!("<li> {key}: <span class=\"{key}\">{value}</span> </li>"))
            .collect();
        format!("<ul id=\"challenge_data\">{entries}</ul>")
    };
    Ok(format!("<html><body><div>{img}{list}</div></body></html>"))
}

/// Python's `str()` of a JSON value as LinOTP's HTML and CSV replies print it: strings bare,
/// nested values as Python literals (`{'k': 'v'}`, `['a']`, `True`, `None`).
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr()` of a JSON value.
pub fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(int), _, _) => int.to_string(),
            (None, Some(uint), _) => uint.to_string(),
            (None, None, Some(float)) => python_float_repr(float),
            _ => number.to_string(),
        },
        Value::String(text) => python_str_repr(text),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(members) => format!(
            "{{{}}}",
            members
                .iter()
                .map(|(key, value)| format!("{}: {}", python_str_repr(key), python_repr(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(
        token_type: &str,
        otp_len: Option<&str>,
        hashlib: &str,
        seed: &str,
        step: Option<&str>,
        label: &str,
    ) -> Result<Option<String>> {
        authenticator_url(&OtpAuth {
            token_type,
            otp_len,
            hashlib,
            seed,
            time_step: step,
            issuer: "LinOTP",
            label,
        })
    }

    #[test]
    fn golden_urls_for_hotp_totp_and_motp() {
        let sha256 = "3132333435363738393031323334353637383930313233343536373839303132";
        assert_eq!(
            url("hmac", Some("8"), "sha256", sha256, None, "GLDHMAC2")
                .unwrap()
                .unwrap(),
            "otpauth://hotp/LinOTP:GLDHMAC2?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA&digits=8&algorithm=SHA256&counter=0&issuer=LinOTP"
        );
        assert_eq!(
            url(
                "totp",
                None,
                "sha1",
                "3132333435363738393031323334353637383930",
                Some("30"),
                "GLDTOTP"
            )
            .unwrap()
            .unwrap(),
            "otpauth://totp/LinOTP:GLDTOTP?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=LinOTP"
        );
        assert_eq!(
            url("motp", None, "sha1", "1234567890123456", None, "GLDMOTP")
                .unwrap()
                .unwrap(),
            "otpauth://motp/LinOTP:GLDMOTP?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY&issuer=LinOTP"
        );
        let sixty = url("totp", None, "sha512", "3132", Some("60"), "T")
            .unwrap()
            .unwrap();
        assert!(
            sixty.ends_with("&algorithm=SHA512&period=60&issuer=LinOTP"),
            "{sixty}"
        );
    }

    #[test]
    fn unsupported_values_fail_like_linotp() {
        assert!(
            url("pw", None, "sha1", "secret", None, "S")
                .unwrap()
                .is_none()
        );
        assert_eq!(
            url("hmac", Some("7"), "sha1", "3132", None, "S")
                .unwrap_err()
                .message(),
            "unsupported digits '7'"
        );
        assert_eq!(
            url("totp", None, "sha1", "3132", Some("45"), "S")
                .unwrap_err()
                .message(),
            "unsupported period for totp token '45'"
        );
        assert_eq!(
            url("hmac", None, "sha1", "", None, "S")
                .unwrap_err()
                .message(),
            "Failed to create token url due to missing seed!"
        );
        assert_eq!(
            url("hmac", None, "sha1", "313", None, "S")
                .unwrap_err()
                .message(),
            "Odd-length string"
        );
        let md5 = url("hmac", None, "md5", "3132", None, "S")
            .unwrap()
            .unwrap();
        assert!(!md5.contains("algorithm"), "{md5}");
    }

    #[test]
    fn labels_are_quoted_and_cut_to_the_url_limit() {
        let quoted = url("hmac", None, "sha1", "3132", None, "a b/c@d")
            .unwrap()
            .unwrap();
        assert!(
            quoted.starts_with("otpauth://hotp/LinOTP:a%20b/c%40d?"),
            "{quoted}"
        );
        let long_label = "x".repeat(600);
        let long = url("hmac", None, "sha1", "3132", None, &long_label)
            .unwrap()
            .unwrap();
        assert_eq!(long.len(), MAX_URL_LEN);
        assert!(long.ends_with("&counter=0&issuer=LinOTP"));
    }

    #[test]
    fn qr_png_is_a_png_of_the_expected_size() {
        let png_bytes =
            qr_png("otpauth://hotp/LinOTP:S?secret=GEZA&counter=0&issuer=LinOTP").unwrap();
        assert_eq!(&png_bytes[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        // 10 px per module, 4 modules of border on each side.
        assert_eq!(info.width as usize % BOX_SIZE, 0);
        assert!((info.width as usize / BOX_SIZE - 2 * BORDER - 21).is_multiple_of(4));
    }

    #[test]
    fn img_tags_keep_linotps_spacing() {
        let img = img_tag("seed", 200, None).unwrap();
        assert!(
            img.starts_with(
                "<img id=\"challenge_qrcode\"   width=200  src=\"data:image/png;base64,iVBOR"
            ),
            "{img}"
        );
        assert!(img.ends_with("\"/>"));
        let with_alt = img_tag("a b", 0, Some("x y/z")).unwrap();
        assert!(
            with_alt.starts_with("<img id=\"challenge_qrcode\"  alt=x+y%2Fz   src="),
            "{with_alt}"
        );
    }

    #[test]
    fn python_reprs_of_json_values() {
        let value = json!({"order": "1", "n": 2, "ok": true, "l": ["a"], "x": null, "q": "it's"});
        assert_eq!(
            python_repr(&value),
            "{'order': '1', 'n': 2, 'ok': True, 'l': ['a'], 'x': None, 'q': \"it's\"}"
        );
        assert_eq!(python_str(&json!("plain")), "plain");
    }
}
