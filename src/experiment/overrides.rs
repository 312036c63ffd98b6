//! `--set KEY=VALUE`: an experiment file's text with some values replaced or added, as if the file had been edited, so that the runs, their ids and the results folder's copy of the experiment are those of the edited file.

use super::{ConfigError, SECTIONS, TOP_KEYS, did_you_mean};
use std::path::Path;
use toml::de::{DeTable, DeValue};

/// `text` (of the experiment file `path`) with each `KEY=VALUE` of `sets` applied in order:
/// `section.key=VALUE` or a top-level `key=VALUE`. An existing value is replaced where it stands
/// (the file's other lines and comments stay as they are); a new key goes on the line after its
/// section's header, or into a new section at the end. VALUE is TOML (`5`, `[0.01, 0.1]`,
/// `"cd"`), or else taken as a string (`sampler=pcd`). A comment at the end lists the settings.
pub fn apply(path: &Path, text: &str, sets: &[String]) -> Result<String, ConfigError> {
    let mut text = text.to_string();
    for set in sets {
        let bad = |reason: String| ConfigError::Set {
            path: path.to_path_buf(),
            set: set.clone(),
            reason,
        };
        let (key, value) = set
            .split_once('=')
            .ok_or_else(|| bad("give it as KEY=VALUE, e.g. train.epochs=5".into()))?;
        let (section, key) = match key.trim().split_once('.') {
            Some((section, key)) => (Some(section), key),
            None => (None, key.trim()),
        };
        check_names(section, key).map_err(bad)?;
        let value = value_text(value.trim());
        text = set_in(&text, section, key, &value).map_err(bad)?;
    }
    if !sets.is_empty() {
        text.push_str(&format!(
            "\n# Set on the command line (grbm-sweep --set): {}\n",
            sets.join(" ")
        ));
    }
    Ok(text)
}

/// Whether `section.key` (or a top-level `key`) can be set: a known section, or a top-level key,
/// and a plain key name. Unknown keys of a known section are left to the file's own checks,
/// which name the allowed ones.
fn check_names(section: Option<&str>, key: &str) -> Result<(), String> {
    let plain = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    match section {
        Some(section) if !SECTIONS.contains(&section) => Err(format!(
            "unknown section `[{section}]`; {}allowed sections: {}",
            did_you_mean(section, &SECTIONS, |s| format!("[{s}]")),
            SECTIONS.map(|s| format!("[{s}]")).join(", ")
        )),
        Some(_) if !plain(key) => Err(format!(
            "`{key}` is not a key name (letters, digits, `_` and `-`)"
        )),
        None if !TOP_KEYS.contains(&key) => Err(format!(
            "unknown key `{key}`; {}give a section's key as SECTION.KEY (train.epochs=5), or one \
             of {}",
            did_you_mean(key, &TOP_KEYS, str::to_string),
            TOP_KEYS.join(", ")
        )),
        _ => Ok(()),
    }
}

/// `value` as TOML text: itself when it is a TOML value, else a TOML string of it.
fn value_text(value: &str) -> String {
    match DeValue::parse(value) {
        Ok(_) => value.to_string(),
        Err(_) => toml::Value::String(value.to_string()).to_string(),
    }
}

/// `text` with `key` of `section` (or of the top level) set to `value`.
fn set_in(text: &str, section: Option<&str>, key: &str, value: &str) -> Result<String, String> {
    let top = DeTable::parse(text)
        .map_err(|e| format!("the file does not read as TOML ({})", e.message().trim()))?;
    let table = match section {
        None => Some(top.get_ref()),
        Some(section) => match top.get_ref().get(section).map(|v| v.get_ref()) {
            Some(DeValue::Table(table)) => Some(table),
            Some(_) => return Err(format!("`{section}` is not a section in the file")),
            None => None,
        },
    };
    if let Some(existing) = table.and_then(|t| t.get(key)) {
        let span = existing.span();
        return Ok(format!(
            "{}{value}{}",
            &text[..span.start],
            &text[span.end..]
        ));
    }
    let line = format!("{key} = {value}\n");
    let Some(section) = section else {
        return Ok(format!("{line}{text}"));
    };
    match header_end(text, section) {
        Some(at) => Ok(format!("{}{line}{}", &text[..at], &text[at..])),
        None if table.is_some() => Err(format!(
            "`[{section}]` is written inline in the file; set its keys by editing the file"
        )),
        None => {
            let newline = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            Ok(format!("{text}{newline}\n[{section}]\n{line}"))
        }
    }
}

/// The byte just after the line of section `section`'s header `[section]`, if it has one.
fn header_end(text: &str, section: &str) -> Option<usize> {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix('[')
            && !rest.starts_with('[')
            && let Some((name, _)) = rest.split_once(']')
            && name.trim() == section
        {
            return Some(end);
        }
        start = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "name = \"e\" # the name\n\n[data]\nsource = \"gmm_iso\"\n\n[train]\n\
                        epochs = 20 # twenty\nlr = 0.01\n\n[grid]\nhidden = [2, 4]\n";

    fn set(sets: &[&str]) -> Result<String, ConfigError> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        apply(Path::new("e.toml"), FILE, &sets)
    }

    /// A value is replaced where it stands, comments and other lines kept; a new key goes under
    /// its section's header; a new section at the end; a bare word becomes a string.
    #[test]
    fn values_are_replaced_in_place_and_new_keys_go_under_their_header() {
        let text = set(&[
            "train.epochs=5",
            "grid.lr=[0.01, 0.1]",
            "train.sampler=pcd",
            "eval.every=0",
            "name=other",
        ])
        .unwrap();
        let expected = "name = \"other\" # the name\n\n[data]\nsource = \"gmm_iso\"\n\n\
                        [train]\nsampler = \"pcd\"\nepochs = 5 # twenty\nlr = 0.01\n\n[grid]\n\
                        lr = [0.01, 0.1]\nhidden = [2, 4]\n\n[eval]\nevery = 0\n\n\
                        # Set on the command line (grbm-sweep --set): train.epochs=5 \
                        grid.lr=[0.01, 0.1] train.sampler=pcd eval.every=0 name=other\n";
        assert_eq!(text, expected);
        assert_eq!(set(&[]).unwrap(), FILE);
    }

    /// A setting without `=`, of an unknown section or top-level key, or of a key that is no
    /// name, is refused with the setting in the message and what was meant where it is close.
    #[test]
    fn malformed_settings_are_refused_with_a_suggestion() {
        let message = |sets: &[&str]| set(sets).unwrap_err().to_string();
        assert!(message(&["train.epochs"]).contains("--set train.epochs: give it as KEY=VALUE"));
        let m = message(&["trian.epochs=5"]);
        assert!(
            m.contains("unknown section `[trian]`; did you mean `[train]`?"),
            "{m}"
        );
        let m = message(&["epochs=5"]);
        assert!(
            m.contains("unknown key `epochs`; give a section's key as SECTION.KEY"),
            "{m}"
        );
        let m = message(&["train.a.b=5"]);
        assert!(m.contains("`a.b` is not a key name"), "{m}");
    }
}
