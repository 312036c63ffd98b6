//! Where a results folder's tables came from: the program's version and commit, the compiler, the instruction set the kernels ran with, the command line, the experiment file's hash and the time, written into every Parquet table and into `provenance.json`.

use crate::vecmath::InstructionSet;
use sha2::{Digest, Sha256};

/// The keys, in the order they are written. Parquet metadata and `provenance.json` use the same.
pub const KEYS: [&str; 7] = [
    "grbm_sweep.version",
    "grbm_sweep.commit",
    "grbm_sweep.rustc",
    "grbm_sweep.isa",
    "grbm_sweep.command",
    "grbm_sweep.experiment_sha256",
    "grbm_sweep.created",
];

/// The provenance of tables written by this process from the experiment file `experiment_text`.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    values: [String; 7],
}

impl Provenance {
    pub fn of_this_process(experiment_text: &str) -> Self {
        Provenance {
            values: [
                env!("CARGO_PKG_VERSION").to_string(),
                env!("GRBM_SWEEP_COMMIT").to_string(),
                env!("GRBM_SWEEP_RUSTC").to_string(),
                InstructionSet::detect().name().to_string(),
                command_line(std::env::args()),
                sha256_hex(experiment_text.as_bytes()),
                rfc3339_utc(std::time::SystemTime::now()),
            ],
        }
    }

    /// Key and value pairs in [`KEYS`] order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        KEYS.into_iter().zip(self.values.iter().map(String::as_str))
    }

    /// `provenance.json`: one object, the same keys and values as the tables' metadata.
    pub fn to_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .pairs()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
            .collect();
        serde_json::to_string_pretty(&map).expect("a map of strings serializes") + "\n"
    }
}

/// The SHA-256 of `bytes` in hex, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The arguments joined by spaces, each quoted for a POSIX shell where it needs it, so the line
/// can be pasted back into one.
fn command_line(args: impl Iterator<Item = String>) -> String {
    args.map(|a| shell_quote(&a)).collect::<Vec<_>>().join(" ")
}

/// `arg` as a POSIX shell reads it back: unchanged when it is plain, else in single quotes.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `time` in UTC as RFC 3339 to the second, e.g. `2026-11-28T22:33:46Z`.
fn rfc3339_utc(time: std::time::SystemTime) -> String {
    let seconds = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, in 400-year eras).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn sha256_matches_the_standard_test_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn utc_times_match_known_dates() {
        let at = |s: u64| rfc3339_utc(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day of a century year), 2026-11-28T22:33:46Z and 2100-03-01.
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_905_226), "2026-11-28T22:33:46Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn command_lines_quote_what_a_shell_would_split() {
        let line = command_line(
            ["grbm-sweep", "my exp.toml", "--top", "3", "it's"]
                .into_iter()
                .map(String::from),
        );
        assert_eq!(line, r"grbm-sweep 'my exp.toml' --top 3 'it'\''s'");
    }

    #[test]
    fn every_key_has_a_value() {
        let p = Provenance::of_this_process("name = \"x\"\n");
        let pairs: Vec<_> = p.pairs().collect();
        assert_eq!(pairs.len(), KEYS.len());
        assert!(pairs.iter().all(|(_, v)| !v.is_empty()), "{pairs:?}");
        assert_eq!(pairs[5].1, sha256_hex(b"name = \"x\"\n"));
        let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(json["grbm_sweep.version"], env!("CARGO_PKG_VERSION"));
    }
}
