//! Machine-readable output: the plan and the results, with a stable shape.

use serde::Serialize;

use crate::apply::Applied;
use crate::plan::{Counts, Plan};
use crate::prune::Pruned;

/// What `diff` and `apply` print with `--output json`.
#[derive(Debug, Serialize)]
pub struct DeployReport<'a> {
    /// `diff` or `apply`.
    pub command: &'a str,
    pub counts: Counts,
    pub plan: &'a Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<&'a Applied>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<&'a Pruned>,
    pub exit_code: u8,
}

pub fn json(report: &DeployReport<'_>) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("reports serialise");
    text.push('\n');
    text
}
