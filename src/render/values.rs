//! Layered values for templates and charts: app defaults, environment files, `--values`,
//! `--set`; later layers win and maps merge deeply.

use serde_json::{Map, Value};

use super::Problem;
use super::spec::ValueLayer;
use crate::object::Origin;
use crate::source::Snapshot;

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
                let docs = crate::input::parse_documents(path, &bytes)?;
                match docs.into_iter().next().map(|d| d.value) {
                    None => continue,
                    Some(v @ Value::Object(_)) => v,
                    Some(other) => {
                        return Err(problem(format!(
                            "a values file must be a mapping, found {}",
                            crate::input::describe(&other)
                        )));
                    }
                }
            }
        };
        if !value.is_null() {
            deep_merge(&mut values, value);
        }
    }
    Ok(values)
}

/// Merges `overlay` into `base`: maps merge key by key, anything else is replaced.
pub fn deep_merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Parses `a.b.c=value` (a `\.` keeps a dot inside a key) into the nested value it sets.
/// `true`, `false`, `null` and numbers are typed, as `helm --set` does; anything else is text.
pub fn parse_set(expr: &str) -> Result<Value, String> {
    let (path, raw) = expr
        .split_once('=')
        .ok_or_else(|| format!("`--set {}` is not KEY=VALUE", shorten(expr)))?;
    let keys = split_path(path);
    if keys.iter().any(String::is_empty) {
        return Err(format!(
            "`--set {}`: empty key in `{}`",
            shorten(expr),
            shorten(path)
        ));
    }
    // Values nest no deeper than a values file may.
    if keys.len() > crate::input::MAX_DEPTH {
        return Err(format!(
            "`--set {}`: more than {} keys",
            shorten(expr),
            crate::input::MAX_DEPTH
        ));
    }
    let value = match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => raw
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| raw.parse::<f64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(raw.to_string())),
    };
    Ok(keys.into_iter().rev().fold(value, |inner, key| {
        let mut map = Map::new();
        map.insert(key, inner);
        Value::Object(map)
    }))
}

/// Enough of a long expression to recognise it.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn split_path(path: &str) -> Vec<String> {
    let mut keys = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                keys.last_mut().unwrap().push('.');
                chars.next();
            }
            '.' => keys.push(String::new()),
            c => keys.last_mut().unwrap().push(c),
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_layers_win_and_maps_merge() {
        let mut values =
            json!({"image": {"repo": "web", "tag": "1"}, "replicas": 1, "list": [1, 2]});
        deep_merge(&mut values, json!({"image": {"tag": "2"}, "list": [3]}));
        assert_eq!(
            values,
            json!({"image": {"repo": "web", "tag": "2"}, "replicas": 1, "list": [3]})
        );
    }

    #[test]
    fn set_expressions_are_typed_like_helm() {
        let cases = [
            ("a.b=c", json!({"a": {"b": "c"}})),
            ("replicas=3", json!({"replicas": 3})),
            ("ratio=0.5", json!({"ratio": 0.5})),
            ("on=true", json!({"on": true})),
            ("tag=", json!({"tag": ""})),
            (
                r"annotations.kpush\.dev/wave=2",
                json!({"annotations": {"kpush.dev/wave": 2}}),
            ),
            ("url=http://x/?a=b", json!({"url": "http://x/?a=b"})),
        ];
        for (expr, expected) in cases {
            assert_eq!(parse_set(expr).unwrap(), expected, "{expr}");
        }
        assert!(parse_set("novalue").is_err());
        assert!(parse_set("a..b=1").is_err());
        assert!(parse_set("=1").is_err());
    }

    #[test]
    fn deep_set_paths_are_refused_and_messages_stay_short() {
        let deep = format!("{}=1", vec!["a"; 100_000].join("."));
        let err = parse_set(&deep).unwrap_err();
        assert!(err.contains("more than 200 keys"), "{err}");
        assert!(err.len() < 200, "{err}");
        assert!(parse_set(&format!("{}=1", vec!["a"; 200].join("."))).is_ok());
    }
}
