//! History, status and rollback, each from a fresh process with nothing but the cluster and
//! the git repository; and `--atomic`.

mod common;

use common::kubelet::{pod_of, report, waiting};
use common::{GitRepo, TestCluster, cluster, configmap};
use serde_json::Value;

fn deployment(replicas: u32, image: &str) -> String {
    common::deployment("web", replicas, image)
}

fn image(cluster: &TestCluster, ns: &str) -> String {
    let live = cluster.get("deployment", Some(ns), "web").unwrap();
    live["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

fn history(cluster: &TestCluster, repo: &GitRepo, ns: &str) -> Vec<Value> {
    let run = cluster.kpush(repo.path(), &["history", "app", "-n", ns, "-o", "json"]);
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    doc["apps"][0]["history"].as_array().unwrap().clone()
}

#[test]
fn history_status_and_rollback_need_only_the_cluster_and_the_repo() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-history");
    let repo = GitRepo::new();
    repo.write("app/web.yaml", deployment(0, "nginx:1.27"))
        .write("app/cm.yaml", configmap("a", "1"));
    let first = repo.commit("v1");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    repo.write("app/web.yaml", deployment(0, "nginx:1.28"));
    let second = repo.commit("v2");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);

    let entries = history(&cluster, &repo, &ns.name);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["sha"], first.as_str());
    assert_eq!(entries[1]["sha"], second.as_str());
    assert_eq!(entries[1]["images"][0], "nginx:1.28");
    assert_eq!(entries[1]["kind"], "deploy");
    let text = cluster.kpush(repo.path(), &["history", "app", "-n", &ns.name]);
    assert!(
        text.stdout.contains(&first[..7]) && text.stdout.contains(&second[..7]),
        "{}",
        text.stdout
    );

    let status = cluster.kpush(repo.path(), &["status", "app", "-n", &ns.name]);
    status.expect_code(0);
    assert!(status.stdout.contains("revision 2"), "{}", status.stdout);
    assert!(
        status
            .stdout
            .contains(&format!("Deployment/{}/web", ns.name)),
        "{}",
        status.stdout
    );

    let run = cluster.kpush(
        repo.path(),
        &["rollback", "app", "-n", &ns.name, "--to", &first[..10]],
    );
    run.expect_code(0);
    assert_eq!(image(&cluster, &ns.name), "nginx:1.27");
    let entries = history(&cluster, &repo, &ns.name);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["kind"], "rollback");
    assert_eq!(entries[2]["sha"], first.as_str());

    let run = cluster.kpush(
        repo.path(),
        &["rollback", "app", "-n", &ns.name, "--to", "deadbeef"],
    );
    run.expect_code(3);
    assert!(
        run.stderr.contains("no recorded deploy matches `deadbeef`"),
        "{}",
        run.stderr
    );
}

#[test]
fn atomic_puts_the_previous_revision_back_after_a_failed_rollout() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-atomic");
    let repo = GitRepo::new();
    repo.write("app/web.yaml", deployment(0, "nginx:1.27"))
        .write("app/old.yaml", configmap("old", "1"));
    repo.commit("good");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);

    let bad = "registry.invalid/kpush/web:broken";
    repo.write("app/web.yaml", deployment(1, bad))
        .remove("app/old.yaml")
        .commit("bad");
    let deploy = cluster.spawn_kpush(
        repo.path(),
        &[
            "apply",
            "app",
            "-n",
            &ns.name,
            "--atomic",
            "--prune",
            "--confirm-prune",
        ],
    );
    // Play the kubelet: the new pod cannot pull its image.
    let pod = pod_of(&cluster, &ns.name, "app=web");
    report(&cluster, &ns.name, &pod, &waiting(bad, "ErrImagePull"));
    let run = deploy.join().unwrap();
    run.expect_code(4);
    assert!(
        run.stderr
            .contains("--atomic: rolling app back to revision 1"),
        "{}",
        run.stderr
    );
    assert_eq!(image(&cluster, &ns.name), "nginx:1.27");
    assert!(
        cluster.get("cm", Some(&ns.name), "old").is_some(),
        "nothing pruned"
    );
    let entries = history(&cluster, &repo, &ns.name);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["deploy", "atomic-rollback"], "{}", run.all());
}
