//! Pods: their health, and the failures that will not heal by waiting (a bad image, a crash
//! loop, no node to run on), so a rollout wait can stop early and name the cause.

use std::fmt;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;

use super::fields::{condition, int, text};
use super::{Health, State, with_detail};

/// Waiting reasons the kubelet reports for problems that need a change to the pod or the
/// image to go away.
const FAIL_FAST_WAITING: [&str; 6] = [
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "InvalidImageName",
    "CreateContainerError",
];

/// Why a pod will not become ready without intervention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodFailure {
    /// The pod's name.
    pub pod: String,
    /// The container at fault; `None` when the pod as a whole is (unschedulable).
    pub container: Option<String>,
    /// The kubelet's or scheduler's reason, e.g. `ImagePullBackOff`.
    pub reason: String,
    pub message: String,
    /// The container's image as the spec names it, so the report can show what failed to run.
    pub image: Option<String>,
}

/// `pod web-7d9 container app (nginx:nope): ImagePullBackOff: Back-off pulling image ...`
impl fmt::Display for PodFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pod {}", self.pod)?;
        if let Some(container) = &self.container {
            write!(f, " container {container}")?;
        }
        if let Some(image) = &self.image {
            write!(f, " ({image})")?;
        }
        write!(f, ": {}", self.reason)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// kstatus pod rules. An unschedulable pod stays in progress here, because whether it has
/// waited too long depends on the clock: [`pod_failure`] decides that.
pub(super) fn pod(object: &Value) -> Health {
    match text(object, "/status/phase") {
        Some("Succeeded") => Health::current("completed"),
        Some("Failed") => {
            let reason = text(object, "/status/reason").unwrap_or("");
            let message = text(object, "/status/message").unwrap_or("");
            let detail = [reason, message]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            Health::failed(with_detail("failed", &detail))
        }
        Some("Running") => {
            if condition(object, "Ready").is_some_and(|c| c.is_true()) {
                return Health::current("ready");
            }
            let crashing = containers_waiting_for(object, "CrashLoopBackOff");
            if !crashing.is_empty() {
                return Health::failed(format!("crash looping: {}", crashing.join(", ")));
            }
            let not_ready = containers(object, "/status/containerStatuses")
                .filter(|c| c.get("ready").and_then(Value::as_bool) != Some(true))
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect::<Vec<_>>();
            if not_ready.is_empty() {
                Health::in_progress("running, not ready")
            } else {
                Health::in_progress(format!("running, not ready: {}", not_ready.join(", ")))
            }
        }
        Some("Pending") => {
            if let Some(c) = unschedulable(object) {
                return Health::in_progress(with_detail("unschedulable", c.message));
            }
            match first_waiting(object) {
                Some((name, reason)) => Health::in_progress(format!("pending: {name} {reason}")),
                None => Health::in_progress("pending"),
            }
        }
        Some(phase) => Health::new(State::Unknown, format!("phase {phase}")),
        None => Health::in_progress("waiting for the pod to be observed"),
    }
}

/// The first reason this pod will not become ready by waiting, or `None`.
///
/// Container problems are checked init containers first, since they block the rest. A pod
/// that is unschedulable counts only once it has been so for `grace` as of `now`: the
/// scheduler retries, and the cluster autoscaler may add a node.
pub fn pod_failure(pod: &Value, now: Timestamp, grace: Duration) -> Option<PodFailure> {
    // Being deleted, it is on its way out; its troubles are no longer the rollout's.
    if text(pod, "/metadata/deletionTimestamp").is_some() {
        return None;
    }
    let name = text(pod, "/metadata/name").unwrap_or("").to_owned();
    let never_restarts = text(pod, "/spec/restartPolicy") == Some("Never");

    let groups = [
        (
            "/status/initContainerStatuses",
            "/spec/initContainers",
            true,
        ),
        ("/status/containerStatuses", "/spec/containers", false),
    ];
    for (statuses, specs, init) in groups {
        for status in containers(pod, statuses) {
            let Some(container) = status.get("name").and_then(Value::as_str) else {
                continue;
            };
            let spec = containers(pod, specs)
                .find(|c| c.get("name").and_then(Value::as_str) == Some(container));
            let image = spec
                .and_then(|c| c.get("image"))
                .or_else(|| status.get("image"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            let failure = |reason: &str, message: String| PodFailure {
                pod: name.clone(),
                container: Some(container.to_owned()),
                reason: reason.to_owned(),
                message,
                image: image.clone(),
            };

            let reason = text(status, "/state/waiting/reason");
            if let Some(reason) = reason.filter(|r| FAIL_FAST_WAITING.contains(r)) {
                let mut message = text(status, "/state/waiting/message")
                    .unwrap_or("")
                    .to_owned();
                // The back-off message says nothing about why the container died.
                if reason == "CrashLoopBackOff"
                    && let Some(exit) = last_exit(status)
                {
                    if !message.is_empty() {
                        message.push_str("; ");
                    }
                    message.push_str(&exit);
                }
                return Some(failure(reason, message));
            }

            // A sidecar (an init container that restarts always) is restarted even in a
            // pod that never restarts.
            let sidecar = spec.and_then(|c| text(c, "/restartPolicy")) == Some("Always");
            if init && never_restarts && !sidecar {
                let code = int(status, "/state/terminated/exitCode").unwrap_or(0);
                if code != 0 {
                    let reason = text(status, "/state/terminated/reason").unwrap_or("Error");
                    let message = with_detail(
                        &format!("init container exited with code {code}"),
                        text(status, "/state/terminated/message").unwrap_or(""),
                    );
                    return Some(failure(reason, message));
                }
            }
        }
    }

    let scheduled = unschedulable(pod)?;
    let since = scheduled
        .last_transition
        .or_else(|| text(pod, "/metadata/creationTimestamp"))
        .and_then(|t| t.parse::<Timestamp>().ok())?;
    let grace = SignedDuration::try_from(grace).unwrap_or(SignedDuration::MAX);
    (now.duration_since(since) >= grace).then(|| PodFailure {
        pod: name,
        container: None,
        reason: scheduled.reason.to_owned(),
        message: scheduled.message.to_owned(),
        image: None,
    })
}

fn unschedulable(pod: &Value) -> Option<super::fields::Condition<'_>> {
    condition(pod, "PodScheduled").filter(|c| c.is_false() && c.reason == "Unschedulable")
}

fn containers<'a>(pod: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn containers_waiting_for<'a>(pod: &'a Value, reason: &str) -> Vec<&'a str> {
    containers(pod, "/status/containerStatuses")
        .filter(|c| text(c, "/state/waiting/reason") == Some(reason))
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect()
}

/// The first container, init containers first, waiting with a reason.
fn first_waiting(pod: &Value) -> Option<(&str, &str)> {
    containers(pod, "/status/initContainerStatuses")
        .chain(containers(pod, "/status/containerStatuses"))
        .find_map(|c| {
            let name = c.get("name").and_then(Value::as_str)?;
            Some((name, text(c, "/state/waiting/reason")?))
        })
}

/// How the previous run of a crash-looping container ended, e.g. `last exit code 1 (Error)`.
fn last_exit(status: &Value) -> Option<String> {
    let code = int(status, "/lastState/terminated/exitCode")?;
    Some(match text(status, "/lastState/terminated/reason") {
        Some(reason) => format!("last exit code {code} ({reason})"),
        None => format!("last exit code {code}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod_with(status: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "qual", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {
                "initContainers": [{"name": "migrate", "image": "shop/migrate:1.4"}],
                "containers": [{"name": "app", "image": "shop/web:1.4"}, {"name": "proxy", "image": "envoy:1.30"}]
            },
            "status": status,
        })
    }

    #[test]
    fn pod_health() {
        let cases: Vec<(&str, Value, State, &str)> = vec![
            (
                "no status",
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "test", "generation": 1}}),
                State::InProgress,
                "waiting for the pod to be observed",
            ),
            (
                "ready",
                pod_with(
                    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
                ),
                State::Current,
                "ready",
            ),
            (
                "completed",
                pod_with(
                    json!({"phase": "Succeeded", "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]}),
                ),
                State::Current,
                "completed",
            ),
            (
                "completed, not successfully",
                pod_with(
                    json!({"phase": "Failed", "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]}),
                ),
                State::Failed,
                "failed",
            ),
            (
                "evicted",
                pod_with(
                    json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}),
                ),
                State::Failed,
                "failed: Evicted: The node was low on resource: memory.",
            ),
            (
                "being scheduled",
                pod_with(
                    json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                    "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient cpu."}]}),
                ),
                State::InProgress,
                "unschedulable: 0/3 nodes are available: 3 Insufficient cpu.",
            ),
            (
                "crash looping",
                pod_with(
                    json!({"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
                    "containerStatuses": [{"name": "nginx", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
                ),
                State::Failed,
                "crash looping: nginx",
            ),
            (
                "running, not ready",
                pod_with(
                    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [{"name": "app", "ready": false}, {"name": "proxy", "ready": true}]}),
                ),
                State::InProgress,
                "running, not ready: app",
            ),
            (
                "pending on an image pull",
                pod_with(json!({"phase": "Pending", "containerStatuses": [
                    {"name": "app", "state": {"waiting": {"reason": "ContainerCreating"}}}]})),
                State::InProgress,
                "pending: app ContainerCreating",
            ),
            (
                "pending",
                pod_with(json!({"phase": "Pending"})),
                State::InProgress,
                "pending",
            ),
            (
                "node lost",
                pod_with(json!({"phase": "Unknown"})),
                State::Unknown,
                "phase Unknown",
            ),
        ];
        crate::health::testing::check(cases);
    }

    fn waiting(container: &str, reason: &str, message: &str) -> Value {
        json!({"name": container, "ready": false, "state": {"waiting": {"reason": reason, "message": message}}})
    }

    fn failure(container: &str, reason: &str, message: &str, image: &str) -> Option<PodFailure> {
        Some(PodFailure {
            pod: "web-1".into(),
            container: Some(container.into()),
            reason: reason.into(),
            message: message.into(),
            image: Some(image.into()),
        })
    }

    fn unschedulable_since(time: Option<&str>) -> Value {
        let mut condition = json!({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient memory."});
        if let Some(time) = time {
            condition["lastTransitionTime"] = json!(time);
        }
        pod_with(json!({"phase": "Pending", "conditions": [condition]}))
    }

    #[test]
    fn pod_failures() {
        let mut never = pod_with(json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "migrate", "state": {"terminated": {"exitCode": 3, "reason": "Error", "message": "relation exists"}}}]}));
        never["spec"]["restartPolicy"] = json!("Never");
        let always = {
            let mut pod = never.clone();
            pod["spec"]["restartPolicy"] = json!("Always");
            pod
        };
        let sidecar = {
            let mut pod = never.clone();
            pod["spec"]["initContainers"][0]["restartPolicy"] = json!("Always");
            pod
        };
        let succeeded_init = {
            let mut pod = never.clone();
            pod["status"]["initContainerStatuses"][0]["state"]["terminated"] =
                json!({"exitCode": 0, "reason": "Completed"});
            pod
        };
        let terminating = {
            let mut pod = pod_with(
                json!({"phase": "Running", "containerStatuses": [waiting("app", "ErrImagePull", "")]}),
            );
            pod["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:05:00Z");
            pod
        };
        let image_from_status = pod_with(json!({"phase": "Pending", "containerStatuses": [
            {"name": "debug", "image": "busybox:1.36", "state": {"waiting": {"reason": "InvalidImageName"}}}]}));

        let now: Timestamp = "2024-05-01T10:10:00Z".parse().unwrap();
        let grace = Duration::from_secs(60);
        let unschedulable = Some(PodFailure {
            pod: "web-1".into(),
            container: None,
            reason: "Unschedulable".into(),
            message: "0/3 nodes are available: 3 Insufficient memory.".into(),
            image: None,
        });

        let cases: Vec<(&str, Value, Option<PodFailure>)> = vec![
            (
                "image pull back-off",
                pod_with(json!({"phase": "Pending", "containerStatuses": [
                    {"name": "app", "ready": true, "state": {"running": {}}},
                    waiting("proxy", "ImagePullBackOff", "Back-off pulling image \"envoy:1.30\"")]})),
                failure(
                    "proxy",
                    "ImagePullBackOff",
                    "Back-off pulling image \"envoy:1.30\"",
                    "envoy:1.30",
                ),
            ),
            (
                "image pull error",
                pod_with(
                    json!({"phase": "Pending", "containerStatuses": [waiting("app", "ErrImagePull", "manifest unknown")]}),
                ),
                failure("app", "ErrImagePull", "manifest unknown", "shop/web:1.4"),
            ),
            (
                "crash loop, with the last exit",
                pod_with(
                    json!({"phase": "Running", "containerStatuses": [{"name": "app",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
                ),
                failure(
                    "app",
                    "CrashLoopBackOff",
                    "back-off 40s restarting failed container; last exit code 1 (Error)",
                    "shop/web:1.4",
                ),
            ),
            (
                "config error",
                pod_with(json!({"phase": "Pending", "containerStatuses": [
                    waiting("app", "CreateContainerConfigError", "secret \"db\" not found")]})),
                failure(
                    "app",
                    "CreateContainerConfigError",
                    "secret \"db\" not found",
                    "shop/web:1.4",
                ),
            ),
            (
                "invalid image name, image from the status",
                image_from_status,
                failure("debug", "InvalidImageName", "", "busybox:1.36"),
            ),
            (
                "create error",
                pod_with(json!({"phase": "Pending", "containerStatuses": [
                    waiting("app", "CreateContainerError", "context deadline exceeded")]})),
                failure(
                    "app",
                    "CreateContainerError",
                    "context deadline exceeded",
                    "shop/web:1.4",
                ),
            ),
            (
                "init container first",
                pod_with(json!({"phase": "Pending",
                    "initContainerStatuses": [waiting("migrate", "ImagePullBackOff", "")],
                    "containerStatuses": [waiting("app", "CrashLoopBackOff", "")]})),
                failure("migrate", "ImagePullBackOff", "", "shop/migrate:1.4"),
            ),
            (
                "init container failed, never restarted",
                never,
                failure(
                    "migrate",
                    "Error",
                    "init container exited with code 3: relation exists",
                    "shop/migrate:1.4",
                ),
            ),
            ("init container failed, will restart", always, None),
            ("sidecar init container restarts anyway", sidecar, None),
            ("init container succeeded", succeeded_init, None),
            (
                "creating containers",
                pod_with(
                    json!({"phase": "Pending", "containerStatuses": [waiting("app", "ContainerCreating", "")]}),
                ),
                None,
            ),
            (
                "healthy",
                pod_with(
                    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                    "containerStatuses": [{"name": "app", "ready": true, "restartCount": 2, "state": {"running": {}},
                        "lastState": {"terminated": {"exitCode": 1}}}]}),
                ),
                None,
            ),
            (
                "no status",
                json!({"kind": "Pod", "metadata": {"name": "web-1"}}),
                None,
            ),
            ("terminating", terminating, None),
            (
                "unschedulable within the grace period",
                unschedulable_since(Some("2024-05-01T10:09:30Z")),
                None,
            ),
            (
                "unschedulable past the grace period",
                unschedulable_since(Some("2024-05-01T10:08:00Z")),
                unschedulable.clone(),
            ),
            (
                "unschedulable exactly the grace period",
                unschedulable_since(Some("2024-05-01T10:09:00Z")),
                unschedulable.clone(),
            ),
            (
                "unschedulable since creation",
                unschedulable_since(None),
                unschedulable,
            ),
            (
                "unschedulable since an unreadable time",
                unschedulable_since(Some("yesterday")),
                None,
            ),
        ];
        for (name, pod, expected) in cases {
            assert_eq!(pod_failure(&pod, now, grace), expected, "{name}");
        }
    }

    #[test]
    fn failure_reads_as_a_sentence() {
        let f = failure("app", "ErrImagePull", "manifest unknown", "shop/web:1.4").unwrap();
        assert_eq!(
            f.to_string(),
            "pod web-1 container app (shop/web:1.4): ErrImagePull: manifest unknown"
        );
        let f = PodFailure {
            pod: "web-1".into(),
            container: None,
            reason: "Unschedulable".into(),
            message: String::new(),
            image: None,
        };
        assert_eq!(f.to_string(), "pod web-1: Unschedulable");
    }
}
