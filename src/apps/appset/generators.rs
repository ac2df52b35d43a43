//! ApplicationSet generators: each turns its definition into parameter sets, one per
//! Application to generate. `list`, `git`, `clusters`, `matrix` and `merge` are evaluated
//! from the commit and the kubeconfig; the generators that ask a service (SCM providers, pull
//! requests, cluster decision resources, plugins) are refused.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::template::{Mode, fill, fill_str, normalize, text};

/// A cluster the `clusters` generator yields: a kubeconfig context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub server: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// What generators read: the files of the commit, and the clusters.
pub trait Inputs {
    /// Every file path of the commit, `/`-separated, sorted.
    fn file_paths(&self) -> Result<Vec<String>, String>;
    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String>;
    fn clusters(&self) -> Result<Vec<Cluster>, String>;
    /// Whether a `repoURL` names the repository kpush reads.
    fn is_this_repository(&self, url: &str) -> bool;
}

/// One parameter set, with the `template` of the generator that made it, if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    pub params: Map<String, Value>,
    pub template: Option<Value>,
}

/// Generators that ask a service kpush does not run.
const REFUSED: [&str; 4] = [
    "scmProvider",
    "pullRequest",
    "clusterDecisionResource",
    "plugin",
];

pub struct Generators<'a> {
    pub inputs: &'a dyn Inputs,
    pub mode: &'a Mode,
    pub warnings: RefCell<Vec<String>>,
}

impl Generators<'_> {
    /// The parameter sets of the generator at `at` (`spec.generators[0]`, ...).
    pub fn generate(&self, generator: &Value, at: &str) -> Result<Vec<Generated>, String> {
        let map = generator
            .as_object()
            .ok_or_else(|| format!("`{at}` must be a mapping"))?;
        let kinds: Vec<&String> = map.keys().filter(|k| *k != "selector").collect();
        let [kind] = kinds.as_slice() else {
            return Err(format!(
                "`{at}` must hold exactly one generator, found {}",
                if kinds.is_empty() {
                    "none".to_string()
                } else {
                    kinds
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        };
        let body = &map[kind.as_str()];
        let here = format!("{at}.{kind}");
        let params = match kind.as_str() {
            "list" => self.list(body, &here)?,
            "git" => self.git(body, &here)?,
            "clusters" => self.clusters(body, &here)?,
            "matrix" => self.matrix(body, &here)?,
            "merge" => self.merge(body, &here)?,
            k if REFUSED.contains(&k) => {
                return Err(format!(
                    "`{here}`: the `{k}` generator asks a service at sync time, which kpush cannot do from a commit; list the apps with a `list` or `git` generator instead"
                ));
            }
            k => return Err(format!("`{here}`: unknown generator `{k}`")),
        };
        let params = match map.get("selector") {
            Some(selector) => {
                let selector = Selector::parse(selector, &format!("{at}.selector"))?;
                params
                    .into_iter()
                    .filter(|p| selector.matches(|key| lookup(p, key)))
                    .collect()
            }
            None => params,
        };
        let template = body.get("template").filter(|t| !t.is_null()).cloned();
        Ok(params
            .into_iter()
            .map(|params| Generated {
                params,
                template: template.clone(),
            })
            .collect())
    }

    fn warn(&self, warning: String) {
        let mut warnings = self.warnings.borrow_mut();
        if !warnings.contains(&warning) {
            warnings.push(warning);
        }
    }

    fn list(&self, body: &Value, at: &str) -> Result<Vec<Map<String, Value>>, String> {
        let mut elements: Vec<Value> = match body.get("elements") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(format!("`{at}.elements` must be a list")),
        };
        if let Some(yaml) = body.get("elementsYaml").and_then(Value::as_str) {
            let parsed: Value = serde_saphyr::from_str(yaml)
                .map_err(|e| format!("`{at}.elementsYaml` is not YAML: {e}"))?;
            match parsed {
                Value::Array(items) => elements.extend(items),
                Value::Null => {}
                _ => return Err(format!("`{at}.elementsYaml` must be a YAML list")),
            }
        }
        elements
            .iter()
            .enumerate()
            .map(|(i, element)| {
                let map = element
                    .as_object()
                    .ok_or_else(|| format!("`{at}.elements[{i}]` must be a mapping"))?;
                Ok(if self.mode.is_go() {
                    map.clone()
                } else {
                    let mut flat = Map::new();
                    for (k, v) in map {
                        flatten(k, v, &mut flat);
                    }
                    flat
                })
            })
            .collect()
    }

    fn git(&self, body: &Value, at: &str) -> Result<Vec<Map<String, Value>>, String> {
        let url = body.get("repoURL").and_then(Value::as_str).unwrap_or("");
        if !url.is_empty() && !self.inputs.is_this_repository(url) {
            self.warn(format!(
                "`{at}.repoURL` {url} is not a remote of this repository; the generator reads the local repository at the commit kpush reads"
            ));
        }
        let prefix = body
            .get("pathParamPrefix")
            .and_then(Value::as_str)
            .unwrap_or("");
        let directories = patterns(body.get("directories"), &format!("{at}.directories"))?;
        let files = patterns(body.get("files"), &format!("{at}.files"))?;
        if directories.is_empty() == files.is_empty() {
            return Err(format!(
                "`{at}` needs either `directories` or `files` (with at least one `path`)"
            ));
        }
        let all = self.inputs.file_paths()?;
        let mut out = Vec::new();
        if !directories.is_empty() {
            let dirs: BTreeSet<&str> = all.iter().flat_map(|f| ancestors(f)).collect();
            for dir in dirs {
                if selected(&directories, dir) {
                    out.push(path_params(dir, None, prefix, self.mode.is_go()));
                }
            }
        } else {
            for file in all.iter().filter(|f| selected(&files, f)) {
                let bytes = self
                    .inputs
                    .read(file)?
                    .ok_or_else(|| format!("`{at}`: cannot read {file}"))?;
                let parsed: Value = serde_saphyr::from_slice(&bytes)
                    .map_err(|e| format!("`{at}`: {file} is not JSON or YAML: {e}"))?;
                let sets = match parsed {
                    Value::Array(items) => items,
                    Value::Null => Vec::new(),
                    other => vec![other],
                };
                for (i, set) in sets.into_iter().enumerate() {
                    let Value::Object(content) = set else {
                        return Err(format!(
                            "`{at}`: {file}{} must be a mapping of parameters",
                            if i > 0 {
                                format!(" item {i}")
                            } else {
                                String::new()
                            }
                        ));
                    };
                    let mut params = if self.mode.is_go() {
                        content
                    } else {
                        let mut flat = Map::new();
                        for (k, v) in &content {
                            flatten(k, v, &mut flat);
                        }
                        flat
                    };
                    let dir = parent(file);
                    for (k, v) in path_params(dir, Some(file), prefix, self.mode.is_go()) {
                        params.insert(k, v);
                    }
                    out.push(params);
                }
            }
        }
        out.into_iter()
            .map(|p| self.with_values(p, body.get("values"), at))
            .collect()
    }

    fn clusters(&self, body: &Value, at: &str) -> Result<Vec<Map<String, Value>>, String> {
        let selector = match body.get("selector") {
            Some(s) if !s.is_null() => Some(Selector::parse(s, &format!("{at}.selector"))?),
            _ => None,
        };
        let mut out = Vec::new();
        for cluster in self.inputs.clusters()? {
            if let Some(selector) = &selector
                && !selector.matches(|k| cluster.labels.get(k).cloned())
            {
                continue;
            }
            let mut p = Map::new();
            let string = |s: &str| Value::String(s.to_string());
            p.insert("name".into(), string(&cluster.name));
            p.insert("nameNormalized".into(), string(&normalize(&cluster.name)));
            p.insert("server".into(), string(&cluster.server));
            p.insert("project".into(), string(""));
            if self.mode.is_go() {
                let map = |m: &BTreeMap<String, String>| {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), string(v))).collect())
                };
                p.insert(
                    "metadata".into(),
                    serde_json::json!({"labels": map(&cluster.labels), "annotations": map(&cluster.annotations)}),
                );
            } else {
                for (k, v) in &cluster.labels {
                    p.insert(format!("metadata.labels.{k}"), string(v));
                }
                for (k, v) in &cluster.annotations {
                    p.insert(format!("metadata.annotations.{k}"), string(v));
                }
            }
            out.push(self.with_values(p, body.get("values"), at)?);
        }
        Ok(out)
    }

    /// Every combination of the two generators' sets; the second is filled from each set of
    /// the first, so it may use the first's parameters (a `git` path per cluster, say).
    fn matrix(&self, body: &Value, at: &str) -> Result<Vec<Map<String, Value>>, String> {
        let generators = children(body, at)?;
        let [first, second] = generators else {
            return Err(format!(
                "`{at}.generators` must hold exactly two generators, found {}",
                generators.len()
            ));
        };
        let mut out = Vec::new();
        for a in self.generate(first, &format!("{at}.generators[0]"))? {
            let second = fill(second, &a.params, self.mode)
                .map_err(|e| format!("`{at}.generators[1]`: {e}"))?;
            for b in self.generate(&second, &format!("{at}.generators[1]"))? {
                out.push(self.combine(&a.params, b.params, at)?);
            }
        }
        Ok(out)
    }

    fn combine(
        &self,
        a: &Map<String, Value>,
        b: Map<String, Value>,
        at: &str,
    ) -> Result<Map<String, Value>, String> {
        let mut out = a.clone();
        for (k, v) in b {
            match out.get_mut(&k) {
                Some(old) if self.mode.is_go() => deep_merge(old, v),
                Some(old) if *old != v => {
                    return Err(format!(
                        "`{at}`: both generators set parameter `{k}`, to `{}` and `{}`",
                        text(old),
                        text(&v)
                    ));
                }
                _ => {
                    out.insert(k, v);
                }
            }
        }
        Ok(out)
    }

    /// The first generator's sets, each overridden by the sets of the others with the same
    /// values of `mergeKeys`.
    fn merge(&self, body: &Value, at: &str) -> Result<Vec<Map<String, Value>>, String> {
        let keys: Vec<String> = match body.get("mergeKeys") {
            Some(Value::Array(keys)) if !keys.is_empty() => keys
                .iter()
                .map(|k| k.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| format!("`{at}.mergeKeys` must be a list of strings"))?,
            _ => return Err(format!("`{at}.mergeKeys` must list at least one key")),
        };
        let generators = children(body, at)?;
        if generators.len() < 2 {
            return Err(format!(
                "`{at}.generators` must hold at least two generators"
            ));
        }
        let key_of = |p: &Map<String, Value>| -> Vec<String> {
            keys.iter()
                .map(|k| lookup(p, k).unwrap_or_default())
                .collect()
        };
        let mut sets: Vec<Map<String, Value>> = Vec::new();
        let mut index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for (i, g) in generators.iter().enumerate() {
            let here = format!("{at}.generators[{i}]");
            let mut seen = BTreeSet::new();
            for set in self.generate(g, &here)? {
                let key = key_of(&set.params);
                if !seen.insert(key.clone()) {
                    return Err(format!(
                        "`{here}`: two parameter sets have the same merge key values ({})",
                        keys.iter()
                            .zip(&key)
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if i == 0 {
                    index.insert(key, sets.len());
                    sets.push(set.params);
                } else if let Some(&at) = index.get(&key) {
                    for (k, v) in set.params {
                        match sets[at].get_mut(&k) {
                            Some(old) if self.mode.is_go() => deep_merge(old, v),
                            _ => {
                                sets[at].insert(k, v);
                            }
                        }
                    }
                }
            }
        }
        Ok(sets)
    }

    /// A generator's `values`, filled from its parameters, added as `values.KEY`.
    fn with_values(
        &self,
        mut params: Map<String, Value>,
        values: Option<&Value>,
        at: &str,
    ) -> Result<Map<String, Value>, String> {
        let Some(values) = values.filter(|v| !v.is_null()) else {
            return Ok(params);
        };
        let values = values
            .as_object()
            .ok_or_else(|| format!("`{at}.values` must be a mapping"))?;
        let mut filled = Map::new();
        for (k, v) in values {
            let v = match v {
                Value::String(s) => Value::String(
                    fill_str(s, &params, self.mode)
                        .map_err(|e| format!("`{at}.values.{k}`: {e}"))?,
                ),
                other => other.clone(),
            };
            filled.insert(k.clone(), v);
        }
        if self.mode.is_go() {
            params.insert("values".into(), Value::Object(filled));
        } else {
            for (k, v) in filled {
                params.insert(format!("values.{k}"), Value::String(text(&v)));
            }
        }
        Ok(params)
    }
}

fn children<'v>(body: &'v Value, at: &str) -> Result<&'v [Value], String> {
    match body.get("generators") {
        Some(Value::Array(items)) => Ok(items),
        _ => Err(format!("`{at}.generators` must be a list of generators")),
    }
}

/// `directories` or `files` of a git generator: (pattern, exclude).
fn patterns(list: Option<&Value>, at: &str) -> Result<Vec<(String, bool)>, String> {
    let Some(list) = list.filter(|l| !l.is_null()) else {
        return Ok(Vec::new());
    };
    let items = list
        .as_array()
        .ok_or_else(|| format!("`{at}` must be a list"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = item
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("`{at}[{i}].path` is required"))?;
            let exclude = item
                .get("exclude")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok((path.trim_start_matches("./").to_string(), exclude))
        })
        .collect()
}

/// Matched by an included pattern and by no excluded one.
fn selected(patterns: &[(String, bool)], path: &str) -> bool {
    let matches = |exclude: bool| {
        patterns
            .iter()
            .filter(|(_, e)| *e == exclude)
            .any(|(p, _)| crate::render::glob_matches(p, path))
    };
    matches(false) && !matches(true)
}

/// The directories `file` is in, nearest last, without the root.
fn ancestors(file: &str) -> impl Iterator<Item = &str> {
    file.match_indices('/').map(move |(i, _)| &file[..i])
}

/// The directory of `file`, `.` at the root (Go's `path.Dir`).
fn parent(file: &str) -> &str {
    file.rfind('/').map_or(".", |i| &file[..i])
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The path parameters Argo CD documents for a directory (and the file, for `files`).
fn path_params(dir: &str, file: Option<&str>, prefix: &str, go: bool) -> Map<String, Value> {
    let string = |s: &str| Value::String(s.to_string());
    let segments: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    let mut p = Map::new();
    if go {
        let mut path = Map::new();
        path.insert("path".into(), string(dir));
        path.insert("basename".into(), string(base(dir)));
        path.insert("basenameNormalized".into(), string(&normalize(base(dir))));
        path.insert(
            "segments".into(),
            Value::Array(segments.iter().map(|s| string(s)).collect()),
        );
        if let Some(file) = file {
            path.insert("filename".into(), string(base(file)));
            path.insert("filenameNormalized".into(), string(&normalize(base(file))));
        }
        if prefix.is_empty() {
            p.insert("path".into(), Value::Object(path));
        } else {
            p.insert(prefix.into(), serde_json::json!({ "path": path }));
        }
    } else {
        let name = if prefix.is_empty() {
            "path".to_string()
        } else {
            format!("{prefix}.path")
        };
        p.insert(name.clone(), string(dir));
        p.insert(format!("{name}.basename"), string(base(dir)));
        p.insert(
            format!("{name}.basenameNormalized"),
            string(&normalize(base(dir))),
        );
        for (i, s) in segments.iter().enumerate() {
            p.insert(format!("{name}[{i}]"), string(s));
        }
        if let Some(file) = file {
            p.insert(format!("{name}.filename"), string(base(file)));
            p.insert(
                format!("{name}.filenameNormalized"),
                string(&normalize(base(file))),
            );
        }
    }
    p
}

/// Nested values as Argo CD's default templates see them: `a.b.c` keys, lists by index.
fn flatten(key: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{key}.{k}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{key}.{i}"), v, out);
            }
        }
        scalar => {
            out.insert(key.to_string(), Value::String(text(scalar)));
        }
    }
}

fn deep_merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(old) => deep_merge(old, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (into, from) => *into = from,
    }
}

/// A parameter by its flat name, or by a dotted path into nested parameters.
fn lookup(params: &Map<String, Value>, key: &str) -> Option<String> {
    if let Some(v) = params.get(key) {
        return Some(text(v));
    }
    let mut parts = key.split('.');
    let mut here = params.get(parts.next()?)?;
    for part in parts {
        here = here.get(part)?;
    }
    Some(text(here))
}

/// A label selector: `matchLabels` and `matchExpressions` (`In`, `NotIn`, `Exists`,
/// `DoesNotExist`).
struct Selector {
    labels: Vec<(String, String)>,
    expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    fn parse(value: &Value, at: &str) -> Result<Selector, String> {
        let mut selector = Selector {
            labels: Vec::new(),
            expressions: Vec::new(),
        };
        if let Some(labels) = value.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in labels {
                selector.labels.push((k.clone(), text(v)));
            }
        }
        for (i, e) in value
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let op = e
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if !matches!(op, "In" | "NotIn" | "Exists" | "DoesNotExist") {
                return Err(format!(
                    "`{at}.matchExpressions[{i}].operator`: `{op}` is not In, NotIn, Exists or DoesNotExist"
                ));
            }
            let values = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            selector
                .expressions
                .push((key.to_string(), op.to_string(), values));
        }
        Ok(selector)
    }

    fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.labels.iter().all(|(k, v)| get(k).as_ref() == Some(v))
            && self.expressions.iter().all(|(k, op, values)| {
                let v = get(k);
                match op.as_str() {
                    "In" => v.is_some_and(|v| values.contains(&v)),
                    "NotIn" => v.is_none_or(|v| !values.contains(&v)),
                    "Exists" => v.is_some(),
                    _ => v.is_none(),
                }
            })
    }
}
