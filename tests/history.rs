//! History, status and rollback, each from a fresh process with nothing but the cluster and
//! the git repository; and `--atomic`.

mod common;

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, report, waiting};
use common::{cluster, configmap};
use serde_json::Value;

fn deployment(replicas: u32, image: &str) -> String {
    common::deployment("web", replicas, image)
}

fn image(app: &AppRepo) -> String {
    let live = app.get("deployment", "web").unwrap();
    live["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

fn history(app: &AppRepo) -> Vec<Value> {
    let run = app.run("history", &["-o", "json"]);
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    doc["apps"][0]["history"].as_array().unwrap().clone()
}

#[test]
fn history_status_and_rollback_need_only_the_cluster_and_the_repo() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-history");
    let first = app
        .write("web.yaml", deployment(0, "nginx:1.27"))
        .write("cm.yaml", configmap("a", "1"))
        .deploy("v1", &[]);
    let second = app
        .write("web.yaml", deployment(0, "nginx:1.28"))
        .deploy("v2", &[]);

    let entries = history(&app);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["sha"], first.as_str());
    assert_eq!(entries[1]["sha"], second.as_str());
    assert_eq!(entries[1]["images"][0], "nginx:1.28");
    assert_eq!(entries[1]["kind"], "deploy");
    let text = app.run("history", &[]);
    assert!(
        text.stdout.contains(&first[..7]) && text.stdout.contains(&second[..7]),
        "{}",
        text.stdout
    );

    let status = app.run("status", &[]);
    status.expect_code(0);
    assert!(status.stdout.contains("revision 2"), "{}", status.stdout);
    assert!(
        status
            .stdout
            .contains(&format!("Deployment/{}/web", app.ns())),
        "{}",
        status.stdout
    );

    let run = app.run("rollback", &["--to", &first[..10]]);
    run.expect_code(0);
    assert_eq!(image(&app), "nginx:1.27");
    let entries = history(&app);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["kind"], "rollback");
    assert_eq!(entries[2]["sha"], first.as_str());

    let run = app.run("rollback", &["--to", "deadbeef"]);
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
    let app = AppRepo::new(&cluster, "kp-atomic");
    app.write("web.yaml", deployment(0, "nginx:1.27"))
        .write("old.yaml", configmap("old", "1"))
        .deploy("good", &[]);

    let bad = "registry.invalid/kpush/web:broken";
    app.write("web.yaml", deployment(1, bad))
        .remove("old.yaml")
        .commit("bad");
    let deploy = app.spawn_apply(&["--atomic", "--prune", "--confirm-prune"]);
    // Play the kubelet: the new pod cannot pull its image.
    let pod = pod_of(&cluster, app.ns(), "app=web");
    report(&cluster, app.ns(), &pod, &waiting(bad, "ErrImagePull"));
    let run = deploy.join().unwrap();
    run.expect_code(4);
    assert!(
        run.stderr
            .contains("--atomic: rolling app back to revision 1"),
        "{}",
        run.stderr
    );
    assert_eq!(image(&app), "nginx:1.27");
    assert!(app.get("cm", "old").is_some(), "nothing pruned");
    let entries = history(&app);
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["deploy", "atomic-rollback"], "{}", run.all());
}
