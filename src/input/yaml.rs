//! Parsing manifest files into documents, the way kubectl reads them.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};

/// How deeply collections may nest; CRD schemas go a few dozen levels deep. Reading recurses
/// once per level: 200 levels take about 1.3 MiB of stack in a release build (5 MiB in a debug
/// one), so documents are read on the main thread (8 MiB), never on a 2 MiB worker thread.
pub const MAX_DEPTH: usize = 200;

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
    budget.max_depth = MAX_DEPTH;
    // Manifests hardly use aliases; a tenth of the library's default stops a YAML bomb in a
    // fraction of the time and still leaves room for an anchored container reused a thousand times.
    budget.max_recorded_anchor_events = 100_000;
    // Those totals bound the work; the ratio heuristic would refuse an anchor used 11 times.
    budget.enforce_alias_anchor_ratio = false;
    options.alias_limits.max_total_replayed_events = 100_000;
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
                message: yaml_message(&e),
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

/// The parser's message without its location (the problem shows file, line and column) and
/// in words for people rather than for the parser's developers.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    let mut inner = error;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let bomb = "aliases expand to too much data (a YAML bomb?)";
    match inner {
        serde_saphyr::Error::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { .. } => format!("nested more than {MAX_DEPTH} levels deep"),
            BudgetBreach::Aliases { .. }
            | BudgetBreach::Anchors { .. }
            | BudgetBreach::RecordedAnchorEvents { .. }
            | BudgetBreach::RecordedAnchorBytes { .. }
            | BudgetBreach::AliasAnchorRatio { .. } => bomb.to_string(),
            _ => "the file is too large or too complex to read".to_string(),
        },
        serde_saphyr::Error::AliasReplayLimitExceeded { .. }
        | serde_saphyr::Error::AliasExpansionLimitExceeded { .. }
        | serde_saphyr::Error::AliasReplayStackDepthExceeded { .. }
        | serde_saphyr::Error::AliasReplayCounterOverflow { .. } => bomb.to_string(),
        // `!!int text` and the like: the tag asks for a type the text is not.
        serde_saphyr::Error::InvalidScalar { ty, .. } => {
            let what = match *ty {
                t if t.starts_with('u') || t.starts_with('i') => "an integer",
                t if t.starts_with('f') => "a number",
                "bool" => "true or false",
                other => other,
            };
            format!("the value does not match its tag (it is not {what})")
        }
        serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
            format!("duplicate mapping key `{key}`")
        }
        other => {
            let text = UserMessageFormatter.format_message(other);
            if text.contains("recursion limit exceeded") {
                format!("nested more than {MAX_DEPTH} levels deep")
            } else {
                text.into_owned()
            }
        }
    }
}

/// A JSON file holds one document. Duplicate keys are refused, as in YAML: which of the two
/// values the server would keep is not obvious from the file.
pub fn parse_json(bytes: &[u8]) -> Result<Vec<Document>, ParseError> {
    utf8(bytes)?;
    let Strict(value) = serde_json::from_slice(bytes).map_err(|e| {
        let text = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = text.strip_suffix(&suffix).unwrap_or(&text);
        ParseError {
            line: e.line() as u64,
            column: Some(e.column() as u64),
            message: if message == "recursion limit exceeded" {
                "nested too deeply".to_string()
            } else {
                message.to_string()
            },
        }
    })?;
    Ok(vec![Document { line: 1, value }])
}

/// A JSON value read with duplicate object keys as an error.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
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
        assert_eq!(err.message, "trailing comma");
    }

    #[test]
    fn json_refuses_duplicate_keys() {
        let err = parse_json(b"{\"a\": 1,\n \"b\": {\"c\": 1, \"c\": 2}}").unwrap_err();
        assert_eq!((err.line, err.message.as_str()), (2, "duplicate key `c`"));
        let docs = parse_json(br#"{"a": [1, 2.5, "x", null, true, {"b": {}}]}"#).unwrap();
        assert_eq!(
            docs[0].value,
            json!({"a": [1, 2.5, "x", null, true, {"b": {}}]})
        );
    }

    #[test]
    fn messages_are_for_people() {
        let err = parse_yaml(b"a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.message, "duplicate mapping key `a`");
        let err = parse_yaml(b"a: \"x\n").unwrap_err();
        assert!(!err.message.contains("line"), "{err:?}");
        let err = parse_yaml(b"kind: !!int ConfigMap\n").unwrap_err();
        assert_eq!(
            err.message,
            "the value does not match its tag (it is not an integer)"
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_a_stack_overflow() {
        // With the stack kpush parses on: its main thread's 8 MiB, not a test thread's 2.
        let check = || {
            for open in ["[", "{a: "] {
                let text = format!("a: {}", open.repeat(100_000));
                let err = parse_yaml(text.as_bytes()).unwrap_err();
                assert!(err.message.contains("nested"), "{open}: {err:?}");
            }
            let block: String = (0..1000)
                .map(|i| format!("{}a:\n", "  ".repeat(i)))
                .collect();
            let err = parse_yaml(block.as_bytes()).unwrap_err();
            assert_eq!(err.message, "nested more than 200 levels deep");
            let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
            assert_eq!(
                parse_json(json.as_bytes()).unwrap_err().message,
                "nested too deeply"
            );
        };
        std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(check)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn anchors_and_merge_keys_still_work() {
        let mut text =
            String::from("base: &c {name: web, image: nginx, ports: [80, 443]}\nlist:\n");
        for _ in 0..1000 {
            text.push_str("  - <<: *c\n    extra: 1\n");
        }
        let docs = parse_yaml(text.as_bytes()).unwrap();
        assert_eq!(docs[0].value["list"][999]["image"], "nginx");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let err = parse_yaml(text.as_bytes()).unwrap_err();
        assert!(err.message.contains("YAML bomb"), "{err:?}");
    }
}
