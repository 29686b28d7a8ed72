//! RADIUS Access-Request (RFC 2865) with Message-Authenticator (RFC 3579, required by
//! servers that mitigate BlastRADIUS), over UDP with retransmission.

use std::net::SocketAddr;

use linotp_crypto::SecretBytes;
use md5::{Digest, Md5};
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::Value;
use tokio::net::UdpSocket;

use super::url::ParsedUrl;
use super::{RemoteAnswer, RemoteCheck, RemoteSettings};
use crate::error::{ProviderError, Result};

const ACCESS_REQUEST: u8 = 1;
const ACCESS_ACCEPT: u8 = 2;
const ACCESS_REJECT: u8 = 3;
const ACCESS_CHALLENGE: u8 = 11;

const USER_NAME: u8 = 1;
const USER_PASSWORD: u8 = 2;
const REPLY_MESSAGE: u8 = 18;
const STATE: u8 = 24;
const NAS_IDENTIFIER: u8 = 32;
const MESSAGE_AUTHENTICATOR: u8 = 80;

const HEADER_LEN: usize = 20;
const MAX_PACKET: usize = 4096;
/// RFC 2865 §5.2: User-Password holds at most 128 octets.
const MAX_PASSWORD: usize = 128;

#[derive(Debug)]
pub(super) struct RadiusServer {
    host: String,
    port: u16,
    secret: SecretBytes,
}

impl RadiusServer {
    pub fn new(url: &ParsedUrl, secret: Option<SecretBytes>) -> Result<RadiusServer> {
        let secret = secret
            .filter(|secret| !secret.expose().is_empty())
            .ok_or_else(|| {
                ProviderError::Definition(format!(
                    "{} needs a shared secret (?secret=…)",
                    url.without_secrets()
                ))
            })?;
        Ok(RadiusServer {
            host: url.host.clone(),
            port: url.port.unwrap_or(1812),
            secret,
        })
    }

    pub async fn check(
        &self,
        check: &RemoteCheck<'_>,
        settings: &RemoteSettings,
        shown: &str,
    ) -> Result<RemoteAnswer> {
        let unreachable = |message: String| ProviderError::Unreachable {
            server: shown.to_owned(),
            message,
        };
        let address = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .map_err(|error| unreachable(format!("cannot resolve host: {error}")))?
            .next()
            .ok_or_else(|| unreachable("host has no address".to_owned()))?;
        let local: SocketAddr = if address.is_ipv6() {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local)
            .await
            .map_err(|error| unreachable(format!("no UDP socket: {error}")))?;
        socket
            .connect(address)
            .await
            .map_err(|error| unreachable(error.to_string()))?;

        let request = AccessRequest::new(check, &settings.nas_identifier, &self.secret)
            .map_err(ProviderError::Definition)?;
        let attempts = settings.radius_attempts.max(1);
        for attempt in 1..=attempts {
            socket
                .send(&request.packet)
                .await
                .map_err(|error| unreachable(error.to_string()))?;
            match tokio::time::timeout(settings.timeout, self.reply_to(&socket, &request)).await {
                Ok(reply) => return reply.map_err(|error| unreachable(error.to_string())),
                Err(_) => tracing::debug!(server = shown, attempt, "RADIUS request timed out"),
            }
        }
        Err(unreachable(format!(
            "no answer after {attempts} attempts of {:?}",
            settings.timeout
        )))
    }

    /// Waits for the reply to `request`; packets that are not (ids that differ, a wrong
    /// response authenticator: spoofed or late) are dropped.
    async fn reply_to(
        &self,
        socket: &UdpSocket,
        request: &AccessRequest,
    ) -> std::io::Result<RemoteAnswer> {
        let mut buffer = vec![0u8; MAX_PACKET];
        loop {
            let length = socket.recv(&mut buffer).await?;
            let packet = &buffer[..length];
            match parse_reply(packet, request, self.secret.expose()) {
                Some(answer) => return Ok(answer),
                None => tracing::warn!("dropped a RADIUS packet that is no valid reply"),
            }
        }
    }
}

struct AccessRequest {
    id: u8,
    authenticator: [u8; 16],
    packet: Vec<u8>,
}

impl AccessRequest {
    fn new(
        check: &RemoteCheck<'_>,
        nas_identifier: &str,
        secret: &SecretBytes,
    ) -> std::result::Result<AccessRequest, String> {
        let random = SystemRandom::new();
        let mut id = [0u8; 1];
        let mut authenticator = [0u8; 16];
        random
            .fill(&mut id)
            .and_then(|()| random.fill(&mut authenticator))
            .map_err(|_| "no random numbers".to_owned())?;
        let secret = secret.expose();

        let mut attributes = Vec::new();
        push_attribute(&mut attributes, USER_NAME, check.login.as_bytes())?;
        let hidden = hide_password(check.password.as_bytes(), secret, &authenticator)?;
        push_attribute(&mut attributes, USER_PASSWORD, &hidden)?;
        push_attribute(&mut attributes, NAS_IDENTIFIER, nas_identifier.as_bytes())?;
        let state = check
            .options
            .iter()
            .find(|(name, _)| name == "transactionid")
            .or_else(|| check.options.iter().find(|(name, _)| name == "state"));
        if let Some((_, state)) = state {
            push_attribute(&mut attributes, STATE, state.as_bytes())?;
        }
        // Message-Authenticator last, zeroed while the HMAC over the whole packet is taken.
        let authenticator_at = HEADER_LEN + attributes.len() + 2;
        push_attribute(&mut attributes, MESSAGE_AUTHENTICATOR, &[0u8; 16])?;

        let mut packet = header(ACCESS_REQUEST, id[0], &authenticator, attributes.len())?;
        packet.extend_from_slice(&attributes);
        let mac = hmac_md5(secret, &packet);
        packet[authenticator_at..authenticator_at + 16].copy_from_slice(&mac);
        Ok(AccessRequest {
            id: id[0],
            authenticator,
            packet,
        })
    }
}

fn header(
    code: u8,
    id: u8,
    authenticator: &[u8; 16],
    attributes_len: usize,
) -> std::result::Result<Vec<u8>, String> {
    let length = u16::try_from(HEADER_LEN + attributes_len)
        .ok()
        .filter(|length| usize::from(*length) <= MAX_PACKET)
        .ok_or_else(|| "RADIUS request too long".to_owned())?;
    let mut packet = Vec::with_capacity(usize::from(length));
    packet.push(code);
    packet.push(id);
    packet.extend_from_slice(&length.to_be_bytes());
    packet.extend_from_slice(authenticator);
    Ok(packet)
}

fn push_attribute(out: &mut Vec<u8>, kind: u8, value: &[u8]) -> std::result::Result<(), String> {
    let length = u8::try_from(value.len() + 2)
        .map_err(|_| format!("RADIUS attribute {kind} longer than 253 octets"))?;
    out.push(kind);
    out.push(length);
    out.extend_from_slice(value);
    Ok(())
}

/// RFC 2865 §5.2: the password, zero-padded to 16-octet blocks, each XORed with
/// MD5(secret ‖ previous cipher block), the first with the request authenticator.
fn hide_password(
    password: &[u8],
    secret: &[u8],
    authenticator: &[u8; 16],
) -> std::result::Result<Vec<u8>, String> {
    if password.len() > MAX_PASSWORD {
        return Err("password longer than RADIUS allows (128 octets)".to_owned());
    }
    let blocks = password.len().div_ceil(16).max(1);
    let mut hidden = password.to_vec();
    hidden.resize(blocks * 16, 0);
    let mut previous: [u8; 16] = *authenticator;
    for block in hidden.chunks_mut(16) {
        let pad = Md5::new()
            .chain_update(secret)
            .chain_update(previous)
            .finalize();
        for (byte, key) in block.iter_mut().zip(pad.iter()) {
            *byte ^= key;
        }
        previous.copy_from_slice(block);
    }
    Ok(hidden)
}

fn hmac_md5(key: &[u8], message: &[u8]) -> [u8; 16] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..16].copy_from_slice(&Md5::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = block.iter().map(|byte| byte ^ 0x36).collect();
    let outer_pad: Vec<u8> = block.iter().map(|byte| byte ^ 0x5c).collect();
    let inner = Md5::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Md5::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// The answer a valid reply to `request` carries; `None` for anything else.
fn parse_reply(packet: &[u8], request: &AccessRequest, secret: &[u8]) -> Option<RemoteAnswer> {
    if packet.len() < HEADER_LEN || packet[1] != request.id {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    if length < HEADER_LEN || length > packet.len() {
        return None;
    }
    let packet = &packet[..length];
    // Response authenticator: MD5(code ‖ id ‖ length ‖ request authenticator ‖ attributes ‖ secret).
    let expected = Md5::new()
        .chain_update(&packet[..4])
        .chain_update(request.authenticator)
        .chain_update(&packet[HEADER_LEN..])
        .chain_update(secret)
        .finalize();
    if expected.as_slice() != &packet[4..HEADER_LEN] {
        return None;
    }
    let mut state = None;
    let mut message = None;
    let mut rest = &packet[HEADER_LEN..];
    while rest.len() >= 2 {
        let (kind, attribute_len) = (rest[0], usize::from(rest[1]));
        if attribute_len < 2 || attribute_len > rest.len() {
            return None;
        }
        let value = &rest[2..attribute_len];
        match kind {
            STATE => state = Some(String::from_utf8_lossy(value).into_owned()),
            REPLY_MESSAGE => message = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
        rest = &rest[attribute_len..];
    }
    let mut answer = RemoteAnswer::default();
    match packet[0] {
        ACCESS_ACCEPT => answer.accepted = true,
        ACCESS_REJECT => {}
        ACCESS_CHALLENGE => {
            if let Some(state) = state {
                answer
                    .detail
                    .insert("transactionid".into(), Value::String(state));
            }
            if let Some(message) = message {
                answer
                    .detail
                    .insert("message".into(), Value::String(message));
            }
        }
        _ => return None,
    }
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2104's second test case, for MD5.
    #[test]
    fn hmac_md5_matches_rfc_2104() {
        let mac = hmac_md5(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "750c783e6ab0b503eaa86e310a5db738");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn reveal(hidden: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
        let mut previous = authenticator.to_vec();
        let mut clear = Vec::new();
        for block in hidden.chunks(16) {
            let pad = Md5::new()
                .chain_update(secret)
                .chain_update(&previous)
                .finalize();
            clear.extend(block.iter().zip(pad.iter()).map(|(byte, key)| byte ^ key));
            previous = block.to_vec();
        }
        clear
    }

    /// A reply as a RADIUS server builds it, signed with `secret` for `request`.
    fn reply(
        code: u8,
        request: &AccessRequest,
        attributes: &[(u8, &[u8])],
        secret: &[u8],
    ) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attributes {
            push_attribute(&mut body, *kind, value).unwrap();
        }
        let mut packet = header(code, request.id, &request.authenticator, body.len()).unwrap();
        packet.extend_from_slice(&body);
        let signature = Md5::new()
            .chain_update(&packet[..4])
            .chain_update(request.authenticator)
            .chain_update(&body)
            .chain_update(secret)
            .finalize();
        packet[4..HEADER_LEN].copy_from_slice(&signature);
        packet
    }

    #[test]
    fn challenges_become_transactions_and_forged_replies_are_dropped() {
        let secret = SecretBytes::new(b"s3cret".to_vec());
        let options = vec![("transactionid".to_owned(), "previous-state".to_owned())];
        let check = RemoteCheck {
            login: "alice",
            realm: None,
            password: "123456",
            options: &options,
        };
        let request = AccessRequest::new(&check, "LinOTP", &secret).unwrap();
        // The request carries the State of the challenge it answers.
        assert!(
            request
                .packet
                .windows(16)
                .any(|window| window == b"\x18\x10previous-state")
        );

        let challenge = reply(
            ACCESS_CHALLENGE,
            &request,
            &[(STATE, b"txn-42"), (REPLY_MESSAGE, b"enter your OTP")],
            b"s3cret",
        );
        let answer = parse_reply(&challenge, &request, b"s3cret").unwrap();
        assert!(!answer.accepted);
        assert_eq!(answer.detail["transactionid"], "txn-42");
        assert_eq!(answer.detail["message"], "enter your OTP");

        let accept = reply(ACCESS_ACCEPT, &request, &[], b"s3cret");
        assert!(parse_reply(&accept, &request, b"s3cret").unwrap().accepted);
        // Signed with another secret, for another request id, or cut short: not a reply.
        let forged = reply(ACCESS_ACCEPT, &request, &[], b"guessed");
        assert_eq!(parse_reply(&forged, &request, b"s3cret"), None);
        let mut other_id = accept.clone();
        other_id[1] = other_id[1].wrapping_add(1);
        assert_eq!(parse_reply(&other_id, &request, b"s3cret"), None);
        assert_eq!(parse_reply(&accept[..19], &request, b"s3cret"), None);
    }

    #[test]
    fn passwords_are_padded_to_blocks_and_recoverable_with_the_secret() {
        let authenticator = [7u8; 16];
        for password in [
            &b""[..],
            b"short",
            b"exactly-16-bytes",
            b"a password of 33 bytes, really!!!",
        ] {
            let hidden = hide_password(password, b"s3cret", &authenticator).unwrap();
            assert_eq!(hidden.len(), password.len().div_ceil(16).max(1) * 16);
            let clear = reveal(&hidden, b"s3cret", &authenticator);
            assert_eq!(&clear[..password.len()], password);
            assert!(clear[password.len()..].iter().all(|byte| *byte == 0));
            if !password.is_empty() {
                assert_ne!(&hidden[..password.len()], password);
            }
        }
        assert!(hide_password(&[b'x'; 129], b"s", &authenticator).is_err());
    }
}
