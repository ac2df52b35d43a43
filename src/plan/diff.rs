//! Unified diffs of normalised, masked YAML.

use serde_json::Value;
use similar::TextDiff;

use super::mask::{SensitivePath, mask_pair_with};

/// The diff between what is live and what would be, secrets masked; hunks only.
pub fn object_diff(live: Option<&Value>, desired: &Value, sensitive: &[SensitivePath]) -> String {
    let (live, desired) = mask_pair_with(live, desired, sensitive);
    let old = live.as_ref().map(to_yaml).unwrap_or_default();
    let new = to_yaml(&desired);
    unified(&old, &new)
}

/// A unified diff with three lines of context and no file header.
pub fn unified(old: &str, new: &str) -> String {
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
    }
    out
}

pub fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value).unwrap_or_else(|e| format!("# cannot render as YAML: {e}\n"))
}
