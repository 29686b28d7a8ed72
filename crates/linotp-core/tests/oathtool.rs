//! The `otp` example must print exactly what the real `oathtool` prints for
//! the same key, counter/time, step, length and hash.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `target/<profile>/deps/oathtool-<hash>` → `target/<profile>/examples/otp`.
fn example_binary() -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir
        .join("examples")
        .join(format!("otp{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo test -p linotp-core` (it builds the examples) \
         or `cargo build -p linotp-core --example otp` first",
        binary.display()
    );
    binary
}

fn stdout_of(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn oathtool(args: &[String]) -> String {
    match Command::new("oathtool").args(args).output() {
        Ok(output) => stdout_of(output, &format!("oathtool {}", args.join(" "))),
        Err(error) => panic!("cannot run oathtool ({error}); install it with `.ci/setup`"),
    }
}

fn example(args: &[String]) -> String {
    let output = Command::new(example_binary()).args(args).output().unwrap();
    stdout_of(output, &format!("otp {}", args.join(" ")))
}

/// A fixed-seed linear congruential generator (Knuth's MMIX constants):
/// the same combinations on every run, no extra dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 16
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn hex_key(&mut self) -> String {
        let len = 1 + self.below(64);
        (0..len)
            .map(|_| format!("{:02x}", self.below(256)))
            .collect()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn hotp_output_equals_oathtool() {
    let mut rng = Lcg(0x4c69_6e4f_5450);
    for round in 0..24 {
        let key = rng.hex_key();
        // Mostly small counters, sometimes huge ones.
        let counter = if round % 4 == 0 {
            rng.next()
        } else {
            rng.below(100_000)
        };
        let digits = 6 + rng.below(3);
        let reference = oathtool(&strings(&[
            "--hotp",
            "-c",
            &counter.to_string(),
            "-d",
            &digits.to_string(),
            &key,
        ]));
        let ours = example(&strings(&[
            "hotp",
            "--key",
            &key,
            "--counter",
            &counter.to_string(),
            "--digits",
            &digits.to_string(),
        ]));
        assert_eq!(
            ours, reference,
            "key {key} counter {counter} digits {digits}"
        );
    }
}

#[test]
fn totp_output_equals_oathtool() {
    let mut rng = Lcg(0x5454_4f50);
    let algorithms = ["sha1", "sha256", "sha512"];
    for _ in 0..24 {
        let key = rng.hex_key();
        let time = rng.below(8_000_000_000);
        let step = [30, 60][usize::try_from(rng.below(2)).unwrap()] + rng.below(3) * 17;
        let digits = 6 + rng.below(3);
        let algorithm = algorithms[usize::try_from(rng.below(3)).unwrap()];
        let reference = oathtool(&strings(&[
            &format!("--totp={algorithm}"),
            "-N",
            &format!("@{time}"),
            "-s",
            &format!("{step}s"),
            "-d",
            &digits.to_string(),
            &key,
        ]));
        let ours = example(&strings(&[
            "totp",
            "--key",
            &key,
            "--time",
            &time.to_string(),
            "--step",
            &step.to_string(),
            "--digits",
            &digits.to_string(),
            "--algo",
            algorithm,
        ]));
        assert_eq!(
            ours, reference,
            "key {key} time {time} step {step} digits {digits} {algorithm}"
        );
    }
}

#[test]
fn bad_input_is_one_line_on_stderr_and_exit_code_2() {
    for args in [
        strings(&["hotp", "--key", "xyz", "--counter", "1"]),
        strings(&["totp", "--key", "00"]),
        strings(&["hotp", "--key", "00", "--counter", "1", "--algo", "md4"]),
        strings(&["sotp"]),
        strings(&[]),
    ] {
        let output = Command::new(example_binary()).args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "args {args:?}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    }
}
