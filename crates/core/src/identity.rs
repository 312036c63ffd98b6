//! The canonical encoding that run ids and the results folder's manifest are computed from: every value spelled one way on every platform and in every version of Rust and of this program's dependencies.
//!
//! An encoding is a version line and one `key=value` line per field, in a fixed order:
//!
//! ```text
//! grbm-sweep run v4
//! source=s"gmm_iso"
//! n_train=i10000
//! lr=f3f847ae147ae147b
//! ```
//!
//! Integers are decimal after `i`, floats the 16 hex digits of their IEEE-754 bits after `f`
//! (so 0.1 and 0.1000000000000000055 are one value, and -0.0 and 0.0 two), booleans `btrue` or
//! `bfalse`, text a JSON string after `s`, lists `[` items separated by `,` `]`, and an unset
//! option `none`. A change of any rule changes the version line, and so every id.

use std::fmt::Write;

/// One value of an encoded field.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    List(Vec<Field>),
    Unset,
}

impl Field {
    /// Text, from anything that reads as one.
    pub fn text(value: impl Into<String>) -> Self {
        Field::Text(value.into())
    }

    fn encode(&self, out: &mut String) {
        match self {
            Field::Int(v) => write!(out, "i{v}").expect("writing to a String cannot fail"),
            Field::Float(v) => {
                write!(out, "f{:016x}", v.to_bits()).expect("writing to a String cannot fail")
            }
            Field::Bool(v) => write!(out, "b{v}").expect("writing to a String cannot fail"),
            Field::Text(v) => {
                out.push('s');
                out.push_str(&serde_json::to_string(v).expect("a string serializes"));
            }
            Field::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.encode(out);
                }
                out.push(']');
            }
            Field::Unset => out.push_str("none"),
        }
    }

    /// The value as an experiment file writes it (TOML syntax), for messages.
    pub fn shown(&self) -> String {
        match self {
            Field::Int(v) => v.to_string(),
            Field::Float(v) => v.to_string(),
            Field::Bool(v) => v.to_string(),
            Field::Text(v) => serde_json::to_string(v).expect("a string serializes"),
            Field::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Field::shown)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Field::Unset => "unset".into(),
        }
    }

    /// The encoding of this value alone (no version line, no key).
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        self.encode(&mut out);
        out
    }
}

/// The canonical text of `fields` under the `version` line.
pub fn encode<'a>(version: &str, fields: impl IntoIterator<Item = (&'a str, Field)>) -> String {
    let mut out = format!("{version}\n");
    for (key, value) in fields {
        out.push_str(key);
        out.push('=');
        value.encode(&mut out);
        out.push('\n');
    }
    out
}

/// 16 hex digits of the FNV-1a hash of `bytes`.
pub fn hex_id(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}

/// FNV-1a, 64 bits: stable across platforms and versions, unlike `std`'s hashers.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_spelled_out_byte_for_byte() {
        let text = encode(
            "v",
            [
                ("n", Field::Int(-3)),
                ("lr", Field::Float(0.1)),
                ("on", Field::Bool(true)),
                ("file", Field::text("a \"b\".csv")),
                ("cols", Field::List(vec![Field::text("x"), Field::Int(2)])),
                ("test", Field::Unset),
            ],
        );
        assert_eq!(
            text,
            "v\nn=i-3\nlr=f3fb999999999999a\non=btrue\nfile=s\"a \\\"b\\\".csv\"\ncols=[s\"x\",i2]\ntest=none\n"
        );
    }

    #[test]
    fn floats_are_told_apart_by_their_bits_and_shown_as_written() {
        assert_ne!(
            Field::Float(0.0).canonical(),
            Field::Float(-0.0).canonical()
        );
        assert_eq!(Field::Float(0.2).shown(), "0.2");
        assert_eq!(
            Field::List(vec![Field::text("a.csv"), Field::text("b.csv")]).shown(),
            "[\"a.csv\", \"b.csv\"]"
        );
        assert_eq!(Field::Unset.shown(), "unset");
    }

    #[test]
    fn fnv1a_matches_its_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
