//! Markdown for pull-request comments and GitHub step summaries: a table of changes and a
//! collapsible diff per object, kept below GitHub's size limits.

use std::fmt::Write;

use crate::plan::{Action, Plan};

/// GitHub rejects comments over 65,536 characters; stay clear of it with room for a header.
pub const MARKDOWN_LIMIT: usize = 60_000;

/// The plan as markdown, never longer than `limit` characters. What does not fit is left out
/// whole (no half diffs) and counted in a closing note. The destination `namespaces` that
/// `--create-namespace` adds count among the creations.
pub fn markdown(title: &str, plan: &Plan, namespaces: &[String], limit: usize) -> String {
    let c = plan.counts();
    let mut out = format!(
        "### {title}: {} to create{}, {} to update, {} to prune, {} unchanged{}\n\n",
        c.create + namespaces.len(),
        super::text::with_namespaces(namespaces),
        c.update,
        c.prune,
        c.unchanged,
        if c.error > 0 {
            format!(", {} invalid", c.error)
        } else {
            String::new()
        }
    );
    let shown: Vec<_> = plan
        .entries
        .iter()
        .filter(|e| e.action != Action::Unchanged)
        .collect();
    for ns in namespaces {
        let _ = writeln!(out, "Creates namespace `{ns}` (`--create-namespace`).\n");
    }
    if shown.is_empty() {
        if namespaces.is_empty() {
            out.push_str("No changes.\n");
        }
        return out;
    }
    // Reserve room for the note about what was left out.
    let budget = limit.saturating_sub(300);

    let mut table = String::from("| | object | namespace | source |\n|---|---|---|---|\n");
    let mut rows_left_out = 0;
    for entry in &shown {
        let row = format!(
            "| {} | {} `{}` `{}` | {} | `{}` |\n",
            sign(entry.action),
            entry.id.api_version(),
            entry.id.kind,
            entry.id.name,
            entry.id.namespace.as_deref().unwrap_or(""),
            entry.source()
        );
        if out.len() + table.len() + row.len() > budget / 2 {
            rows_left_out += 1;
        } else {
            table.push_str(&row);
        }
    }
    out.push_str(&table);
    if rows_left_out > 0 {
        let _ = writeln!(out, "\n… and {rows_left_out} more objects.");
    }
    out.push('\n');

    let mut details_left_out = 0;
    let mut chars_left_out = 0;
    for entry in &shown {
        let mut block = format!(
            "<details><summary>{} {} {} <code>{}</code>{}</summary>\n\n",
            sign(entry.action),
            entry.id.api_version(),
            entry.id.kind,
            entry.id.name,
            entry
                .id
                .namespace
                .as_deref()
                .map(|ns| format!(" -n {ns}"))
                .unwrap_or_default()
        );
        if let Some(kept) = &entry.kept {
            let _ = writeln!(block, "Kept: {kept}\n");
        }
        if let Some(error) = &entry.error {
            let _ = writeln!(block, "{}\n", fenced("text", &error.to_string()));
        }
        if !entry.diff.is_empty() {
            let _ = writeln!(block, "{}\n", fenced("diff", &entry.diff));
        }
        block.push_str("</details>\n");
        if out.len() + block.len() > budget {
            details_left_out += 1;
            chars_left_out += block.len();
        } else {
            out.push_str(&block);
        }
    }
    if details_left_out > 0 {
        let _ = write!(
            out,
            "\n> {details_left_out} diffs ({chars_left_out} characters) were left out to stay within the size limit; `kpush diff --output json` has the whole plan.\n"
        );
    }
    out
}

/// The hooks that ran, as a table; each failed one's pods in a collapsed block.
pub fn hooks_markdown(hooks: &[crate::deploy::hooks::HookRun], limit: usize) -> String {
    if hooks.is_empty() {
        return String::new();
    }
    let mut out =
        String::from("\n| hook | phase | wave | result | time |\n|---|---|---|---|---|\n");
    for run in hooks {
        let result = if run.succeeded {
            "✅ succeeded".to_string()
        } else {
            format!(
                "❌ {}",
                run.reason
                    .as_deref()
                    .unwrap_or("failed")
                    .replace('|', "\\|")
                    .replace('\n', " ")
            )
        };
        let _ = writeln!(
            out,
            "| {} `{}` | {} | {} | {} | {:.1}s |",
            run.id.kind, run.id.name, run.phase, run.wave, result, run.seconds
        );
    }
    for run in hooks.iter().filter(|r| !r.succeeded && !r.logs.is_empty()) {
        let mut logs = run.logs.join("\n");
        if logs.len() > limit {
            let cut = (0..=limit)
                .rev()
                .find(|i| logs.is_char_boundary(*i))
                .unwrap_or(0);
            logs.truncate(cut);
            logs.push_str("\n…");
        }
        let _ = write!(
            out,
            "\n<details><summary>{} hook <code>{}</code>: pods and logs</summary>\n\n{}\n</details>\n",
            run.phase,
            run.id.name,
            fenced("text", &logs)
        );
    }
    out
}

fn sign(action: Action) -> &'static str {
    match action {
        Action::Create => "➕ create",
        Action::Update => "✏️ update",
        Action::Prune => "🗑️ prune",
        Action::Keep => "🔒 keep",
        Action::Hook => "🪝 hook",
        Action::Error => "❌ invalid",
        Action::Unchanged => "unchanged",
    }
}

/// A code block whose fence cannot be closed by the content itself.
fn fenced(lang: &str, text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        if ch == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}{lang}\n{text}{newline}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{ObjectRef, Origin};
    use crate::plan::Entry;

    fn entry(i: usize, action: Action) -> Entry {
        Entry {
            id: ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("shop".into()),
                name: format!("cm-{i:04}"),
            },
            origin: Some(Origin {
                file: format!("app/cm-{i:04}.yaml").into(),
                line: 1,
            }),
            action,
            diff: format!("@@ -1,3 +1,3 @@\n data:\n-  value: old-{i}\n+  value: new-{i}\n"),
            error: None,
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
    fn small_plans_render_whole_and_deterministically() {
        let plan = Plan {
            entries: vec![entry(1, Action::Update), entry(2, Action::Unchanged)],
        };
        let text = markdown("kpush diff", &plan, &[], MARKDOWN_LIMIT);
        assert!(
            text.starts_with("### kpush diff: 0 to create, 1 to update, 0 to prune, 1 unchanged\n")
        );
        assert!(
            text.contains("| ✏️ update | v1 `ConfigMap` `cm-0001` | shop | `app/cm-0001.yaml:1` |")
        );
        assert!(
            text.contains(
                "```diff\n@@ -1,3 +1,3 @@\n data:\n-  value: old-1\n+  value: new-1\n```"
            )
        );
        assert!(!text.contains("cm-0002"));
        assert_eq!(text, markdown("kpush diff", &plan, &[], MARKDOWN_LIMIT));
    }

    #[test]
    fn five_hundred_changes_stay_under_the_limit() {
        let plan = Plan {
            entries: (0..500).map(|i| entry(i, Action::Update)).collect(),
        };
        let text = markdown("kpush diff", &plan, &[], MARKDOWN_LIMIT);
        assert!(text.len() <= MARKDOWN_LIMIT, "{}", text.len());
        assert!(text.contains("were left out to stay within the size limit"));
        // Every block that is there is complete.
        assert_eq!(
            text.matches("<details>").count(),
            text.matches("</details>").count()
        );
    }

    #[test]
    fn fences_outgrow_backticks_in_the_content() {
        assert_eq!(fenced("diff", "+a ``` b\n"), "````diff\n+a ``` b\n````");
    }
}
