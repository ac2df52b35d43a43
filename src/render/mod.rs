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
pub use overrides::{override_file, record_promotions};
pub use template::{TemplateContext, Templates};
pub use tools::Tools;
pub use values::{deep_merge, parse_set};
pub use yaml::Document;

/// Parses a YAML (or, by extension, JSON) file into documents, or says where it is broken.
pub fn parse_documents(file: &std::path::Path, bytes: &[u8]) -> Result<Vec<Document>, Problem> {
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
        match self.column {
            Some(col) => write!(f, "{}:{}: {}", self.origin, col, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
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
