//! Secret values never reach any output: they are replaced by markers that say whether a key
//! was added, changed or removed, and its length, before anything is serialised.

use serde_json::{Map, Value};

pub use crate::input::SensitivePath;

const SECRET_FIELDS: &[&str] = &["data", "stringData"];

fn is_secret(object: &Value) -> bool {
    object.get("kind").and_then(Value::as_str) == Some("Secret")
        && object.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// Masks a pair of versions of the same object so their diff shows which keys changed and
/// never a value. Objects other than Secrets come back unchanged.
pub fn mask_pair(live: Option<&Value>, desired: &Value) -> (Option<Value>, Value) {
    let mut live = live.cloned();
    let mut desired = desired.clone();
    let secret = is_secret(&desired) || live.as_ref().is_some_and(is_secret);
    if !secret {
        return (live, desired);
    }
    for field in SECRET_FIELDS {
        let old = live
            .as_ref()
            .and_then(|l| l.get(*field))
            .and_then(Value::as_object)
            .cloned();
        let new = desired.get(*field).and_then(Value::as_object).cloned();
        let empty = Map::new();
        let old_map = old.as_ref().unwrap_or(&empty);
        let new_map = new.as_ref().unwrap_or(&empty);
        let base64 = *field == "data";
        if let (Some(live), Some(_)) = (live.as_mut(), &old) {
            live[*field] = Value::Object(
                old_map
                    .iter()
                    .map(|(k, v)| {
                        let marker = match new_map.get(k) {
                            Some(n) if n == v => marker("unchanged", v, base64),
                            Some(_) => marker("was", v, base64),
                            None => marker("removed", v, base64),
                        };
                        (k.clone(), marker)
                    })
                    .collect(),
            );
        }
        if new.is_some() {
            desired[*field] = Value::Object(
                new_map
                    .iter()
                    .map(|(k, v)| {
                        let marker = match old_map.get(k) {
                            Some(o) if o == v => marker("unchanged", v, base64),
                            Some(_) => marker("changed", v, base64),
                            None => marker("added", v, base64),
                        };
                        (k.clone(), marker)
                    })
                    .collect(),
            );
        }
    }
    (live, desired)
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Masks Secrets and the `sensitive` paths of a pair of versions of one object.
pub fn mask_pair_with(
    live: Option<&Value>,
    desired: &Value,
    sensitive: &[SensitivePath],
) -> (Option<Value>, Value) {
    let (mut live, mut desired) = mask_pair(live, desired);
    for rule in sensitive {
        let applies =
            rule.applies_to(&desired) || live.as_ref().is_some_and(|l| rule.applies_to(l));
        if !applies {
            continue;
        }
        let at = pointer(&rule.path);
        let old = live.as_ref().and_then(|l| l.pointer(&at)).cloned();
        let new = desired.pointer(&at).cloned();
        match (&old, &new) {
            // A map of values (like `data`): each key masked on its own.
            (Some(Value::Object(_)), _) | (_, Some(Value::Object(_))) => {
                let wrap = |v: &Option<Value>| serde_json::json!({"apiVersion": "v1", "kind": "Secret", "stringData": v.clone().unwrap_or(Value::Null)});
                let (l, d) = mask_pair(old.as_ref().map(|_| wrap(&old)).as_ref(), &wrap(&new));
                if let (Some(slot), Some(l)) = (live.as_mut().and_then(|x| x.pointer_mut(&at)), l) {
                    *slot = l["stringData"].clone();
                }
                if let Some(slot) = desired.pointer_mut(&at) {
                    *slot = d["stringData"].clone();
                }
            }
            _ => {
                let same = old == new;
                if let (Some(slot), Some(v)) =
                    (live.as_mut().and_then(|x| x.pointer_mut(&at)), &old)
                {
                    *slot = marker(
                        if same {
                            "unchanged"
                        } else if new.is_some() {
                            "was"
                        } else {
                            "removed"
                        },
                        v,
                        false,
                    );
                }
                if let (Some(slot), Some(v)) = (desired.pointer_mut(&at), &new) {
                    *slot = marker(
                        if same {
                            "unchanged"
                        } else if old.is_some() {
                            "changed"
                        } else {
                            "added"
                        },
                        v,
                        false,
                    );
                }
            }
        }
    }
    (live, desired)
}

fn marker(state: &str, value: &Value, base64: bool) -> Value {
    let len = match value {
        Value::String(s) if base64 => decoded_len(s),
        Value::String(s) => s.len(),
        _ => 0,
    };
    Value::String(format!("<{state}, {len} bytes>"))
}

/// The length of the decoded value, computed from the base64 text without decoding it.
fn decoded_len(text: &str) -> usize {
    let trimmed = text.trim_end();
    let padding = trimmed.bytes().rev().take_while(|b| *b == b'=').count();
    (trimmed.len() / 4) * 3 - padding.min(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data})
    }

    #[test]
    fn markers_say_what_happened_and_never_the_value() {
        // "old-pass" / "new-password" / "same"
        let live = secret(json!({"p": "b2xkLXBhc3M=", "gone": "eA==", "same": "c2FtZQ=="}));
        let desired = secret(json!({"p": "bmV3LXBhc3N3b3Jk", "new": "eQ==", "same": "c2FtZQ=="}));
        let (l, d) = mask_pair(Some(&live), &desired);
        let l = l.unwrap();
        assert_eq!(
            l["data"],
            json!({"p": "<was, 8 bytes>", "gone": "<removed, 1 bytes>", "same": "<unchanged, 4 bytes>"})
        );
        assert_eq!(
            d["data"],
            json!({"p": "<changed, 12 bytes>", "new": "<added, 1 bytes>", "same": "<unchanged, 4 bytes>"})
        );
        let text = format!("{l}{d}");
        for value in [
            "b2xkLXBhc3M=",
            "bmV3LXBhc3N3b3Jk",
            "c2FtZQ==",
            "eA==",
            "eQ==",
        ] {
            assert!(!text.contains(value));
        }
    }

    #[test]
    fn string_data_is_masked_and_other_kinds_untouched() {
        let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"token": "hunter2"}});
        assert_eq!(
            mask_pair(None, &s).1["stringData"]["token"],
            "<added, 7 bytes>"
        );
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"token": "hunter2"}});
        assert_eq!(mask_pair(None, &cm).1, cm);
    }

    #[test]
    fn sensitive_paths_mask_other_kinds() {
        let rule: SensitivePath = "ConfigMap/settings:data.token".parse().unwrap();
        let cm = |token: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"token": token, "plain": "x"}});
        let (l, d) = mask_pair_with(
            Some(&cm("old-token")),
            &cm("new-token!"),
            std::slice::from_ref(&rule),
        );
        assert_eq!(
            l.unwrap()["data"],
            json!({"token": "<was, 9 bytes>", "plain": "x"})
        );
        assert_eq!(
            d["data"],
            json!({"token": "<changed, 10 bytes>", "plain": "x"})
        );
        let whole: SensitivePath = "ConfigMap:data".parse().unwrap();
        let (_, d) = mask_pair_with(None, &cm("t"), &[whole]);
        assert_eq!(
            d["data"],
            json!({"token": "<added, 1 bytes>", "plain": "<added, 1 bytes>"})
        );
        let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}, "data": {"token": "t"}});
        assert_eq!(mask_pair_with(None, &other, &[rule]).1, other);
        assert!("nonsense".parse::<SensitivePath>().is_err());
    }

    #[test]
    fn decoded_length_from_base64() {
        assert_eq!(decoded_len("c2VjcmV0"), 6);
        assert_eq!(decoded_len("c2VjcmV0MQ=="), 7);
        assert_eq!(decoded_len("c2VjcmV0MTI="), 8);
        assert_eq!(decoded_len(""), 0);
    }
}
