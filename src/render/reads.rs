//! What rendering one source reads from the repository: the paths helm or kustomize are given
//! (never the whole repository), and whether that is all it reads.

use std::path::{Component, Path, PathBuf};

use super::spec::{RenderSpec, ValueLayer};
use super::{RenderError, SourceKind};
use crate::source::Snapshot;

/// The repository paths one source reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reads {
    /// Files, or directories standing for everything under them; sorted, none inside another.
    pub paths: Vec<PathBuf>,
    /// What the render reads besides the repository at this commit (a chart repository, a
    /// remote kustomize base), if anything: then it is not known from the commit alone.
    pub outside: Option<String>,
}

impl Reads {
    pub fn add(&mut self, path: PathBuf) {
        self.paths.push(path);
    }

    pub fn outside(&mut self, what: String) {
        self.outside.get_or_insert(what);
    }

    /// Sorted, without duplicates or paths inside another one.
    pub fn tidy(mut self) -> Reads {
        self.paths.sort();
        self.paths.dedup();
        let mut kept: Vec<PathBuf> = Vec::new();
        for path in self.paths {
            // Sorted, so a directory comes right before what is under it.
            if !kept.iter().any(|k| path.starts_with(k)) {
                kept.push(path);
            }
        }
        self.paths = kept;
        self
    }
}

/// What one source of an app reads, as `render_source` renders it.
pub fn of_source(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Reads, RenderError> {
    let mut reads = Reads::default();
    for layer in &spec.values {
        if let ValueLayer::File(path) = layer {
            reads.add(path.clone());
        }
    }
    if spec.origin.is_some() || !spec.refs.is_empty() {
        reads.outside("another git repository".to_string());
    }
    if let Some(chart) = &spec.chart {
        if chart.digest.is_none() {
            reads.outside(format!(
                "chart {} {} from {}",
                chart.name, chart.version, chart.repo_url
            ));
        }
        for file in &spec.helm.value_files {
            if let Some(rest) = file.strip_prefix("$/") {
                reads.add(lexical(Path::new(rest)));
            }
        }
        return Ok(reads.tidy());
    }
    let mut spec = spec.clone();
    super::overrides::apply_argocd_source(snapshot, &mut spec)?;
    match super::detect(snapshot, &spec.path)? {
        SourceKind::Helm => super::helm::reads(snapshot, &spec, &mut reads)?,
        SourceKind::Kustomize => super::kustomize::reads(snapshot, &spec, &mut reads)?,
        SourceKind::Directory => {
            reads.add(spec.path.clone());
            let templates = snapshot
                .file_paths(&spec.path)
                .map_err(|e| RenderError::single(&spec.path, e.to_string()))?
                .iter()
                .any(|p| p.extension().is_some_and(|e| e == "j2"));
            // A template may include any file of the commit.
            if templates {
                reads.add(PathBuf::new());
            }
        }
    }
    Ok(reads.tidy())
}

/// `a/b/../c` as `a/c`, without touching the disk.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `dir/relative` inside the repository, or `None` when it is absolute or climbs out of it.
pub fn inside(dir: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative);
    if relative.is_absolute() {
        return None;
    }
    let mut out = PathBuf::new();
    for part in dir.join(relative).components() {
        match part {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            Component::Normal(p) => out.push(p),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_others_are_dropped() {
        let reads = Reads {
            paths: [
                "apps/web",
                "apps/web/values.yaml",
                "base",
                "apps/web",
                "apps/webx",
            ]
            .map(PathBuf::from)
            .to_vec(),
            outside: None,
        }
        .tidy();
        assert_eq!(
            reads.paths,
            ["apps/web", "apps/webx", "base"].map(PathBuf::from)
        );
        let whole = Reads {
            paths: ["", "apps/web"].map(PathBuf::from).to_vec(),
            outside: None,
        }
        .tidy();
        assert_eq!(whole.paths, [PathBuf::new()]);
    }

    #[test]
    fn references_stay_inside_the_repository() {
        let dir = Path::new("apps/web/overlays/prod");
        assert_eq!(
            inside(dir, "../../base"),
            Some(PathBuf::from("apps/web/base"))
        );
        assert_eq!(
            inside(dir, "./patch.yaml"),
            Some(PathBuf::from("apps/web/overlays/prod/patch.yaml"))
        );
        assert_eq!(inside(dir, "../../../../.."), None);
        assert_eq!(inside(dir, "/etc/passwd"), None);
        assert_eq!(inside(dir, "../../../.."), Some(PathBuf::new()));
    }
}
