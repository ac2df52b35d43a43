//! A directory of plain manifests: every YAML/JSON document becomes an object, unchanged.

use std::collections::HashMap;

use serde_json::Value;

use super::{Manifest, Problem, RenderError, Rendered};
use crate::input::Document;
use crate::object::Origin;
use crate::source::{Source, SourceFile};

/// Parses every file of the source; all problems are collected before giving up.
pub fn render_directory(source: &Source) -> Result<Rendered, RenderError> {
    let (rendered, mut problems) = parse_files(&source.files);
    problems.extend(duplicates(&rendered.manifests));
    if problems.is_empty() {
        Ok(rendered)
    } else {
        Err(RenderError { problems })
    }
}

/// Objects of every document of `files`, in order, and the problems found on the way.
pub fn parse_files(files: &[SourceFile]) -> (Rendered, Vec<Problem>) {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let docs = match crate::input::parse_documents(&file.path, &file.bytes) {
            Ok(docs) => docs,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        push_documents(&file.path, docs, &mut manifests, &mut problems);
    }
    (
        Rendered {
            manifests,
            chart: None,
            promoted: Vec::new(),
            fetched: Vec::new(),
            input_digest: None,
        },
        problems,
    )
}

/// Turns parsed documents into manifests attributed to `file`.
pub fn push_documents(
    file: &std::path::Path,
    docs: Vec<Document>,
    manifests: &mut Vec<Manifest>,
    problems: &mut Vec<Problem>,
) {
    for Document { line, value } in docs {
        let origin = Origin {
            file: file.to_path_buf(),
            line,
        };
        for object in expand_list(value) {
            match Manifest::from_value(object, origin.clone()) {
                Ok(m) => manifests.push(m),
                Err(message) => problems.push(Problem {
                    origin: origin.clone(),
                    column: None,
                    message,
                }),
            }
        }
    }
}

/// The checks every render passes: no object declared twice.
pub fn check(rendered: Rendered) -> Result<Rendered, RenderError> {
    let problems = duplicates(&rendered.manifests);
    if problems.is_empty() {
        Ok(rendered)
    } else {
        Err(RenderError { problems })
    }
}

/// `kind: List` (and `*List` kinds, as `kubectl get -o yaml` writes them) holds its objects in
/// `items`; kubectl applies each item, and so does kpush.
fn expand_list(value: Value) -> Vec<Value> {
    let is_list = value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array);
    if !is_list {
        return vec![value];
    }
    match value {
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Two manifests for the same object would fight each other: name both places.
pub(super) fn duplicates(manifests: &[Manifest]) -> Vec<Problem> {
    let mut seen: HashMap<(&str, &str, Option<&str>, &str), &Origin> = HashMap::new();
    let mut problems = Vec::new();
    // Objects the server names (hooks with `generateName`) are new objects every time.
    for m in manifests
        .iter()
        .filter(|m| crate::object::hook::fixed_name(&m.object).is_some())
    {
        let key = (
            m.id.group.as_str(),
            m.id.kind.as_str(),
            m.id.namespace.as_deref(),
            m.id.name.as_str(),
        );
        if let Some(first) = seen.get(&key) {
            problems.push(Problem {
                origin: m.origin.clone(),
                column: None,
                message: format!("duplicate object {}, first declared at {}", m.id, first),
            });
        } else {
            seen.insert(key, &m.origin);
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Revision;

    fn source(files: &[(&str, &str)]) -> Source {
        Source {
            revision: Revision::Worktree,
            files: files
                .iter()
                .map(|(p, c)| SourceFile {
                    path: p.into(),
                    bytes: c.as_bytes().to_vec(),
                })
                .collect(),
        }
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n";

    #[test]
    fn renders_multi_document_files_and_lists() {
        let list = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}]}"#;
        let rendered = render_directory(&source(&[
            (
                "a.yaml",
                &format!("{CM}---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n"),
            ),
            ("b.json", list),
        ]))
        .unwrap();
        let ids: Vec<String> = rendered
            .manifests
            .iter()
            .map(|m| m.id.to_string())
            .collect();
        assert_eq!(ids, ["ConfigMap/a", "Namespace/ns1", "Secret/s"]);
        assert_eq!(rendered.manifests[1].origin.to_string(), "a.yaml:6");
    }

    #[test]
    fn collects_every_problem_with_its_place() {
        let err = render_directory(&source(&[
            ("a.yaml", CM),
            ("b.yaml", "kind: [\n"),
            ("c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"),
            ("d.yaml", CM),
        ]))
        .unwrap_err();
        let text: Vec<String> = err.problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("b.yaml:"), "{text:?}");
        assert!(
            text[1].starts_with("c.yaml:1: missing required field `metadata.name`"),
            "{text:?}"
        );
        assert!(
            text[2].contains("duplicate object ConfigMap/a, first declared at a.yaml:1"),
            "{text:?}"
        );
    }

    #[test]
    fn template_markers_in_plain_files_survive() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rules\ndata:\n  alert: \"{{ $labels.instance }} down\"\n";
        let rendered = render_directory(&source(&[("rules.yaml", cm)])).unwrap();
        assert_eq!(
            rendered.manifests[0].object["data"]["alert"],
            "{{ $labels.instance }} down"
        );
    }
}
