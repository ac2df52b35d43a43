//! Parsing manifest files into documents, the way kubectl reads them.

use serde_json::Value;
use serde_saphyr::Spanned;

/// A parsed document and the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub line: u64,
    pub value: Value,
}

/// Where and why a file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: u64,
    pub column: Option<u64>,
    pub message: String,
}

fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // `defaultMode: 0644` means octal to kubectl (YAML 1.1); keep that meaning.
    options.legacy_octal_numbers = true;
    options.with_snippet = false;
    // Rendered charts hold thousands of documents and CRD schemas nest deeply; the alias
    // limits that stop YAML bombs stay as they are.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 1_000_000;
    budget.max_nodes = 50_000_000;
    budget.max_events = 100_000_000;
    budget.max_depth = 200;
    options.budget = Some(budget);
    options
}

/// Splits a multi-document YAML stream. Empty documents are skipped, as kubectl does.
pub fn parse_yaml(bytes: &[u8]) -> Result<Vec<Document>, ParseError> {
    let text = utf8(bytes)?;
    let docs: Vec<Spanned<Value>> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|e| {
            let location = e.location();
            ParseError {
                line: location.map(|l| l.line()).unwrap_or(0),
                column: location.map(|l| l.column()),
                message: e.without_snippet().to_string(),
            }
        })?;
    Ok(docs
        .into_iter()
        .filter(|d| !d.value.is_null())
        .map(|d| Document {
            line: d.referenced.line(),
            value: d.value,
        })
        .collect())
}

/// A JSON file holds one document.
pub fn parse_json(bytes: &[u8]) -> Result<Vec<Document>, ParseError> {
    utf8(bytes)?;
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ParseError {
        line: e.line() as u64,
        column: Some(e.column() as u64),
        message: e.to_string(),
    })?;
    Ok(vec![Document { line: 1, value }])
}

fn utf8(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        ParseError {
            line,
            column: None,
            message: format!(
                "the file is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_documents_and_keeps_their_lines() {
        let docs = parse_yaml(b"a: 1\n---\n\n---\nb: 2\nc: x\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value, json!({"a": 1}));
        assert_eq!(docs[0].line, 1);
        assert_eq!(docs[1].value, json!({"b": 2, "c": "x"}));
        assert_eq!(docs[1].line, 5);
    }

    #[test]
    fn reads_octal_modes_as_kubectl_does() {
        let docs = parse_yaml(b"defaultMode: 0644\nport: 8080\n").unwrap();
        assert_eq!(docs[0].value, json!({"defaultMode": 420, "port": 8080}));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let err = parse_yaml(b"a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        let err = parse_yaml(b"a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(err.message.contains("duplicate"), "{err:?}");
    }

    #[test]
    fn large_streams_parse() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";
        let stream = vec![doc; 5000].join("---\n");
        assert_eq!(parse_yaml(stream.as_bytes()).unwrap().len(), 5000);
    }

    #[test]
    fn refuses_bytes_that_are_not_utf8() {
        let err = parse_yaml(b"a: 1\nb: \xff\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("UTF-8"));
    }

    #[test]
    fn json_errors_carry_a_line() {
        let err = parse_json(b"{\n \"a\": 1,\n}").unwrap_err();
        assert_eq!(err.line, 3);
    }
}
