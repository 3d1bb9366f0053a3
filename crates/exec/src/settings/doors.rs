//! The three doors' raw forms: TOML text, JSON text (turned into the TOML
//! table of the same fields) and the flags given on the command line.

use toml::{Table, Value};

use super::table::Def;

/// The flags given, each with its texts (a list flag may have several),
/// in the order given.
#[derive(Debug, Clone, Default)]
pub struct FlagValues(Vec<(&'static Def, Vec<String>)>);

impl FlagValues {
    /// No flags.
    pub fn new() -> FlagValues {
        FlagValues::default()
    }

    /// Adds a flag's texts (a boolean flag's text is `true` or `false`).
    pub fn push(&mut self, def: &'static Def, texts: Vec<String>) {
        self.0.push((def, texts));
    }

    /// The flags given.
    pub fn iter(&self) -> impl Iterator<Item = &(&'static Def, Vec<String>)> {
        self.0.iter()
    }

    /// The last text given for the setting `key`, if it was given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(def, _)| def.key == key)
            .and_then(|(_, texts)| texts.last())
            .map(String::as_str)
    }

    /// Whether no flag was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The flag values for `(key, texts)` pairs (tests, and callers without a
/// command line); unknown keys are left out.
pub fn flag_values(pairs: &[(&str, &[&str])]) -> FlagValues {
    let mut flags = FlagValues::new();
    for (key, texts) in pairs {
        if let Some(def) = super::table::find(key) {
            flags.push(def, texts.iter().map(|t| t.to_string()).collect());
        }
    }
    flags
}

/// A TOML document as a table; the parser's message on one line.
pub fn toml_table(text: &str) -> Result<Table, String> {
    text.parse::<Table>().map_err(|e| {
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        format!("not valid TOML: {message}")
    })
}

/// A JSON object as the TOML table of the same fields (nulls are refused:
/// TOML has none). An error names the field (empty for the whole body).
pub fn json_table(text: &str) -> Result<Table, (String, String)> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| (String::new(), format!("not valid JSON: {e}")))?;
    let serde_json::Value::Object(object) = value else {
        return Err((String::new(), "expected a JSON object".into()));
    };
    let mut table = Table::new();
    for (key, value) in object {
        let value = toml_value(&key, value)?;
        table.insert(key, value);
    }
    Ok(table)
}

/// A flag's JSON text as the TOML value of the same shape; `None` when it
/// is not JSON (the check then says what was expected).
pub(super) fn json_value(key: &str, text: &str) -> Option<Value> {
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    toml_value(key, json).ok()
}

fn toml_value(key: &str, value: serde_json::Value) -> Result<Value, (String, String)> {
    use serde_json::Value as J;
    let error = |reason: String| (key.to_owned(), reason);
    Ok(match value {
        J::Null => return Err(error("null is not a value (leave the field out)".into())),
        J::Bool(b) => Value::Boolean(b),
        J::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) => Value::Float(f),
            _ => return Err(error(format!("number {n} out of range"))),
        },
        J::String(s) => Value::String(s),
        J::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| toml_value(key, v))
                .collect::<Result<_, _>>()?,
        ),
        J::Object(object) => {
            let mut table = Table::new();
            for (k, v) in object {
                let dotted = format!("{key}.{k}");
                table.insert(k, toml_value(&dotted, v)?);
            }
            Value::Table(table)
        }
    })
}
