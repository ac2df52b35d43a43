//! Values an app declares sensitive (`sensitivePaths`): masked like Secret data in every
//! output.

use serde_json::Value;

/// A value outside Secrets that must be masked like Secret data: `Kind[/name]:dotted.path`,
/// e.g. `ConfigMap/settings:data.token` (an app's `sensitivePaths`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitivePath {
    pub kind: String,
    pub name: Option<String>,
    pub path: Vec<String>,
}

impl std::str::FromStr for SensitivePath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (object, path) = text
            .split_once(':')
            .ok_or_else(|| format!("sensitive path `{text}` is not `Kind[/name]:dotted.path`"))?;
        let (kind, name) = match object.split_once('/') {
            Some((kind, name)) => (kind, Some(name.to_string())),
            None => (object, None),
        };
        let path: Vec<String> = path.split('.').map(str::to_string).collect();
        if kind.is_empty() || path.iter().any(String::is_empty) {
            return Err(format!(
                "sensitive path `{text}` is not `Kind[/name]:dotted.path`"
            ));
        }
        Ok(SensitivePath {
            kind: kind.to_string(),
            name,
            path,
        })
    }
}

impl SensitivePath {
    pub fn applies_to(&self, object: &Value) -> bool {
        object["kind"].as_str() == Some(self.kind.as_str())
            && self
                .name
                .as_deref()
                .is_none_or(|n| object["metadata"]["name"].as_str() == Some(n))
    }
}
