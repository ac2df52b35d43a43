//! Workloads whose controller cannot create their pods (a missing ServiceAccount, PodSecurity,
//! a ResourceQuota, an admission policy): the controller says so in a `FailedCreate` warning
//! event on itself (StatefulSet, DaemonSet, Job, ReplicaSet) and, for ReplicaSets and through
//! them Deployments, in a `ReplicaFailure` condition. Nothing about the pods ever shows it,
//! because there are none. Also the warning events a stuck wait reports.

use std::collections::{HashMap, HashSet};
use std::fmt;

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{condition, text};

/// Why a workload's controller cannot create its pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFailure {
    /// What reports it, e.g. `ReplicaSet web-5d8c9`.
    pub by: String,
    /// The controller's reason, e.g. `FailedCreate`.
    pub reason: String,
    pub message: String,
}

/// `ReplicaSet web-5d8c9: FailedCreate: pods "web-5d8c9-" is forbidden: ...`
impl fmt::Display for CreateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.by, self.reason)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// A true `ReplicaFailure` condition of a ReplicaSet or Deployment.
pub fn replica_failure(object: &Value) -> Option<CreateFailure> {
    let c = condition(object, "ReplicaFailure").filter(|c| c.is_true())?;
    Some(CreateFailure {
        by: format!(
            "{} {}",
            text(object, "/kind").unwrap_or("object"),
            text(object, "/metadata/name").unwrap_or("")
        ),
        reason: if c.reason.is_empty() {
            "ReplicaFailure".to_owned()
        } else {
            c.reason.to_owned()
        },
        message: c.message.to_owned(),
    })
}

/// When an event last happened: events of the `events.k8s.io` API keep it in `series` or
/// `eventTime`, those of the core API in `lastTimestamp`.
pub fn event_time(event: &Value) -> Option<Timestamp> {
    [
        "/series/lastObservedTime",
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| text(event, p)?.parse().ok())
}

/// How often an event happened.
fn event_count(event: &Value) -> i64 {
    event
        .pointer("/series/count")
        .or_else(|| event.get("count"))
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// The latest pod-creation event of each controller, by its uid: a `FailedCreate` stays the
/// latest until the controller creates a pod (`SuccessfulCreate`).
#[derive(Debug, Default)]
pub struct Creations {
    latest: HashMap<String, (Timestamp, Option<CreateFailure>)>,
}

impl Creations {
    /// Takes in one event, in the order the watch delivers them (a repeat updates the event,
    /// and so arrives again). Events older than `not_before` belong to an earlier rollout.
    pub fn seen(&mut self, event: &Value, not_before: Option<Timestamp>) {
        let failed = match text(event, "/reason") {
            Some("FailedCreate") if text(event, "/type") == Some("Warning") => true,
            Some("SuccessfulCreate") => false,
            _ => return,
        };
        let (Some(uid), Some(time)) = (text(event, "/involvedObject/uid"), event_time(event))
        else {
            return;
        };
        // Core events count in whole seconds.
        if not_before.is_some_and(|start| time.as_second() < start.as_second()) {
            return;
        }
        if self.latest.get(uid).is_some_and(|(t, _)| time < *t) {
            return;
        }
        let failure = failed.then(|| CreateFailure {
            by: format!(
                "{} {}",
                text(event, "/involvedObject/kind").unwrap_or("object"),
                text(event, "/involvedObject/name").unwrap_or("")
            ),
            reason: "FailedCreate".to_owned(),
            message: with_count(
                text(event, "/message").unwrap_or("").trim(),
                event_count(event),
            ),
        });
        self.latest.insert(uid.to_owned(), (time, failure));
    }

    /// Why the controller with this uid cannot create pods, if its latest creation failed.
    pub fn failing(&self, uid: &str) -> Option<&CreateFailure> {
        self.latest.get(uid)?.1.as_ref()
    }
}

fn with_count(message: &str, count: i64) -> String {
    if count > 1 {
        format!("{message} ({count} times)")
    } else {
        message.to_owned()
    }
}

/// The last `limit` warning events about the objects with these uids, oldest first, as
/// `Kind name: Reason: message` lines; one line per reason and message (the latest), since
/// every pod of a workload repeats its siblings' events.
pub fn warnings_about(events: &[Value], uids: &HashSet<String>, limit: usize) -> Vec<String> {
    let mut about: Vec<&Value> = events
        .iter()
        .filter(|e| text(e, "/type") == Some("Warning"))
        .filter(|e| text(e, "/involvedObject/uid").is_some_and(|u| uids.contains(u)))
        .collect();
    about.sort_by_key(|e| event_time(e));
    let mut seen = HashSet::new();
    let mut lines: Vec<String> = about
        .iter()
        .rev()
        .filter(|e| {
            seen.insert((
                text(e, "/reason").unwrap_or(""),
                text(e, "/message").unwrap_or("").trim(),
            ))
        })
        .take(limit)
        .map(|e| {
            format!(
                "{} {}: {}: {}",
                text(e, "/involvedObject/kind").unwrap_or("?"),
                text(e, "/involvedObject/name").unwrap_or("?"),
                text(e, "/reason").unwrap_or("?"),
                with_count(text(e, "/message").unwrap_or("").trim(), event_count(e))
            )
        })
        .collect();
    lines.reverse();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(uid: &str, reason: &str, time: &str, count: i64) -> Value {
        json!({
            "type": if reason.starts_with("Failed") { "Warning" } else { "Normal" },
            "reason": reason,
            "message": format!("{reason} message"),
            "involvedObject": {"kind": "Job", "name": "migrate", "uid": uid},
            "lastTimestamp": time,
            "count": count,
        })
    }

    #[test]
    fn the_latest_creation_event_decides() {
        let t = |s: &str| format!("2026-01-01T00:00:{s}Z");
        let failed = |time: &str, count| event("j1", "FailedCreate", &t(time), count);
        let created = |time: &str| event("j1", "SuccessfulCreate", &t(time), 1);
        let start: Timestamp = t("10").parse().unwrap();
        // (name, events in the order the watch delivers them, not_before, failing?)
        type Case<'a> = (&'a str, Vec<Value>, Option<Timestamp>, Option<&'a str>);
        let cases: Vec<Case> = vec![
            ("nothing", vec![], None, None),
            (
                "a failure",
                vec![failed("11", 1)],
                None,
                Some("FailedCreate message"),
            ),
            (
                "a repeated failure says how often",
                vec![failed("11", 1), failed("15", 4)],
                None,
                Some("FailedCreate message (4 times)"),
            ),
            (
                "created after it failed (the ServiceAccount came a moment later)",
                vec![failed("11", 2), created("12")],
                None,
                None,
            ),
            (
                "created in the same second, delivered after it",
                vec![failed("11", 1), created("11")],
                None,
                None,
            ),
            (
                "failing again after a pod was created (a quota allows one)",
                vec![created("11"), failed("12", 3)],
                None,
                Some("FailedCreate message (3 times)"),
            ),
            (
                "an older event listed after a newer one",
                vec![created("14"), failed("12", 1)],
                None,
                None,
            ),
            (
                "a failure of an earlier rollout",
                vec![failed("05", 3)],
                Some(start),
                None,
            ),
            (
                "an earlier rollout's failure that repeats now",
                vec![failed("05", 3), failed("12", 4)],
                Some(start),
                Some("FailedCreate message (4 times)"),
            ),
        ];
        for (name, events, not_before, expected) in cases {
            let mut creations = Creations::default();
            for e in &events {
                creations.seen(e, not_before);
            }
            let got = creations.failing("j1").map(|f| f.message.as_str());
            assert_eq!(got, expected, "{name}");
            assert!(creations.failing("other").is_none(), "{name}");
        }
    }

    #[test]
    fn other_events_and_normal_failures_are_not_creation_failures() {
        let mut creations = Creations::default();
        let mut normal = event("j1", "FailedCreate", "2026-01-01T00:00:01Z", 1);
        normal["type"] = json!("Normal");
        creations.seen(&normal, None);
        creations.seen(
            &event("j1", "BackoffLimitExceeded", "2026-01-01T00:00:02Z", 1),
            None,
        );
        assert!(creations.failing("j1").is_none());
    }

    #[test]
    fn events_api_times_are_read() {
        let e = json!({"eventTime": "2026-01-01T00:00:03.123456Z",
            "series": {"count": 5, "lastObservedTime": "2026-01-01T00:01:00.5Z"}});
        assert_eq!(
            event_time(&e),
            Some("2026-01-01T00:01:00.5Z".parse().unwrap())
        );
        assert_eq!(event_count(&e), 5);
        let e = json!({"eventTime": "2026-01-01T00:00:03.123456Z"});
        assert_eq!(
            event_time(&e),
            Some("2026-01-01T00:00:03.123456Z".parse().unwrap())
        );
    }

    #[test]
    fn replica_failure_names_the_replica_set() {
        let rs = json!({"kind": "ReplicaSet", "metadata": {"name": "web-5d8"},
            "status": {"conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                "message": "pods \"web-5d8-\" is forbidden: exceeded quota: small"}]}});
        assert_eq!(
            replica_failure(&rs).unwrap().to_string(),
            "ReplicaSet web-5d8: FailedCreate: pods \"web-5d8-\" is forbidden: exceeded quota: small"
        );
        let cleared = json!({"kind": "ReplicaSet", "status": {"conditions": [
            {"type": "ReplicaFailure", "status": "False"}]}});
        assert_eq!(replica_failure(&cleared), None);
        assert_eq!(replica_failure(&json!({"kind": "ReplicaSet"})), None);
    }

    #[test]
    fn warnings_are_the_latest_per_reason_and_message() {
        let warning = |uid: &str, name: &str, reason: &str, message: &str, time: &str| {
            json!({"type": "Warning", "reason": reason, "message": message, "count": 1,
                "involvedObject": {"kind": "Pod", "name": name, "uid": uid},
                "lastTimestamp": format!("2026-01-01T00:00:{time}Z")})
        };
        let events = vec![
            warning("p1", "web-1", "BackOff", "Back-off pulling image", "03"),
            warning("p2", "web-2", "BackOff", "Back-off pulling image", "05"),
            warning("p1", "web-1", "Failed", "Error: ErrImagePull", "02"),
            warning("x", "other", "Failed", "not ours", "09"),
            json!({"type": "Normal", "reason": "Scheduled", "message": "ok",
                "involvedObject": {"kind": "Pod", "name": "web-1", "uid": "p1"},
                "lastTimestamp": "2026-01-01T00:00:08Z"}),
        ];
        let uids: HashSet<String> = ["p1".to_string(), "p2".to_string()].into();
        assert_eq!(
            warnings_about(&events, &uids, 5),
            [
                "Pod web-1: Failed: Error: ErrImagePull",
                "Pod web-2: BackOff: Back-off pulling image",
            ]
        );
        assert_eq!(
            warnings_about(&events, &uids, 1),
            ["Pod web-2: BackOff: Back-off pulling image"]
        );
        assert!(warnings_about(&events, &HashSet::new(), 5).is_empty());
    }
}
