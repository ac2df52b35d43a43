//! Workloads whose pods can never be created end the health wait at once, with the cause the
//! controller reported; a wait that times out says why it is stuck. Each run has a long
//! `--timeout`, and must end long before it.

mod common;

use std::time::{Duration, Instant};

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, ready, report};
use common::{cluster, deployment, job, with_service_account};

/// Far longer than any of these runs may take.
const LONG: &str = "300s";
/// A run that fails fast ends well within this.
const FAST: Duration = Duration::from_secs(90);

/// `apply --timeout 300s`, timed.
fn timed_apply(app: &AppRepo<'_>) -> (common::Run, Duration) {
    let started = Instant::now();
    let run = app.apply(&["--timeout", LONG]);
    (run, started.elapsed())
}

/// The run failed fast (exit 4, not a timeout, well before it), naming `object` and `cause`.
#[track_caller]
fn failed_fast(run: &common::Run, elapsed: Duration, object: &str, cause: &str) {
    run.expect_code(4);
    assert!(elapsed < FAST, "took {elapsed:?}: {}", run.all());
    assert!(!run.stdout.contains("not healthy after"), "{}", run.all());
    assert!(
        run.stdout.contains(object),
        "{object} not named: {}",
        run.all()
    );
    assert!(
        run.stdout.contains(cause),
        "{cause} not said: {}",
        run.all()
    );
}

#[test]
fn a_deployment_whose_service_account_is_missing_fails_fast_with_the_cause() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-ff-sa");
    let web = with_service_account(&deployment("web", 1, "nginx:1.27"), "missing");
    app.write("web.yaml", web).commit("web");
    let (run, elapsed) = timed_apply(&app);
    failed_fast(
        &run,
        elapsed,
        &format!("Deployment/{}/web", app.ns()),
        "serviceaccount \"missing\" not found",
    );
    assert!(
        run.stdout.contains("cannot create its pods"),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("FailedCreate"), "{}", run.all());
}

#[test]
fn a_job_whose_service_account_is_missing_fails_fast_with_the_cause() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-ff-job");
    app.write("job.yaml", with_service_account(&job("migrate"), "missing"))
        .commit("job");
    let (run, elapsed) = timed_apply(&app);
    failed_fast(
        &run,
        elapsed,
        &format!("Job/{}/migrate", app.ns()),
        "serviceaccount \"missing\" not found",
    );
}

#[test]
fn pods_that_violate_pod_security_fail_fast_with_the_cause() {
    let cluster = cluster();
    // PodSecurity admission enforces from 1.23 (beta); the oldest lane has none.
    let minor = common::server_minor_of(&cluster);
    if minor < 23 {
        eprintln!("PodSecurity admission is not in Kubernetes 1.{minor}");
        return;
    }
    let app = AppRepo::new(&cluster, "kp-ff-psa");
    cluster
        .kubectl(&[
            "label",
            "namespace",
            app.ns(),
            "pod-security.kubernetes.io/enforce=restricted",
        ])
        .expect_code(0);
    app.write("web.yaml", deployment("web", 1, "nginx:1.27"))
        .commit("web");
    let (run, elapsed) = timed_apply(&app);
    failed_fast(
        &run,
        elapsed,
        &format!("Deployment/{}/web", app.ns()),
        "violates PodSecurity \"restricted:latest\"",
    );
}

#[test]
fn a_statefulset_whose_pods_exceed_a_quota_fails_fast_with_the_cause() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-ff-quota");
    cluster.apply_yaml(
        "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: no-pods\nspec:\n  hard:\n    pods: \"0\"\n",
        &["-n", app.ns()],
    );
    // Admission counts against the quota once its controller has written the usage.
    common::until("the quota's usage", Duration::from_secs(30), || {
        app.get("resourcequota", "no-pods")
            .is_some_and(|q| q["status"]["used"]["pods"].is_string())
    });
    app.write(
        "db.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 1
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: main
          image: postgres:17
",
    )
    .commit("db");
    let (run, elapsed) = timed_apply(&app);
    failed_fast(
        &run,
        elapsed,
        &format!("StatefulSet/{}/db", app.ns()),
        "exceeded quota: no-pods",
    );
}

/// An admission policy that denies the pods of a bare ReplicaSet: its controller reports
/// the denial in a `FailedCreate` event and a `ReplicaFailure` condition.
#[test]
fn a_replicaset_whose_pods_an_admission_policy_denies_fails_fast_with_the_cause() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-ff-policy");
    let Some(_policy) = common::policy::refuse(
        &cluster,
        app.ns(),
        "apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods, configmaps]",
        "object.kind != 'Pod' && (!has(object.data) || !('value' in object.data) || object.data['value'] != 'v')",
        "pods are reviewed before they run here",
    ) else {
        eprintln!("admission policies are served from Kubernetes 1.30");
        return;
    };
    app.write(
        "web.yaml",
        "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: main
          image: nginx:1.27
",
    )
    .commit("web");
    let (run, elapsed) = timed_apply(&app);
    failed_fast(
        &run,
        elapsed,
        &format!("ReplicaSet/{}/web", app.ns()),
        "pods are reviewed before they run here",
    );
}

/// The ordinary race: the ServiceAccount comes a moment after its Deployment (another
/// pipeline, a controller). The controller's first attempts fail, then it creates the pod.
#[test]
fn a_service_account_that_comes_a_moment_later_is_not_a_failure() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-ff-race");
    let web = with_service_account(&deployment("web", 1, "nginx:1.27"), "late");
    app.write("web.yaml", web).commit("web");
    let deploy = app.spawn_apply(&["--timeout", LONG]);
    common::until(
        "the ReplicaSet to fail to create its pod",
        Duration::from_secs(60),
        || {
            let events = cluster.kubectl(&[
                "get",
                "events",
                "-n",
                app.ns(),
                "--field-selector",
                "reason=FailedCreate",
                "-o",
                "name",
            ]);
            !events.stdout.trim().is_empty()
        },
    );
    std::thread::sleep(Duration::from_secs(1));
    cluster
        .kubectl(&["create", "serviceaccount", "late", "-n", app.ns()])
        .expect_code(0);
    let pod = pod_of(&cluster, app.ns(), "app=web");
    report(&cluster, app.ns(), &pod, &ready("nginx:1.27"));
    let run = deploy.join().unwrap();
    run.expect_code(0);
    assert!(run.stdout.contains("Healthy"), "{}", run.all());
}

#[test]
fn a_deployment_past_its_progress_deadline_fails_at_once() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-ff-deadline");
    let web = deployment("web", 1, "nginx:1.27").replace(
        "spec:\n  replicas: 1\n",
        "spec:\n  progressDeadlineSeconds: 3\n  replicas: 1\n",
    );
    assert!(web.contains("progressDeadlineSeconds"));
    app.write("web.yaml", web).commit("web");
    // The pod is created but never becomes ready: the controller gives up after 3 s.
    let (run, elapsed) = timed_apply(&app);
    failed_fast(
        &run,
        elapsed,
        &format!("Deployment/{}/web", app.ns()),
        "progress deadline exceeded",
    );
}

/// A wait that runs out says why each object is stuck: the warnings of the object and of
/// what it owns.
#[test]
fn a_timeout_names_the_latest_warnings_of_what_it_waited_for() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-ff-timeout");
    app.write("web.yaml", deployment("web", 1, "nginx:1.27"))
        .write(
            "data.yaml",
            "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: no-such-class
  resources:
    requests:
      storage: 1Gi
",
        )
        .commit("web and data");
    let deploy = app.spawn_apply(&["--timeout", "20s"]);
    // A kubelet would report the failing probe as a warning on the pod.
    let pod = pod_of(&cluster, app.ns(), "app=web");
    let uid = cluster.get("pod", Some(app.ns()), &pod).expect("the pod")["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.apply_yaml(
        format!(
            "apiVersion: v1
kind: Event
metadata:
  name: {pod}.probe
type: Warning
reason: Unhealthy
message: 'Readiness probe failed: HTTP probe failed with statuscode: 503'
count: 3
firstTimestamp: '2026-01-01T00:00:00Z'
lastTimestamp: '2030-01-01T00:00:00Z'
involvedObject:
  kind: Pod
  name: {pod}
  namespace: {ns}
  uid: {uid}
  apiVersion: v1
",
            ns = app.ns()
        ),
        &["-n", app.ns()],
    );
    let run = deploy.join().unwrap();
    run.expect_code(4);
    assert!(run.stdout.contains("not healthy after"), "{}", run.all());
    assert!(
        run.stdout.contains(&format!(
            "warning: Pod {pod}: Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503 (3 times)"
        )),
        "{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains("warning: PersistentVolumeClaim data: ProvisioningFailed: storageclass.storage.k8s.io \"no-such-class\" not found"),
        "{}",
        run.all()
    );
}
