//! `Kind.group`, the way ApplySet annotations spell a kind.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

/// `Deployment.apps`, or `ConfigMap` for the core group.
impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}.{}", self.kind, self.group)
        }
    }
}

impl FromStr for GroupKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (kind, group) = text.split_once('.').unwrap_or((text, ""));
        if kind.is_empty() {
            return Err(format!("`{text}` is not a Kind.group"));
        }
        Ok(GroupKind {
            group: group.to_string(),
            kind: kind.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in ["ConfigMap", "Deployment.apps", "Widget.example.kpush.dev"] {
            assert_eq!(text.parse::<GroupKind>().unwrap().to_string(), text);
        }
        let gk: GroupKind = "Widget.example.kpush.dev".parse().unwrap();
        assert_eq!(gk.group, "example.kpush.dev");
        assert!("".parse::<GroupKind>().is_err());
    }
}
