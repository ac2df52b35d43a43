//! A plan saved for approval (`diff --save-plan`) and checked again before it is applied
//! (`apply --plan`): what each object's write would be, by digest, and the live version it
//! was planned against. It holds no object content, so no secret value.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Action, Entry, Plan};

/// The format this kpush writes and reads; another one is refused.
pub const FORMAT: &str = "kpush.dev/plan/v1";

/// The whole saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    /// The kpush that made it.
    pub kpush: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// The commit planned.
    pub commit: String,
    pub apps: Vec<SavedApp>,
}

/// One app of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedApp {
    pub app: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The API server planned against, and the destination namespace.
    pub server: String,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_digest: Option<String>,
    pub objects: Vec<SavedObject>,
}

/// One object of a saved plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedObject {
    /// `group/version Kind namespace/name`, as plans print it.
    pub object: String,
    pub action: String,
    /// SHA-256 of what would be applied (the manifest as sent), for an object rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The live object as read when planned; both absent when it did not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// The live object an entry was planned against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveVersion {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    /// The field manager that wrote it last, from its managed fields.
    pub last_manager: Option<String>,
}

impl LiveVersion {
    pub fn of(live: &Value) -> LiveVersion {
        let meta = &live["metadata"];
        let last_manager = meta["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .max_by(|a, b| a["time"].as_str().cmp(&b["time"].as_str()))
            .and_then(|m| m["manager"].as_str())
            .map(str::to_string);
        LiveVersion {
            uid: meta["uid"].as_str().map(str::to_string),
            resource_version: meta["resourceVersion"].as_str().map(str::to_string),
            last_manager,
        }
    }
}

/// The objects of one app's plan as a saved plan holds them.
pub fn objects(plan: &Plan) -> Vec<SavedObject> {
    plan.entries.iter().map(object).collect()
}

fn object(entry: &Entry) -> SavedObject {
    let live = live_of(entry).unwrap_or_default();
    let digest = entry
        .target()
        .map(|t| crate::digest::sha256_hex(&serde_json::to_vec(&t.object).expect("JSON")));
    SavedObject {
        object: format!("{} {}", entry.id.api_version(), entry.id),
        action: action_name(entry.action).to_string(),
        digest,
        uid: live.uid,
        resource_version: live.resource_version,
    }
}

/// The live object an entry was planned against: observed for a rendered object, read from
/// the inventory for one to prune.
pub fn live_of(entry: &Entry) -> Option<LiveVersion> {
    entry
        .live
        .clone()
        .or_else(|| entry.member().map(|m| LiveVersion::of(&m.live)))
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Unchanged => "unchanged",
        Action::Prune => "prune",
        Action::Keep => "keep",
        Action::Hook => "hook",
        Action::Error => "error",
    }
}

/// What differs between the plan approved and the same plan made now, one line per object
/// (or app) that changed, naming who changed it when the cluster says.
pub fn differences(saved: &SavedApp, now: &SavedApp, live: &[Option<LiveVersion>]) -> Vec<String> {
    let mut out = Vec::new();
    let app = &saved.app;
    if saved.server != now.server || saved.namespace != now.namespace {
        out.push(format!(
            "app {app}: planned for {} namespace {}, now {} namespace {}",
            saved.server, saved.namespace, now.server, now.namespace
        ));
    }
    if saved.input_digest != now.input_digest {
        out.push(format!(
            "app {app}: its inputs differ from the plan's (input digest)"
        ));
    }
    for (i, current) in now.objects.iter().enumerate() {
        let Some(planned) = saved.objects.iter().find(|o| o.object == current.object) else {
            out.push(format!(
                "{}: {} now, not in the plan",
                current.object, current.action
            ));
            continue;
        };
        if planned.uid != current.uid || planned.resource_version != current.resource_version {
            let by = live
                .get(i)
                .and_then(|l| l.as_ref())
                .and_then(|l| l.last_manager.as_deref())
                .map(|m| format!(" (last written by field manager `{m}`)"))
                .unwrap_or_default();
            let what = match (&planned.resource_version, &current.resource_version) {
                (None, Some(_)) => "was created since the plan".to_string(),
                (Some(_), None) => "was deleted since the plan".to_string(),
                _ => format!(
                    "changed since the plan: resourceVersion {} then, {} now",
                    planned.resource_version.as_deref().unwrap_or("-"),
                    current.resource_version.as_deref().unwrap_or("-")
                ),
            };
            out.push(format!("{}: {what}{by}", current.object));
        } else if planned.action != current.action || planned.digest != current.digest {
            out.push(format!(
                "{}: planned to {}, now {} with {} content",
                current.object,
                planned.action,
                current.action,
                if planned.digest == current.digest {
                    "the same"
                } else {
                    "other"
                }
            ));
        }
    }
    for planned in &saved.objects {
        if !now.objects.iter().any(|o| o.object == planned.object) {
            out.push(format!(
                "{}: planned to {}, no longer in the plan",
                planned.object, planned.action
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(name: &str, action: &str, digest: &str, rv: Option<&str>) -> SavedObject {
        SavedObject {
            object: format!("v1 ConfigMap ns/{name}"),
            action: action.into(),
            digest: Some(digest.into()),
            uid: rv.map(|_| "u".to_string()),
            resource_version: rv.map(str::to_string),
        }
    }

    fn app(objects: Vec<SavedObject>) -> SavedApp {
        SavedApp {
            app: "web".into(),
            env: None,
            server: "https://k".into(),
            namespace: "ns".into(),
            input_digest: Some("d".into()),
            objects,
        }
    }

    #[test]
    fn what_changed_since_the_plan_is_named() {
        let saved = app(vec![
            obj("a", "update", "1", Some("10")),
            obj("b", "create", "2", None),
            obj("c", "unchanged", "3", Some("7")),
            obj("gone", "prune", "4", Some("8")),
        ]);
        let now = app(vec![
            obj("a", "update", "1", Some("11")),
            obj("b", "update", "2", Some("1")),
            obj("c", "update", "9", Some("7")),
        ]);
        let manager = LiveVersion::of(&json!({"metadata": {"uid": "u", "resourceVersion": "11",
            "managedFields": [{"manager": "kpush", "time": "2026-01-01T00:00:00Z"},
                              {"manager": "kubectl-edit", "time": "2026-02-01T00:00:00Z"}]}}));
        let found = differences(&saved, &now, &[Some(manager), None, None]);
        assert_eq!(
            found,
            [
                "v1 ConfigMap ns/a: changed since the plan: resourceVersion 10 then, 11 now (last written by field manager `kubectl-edit`)",
                "v1 ConfigMap ns/b: was created since the plan",
                "v1 ConfigMap ns/c: planned to unchanged, now update with other content",
                "v1 ConfigMap ns/gone: planned to prune, no longer in the plan",
            ]
        );
        assert!(differences(&saved, &saved, &[]).is_empty());
    }
}
