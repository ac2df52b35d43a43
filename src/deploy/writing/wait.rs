//! The "health" stage: after the writes, watch every deployed object until all are healthy,
//! one fails, a pod shows a failure that will not heal by itself, or the time runs out.
//! The rules are in `health`; this module only watches and decides when to stop.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use crate::cluster::{Cluster, FailureClass, Seen};
use crate::health::{
    CreateFailure, Creations, Health, PodFailure, State, health, pod_failure, replica_failure,
    warnings_about,
};
use crate::object::{ObjectRef, Resource};
use crate::plan::Target;

/// How to wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub timeout: Duration,
    /// How long a pod may stay unschedulable before the rollout counts as failed.
    pub unschedulable_grace: Duration,
    /// Wait for LoadBalancer Services to get an address.
    pub wait_for_load_balancers: bool,
    /// Pods created before this (server time) are left from an earlier rollout and do not
    /// fail this one.
    pub rollout_started: Option<jiff::Timestamp>,
    /// Sync hooks: a bare Pod is done when it has run to completion, not when it is ready.
    pub until_done: bool,
}

/// How often the wait checks that the API server still answers, how long a check may take,
/// and how many failed checks in a row end the wait.
const PROBE_EVERY: Duration = Duration::from_secs(5);
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
const PROBE_FAILURES: u32 = 2;

/// How long a controller's failure to create pods must last before the wait ends: a
/// ServiceAccount or quota applied together with its workload may come a moment later.
const CREATE_GRACE: Duration = Duration::from_secs(5);
/// Warning events shown for each object a wait ends on.
const WARNINGS: usize = 5;
/// Objects a timeout looks up warning events for; the rest are only listed.
const EXPLAINED: usize = 20;

/// How the wait ended.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    Healthy,
    /// An object failed, or a pod of a workload did.
    Failed {
        id: ObjectRef,
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pod: Option<Box<PodFailure>>,
        /// The last events about the failing pod or object.
        events: Vec<String>,
    },
    /// Not everything was healthy in time; these were still waited for.
    TimedOut {
        waiting: Vec<ObjectRef>,
        /// The latest warning events of each waiting object and of what it owns.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<Warnings>,
    },
    /// The run was cancelled (SIGTERM or SIGINT) during the wait.
    Cancelled,
    /// The API server stopped answering (its storage failed, or it went away).
    Unreachable {
        message: String,
    },
}

/// Why an object may be stuck: the latest warning events of it, its ReplicaSets and its pods.
#[derive(Debug, Clone, Serialize)]
pub struct Warnings {
    pub id: ObjectRef,
    pub events: Vec<String>,
}

/// Every object's last known health and how the wait ended.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub objects: Vec<(ObjectRef, Health)>,
    pub outcome: Outcome,
    pub seconds: f64,
}

impl HealthReport {
    pub fn healthy(&self) -> bool {
        matches!(self.outcome, Outcome::Healthy)
    }
}

/// Labels a workload's pods carry, to tell which failing pods belong to the rollout.
fn pod_selector(target: &Target) -> Option<BTreeMap<String, String>> {
    let kind = target.id.kind.as_str();
    match (target.id.group.as_str(), kind) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            let labels = target.object["spec"]["selector"]["matchLabels"].as_object()?;
            Some(
                labels
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect(),
            )
        }
        ("batch", "Job") => Some(BTreeMap::from([(
            "job-name".to_string(),
            target.id.name.clone(),
        )])),
        _ => None,
    }
}

fn key(id: &ObjectRef) -> (String, String, Option<String>, String) {
    (
        id.group.clone(),
        id.kind.clone(),
        id.namespace.clone(),
        id.name.clone(),
    )
}

fn subject(id: &ObjectRef) -> String {
    let kind = id.kind.to_lowercase();
    match &id.namespace {
        Some(ns) => format!("{kind}/{} -n {ns}", id.name),
        None => format!("{kind}/{}", id.name),
    }
}

/// Waits for `targets`. `progress` gets one line per object whenever its state changes.
pub async fn wait(
    cluster: &Cluster,
    targets: &[&Target],
    options: WaitOptions,
    progress: impl Fn(&str),
) -> HealthReport {
    let started = std::time::Instant::now();
    let mut watch = Watch::new(targets, options);
    let mut stream = cluster.watch_all(&watch.scopes);
    let deadline = tokio::time::Instant::now() + options.timeout;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut probe = Probe {
        last: std::time::Instant::now(),
        failures: 0,
    };
    let outcome = loop {
        let mut ticked = false;
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let waiting = watch.waiting();
                let warnings = watch.warnings(cluster, &waiting).await;
                break Outcome::TimedOut { waiting, warnings };
            }
            _ = tick.tick() => ticked = true,
            seen = stream.next() => {
                if let Some(seen) = seen {
                    watch.seen(seen, &progress);
                }
            }
        }
        if crate::cancel::requested() {
            break Outcome::Cancelled;
        }
        if let Some(outcome) = probe.check(cluster, targets).await {
            break outcome;
        }
        // A failed object ends the wait at once; so does a pod of a workload that will not
        // recover by itself.
        if let Some(outcome) = watch.failed_object(cluster).await {
            break outcome;
        }
        if let Some(outcome) = watch.failing_pod(cluster).await {
            break outcome;
        }
        if ticked && let Some(outcome) = watch.cannot_create(cluster).await {
            break outcome;
        }
        if watch.healthy() {
            break Outcome::Healthy;
        }
    };
    watch.report(outcome, started.elapsed().as_secs_f64())
}

/// What the wait knows so far about the objects it watches and their pods.
struct Watch<'a> {
    targets: &'a [&'a Target],
    options: WaitOptions,
    /// The kinds and namespaces watched; events name them by index.
    scopes: Vec<(Resource, Option<String>)>,
    watched: HashMap<(String, String, Option<String>, String), usize>,
    /// Pods of the workloads being rolled out (target index, namespace, selector), for
    /// failing fast.
    selectors: Vec<(usize, String, BTreeMap<String, String>)>,
    pod_scopes: Vec<usize>,
    /// Events of the namespaces of workloads that report failed pod creations only in events.
    event_scopes: Vec<usize>,
    creations: Creations,
    /// Each workload's failure to create pods, and since when it has lasted.
    stuck: Vec<Option<(Instant, CreateFailure)>>,
    /// Whether each object is a workload whose controller creates pods.
    workloads: Vec<bool>,
    /// Each object as last seen: whole for a workload, only its uid for anything else (a
    /// deploy of thousands of objects keeps no copy of each).
    live: Vec<Option<Value>>,
    states: Vec<Option<Health>>,
    /// Whether each workload's controller has seen the latest spec: only then do its pods
    /// say anything about this rollout.
    caught_up: Vec<bool>,
    live_pods: HashMap<(String, String), Value>,
}

impl<'a> Watch<'a> {
    fn new(targets: &'a [&'a Target], options: WaitOptions) -> Watch<'a> {
        let mut scopes: Vec<(Resource, Option<String>)> = Vec::new();
        let mut scope_of = |resource: &Resource, ns: Option<String>| {
            let scope = (resource.clone(), ns);
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        };
        let mut watched = HashMap::new();
        for (i, t) in targets.iter().enumerate() {
            scope_of(&t.resource, t.id.namespace.clone());
            watched.insert(key(&t.id), i);
        }
        let selectors: Vec<(usize, String, BTreeMap<String, String>)> = targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i, t.id.namespace.clone()?, pod_selector(t)?)))
            .collect();
        let pods = Resource::core("Pod", "pods");
        for (_, ns, _) in &selectors {
            scope_of(&pods, Some(ns.clone()));
        }
        let events = Resource::core("Event", "events");
        for t in targets.iter().filter(|t| reports_in_events(&t.id)) {
            scope_of(&events, t.id.namespace.clone());
        }
        let of_kind = |resource: &Resource| -> Vec<usize> {
            scopes
                .iter()
                .enumerate()
                .filter(|(_, (r, _))| r == resource)
                .map(|(i, _)| i)
                .collect()
        };
        let pod_scopes = of_kind(&pods);
        let workloads = targets.iter().map(|t| creates_pods(&t.id)).collect();
        let event_scopes = of_kind(&events);
        Watch {
            targets,
            options,
            scopes,
            watched,
            selectors,
            pod_scopes,
            event_scopes,
            creations: Creations::default(),
            stuck: vec![None; targets.len()],
            workloads,
            live: vec![None; targets.len()],
            states: vec![None; targets.len()],
            caught_up: vec![false; targets.len()],
            live_pods: HashMap::new(),
        }
    }

    /// Takes in one event of the watches.
    fn seen(&mut self, seen: Seen, progress: &impl Fn(&str)) {
        match seen {
            Seen::Object(scope, object)
                if self.pod_scopes.contains(&scope)
                    && !self
                        .watched
                        .contains_key(&identity(&self.scopes[scope].0, &object)) =>
            {
                self.live_pods.insert(pod_key(&object), object);
            }
            Seen::Deleted(scope, object) if self.pod_scopes.contains(&scope) => {
                self.live_pods.remove(&pod_key(&object));
            }
            Seen::Object(scope, event)
                if self.event_scopes.contains(&scope)
                    && !self
                        .watched
                        .contains_key(&identity(&self.scopes[scope].0, &event)) =>
            {
                self.creations.seen(&event, self.options.rollout_started);
            }
            Seen::Object(scope, mut object) => {
                let resource = &self.scopes[scope].0;
                let Some(&i) = self.watched.get(&identity(resource, &object)) else {
                    return;
                };
                typed(resource, &mut object);
                self.caught_up[i] = match object["status"]["observedGeneration"].as_i64() {
                    Some(observed) => object["metadata"]["generation"]
                        .as_i64()
                        .is_none_or(|g| observed >= g),
                    None => true,
                };
                let mut h = health(&object);
                if self.options.until_done
                    && resource.group.is_empty()
                    && resource.kind == "Pod"
                    && h.state == State::Current
                    && object["status"]["phase"] != "Succeeded"
                {
                    h = Health::new(State::InProgress, "running");
                }
                if !self.options.wait_for_load_balancers
                    && is_load_balancer(&object)
                    && h.state == State::InProgress
                {
                    h = Health::new(
                        State::Current,
                        "load balancer not waited for (--no-wait-lb)",
                    );
                }
                self.live[i] = Some(if self.workloads[i] {
                    object
                } else {
                    serde_json::json!({"metadata": {"uid": object["metadata"]["uid"]}})
                });
                if self.states[i].as_ref() != Some(&h) {
                    let detail = if h.message.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", h.message)
                    };
                    progress(&format!(
                        "{}: {}{detail}",
                        subject(&self.targets[i].id),
                        h.state
                    ));
                    self.states[i] = Some(h);
                }
            }
            Seen::Deleted(scope, mut object) => {
                let resource = &self.scopes[scope].0;
                if let Some(&i) = self.watched.get(&identity(resource, &object)) {
                    typed(resource, &mut object);
                    // A Job removed once it finished (`ttlSecondsAfterFinished`) has its result.
                    let h = crate::health::finished_job(&object)
                        .unwrap_or_else(|| Health::new(State::InProgress, "deleted"));
                    if self.states[i].as_ref() != Some(&h) {
                        progress(&format!(
                            "{}: {}, {}",
                            subject(&self.targets[i].id),
                            h.state,
                            h.message
                        ));
                    }
                    self.states[i] = Some(h);
                }
            }
            Seen::Error(e) if !e.is_empty() => tracing::debug!("watch: {e}"),
            _ => {}
        }
    }

    /// The objects not yet healthy.
    fn waiting(&self) -> Vec<ObjectRef> {
        self.targets
            .iter()
            .zip(&self.states)
            .filter(|(_, h)| h.as_ref().is_none_or(|h| h.state != State::Current))
            .map(|(t, _)| t.id.clone())
            .collect()
    }

    fn healthy(&self) -> bool {
        self.states
            .iter()
            .all(|h| h.as_ref().is_some_and(|h| h.state == State::Current))
    }

    /// The first object whose health says it failed, with its events.
    async fn failed_object(&self, cluster: &Cluster) -> Option<Outcome> {
        let i = self
            .states
            .iter()
            .position(|h| h.as_ref().is_some_and(|h| h.state == State::Failed))?;
        let id = self.targets[i].id.clone();
        let reason = self.states[i]
            .as_ref()
            .map(|h| h.message.clone())
            .unwrap_or_default();
        let mut events = self.warnings_of(cluster, i).await;
        if events.is_empty() {
            events = events_of(cluster, &id).await;
        }
        Some(Outcome::Failed {
            id,
            reason,
            pod: None,
            events,
        })
    }

    /// The first pod of this rollout that shows a failure that will not heal by itself.
    async fn failing_pod(&mut self, cluster: &Cluster) -> Option<Outcome> {
        let now = jiff::Timestamp::now();
        let candidates: Vec<(usize, PodFailure, Value)> = self
            .live_pods
            .values()
            .filter_map(|pod| {
                let (i, failure) = self.pod_failure(pod, now)?;
                Some((i, failure, pod.clone()))
            })
            .collect();
        for (i, failure, pod) in candidates {
            let ns = pod["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string();
            // A pod of a ReplicaSet scaled to zero is an earlier revision on its way out.
            if retired(cluster, &pod).await {
                self.live_pods.remove(&(ns, failure.pod.clone()));
                continue;
            }
            let events = cluster
                .recent_events(&Resource::core("Event", "events"), &ns, &failure.pod, 5)
                .await
                .unwrap_or_default();
            return Some(Outcome::Failed {
                id: self.targets[i].id.clone(),
                reason: failure.to_string(),
                pod: Some(Box::new(failure)),
                events,
            });
        }
        None
    }

    /// The first workload whose controller has failed to create its pods for
    /// [`CREATE_GRACE`] without creating one since.
    async fn cannot_create(&mut self, cluster: &Cluster) -> Option<Outcome> {
        for i in (0..self.targets.len()).filter(|&i| self.workloads[i]) {
            let failure = self.create_failure(cluster, i).await;
            self.stuck[i] = match (failure, self.stuck[i].take()) {
                (None, _) => None,
                (Some(failure), Some((since, _))) => Some((since, failure)),
                (Some(failure), None) => Some((Instant::now(), failure)),
            };
            let Some((since, failure)) = &self.stuck[i] else {
                continue;
            };
            if since.elapsed() < CREATE_GRACE {
                continue;
            }
            let reason = format!("cannot create its pods: {failure}");
            return Some(Outcome::Failed {
                id: self.targets[i].id.clone(),
                reason,
                pod: None,
                events: self.warnings_of(cluster, i).await,
            });
        }
        None
    }

    /// Why the controller of workload `i` cannot create its pods right now, if it says so.
    async fn create_failure(&self, cluster: &Cluster, i: usize) -> Option<CreateFailure> {
        if self.states[i]
            .as_ref()
            .is_none_or(|h| h.state == State::Current)
        {
            return None;
        }
        let live = self.live[i].as_ref()?;
        let id = &self.targets[i].id;
        match (id.group.as_str(), id.kind.as_str()) {
            ("apps", "ReplicaSet") => replica_failure(live),
            // The condition may come from an older ReplicaSet on its way out: only the one of
            // the current revision speaks for this rollout.
            ("apps", "Deployment") if self.caught_up[i] && replica_failure(live).is_some() => {
                let current = current_replica_set(cluster, self.targets[i], live).await?;
                replica_failure(&current)
            }
            _ if reports_in_events(id) => self.creations.failing(uid(live)?).cloned(),
            _ => None,
        }
    }

    /// The latest warnings of each object in `ids` (the first [`EXPLAINED`] of them); each
    /// namespace's events are listed once.
    async fn warnings(&self, cluster: &Cluster, ids: &[ObjectRef]) -> Vec<Warnings> {
        let mut listed: HashMap<String, Vec<Value>> = HashMap::new();
        let mut out = Vec::new();
        for id in ids.iter().take(EXPLAINED) {
            let (Some(&i), Some(ns)) = (self.watched.get(&key(id)), id.namespace.as_deref()) else {
                continue;
            };
            if !listed.contains_key(ns) {
                listed.insert(ns.to_string(), warning_events(cluster, ns).await);
            }
            let events = self.warnings_among(cluster, i, &listed[ns]).await;
            if !events.is_empty() {
                out.push(Warnings {
                    id: id.clone(),
                    events,
                });
            }
        }
        out
    }

    /// The latest warning events of object `i`, its ReplicaSets (for a Deployment) and its
    /// pods, one line per reason and message.
    async fn warnings_of(&self, cluster: &Cluster, i: usize) -> Vec<String> {
        let Some(ns) = self.targets[i].id.namespace.as_deref() else {
            return Vec::new();
        };
        let events = warning_events(cluster, ns).await;
        self.warnings_among(cluster, i, &events).await
    }

    /// [`Watch::warnings_of`] among the namespace's warning `events`.
    async fn warnings_among(&self, cluster: &Cluster, i: usize, events: &[Value]) -> Vec<String> {
        let target = self.targets[i];
        let (Some(ns), Some(live)) = (target.id.namespace.as_deref(), self.live[i].as_ref()) else {
            return Vec::new();
        };
        let mut uids: HashSet<String> = uid(live).map(str::to_string).into_iter().collect();
        if let Some((_, _, labels)) = self.selectors.iter().find(|(t, _, _)| *t == i) {
            let of_workload = |pod: &&Value| {
                pod["metadata"]["namespace"].as_str() == Some(ns)
                    && labels
                        .iter()
                        .all(|(k, v)| pod["metadata"]["labels"][k].as_str() == Some(v))
            };
            uids.extend(
                self.live_pods
                    .values()
                    .filter(of_workload)
                    .filter_map(|p| uid(p).map(str::to_string)),
            );
        }
        if (target.id.group.as_str(), target.id.kind.as_str()) == ("apps", "Deployment") {
            uids.extend(
                owned_replica_sets(cluster, target, live)
                    .await
                    .iter()
                    .filter_map(|rs| uid(rs).map(str::to_string)),
            );
        }
        warnings_about(events, &uids, WARNINGS)
    }

    /// The pod's failure and the workload it belongs to, if it is a pod of this rollout.
    fn pod_failure(&self, pod: &Value, now: jiff::Timestamp) -> Option<(usize, PodFailure)> {
        if let (Some(started), Some(created)) = (
            self.options.rollout_started,
            pod["metadata"]["creationTimestamp"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok()),
        ) && created < started
        {
            return None;
        }
        let failure = pod_failure(pod, now, self.options.unschedulable_grace)?;
        let owner = self.selectors.iter().find(|(_, ns, labels)| {
            pod["metadata"]["namespace"].as_str() == Some(ns.as_str())
                && labels
                    .iter()
                    .all(|(k, v)| pod["metadata"]["labels"][k].as_str() == Some(v))
        })?;
        self.caught_up[owner.0].then_some((owner.0, failure))
    }

    fn report(self, outcome: Outcome, seconds: f64) -> HealthReport {
        HealthReport {
            objects: self
                .targets
                .iter()
                .zip(self.states)
                .map(|(t, h)| {
                    (
                        t.id.clone(),
                        h.unwrap_or_else(|| Health::new(State::Unknown, "not seen")),
                    )
                })
                .collect(),
            outcome,
            seconds,
        }
    }
}

/// Watches can go quiet instead of failing when the server's storage is down: a read every
/// few seconds tells a slow rollout from a dead server.
struct Probe {
    last: std::time::Instant,
    failures: u32,
}

impl Probe {
    async fn check(&mut self, cluster: &Cluster, targets: &[&Target]) -> Option<Outcome> {
        let first = targets.first()?;
        if self.last.elapsed() < PROBE_EVERY {
            return None;
        }
        let read = tokio::time::timeout(PROBE_TIMEOUT, cluster.get(&first.resource, &first.id));
        let failed = match read.await {
            Ok(Err(failure)) if failure.class() == FailureClass::Transient => {
                Some(failure.to_string())
            }
            Ok(_) => None,
            Err(_) => Some(format!(
                "no answer to a read within {}s",
                PROBE_TIMEOUT.as_secs()
            )),
        };
        self.last = std::time::Instant::now();
        match failed {
            None => {
                self.failures = 0;
                None
            }
            Some(message) => {
                self.failures += 1;
                (self.failures >= PROBE_FAILURES).then_some(Outcome::Unreachable { message })
            }
        }
    }
}

/// The warning events of `ns`; none when they cannot be read (a Role without `events`).
async fn warning_events(cluster: &Cluster, ns: &str) -> Vec<Value> {
    cluster.warning_events(ns).await.unwrap_or_else(|e| {
        tracing::debug!("no events of namespace {ns}: {e}");
        Vec::new()
    })
}

/// The kinds whose controllers create pods, and may fail to.
fn creates_pods(id: &ObjectRef) -> bool {
    matches!(
        (id.group.as_str(), id.kind.as_str()),
        (
            "apps",
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        ) | ("batch", "Job")
    )
}

/// Workloads whose controller reports a failed pod creation only as an event on itself; a
/// ReplicaSet (and so a Deployment) also keeps it in its `ReplicaFailure` condition.
fn reports_in_events(id: &ObjectRef) -> bool {
    matches!(
        (id.group.as_str(), id.kind.as_str()),
        ("apps", "StatefulSet" | "DaemonSet") | ("batch", "Job")
    )
}

fn uid(object: &Value) -> Option<&str> {
    object["metadata"]["uid"].as_str().filter(|u| !u.is_empty())
}

fn replica_sets() -> Resource {
    Resource {
        group: "apps".into(),
        version: "v1".into(),
        kind: "ReplicaSet".into(),
        plural: "replicasets".into(),
        namespaced: true,
    }
}

/// The ReplicaSets the Deployment controls.
async fn owned_replica_sets(cluster: &Cluster, target: &Target, deployment: &Value) -> Vec<Value> {
    let (Some(owner), Some(selector)) = (uid(deployment), pod_selector(target)) else {
        return Vec::new();
    };
    let selector: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let listed = cluster
        .list_labelled(
            &replica_sets(),
            target.id.namespace.as_deref(),
            &selector.join(","),
        )
        .await
        .unwrap_or_default();
    listed
        .into_iter()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["controller"] == true && o["uid"].as_str() == Some(owner))
        })
        .map(|mut rs| {
            typed(&replica_sets(), &mut rs);
            rs
        })
        .collect()
}

/// The Deployment's ReplicaSet of its current revision.
async fn current_replica_set(
    cluster: &Cluster,
    target: &Target,
    deployment: &Value,
) -> Option<Value> {
    const REVISION: &str = "deployment.kubernetes.io/revision";
    let revision = deployment["metadata"]["annotations"][REVISION].as_str()?;
    owned_replica_sets(cluster, target, deployment)
        .await
        .into_iter()
        .find(|rs| rs["metadata"]["annotations"][REVISION].as_str() == Some(revision))
}

/// A pod's namespace and name.
fn pod_key(pod: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    (
        text(&pod["metadata"]["namespace"]),
        text(&pod["metadata"]["name"]),
    )
}

/// Whether the pod belongs to a ReplicaSet that no longer wants any pods (the old revision of
/// a Deployment being rolled forward or back).
async fn retired(cluster: &Cluster, pod: &Value) -> bool {
    let Some(owner) = pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["kind"] == "ReplicaSet" && o["controller"] == true)
    else {
        return false;
    };
    let id = ObjectRef {
        group: "apps".into(),
        version: "v1".into(),
        kind: "ReplicaSet".into(),
        namespace: pod["metadata"]["namespace"].as_str().map(str::to_string),
        name: owner["name"].as_str().unwrap_or("").to_string(),
    };
    match cluster.get(&replica_sets(), &id).await {
        Ok(Some(rs)) => rs["spec"]["replicas"].as_i64() == Some(0),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// An object's identity; lists leave out `apiVersion` and `kind`, so they come from the watch.
fn identity(resource: &Resource, object: &Value) -> (String, String, Option<String>, String) {
    (
        resource.group.clone(),
        resource.kind.clone(),
        object["metadata"]["namespace"].as_str().map(str::to_string),
        object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

/// The rules look at `apiVersion` and `kind`, which list responses leave out of their items.
fn typed(resource: &Resource, object: &mut Value) {
    if let Some(map) = object.as_object_mut() {
        let api_version = if resource.group.is_empty() {
            resource.version.clone()
        } else {
            format!("{}/{}", resource.group, resource.version)
        };
        map.entry("apiVersion")
            .or_insert(Value::String(api_version));
        map.entry("kind")
            .or_insert(Value::String(resource.kind.clone()));
    }
}

fn is_load_balancer(object: &Value) -> bool {
    object["spec"]["type"] == "LoadBalancer" && object["spec"]["ports"].is_array()
}

async fn events_of(cluster: &Cluster, id: &ObjectRef) -> Vec<String> {
    match &id.namespace {
        Some(ns) => cluster
            .recent_events(&Resource::core("Event", "events"), ns, &id.name, 5)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    }
}
