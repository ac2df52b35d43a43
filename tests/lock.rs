//! The deploy lock serialises decisions, not only writes: a run that waited for another plans
//! again, writes nothing (not even a namespace) before it holds the lock, stops writing when
//! the lock stops being its own, and never deploys a commit older than the one deployed last.

mod common;

use std::time::Duration;

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, report, terminated};
use common::{TestCluster, cluster, configmap, unique, until};

/// The lease's holder; empty when it is free or absent.
fn holder(cluster: &TestCluster, ns: &str) -> String {
    cluster
        .get("lease", Some(ns), "kpush-app")
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
        .unwrap_or_default()
}

fn set_holder(cluster: &TestCluster, ns: &str, who: &str) {
    let patch = format!("{{\"spec\":{{\"holderIdentity\":\"{who}\"}}}}");
    cluster
        .kubectl(&[
            "patch",
            "lease",
            "kpush-app",
            "-n",
            ns,
            "--type=merge",
            "-p",
            &patch,
        ])
        .expect_code(0);
}

/// Two pipelines plan while a third deploy holds the lock, then run one after the other. Each
/// planned against a cluster that changed before it wrote: with those plans, the second would
/// leave the first's Deployment behind unpruned and dropped from the inventory, write the
/// history over the first's entry, or put an older commit back over a newer one.
#[test]
fn runs_that_waited_for_the_lock_plan_again() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "lock-stale");
    let first = app.write("a.yaml", configmap("a", "1")).deploy("one", &[]);
    let older = app
        .write("web.yaml", common::deployment("web", 0, "nginx:1.27"))
        .write("b.yaml", configmap("b", "1"))
        .commit("two");
    let newer = app
        .remove("web.yaml")
        .remove("b.yaml")
        .write("c.yaml", configmap("c", "1"))
        .commit("three");

    cluster.hold_lock(app.ns(), "pipeline-42", None);
    let late = app.start_apply(&["--rev", &older, "--prune", "--lock-timeout", "120"]);
    let current = app.start_apply(&["--rev", &newer, "--prune", "--lock-timeout", "120"]);
    until(
        "both runs to plan and wait",
        Duration::from_secs(60),
        || {
            late.stderr().contains("waiting for the deploy lock")
                && current.stderr().contains("waiting for the deploy lock")
        },
    );
    set_holder(&cluster, app.ns(), "");
    let (late, _) = late.finish();
    let (current, _) = current.finish();

    current.expect_code(0);
    assert!(
        current.stdout.contains("planning again"),
        "{}",
        current.all()
    );
    // The older commit either ran first (and the newer run pruned what it added) or is
    // refused for being older than what was deployed meanwhile.
    match late.code {
        0 => {}
        3 => assert!(
            late.stderr.contains("is older than commit"),
            "{}",
            late.all()
        ),
        _ => panic!("{}", late.all()),
    }
    assert!(app.get("deployment", "web").is_none(), "{}", current.all());
    assert!(app.get("cm", "b").is_none(), "{}", current.all());
    assert!(app.get("cm", "a").is_some() && app.get("cm", "c").is_some());
    let entries = app.history();
    let recorded: Vec<String> = entries
        .iter()
        .map(|e| e["sha"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(recorded.first(), Some(&first), "{recorded:?}");
    assert_eq!(recorded.last(), Some(&newer), "{recorded:?}");
    if late.code == 0 {
        assert_eq!(recorded, [first.clone(), older, newer]);
    }
    let parent = cluster.get("secret", Some(app.ns()), "kpush-app").unwrap();
    let kinds = parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap();
    assert_eq!(kinds, "ConfigMap", "{}", current.all());
    assert_eq!(holder(&cluster, app.ns()), "", "the lock is free again");
}

/// A run that cannot get the lock writes nothing, not even the namespaces it would create.
#[test]
fn namespaces_are_created_under_the_lock() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "lock-ns");
    let other = unique("lock-ns-other");
    let _cleanup = cluster.cleanup("namespace", &other);
    app.write(
        "cm.yaml",
        configmap("elsewhere", "1")
            .replace("metadata:\n", &format!("metadata:\n  namespace: {other}\n")),
    )
    .commit("one");
    cluster.hold_lock(app.ns(), "pipeline-42", None);
    let run = app.apply(&["--create-namespace", "--lock-timeout", "2"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("another deploy holds the lock"),
        "{}",
        run.stderr
    );
    assert!(
        cluster.get("namespace", None, &other).is_none(),
        "a namespace was created without the lock"
    );

    set_holder(&cluster, app.ns(), "");
    app.apply(&["--create-namespace"]).expect_code(0);
    assert!(cluster.get("cm", Some(&other), "elsewhere").is_some());
}

/// A run whose lease another run took over (it was too slow to renew, as another run saw it)
/// stops writing: no later wave, no prune, no history entry.
#[test]
fn a_run_that_lost_its_lock_stops_writing() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "lock-lost");
    app.write("old.yaml", configmap("old", "1"))
        .deploy("one", &[]);
    let image = "registry.example/migrate:1";
    app.remove("old.yaml")
        .write(
            "job.yaml",
            format!(
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    argocd.argoproj.io/sync-wave: \"0\"\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: {image}\n"
            ),
        )
        .write(
            "late.yaml",
            configmap("late", "1").replace(
                "metadata:\n",
                "metadata:\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n",
            ),
        )
        .commit("two");
    let run = app.start_apply(&["--prune", "--timeout", "120s"]);
    let pod = pod_of(&cluster, app.ns(), "job-name=migrate");
    set_holder(&cluster, app.ns(), "thief-7");
    // The run renews every 10 seconds: by then it has seen the lease is no longer its own.
    std::thread::sleep(Duration::from_secs(12));
    report(&cluster, app.ns(), &pod, &terminated(image, "Succeeded", 0));
    let (run, _) = run.finish();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("lost the deploy lock"), "{}", run.all());
    assert!(app.get("cm", "late").is_none(), "a later wave was written");
    assert!(app.get("cm", "old").is_some(), "pruned without the lock");
    assert_eq!(
        holder(&cluster, app.ns()),
        "thief-7",
        "the other holder's lock"
    );
    assert_eq!(app.history().len(), 1, "history written without the lock");
}

/// A commit older than the one deployed last is refused: a CI job of an older pipeline that
/// ran late must not undo a newer deploy. `--allow-outdated` and `rollback` go back on purpose.
#[test]
fn an_older_commit_than_the_deployed_one_is_refused() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "lock-old");
    let one = app.write("a.yaml", configmap("a", "1")).deploy("one", &[]);
    let two = app.write("a.yaml", configmap("a", "2")).deploy("two", &[]);

    let run = app.apply(&["--rev", &one]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(&format!(
            "commit {} is older than commit {}",
            &one[..7],
            &two[..7]
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--allow-outdated"), "{}", run.stderr);
    let a = app.get("cm", "a").unwrap();
    assert_eq!(a["data"]["value"], "2");

    // A retry of the same commit is fine.
    app.apply(&["--rev", &two]).expect_code(0);
    app.apply(&["--rev", &one, "--allow-outdated"])
        .expect_code(0);
    assert_eq!(app.get("cm", "a").unwrap()["data"]["value"], "1");
    app.run("rollback", &["--to", &two[..8]]).expect_code(0);
    assert_eq!(app.get("cm", "a").unwrap()["data"]["value"], "2");
}
