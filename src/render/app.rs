//! Rendering one app: which kind of source its path holds (Helm chart, kustomization, or a
//! directory of manifests and `.j2` templates), and the objects it produces.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::template::{TemplateContext, Templates};
use super::tools::Tools;
use super::{Problem, RenderError, Rendered, directory, helm, kustomize};
use crate::config::{DirectorySpec, HelmSpec, KustomizeSpec};
use crate::images::{Promotion, rewrite_images};
use crate::object::Origin;
use crate::source::{EntryKind, Snapshot, SourceFile};

/// A layer of values, lowest precedence first.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueLayer {
    /// A values file in the repository (repository-relative).
    File(PathBuf),
    /// Values given inline (config, `--values` files from disk, `--set`).
    Inline(Value),
}

/// Everything rendering one app needs; no cluster.
#[derive(Debug, Clone, Default)]
pub struct RenderSpec {
    pub app: String,
    pub env: Option<String>,
    /// Repository-relative path of the app.
    pub path: PathBuf,
    /// Destination namespace, for Helm's `.Release.Namespace`.
    pub namespace: Option<String>,
    pub directory: DirectorySpec,
    pub helm: HelmSpec,
    pub kustomize: KustomizeSpec,
    pub values: Vec<ValueLayer>,
    /// Values files of every environment: never read as manifests, whichever is deployed.
    pub value_files: Vec<PathBuf>,
    pub tools: Tools,
    /// Promoted images, already checked against the policy.
    pub images: Vec<Promotion>,
    /// The process environment variables the app's config lets templates read.
    pub env_vars: BTreeMap<String, String>,
}

/// The kind of source at an app's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Helm,
    Kustomize,
    Directory,
}

const KUSTOMIZATIONS: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

pub fn detect(snapshot: &Snapshot, path: &Path) -> Result<SourceKind, RenderError> {
    let is_file = |name: &str| {
        snapshot
            .kind(&path.join(name))
            .map(|k| k == Some(EntryKind::File))
    };
    let io = |e: crate::source::SourceError| single(path, e.to_string());
    if is_file("Chart.yaml").map_err(io)? {
        return Ok(SourceKind::Helm);
    }
    for name in KUSTOMIZATIONS {
        if is_file(name).map_err(io)? {
            return Ok(SourceKind::Kustomize);
        }
    }
    Ok(SourceKind::Directory)
}

pub fn kustomization_file(snapshot: &Snapshot, path: &Path) -> Option<PathBuf> {
    KUSTOMIZATIONS
        .iter()
        .map(|name| path.join(name))
        .find(|p| matches!(snapshot.kind(p), Ok(Some(EntryKind::File))))
}

fn single(path: &Path, message: String) -> RenderError {
    RenderError {
        problems: vec![Problem {
            origin: Origin {
                file: path.to_path_buf(),
                line: 0,
            },
            column: None,
            message,
        }],
    }
}

/// Renders the app at `spec.path` in `snapshot`.
pub fn render_app(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Rendered, RenderError> {
    let kind = detect(snapshot, &spec.path)?;
    let mut spec = spec.clone();
    super::overrides::apply_argocd_source(snapshot, &mut spec)?;
    let mut rendered = match kind {
        SourceKind::Helm => {
            promote_in_helm(&mut spec);
            helm::render(snapshot, &spec)?
        }
        SourceKind::Kustomize => {
            promote_in_kustomize(&mut spec);
            kustomize::render(snapshot, &spec)?
        }
        SourceKind::Directory => render_directory_app(snapshot, &spec)?,
    };
    // Plain manifests (and anything a chart or kustomization left untouched) get the tags too.
    for manifest in &mut rendered.manifests {
        rewrite_images(&mut manifest.object, &spec.images);
    }
    directory::check(rendered)
}

/// Helm: the promoted tag goes to the values the policy names (`image.tag` by default), as
/// `--set-string` parameters after everything else.
pub(super) fn promote_in_helm(spec: &mut RenderSpec) {
    for p in &spec.images {
        let key = |k: &Option<String>, default: &str| {
            k.as_deref()
                .unwrap_or(default)
                .trim_start_matches('.')
                .to_string()
        };
        let mut set = |name: String, value: String| {
            spec.helm
                .parameters
                .retain(|existing| existing.name != name);
            spec.helm.parameters.push(crate::config::HelmParameter {
                name,
                value,
                force_string: true,
            });
        };
        match &p.helm.image_spec {
            Some(name) => set(name.trim_start_matches('.').to_string(), p.to_string()),
            None => {
                set(key(&p.helm.image_tag, "image.tag"), p.tag.clone());
                if p.helm.image_name.is_some() {
                    set(
                        key(&p.helm.image_name, "image.repository"),
                        p.repository.clone(),
                    );
                }
            }
        }
    }
}

/// Kustomize: the promoted tag becomes an `images:` entry (`kustomize edit set image`).
fn promote_in_kustomize(spec: &mut RenderSpec) {
    for p in &spec.images {
        let name = p
            .kustomize_name
            .clone()
            .unwrap_or_else(|| p.repository.clone());
        spec.kustomize
            .images
            .push(format!("{name}={}:{}", p.repository, p.tag));
    }
}

/// Merges the value layers in order.
pub fn merged_values(snapshot: &Snapshot, layers: &[ValueLayer]) -> Result<Value, Problem> {
    let mut values = Value::Object(Default::default());
    for layer in layers {
        let value = match layer {
            ValueLayer::Inline(v) => v.clone(),
            ValueLayer::File(path) => {
                let problem = |message: String| Problem {
                    origin: Origin {
                        file: path.clone(),
                        line: 0,
                    },
                    column: None,
                    message,
                };
                let bytes = snapshot
                    .read(path)
                    .map_err(|e| problem(e.to_string()))?
                    .ok_or_else(|| {
                        problem(format!(
                            "values file `{}` does not exist at revision `{}`",
                            path.display(),
                            snapshot.revision_name()
                        ))
                    })?;
                let docs = super::parse_documents(path, &bytes)?;
                match docs.into_iter().next().map(|d| d.value) {
                    None => continue,
                    Some(v @ Value::Object(_)) => v,
                    Some(other) => {
                        return Err(problem(format!(
                            "a values file must be a mapping, found {}",
                            super::describe(&other)
                        )));
                    }
                }
            }
        };
        if !value.is_null() {
            super::deep_merge(&mut values, value);
        }
    }
    Ok(values)
}

fn render_directory_app(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Rendered, RenderError> {
    let all = snapshot
        .files(&spec.path)
        .map_err(|e| single(&spec.path, e.to_string()))?;
    let value_files: BTreeSet<&PathBuf> = spec
        .values
        .iter()
        .filter_map(|l| match l {
            ValueLayer::File(p) => Some(p),
            ValueLayer::Inline(_) => None,
        })
        .chain(&spec.value_files)
        .collect();
    let selected: Vec<&SourceFile> = all
        .iter()
        .filter(|f| !value_files.contains(&f.path))
        // Argo CD's override files are settings, not manifests.
        .filter(|f| {
            !f.path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".argocd-source"))
        })
        .filter(|f| selected_by(&spec.directory, &spec.path, &f.path))
        .collect();

    let mut files = Vec::new();
    let mut problems = Vec::new();
    // `web.yaml.j2` renders to a manifest; other `.j2` files (`_labels.j2`) are only there to
    // be included or imported.
    let templates: Vec<&&SourceFile> = selected
        .iter()
        .filter(|f| {
            f.path.extension().is_some_and(|e| e == "j2")
                && crate::source::is_manifest_file(&f.path.with_extension(""))
        })
        .collect();
    if !templates.is_empty() {
        let values =
            merged_values(snapshot, &spec.values).map_err(|p| RenderError { problems: vec![p] })?;
        let engine = Templates::new(Arc::new(text_files(snapshot)?));
        let ctx = TemplateContext {
            values,
            git: snapshot.commit.clone(),
            env: spec.env.clone(),
            app: spec.app.clone(),
            env_vars: spec.env_vars.clone(),
            images: spec
                .images
                .iter()
                .filter_map(|p| Some((p.alias.clone()?, p.to_string())))
                .collect(),
        };
        for template in templates {
            match engine.render(&template.path, &ctx) {
                // The rendered file reads as the name without `.j2`.
                Ok(text) => files.push(SourceFile {
                    path: template.path.clone(),
                    bytes: text.into_bytes(),
                }),
                Err(problem) => problems.push(problem),
            }
        }
    }
    files.extend(
        selected
            .iter()
            .filter(|f| crate::source::is_manifest_file(&f.path))
            .map(|f| (*f).clone()),
    );
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let parsed = directory::parse_files(&files);
    problems.extend(parsed.1);
    problems.extend(directory::duplicates(&parsed.0.manifests));
    if problems.is_empty() {
        Ok(parsed.0)
    } else {
        Err(RenderError { problems })
    }
}

/// Argo CD's directory options: `recurse`, `include` and `exclude`, relative to the app path.
fn selected_by(options: &DirectorySpec, root: &Path, file: &Path) -> bool {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let text = relative.to_string_lossy().replace('\\', "/");
    if !options.recurse && text.contains('/') {
        return false;
    }
    let name_or_path = |pattern: &str| {
        super::glob::matches(pattern, &text)
            || (!pattern.contains('/')
                && relative
                    .file_name()
                    .is_some_and(|n| super::glob::matches(pattern, &n.to_string_lossy())))
    };
    if let Some(include) = &options.include
        && !name_or_path(include)
    {
        return false;
    }
    if let Some(exclude) = &options.exclude
        && name_or_path(exclude)
    {
        return false;
    }
    true
}

/// Every text file of the commit, for template includes and imports (none larger than a
/// manifest file may be).
fn text_files(snapshot: &Snapshot) -> Result<BTreeMap<String, String>, RenderError> {
    let files = snapshot
        .files(Path::new(""))
        .map_err(|e| single(Path::new(""), e.to_string()))?;
    Ok(files
        .into_iter()
        .filter(|f| f.bytes.len() <= super::MAX_FILE_BYTES)
        .filter_map(|f| {
            let text = String::from_utf8(f.bytes).ok()?;
            Some((f.path.to_string_lossy().replace('\\', "/"), text))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{SourceRequest, WORKTREE};

    #[test]
    fn partials_are_included_not_rendered_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("app/lib")).unwrap();
        let write = |path: &str, text: &str| std::fs::write(dir.path().join(path), text).unwrap();
        write(
            "app/cm.yaml.j2",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n{% include 'lib/labels.j2' %}\n",
        );
        write("app/lib/labels.j2", "  labels: {team: shop}\n");
        let snapshot = Snapshot::open(&SourceRequest {
            path: Path::new("."),
            revision: WORKTREE,
            repo: Some(dir.path()),
            trust_repo_owner: false,
        })
        .unwrap();
        let spec = RenderSpec {
            app: "web".into(),
            path: "app".into(),
            ..RenderSpec::default()
        };
        let rendered = render_app(&snapshot, &spec).unwrap();
        assert_eq!(rendered.manifests.len(), 1);
        assert_eq!(
            rendered.manifests[0].object["metadata"]["labels"]["team"],
            "shop"
        );
    }
}
