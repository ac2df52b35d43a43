//! Argo CD's `ignoreDifferences`: fields of matching objects left out of the comparison, so
//! they show no diff and no drift, and applied as they are live (`RespectIgnoreDifferences`). Fields are named by JSON pointers, jq path expressions (the forms Argo
//! CD's documentation uses: `.a.b`, `."x.y"`, `[]`, `[]?`, `[N]`, `| select(.k == "v")`), or
//! by the field managers that own them.

use serde_json::Value;

use crate::object::ObjectRef;

/// One `ignoreDifferences` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct IgnoreRule {
    /// `*` matches any.
    pub group: String,
    pub kind: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub pointers: Vec<Vec<String>>,
    pub jq: Vec<JqPath>,
    pub managers: Vec<String>,
}

/// A step of a concrete path into a document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Token {
    Key(String),
    Index(usize),
}

impl IgnoreRule {
    pub fn matches(&self, id: &ObjectRef) -> bool {
        let any = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        any(&self.group, &id.group)
            && any(&self.kind, &id.kind)
            && self.name.as_deref().is_none_or(|n| n == id.name)
            && self
                .namespace
                .as_deref()
                .is_none_or(|n| Some(n) == id.namespace.as_deref())
    }

    /// The concrete paths this rule names in `doc`; `live` (with its managed fields) says
    /// which fields the named managers own.
    fn paths(&self, doc: &Value, live: Option<&Value>) -> Vec<Vec<Token>> {
        let mut paths = Vec::new();
        for pointer in &self.pointers {
            let tokens = resolve_keys(doc, pointer);
            paths.extend(tokens);
        }
        for jq in &self.jq {
            paths.extend(jq.eval(doc));
        }
        if let Some(live) = live {
            for owned in managed_by(live, &self.managers) {
                paths.extend(owned.resolve(doc));
            }
        }
        paths
    }
}

/// The fields `rules` ignore for object `id`, removed from `doc`.
pub fn strip(rules: &[IgnoreRule], id: &ObjectRef, doc: &mut Value, live: Option<&Value>) {
    let mut paths: Vec<Vec<Token>> = rules
        .iter()
        .filter(|r| r.matches(id))
        .flat_map(|r| r.paths(doc, live))
        .collect();
    // Later list items first, so removing one never shifts another.
    paths.sort();
    paths.dedup();
    for path in paths.iter().rev() {
        remove(doc, path);
    }
}

/// The ignored fields of `desired` take their live values (or go, when the live object has none), so applying never changes them.
pub fn respect(rules: &[IgnoreRule], id: &ObjectRef, desired: &mut Value, live: &Value) {
    let mut paths: Vec<Vec<Token>> = rules
        .iter()
        .filter(|r| r.matches(id))
        .flat_map(|r| r.paths(desired, Some(live)))
        .collect();
    paths.sort();
    paths.dedup();
    for path in paths.iter().rev() {
        match lookup(live, &corresponding(desired, live, path)) {
            Some(value) => set(desired, path, value.clone()),
            None => remove(desired, path),
        }
    }
}

/// A JSON pointer's tokens, resolved in `doc`: numeric tokens index lists. Nothing when the
/// pointer names nothing there.
fn resolve_keys(doc: &Value, pointer: &[String]) -> Option<Vec<Token>> {
    let mut at = doc;
    let mut path = Vec::new();
    for token in pointer {
        match at {
            Value::Object(map) => {
                at = map.get(token)?;
                path.push(Token::Key(token.clone()));
            }
            Value::Array(items) => {
                let index: usize = token.parse().ok()?;
                at = items.get(index)?;
                path.push(Token::Index(index));
            }
            _ => return None,
        }
    }
    Some(path)
}

/// `path` in `from` as the same field of `to`: list items are matched by `name` when they
/// have one (the server may order them differently), else by position.
fn corresponding(from: &Value, to: &Value, path: &[Token]) -> Vec<Token> {
    let (mut a, mut b) = (Some(from), Some(to));
    let mut out = Vec::new();
    for token in path {
        let mapped = match (token, a, b) {
            (Token::Index(i), Some(Value::Array(x)), Some(Value::Array(y))) => {
                match x.get(*i).and_then(|item| item.get("name")) {
                    Some(name) => Token::Index(
                        y.iter()
                            .position(|item| item.get("name") == Some(name))
                            .unwrap_or(usize::MAX),
                    ),
                    None => token.clone(),
                }
            }
            _ => token.clone(),
        };
        a = a.and_then(|v| step(v, token));
        b = b.and_then(|v| step(v, &mapped));
        out.push(mapped);
    }
    out
}

fn step<'a>(value: &'a Value, token: &Token) -> Option<&'a Value> {
    match (value, token) {
        (Value::Object(map), Token::Key(key)) => map.get(key),
        (Value::Array(items), Token::Index(i)) => items.get(*i),
        _ => None,
    }
}

fn lookup<'a>(doc: &'a Value, path: &[Token]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |at, token| step(at, token))
}

fn remove(doc: &mut Value, path: &[Token]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let mut at = doc;
    for token in parent {
        at = match (at, token) {
            (Value::Object(map), Token::Key(key)) => match map.get_mut(key) {
                Some(v) => v,
                None => return,
            },
            (Value::Array(items), Token::Index(i)) => match items.get_mut(*i) {
                Some(v) => v,
                None => return,
            },
            _ => return,
        };
    }
    match (at, last) {
        (Value::Object(map), Token::Key(key)) => {
            map.remove(key);
        }
        (Value::Array(items), Token::Index(i)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

fn set(doc: &mut Value, path: &[Token], value: Value) {
    let mut at = doc;
    for token in path {
        at = match (at, token) {
            (Value::Object(map), Token::Key(key)) => map.entry(key.clone()).or_insert(Value::Null),
            (Value::Array(items), Token::Index(i)) if *i < items.len() => &mut items[*i],
            _ => return,
        };
    }
    *at = value;
}

/// A JSON pointer (`/spec/replicas`, `~1` and `~0` escaped) as its tokens.
pub fn parse_pointer(text: &str) -> Result<Vec<String>, String> {
    let rest = text
        .strip_prefix('/')
        .ok_or_else(|| format!("JSON pointer `{text}` must start with `/`"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// A jq path expression of the forms Argo CD's documentation uses.
#[derive(Debug, Clone, PartialEq)]
pub struct JqPath(Vec<Jq>);

#[derive(Debug, Clone, PartialEq)]
enum Jq {
    Field(String),
    /// `[]`, or `[]?` which skips what is not a list.
    Each,
    Index(usize),
    /// `select(.a.b == value)`.
    Select(Vec<String>, Value),
}

impl std::str::FromStr for JqPath {
    type Err = String;

    fn from_str(text: &str) -> Result<JqPath, String> {
        let unsupported = || {
            format!(
                "jq path expression `{text}` is not one kpush evaluates: it takes `.field`, `.\"quoted.field\"`, `[]`, `[]?`, `[N]` and `| select(.field == \"value\")`"
            )
        };
        let mut steps = Vec::new();
        for (i, part) in text.split('|').map(str::trim).enumerate() {
            if let Some(inner) = part
                .strip_prefix("select(")
                .and_then(|p| p.strip_suffix(')'))
            {
                let (left, right) = inner.split_once("==").ok_or_else(unsupported)?;
                let fields = fields(left.trim()).ok_or_else(unsupported)?;
                let value: Value = serde_json::from_str(right.trim()).map_err(|_| unsupported())?;
                steps.push(Jq::Select(fields, value));
                continue;
            }
            if part == "." && i > 0 {
                continue;
            }
            steps.extend(segments(part).ok_or_else(unsupported)?);
        }
        if steps.is_empty() {
            return Err(unsupported());
        }
        Ok(JqPath(steps))
    }
}

/// `.a.b` as `[a, b]`; `None` for anything else.
fn fields(text: &str) -> Option<Vec<String>> {
    segments(text)?
        .into_iter()
        .map(|s| match s {
            Jq::Field(f) => Some(f),
            _ => None,
        })
        .collect()
}

fn segments(mut text: &str) -> Option<Vec<Jq>> {
    let mut out = Vec::new();
    while !text.is_empty() {
        if let Some(rest) = text.strip_prefix(".[") {
            text = &rest[rest.find(']')?..];
            let inner = &rest[..rest.find(']')?];
            out.push(index(inner)?);
            text = text.strip_prefix(']')?.trim_start_matches('?');
        } else if let Some(rest) = text.strip_prefix('[') {
            let end = rest.find(']')?;
            out.push(index(&rest[..end])?);
            text = rest[end + 1..].trim_start_matches('?');
        } else if let Some(rest) = text.strip_prefix(".\"") {
            let end = rest.find('"')?;
            out.push(Jq::Field(rest[..end].to_string()));
            text = &rest[end + 1..];
        } else if let Some(rest) = text.strip_prefix('.') {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = &rest[..end];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return None;
            }
            out.push(Jq::Field(name.to_string()));
            text = &rest[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

fn index(inner: &str) -> Option<Jq> {
    if inner.is_empty() {
        Some(Jq::Each)
    } else {
        inner.trim().parse().ok().map(Jq::Index)
    }
}

impl JqPath {
    /// The concrete paths the expression names in `doc`.
    fn eval(&self, doc: &Value) -> Vec<Vec<Token>> {
        let mut at: Vec<(Vec<Token>, &Value)> = vec![(Vec::new(), doc)];
        for step in &self.0 {
            let mut next = Vec::new();
            for (path, value) in at {
                match (step, value) {
                    (Jq::Field(key), Value::Object(map)) => {
                        if let Some(v) = map.get(key) {
                            next.push((push(&path, Token::Key(key.clone())), v));
                        }
                    }
                    (Jq::Index(i), Value::Array(items)) => {
                        if let Some(v) = items.get(*i) {
                            next.push((push(&path, Token::Index(*i)), v));
                        }
                    }
                    (Jq::Each, Value::Array(items)) => {
                        for (i, v) in items.iter().enumerate() {
                            next.push((push(&path, Token::Index(i)), v));
                        }
                    }
                    (Jq::Select(fields, expected), v) => {
                        let found = fields.iter().try_fold(v, |at, f| at.get(f));
                        if found == Some(expected) {
                            next.push((path, v));
                        }
                    }
                    _ => {}
                }
            }
            at = next;
        }
        at.into_iter().map(|(path, _)| path).collect()
    }
}

fn push(path: &[Token], token: Token) -> Vec<Token> {
    let mut out = path.to_vec();
    out.push(token);
    out
}

/// A field a manager owns, from `managedFields[].fieldsV1`: keys, and list items by their
/// key fields (`k:{"name":"web"}`) or position.
#[derive(Debug, Clone)]
struct Owned(Vec<OwnedStep>);

#[derive(Debug, Clone)]
enum OwnedStep {
    Key(String),
    Item(serde_json::Map<String, Value>),
    Index(usize),
}

fn managed_by(live: &Value, managers: &[String]) -> Vec<Owned> {
    let mut owned = Vec::new();
    if managers.is_empty() {
        return owned;
    }
    for entry in live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let manager = entry["manager"].as_str().unwrap_or("");
        if managers.iter().any(|m| m == manager) {
            collect(&entry["fieldsV1"], &mut Vec::new(), &mut owned);
        }
    }
    owned
}

/// The leaves of a `fieldsV1` tree (a field whose value is `{}` or only `{".": {}}`).
fn collect(tree: &Value, path: &mut Vec<OwnedStep>, out: &mut Vec<Owned>) {
    let Some(map) = tree.as_object() else {
        return;
    };
    let children: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| *k != ".").collect();
    if children.is_empty() {
        if !path.is_empty() {
            out.push(Owned(path.clone()));
        }
        return;
    }
    for (key, child) in children {
        let step = if let Some(field) = key.strip_prefix("f:") {
            OwnedStep::Key(field.to_string())
        } else if let Some(keys) = key.strip_prefix("k:") {
            match serde_json::from_str(keys) {
                Ok(Value::Object(keys)) => OwnedStep::Item(keys),
                _ => continue,
            }
        } else if let Some(i) = key.strip_prefix("i:") {
            match i.parse() {
                Ok(i) => OwnedStep::Index(i),
                Err(_) => continue,
            }
        } else {
            // `v:` set values name whole items; they are left compared.
            continue;
        };
        path.push(step);
        collect(child, path, out);
        path.pop();
    }
}

impl Owned {
    fn resolve(&self, doc: &Value) -> Option<Vec<Token>> {
        let mut at = doc;
        let mut path = Vec::new();
        for step in &self.0 {
            let token = match (step, at) {
                (OwnedStep::Key(key), Value::Object(map)) => {
                    at = map.get(key)?;
                    Token::Key(key.clone())
                }
                (OwnedStep::Item(keys), Value::Array(items)) => {
                    let i = items
                        .iter()
                        .position(|item| keys.iter().all(|(k, v)| item.get(k) == Some(v)))?;
                    at = &items[i];
                    Token::Index(i)
                }
                (OwnedStep::Index(i), Value::Array(items)) => {
                    at = items.get(*i)?;
                    Token::Index(*i)
                }
                _ => return None,
            };
            path.push(token);
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(group: &str, kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: Some("shop".into()),
            name: name.into(),
        }
    }

    fn rule(pointers: &[&str], jq: &[&str], managers: &[&str]) -> IgnoreRule {
        IgnoreRule {
            group: "apps".into(),
            kind: "Deployment".into(),
            name: None,
            namespace: None,
            pointers: pointers.iter().map(|p| parse_pointer(p).unwrap()).collect(),
            jq: jq.iter().map(|q| q.parse().unwrap()).collect(),
            managers: managers.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn deployment() -> Value {
        json!({"metadata": {"annotations": {"a/b": "x", "keep": "y"}}, "spec": {"replicas": 3, "template": {"spec": {
            "containers": [{"name": "web", "image": "web:1"}, {"name": "istio-proxy", "image": "proxy:1"}]}}}})
    }

    #[test]
    fn pointers_and_jq_paths_name_fields() {
        let web = id("apps", "Deployment", "web");
        let mut doc = deployment();
        let rules = [rule(
            &[
                "/spec/replicas",
                "/metadata/annotations/a~1b",
                "/spec/missing",
            ],
            &[".spec.template.spec.containers[] | select(.name == \"istio-proxy\")"],
            &[],
        )];
        strip(&rules, &web, &mut doc, None);
        assert_eq!(
            doc,
            json!({"metadata": {"annotations": {"keep": "y"}}, "spec": {"template": {"spec": {
                "containers": [{"name": "web", "image": "web:1"}]}}}})
        );
        // Other kinds are left alone.
        let mut other = deployment();
        strip(&rules, &id("apps", "StatefulSet", "web"), &mut other, None);
        assert_eq!(other, deployment());
    }

    #[test]
    fn jq_forms_from_argo_cd_parse_and_others_are_refused() {
        let webhook =
            json!({"webhooks": [{"clientConfig": {"caBundle": "x", "url": "u"}}, {"name": "n"}]});
        let q: JqPath = ".webhooks[]?.clientConfig.caBundle".parse().unwrap();
        assert_eq!(
            q.eval(&webhook),
            [vec![
                Token::Key("webhooks".into()),
                Token::Index(0),
                Token::Key("clientConfig".into()),
                Token::Key("caBundle".into())
            ]]
        );
        let q: JqPath = ".metadata.annotations.\"example.com/x\"".parse().unwrap();
        assert_eq!(
            q.eval(&json!({"metadata": {"annotations": {"example.com/x": "1"}}}))
                .len(),
            1
        );
        for bad in [
            "",
            "spec.replicas",
            ".spec | length",
            ".a[] | select(.b > 1)",
        ] {
            let err = bad.parse::<JqPath>().unwrap_err();
            assert!(err.contains("is not one kpush evaluates"), "{bad}: {err}");
        }
    }

    #[test]
    fn fields_a_manager_owns_are_ignored() {
        let web = id("apps", "Deployment", "web");
        let live = json!({"metadata": {"managedFields": [
            {"manager": "hpa-controller", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "istio", "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"istio-proxy\"}": {".": {}, "f:image": {}}}}}}}},
            {"manager": "kpush", "fieldsV1": {"f:spec": {"f:template": {}}}}
        ]}});
        let mut doc = deployment();
        strip(
            &[rule(&[], &[], &["hpa-controller", "istio"])],
            &web,
            &mut doc,
            Some(&live),
        );
        assert!(doc["spec"].get("replicas").is_none());
        assert_eq!(
            doc["spec"]["template"]["spec"]["containers"][1],
            json!({"name": "istio-proxy"})
        );
        assert_eq!(
            doc["spec"]["template"]["spec"]["containers"][0]["image"],
            "web:1"
        );
    }

    #[test]
    fn respected_fields_keep_their_live_values() {
        let web = id("apps", "Deployment", "web");
        let live = json!({"spec": {"replicas": 7, "template": {"spec": {"containers": [
            {"name": "istio-proxy", "image": "proxy:2"}, {"name": "web", "image": "web:0"}]}}}});
        let mut desired = deployment();
        let rules = [rule(
            &["/spec/replicas", "/metadata/annotations/keep"],
            &[".spec.template.spec.containers[] | select(.name == \"istio-proxy\") | .image"],
            &[],
        )];
        respect(&rules, &web, &mut desired, &live);
        assert_eq!(desired["spec"]["replicas"], 7);
        // Matched by name, not position.
        assert_eq!(
            desired["spec"]["template"]["spec"]["containers"][1]["image"],
            "proxy:2"
        );
        assert_eq!(
            desired["spec"]["template"]["spec"]["containers"][0]["image"],
            "web:1"
        );
        // Not live: not sent.
        assert!(desired["metadata"]["annotations"].get("keep").is_none());
    }
}
