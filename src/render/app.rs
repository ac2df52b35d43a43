//! Rendering one app: which kind of source its path holds (Helm chart, kustomization, or a
//! directory of manifests, `.j2` templates and `.jsonnet` files), and the objects it produces.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::spec::{RenderSpec, ValueLayer};
use super::template::{TemplateContext, Templates};
use super::{RenderError, Rendered, directory, helm, kustomize};
use crate::config::DirectorySpec;
use crate::images::rewrite_images;
use crate::source::{EntryKind, Snapshot, SourceFile};

/// The kind of source at an app's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Helm,
    Kustomize,
    Directory,
}

pub fn detect(snapshot: &Snapshot, path: &Path) -> Result<SourceKind, RenderError> {
    let is_file = |name: &str| {
        snapshot
            .kind(&path.join(name))
            .map(|k| k == Some(EntryKind::File))
    };
    let io = |e: crate::source::SourceError| RenderError::single(path, e.to_string());
    if is_file("Chart.yaml").map_err(io)? {
        return Ok(SourceKind::Helm);
    }
    for name in super::kustomize::KUSTOMIZATIONS {
        if is_file(name).map_err(io)? {
            return Ok(SourceKind::Kustomize);
        }
    }
    Ok(SourceKind::Directory)
}

/// Renders the app at `spec.path` in `snapshot`.
pub fn render_app(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Rendered, RenderError> {
    let mut foreign = super::foreign::Foreign::default();
    let mut rendered = render_placed(snapshot, spec, &mut foreign)?;
    for more in &spec.more {
        let more = RenderSpec {
            images: spec.images.clone(),
            capabilities: spec.capabilities.clone(),
            tools: spec.tools.clone(),
            ..more.clone()
        };
        let also = render_placed(snapshot, &more, &mut foreign)?;
        rendered.manifests.extend(also.manifests);
        rendered.chart = rendered.chart.or(also.chart);
    }
    rendered.fetched = foreign.read();
    if spec.children_apart {
        rendered
            .manifests
            .retain(|m| !crate::object::is_argo_app(&m.object));
    }
    // Two sources (or two files) declaring one object would fight each other.
    directory::check(rendered)
}

/// One source of the app, from this repository or the one it names, with values files of
/// other repositories copied out.
fn render_placed(
    snapshot: &Snapshot,
    spec: &RenderSpec,
    foreign: &mut super::foreign::Foreign,
) -> Result<Rendered, RenderError> {
    let spec = if spec.refs.is_empty() {
        std::borrow::Cow::Borrowed(spec)
    } else {
        std::borrow::Cow::Owned(foreign.values_files(spec)?)
    };
    match &spec.origin {
        Some(origin) => {
            let at = foreign.open(origin, &spec)?;
            render_source(at, &spec)
        }
        None => render_source(snapshot, &spec),
    }
}

/// One source of the app: its chart, or what its path holds.
fn render_source(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Rendered, RenderError> {
    let mut spec = spec.clone();
    let mut rendered = if let Some(source) = spec.chart.clone() {
        let fetched = crate::source::charts::fetch(&source, &spec.tools.charts, &spec.tools.helm())
            .map_err(|message| {
                RenderError::single(
                    PathBuf::from(format!("{}/{}", source.repo_url, source.name)),
                    message,
                )
            })?;
        spec.promote_in_helm();
        helm::render_chart(snapshot, &spec, &fetched)?
    } else {
        let kind = detect(snapshot, &spec.path)?;
        super::overrides::apply_argocd_source(snapshot, &mut spec)?;
        match kind {
            SourceKind::Helm => {
                spec.promote_in_helm();
                helm::render(snapshot, &spec)?
            }
            SourceKind::Kustomize => {
                spec.promote_in_kustomize();
                kustomize::render(snapshot, &spec)?
            }
            SourceKind::Directory => render_directory_app(snapshot, &spec)?,
        }
    };
    // Plain manifests (and anything a chart or kustomization left untouched) get the tags too.
    for manifest in &mut rendered.manifests {
        rewrite_images(&mut manifest.object, &spec.images);
    }
    Ok(rendered)
}

fn render_directory_app(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Rendered, RenderError> {
    let all = snapshot
        .files(&spec.path)
        .map_err(|e| RenderError::single(&spec.path, e.to_string()))?;
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
    let jsonnet_files: Vec<&SourceFile> = selected
        .iter()
        .copied()
        .filter(|f| super::jsonnet::is_jsonnet(&f.path))
        .collect();
    let (jsonnet_manifests, mut problems) = super::jsonnet::render(snapshot, spec, &jsonnet_files);
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
        let values = super::values::merged_values(snapshot, &spec.values)
            .map_err(|p| RenderError { problems: vec![p] })?;
        let engine = Templates::new(text_files(snapshot)?);
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
    let mut parsed = directory::parse_files(&files);
    // Objects stay in the order of their files' paths, a Jsonnet file's among the others.
    parsed.0.manifests.extend(jsonnet_manifests);
    parsed
        .0
        .manifests
        .sort_by(|a, b| a.origin.file.cmp(&b.origin.file));
    problems.extend(parsed.1);
    problems.extend(directory::duplicates(&parsed.0.manifests));
    if problems.is_empty()
        && parsed.0.manifests.is_empty()
        && files.is_empty()
        && jsonnet_files.is_empty()
        && !spec.allow_empty
    {
        problems.extend(nothing_read(spec, &all, &value_files));
    }
    if problems.is_empty() {
        Ok(parsed.0)
    } else {
        Err(RenderError { problems })
    }
}

/// A directory whose files were all skipped renders nothing: that is a mistake (a path one
/// level too high, `recurse` off, an include that matches nothing), never a silent success.
fn nothing_read(
    spec: &RenderSpec,
    all: &[SourceFile],
    value_files: &BTreeSet<&PathBuf>,
) -> Option<crate::input::Problem> {
    if all.is_empty() {
        return None;
    }
    let why = |f: &SourceFile| {
        let relative = f.path.strip_prefix(&spec.path).unwrap_or(&f.path);
        if value_files.contains(&f.path) {
            "a values file"
        } else if !spec.directory.recurse && relative.components().count() > 1 {
            "in a subdirectory, and `directory.recurse` is false"
        } else if !selected_by(&spec.directory, &spec.path, &f.path) {
            "left out by `directory.include`/`exclude`"
        } else {
            "not a manifest (.yaml, .yml, .json, .jsonnet, or a .j2 template of one)"
        }
    };
    let mut listed: Vec<String> = all
        .iter()
        .take(5)
        .map(|f| format!("{} ({})", f.path.display(), why(f)))
        .collect();
    if all.len() > listed.len() {
        listed.push(format!("and {} more", all.len() - listed.len()));
    }
    let nested = !spec.directory.recurse
        && all.iter().any(|f| {
            let relative = f.path.strip_prefix(&spec.path).unwrap_or(&f.path);
            relative.components().count() > 1 && crate::source::is_manifest_file(&f.path)
        });
    let hint = if nested {
        "set `directory.recurse: true` to read subdirectories (an Argo CD Application reads only the app's own directory by default)"
    } else {
        "check the app's path and its `directory` options; pass `--allow-empty` if an app with no objects is intended"
    };
    Some(crate::input::Problem {
        origin: crate::object::Origin {
            file: spec.path.clone(),
            line: 0,
        },
        column: None,
        message: format!(
            "the render produced no objects: none of the app's {} file(s) was read as a manifest: {}\nhint: {hint}",
            all.len(),
            listed.join(", ")
        ),
    })
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
/// The commit's files as templates read them: text, on demand, none larger than a manifest.
fn text_files(snapshot: &Snapshot) -> Result<super::template::TemplateFiles, RenderError> {
    let read = snapshot
        .shared_reader()
        .map_err(|e| RenderError::single("", e.to_string()))?;
    Ok(Arc::new(move |name: &str| {
        let bytes = read(Path::new(name))?;
        if bytes.len() > crate::input::MAX_FILE_BYTES {
            return None;
        }
        String::from_utf8(bytes).ok()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let snapshot = Snapshot::worktree_for_tests(dir.path());
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
