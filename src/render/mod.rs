//! The "render" stage: source files become the list of objects that should exist, in a stable
//! order, each with the file and line it came from. No cluster is involved.

mod app;
mod directory;
mod glob;
mod helm;
mod kustomize;
mod manifest;
mod overrides;
mod template;
mod tools;
mod values;
mod yaml;

use std::fmt;

use serde::Serialize;

pub use app::{RenderSpec, SourceKind, ValueLayer, detect, merged_values, render_app};
pub use directory::render_directory;
pub use manifest::Manifest;
pub(crate) use manifest::describe;
pub use overrides::{override_file, record_promotions};
pub use template::{TemplateContext, Templates};
pub use tools::Tools;
pub use values::{deep_merge, parse_set};
pub use yaml::Document;

/// The largest file kpush reads as a manifest, values or config file. The API server takes
/// objects of at most 3 MiB, so a bigger file is almost always a mistake, and reading one costs
/// seconds and several times its size in memory.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Parses a YAML (or, by extension, JSON) file into documents, or says where it is broken.
pub fn parse_documents(file: &std::path::Path, bytes: &[u8]) -> Result<Vec<Document>, Problem> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Problem {
            origin: Origin {
                file: file.to_path_buf(),
                line: 0,
            },
            column: None,
            message: format!(
                "the file is {:.1} MiB; kpush reads files of at most {} MiB\nhint: split it into several files",
                bytes.len() as f64 / (1024.0 * 1024.0),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        });
    }
    let is_json = file.extension().is_some_and(|e| e == "json");
    let parsed = if is_json {
        yaml::parse_json(bytes)
    } else {
        yaml::parse_yaml(bytes)
    };
    parsed.map_err(|e| Problem {
        origin: Origin {
            file: file.to_path_buf(),
            line: e.line,
        },
        column: e.column,
        message: e.message,
    })
}

use crate::object::Origin;

/// Everything the source declares, in source order (files sorted by path, documents in file
/// order), so the same commit always renders byte-identical output.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub manifests: Vec<Manifest>,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_the_limit_are_refused_before_parsing() {
        let big = vec![b'#'; MAX_FILE_BYTES + 1];
        let p = parse_documents(std::path::Path::new("big.yaml"), &big).unwrap_err();
        assert!(
            p.to_string().starts_with("big.yaml: the file is 16.0 MiB"),
            "{p}"
        );
        let at_limit = vec![b'#'; MAX_FILE_BYTES];
        assert!(parse_documents(std::path::Path::new("ok.yaml"), &at_limit).is_ok());
    }

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
