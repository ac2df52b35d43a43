//! Layered values: the lines before the first empty line are `--set` expressions, the rest is
//! a values file whose documents are merged in order, then the `--set` layers on top. The
//! merged values go through a template's `to_yaml` and must read back unchanged.

#![no_main]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kpush::input::parse_documents;
use kpush::render::{TemplateContext, Templates, deep_merge, parse_set};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (sets, file) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (&b""[..], data),
    };
    let mut values = json!({});
    if let Ok(docs) = parse_documents(Path::new("values.yaml"), file) {
        for doc in docs {
            if doc.value.is_object() {
                deep_merge(&mut values, doc.value);
            }
        }
    }
    for line in String::from_utf8_lossy(sets).lines() {
        if let Ok(layer) = parse_set(line) {
            deep_merge(&mut values, layer);
        }
    }

    let files: BTreeMap<String, String> = [(
        "v.yaml.j2".to_string(),
        "{{ values | to_yaml }}\n".to_string(),
    )]
    .into();
    let templates = Templates::new(Arc::new(files));
    let ctx = TemplateContext {
        values: values.clone(),
        ..TemplateContext::default()
    };
    let Ok(text) = templates.render(Path::new("v.yaml.j2"), &ctx) else {
        return;
    };
    let docs = parse_documents(Path::new("v.yaml"), text.as_bytes())
        .unwrap_or_else(|p| panic!("to_yaml wrote YAML that does not parse: {p}\n{text}"));
    let back = docs
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null);
    let empty = values.as_object().is_some_and(|m| m.is_empty());
    if !empty {
        assert_eq!(back, values, "to_yaml does not read back:\n{text}");
    }
});
