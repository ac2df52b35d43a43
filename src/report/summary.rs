//! The run in a few numbers, for pipelines: dotenv lines and GitLab's terraform report.

use std::fmt::Write;

use crate::plan::Counts;

/// What a pipeline branches on after a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Counts over every app.
    pub counts: Counts,
    /// Something would change (or did): objects, or a namespace to create.
    pub changes: bool,
    /// The commit deployed, when every app was read at the same one.
    pub revision: Option<String>,
    pub exit_code: u8,
}

/// `KEY=VALUE` lines, for GitLab's dotenv report and GitHub's step outputs.
pub fn dotenv(summary: &Summary) -> String {
    let c = &summary.counts;
    let mut out = String::new();
    let _ = writeln!(out, "KPUSH_CHANGES={}", summary.changes);
    let _ = writeln!(out, "KPUSH_TO_CREATE={}", c.create);
    let _ = writeln!(out, "KPUSH_TO_UPDATE={}", c.update);
    let _ = writeln!(out, "KPUSH_TO_PRUNE={}", c.prune);
    let _ = writeln!(out, "KPUSH_UNCHANGED={}", c.unchanged);
    let _ = writeln!(out, "KPUSH_INVALID={}", c.error);
    let _ = writeln!(
        out,
        "KPUSH_REVISION={}",
        summary.revision.as_deref().unwrap_or("")
    );
    let _ = writeln!(out, "KPUSH_EXIT_CODE={}", summary.exit_code);
    out
}

/// The shape GitLab's merge-request widget reads from `artifacts:reports:terraform`.
pub fn gitlab_terraform(summary: &Summary) -> String {
    let c = &summary.counts;
    format!(
        "{{\"create\":{},\"update\":{},\"delete\":{}}}\n",
        c.create, c.update, c.prune
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            counts: Counts {
                create: 3,
                update: 1,
                unchanged: 5,
                prune: 2,
                keep: 0,
                hook: 0,
                error: 0,
            },
            changes: true,
            revision: Some("0123abc".into()),
            exit_code: 2,
        }
    }

    #[test]
    fn dotenv_lines() {
        assert_eq!(
            dotenv(&summary()),
            "KPUSH_CHANGES=true\nKPUSH_TO_CREATE=3\nKPUSH_TO_UPDATE=1\nKPUSH_TO_PRUNE=2\n\
KPUSH_UNCHANGED=5\nKPUSH_INVALID=0\nKPUSH_REVISION=0123abc\nKPUSH_EXIT_CODE=2\n"
        );
        let failed = Summary {
            exit_code: 3,
            ..Summary::default()
        };
        assert!(dotenv(&failed).contains("KPUSH_CHANGES=false\n"));
        assert!(dotenv(&failed).contains("KPUSH_REVISION=\n"));
    }

    #[test]
    fn gitlab_report_counts_prunes_as_deletes() {
        let report: serde_json::Value =
            serde_json::from_str(&gitlab_terraform(&summary())).unwrap();
        assert_eq!(
            report,
            serde_json::json!({"create": 3, "update": 1, "delete": 2})
        );
    }
}
