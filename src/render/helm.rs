//! Helm charts: `helm template` on a copy of the commit's tree, with the app's release name,
//! namespace, values files, values and parameters, in Argo CD's order of precedence.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::directory::push_documents;
use super::reads::{Reads, lexical};
use super::spec::RenderSpec;
use super::tools;
use super::values::merged_values;
use super::{Problem, RenderError, Rendered};
use crate::object::Origin;
use crate::source::Snapshot;

pub fn render(snapshot: &Snapshot, spec: &RenderSpec) -> Result<Rendered, RenderError> {
    let chart = &spec.path;
    let origin = Origin {
        file: chart.join("Chart.yaml"),
        line: 0,
    };
    let fail = |message: String| RenderError::single(origin.file.clone(), message);
    let work = tempfile::tempdir().map_err(|e| fail(format!("cannot create a temp dir: {e}")))?;
    let tree = work.path().join("tree");
    let mut read = Reads::default();
    reads(snapshot, spec, &mut read)?;
    snapshot
        .materialize_paths(&tree, &read.tidy().paths)
        .map_err(|e| fail(e.to_string()))?;
    vendor_dependencies(snapshot, chart, &tree.join(chart), spec, &origin)?;
    let value_files = value_files(snapshot, chart, &spec.helm)?
        .into_iter()
        .map(|f| tree.join(f))
        .collect();
    let mut file_parameters = Vec::new();
    for (name, file) in &spec.helm.file_parameters {
        let path = lexical(&chart.join(file));
        if !matches!(snapshot.kind(&path), Ok(Some(_))) {
            return Err(fail(format!(
                "`fileParameters` file `{}` does not exist at revision `{}`",
                path.display(),
                snapshot.revision_name()
            )));
        }
        file_parameters.push((name.clone(), tree.join(&path)));
    }
    let inputs = Inputs {
        chart_dir: tree.join(chart),
        label: chart.clone(),
        value_files,
        file_parameters,
    };
    template(snapshot, spec, &inputs, work.path(), &origin)
}

/// A chart from a repository or registry, already in the cache: its values files and file
/// parameters are inside the chart, as Argo CD reads them for a chart source.
pub fn render_chart(
    snapshot: &Snapshot,
    spec: &RenderSpec,
    fetched: &crate::source::charts::Fetched,
) -> Result<Rendered, RenderError> {
    let label = PathBuf::from(format!(
        "{}/{}-{}",
        fetched.resolved.repository.trim_end_matches('/'),
        fetched.resolved.name,
        fetched.resolved.version
    ));
    let origin = Origin {
        file: label.join("Chart.yaml"),
        line: 0,
    };
    let fail = |message: String| RenderError::single(origin.file.clone(), message);
    let work = tempfile::tempdir().map_err(|e| fail(format!("cannot create a temp dir: {e}")))?;
    let inside = |file: &str, what: &str| -> Result<Option<PathBuf>, RenderError> {
        let path = fetched.dir.join(lexical(Path::new(file)));
        if path.is_file() {
            Ok(Some(path))
        } else if what == "values file" && spec.helm.ignore_missing_value_files {
            Ok(None)
        } else {
            Err(fail(format!(
                "{what} `{file}` is not in chart {}",
                fetched.resolved
            )))
        }
    };
    let mut value_files = Vec::new();
    for file in &spec.helm.value_files {
        // `$ref/…` of a multi-source app: from this repository, at the commit deployed.
        if let Some(rest) = file.strip_prefix("$/") {
            let path = lexical(Path::new(rest));
            match snapshot.read(&path) {
                Ok(Some(bytes)) => {
                    let copy = work
                        .path()
                        .join(format!("ref-values-{}.yaml", value_files.len()));
                    std::fs::write(&copy, bytes)
                        .map_err(|e| fail(format!("cannot write values: {e}")))?;
                    value_files.push(copy);
                }
                _ if spec.helm.ignore_missing_value_files => {}
                _ => {
                    return Err(fail(format!(
                        "values file `{}` does not exist at revision `{}`",
                        path.display(),
                        snapshot.revision_name()
                    )));
                }
            }
            continue;
        }
        value_files.extend(inside(file, "values file")?);
    }
    let mut file_parameters = Vec::new();
    for (name, file) in &spec.helm.file_parameters {
        if let Some(path) = inside(file, "`fileParameters` file")? {
            file_parameters.push((name.clone(), path));
        }
    }
    let inputs = Inputs {
        chart_dir: fetched.dir.clone(),
        label,
        value_files,
        file_parameters,
    };
    let mut rendered = template(snapshot, spec, &inputs, work.path(), &origin)?;
    rendered.chart = Some(fetched.resolved.clone());
    Ok(rendered)
}

/// What `helm template` reads besides the app's settings, on disk.
struct Inputs {
    chart_dir: PathBuf,
    /// The chart's name in origins: its repository path, or the repository and version.
    label: PathBuf,
    value_files: Vec<PathBuf>,
    file_parameters: Vec<(String, PathBuf)>,
}

/// `helm template` with the app's release name, namespace, capabilities, values files, values
/// and parameters, in Argo CD's order of precedence.
fn template(
    snapshot: &Snapshot,
    spec: &RenderSpec,
    inputs: &Inputs,
    work: &Path,
    origin: &Origin,
) -> Result<Rendered, RenderError> {
    let fail = |message: String| RenderError::single(origin.file.clone(), message);
    let release = spec
        .helm
        .release_name
        .clone()
        .unwrap_or_else(|| spec.app.clone());
    let helm = &spec.helm;
    let mut command = Command::new(spec.tools.helm());
    command.arg("template").arg(&release).arg(&inputs.chart_dir);
    if !helm.skip_crds {
        command.arg("--include-crds");
    }
    if helm.skip_tests {
        command.arg("--skip-tests");
    }
    if helm.skip_schema_validation {
        command.arg("--skip-schema-validation");
    }
    if let Some(ns) = helm.namespace.as_ref().or(spec.namespace.as_ref()) {
        command.arg("--namespace").arg(ns);
    }
    // `.Capabilities`: the app's own override, else the cluster it deploys to.
    let cluster = spec.capabilities.as_ref();
    if let Some(version) = helm
        .kube_version
        .as_ref()
        .or(cluster.map(|c| &c.kube_version))
    {
        command.arg("--kube-version").arg(version);
    }
    let api_versions = if helm.api_versions.is_empty() {
        cluster
            .map(|c| c.api_versions.as_slice())
            .unwrap_or_default()
    } else {
        helm.api_versions.as_slice()
    };
    for api_version in api_versions {
        command.arg("--api-versions").arg(api_version);
    }
    // Argo CD's precedence: valueFiles < values (or valuesObject, which replaces it) <
    // parameters; kpush's layered values (app, environment, --values, --set) come after the
    // chart's own files.
    for file in &inputs.value_files {
        command.arg("--values").arg(file);
    }
    let layered =
        merged_values(snapshot, &spec.values).map_err(|p| RenderError { problems: vec![p] })?;
    let mut layers: Vec<Value> = vec![layered];
    match (&helm.values_object, &helm.values) {
        (Some(object), _) => layers.push(object.clone()),
        (None, Some(text)) => {
            let docs = crate::input::parse_documents(Path::new("values"), text.as_bytes())
                .map_err(|p| {
                    fail(format!(
                        "`spec.source.helm.values` is not valid YAML: {}",
                        p.message
                    ))
                })?;
            layers.extend(docs.into_iter().map(|d| d.value));
        }
        (None, None) => {}
    }
    for (i, layer) in layers.iter().enumerate() {
        if layer.as_object().is_none_or(|m| m.is_empty()) {
            continue;
        }
        let file = work.join(format!("values-{i}.json"));
        std::fs::write(&file, layer.to_string())
            .map_err(|e| fail(format!("cannot write values: {e}")))?;
        command.arg("--values").arg(file);
    }
    for parameter in &helm.parameters {
        let flag = if parameter.force_string {
            "--set-string"
        } else {
            "--set"
        };
        command.arg(flag).arg(format!(
            "{}={}",
            parameter.name,
            escape_commas(&parameter.value)
        ));
    }
    for (name, path) in &inputs.file_parameters {
        let value = path.to_string_lossy().into_owned();
        command
            .arg("--set-file")
            .arg(format!("{name}={}", escape_commas(&value)));
    }
    let output =
        tools::run(command, origin, "--helm-bin").map_err(|p| RenderError { problems: vec![p] })?;
    parse_output(&inputs.label, &output)
}

/// The chart's values files in order: globs expanded (matches sorted), missing files refused
/// unless `ignoreMissingValueFiles`.
fn value_files(
    snapshot: &Snapshot,
    chart: &Path,
    helm: &crate::config::HelmSpec,
) -> Result<Vec<PathBuf>, RenderError> {
    let origin = chart.join("Chart.yaml");
    let mut found = Vec::new();
    for file in &helm.value_files {
        // A `ref` source's file in another repository, already copied out.
        if Path::new(file).is_absolute() {
            found.push(PathBuf::from(file));
            continue;
        }
        // `$ref/…` of a multi-source app: from the repository root.
        let path = match file.strip_prefix("$/") {
            Some(rest) => lexical(Path::new(rest)),
            None => lexical(&chart.join(file)),
        };
        let text = path.to_string_lossy().replace('\\', "/");
        let matched: Vec<PathBuf> = if text.contains(['*', '?', '{', '[']) {
            let mut all: Vec<PathBuf> = snapshot
                .file_paths(Path::new(""))
                .map_err(|e| RenderError::single(&origin, e.to_string()))?
                .into_iter()
                .filter(|p| super::glob::matches(&text, &p.to_string_lossy().replace('\\', "/")))
                .collect();
            all.sort();
            all
        } else if matches!(snapshot.kind(&path), Ok(Some(_))) {
            vec![path.clone()]
        } else {
            Vec::new()
        };
        if matched.is_empty() && !helm.ignore_missing_value_files {
            return Err(RenderError::single(
                &origin,
                format!(
                    "values file `{file}` ({}) does not exist at revision `{}`\nhint: set `helm.ignoreMissingValueFiles: true` to skip missing values files",
                    path.display(),
                    snapshot.revision_name()
                ),
            ));
        }
        found.extend(matched);
    }
    Ok(found)
}

/// Helm splits `--set` values at commas; Argo CD escapes them, except in `{a,b}` lists.
fn escape_commas(value: &str) -> String {
    if value.starts_with('{') && value.ends_with('}') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut previous = None;
    for c in value.chars() {
        if c == ',' && previous != Some('\\') {
            out.push_str("\\,");
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out
}

/// What rendering the chart at `spec.path` reads: the chart, its values files and file
/// parameters wherever they are, and its `file://` dependencies (theirs too). A dependency
/// fetched from a repository is outside the commit unless `Chart.lock` pins it.
pub(super) fn reads(
    snapshot: &Snapshot,
    spec: &RenderSpec,
    reads: &mut Reads,
) -> Result<(), RenderError> {
    let chart = &spec.path;
    for file in value_files(snapshot, chart, &spec.helm)? {
        if file.is_relative() {
            reads.add(file);
        }
    }
    for (_, file) in &spec.helm.file_parameters {
        reads.add(lexical(&chart.join(file)));
    }
    let mut charts = vec![chart.clone()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(chart) = charts.pop() {
        if !seen.insert(chart.clone()) {
            continue;
        }
        reads.add(chart.clone());
        let definition = snapshot
            .read(&chart.join("Chart.yaml"))
            .ok()
            .flatten()
            .and_then(|bytes| crate::input::parse_yaml(&bytes).ok())
            .and_then(|docs| docs.into_iter().next())
            .map(|d| d.value)
            .unwrap_or(Value::Null);
        let locked = matches!(
            snapshot.kind(&chart.join("Chart.lock")),
            Ok(Some(crate::source::EntryKind::File))
        );
        for dep in definition["dependencies"].as_array().into_iter().flatten() {
            let repository = dep["repository"].as_str().unwrap_or("");
            let name = dep["name"].as_str().unwrap_or("");
            if let Some(local) = repository.strip_prefix("file://") {
                match super::reads::inside(&chart, local) {
                    Some(path) => charts.push(path),
                    None => reads.outside(format!("chart dependency `{name}` at {repository}")),
                }
            } else if !repository.is_empty() && !locked && !vendored(snapshot, &chart, name) {
                reads.outside(format!("chart dependency `{name}` from {repository}"));
            }
        }
    }
    Ok(())
}

/// Whether `charts/` of the chart holds the dependency, unpacked or archived.
fn vendored(snapshot: &Snapshot, chart: &Path, name: &str) -> bool {
    snapshot
        .file_paths(&chart.join("charts"))
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            p.strip_prefix(chart.join("charts"))
                .ok()?
                .components()
                .next()
        })
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .any(|c| c == name || (c.starts_with(&format!("{name}-")) && c.ends_with(".tgz")))
}

/// The chart's dependencies that are neither committed under `charts/` nor local
/// (`file://`) are fetched like any chart from a repository (cached by digest, `--offline`
/// honoured) and placed under the materialized chart's `charts/`, as `helm dependency build`
/// would. A committed `Chart.lock` pins each one's version; a dependency it does not pin, or
/// pins outside the range `Chart.yaml` asks for, is an error.
fn vendor_dependencies(
    snapshot: &Snapshot,
    chart: &Path,
    chart_dir: &Path,
    spec: &RenderSpec,
    origin: &Origin,
) -> Result<(), RenderError> {
    let read = |name: &str| -> Option<Value> {
        let bytes = snapshot.read(&chart.join(name)).ok().flatten()?;
        let docs = crate::input::parse_documents(&chart.join(name), &bytes).ok()?;
        docs.into_iter().next().map(|d| d.value)
    };
    let Some(definition) = read("Chart.yaml") else {
        return Ok(());
    };
    let lock = read("Chart.lock");
    let mut problems = Vec::new();
    for dep in definition["dependencies"].as_array().into_iter().flatten() {
        let name = dep["name"].as_str().unwrap_or("");
        let repository = dep["repository"].as_str().unwrap_or("");
        let present = vendored(snapshot, chart, name);
        if present || repository.is_empty() || repository.starts_with("file://") {
            continue;
        }
        if repository.starts_with('@') || repository.starts_with("alias:") {
            problems.push(format!(
                "chart dependency `{name}` names its repository `{repository}` from Helm's local repository list, which a pipeline does not have\nhint: write the repository's URL in `Chart.yaml`"
            ));
            continue;
        }
        let wanted = dep["version"].as_str().unwrap_or("").to_string();
        let version = match &lock {
            None => wanted.clone(),
            Some(lock) => {
                let locked = lock["dependencies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|l| {
                        l["name"].as_str() == Some(name)
                            && l["repository"].as_str().map(|r| r.trim_end_matches('/'))
                                == Some(repository.trim_end_matches('/'))
                    });
                match locked.and_then(|l| l["version"].as_str()) {
                    Some(v) => v.to_string(),
                    None => {
                        problems.push(format!(
                            "chart dependency `{name}` from `{repository}` is not in `Chart.lock`: the lock is out of date\nhint: run `helm dependency update` and commit `Chart.lock`"
                        ));
                        continue;
                    }
                }
            }
        };
        if lock.is_some() && !crate::source::charts::satisfies(&version, &wanted) {
            problems.push(format!(
                "`Chart.lock` pins chart dependency `{name}` at {version}, outside `{wanted}` that `Chart.yaml` asks for: the lock is out of date\nhint: run `helm dependency update` and commit `Chart.lock`"
            ));
            continue;
        }
        let source = crate::source::charts::ChartSource {
            repo_url: repository.to_string(),
            name: name.to_string(),
            version,
            digest: None,
        };
        match crate::source::charts::fetch(&source, &spec.tools.charts, &spec.tools.helm()) {
            Ok(fetched) => {
                let target = chart_dir
                    .join("charts")
                    .join(format!("{name}-{}.tgz", fetched.resolved.version));
                let copied = std::fs::create_dir_all(chart_dir.join("charts"))
                    .and_then(|_| std::fs::copy(&fetched.archive, &target));
                if let Err(e) = copied {
                    problems.push(format!("cannot place chart dependency `{name}`: {e}"));
                }
            }
            Err(e) => problems.push(format!("chart dependency `{name}`: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RenderError {
            problems: problems
                .into_iter()
                .map(|message| Problem {
                    origin: origin.clone(),
                    column: None,
                    message,
                })
                .collect(),
        })
    }
}

/// Splits helm's stream, attributing each document to its `# Source:` template.
fn parse_output(chart: &Path, output: &str) -> Result<Rendered, RenderError> {
    let mut manifests = Vec::new();
    let mut problems = Vec::new();
    for chunk in split_documents(output) {
        let source = chunk
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .map(|s| {
                // `chartname/templates/x.yaml` → `<chart path>/templates/x.yaml`
                let rest = s.split_once('/').map(|(_, r)| r).unwrap_or(s);
                chart.join(rest)
            })
            .unwrap_or_else(|| chart.to_path_buf());
        match crate::input::parse_yaml(chunk.as_bytes()) {
            Ok(docs) => push_documents(&source, docs, &mut manifests, &mut problems),
            Err(e) => problems.push(Problem {
                origin: Origin {
                    file: source,
                    line: 0,
                },
                column: None,
                message: format!("helm produced invalid YAML: {}", e.message),
            }),
        }
    }
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

fn split_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line == "---" || line.starts_with("--- ") {
            docs.push(String::new());
        } else {
            let doc = docs.last_mut().expect("at least one document");
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_are_escaped_as_argo_cd_does() {
        assert_eq!(escape_commas("a,b"), "a\\,b");
        assert_eq!(escape_commas("a\\,b"), "a\\,b");
        assert_eq!(escape_commas("{a,b}"), "{a,b}");
        assert_eq!(escape_commas("plain"), "plain");
    }

    #[test]
    fn paths_resolve_without_the_disk() {
        assert_eq!(
            lexical(Path::new("charts/web/../values/prod.yaml")),
            PathBuf::from("charts/values/prod.yaml")
        );
        assert_eq!(
            lexical(Path::new("web/./values.yaml")),
            PathBuf::from("web/values.yaml")
        );
    }
}
