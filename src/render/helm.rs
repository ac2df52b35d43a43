//! Helm charts: `helm template` on a copy of the commit's tree, with the app's release name,
//! namespace, values files, values and parameters, in Argo CD's order of precedence.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::directory::push_documents;
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
    check_dependencies(snapshot, chart, &origin)?;
    let work = tempfile::tempdir().map_err(|e| fail(format!("cannot create a temp dir: {e}")))?;
    let tree = work.path().join("tree");
    snapshot
        .materialize(&tree)
        .map_err(|e| fail(e.to_string()))?;

    let release = spec
        .helm
        .release_name
        .clone()
        .unwrap_or_else(|| spec.app.clone());
    let mut command = Command::new(spec.tools.helm());
    command
        .arg("template")
        .arg(&release)
        .arg(tree.join(chart))
        .arg("--include-crds");
    if let Some(ns) = &spec.namespace {
        command.arg("--namespace").arg(ns);
    }
    // Argo CD's precedence: valueFiles < values < valuesObject < parameters; kpush's layered
    // values (app, environment, --values, --set) come after the chart's own files.
    for file in &spec.helm.value_files {
        let path = chart.join(file);
        if !matches!(snapshot.kind(&path), Ok(Some(_))) {
            return Err(fail(format!(
                "values file `{}` does not exist at revision `{}`",
                path.display(),
                snapshot.revision_name()
            )));
        }
        command.arg("--values").arg(tree.join(path));
    }
    let layered =
        merged_values(snapshot, &spec.values).map_err(|p| RenderError { problems: vec![p] })?;
    let mut layers: Vec<Value> = vec![layered];
    if let Some(text) = &spec.helm.values {
        let docs =
            crate::input::parse_documents(Path::new("values"), text.as_bytes()).map_err(|p| {
                fail(format!(
                    "`spec.source.helm.values` is not valid YAML: {}",
                    p.message
                ))
            })?;
        layers.extend(docs.into_iter().map(|d| d.value));
    }
    layers.extend(spec.helm.values_object.clone());
    for (i, layer) in layers.iter().enumerate() {
        if layer.as_object().is_none_or(|m| m.is_empty()) {
            continue;
        }
        let file = work.path().join(format!("values-{i}.json"));
        std::fs::write(&file, layer.to_string())
            .map_err(|e| fail(format!("cannot write values: {e}")))?;
        command.arg("--values").arg(file);
    }
    for parameter in &spec.helm.parameters {
        let flag = if parameter.force_string {
            "--set-string"
        } else {
            "--set"
        };
        command
            .arg(flag)
            .arg(format!("{}={}", parameter.name, parameter.value));
    }
    let output = tools::run(command, &origin, "--helm-bin")
        .map_err(|p| RenderError { problems: vec![p] })?;
    parse_output(chart, &output)
}

/// Remote dependencies would need the network at deploy time; they must be vendored.
fn check_dependencies(
    snapshot: &Snapshot,
    chart: &Path,
    origin: &Origin,
) -> Result<(), RenderError> {
    let Ok(Some(bytes)) = snapshot.read(&chart.join("Chart.yaml")) else {
        return Ok(());
    };
    let Ok(docs) = crate::input::parse_documents(&chart.join("Chart.yaml"), &bytes) else {
        return Ok(());
    };
    let Some(doc) = docs.first() else {
        return Ok(());
    };
    let vendored = snapshot.files(&chart.join("charts")).unwrap_or_default();
    let mut problems = Vec::new();
    for dep in doc.value["dependencies"].as_array().into_iter().flatten() {
        let name = dep["name"].as_str().unwrap_or("");
        let repository = dep["repository"].as_str().unwrap_or("");
        let present = vendored.iter().any(|f| {
            let rel = f.path.strip_prefix(chart.join("charts")).unwrap_or(&f.path);
            let first = rel
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            first.is_some_and(|c| {
                c == name || (c.starts_with(&format!("{name}-")) && c.ends_with(".tgz"))
            })
        });
        if !present && !repository.starts_with("file://") {
            problems.push(Problem {
                origin: origin.clone(),
                column: None,
                message: format!(
                    "chart dependency `{name}` comes from `{repository}`, which kpush does not download\nhint: run `helm dependency build` and commit the chart under `charts/`"
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RenderError { problems })
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
        Ok(Rendered { manifests })
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
