//! Rendered manifests as one YAML stream (or a JSON `List`).

use serde_json::{Value, json};

use crate::plan::to_yaml;
use crate::render::Rendered;

/// One document per object, each preceded by a `# Source:` comment naming its file and line.
pub fn manifests_yaml(rendered: &Rendered) -> String {
    let mut out = String::new();
    for manifest in &rendered.manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&manifest.origin.to_string());
        out.push('\n');
        out.push_str(&to_yaml(&manifest.object));
    }
    out
}

pub fn manifests_json(rendered: &Rendered) -> String {
    let items: Vec<&Value> = rendered.manifests.iter().map(|m| &m.object).collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut text = serde_json::to_string_pretty(&list).expect("JSON values serialise");
    text.push('\n');
    text
}

/// The YAML stream in a fenced block, for a pull-request comment.
pub fn manifests_markdown(rendered: &Rendered) -> String {
    format!("```yaml\n{}```\n", manifests_yaml(rendered))
}
