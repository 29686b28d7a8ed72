//! Prints one HOTP or TOTP value, like `oathtool`.
//!
//! ```text
//! cargo run -p linotp-core --example otp -- hotp --key HEX --counter N [--digits 8] [--algo sha256]
//! cargo run -p linotp-core --example otp -- totp --key HEX --time UNIX [--step 60] [--digits 8] [--algo sha512]
//! ```
//!
//! Errors print one line on stderr and exit with status 2.

use std::process::ExitCode;

use linotp_core::{HashAlgorithm, Secret, hotp, totp};

const USAGE: &str = "usage: otp hotp --key HEX --counter N [--digits D] [--algo A] | \
                     otp totp --key HEX --time UNIX [--step S] [--digits D] [--algo A]";

enum Mode {
    Hotp { counter: u64 },
    Totp { time: i64, step: i64 },
}

struct Request {
    key: Secret,
    mode: Mode,
    digits: u32,
    algorithm: HashAlgorithm,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args).and_then(|request| generate(&request)) {
        Ok(otp) => {
            println!("{otp}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("otp: {message}");
            ExitCode::from(2)
        }
    }
}

fn generate(request: &Request) -> Result<String, String> {
    let key = request.key.expose();
    let result = match request.mode {
        Mode::Hotp { counter } => hotp(key, counter, request.digits, request.algorithm),
        Mode::Totp { time, step } => totp(key, time, step, request.digits, request.algorithm),
    };
    result.map_err(|error| error.to_string())
}

fn parse(args: &[String]) -> Result<Request, String> {
    let (mode_name, options) = args.split_first().ok_or(USAGE)?;
    let mut key = None;
    let mut counter = None;
    let mut time = None;
    let mut step = 30;
    let mut digits = 6;
    let mut algorithm = HashAlgorithm::Sha1;

    let mut rest = options.iter();
    while let Some(flag) = rest.next() {
        let mut value = || rest.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--key" => key = Some(parse_hex(value()?)?),
            "--counter" => counter = Some(number(flag, value()?)?),
            "--time" => time = Some(number(flag, value()?)?),
            "--step" => step = number(flag, value()?)?,
            "--digits" => digits = number(flag, value()?)?,
            "--algo" => {
                algorithm = value()?
                    .parse()
                    .map_err(|error| format!("--algo: {error}"))?
            }
            other => return Err(format!("unknown option {other:?}; {USAGE}")),
        }
    }

    let key = key.ok_or("--key is required")?;
    let mode = match mode_name.as_str() {
        "hotp" => Mode::Hotp {
            counter: counter.ok_or("hotp needs --counter")?,
        },
        "totp" => Mode::Totp {
            time: time.ok_or("totp needs --time")?,
            step,
        },
        other => return Err(format!("unknown mode {other:?}, expected hotp or totp")),
    };
    Ok(Request {
        key,
        mode,
        digits,
        algorithm,
    })
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag}: {text:?} is not a valid number"))
}

/// Hex seed as LinOTP accepts it; the value itself never goes into a message.
fn parse_hex(text: &str) -> Result<Secret, String> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(|byte| !matches!(byte, b' ' | b'-'))
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("--key must have an even number of hex digits".to_owned());
    }
    let nibble = |byte: u8| match byte {
        b'0'..=b'9' => Ok(byte - b'0'),
        b'a'..=b'f' => Ok(byte - b'a' + 10),
        b'A'..=b'F' => Ok(byte - b'A' + 10),
        _ => Err("--key contains non-hexadecimal characters".to_owned()),
    };
    let bytes = digits
        .chunks(2)
        .map(|pair| Ok((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect::<Result<Vec<u8>, String>>()?;
    Ok(Secret::new(bytes))
}
