//! A small JSON Schema checker for the subset kpush's documented schemas use: `type`,
//! `required`, `properties`, `additionalProperties: false`, `items`, `enum`, `oneOf` and local
//! `$ref`s.

use serde_json::Value;

/// Every place `value` breaks `schema`, as `path: problem` lines.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "$", &mut errors);
    errors
}

fn check(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let target = reference
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or_else(|| panic!("unresolvable $ref {reference}"));
        return check(root, target, value, path, errors);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let matching = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                check(root, o, value, path, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!("{path}: matches {matching} of oneOf"));
        }
        return;
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !ok {
            errors.push(format!("{path}: is {actual}, expected {allowed:?}"));
            return;
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {options:?}"));
    }
    if let Value::Object(map) = value {
        for key in schema["required"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            if !map.contains_key(key) {
                errors.push(format!("{path}: missing `{key}`"));
            }
        }
        let properties = schema["properties"].as_object();
        for (key, item) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => check(root, sub, item, &format!("{path}.{key}"), errors),
                None if schema["additionalProperties"] == Value::Bool(false) => {
                    errors.push(format!("{path}: unexpected `{key}`"))
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(root, item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
}
