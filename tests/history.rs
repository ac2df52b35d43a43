//! History, status and rollback, each from a fresh process with nothing but the cluster and
//! the git repository; and `--atomic`.

mod common;

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, report, waiting};
use common::{cluster, configmap};

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

    let entries = app.history();
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
    let entries = app.history();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["kind"], "rollback");
    assert_eq!(entries[2]["sha"], first.as_str());

    let run = app.run("rollback", &["--to", "deadbeef"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("no successful recorded deploy matches `deadbeef`"),
        "{}",
        run.stderr
    );
}

/// The broken image a failed rollout tries; the test plays the kubelet that cannot pull it.
const BROKEN: &str = "registry.invalid/kpush/web:broken";

/// Applies with `extra`, reports the new pod of `web` unable to pull its image, and returns
/// the run, which must exit 4.
#[track_caller]
fn broken_rollout(cluster: &common::TestCluster, app: &AppRepo, extra: &[&str]) -> common::Run {
    let deploy = app.spawn_apply(extra);
    let pod = pod_of(cluster, app.ns(), "app=web");
    report(cluster, app.ns(), &pod, &waiting(BROKEN, "ErrImagePull"));
    let run = deploy.join().unwrap();
    run.expect_code(4);
    run
}

/// `--atomic` puts back exactly what the last successful deploy applied, with the image that
/// deploy promoted: not the failed run's `--image` on a render of the old commit.
#[test]
fn atomic_puts_back_what_the_last_success_applied() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-atomic");
    app.write("web.yaml", deployment(0, "nginx:1.25"))
        .write("old.yaml", configmap("old", "1"))
        .deploy("good", &["--image", "nginx:1.27"]);
    assert_eq!(image(&app), "nginx:1.27");

    app.write("web.yaml", deployment(1, "nginx:1.25"))
        .remove("old.yaml")
        .commit("bad");
    let run = broken_rollout(
        &cluster,
        &app,
        &["--atomic", "--prune", "--confirm-prune", "--image", BROKEN],
    );
    assert!(
        run.stderr
            .contains("--atomic: rolling app back to revision 1"),
        "{}",
        run.stderr
    );
    assert_eq!(image(&app), "nginx:1.27", "{}", run.all());
    let live = app.get("deployment", "web").unwrap();
    assert_eq!(live["spec"]["replicas"], 0);
    assert!(app.get("cm", "old").is_some(), "nothing pruned");
    let entries = app.history();
    let kinds: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("deploy", "succeeded"),
            ("deploy", "unhealthy"),
            ("atomic-rollback", "succeeded")
        ],
        "{}",
        run.all()
    );
    assert!(
        entries[1]["reason"]
            .as_str()
            .unwrap()
            .contains("ErrImagePull"),
        "{}",
        entries[1]
    );
}

/// Failed deploys are recorded with their reason, and `rollback` skips them: it goes back to
/// the last successful deploy before the one that is live.
#[test]
fn failed_deploys_are_recorded_and_rollback_skips_them() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-failed");
    app.write("web.yaml", deployment(0, "nginx:1.26"))
        .deploy("one", &[]);
    let good = app
        .write("web.yaml", deployment(0, "nginx:1.27"))
        .write("added.yaml", configmap("added", "1"))
        .deploy("two", &[]);
    app.write("web.yaml", deployment(1, BROKEN)).commit("three");
    broken_rollout(&cluster, &app, &["--timeout", "60s"]);

    let entries = app.history();
    let outcomes: Vec<&str> = entries
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["succeeded", "succeeded", "unhealthy"]);
    let text = app.run("history", &[]);
    assert!(text.stdout.contains("unhealthy"), "{}", text.stdout);
    assert!(text.stdout.contains("ErrImagePull"), "{}", text.stdout);

    // The failed revision 3 is live: back to revision 2, keeping what it added.
    let run = app.run("rollback", &["--prune"]);
    run.expect_code(0);
    assert!(run.stderr.contains("back to revision 2"), "{}", run.stderr);
    assert_eq!(image(&app), "nginx:1.27");
    assert!(app.get("cm", "added").is_some(), "{}", run.all());
    let last = app.history().pop().unwrap();
    assert_eq!(last["kind"], "rollback");
    assert_eq!(last["sha"], good.as_str());
}

/// Someone edits the inventory Secret by hand (`kubectl annotate`, `kubectl edit`): the next
/// deploys still record their history instead of failing after writing their objects, and the
/// hand-made edit of kpush's own record is taken back.
#[test]
fn a_hand_edit_of_the_inventory_does_not_break_later_deploys() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-parent-edit",
        &[("cm.yaml", &configmap("a", "1"))],
    );
    cluster
        .kubectl(&[
            "annotate",
            "secret",
            "kpush-app",
            "-n",
            app.ns(),
            "--overwrite",
            "kpush.dev/history=[]",
            "kpush.dev/note=hand-made",
        ])
        .expect_code(0);
    app.write("cm.yaml", configmap("a", "2")).deploy("v2", &[]);
    app.write("cm.yaml", configmap("a", "3")).deploy("v3", &[]);
    let entries = app.history();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let parent = app.get("secret", "kpush-app").unwrap();
    // An annotation kpush does not manage stays as the person left it.
    assert_eq!(
        parent["metadata"]["annotations"]["kpush.dev/note"],
        "hand-made"
    );
}
