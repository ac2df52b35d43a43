//! A cancelled job (SIGTERM from the CI system, SIGINT from Ctrl-C): no new write starts,
//! nothing is pruned, the deploy lock is released, the exit is non-zero, and the next run
//! finishes the job.

mod common;

use std::time::{Duration, Instant};

use common::background::Background;
use common::{GitRepo, TestCluster, cluster, configmap, deployment, until};

fn spawn(cluster: &TestCluster, repo: &GitRepo, args: &[&str]) -> Background {
    Background::start(repo.path(), &cluster.kubeconfig, args)
}

fn lease_exists(cluster: &TestCluster, ns: &str, app: &str) -> bool {
    let run = cluster.kubectl(&[
        "get",
        "lease",
        app,
        "-n",
        ns,
        "--ignore-not-found",
        "-o",
        "name",
    ]);
    !run.stdout.trim().is_empty()
}

#[test]
fn sigterm_during_the_health_wait_stops_without_pruning() {
    let cluster = cluster();
    let ns = cluster.namespace("cancel-wait");
    let repo = GitRepo::new();
    repo.write("app/old.yaml", configmap("old", "1"))
        .commit("one");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"])
        .expect_code(0);

    // No kubelet runs this Deployment: the wait lasts until the signal.
    repo.remove("app/old.yaml")
        .write(
            "app/web.yaml",
            deployment("web", 1, "registry.example/web:1"),
        )
        .commit("two");
    let child = spawn(
        &cluster,
        &repo,
        &[
            "apply",
            "app",
            "-n",
            &ns.name,
            "--prune",
            "--timeout",
            "120s",
        ],
    );
    until(
        "the Deployment to be written",
        Duration::from_secs(60),
        || cluster.get("deployment", Some(&ns.name), "web").is_some(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        lease_exists(&cluster, &ns.name, "kpush-app"),
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
        cluster.get("configmap", Some(&ns.name), "old").is_some(),
        "pruned after a cancel"
    );
    assert!(
        !lease_exists(&cluster, &ns.name, "kpush-app"),
        "the lock was not released"
    );

    // The next run takes the lock at once and finishes the job.
    let run = cluster.kpush(
        repo.path(),
        &["apply", "app", "-n", &ns.name, "--prune", "--no-wait"],
    );
    run.expect_code(0);
    assert!(
        cluster.get("configmap", Some(&ns.name), "old").is_none(),
        "{}",
        run.all()
    );
}

#[test]
fn sigint_during_the_writes_starts_no_new_write() {
    let cluster = cluster();
    let ns = cluster.namespace("cancel-apply");
    let repo = GitRepo::new();
    // One object is in the inventory and no longer rendered: it must survive the cancel.
    repo.write("app/doomed.yaml", configmap("zz-doomed", "1"))
        .commit("first");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"])
        .expect_code(0);
    let n = 600;
    for i in 0..n {
        repo.write(
            &format!("app/cm-{i:04}.yaml"),
            configmap(&format!("cm-{i:04}"), "v"),
        );
    }
    repo.remove("app/doomed.yaml").commit("many");

    let child = spawn(
        &cluster,
        &repo,
        &[
            "apply",
            "app",
            "-n",
            &ns.name,
            "--prune",
            "--no-wait",
            "--concurrency",
            "1",
        ],
    );
    let count = || {
        let run = cluster.kubectl(&["get", "configmaps", "-n", &ns.name, "-o", "name"]);
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
        cluster
            .get("configmap", Some(&ns.name), "zz-doomed")
            .is_some(),
        "pruned after a cancel"
    );
    assert!(!lease_exists(&cluster, &ns.name, "kpush-app"));

    let run = cluster.kpush(
        repo.path(),
        &["apply", "app", "-n", &ns.name, "--prune", "--no-wait"],
    );
    run.expect_code(0);
    assert_eq!(count(), n);
    assert!(
        cluster
            .get("configmap", Some(&ns.name), "zz-doomed")
            .is_none()
    );
}
