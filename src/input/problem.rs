//! What is wrong with the input, pinned to the file and line it is in: every reader of user
//! input (config, render, plan) reports through these.

use std::fmt;

use serde::Serialize;

use crate::object::Origin;

/// One thing wrong with the input, pinned to where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub origin: Origin,
    pub column: Option<u64>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.column {
            Some(col) => format!("{}:{}: {}", self.origin, col, self.message),
            None => format!("{}: {}", self.origin, self.message),
        };
        f.write_str(&printable(&text))
    }
}

/// File names, keys and values in a message come from the repository: their control
/// characters are escaped so they cannot move the cursor or recolour a terminal or CI log.
fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}

/// Every problem found while rendering; rendering goes on past the first so a user fixes them
/// all in one round.
#[derive(Debug, Clone, thiserror::Error)]
pub struct RenderError {
    pub problems: Vec<Problem>,
}

impl RenderError {
    /// One problem about a whole file (no line).
    pub fn single(file: impl Into<std::path::PathBuf>, message: impl Into<String>) -> RenderError {
        RenderError {
            problems: vec![Problem {
                origin: Origin {
                    file: file.into(),
                    line: 0,
                },
                column: None,
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{} invalid manifest{}; nothing was sent to the cluster",
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// What kind of value a document holds, for messages: `a list`, `a mapping`.
pub fn describe(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let p = Problem {
            origin: Origin {
                file: "a\u{1b}[31m.yaml".into(),
                line: 2,
            },
            column: None,
            message: "duplicate mapping key `\u{7}`\nhint: next line".into(),
        };
        assert_eq!(
            p.to_string(),
            "a\\u{1b}[31m.yaml:2: duplicate mapping key `\\u{7}`\nhint: next line"
        );
    }
}
