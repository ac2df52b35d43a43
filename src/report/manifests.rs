//! Rendered manifests as one YAML stream (or a JSON `List`).

use serde_json::{Value, json};

use super::Format;
use crate::plan::to_yaml;
use crate::render::Rendered;

/// `kpush render`'s output in `format`: YAML for text (and the formats that only count,
/// which `--output` does not offer), a `List` for JSON, a fenced block for markdown.
pub fn manifests(format: Format, rendered: &Rendered) -> String {
    match format {
        Format::Json => manifests_json(rendered),
        Format::Markdown => manifests_markdown(rendered),
        Format::Text | Format::Dotenv | Format::GitlabTerraform => manifests_yaml(rendered),
    }
}

/// One document per object, each preceded by a `# Source:` comment naming its file and line.
fn manifests_yaml(rendered: &Rendered) -> String {
    let mut out = String::new();
    for manifest in &rendered.manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&manifest.origin.to_string());
        out.push('\n');
        out.push_str(&to_yaml(&manifest.object));
    }
    out
}

fn manifests_json(rendered: &Rendered) -> String {
    let items: Vec<&Value> = rendered.manifests.iter().map(|m| &m.object).collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut text = serde_json::to_string_pretty(&list).expect("JSON values serialise");
    text.push('\n');
    text
}

/// The YAML stream in a fenced block, for a pull-request comment.
fn manifests_markdown(rendered: &Rendered) -> String {
    format!("```yaml\n{}```\n", manifests_yaml(rendered))
}
