//! Filling an ApplicationSet's template with one set of parameters: Argo CD's default
//! `{{param}}` substitution, or Go templates with `goTemplate: true`.

use serde_json::{Map, Value};

use crate::apps::gotemplate;

/// How the strings of a template are filled.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// `{{name}}` replaced by the flat parameter `name`; an unknown name stays as written, as
    /// Argo CD leaves it.
    Fast,
    /// `goTemplate: true`: each string is a Go template over the nested parameters.
    Go(gotemplate::Options),
}

impl Mode {
    pub fn is_go(&self) -> bool {
        matches!(self, Mode::Go(_))
    }
}

/// `value` with every string (and mapping key) filled from `params`.
pub fn fill(value: &Value, params: &Map<String, Value>, mode: &Mode) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(fill_str(s, params, mode)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill(v, params, mode))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(fill_str(k, params, mode)?, fill(v, params, mode)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// One string filled from `params`.
pub fn fill_str(s: &str, params: &Map<String, Value>, mode: &Mode) -> Result<String, String> {
    if !s.contains("{{") {
        return Ok(s.to_string());
    }
    match mode {
        Mode::Fast => Ok(fast(s, params)),
        Mode::Go(options) => gotemplate::render(s, &Value::Object(params.clone()), options),
    }
}

/// Argo CD's default substitution: `{{ name }}` (spaces trimmed) by the parameter's text.
fn fast(s: &str, params: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let key = after[..close].trim();
        match params.get(key) {
            Some(value) => out.push_str(&text(value)),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A parameter as text, as Go's `%v` prints the scalars generators produce.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Argo CD's name normalization (`path.basenameNormalized`, `nameNormalized`).
pub use crate::apps::gotemplate::normalize;

/// Merges `patch` into `target` as a JSON merge patch: mappings merge key by key, `null`
/// removes, anything else replaces (lists too, as a strategic merge of an Application does:
/// its lists have no merge keys).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let map = target.as_object_mut().expect("a mapping");
    for (k, v) in patch {
        if v.is_null() {
            map.remove(k);
        } else {
            merge_patch(map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Fills what `over` leaves empty from `base`: a generator's own `template` over the
/// ApplicationSet's, field by field.
pub fn fill_from(over: &mut Value, base: &Value) {
    match (over, base) {
        (Value::Object(over), Value::Object(base)) => {
            for (k, b) in base {
                match over.get_mut(k) {
                    Some(o) if !is_empty(o) => fill_from(o, b),
                    _ => {
                        over.insert(k.clone(), b.clone());
                    }
                }
            }
        }
        (over, base) if is_empty(over) => *over = base.clone(),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fast_substitution_replaces_known_names_and_keeps_others() {
        let p = params(json!({"cluster": "dev", "path.basename": "web", "n": 3}));
        let cases = [
            ("{{cluster}}-guestbook", "dev-guestbook"),
            ("{{ cluster }}/{{path.basename}}", "dev/web"),
            ("{{n}} replicas", "3 replicas"),
            ("{{unknown}}-x", "{{unknown}}-x"),
            ("{{cluster", "{{cluster"),
            ("plain", "plain"),
        ];
        for (template, expected) in cases {
            assert_eq!(
                fill_str(template, &p, &Mode::Fast).unwrap(),
                expected,
                "{template}"
            );
        }
        let filled = fill(
            &json!({"metadata": {"labels": {"{{cluster}}": "{{n}}"}}, "n": 1}),
            &p,
            &Mode::Fast,
        )
        .unwrap();
        assert_eq!(
            filled,
            json!({"metadata": {"labels": {"dev": "3"}}, "n": 1})
        );
    }

    #[test]
    fn patches_and_generator_templates() {
        let mut app = json!({"spec": {"syncPolicy": {"automated": {"prune": true}}, "info": [1]}});
        merge_patch(
            &mut app,
            &json!({"spec": {"syncPolicy": {"automated": null, "syncOptions": ["A=B"]}, "info": [2]}}),
        );
        assert_eq!(
            app,
            json!({"spec": {"syncPolicy": {"syncOptions": ["A=B"]}, "info": [2]}})
        );
        let mut over = json!({"metadata": {"name": ""}, "spec": {"source": {"path": "x"}}});
        fill_from(
            &mut over,
            &json!({"metadata": {"name": "n", "labels": {"a": "b"}}, "spec": {"source": {"path": "y", "repoURL": "r"}}}),
        );
        assert_eq!(
            over,
            json!({"metadata": {"name": "n", "labels": {"a": "b"}}, "spec": {"source": {"path": "x", "repoURL": "r"}}})
        );
        assert_eq!(normalize("Team_A/Prod."), "team-a-prod");
    }
}
