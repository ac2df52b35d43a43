//! Files of documents: YAML (or JSON, by extension) parsed into values with the line each
//! document starts on, or a problem saying where the file is broken.

use std::path::Path;

use super::Problem;
use super::yaml::{self, Document};
use crate::object::Origin;

/// The largest file kpush reads as a manifest, values or config file. The API server takes
/// objects of at most 3 MiB, so a bigger file is almost always a mistake, and reading one costs
/// seconds and several times its size in memory.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

/// Parses a YAML (or, by extension, JSON) file into documents, or says where it is broken.
pub fn parse_documents(file: &Path, bytes: &[u8]) -> Result<Vec<Document>, Problem> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_the_limit_are_refused_before_parsing() {
        let big = vec![b'#'; MAX_FILE_BYTES + 1];
        let p = parse_documents(Path::new("big.yaml"), &big).unwrap_err();
        assert!(
            p.to_string().starts_with("big.yaml: the file is 16.0 MiB"),
            "{p}"
        );
        let at_limit = vec![b'#'; MAX_FILE_BYTES];
        assert!(parse_documents(Path::new("ok.yaml"), &at_limit).is_ok());
    }
}
