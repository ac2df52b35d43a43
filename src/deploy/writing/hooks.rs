//! Sync hooks: each phase's hooks run wave by wave; every hook of a wave is created (its
//! previous object deleted first, unless its delete policy says otherwise), then waited for
//! until it completes (a Job or bare Pod) or is healthy (anything else), before the next wave.
//! A failed hook stops the phase; its pods' last log lines and events go to the CI log and
//! the reports. Hook objects are deleted by their policy only once the whole phase is over,
//! as Helm and Argo CD do: a ServiceAccount hook of an early wave is still there for the Job
//! of a later wave that runs under it.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use serde::Serialize;

use crate::ci::{self, CiSystem};
use crate::cluster::{Cluster, Propagation};
use crate::error::Error;
use crate::health::State;
use crate::inventory::{HOOK_OF_LABEL, PART_OF_LABEL};
use crate::object::hook::fixed_name;
use crate::object::{DeletePolicy, ObjectRef, Phase, Resource};
use crate::plan::{DryRun, Target};

use crate::deploy::Progress;
use crate::deploy::wait::{self, Outcome, WaitOptions};

/// Lines of each container's log kept for a failed hook.
const LOG_LINES: i64 = 100;
/// Events kept for a failed hook and for each of its pods.
const EVENTS: usize = 10;
/// How long a pod may wait for a node before the hook counts as failed.
const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(30);

/// How one hook ran.
#[derive(Debug, Clone, Serialize)]
pub struct HookRun {
    /// The object as created (a generated name is the server's).
    pub id: ObjectRef,
    pub phase: Phase,
    pub wave: i64,
    pub succeeded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub seconds: f64,
    /// For a failed hook: its pods' containers, their last log lines, and recent events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
    /// The object this run created, until the phase's end deletes it by its policy.
    #[serde(skip)]
    created: Option<Created>,
}

/// A hook object a run created, and when its delete policy removes it.
#[derive(Debug, Clone)]
struct Created {
    resource: Resource,
    uid: Option<String>,
    on_success: bool,
    on_failure: bool,
}

/// What running hooks needs from the write.
pub(in crate::deploy) struct HookContext<'a> {
    pub cluster: &'a Cluster,
    pub progress: &'a dyn Progress,
    /// How long each wave of hooks may take.
    pub timeout: Duration,
    /// Refuse unknown fields when creating.
    pub strict: bool,
    /// Print the hooks' pods' logs while they run (`-v`).
    pub stream_logs: bool,
}

/// Runs `hooks` (all of `phase`) wave by wave, ascending. Stops after the first wave with a
/// failed hook; the runs so far are returned either way. `Err` only when the run is cancelled.
pub(in crate::deploy) async fn run_phase(
    ctx: &HookContext<'_>,
    phase: Phase,
    hooks: &[&Target],
) -> Result<Vec<HookRun>, Error> {
    let mut runs = Vec::new();
    if hooks.is_empty() {
        return Ok(runs);
    }
    let waves: BTreeSet<i64> = hooks.iter().map(|t| t.policy.wave).collect();
    for wave in waves {
        let batch: Vec<&Target> = hooks
            .iter()
            .copied()
            .filter(|t| t.policy.wave == wave)
            .collect();
        let ran = run_wave(ctx, phase, wave, &batch).await?;
        let failed = ran.iter().any(|r| !r.succeeded);
        runs.extend(ran);
        if failed {
            break;
        }
    }
    Ok(runs)
}

async fn run_wave(
    ctx: &HookContext<'_>,
    phase: Phase,
    wave: i64,
    batch: &[&Target],
) -> Result<Vec<HookRun>, Error> {
    let scope = if wave == 0 {
        String::new()
    } else {
        format!(" (wave {wave})")
    };
    ctx.progress.note(&format!(
        "running {} {phase} hook(s){scope}: {}",
        batch.len(),
        batch
            .iter()
            .map(|t| t.id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let started = Instant::now();
    let mut runs = Vec::new();
    let mut created: Vec<Target> = Vec::new();
    for target in batch {
        match start(ctx, target).await {
            Ok(object) => {
                let mut running = (*target).clone();
                if let Some(name) = object["metadata"]["name"].as_str() {
                    running.id.name = name.to_string();
                }
                running.object = object;
                created.push(running);
            }
            Err(reason) => {
                let run = HookRun {
                    id: target.id.clone(),
                    phase,
                    wave,
                    succeeded: false,
                    reason: Some(reason),
                    seconds: started.elapsed().as_secs_f64(),
                    logs: Vec::new(),
                    created: None,
                };
                print_failure(ctx.progress, &run);
                runs.push(run);
            }
        }
    }
    if crate::cancel::requested() {
        return Err(cancelled(phase));
    }
    if created.is_empty() {
        return Ok(runs);
    }
    let waited: Vec<&Target> = created.iter().collect();
    let options = WaitOptions {
        timeout: ctx.timeout,
        unschedulable_grace: UNSCHEDULABLE_GRACE,
        wait_for_load_balancers: false,
        rollout_started: None,
        until_done: true,
    };
    let progress = ctx.progress;
    let waiting = wait::wait(ctx.cluster, &waited, options, |line| {
        progress.note(&format!("  {line}"))
    });
    let report = if ctx.stream_logs {
        tokio::select! {
            report = waiting => report,
            never = stream_logs(ctx.cluster, progress, &created) => match never {},
        }
    } else {
        waiting.await
    };
    if matches!(report.outcome, Outcome::Cancelled) {
        return Err(cancelled(phase));
    }
    // A hook that completed counts as succeeded even when another of its wave could not be
    // created: that one's failure stops the phase.
    for (target, (_, health)) in created.iter().zip(&report.objects) {
        let done = health.state == State::Current;
        let reason = (!done).then(|| why_not_done(&report.outcome, &target.id, health));
        let hook = target.policy.hook.as_ref();
        let mut run = HookRun {
            id: target.id.clone(),
            phase,
            wave,
            succeeded: done,
            reason,
            seconds: report.seconds,
            logs: Vec::new(),
            created: Some(Created {
                resource: target.resource.clone(),
                // Only the very object this run created is ever deleted.
                uid: target.object["metadata"]["uid"]
                    .as_str()
                    .map(str::to_string),
                on_success: hook.is_some_and(|h| h.deletes(DeletePolicy::HookSucceeded)),
                on_failure: hook.is_some_and(|h| h.deletes(DeletePolicy::HookFailed)),
            }),
        };
        if !done {
            run.logs = logs_of(ctx.cluster, target).await;
            print_failure(ctx.progress, &run);
        }
        runs.push(run);
    }
    for run in runs.iter().filter(|r| r.succeeded) {
        ctx.progress
            .note(&format!("  {} hook {} succeeded", run.phase, run.id));
    }
    Ok(runs)
}

/// Once `phase` is over: deletes the objects its runs in `runs` created whose delete policy
/// asks for it, `HookSucceeded` when every hook of the phase succeeded, `HookFailed` when one
/// failed; the latest created first. Each object is considered once.
pub(in crate::deploy) async fn clean_up(ctx: &HookContext<'_>, phase: Phase, runs: &mut [HookRun]) {
    let succeeded = runs
        .iter()
        .filter(|r| r.phase == phase)
        .all(|r| r.succeeded);
    for run in runs.iter_mut().rev().filter(|r| r.phase == phase) {
        let Some(created) = run.created.take() else {
            continue;
        };
        let delete = if succeeded {
            created.on_success
        } else {
            created.on_failure
        };
        if !delete {
            continue;
        }
        let deleted = ctx
            .cluster
            .delete(
                &created.resource,
                &run.id,
                Propagation::Background,
                false,
                created.uid.as_deref(),
            )
            .await;
        if let Err(e) = deleted {
            ctx.progress
                .note(&format!("warning: cannot delete hook {}: {e}", run.id));
        }
    }
}

fn cancelled(phase: Phase) -> Error {
    Error::Cancelled(format!(
        "while {phase} hooks ran; what they started may still be running; rerun the same command to finish"
    ))
}

/// Creates the hook's object, deleting its previous one first when the delete policy is
/// `BeforeHookCreation`. Returns the object as created, or why it could not be.
async fn start(ctx: &HookContext<'_>, target: &Target) -> Result<serde_json::Value, String> {
    let cluster = ctx.cluster;
    if let Some(name) = fixed_name(&target.object) {
        let before = target
            .policy
            .hook
            .as_ref()
            .is_some_and(|h| h.deletes(DeletePolicy::BeforeHookCreation));
        let live = cluster
            .get(&target.resource, &target.id)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(live) = live {
            if !own_hook_object(target, &live) {
                return Err(format!(
                    "{} exists and is not this app's hook (it lacks the label `{HOOK_OF_LABEL}` of this app); kpush does not delete what it did not create\nhint: rename the hook, or delete that object if it is no longer needed",
                    target.id
                ));
            }
            if !before {
                return Err(format!(
                    "{} exists from an earlier run, and its delete policy does not replace it\nhint: add `BeforeHookCreation` to its `argocd.argoproj.io/hook-delete-policy` (or `before-hook-creation` to Helm's), or delete it: `kubectl delete {} {name}{}`",
                    target.id,
                    target.id.kind.to_lowercase(),
                    target
                        .id
                        .namespace
                        .as_deref()
                        .map(|ns| format!(" -n {ns}"))
                        .unwrap_or_default()
                ));
            }
            let uid = live["metadata"]["uid"].as_str();
            cluster
                .delete_and_wait(&target.resource, &target.id, uid, ctx.timeout)
                .await
                .map_err(|e| format!("cannot replace its previous object: {e}"))?;
        }
    }
    let strict = ctx.strict && !target.policy.skip_validation;
    cluster
        .create(
            &target.resource,
            target.id.namespace.as_deref(),
            &target.object,
            false,
            strict,
        )
        .await
        .map_err(|e| e.to_string())
}

/// Whether `live` is an earlier object of this hook: created by a run of this app (its
/// hook label), or applied as a member of this app by an older kpush.
fn own_hook_object(target: &Target, live: &serde_json::Value) -> bool {
    let app = &target.object["metadata"]["labels"][HOOK_OF_LABEL];
    let labels = &live["metadata"]["labels"];
    app.is_string() && (labels[HOOK_OF_LABEL] == *app || labels[PART_OF_LABEL] == *app)
}

fn why_not_done(outcome: &Outcome, id: &ObjectRef, health: &crate::health::Health) -> String {
    match outcome {
        Outcome::Failed {
            id: failed, reason, ..
        } if failed == id => reason.clone(),
        Outcome::TimedOut { .. } => format!(
            "did not complete within the timeout ({}{})",
            health.state,
            if health.message.is_empty() {
                String::new()
            } else {
                format!(", {}", health.message)
            }
        ),
        Outcome::Unreachable { message } => format!("the API server stopped answering: {message}"),
        Outcome::Failed { id: failed, .. } => {
            format!(
                "not waited for to the end: {failed} failed ({})",
                health.state
            )
        }
        Outcome::Healthy | Outcome::Cancelled => health.message.clone(),
    }
}

/// A failed hook in the CI log, in a collapsed section where the CI system has them.
fn print_failure(progress: &dyn Progress, run: &HookRun) {
    let ci = CiSystem::detect();
    let title = format!(
        "{} hook {} failed: {}",
        run.phase,
        run.id,
        run.reason.as_deref().unwrap_or("")
    );
    let start = ci::section_start(ci, &format!("hook-{}", run.id.name), &title);
    if start.is_empty() {
        progress.note(&format!("error: {title}"));
    } else {
        progress.note(start.trim_end());
    }
    for line in &run.logs {
        progress.note(&format!("  {line}"));
    }
    let end = ci::section_end(ci, &format!("hook-{}", run.id.name));
    if !end.is_empty() {
        progress.note(end.trim_end());
    }
}

/// What a failed hook's pods say: each container's state, its last log lines, and the
/// events of the hook and its pods.
async fn logs_of(cluster: &Cluster, target: &Target) -> Vec<String> {
    let Some(ns) = target.id.namespace.as_deref() else {
        return Vec::new();
    };
    let pods = hook_pods(cluster, target).await;
    let events = Resource::core("Event", "events");
    let mut lines = Vec::new();
    for event in cluster
        .recent_events(&events, ns, &target.id.name, EVENTS)
        .await
        .unwrap_or_default()
    {
        lines.push(format!("event: {event}"));
    }
    let pods: Vec<(String, Vec<String>)> = stream::iter(pods)
        .map(|pod| async move { pod_lines(cluster, ns, &pod).await })
        .buffered(4)
        .collect()
        .await;
    for (pod, pod_lines) in pods {
        lines.push(format!("pod {pod}:"));
        lines.extend(pod_lines.into_iter().map(|l| format!("  {l}")));
        for event in cluster
            .recent_events(&events, ns, &pod, EVENTS)
            .await
            .unwrap_or_default()
        {
            lines.push(format!("  event: {event}"));
        }
    }
    lines
}

/// The pods a hook runs: a bare Pod itself, or a Job's pods.
async fn hook_pods(cluster: &Cluster, target: &Target) -> Vec<serde_json::Value> {
    let pods = Resource::core("Pod", "pods");
    match (target.id.group.as_str(), target.id.kind.as_str()) {
        ("", "Pod") => cluster
            .get(&pods, &target.id)
            .await
            .ok()
            .flatten()
            .into_iter()
            .collect(),
        ("batch", "Job") => cluster
            .list_labelled(
                &pods,
                target.id.namespace.as_deref(),
                &format!("job-name={}", target.id.name),
            )
            .await
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Follows the log of every container of the hooks' pods once it has started, printing each
/// line as `pod/container | line`; runs until dropped (when the wait ends).
async fn stream_logs(
    cluster: &Cluster,
    progress: &dyn Progress,
    hooks: &[Target],
) -> std::convert::Infallible {
    let mut followed: BTreeSet<(String, String)> = BTreeSet::new();
    let mut following = futures::stream::FuturesUnordered::new();
    loop {
        for hook in hooks {
            let Some(ns) = hook.id.namespace.clone() else {
                continue;
            };
            for pod in hook_pods(cluster, hook).await {
                let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
                let started = ["initContainerStatuses", "containerStatuses"]
                    .iter()
                    .flat_map(|key| pod["status"][key].as_array().cloned().unwrap_or_default())
                    .filter(|s| {
                        s["state"]["running"].is_object() || s["state"]["terminated"].is_object()
                    })
                    .filter_map(|s| s["name"].as_str().map(str::to_string));
                for container in started {
                    if followed.insert((name.clone(), container.clone())) {
                        let (ns, pod) = (ns.clone(), name.clone());
                        following.push(async move {
                            let prefix = format!("  {pod}/{container} | ");
                            let streamed = cluster
                                .follow_logs(&ns, &pod, &container, |line| {
                                    progress.note(&format!("{prefix}{line}"))
                                })
                                .await;
                            if let Err(e) = streamed {
                                tracing::debug!("no log of {pod}/{container}: {e}");
                            }
                        });
                    }
                }
            }
        }
        tokio::select! {
            Some(()) = following.next(), if !following.is_empty() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// One pod's containers: how each ended (or why it waits), then its last log lines.
async fn pod_lines(cluster: &Cluster, ns: &str, pod: &serde_json::Value) -> (String, Vec<String>) {
    let name = pod["metadata"]["name"].as_str().unwrap_or("").to_string();
    let mut lines = Vec::new();
    let statuses = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .flat_map(|key| pod["status"][key].as_array().cloned().unwrap_or_default());
    let mut containers: Vec<String> = Vec::new();
    for status in statuses {
        let container = status["name"].as_str().unwrap_or("").to_string();
        let state = &status["state"];
        let line = if let Some(t) = state["terminated"].as_object() {
            format!(
                "container {container}: terminated, {} (exit code {}){}",
                t.get("reason").and_then(|r| r.as_str()).unwrap_or("?"),
                t.get("exitCode").and_then(|c| c.as_i64()).unwrap_or(-1),
                t.get("message")
                    .and_then(|m| m.as_str())
                    .map(|m| format!(": {}", m.trim()))
                    .unwrap_or_default()
            )
        } else if let Some(w) = state["waiting"].as_object() {
            format!(
                "container {container}: waiting, {}{}",
                w.get("reason").and_then(|r| r.as_str()).unwrap_or("?"),
                w.get("message")
                    .and_then(|m| m.as_str())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )
        } else {
            format!("container {container}: running")
        };
        lines.push(line);
        containers.push(container);
    }
    if containers.is_empty() {
        let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
        lines.push(format!("{phase}, no container started"));
    }
    for container in containers {
        match cluster.pod_logs(ns, &name, &container, LOG_LINES).await {
            Ok(text) if text.trim().is_empty() => {}
            Ok(text) => {
                lines.push(format!("log of {container} (last {LOG_LINES} lines):"));
                lines.extend(text.lines().map(|l| format!("| {l}")));
            }
            Err(e) => lines.push(format!(
                "log of {container}: unavailable: {}",
                e.message.lines().next().unwrap_or("")
            )),
        }
    }
    (name, lines)
}

/// Checks every hook that may run with a dry run of its creation, under a generated name so
/// that an earlier run's object (replaced when the hook runs) does not stand in the way.
/// Hooks in a namespace this deploy creates are checked when they run.
pub(in crate::deploy) async fn validate(
    cluster: &Cluster,
    hooks: &[Target],
    missing: &BTreeSet<String>,
    strict: bool,
    concurrency: usize,
) -> Vec<DryRun> {
    stream::iter(hooks)
        .map(|target| async move {
            if let Some(ns) = target
                .id
                .namespace
                .as_ref()
                .filter(|ns| missing.contains(*ns))
            {
                return DryRun::Pending(format!(
                    "namespace `{ns}` is created by this deploy; checked when the hook runs"
                ));
            }
            if target
                .policy
                .hook
                .as_ref()
                .is_some_and(|h| h.phases.iter().all(|p| *p == Phase::Skip))
            {
                return DryRun::Settled;
            }
            if target.awaits_crd.is_some() || target.awaits_kind {
                return DryRun::Pending(format!(
                    "its kind `{}` comes with this deploy; checked when the hook runs",
                    target.id.kind
                ));
            }
            let mut object = target.object.clone();
            if let Some(name) = fixed_name(&object).map(str::to_string) {
                let metadata = &mut object["metadata"];
                if let Some(map) = metadata.as_object_mut() {
                    map.remove("name");
                }
                metadata["generateName"] = serde_json::Value::String(format!("{name}-"));
            }
            let strict = strict && !target.policy.skip_validation;
            match cluster
                .create(
                    &target.resource,
                    target.id.namespace.as_deref(),
                    &object,
                    true,
                    strict,
                )
                .await
            {
                Ok(created) => DryRun::Done(created),
                Err(failure) => DryRun::Failed(failure),
            }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}
