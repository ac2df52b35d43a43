//! Reading app definitions. Argo CD fields kpush does not support are warnings (the file must
//! keep working for Argo CD); in kpush's own format an unknown field is an error, since it is
//! most likely a typo.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use super::{
    AppConfig, Config, Destination, DirectorySpec, Environment, HelmParameter, HelmSpec,
    KustomizeSpec, SourceSpec, SyncOptions, SyncSpec,
};
use crate::input::{Problem, RenderError};
use crate::object::Origin;

const ARGO_API: &str = "argoproj.io/v1alpha1";
const KPUSH_API: &str = "kpush.dev/v1alpha1";

pub type ConfigError = RenderError;

/// A mapping being read; remembers which keys were used so the rest can be reported.
struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
    path: String,
    used: RefCell<BTreeSet<String>>,
}

/// What went wrong in one document.
struct Findings {
    errors: Vec<String>,
    unknown: Vec<String>,
}

impl<'a> Fields<'a> {
    fn new(value: Option<&'a Value>, path: &str, findings: &mut Findings) -> Fields<'a> {
        let map = match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                findings.errors.push(format!("`{path}` must be a mapping"));
                None
            }
        };
        Fields {
            map,
            path: path.to_string(),
            used: RefCell::new(BTreeSet::new()),
        }
    }

    fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.used.borrow_mut().insert(key.to_string());
        self.map?.get(key).filter(|v| !v.is_null())
    }

    fn object(&self, key: &str, findings: &mut Findings) -> Fields<'a> {
        Fields::new(self.get(key), &self.child(key), findings)
    }

    fn string(&self, key: &str, findings: &mut Findings) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                findings
                    .errors
                    .push(format!("`{}` must be a string", self.child(key)));
                None
            }
        }
    }

    fn boolean(&self, key: &str, findings: &mut Findings) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                findings
                    .errors
                    .push(format!("`{}` must be true or false", self.child(key)));
                None
            }
        }
    }

    fn strings(&self, key: &str, findings: &mut Findings) -> Vec<String> {
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    _ => {
                        findings
                            .errors
                            .push(format!("`{}` must be a list of strings", self.child(key)));
                        None
                    }
                })
                .collect(),
            Some(_) => {
                findings
                    .errors
                    .push(format!("`{}` must be a list", self.child(key)));
                Vec::new()
            }
        }
    }

    fn string_map(&self, key: &str, findings: &mut Findings) -> BTreeMap<String, String> {
        let fields = self.object(key, findings);
        let mut out = BTreeMap::new();
        for (k, v) in fields.map.into_iter().flatten() {
            fields.used.borrow_mut().insert(k.clone());
            match v {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                _ => findings
                    .errors
                    .push(format!("`{}.{k}` must be a string", fields.path)),
            }
        }
        out
    }

    /// Keys present but never read.
    fn finish(&self, findings: &mut Findings) {
        let used = self.used.borrow();
        for key in self.map.into_iter().flat_map(|m| m.keys()) {
            if !used.contains(key) {
                findings.unknown.push(self.child(key));
            }
        }
    }
}

/// Parses a config file's documents. `file` is the config's path in the repository.
pub fn parse_config(file: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let docs = crate::input::parse_documents(file, bytes)
        .map_err(|p| RenderError { problems: vec![p] })?;
    let mut config = Config::default();
    let mut problems = Vec::new();
    for doc in docs {
        let origin = Origin {
            file: file.to_path_buf(),
            line: doc.line,
        };
        let items = match doc.value.get("kind").and_then(Value::as_str) {
            Some("List") => doc.value["items"].as_array().cloned().unwrap_or_default(),
            _ => vec![doc.value],
        };
        for item in items {
            if is_application_set(&item) {
                config.sets.push(super::SetDefinition {
                    origin: origin.clone(),
                    value: item,
                });
                continue;
            }
            match parse_application(&item, &origin) {
                Ok((app, warnings)) => {
                    config.warnings.extend(warnings);
                    config.apps.push(app);
                }
                Err(messages) => problems.extend(messages.into_iter().map(|message| Problem {
                    origin: origin.clone(),
                    column: None,
                    message,
                })),
            }
        }
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(RenderError { problems })
    }
}

/// Whether the document is an Argo CD Application (`true`) or kpush's (`false`).
fn application_format(doc: &Value) -> Result<bool, Vec<String>> {
    if !doc.is_object() {
        return Err(vec![format!(
            "expected an Application (a mapping), found {}",
            crate::input::describe(doc)
        )]);
    }
    let api = doc["apiVersion"].as_str().unwrap_or("");
    let kind = doc["kind"].as_str().unwrap_or("");
    match (api, kind) {
        (ARGO_API, "Application") => Ok(true),
        (KPUSH_API, "Application") => Ok(false),
        _ => Err(vec![format!(
            "expected an Application (`apiVersion: {KPUSH_API}` or `{ARGO_API}`), found `{api}` `{kind}`"
        )]),
    }
}

fn is_application_set(doc: &Value) -> bool {
    doc["apiVersion"] == ARGO_API && doc["kind"] == "ApplicationSet"
}

/// One Application document (Argo CD's or kpush's), with the warnings about fields kpush does
/// not support.
pub fn parse_application(
    doc: &Value,
    origin: &Origin,
) -> Result<(AppConfig, Vec<String>), Vec<String>> {
    let argo = application_format(doc)?;
    let mut f = Findings {
        errors: Vec::new(),
        unknown: Vec::new(),
    };
    let root = Fields::new(Some(doc), "", &mut f);
    root.get("apiVersion");
    root.get("kind");
    let metadata = root.object("metadata", &mut f);
    let name = metadata.string("name", &mut f).unwrap_or_default();
    if name.is_empty() {
        f.errors
            .push("missing required field `metadata.name`".into());
    }
    // Where the Application object itself would live: Argo CD's namespace, not the app's.
    metadata.get("namespace");
    let annotations = metadata.string_map("annotations", &mut f);
    metadata.get("labels");
    let finalizers = metadata.strings("finalizers", &mut f);
    metadata.finish(&mut f);

    let spec = root.object("spec", &mut f);
    spec.get("project");
    // Argo CD uses `sources` when both are set.
    let source = match spec.get("sources") {
        Some(Value::Array(items)) if !items.is_empty() => {
            spec.get("source");
            parse_sources(&spec.path, items, &mut f, argo)
        }
        _ => parse_source(&spec.object("source", &mut f), &mut f, argo),
    };
    let dest = spec.object("destination", &mut f);
    let destination = Destination {
        namespace: dest.string("namespace", &mut f),
        server: dest.string("server", &mut f),
        name: dest.string("name", &mut f),
        context: if argo {
            None
        } else {
            dest.string("context", &mut f)
        },
    };
    dest.finish(&mut f);
    let sync = parse_sync(&spec.object("syncPolicy", &mut f), &mut f);
    let mut images = if argo {
        Vec::new()
    } else {
        parse_images(&spec, &mut f, false)
    };
    match crate::images::policies_from_annotations(&annotations) {
        Ok(policies) => images.extend(policies),
        Err(e) => f.errors.push(e),
    }
    let (allow_cluster_scoped, allow_other_namespaces, update_images) = if argo {
        (None, None, None)
    } else {
        (
            spec.boolean("allowClusterScoped", &mut f),
            spec.boolean("allowOtherNamespaces", &mut f),
            spec.boolean("updateImages", &mut f),
        )
    };
    let sensitive_paths = spec.strings("sensitivePaths", &mut f);
    for path in &sensitive_paths {
        if let Err(e) = path.parse::<crate::input::SensitivePath>() {
            f.errors.push(e);
        }
    }
    let environments = if argo {
        BTreeMap::new()
    } else {
        parse_environments(&spec, &mut f)
    };
    let ignore_differences = parse_ignore_differences(&spec, &mut f);
    spec.finish(&mut f);
    root.get("status");
    root.finish(&mut f);

    let warnings = unsupported(argo, &mut f, &sync.1, origin);
    check_paths(&source, &environments, &mut f.errors);
    for more in &source.more {
        check_paths(more, &BTreeMap::new(), &mut f.errors);
    }
    if !f.errors.is_empty() {
        return Err(f.errors);
    }
    Ok((
        AppConfig {
            name,
            origin: origin.clone(),
            argo,
            source,
            destination,
            sync: sync.0,
            environments,
            sensitive_paths,
            annotations,
            images,
            allow_cluster_scoped,
            update_images,
            allow_other_namespaces,
            ignore_differences,
            generated_by: None,
            parent: None,
            children: Vec::new(),
            finalizers,
        },
        warnings,
    ))
}

/// Fields and sync options kpush does not support: warnings in an Argo CD Application (it
/// works as written), errors in kpush's own format.
fn unsupported(argo: bool, f: &mut Findings, sync: &[String], origin: &Origin) -> Vec<String> {
    let mut warnings = Vec::new();
    if argo {
        warnings.extend(
            f.unknown
                .iter()
                .map(|path| format!("{origin}: `{path}` is not supported by kpush; ignored")),
        );
        warnings.extend(sync.iter().map(|w| format!("{origin}: {w}")));
    } else {
        f.errors.extend(
            f.unknown
                .iter()
                .map(|path| format!("unknown field `{path}`")),
        );
        f.errors.extend(sync.iter().map(|w| as_error(w)));
    }
    warnings
}

/// kpush's `environments`: per environment, what it changes of the app.
fn parse_environments(spec: &Fields<'_>, f: &mut Findings) -> BTreeMap<String, Environment> {
    let mut environments = BTreeMap::new();
    let envs = spec.object("environments", f);
    for (env_name, env) in envs.map.into_iter().flatten() {
        envs.used.borrow_mut().insert(env_name.clone());
        let e = Fields::new(Some(env), &envs.child(env_name), f);
        let (sync_options, warnings) = SyncOptions::parse(&e.strings("syncOptions", f));
        f.errors.extend(warnings.iter().map(|w| as_error(w)));
        environments.insert(
            env_name.clone(),
            Environment {
                namespace: e.string("namespace", f),
                context: e.string("context", f),
                value_files: e.strings("valueFiles", f),
                values: mapping(&e, "values", f),
                sync_options,
                prune: e.boolean("prune", f),
                update_images: e.boolean("updateImages", f),
                target_revision: e.string("targetRevision", f),
                images: parse_images(&e, f, true),
            },
        );
        e.finish(f);
    }
    envs.finish(f);
    environments
}

/// The app's path and every values file stay inside the repository.
fn check_paths(
    source: &SourceSpec,
    environments: &BTreeMap<String, Environment>,
    errors: &mut Vec<String>,
) {
    if source.chart.is_some() {
        // The chart comes from its repository; its values files are inside it.
        if source.repo_url.as_deref().is_none_or(str::is_empty) {
            errors.push(
                "`spec.source.chart` needs `spec.source.repoURL`: the chart repository (`https://…`) or OCI registry (`oci://host/path`) it comes from".into(),
            );
        }
        for file in &source.helm.value_files {
            let (base, within) = match ref_relative(file) {
                Some(rest) => ("the repository", rest),
                None => ("the chart", file.as_str()),
            };
            if !inside_repository(Path::new(""), within) {
                errors.push(format!(
                    "`spec.source.helm.valueFiles: {file}` is outside {base}"
                ));
            }
        }
    } else if source.path.as_os_str().is_empty() {
        errors.push("missing required field `spec.source.path`".into());
    } else if !inside_repository(Path::new(""), &source.path.to_string_lossy()) {
        errors.push(format!(
            "`spec.source.path: {}` is outside the repository; it is relative to the repository root",
            source.path.display()
        ));
    } else {
        let app = &source.path;
        let mut files: Vec<(String, &String)> = Vec::new();
        files.extend(
            source
                .value_files
                .iter()
                .map(|v| ("spec.source.valueFiles".to_string(), v)),
        );
        for (name, env) in environments {
            let field = format!("spec.environments.{name}.valueFiles");
            files.extend(env.value_files.iter().map(|v| (field.clone(), v)));
        }
        files.extend(
            source
                .helm
                .value_files
                .iter()
                .map(|v| ("spec.source.helm.valueFiles".to_string(), v)),
        );
        files.extend(
            source
                .helm
                .file_parameters
                .iter()
                .map(|(_, p)| ("spec.source.helm.fileParameters".to_string(), p)),
        );
        for (field, file) in files {
            // `$ref/…`: relative to the root of the ref's repository.
            let (base, file) = match ref_relative(file) {
                Some(rest) => (Path::new(""), rest),
                None => (app.as_path(), file.as_str()),
            };
            if !inside_repository(base, file) {
                errors.push(format!(
                    "`{field}: {file}` is outside the repository; values files are relative to the app path"
                ));
            }
        }
    }
}

/// Argo CD's `sources`: `ref` sources name this repository for `$ref/…` values files; the
/// others render the app's objects (a chart from a repository, or a path), together.
fn parse_sources(spec_path: &str, items: &[Value], f: &mut Findings, argo: bool) -> SourceSpec {
    let mut refs = Vec::new();
    let mut rendering = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{spec_path}.sources[{i}]");
        let fields = Fields::new(Some(item), &path, f);
        let reference = fields.string("ref", f);
        let renders = item.get("path").is_some() || item.get("chart").is_some();
        let only_a_ref = reference.is_some() && !renders;
        let parsed = parse_source(&fields, f, argo);
        if let Some(name) = reference {
            refs.push(super::RefSource {
                name,
                url: parsed.repo_url.clone().unwrap_or_default(),
                revision: parsed.target_revision.clone(),
            });
        }
        if !only_a_ref {
            rendering.push((path, parsed));
        }
    }
    if rendering.is_empty() {
        f.errors.push(format!(
            "`{spec_path}.sources` has only `ref` sources: none renders anything"
        ));
        return SourceSpec::default();
    }
    let mut sources: Vec<SourceSpec> = rendering
        .into_iter()
        .map(|(path, mut source)| {
            ref_value_files(&path, &mut source, &refs, f);
            source.refs = refs.clone();
            source
        })
        .collect();
    // The first renders as the app's source; the others' objects join it.
    let mut first = sources.remove(0);
    first.more = sources;
    first
}

/// `$name/…` values files of one source must name one of the app's `ref` sources.
fn ref_value_files(
    path: &str,
    source: &mut SourceSpec,
    refs: &[super::RefSource],
    f: &mut Findings,
) {
    for file in &source.helm.value_files {
        let Some(rest) = file.strip_prefix('$') else {
            continue;
        };
        let name = rest.split_once('/').map_or(rest, |(name, _)| name);
        if !refs.iter().any(|r| r.name == name) {
            f.errors.push(format!(
                "`{path}.helm.valueFiles`: `{file}` names no `ref` source (known: {})",
                refs.iter()
                    .map(|r| format!("`{}`", r.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

fn parse_source(s: &Fields<'_>, f: &mut Findings, argo: bool) -> SourceSpec {
    // A Config Management Plugin renders the path its own way: reading the path as plain
    // manifests instead would deploy something else.
    if let Some(plugin) = s.get("plugin") {
        let name = plugin["name"].as_str().unwrap_or("discovered by its files");
        f.errors.push(format!(
            "`{}.plugin` ({name}): kpush does not run Argo CD Config Management Plugins, and will not read the path as something else\nhint: run the plugin's generate command in the pipeline and point `path` at its output, or use a directory, Helm or kustomize source",
            s.path
        ));
    }
    let path = s.string("path", f).unwrap_or_default();
    let path = PathBuf::from(path.trim_start_matches("./").trim_end_matches('/'));
    let helm = s.object("helm", f);
    let parameters = match helm.get("parameters") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let p = Fields::new(Some(item), &format!("{}.parameters[{i}]", helm.path), f);
                let parameter = HelmParameter {
                    name: p.string("name", f)?,
                    value: p.string("value", f).unwrap_or_default(),
                    force_string: p.boolean("forceString", f).unwrap_or(false),
                };
                p.finish(f);
                Some(parameter)
            })
            .collect(),
        _ => Vec::new(),
    };
    let file_parameters = match helm.get("fileParameters") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let p = Fields::new(Some(item), &format!("{}.fileParameters[{i}]", helm.path), f);
                let parameter = (p.string("name", f)?, p.string("path", f)?);
                p.finish(f);
                Some(parameter)
            })
            .collect(),
        _ => Vec::new(),
    };
    let helm_spec = HelmSpec {
        release_name: helm.string("releaseName", f),
        value_files: helm.strings("valueFiles", f),
        values: helm.string("values", f),
        values_object: mapping(&helm, "valuesObject", f),
        parameters,
        file_parameters,
        ignore_missing_value_files: helm.boolean("ignoreMissingValueFiles", f).unwrap_or(false),
        skip_crds: helm.boolean("skipCrds", f).unwrap_or(false),
        skip_tests: helm.boolean("skipTests", f).unwrap_or(false),
        skip_schema_validation: helm.boolean("skipSchemaValidation", f).unwrap_or(false),
        namespace: helm.string("namespace", f),
        kube_version: helm.string("kubeVersion", f),
        api_versions: helm.strings("apiVersions", f),
    };
    helm.finish(f);
    let kustomize = s.object("kustomize", f);
    let kustomize_spec = KustomizeSpec {
        images: kustomize.strings("images", f),
        name_prefix: kustomize.string("namePrefix", f),
        name_suffix: kustomize.string("nameSuffix", f),
        common_labels: kustomize.string_map("commonLabels", f),
        common_annotations: kustomize.string_map("commonAnnotations", f),
        namespace: kustomize.string("namespace", f),
        replicas: kustomize_replicas(&kustomize, f),
        patches: match kustomize.get("patches") {
            Some(Value::Array(items)) if items.iter().all(Value::is_object) => items.clone(),
            Some(_) => {
                f.errors.push(format!(
                    "`{}` must be a list of patches (mappings with `patch` or `path`)",
                    kustomize.child("patches")
                ));
                Vec::new()
            }
            None => Vec::new(),
        },
        components: kustomize.strings("components", f),
    };
    kustomize.finish(f);
    let directory = s.object("directory", f);
    let directory_spec = DirectorySpec {
        // Argo CD reads only the top directory unless told to recurse; kpush's format recurses.
        recurse: directory.boolean("recurse", f).unwrap_or(!argo),
        include: directory.string("include", f),
        exclude: directory.string("exclude", f),
        jsonnet: parse_jsonnet(&directory.object("jsonnet", f), f),
    };
    directory.finish(f);
    let spec = SourceSpec {
        path,
        target_revision: s.string("targetRevision", f),
        repo_url: s.string("repoURL", f),
        chart: s.string("chart", f),
        refs: Vec::new(),
        helm: helm_spec,
        kustomize: kustomize_spec,
        directory: directory_spec,
        values: mapping(s, "values", f),
        value_files: s.strings("valueFiles", f),
        template_env: s.strings("templateEnv", f),
        more: Vec::new(),
    };
    s.finish(f);
    spec
}

/// Argo CD's `directory.jsonnet`: `extVars` and `tlas` (`{name, value, code}`) and `libs`.
fn parse_jsonnet(jsonnet: &Fields<'_>, f: &mut Findings) -> super::JsonnetSpec {
    let vars = |key: &str, f: &mut Findings| -> Vec<super::JsonnetVar> {
        let list = jsonnet.child(key);
        match jsonnet.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let v = Fields::new(Some(item), &format!("{list}[{i}]"), f);
                    let Some(name) = v.string("name", f) else {
                        f.errors.push(format!("`{list}[{i}]` needs a `name`"));
                        return None;
                    };
                    let var = super::JsonnetVar {
                        name,
                        value: v.string("value", f).unwrap_or_default(),
                        code: v.boolean("code", f).unwrap_or(false),
                    };
                    v.finish(f);
                    Some(var)
                })
                .collect(),
            Some(_) => {
                f.errors.push(format!(
                    "`{list}` must be a list of `{{name, value, code}}` entries"
                ));
                Vec::new()
            }
        }
    };
    let ext_vars = vars("extVars", f);
    let tlas = vars("tlas", f);
    let libs = jsonnet.strings("libs", f);
    // Argo CD resolves a library path from the repository root (a leading `/` too) and refuses
    // one that leaves it.
    for lib in &libs {
        if !inside_repository(Path::new(""), lib.trim_start_matches('/')) {
            f.errors.push(format!(
                "`{}: {lib}` is outside the repository; library paths are relative to the repository root",
                jsonnet.child("libs")
            ));
        }
    }
    jsonnet.finish(f);
    super::JsonnetSpec {
        ext_vars,
        tlas,
        libs,
    }
}

/// `$name/path` → `path`.
fn ref_relative(file: &str) -> Option<&str> {
    let rest = file.strip_prefix('$')?;
    Some(rest.split_once('/').map_or("", |(_, within)| within))
}

/// Argo CD's `ignoreDifferences`: which objects (group and kind, `*` for any; name and
/// namespace when set) and which of their fields.
fn parse_ignore_differences(
    spec: &Fields<'_>,
    f: &mut Findings,
) -> Vec<crate::plan::ignore::IgnoreRule> {
    let Some(Value::Array(items)) = spec.get("ignoreDifferences") else {
        return Vec::new();
    };
    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let e = Fields::new(
            Some(item),
            &format!("{}[{i}]", spec.child("ignoreDifferences")),
            f,
        );
        let Some(kind) = e.string("kind", f) else {
            f.errors
                .push(format!("`{}` needs a `kind` (`*` for any)", e.path));
            continue;
        };
        let mut pointers = Vec::new();
        for pointer in e.strings("jsonPointers", f) {
            match crate::plan::ignore::parse_pointer(&pointer) {
                Ok(tokens) => pointers.push(tokens),
                Err(error) => f.errors.push(format!("`{}.jsonPointers`: {error}", e.path)),
            }
        }
        let mut jq = Vec::new();
        for expression in e.strings("jqPathExpressions", f) {
            match expression.parse() {
                Ok(path) => jq.push(path),
                Err(error) => f
                    .errors
                    .push(format!("`{}.jqPathExpressions`: {error}", e.path)),
            }
        }
        rules.push(crate::plan::ignore::IgnoreRule {
            group: e.string("group", f).unwrap_or_default(),
            kind,
            name: e.string("name", f),
            namespace: e.string("namespace", f),
            pointers,
            jq,
            managers: e.strings("managedFieldsManagers", f),
        });
        e.finish(f);
    }
    rules
}

/// Argo CD's `kustomize.replicas`: `{name, count}`, the count a number or a numeric string.
fn kustomize_replicas(kustomize: &Fields<'_>, f: &mut Findings) -> Vec<(String, i64)> {
    let Some(Value::Array(items)) = kustomize.get("replicas") else {
        return Vec::new();
    };
    let mut replicas = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{}[{i}]", kustomize.child("replicas"));
        let count = match &item["count"] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match (item["name"].as_str(), count) {
            (Some(name), Some(count)) if count >= 0 => replicas.push((name.to_string(), count)),
            _ => f.errors.push(format!(
                "`{field}` needs a `name` and a `count` that is a whole number"
            )),
        }
    }
    replicas
}

/// A sync option warning as an error: nothing is ignored or defaulted then.
fn as_error(warning: &str) -> String {
    let text = warning.strip_suffix("; ignored").unwrap_or(warning);
    text.strip_suffix("; using the default")
        .unwrap_or(text)
        .to_string()
}

/// Values layered into templates and charts merge as maps; anything else would silently
/// replace everything below it.
fn mapping(fields: &Fields<'_>, key: &str, f: &mut Findings) -> Option<Value> {
    match fields.get(key)? {
        v @ Value::Object(_) => Some(v.clone()),
        other => {
            f.errors.push(format!(
                "`{}` must be a mapping, found {}",
                fields.child(key),
                crate::input::describe(other)
            ));
            None
        }
    }
}

/// `path` relative to `base` (both inside the repository), and still inside it: no absolute
/// paths and no `..` that climbs out.
fn inside_repository(base: &Path, path: &str) -> bool {
    let mut depth: usize = 0;
    for component in base.join(path).components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            _ => return false,
        }
    }
    true
}

/// kpush's `images` block: `[{alias, repository, allowTags, ignoreTags, constraint,
/// updateStrategy, pullSecret, helm:
/// {imageName, imageTag, imageSpec}, kustomize: {imageName}}]`. In an environment the
/// repository may be left out (the app's is kept).
fn parse_images(
    parent: &Fields<'_>,
    f: &mut Findings,
    in_environment: bool,
) -> Vec<crate::images::ImagePolicy> {
    let Some(Value::Array(items)) = parent.get("images") else {
        return Vec::new();
    };
    let mut policies = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let e = Fields::new(Some(item), &format!("{}[{i}]", parent.child("images")), f);
        let alias = e.string("alias", f).unwrap_or_default();
        let repository = e.string("repository", f).unwrap_or_default();
        if alias.is_empty() || (repository.is_empty() && !in_environment) {
            f.errors
                .push(format!("`{}` needs `alias` and `repository`", e.path));
        }
        let mut policy = crate::images::ImagePolicy::new(&alias, &repository);
        policy.constraint = e.string("constraint", f);
        policy.allow = match e
            .string("allowTags", f)
            .map(|t| crate::images::TagRule::parse(&t))
        {
            Some(Ok(rule)) => Some(rule),
            Some(Err(message)) => {
                f.errors.push(message);
                None
            }
            None => None,
        };
        policy.ignore = e.strings("ignoreTags", f);
        if let Some(text) = e.string("updateStrategy", f) {
            match crate::images::Strategy::parse(&text) {
                Ok(strategy) => policy.strategy = strategy,
                Err(message) => f.errors.push(format!("`{}`: {message}", e.path)),
            }
        }
        policy.pull_secret = e.string("pullSecret", f);
        let helm = e.object("helm", f);
        policy.helm = crate::images::HelmTarget {
            image_name: helm.string("imageName", f),
            image_tag: helm.string("imageTag", f),
            image_spec: helm.string("imageSpec", f),
        };
        helm.finish(f);
        let kustomize = e.object("kustomize", f);
        policy.kustomize_name = kustomize.string("imageName", f);
        kustomize.finish(f);
        e.finish(f);
        policies.push(policy);
    }
    policies
}

fn parse_sync(s: &Fields<'_>, f: &mut Findings) -> (SyncSpec, Vec<String>) {
    let automated = s.object("automated", f);
    let (options, warnings) = SyncOptions::parse(&s.strings("syncOptions", f));
    let managed = s.object("managedNamespaceMetadata", f);
    let spec = SyncSpec {
        prune: automated.boolean("prune", f),
        self_heal: automated.boolean("selfHeal", f),
        allow_empty: automated.boolean("allowEmpty", f),
        options,
        namespace_labels: managed.string_map("labels", f),
        namespace_annotations: managed.string_map("annotations", f),
    };
    managed.finish(f);
    automated.finish(f);
    s.finish(f);
    (spec, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PruneProp;

    /// The guestbook Application as the Argo CD reference text gives it.
    const SEED: &str = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
      allowEmpty: false
    syncOptions:
      - Validate=true
      - CreateNamespace=true
      - PrunePropagationPolicy=foreground
      - PruneLast=true
";

    #[test]
    fn the_seed_application_parses_as_written() {
        let config = parse_config(Path::new("kpush.yaml"), SEED.as_bytes()).unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        let app = &config.apps[0];
        assert_eq!(app.name, "guestbook");
        assert!(app.argo);
        assert_eq!(app.source.path, PathBuf::from("guestbook"));
        assert_eq!(app.source.target_revision.as_deref(), Some("HEAD"));
        assert_eq!(app.destination.namespace.as_deref(), Some("guestbook"));
        assert_eq!(
            app.destination.server.as_deref(),
            Some("https://kubernetes.default.svc")
        );
        assert_eq!(app.sync.prune, Some(true));
        assert_eq!(app.sync.self_heal, Some(true));
        assert_eq!(app.sync.allow_empty, Some(false));
        assert_eq!(app.sync.options.create_namespace, Some(true));
        assert_eq!(
            app.sync.options.prune_propagation,
            Some(PruneProp::Foreground)
        );
    }

    #[test]
    fn unsupported_argo_fields_are_warnings_and_kpush_typos_are_errors() {
        let argo = SEED.replace(
            "  project: default\n",
            "  project: default\n  revisionHistoryLimit: 3\n",
        );
        let config = parse_config(Path::new("apps.yaml"), argo.as_bytes()).unwrap();
        assert_eq!(config.warnings.len(), 1, "{:?}", config.warnings);
        assert!(config.warnings[0].contains("`spec.revisionHistoryLimit` is not supported"));

        let kpush = "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata:\n  name: web\nspec:\n  source:\n    path: web\n    pth: typo\n";
        let err = parse_config(Path::new("kpush.yaml"), kpush.as_bytes()).unwrap_err();
        assert!(
            err.problems[0]
                .message
                .contains("unknown field `spec.source.pth`"),
            "{err}"
        );
        assert_eq!(err.problems[0].origin.to_string(), "kpush.yaml:1");
    }

    #[test]
    fn environments_and_several_apps_per_file() {
        let text = "apiVersion: kpush.dev/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source: {path: apps/web, valueFiles: [values.yaml], values: {replicas: 1}}
  destination: {namespace: web}
  environments:
    prod:
      namespace: web-prod
      context: prod
      valueFiles: [values-prod.yaml]
      syncOptions: [CreateNamespace=true]
---
apiVersion: kpush.dev/v1alpha1
kind: Application
metadata: {name: api}
spec:
  source: {path: apps/api}
";
        let config = parse_config(Path::new("kpush.yaml"), text.as_bytes()).unwrap();
        assert_eq!(config.apps.len(), 2);
        let prod = &config.apps[0].environments["prod"];
        assert_eq!(prod.namespace.as_deref(), Some("web-prod"));
        assert_eq!(prod.value_files, ["values-prod.yaml"]);
        assert_eq!(prod.sync_options.create_namespace, Some(true));
        assert_eq!(config.apps[1].origin.line, 14);
    }

    fn problems(text: &str) -> Vec<String> {
        let err = parse_config(Path::new("kpush.yaml"), text.as_bytes()).unwrap_err();
        err.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn documents_that_are_not_applications_are_named() {
        assert_eq!(
            problems("- a\n---\nhello\n"),
            [
                "kpush.yaml:1: expected an Application (a mapping), found a list",
                "kpush.yaml:3: expected an Application (a mapping), found a string",
            ]
        );
    }

    #[test]
    fn paths_stay_inside_the_repository() {
        let app = |source: &str| {
            format!(
                "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source: {source}\n"
            )
        };
        let cases = [
            ("{path: /etc}", "`spec.source.path: /etc` is outside"),
            (
                "{path: ../other}",
                "`spec.source.path: ../other` is outside",
            ),
            (
                "{path: apps/web, valueFiles: [../../../etc/passwd]}",
                "`spec.source.valueFiles: ../../../etc/passwd` is outside",
            ),
            (
                "{path: apps/web, valueFiles: [/etc/passwd]}",
                "`spec.source.valueFiles: /etc/passwd` is outside",
            ),
            (
                "{path: apps/web, helm: {valueFiles: [../../../x.yaml]}}",
                "`spec.source.helm.valueFiles: ../../../x.yaml` is outside",
            ),
        ];
        for (source, expected) in cases {
            let found = problems(&app(source));
            assert!(found[0].contains(expected), "{source}: {found:?}");
        }
        let fine = app("{path: ./apps/web/, valueFiles: [../shared/values.yaml, v.yaml]}");
        parse_config(Path::new("kpush.yaml"), fine.as_bytes()).unwrap();
    }

    #[test]
    fn sync_option_errors_do_not_claim_a_default() {
        let text = "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  source: {path: web}\n  syncPolicy: {syncOptions: [PrunePropagationPolicy=sideways, Bogus=true]}\n";
        assert_eq!(
            problems(text),
            [
                "kpush.yaml:1: sync option `PrunePropagationPolicy=sideways` is not foreground, background or orphan",
                "kpush.yaml:1: sync option `Bogus=true` is not supported by kpush",
            ]
        );
    }

    #[test]
    fn values_are_mappings() {
        let text = "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  source: {path: web, values: [1], helm: {valuesObject: x}}\n  environments: {prod: {values: 3}}\n";
        let found = problems(text);
        for expected in [
            "`spec.source.values` must be a mapping, found a list",
            "`spec.source.helm.valuesObject` must be a mapping, found a string",
            "`spec.environments.prod.values` must be a mapping, found a number",
        ] {
            assert!(found.iter().any(|p| p.contains(expected)), "{found:?}");
        }
    }

    #[test]
    fn helm_and_kustomize_sources() {
        let text = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: chart}
spec:
  source:
    path: charts/web
    helm:
      releaseName: web
      valueFiles: [values-production.yaml]
      values: |
        replicas: 2
      valuesObject: {image: {tag: v2}}
      parameters:
        - {name: service.port, value: \"8080\", forceString: true}
    kustomize:
      images: [nginx=nginx:1.27]
      namePrefix: prod-
      commonLabels: {team: web}
  destination: {namespace: web}
";
        let app = &parse_config(Path::new("kpush.yaml"), text.as_bytes())
            .unwrap()
            .apps[0];
        assert_eq!(app.source.helm.release_name.as_deref(), Some("web"));
        assert_eq!(app.source.helm.parameters[0].name, "service.port");
        assert!(app.source.helm.parameters[0].force_string);
        assert_eq!(app.source.kustomize.images, ["nginx=nginx:1.27"]);
        assert_eq!(app.source.kustomize.common_labels["team"], "web");
    }

    /// Every field of Argo CD's Application spec, as its reference lists them, each set once.
    /// Sources (`sources`, `source.chart`, `source.ref`) and plugins have tests of their own.
    const EVERY_FIELD: &str = r#"apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
  labels: {team: shop}
  annotations: {note: x}
spec:
  project: default
  source:
    repoURL: https://github.com/example/apps.git
    targetRevision: HEAD
    path: guestbook
    name: main
    helm:
      parameters: [{name: a, value: b, forceString: true}]
      fileParameters: [{name: config, path: files/config.json}]
      releaseName: guestbook
      valueFiles: [values-prod.yaml]
      ignoreMissingValueFiles: true
      values: "a: b"
      valuesObject: {a: b}
      skipCrds: true
      skipSchemaValidation: true
      skipTests: true
      version: v3
      passCredentials: true
      namespace: other
      kubeVersion: "1.30.0"
      apiVersions: [v1]
    kustomize:
      version: v5.4.3
      namePrefix: prod-
      nameSuffix: -eu
      commonLabels: {a: b}
      commonAnnotations: {a: b}
      commonAnnotationsEnvsubst: true
      forceCommonLabels: true
      forceCommonAnnotations: true
      labelWithoutSelector: true
      labelIncludeTemplates: true
      images: [nginx:1.27]
      namespace: shop
      replicas: [{name: web, count: 2}]
      patches: [{patch: "- op: add\n  path: /x\n  value: y"}]
      components: [../components/x]
      ignoreMissingComponents: true
      kubeVersion: "1.30.0"
      apiVersions: [v1]
    directory:
      recurse: true
      include: "*.yaml"
      exclude: "skip.yaml"
      jsonnet: {extVars: [{name: a, value: b}], tlas: [{name: a, value: b, code: false}], libs: [vendor]}
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
    name: in-cluster
  syncPolicy:
    automated: {prune: true, selfHeal: true, allowEmpty: false, enabled: true}
    syncOptions: [Validate=true, CreateNamespace=true]
    managedNamespaceMetadata: {labels: {a: b}, annotations: {a: b}}
    retry: {limit: 5, refresh: true, backoff: {duration: 5s, factor: 2, maxDuration: 3m}}
  ignoreDifferences: [{group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}]
  info: [{name: url, value: https://example.com}]
  revisionHistoryLimit: 10
  sourceHydrator: {drySource: {repoURL: https://github.com/example/apps.git, targetRevision: HEAD, path: guestbook}}
status: {sync: {status: Synced}}
"#;

    #[test]
    fn every_application_field_is_used_or_warned_about_once() {
        // What kpush does not do: exactly one warning each, naming the field.
        let warned = [
            "spec.source.name",
            "spec.source.helm.version",
            "spec.source.helm.passCredentials",
            "spec.source.kustomize.version",
            "spec.source.kustomize.commonAnnotationsEnvsubst",
            "spec.source.kustomize.forceCommonLabels",
            "spec.source.kustomize.forceCommonAnnotations",
            "spec.source.kustomize.labelWithoutSelector",
            "spec.source.kustomize.labelIncludeTemplates",
            "spec.source.kustomize.ignoreMissingComponents",
            "spec.source.kustomize.kubeVersion",
            "spec.source.kustomize.apiVersions",
            "spec.syncPolicy.automated.enabled",
            "spec.syncPolicy.retry",
            "spec.info",
            "spec.revisionHistoryLimit",
            "spec.sourceHydrator",
        ];
        let config = parse_config(Path::new("app.yaml"), EVERY_FIELD.as_bytes()).unwrap();
        for field in warned {
            let naming: Vec<&String> = config
                .warnings
                .iter()
                .filter(|w| w.contains(&format!("`{field}`")))
                .collect();
            assert_eq!(naming.len(), 1, "{field}: {:?}", config.warnings);
        }
        // Nothing else is warned about: every other field is used.
        assert_eq!(
            config.warnings.len(),
            warned.len(),
            "{:#?}",
            config.warnings
        );
        let app = &config.apps[0];
        let helm = &app.source.helm;
        assert_eq!(helm.namespace.as_deref(), Some("other"));
        assert_eq!(helm.kube_version.as_deref(), Some("1.30.0"));
        assert!(helm.skip_crds && helm.skip_tests && helm.skip_schema_validation);
        assert!(helm.ignore_missing_value_files);
        assert_eq!(
            helm.file_parameters,
            [("config".to_string(), "files/config.json".to_string())]
        );
        let jsonnet = &app.source.directory.jsonnet;
        assert_eq!(
            jsonnet.ext_vars,
            [crate::config::JsonnetVar {
                name: "a".into(),
                value: "b".into(),
                code: false
            }]
        );
        assert_eq!(jsonnet.tlas.len(), 1);
        assert_eq!(jsonnet.libs, ["vendor"]);
        let kustomize = &app.source.kustomize;
        assert_eq!(kustomize.namespace.as_deref(), Some("shop"));
        assert_eq!(kustomize.replicas, [("web".to_string(), 2)]);
        assert_eq!(kustomize.patches.len(), 1);
        assert_eq!(kustomize.components, ["../components/x"]);
        assert_eq!(app.sync.namespace_labels["a"], "b");
        assert_eq!(app.ignore_differences[0].kind, "Deployment");
        assert_eq!(
            app.ignore_differences[0].pointers,
            [vec!["spec", "replicas"]]
        );
    }
}
