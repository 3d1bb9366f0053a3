//! One setting's value, checked against its kind and range: the same check
//! for a flag's text, a job file's TOML and a service job's JSON (turned
//! into TOML first).

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Value;

use super::table::{Def, Kind, MAX_LIMIT_SECS};

/// A checked value.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    /// `Kind::Bool`.
    Bool(bool),
    /// `Kind::Int`.
    Int(i64),
    /// `Kind::Float`.
    Float(f64),
    /// `Kind::Text`, `Kind::Choice`, `Kind::CheckoutPath`.
    Text(String),
    /// `Kind::Texts`.
    Texts(Vec<String>),
    /// `Kind::Duration`.
    Duration(Duration),
    /// `Kind::Size`, in bytes.
    Size(u64),
    /// Paths and programs, resolved against the job's directory; `None`
    /// for `Kind::DirOrNone`'s `none`.
    Path(Option<PathBuf>),
    /// `Kind::Rules`: the tables, read by whoever uses them.
    Rules(Vec<toml::Table>),
}

/// What is wrong with a value: the reason, for a message that also names
/// the setting and the value.
pub type Reason = String;

/// Checks `value` for `def`; paths are resolved against `base`.
pub fn check(def: &Def, value: &Value, base: &Path) -> Result<Checked, Reason> {
    match def.kind {
        Kind::Bool => value
            .as_bool()
            .map(Checked::Bool)
            .ok_or(expected("true or false")),
        Kind::Int { min, max } => match value.as_integer() {
            Some(n) if (min..=max).contains(&n) => Ok(Checked::Int(n)),
            _ => Err(format!("expected a whole number from {min} to {max}")),
        },
        Kind::Float {
            min,
            min_in,
            max,
            max_in,
            what,
        } => {
            let n = value
                .as_float()
                .or_else(|| value.as_integer().map(|i| i as f64))
                .ok_or(expected(what))?;
            let above = if min_in { n >= min } else { n > min };
            let below = if max_in { n <= max } else { n < max };
            match above && below {
                true => Ok(Checked::Float(n)),
                false => Err(expected(what)),
            }
        }
        Kind::Text | Kind::CheckoutPath => text(value).map(Checked::Text),
        Kind::Choice(words, what) => {
            let word = text(value)?;
            match words.contains(&word.as_str()) {
                true => Ok(Checked::Text(word)),
                false => Err(format!(
                    "unknown {what} {word:?} (known: {})",
                    words.join(", ")
                )),
            }
        }
        Kind::Texts => texts(value).map(Checked::Texts),
        Kind::Duration => duration(value).map(Checked::Duration),
        Kind::Size => {
            let text = match value {
                Value::Integer(n) if *n >= 0 => n.to_string(),
                other => self::text(other)?,
            };
            culprit_build::store::parse_size(&text).map(Checked::Size)
        }
        Kind::Path => Ok(Checked::Path(Some(base.join(text(value)?)))),
        Kind::Dir => existing(base.join(text(value)?), true),
        Kind::File => existing(base.join(text(value)?), false),
        Kind::Program => {
            let name = text(value)?;
            Ok(Checked::Path(Some(match name.contains('/') {
                true => base.join(name),
                false => PathBuf::from(name),
            })))
        }
        Kind::DirOrNone => match text(value)?.as_str() {
            "none" => Ok(Checked::Path(None)),
            dir => Ok(Checked::Path(Some(base.join(dir)))),
        },
        Kind::Rules => match value {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_table().cloned())
                .collect::<Option<Vec<_>>>()
                .map(Checked::Rules)
                .ok_or(expected("a list of tables")),
            _ => Err(expected("a list of tables")),
        },
    }
}

fn expected(what: &str) -> Reason {
    format!("expected {what}")
}

fn text(value: &Value) -> Result<String, Reason> {
    value
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .ok_or(expected("a non-empty string"))
}

fn texts(value: &Value) -> Result<Vec<String>, Reason> {
    let list = match value {
        Value::Array(items) => items.iter().map(text).collect::<Result<Vec<_>, _>>(),
        one => text(one).map(|t| vec![t]),
    };
    list.map_err(|_| expected("a string or a list of non-empty strings"))
}

fn duration(value: &Value) -> Result<Duration, Reason> {
    let limit =
        expected("seconds, or a time like \"90s\", \"30m\", \"4h\", from 1 second to a year");
    let secs = match value {
        Value::Integer(n) => u64::try_from(*n).ok(),
        Value::String(s) => parse_duration(s),
        _ => None,
    };
    match secs {
        Some(secs) if (1..=MAX_LIMIT_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(limit),
    }
}

/// `"90s"`, `"30m"`, `"1h"`, `"45"` (seconds): the number of seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// A path that must exist, as a directory (`dir`) or a file.
fn existing(path: PathBuf, dir: bool) -> Result<Checked, Reason> {
    let shown = path.display();
    match (std::fs::metadata(&path), dir) {
        (Err(_), _) => Err(format!("{shown} does not exist")),
        (Ok(m), true) if !m.is_dir() => Err(format!("{shown} is not a directory")),
        (Ok(m), false) if m.is_dir() => Err(format!("{shown} is a directory, not a file")),
        (Ok(_), _) => Ok(Checked::Path(Some(path))),
    }
}

/// A flag's text as the TOML value the same setting has in a job file:
/// numbers as numbers (when they read as one: else the text, which the
/// check then refuses with the same words as a file's), lists as lists.
pub fn from_flag(def: &Def, texts: &[String]) -> Value {
    let one = texts.last().cloned().unwrap_or_default();
    match def.kind {
        Kind::Bool => Value::Boolean(one == "true"),
        Kind::Texts => Value::Array(texts.iter().cloned().map(Value::String).collect()),
        Kind::Int { .. } => one
            .trim()
            .parse::<i64>()
            .map_or(Value::String(one), Value::Integer),
        Kind::Float { .. } => one
            .trim()
            .parse::<f64>()
            .map_or(Value::String(one), Value::Float),
        Kind::Rules => super::doors::json_value(def.key, &one).unwrap_or(Value::String(one)),
        Kind::Duration if one.trim().bytes().all(|b| b.is_ascii_digit()) => one
            .trim()
            .parse::<i64>()
            .map_or(Value::String(one), Value::Integer),
        _ => Value::String(one),
    }
}

/// How a value is shown in a message: as TOML writes it.
pub fn shown(value: &Value) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("30m"), Some(1800));
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("45"), Some(45));
        assert_eq!(parse_duration("1d"), None);
        assert_eq!(parse_duration(""), None);
        let def = super::super::table::get("build_timeout");
        let base = Path::new("/");
        for bad in ["0s", "99999999h", "5 days", "-1"] {
            let value = Value::String(bad.into());
            assert!(check(def, &value, base).is_err(), "{bad}");
        }
        assert!(check(def, &Value::Integer(0), base).is_err());
        assert_eq!(
            check(def, &Value::String("2h".into()), base),
            Ok(Checked::Duration(Duration::from_secs(7200)))
        );
    }

    #[test]
    fn files_and_directories_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        let file = super::super::table::get("kernel.config");
        let repo = super::super::table::get("repo");
        let v = |s: &str| Value::String(s.into());
        assert!(check(file, &v("f"), dir.path()).is_ok());
        let e = check(file, &v("."), dir.path()).unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        let e = check(repo, &v("f"), dir.path()).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
        let e = check(file, &v("nope"), dir.path()).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
    }
}
