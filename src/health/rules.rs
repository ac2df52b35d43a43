//! Kind-specific rules for the built-in workloads and the other built-in kinds kstatus knows,
//! read from the status fields their controllers write.

use serde_json::Value;

use super::fields::{condition, int, text};
use super::{Health, count, with_detail};

/// `ProgressDeadlineExceeded` fails; otherwise every replica must be updated, available and
/// ready, and the controller must report the new ReplicaSet available.
pub(super) fn deployment(object: &Value) -> Health {
    let progressing = condition(object, "Progressing");
    if let Some(p) = progressing.filter(|p| p.reason == "ProgressDeadlineExceeded") {
        return Health::failed(with_detail("progress deadline exceeded", p.message));
    }

    let spec = int(object, "/spec/replicas").unwrap_or(1);
    let replicas = int(object, "/status/replicas").unwrap_or(0);
    let updated = int(object, "/status/updatedReplicas").unwrap_or(0);
    let ready = int(object, "/status/readyReplicas").unwrap_or(0);
    let available = int(object, "/status/availableReplicas").unwrap_or(0);

    // Scaled to zero there is nothing to become available; the controller having seen the
    // current spec is all there is to wait for.
    if spec == 0 && replicas == 0 && int(object, "/status/observedGeneration").is_some() {
        return Health::current("scaled to 0 replicas");
    }
    if spec > replicas {
        return Health::in_progress(format!("{replicas}/{spec} replicas created"));
    }
    if spec > updated {
        return Health::in_progress(format!("{updated}/{spec} replicas updated"));
    }
    if replicas > spec {
        return Health::in_progress(pending_termination(replicas - spec));
    }
    if updated > available {
        return Health::in_progress(format!("{available}/{updated} replicas available"));
    }
    if spec > ready {
        return Health::in_progress(format!("{ready}/{spec} replicas ready"));
    }

    // Without a progress deadline the controller never writes `Progressing`, so there is
    // nothing to wait for there.
    let deadline = int(object, "/spec/progressDeadlineSeconds").unwrap_or(i64::from(i32::MAX));
    let new_replica_set_available = deadline == i64::from(i32::MAX)
        || progressing.is_some_and(|p| p.is_true() && p.reason == "NewReplicaSetAvailable");
    if !new_replica_set_available {
        return Health::in_progress("waiting for the new ReplicaSet to become available");
    }
    match condition(object, "Available") {
        Some(a) if a.is_true() => Health::current(format!("{ready}/{spec} replicas ready")),
        Some(a) => Health::in_progress(with_detail("not available", a.message)),
        None => Health::in_progress("not available"),
    }
}

/// StatefulSets publish no conditions: replica counts and revisions tell the whole story.
pub(super) fn stateful_set(object: &Value) -> Health {
    let spec = int(object, "/spec/replicas").unwrap_or(1);
    let replicas = int(object, "/status/replicas").unwrap_or(0);
    let ready = int(object, "/status/readyReplicas").unwrap_or(0);
    let current = int(object, "/status/currentReplicas").unwrap_or(0);
    let updated = int(object, "/status/updatedReplicas").unwrap_or(0);

    if spec > replicas {
        return Health::in_progress(format!("{replicas}/{spec} replicas created"));
    }
    if spec > ready {
        return Health::in_progress(format!("{ready}/{spec} replicas ready"));
    }
    if replicas > spec {
        return Health::in_progress(pending_termination(replicas - spec));
    }
    // With OnDelete, pods move to a new revision only when someone deletes them: waiting for
    // the revision would never end.
    if text(object, "/spec/updateStrategy/type") == Some("OnDelete") {
        return Health::current(format!(
            "{ready}/{spec} replicas ready (OnDelete: pods update when deleted)"
        ));
    }
    // Pods below the partition keep the old revision on purpose.
    if let Some(partition) = int(object, "/spec/updateStrategy/rollingUpdate/partition") {
        let target = spec - partition;
        if updated < target {
            return Health::in_progress(format!(
                "{updated}/{target} replicas updated (partition {partition})"
            ));
        }
        return Health::current(format!(
            "{ready}/{spec} replicas ready, {updated} updated (partition {partition})"
        ));
    }
    if spec > current {
        return Health::in_progress(format!("{current}/{spec} replicas at the current revision"));
    }
    let current_revision = text(object, "/status/currentRevision").unwrap_or("");
    let update_revision = text(object, "/status/updateRevision").unwrap_or("");
    if current_revision != update_revision {
        return Health::in_progress(format!(
            "waiting for revision {update_revision} to become current"
        ));
    }
    Health::current(format!("{ready}/{spec} replicas ready"))
}

/// A DaemonSet's controller always writes the observed generation, so its absence means the
/// controller has not looked yet.
pub(super) fn daemon_set(object: &Value) -> Health {
    let Some(generation) = int(object, "/metadata/generation") else {
        return Health::in_progress("metadata.generation not set yet");
    };
    if int(object, "/status/observedGeneration").is_none() {
        return Health::in_progress(format!(
            "waiting for the controller to observe generation {generation}"
        ));
    }
    let Some(desired) = int(object, "/status/desiredNumberScheduled") else {
        return Health::in_progress("waiting for the controller to count the nodes to run on");
    };
    let scheduled = int(object, "/status/currentNumberScheduled").unwrap_or(0);
    let updated = int(object, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int(object, "/status/numberAvailable").unwrap_or(0);
    let ready = int(object, "/status/numberReady").unwrap_or(0);

    if desired > scheduled {
        return Health::in_progress(format!("{scheduled}/{desired} pods scheduled"));
    }
    if desired > updated {
        return Health::in_progress(format!("{updated}/{desired} pods updated"));
    }
    if desired > available {
        return Health::in_progress(format!("{available}/{desired} pods available"));
    }
    if desired > ready {
        return Health::in_progress(format!("{ready}/{desired} pods ready"));
    }
    Health::current(format!("{ready}/{desired} pods ready"))
}

/// `ReplicaFailure` (e.g. a quota) may clear by itself, so it is progress, not failure.
pub(super) fn replica_set(object: &Value) -> Health {
    if let Some(failure) = condition(object, "ReplicaFailure").filter(|c| c.is_true()) {
        return Health::in_progress(with_detail("replica failure", failure.explanation()));
    }
    let spec = int(object, "/spec/replicas").unwrap_or(1);
    let replicas = int(object, "/status/replicas").unwrap_or(0);
    let labeled = int(object, "/status/fullyLabeledReplicas").unwrap_or(0);
    let available = int(object, "/status/availableReplicas").unwrap_or(0);
    let ready = int(object, "/status/readyReplicas").unwrap_or(0);

    if spec > labeled {
        return Health::in_progress(format!("{labeled}/{spec} replicas fully labeled"));
    }
    if spec > available {
        return Health::in_progress(format!("{available}/{spec} replicas available"));
    }
    if spec > ready {
        return Health::in_progress(format!("{ready}/{spec} replicas ready"));
    }
    if replicas > spec {
        return Health::in_progress(pending_termination(replicas - spec));
    }
    Health::current(format!("{ready}/{spec} replicas ready"))
}

/// A Job is current once it completed: a deploy that ships a Job waits for its result.
pub(super) fn job(object: &Value) -> Health {
    let parallelism = int(object, "/spec/parallelism").unwrap_or(1);
    let completions = int(object, "/spec/completions").unwrap_or(parallelism);
    let succeeded = int(object, "/status/succeeded").unwrap_or(0);
    let active = int(object, "/status/active").unwrap_or(0);
    let failed = int(object, "/status/failed").unwrap_or(0);

    // `FailureTarget` comes first: the Job is bound to fail while its pods still terminate.
    for kind in ["Failed", "FailureTarget"] {
        if let Some(c) = condition(object, kind).filter(|c| c.is_true()) {
            return Health::failed(format!(
                "{} ({} failed)",
                with_detail("failed", c.explanation()),
                count(failed, "pod")
            ));
        }
    }
    if condition(object, "Complete").is_some_and(|c| c.is_true()) {
        return Health::current(format!("complete: {succeeded}/{completions} succeeded"));
    }
    // A suspended Job does nothing until someone resumes it; waiting would never end.
    if condition(object, "Suspended").is_some_and(|c| c.is_true()) {
        return Health::current("suspended");
    }
    if text(object, "/status/startTime").is_none() {
        return Health::in_progress("not started");
    }
    Health::in_progress(format!(
        "{succeeded}/{completions} succeeded, {active} active, {failed} failed"
    ))
}

/// `Lost` means the bound volume is gone; nothing will bring it back.
pub(super) fn persistent_volume_claim(object: &Value) -> Health {
    match text(object, "/status/phase") {
        Some("Bound") => Health::current("bound"),
        Some("Lost") => Health::failed("lost: the bound volume no longer exists"),
        Some(phase) => Health::in_progress(format!("not bound ({phase})")),
        None => Health::in_progress("not bound"),
    }
}

/// Only a LoadBalancer has something to wait for: the address its provider hands out.
pub(super) fn service(object: &Value) -> Health {
    if text(object, "/spec/type") != Some("LoadBalancer") {
        return Health::current("ready");
    }
    let addresses: Vec<&str> = object
        .pointer("/status/loadBalancer/ingress")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i.get("ip")
                .or_else(|| i.get("hostname"))
                .and_then(Value::as_str)
        })
        .collect();
    if addresses.is_empty() {
        Health::in_progress("waiting for a load balancer address")
    } else {
        Health::current(format!("load balancer at {}", addresses.join(", ")))
    }
}

/// Names that clash fail; `Established=False` fails unless the API server is still installing.
pub(super) fn custom_resource_definition(object: &Value) -> Health {
    if let Some(names) = condition(object, "NamesAccepted").filter(|c| c.is_false()) {
        return Health::failed(with_detail("names not accepted", names.explanation()));
    }
    match condition(object, "Established") {
        Some(c) if c.is_true() => Health::current("established"),
        Some(c) if c.is_false() && c.reason != "Installing" => {
            Health::failed(with_detail("not established", c.explanation()))
        }
        _ => Health::in_progress("waiting to be established"),
    }
}

/// The disruption controller must have seen the budget and found enough healthy pods.
pub(super) fn pod_disruption_budget(object: &Value) -> Health {
    // A lagging observed generation was already caught by the generic rules.
    if int(object, "/status/observedGeneration").is_none() {
        return Health::in_progress("waiting for the disruption controller");
    }
    let healthy = int(object, "/status/currentHealthy").unwrap_or(0);
    let desired = int(object, "/status/desiredHealthy").unwrap_or(0);
    if healthy < desired {
        return Health::in_progress(format!("{healthy}/{desired} healthy pods"));
    }
    let allowed = int(object, "/status/disruptionsAllowed").unwrap_or(0);
    Health::current(format!(
        "{} ({desired} required), {} allowed",
        count(healthy, "healthy pod"),
        count(allowed, "disruption")
    ))
}

fn pending_termination(extra: i64) -> String {
    format!("{} pending termination", count(extra, "extra replica"))
}

#[cfg(test)]
mod tests {
    use super::super::State;
    use serde_json::{Value, json};

    use crate::health::testing::check;

    fn object(api_version: &str, kind: &str, spec: Value, status: Value) -> Value {
        let mut obj = json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": "test", "namespace": "qual", "generation": 1},
        });
        if !spec.is_null() {
            obj["spec"] = spec;
        }
        if !status.is_null() {
            obj["status"] = status;
        }
        obj
    }

    fn deploy(spec: Value, status: Value) -> Value {
        object("apps/v1", "Deployment", spec, status)
    }

    #[test]
    fn deployment() {
        let available = json!([
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            {"type": "Available", "status": "True"}
        ]);
        let counts = |replicas: i64, updated: i64, ready: i64, available_: i64| {
            json!({"observedGeneration": 1, "replicas": replicas, "updatedReplicas": updated,
                   "readyReplicas": ready, "availableReplicas": available_,
                   "conditions": available.clone()})
        };
        check(vec![
            (
                "no status",
                deploy(Value::Null, Value::Null),
                State::InProgress,
                "0/1 replicas created",
            ),
            (
                "ok",
                deploy(Value::Null, counts(1, 1, 1, 1)),
                State::Current,
                "1/1 replicas ready",
            ),
            (
                "not progressing",
                deploy(
                    json!({"progressDeadlineSeconds": 45}),
                    json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                           "readyReplicas": 1, "availableReplicas": 1, "conditions": [
                        {"type": "Progressing", "status": "False", "reason": "Some reason"},
                        {"type": "Available", "status": "True"}
                    ]}),
                ),
                State::InProgress,
                "waiting for the new ReplicaSet to become available",
            ),
            (
                "no progress deadline",
                deploy(
                    Value::Null,
                    json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                           "readyReplicas": 1, "availableReplicas": 1,
                           "conditions": [{"type": "Available", "status": "True"}]}),
                ),
                State::Current,
                "1/1 replicas ready",
            ),
            (
                "not available",
                deploy(
                    Value::Null,
                    json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                           "readyReplicas": 1, "availableReplicas": 1, "conditions": [
                        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                        {"type": "Available", "status": "False", "message": "Deployment does not have minimum availability."}
                    ]}),
                ),
                State::InProgress,
                "not available: Deployment does not have minimum availability.",
            ),
            (
                "progress deadline exceeded",
                deploy(
                    json!({"replicas": 3, "progressDeadlineSeconds": 600}),
                    json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 1,
                           "readyReplicas": 2, "availableReplicas": 2, "conditions": [
                        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                         "message": "ReplicaSet \"web-5d\" has timed out progressing."}
                    ]}),
                ),
                State::Failed,
                "progress deadline exceeded: ReplicaSet \"web-5d\" has timed out progressing.",
            ),
            (
                "too few updated",
                deploy(json!({"replicas": 3}), counts(3, 2, 3, 3)),
                State::InProgress,
                "2/3 replicas updated",
            ),
            (
                "old pods remain",
                deploy(json!({"replicas": 3}), counts(4, 3, 3, 3)),
                State::InProgress,
                "1 extra replica pending termination",
            ),
            (
                "too few available",
                deploy(json!({"replicas": 3}), counts(3, 3, 3, 1)),
                State::InProgress,
                "1/3 replicas available",
            ),
            (
                "too few ready",
                deploy(json!({"replicas": 3}), counts(3, 3, 2, 3)),
                State::InProgress,
                "2/3 replicas ready",
            ),
            (
                "scaled to zero",
                deploy(
                    json!({"replicas": 0, "progressDeadlineSeconds": 600}),
                    json!({"observedGeneration": 1}),
                ),
                State::Current,
                "scaled to 0 replicas",
            ),
            (
                "scaled to zero, pods still terminating",
                deploy(
                    json!({"replicas": 0}),
                    json!({"observedGeneration": 1, "replicas": 2}),
                ),
                State::InProgress,
                "2 extra replicas pending termination",
            ),
            (
                "scaled to zero, never observed",
                deploy(json!({"replicas": 0}), Value::Null),
                State::InProgress,
                "not available",
            ),
            (
                "legacy extensions group",
                object("extensions/v1beta1", "Deployment", Value::Null, Value::Null),
                State::InProgress,
                "0/1 replicas created",
            ),
        ]);
    }

    fn sts(spec: Value, status: Value) -> Value {
        object("apps/v1", "StatefulSet", spec, status)
    }

    #[test]
    fn stateful_set() {
        let four = json!({"replicas": 4});
        check(vec![
            (
                "no status",
                sts(Value::Null, Value::Null),
                State::InProgress,
                "0/1 replicas created",
            ),
            (
                "bad status",
                sts(
                    Value::Null,
                    json!({"observedGeneration": 1, "currentReplicas": 1}),
                ),
                State::InProgress,
                "0/1 replicas created",
            ),
            (
                "ok",
                sts(
                    four.clone(),
                    json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 4}),
                ),
                State::Current,
                "4/4 replicas ready",
            ),
            (
                "less ready",
                sts(
                    four.clone(),
                    json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 2, "replicas": 4}),
                ),
                State::InProgress,
                "2/4 replicas ready",
            ),
            (
                "less current",
                sts(
                    four.clone(),
                    json!({"observedGeneration": 1, "currentReplicas": 2, "readyReplicas": 4, "replicas": 4}),
                ),
                State::InProgress,
                "2/4 replicas at the current revision",
            ),
            (
                "extra pods",
                sts(
                    four.clone(),
                    json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 8}),
                ),
                State::InProgress,
                "4 extra replicas pending termination",
            ),
            (
                "revision mismatch",
                sts(
                    four.clone(),
                    json!({"observedGeneration": 1, "currentReplicas": 4, "readyReplicas": 4, "replicas": 4,
                                         "currentRevision": "web-1", "updateRevision": "web-2"}),
                ),
                State::InProgress,
                "waiting for revision web-2 to become current",
            ),
            (
                "on delete ignores revisions",
                sts(
                    json!({"replicas": 2, "updateStrategy": {"type": "OnDelete"}}),
                    json!({"observedGeneration": 1, "readyReplicas": 2, "replicas": 2,
                           "currentRevision": "web-1", "updateRevision": "web-2"}),
                ),
                State::Current,
                "2/2 replicas ready (OnDelete: pods update when deleted)",
            ),
            (
                "on delete still waits for ready pods",
                sts(
                    json!({"replicas": 2, "updateStrategy": {"type": "OnDelete"}}),
                    json!({"observedGeneration": 1, "readyReplicas": 1, "replicas": 2}),
                ),
                State::InProgress,
                "1/2 replicas ready",
            ),
            (
                "partition rolling out",
                sts(
                    json!({"replicas": 4, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
                    json!({"observedGeneration": 1, "readyReplicas": 4, "replicas": 4, "currentReplicas": 3, "updatedReplicas": 1,
                           "currentRevision": "web-1", "updateRevision": "web-2"}),
                ),
                State::InProgress,
                "1/2 replicas updated (partition 2)",
            ),
            (
                "partition rolled out",
                sts(
                    json!({"replicas": 4, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}}),
                    json!({"observedGeneration": 1, "readyReplicas": 4, "replicas": 4, "currentReplicas": 2, "updatedReplicas": 2,
                           "currentRevision": "web-1", "updateRevision": "web-2"}),
                ),
                State::Current,
                "4/4 replicas ready, 2 updated (partition 2)",
            ),
            (
                "defaulted partition 0 waits for all updated",
                sts(
                    json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}),
                    json!({"observedGeneration": 1, "readyReplicas": 3, "replicas": 3, "updatedReplicas": 2}),
                ),
                State::InProgress,
                "2/3 replicas updated (partition 0)",
            ),
        ]);
    }

    fn ds(status: Value) -> Value {
        object("apps/v1", "DaemonSet", Value::Null, status)
    }

    #[test]
    fn daemon_set() {
        let numbers = |scheduled: i64, updated: i64, available: i64, ready: i64| {
            json!({"observedGeneration": 1, "desiredNumberScheduled": 4, "currentNumberScheduled": scheduled,
                   "updatedNumberScheduled": updated, "numberAvailable": available, "numberReady": ready})
        };
        let mut different_generation = ds(numbers(4, 4, 4, 4));
        different_generation["metadata"]["generation"] = json!(2);
        let mut no_generation = ds(numbers(4, 4, 4, 4));
        no_generation["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("generation");
        check(vec![
            (
                "no status",
                ds(Value::Null),
                State::InProgress,
                "waiting for the controller to observe generation 1",
            ),
            (
                "bad status",
                ds(json!({"observedGeneration": 1, "currentReplicas": 1})),
                State::InProgress,
                "waiting for the controller to count the nodes to run on",
            ),
            (
                "ok",
                ds(numbers(4, 4, 4, 4)),
                State::Current,
                "4/4 pods ready",
            ),
            (
                "less ready",
                ds(numbers(4, 4, 4, 2)),
                State::InProgress,
                "2/4 pods ready",
            ),
            (
                "less available",
                ds(numbers(4, 4, 2, 4)),
                State::InProgress,
                "2/4 pods available",
            ),
            (
                "less updated",
                ds(numbers(4, 3, 4, 4)),
                State::InProgress,
                "3/4 pods updated",
            ),
            (
                "less scheduled",
                ds(numbers(1, 4, 4, 4)),
                State::InProgress,
                "1/4 pods scheduled",
            ),
            (
                "different generation",
                different_generation,
                State::InProgress,
                "waiting for the controller to observe generation 2 (observed 1)",
            ),
            (
                "no generation",
                no_generation,
                State::InProgress,
                "metadata.generation not set yet",
            ),
            (
                "no nodes to run on",
                ds(json!({"observedGeneration": 1, "desiredNumberScheduled": 0})),
                State::Current,
                "0/0 pods ready",
            ),
        ]);
    }

    fn rs(spec: Value, status: Value) -> Value {
        object("apps/v1", "ReplicaSet", spec, status)
    }

    #[test]
    fn replica_set() {
        let counts = |replicas: i64, labeled: i64, available: i64, ready: i64| {
            json!({"observedGeneration": 1, "replicas": replicas, "fullyLabeledReplicas": labeled,
                   "availableReplicas": available, "readyReplicas": ready})
        };
        let mut ok_with_condition = counts(2, 2, 2, 2);
        ok_with_condition["conditions"] = json!([{"type": "ReplicaFailure", "status": "False"}]);
        let mut failure = counts(4, 4, 4, 4);
        failure["conditions"] = json!([{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
            "message": "pods \"web-x\" is forbidden: exceeded quota"}]);
        check(vec![
            (
                "no status",
                rs(Value::Null, Value::Null),
                State::InProgress,
                "0/1 replicas fully labeled",
            ),
            (
                "ok with condition",
                rs(json!({"replicas": 2}), ok_with_condition),
                State::Current,
                "2/2 replicas ready",
            ),
            (
                "ok",
                rs(json!({"replicas": 2}), counts(2, 2, 2, 2)),
                State::Current,
                "2/2 replicas ready",
            ),
            (
                "less ready",
                rs(json!({"replicas": 4}), counts(4, 4, 4, 2)),
                State::InProgress,
                "2/4 replicas ready",
            ),
            (
                "less available",
                rs(json!({"replicas": 4}), counts(4, 4, 2, 4)),
                State::InProgress,
                "2/4 replicas available",
            ),
            (
                "replica failure",
                rs(json!({"replicas": 4}), failure),
                State::InProgress,
                "replica failure: pods \"web-x\" is forbidden: exceeded quota",
            ),
            (
                "extra pods",
                rs(json!({"replicas": 2}), counts(3, 3, 3, 3)),
                State::InProgress,
                "1 extra replica pending termination",
            ),
        ]);
    }

    fn batch_job(spec: Value, status: Value) -> Value {
        object("batch/v1", "Job", spec, status)
    }

    #[test]
    fn a_finished_job_keeps_its_result_while_it_is_removed() {
        let deleting = |status: Value| {
            let mut job = batch_job(json!({"ttlSecondsAfterFinished": 0}), status);
            job["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
            job["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
            job
        };
        check(vec![
            (
                "complete, removed by its TTL",
                deleting(
                    json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
                ),
                State::Current,
                "complete: 1/1 succeeded",
            ),
            (
                "failed, removed by its TTL",
                deleting(json!({"failed": 1, "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]})),
                State::Failed,
                "failed: BackoffLimitExceeded (1 pod failed)",
            ),
            (
                "deleted before it finished",
                deleting(json!({"active": 1})),
                State::Terminating,
                "being deleted, waiting for finalizers: foregroundDeletion",
            ),
        ]);
    }

    #[test]
    fn job() {
        check(vec![
            (
                "no status",
                batch_job(Value::Null, Value::Null),
                State::InProgress,
                "not started",
            ),
            (
                "complete",
                batch_job(
                    Value::Null,
                    json!({"succeeded": 1, "active": 0, "conditions": [{"type": "Complete", "status": "True"}]}),
                ),
                State::Current,
                "complete: 1/1 succeeded",
            ),
            (
                "failed",
                batch_job(
                    json!({"completions": 4}),
                    json!({"succeeded": 3, "failed": 1, "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit"}]}),
                ),
                State::Failed,
                "failed: Job has reached the specified backoff limit (1 pod failed)",
            ),
            (
                "failure target",
                batch_job(
                    Value::Null,
                    json!({"failed": 2, "conditions": [
                    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"}]}),
                ),
                State::Failed,
                "failed: BackoffLimitExceeded (2 pods failed)",
            ),
            (
                "running",
                batch_job(
                    json!({"completions": 10, "parallelism": 2}),
                    json!({"startTime": "2019-06-04T01:17:13Z",
                    "succeeded": 3, "failed": 1, "active": 2, "conditions": [
                    {"type": "Failed", "status": "False"}, {"type": "Complete", "status": "False"}]}),
                ),
                State::InProgress,
                "3/10 succeeded, 2 active, 1 failed",
            ),
            (
                "suspended",
                batch_job(
                    Value::Null,
                    json!({"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]}),
                ),
                State::Current,
                "suspended",
            ),
            (
                "resumed",
                batch_job(
                    Value::Null,
                    json!({"conditions": [{"type": "Suspended", "status": "False", "reason": "JobSuspended"}]}),
                ),
                State::InProgress,
                "not started",
            ),
        ]);
    }

    fn pvc(status: Value) -> Value {
        object("v1", "PersistentVolumeClaim", Value::Null, status)
    }

    #[test]
    fn persistent_volume_claim() {
        check(vec![
            (
                "no status",
                pvc(Value::Null),
                State::InProgress,
                "not bound",
            ),
            (
                "bound",
                pvc(json!({"phase": "Bound"})),
                State::Current,
                "bound",
            ),
            (
                "pending",
                pvc(json!({"phase": "Pending"})),
                State::InProgress,
                "not bound (Pending)",
            ),
            (
                "lost",
                pvc(json!({"phase": "Lost"})),
                State::Failed,
                "lost: the bound volume no longer exists",
            ),
        ]);
    }

    fn svc(spec: Value, status: Value) -> Value {
        object("v1", "Service", spec, status)
    }

    #[test]
    fn service() {
        let lb = json!({"type": "LoadBalancer", "clusterIP": "10.0.0.7"});
        check(vec![
            (
                "default",
                svc(Value::Null, Value::Null),
                State::Current,
                "ready",
            ),
            (
                "node port",
                svc(json!({"type": "NodePort"}), Value::Null),
                State::Current,
                "ready",
            ),
            (
                "external name",
                svc(
                    json!({"type": "ExternalName", "externalName": "db.example.com"}),
                    Value::Null,
                ),
                State::Current,
                "ready",
            ),
            (
                "load balancer without status",
                svc(json!({"type": "LoadBalancer"}), Value::Null),
                State::InProgress,
                "waiting for a load balancer address",
            ),
            (
                "load balancer with a cluster IP only",
                svc(lb.clone(), json!({"loadBalancer": {}})),
                State::InProgress,
                "waiting for a load balancer address",
            ),
            (
                "load balancer with an IP",
                svc(
                    lb.clone(),
                    json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}),
                ),
                State::Current,
                "load balancer at 1.2.3.4",
            ),
            (
                "load balancer with a hostname",
                svc(
                    lb,
                    json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}]}}),
                ),
                State::Current,
                "load balancer at lb.example.com",
            ),
        ]);
    }

    fn crd(status: Value) -> Value {
        let mut obj = object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            Value::Null,
            status,
        );
        obj["metadata"] = json!({"name": "widgets.example.com", "generation": 1});
        obj
    }

    #[test]
    fn custom_resource_definition() {
        let names_ok = json!({"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"});
        check(vec![
            (
                "no conditions",
                crd(Value::Null),
                State::InProgress,
                "waiting to be established",
            ),
            (
                "installing",
                crd(
                    json!({"conditions": [names_ok.clone(), {"type": "Established", "status": "False", "reason": "Installing"}]}),
                ),
                State::InProgress,
                "waiting to be established",
            ),
            (
                "names not accepted",
                crd(
                    json!({"conditions": [{"type": "NamesAccepted", "status": "False", "reason": "SomeReason"}]}),
                ),
                State::Failed,
                "names not accepted: SomeReason",
            ),
            (
                "established",
                crd(
                    json!({"conditions": [names_ok.clone(), {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}]}),
                ),
                State::Current,
                "established",
            ),
            (
                "not established for another reason",
                crd(
                    json!({"conditions": [names_ok, {"type": "Established", "status": "False", "reason": "NotAccepted",
                    "message": "not all names are accepted"}]}),
                ),
                State::Failed,
                "not established: not all names are accepted",
            ),
        ]);
    }

    fn pdb(generation: i64, status: Value) -> Value {
        let mut obj = object(
            "policy/v1",
            "PodDisruptionBudget",
            json!({"minAvailable": 2}),
            status,
        );
        obj["metadata"]["generation"] = json!(generation);
        obj
    }

    #[test]
    fn pod_disruption_budget() {
        check(vec![
            (
                "not observed",
                pdb(2, json!({"observedGeneration": 1})),
                State::InProgress,
                "waiting for the controller to observe generation 2 (observed 1)",
            ),
            (
                "observed",
                pdb(1, json!({"observedGeneration": 1})),
                State::Current,
                "0 healthy pods (0 required), 0 disruptions allowed",
            ),
            (
                "no status",
                pdb(1, Value::Null),
                State::InProgress,
                "waiting for the disruption controller",
            ),
            (
                "too few healthy",
                pdb(
                    1,
                    json!({"observedGeneration": 1, "currentHealthy": 1, "desiredHealthy": 2, "expectedPods": 3}),
                ),
                State::InProgress,
                "1/2 healthy pods",
            ),
            (
                "healthy",
                pdb(
                    1,
                    json!({"observedGeneration": 1, "currentHealthy": 3, "desiredHealthy": 2, "disruptionsAllowed": 1}),
                ),
                State::Current,
                "3 healthy pods (2 required), 1 disruption allowed",
            ),
            (
                "legacy v1beta1",
                {
                    let mut obj = pdb(2, json!({"observedGeneration": 1}));
                    obj["apiVersion"] = json!("policy/v1beta1");
                    obj
                },
                State::InProgress,
                "waiting for the controller to observe generation 2 (observed 1)",
            ),
        ]);
    }

    #[test]
    fn kinds_without_rules() {
        check(vec![
            (
                "cron job",
                object("batch/v1", "CronJob", Value::Null, Value::Null),
                State::Current,
                "no status to wait for",
            ),
            (
                "cron job with empty status",
                {
                    let mut obj = object("batch/v1", "CronJob", Value::Null, Value::Null);
                    obj["status"] = Value::Null;
                    obj
                },
                State::Current,
                "no status to wait for",
            ),
            (
                "config map",
                object("v1", "ConfigMap", Value::Null, Value::Null),
                State::Current,
                "no status to wait for",
            ),
        ]);
    }
}
