//! GitHub Actions workflow commands: `::error` annotations on the files that failed,
//! `::warning` annotations on what was kept from a prune for its own flag.

use crate::object::Policy;
use crate::plan::{Action, Entry};

/// GitHub shows at most this many error annotations per step.
const MAX_ANNOTATIONS: usize = 10;

/// One `::error` line per invalid entry, on its file and line; past GitHub's limit, the rest
/// are counted in one closing annotation so none is silently dropped.
pub fn annotate_invalid<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    let invalid: Vec<&Entry> = entries
        .into_iter()
        .filter(|e| e.action == Action::Error)
        .collect();
    let shown = if invalid.len() > MAX_ANNOTATIONS {
        MAX_ANNOTATIONS - 1
    } else {
        invalid.len()
    };
    let mut out = String::new();
    for entry in &invalid[..shown] {
        let mut properties = vec![format!(
            "title={}",
            property(&format!("kpush: {}", entry.id))
        )];
        if let Some(origin) = &entry.origin {
            properties.insert(
                0,
                format!("file={}", property(&origin.file.to_string_lossy())),
            );
            if origin.line > 0 {
                properties.insert(1, format!("line={}", origin.line));
            }
        }
        let message = match (&entry.error, &entry.pending) {
            (Some(failure), _) => failure.message.clone(),
            (None, Some(pending)) => pending.clone(),
            (None, None) => "refused by validation".to_string(),
        };
        out.push_str(&format!(
            "::error {}::{}\n",
            properties.join(","),
            data(&format!("{}: {message}", entry.id))
        ));
    }
    let rest = invalid.len() - shown;
    if rest > 0 {
        out.push_str(&format!(
            "::error title=kpush::{}\n",
            data(&format!(
                "{rest} more objects failed validation; the step's log lists every one"
            ))
        ));
    }
    out
}

/// One `::warning` line per Namespace, CustomResourceDefinition or PersistentVolumeClaim the
/// plan keeps although it left the render: deleting one takes much more along, so it waits
/// for its own flag.
pub fn annotate_kept_containers<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> String {
    entries
        .into_iter()
        .filter(|e| e.action == Action::Keep)
        .filter(|e| {
            e.member()
                .is_some_and(|m| Policy::guard_of(&m.resource).is_some())
        })
        .take(MAX_ANNOTATIONS)
        .map(|e| {
            format!(
                "::warning title={}::{}\n",
                property(&format!("kpush: {} kept", e.id)),
                data(&format!(
                    "{} left the render and is kept: {}",
                    e.id,
                    e.kept.as_deref().unwrap_or_default()
                ))
            )
        })
        .collect()
}

/// An `::error` line for a failure that ended the run before there was a plan.
pub fn error_annotation(message: &str) -> String {
    format!("::error title=kpush::{}\n", data(message))
}

/// Escapes a command's message: a newline would end the command.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value, where `,` and `:` are separators too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ApiFailure;
    use crate::object::{ObjectRef, Origin};

    fn invalid(name: &str, line: u64) -> Entry {
        Entry {
            id: ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("web".into()),
                name: name.into(),
            },
            origin: Some(Origin {
                file: "deploy/app, one.yaml".into(),
                line,
            }),
            action: Action::Error,
            diff: String::new(),
            error: Some(ApiFailure {
                code: 422,
                reason: "Invalid".into(),
                message: "data: 100% wrong\nsecond line".into(),
            }),
            pending: None,
            kept: None,
            replace: false,
            with_it: None,
            untrack: Vec::new(),
            hook: None,
            subject: Default::default(),
            live: None,
        }
    }

    #[test]
    fn annotations_name_file_and_line_and_escape() {
        let out = annotate_invalid(&[invalid("a", 7)]);
        assert_eq!(
            out,
            "::error file=deploy/app%2C one.yaml,line=7,title=kpush%3A ConfigMap/web/a::\
ConfigMap/web/a: data: 100%25 wrong%0Asecond line\n"
        );
    }

    #[test]
    fn past_the_limit_the_rest_is_counted() {
        let entries: Vec<Entry> = (0..25).map(|i| invalid(&format!("o{i}"), i + 1)).collect();
        let out = annotate_invalid(&entries);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), MAX_ANNOTATIONS);
        assert!(lines[8].contains("line=9,"), "{}", lines[8]);
        assert!(
            lines[9].contains("16 more objects failed validation"),
            "{}",
            lines[9]
        );
    }

    #[test]
    fn valid_entries_are_not_annotated() {
        let mut ok = invalid("a", 1);
        ok.action = Action::Create;
        assert_eq!(annotate_invalid(&[ok]), "");
        assert_eq!(
            error_annotation("render: a.yaml:3: bad\nmore"),
            "::error title=kpush::render: a.yaml:3: bad%0Amore\n"
        );
    }
}
