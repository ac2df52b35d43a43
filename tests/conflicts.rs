//! Fields owned by someone else, and fields that cannot change: conflicts are reported unless
//! forced or healed, immutable fields are replaced only when asked.

mod common;

use common::{GitRepo, TestCluster, cluster, configmap};

fn hand_edit(cluster: &TestCluster, ns: &str, value: &str) {
    cluster
        .kubectl(&[
            "patch",
            "cm",
            "settings",
            "-n",
            ns,
            "--type=merge",
            "-p",
            &format!(r#"{{"data":{{"value":"{value}"}}}}"#),
        ])
        .expect_code(0);
}

fn value(cluster: &TestCluster, ns: &str) -> String {
    cluster.get("cm", Some(ns), "settings").unwrap()["data"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn conflicts_are_reported_unless_forced() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-conflict");
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", configmap("settings", "from-git"))
        .commit("one");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    hand_edit(&cluster, &ns.name, "by-hand");
    repo.write("app/cm.yaml", configmap("settings", "from-git-2"))
        .commit("two");

    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("kubectl-patch"),
        "names the manager: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains(".data.value"),
        "names the field: {}",
        run.stdout
    );
    assert_eq!(value(&cluster, &ns.name), "by-hand");

    cluster
        .kpush(
            repo.path(),
            &["apply", "app", "-n", &ns.name, "--force-conflicts"],
        )
        .expect_code(0);
    assert_eq!(value(&cluster, &ns.name), "from-git-2");
}

#[test]
fn self_heal_takes_back_hand_edits_but_not_controllers_fields() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-heal");
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: app}}\nspec:\n  source: {{path: app}}\n  destination: {{namespace: {}}}\n  syncPolicy: {{automated: {{selfHeal: true}}}}\n",
            ns.name
        ),
    )
    .write("app/cm.yaml", configmap("settings", "from-git"))
    .commit("one");
    cluster.kpush(repo.path(), &["apply"]).expect_code(0);
    hand_edit(&cluster, &ns.name, "by-hand");
    repo.write("app/cm.yaml", configmap("settings", "from-git-2"))
        .commit("two");
    cluster.kpush(repo.path(), &["apply"]).expect_code(0);
    assert_eq!(value(&cluster, &ns.name), "from-git-2");

    // A controller's field stays its own: the conflict is reported.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cm.yaml");
    std::fs::write(
        &file,
        configmap("settings", "controller").replace(
            "metadata:\n",
            &format!("metadata:\n  namespace: {}\n", ns.name),
        ),
    )
    .unwrap();
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=scaler-controller",
            "-f",
            file.to_str().unwrap(),
        ])
        .expect_code(0);
    repo.write("app/cm.yaml", configmap("settings", "from-git-3"))
        .commit("three");
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(1);
    assert!(run.stdout.contains("scaler-controller"), "{}", run.stdout);
    assert_eq!(value(&cluster, &ns.name), "controller");
}

fn job(image: &str, replace: bool) -> String {
    let annotation = if replace {
        "  annotations:\n    kpush.dev/replace: \"true\"\n"
    } else {
        ""
    };
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n{annotation}spec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: main\n          image: {image}\n"
    )
}

#[test]
fn immutable_fields_need_replace() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-replace");
    let repo = GitRepo::new();
    repo.write("app/job.yaml", job("busybox:1.36", false))
        .commit("one");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"])
        .expect_code(0);
    let uid = cluster.get("job", Some(&ns.name), "migrate").unwrap()["metadata"]["uid"].clone();

    repo.write("app/job.yaml", job("busybox:1.37", false))
        .commit("two");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"]);
    run.expect_code(3);
    assert!(run.stdout.contains("immutable"), "{}", run.stdout);
    assert!(
        run.stdout.contains("kpush.dev/replace"),
        "hint: {}",
        run.stdout
    );

    repo.write("app/job.yaml", job("busybox:1.37", true))
        .commit("three");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"]);
    run.expect_code(0);
    let live = cluster.get("job", Some(&ns.name), "migrate").unwrap();
    assert_ne!(live["metadata"]["uid"], uid, "re-created");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:1.37"
    );
}
