//! A cancelled job (SIGTERM from the CI system, SIGINT from Ctrl-C): no new write starts,
//! nothing is pruned, the deploy lock is released, the exit is non-zero, and the next run
//! finishes the job.

mod common;

use std::time::{Duration, Instant};

use common::app_repo::AppRepo;
use common::{TestCluster, cluster, configmap, deployment, until};

/// Whether a run holds the lease (a released lease stays, with no holder).
fn lease_held(cluster: &TestCluster, ns: &str, app: &str) -> bool {
    cluster.get("lease", Some(ns), app).is_some_and(|l| {
        l["spec"]["holderIdentity"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    })
}

#[test]
fn sigterm_during_the_health_wait_stops_without_pruning() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "cancel-wait");
    app.write("old.yaml", configmap("old", "1"))
        .deploy("one", &["--no-wait"]);

    // No kubelet runs this Deployment: the wait lasts until the signal.
    app.remove("old.yaml")
        .write("web.yaml", deployment("web", 1, "registry.example/web:1"))
        .commit("two");
    let child = app.start_apply(&["--prune", "--timeout", "120s"]);
    until(
        "the Deployment to be written",
        Duration::from_secs(60),
        || app.get("deployment", "web").is_some(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        lease_held(&cluster, app.ns(), "kpush-app"),
        "the run holds the lock"
    );
    let signalled = Instant::now();
    child.signal("TERM");
    let (run, _) = child.finish();
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "the cancel took {:?}",
        signalled.elapsed()
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("SIGTERM received"), "{}", run.stderr);
    assert!(run.stderr.contains("error: cancelled: "), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was pruned"), "{}", run.stderr);
    assert!(
        app.get("configmap", "old").is_some(),
        "pruned after a cancel"
    );
    assert!(
        !lease_held(&cluster, app.ns(), "kpush-app"),
        "the lock was not released"
    );

    // The next run takes the lock at once and finishes the job.
    let run = app.apply(&["--prune", "--no-wait"]);
    run.expect_code(0);
    // With --no-wait the deletion is accepted, not finished: the garbage collector may still
    // be removing the object in the foreground.
    let old = app.get("configmap", "old");
    assert!(
        old.as_ref()
            .is_none_or(|o| o["metadata"]["deletionTimestamp"].is_string()),
        "{}",
        run.all()
    );
}

#[test]
fn sigint_during_the_writes_starts_no_new_write() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "cancel-apply");
    // One object is in the inventory and no longer rendered: it must survive the cancel.
    app.write("doomed.yaml", configmap("zz-doomed", "1"))
        .deploy("first", &["--no-wait"]);
    let n = 600;
    for i in 0..n {
        app.write(
            &format!("cm-{i:04}.yaml"),
            configmap(&format!("cm-{i:04}"), "v"),
        );
    }
    app.remove("doomed.yaml").commit("many");

    let child = app.start_apply(&["--prune", "--no-wait", "--concurrency", "1"]);
    let count = || {
        let run = cluster.kubectl(&["get", "configmaps", "-n", app.ns(), "-o", "name"]);
        run.stdout.lines().filter(|l| l.contains("/cm-")).count()
    };
    until("the first writes", Duration::from_secs(60), || {
        count() >= 20
    });
    child.signal("INT");
    let (run, _) = child.finish();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("SIGINT received"), "{}", run.stderr);
    let written = count();
    assert!(written < n, "all {n} objects were written after the cancel");
    assert!(
        run.stderr.contains(&format!("of {n} object(s) written")),
        "{}",
        run.stderr
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), written, "writes went on after kpush exited");
    assert!(
        app.get("configmap", "zz-doomed").is_some(),
        "pruned after a cancel"
    );
    assert!(!lease_held(&cluster, app.ns(), "kpush-app"));

    let run = app.apply(&["--prune", "--no-wait"]);
    run.expect_code(0);
    assert_eq!(count(), n);
    // `--no-wait` returns once the deletion is accepted; the garbage collector removes it.
    until(
        "the pruned object to be gone",
        Duration::from_secs(30),
        || app.get("configmap", "zz-doomed").is_none(),
    );
}
