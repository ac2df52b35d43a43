//! Unified diffs of normalised, masked YAML.

use serde_json::Value;
use similar::TextDiff;

use super::mask::{SensitivePath, mask_pair_with};

/// The diff between what is live and what would be, secrets masked; hunks only.
pub fn object_diff(live: Option<&Value>, desired: &Value, sensitive: &[SensitivePath]) -> String {
    let (live, desired) = mask_pair_with(live, desired, sensitive);
    // Null stands for "no object": a removal diff ends with nothing, not a `null` line.
    let yaml = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            to_yaml(v)
        }
    };
    let old = live.as_ref().map(yaml).unwrap_or_default();
    let new = yaml(&desired);
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_removal_is_only_removed_lines() {
        let live = json!({"kind": "ConfigMap", "data": {"k": "v"}});
        let diff = object_diff(Some(&live), &Value::Null, &[]);
        assert!(diff.starts_with("@@ -1,3 +0,0 @@"), "{diff}");
        assert!(diff.lines().skip(1).all(|l| l.starts_with('-')), "{diff}");
    }
}
