//! Kustomizations: `kustomize build` (or `kubectl kustomize`) on a copy of the commit's tree,
//! with the app's image, prefix and label overrides written into the copy first, as Argo CD
//! does with `kustomize edit`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use super::directory::push_documents;
use super::reads::Reads;
use super::spec::RenderSpec;
use super::{RenderError, Rendered, tools};
use crate::config::KustomizeSpec;
use crate::object::Origin;
use crate::source::EntryKind;
use crate::source::Snapshot;

/// The names a kustomization file may have, in the order kustomize looks for them.
pub const KUSTOMIZATIONS: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The kustomization file in `path`, if there is one.
pub fn kustomization_file(snapshot: &Snapshot, path: &Path) -> Option<PathBuf> {
    KUSTOMIZATIONS
        .iter()
        .map(|name| path.join(name))
        .find(|p| matches!(snapshot.kind(p), Ok(Some(EntryKind::File))))
}

pub fn render(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Rendered, RenderError> {
    let file = kustomization_file(snapshot, &spec.path)
        .unwrap_or_else(|| spec.path.join("kustomization.yaml"));
    let origin = Origin {
        file: file.clone(),
        line: 0,
    };
    let fail = |message: String| RenderError::single(file.clone(), message);
    let overridden = overridden(snapshot, spec, &file)?;
    let mut read = Reads::default();
    walk(snapshot, spec, overridden.as_ref(), &mut read);
    let build = |paths: Option<&[PathBuf]>| -> Result<String, RenderError> {
        let work =
            tempfile::tempdir().map_err(|e| fail(format!("cannot create a temp dir: {e}")))?;
        match paths {
            Some(paths) => snapshot.materialize_paths(work.path(), paths),
            None => snapshot.materialize(work.path()),
        }
        .map_err(|e| fail(e.to_string()))?;
        if let Some(doc) = &overridden {
            let yaml = serde_saphyr::to_string(doc).map_err(|e| fail(e.to_string()))?;
            std::fs::write(work.path().join(&file), yaml).map_err(|e| fail(e.to_string()))?;
        }
        let (bin, verb) = spec.tools.kustomize();
        let mut command = Command::new(bin);
        command.arg(verb).arg(work.path().join(&spec.path));
        tools::run(command, &origin, "--kustomize-bin")
            .map_err(|p| RenderError { problems: vec![p] })
    };
    let read = read.tidy();
    let output = match build(Some(&read.paths)) {
        Ok(output) => output,
        Err(failed) => {
            // A file the kustomization reads that kpush did not see referenced: the whole
            // commit decides. Its error, if it fails too, is the one to show.
            tracing::info!(path = %spec.path.display(), "kustomize failed on the paths the kustomization names; building with the whole commit: {failed}");
            build(None)?
        }
    };
    let docs = crate::input::parse_yaml(output.as_bytes())
        .map_err(|e| fail(format!("kustomize produced invalid YAML: {}", e.message)))?;
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    push_documents(&file, docs, &mut manifests, &mut problems);
    if problems.is_empty() {
        Ok(Rendered {
            manifests,
            chart: None,
            promoted: Vec::new(),
            fetched: Vec::new(),
            input_digest: None,
        })
    } else {
        Err(RenderError { problems })
    }
}

/// The kustomization with the app's overrides written in, or `None` when it has none.
fn overridden(
    snapshot: &Snapshot,
    spec: &RenderSpec,
    file: &Path,
) -> Result<Option<Value>, RenderError> {
    if !has_overrides(&spec.kustomize) {
        return Ok(None);
    }
    let fail = |message: String| RenderError::single(file, message);
    let text = snapshot
        .read(file)
        .map_err(|e| fail(e.to_string()))?
        .unwrap_or_default();
    let mut doc = crate::input::parse_documents(file, &text)
        .map_err(|p| RenderError { problems: vec![p] })?
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or_else(|| json!({}));
    apply_overrides(&mut doc, &spec.kustomize).map_err(fail)?;
    Ok(Some(doc))
}

/// What building the kustomization at `spec.path` reads.
pub(super) fn reads(
    snapshot: &Snapshot,
    spec: &RenderSpec,
    reads: &mut Reads,
) -> Result<(), RenderError> {
    let file = kustomization_file(snapshot, &spec.path)
        .unwrap_or_else(|| spec.path.join("kustomization.yaml"));
    let overridden = overridden(snapshot, spec, &file)?;
    walk(snapshot, spec, overridden.as_ref(), reads);
    Ok(())
}

/// Follows the kustomization's references: its directory, and every path one of its values
/// names outside it (bases, components, patches, generator files), kustomization by
/// kustomization. Any string that names a path of the commit counts, so a field kpush does not
/// know still brings its files; `resources` and `components` it cannot find are remote.
fn walk(snapshot: &Snapshot, spec: &RenderSpec, root: Option<&Value>, reads: &mut Reads) {
    let mut queue = vec![(spec.path.clone(), root.cloned())];
    let mut seen = std::collections::BTreeSet::new();
    while let Some((dir, doc)) = queue.pop() {
        if !seen.insert(dir.clone()) {
            continue;
        }
        reads.add(dir.clone());
        let doc = doc.or_else(|| {
            let file = kustomization_file(snapshot, &dir)?;
            let bytes = snapshot.read(&file).ok()??;
            Some(
                crate::input::parse_yaml(&bytes)
                    .ok()?
                    .into_iter()
                    .next()?
                    .value,
            )
        });
        let Some(doc) = doc else { continue };
        for field in ["resources", "bases", "components"] {
            for entry in doc[field].as_array().into_iter().flatten() {
                let Some(entry) = entry.as_str() else {
                    continue;
                };
                let found = super::reads::inside(&dir, entry)
                    .is_some_and(|p| matches!(snapshot.kind(&p), Ok(Some(_))));
                if !found {
                    reads.outside(format!(
                        "kustomize {field} entry `{entry}` of {}",
                        dir.display()
                    ));
                }
            }
        }
        if doc.get("helmCharts").is_some() {
            reads.outside(format!(
                "the charts `helmCharts` of {} names",
                dir.display()
            ));
        }
        let mut strings = Vec::new();
        strings_in(&doc, &mut strings);
        for text in strings {
            // `key=path` of a generator's `files`.
            let candidates = std::iter::once(text).chain(text.split_once('=').map(|(_, p)| p));
            for candidate in candidates {
                if candidate.is_empty()
                    || candidate.contains(['\n', '*'])
                    || candidate.contains("://")
                {
                    continue;
                }
                let Some(path) = super::reads::inside(&dir, candidate) else {
                    continue;
                };
                match snapshot.kind(&path) {
                    Ok(Some(EntryKind::Dir)) => queue.push((path, None)),
                    Ok(Some(EntryKind::File)) => reads.add(path),
                    _ => {}
                }
            }
        }
    }
}

fn strings_in<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings_in(v, out)),
        _ => {}
    }
}

fn has_overrides(k: &KustomizeSpec) -> bool {
    !k.images.is_empty()
        || k.name_prefix.is_some()
        || k.name_suffix.is_some()
        || !k.common_labels.is_empty()
        || !k.common_annotations.is_empty()
        || k.namespace.is_some()
        || !k.replicas.is_empty()
        || !k.patches.is_empty()
        || !k.components.is_empty()
}

/// The list at `field` of the kustomization, created when missing.
fn list<'a>(doc: &'a mut Value, field: &str) -> Result<&'a mut Vec<Value>, String> {
    doc.as_object_mut()
        .expect("a mapping")
        .entry(field)
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| format!("`{field}` in the kustomization is not a list"))
}

/// Writes the overrides into a kustomization document.
pub fn apply_overrides(doc: &mut Value, k: &KustomizeSpec) -> Result<(), String> {
    if !doc.is_object() {
        return Err("the kustomization is not a mapping".into());
    }
    for image in &k.images {
        let entry = image_entry(image)?;
        let images = doc
            .as_object_mut()
            .expect("checked above")
            .entry("images")
            .or_insert_with(|| json!([]));
        let Some(list) = images.as_array_mut() else {
            return Err("`images` in the kustomization is not a list".into());
        };
        list.retain(|i| i["name"] != entry["name"]);
        list.push(entry);
    }
    if let Some(namespace) = &k.namespace {
        doc["namespace"] = json!(namespace);
    }
    for (name, count) in &k.replicas {
        let replicas = list(doc, "replicas")?;
        replicas.retain(|r| r["name"] != name.as_str());
        replicas.push(json!({"name": name, "count": count}));
    }
    if !k.patches.is_empty() {
        list(doc, "patches")?.extend(k.patches.iter().cloned());
    }
    for component in &k.components {
        let components = list(doc, "components")?;
        if !components.iter().any(|c| c == component.as_str()) {
            components.push(json!(component));
        }
    }
    if let Some(prefix) = &k.name_prefix {
        doc["namePrefix"] = json!(prefix);
    }
    if let Some(suffix) = &k.name_suffix {
        doc["nameSuffix"] = json!(suffix);
    }
    for (field, map) in [
        ("commonLabels", &k.common_labels),
        ("commonAnnotations", &k.common_annotations),
    ] {
        if map.is_empty() {
            continue;
        }
        let target = doc
            .as_object_mut()
            .expect("checked above")
            .entry(field)
            .or_insert_with(|| json!({}));
        for (key, value) in map {
            target[key] = json!(value);
        }
    }
    Ok(())
}

/// `name=newName:newTag`, `name=newName@digest`, `name:newTag` or `name@digest`.
fn image_entry(image: &str) -> Result<Value, String> {
    let (name, target) = match image.split_once('=') {
        Some((name, target)) => (name.to_string(), Some(target)),
        None => (String::new(), None),
    };
    let spec = target.unwrap_or(image);
    let mut entry = serde_json::Map::new();
    let (reference, digest) = match spec.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (spec, None),
    };
    // A colon after the last slash separates the tag; one before it is a registry port.
    let (repo, tag) = match reference.rfind(':') {
        Some(i) if !reference[i..].contains('/') => (&reference[..i], Some(&reference[i + 1..])),
        _ => (reference, None),
    };
    if repo.is_empty() {
        return Err(format!("kustomize image `{image}` names no image"));
    }
    if target.is_some() {
        entry.insert("name".into(), json!(name));
        if repo != name {
            entry.insert("newName".into(), json!(repo));
        }
    } else {
        entry.insert("name".into(), json!(repo));
    }
    if let Some(tag) = tag {
        entry.insert("newTag".into(), json!(tag));
    }
    if let Some(digest) = digest {
        entry.insert("digest".into(), json!(digest));
    }
    Ok(Value::Object(entry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_overrides_read_like_kustomize_edit() {
        let cases = [
            ("nginx:1.27", json!({"name": "nginx", "newTag": "1.27"})),
            (
                "nginx=registry:5000/nginx:1.27",
                json!({"name": "nginx", "newName": "registry:5000/nginx", "newTag": "1.27"}),
            ),
            (
                "web@sha256:abc",
                json!({"name": "web", "digest": "sha256:abc"}),
            ),
            ("registry:5000/web", json!({"name": "registry:5000/web"})),
        ];
        for (text, expected) in cases {
            assert_eq!(image_entry(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn overrides_merge_into_the_kustomization() {
        let mut doc = json!({"resources": ["a.yaml"], "images": [{"name": "nginx", "newTag": "1"}], "commonLabels": {"a": "1"}});
        let spec = KustomizeSpec {
            images: vec!["nginx:2".into()],
            name_prefix: Some("prod-".into()),
            common_labels: [("team".to_string(), "web".to_string())].into(),
            ..KustomizeSpec::default()
        };
        apply_overrides(&mut doc, &spec).unwrap();
        assert!(doc.get("patches").is_none() && doc.get("replicas").is_none());
        assert_eq!(doc["images"], json!([{"name": "nginx", "newTag": "2"}]));
        assert_eq!(doc["namePrefix"], "prod-");
        assert_eq!(doc["commonLabels"], json!({"a": "1", "team": "web"}));
    }

    #[test]
    fn namespace_replicas_patches_and_components_are_written_as_argo_cd_writes_them() {
        let mut doc = json!({"resources": ["a.yaml"], "replicas": [{"name": "web", "count": 1}, {"name": "db", "count": 1}],
            "patches": [{"path": "mine.yaml"}], "components": ["../c"]});
        let patch = json!({"target": {"kind": "ConfigMap"}, "patch": "- op: add\n  path: /data/x\n  value: y"});
        let spec = KustomizeSpec {
            namespace: Some("shop".into()),
            replicas: vec![("web".into(), 3)],
            patches: vec![patch.clone()],
            components: vec!["../c".into(), "../d".into()],
            ..KustomizeSpec::default()
        };
        apply_overrides(&mut doc, &spec).unwrap();
        assert_eq!(doc["namespace"], "shop");
        assert_eq!(
            doc["replicas"],
            json!([{"name": "db", "count": 1}, {"name": "web", "count": 3}])
        );
        assert_eq!(doc["patches"], json!([{"path": "mine.yaml"}, patch]));
        assert_eq!(doc["components"], json!(["../c", "../d"]));
    }
}
