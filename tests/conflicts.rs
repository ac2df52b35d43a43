//! Fields owned by someone else, and fields that cannot change: conflicts are reported unless
//! forced or healed, immutable fields are replaced only when asked.

mod common;

use common::app_repo::AppRepo;
use common::{cluster, configmap, write_file};

fn hand_edit(app: &AppRepo, value: &str) {
    app.cluster
        .kubectl(&[
            "patch",
            "cm",
            "settings",
            "-n",
            app.ns(),
            "--type=merge",
            "-p",
            &format!(r#"{{"data":{{"value":"{value}"}}}}"#),
        ])
        .expect_code(0);
}

fn value(app: &AppRepo) -> String {
    app.get("cm", "settings").unwrap()["data"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn conflicts_are_reported_unless_forced() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-conflict",
        &[("cm.yaml", &configmap("settings", "from-git"))],
    );
    hand_edit(&app, "by-hand");
    app.write("cm.yaml", configmap("settings", "from-git-2"))
        .commit("two");

    let run = app.apply(&[]);
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
    assert_eq!(value(&app), "by-hand");

    app.apply(&["--force-conflicts"]).expect_code(0);
    assert_eq!(value(&app), "from-git-2");
}

#[test]
fn self_heal_takes_back_hand_edits_but_not_controllers_fields() {
    let cluster = cluster();
    // The app definition names the app and its namespace: commands take no arguments.
    let app = AppRepo::new(&cluster, "kp-heal");
    app.repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: app}}\nspec:\n  source: {{path: app}}\n  destination: {{namespace: {}}}\n  syncPolicy: {{automated: {{selfHeal: true}}}}\n",
            app.ns()
        ),
    );
    app.write("cm.yaml", configmap("settings", "from-git"))
        .commit("one");
    app.kpush(&["apply"]).expect_code(0);
    hand_edit(&app, "by-hand");
    app.write("cm.yaml", configmap("settings", "from-git-2"))
        .commit("two");
    app.kpush(&["apply"]).expect_code(0);
    assert_eq!(value(&app), "from-git-2");

    // A controller's field stays its own: the conflict is reported.
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "cm.yaml",
        configmap("settings", "controller").replace(
            "metadata:\n",
            &format!("metadata:\n  namespace: {}\n", app.ns()),
        ),
    );
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
    app.write("cm.yaml", configmap("settings", "from-git-3"))
        .commit("three");
    let run = app.kpush(&["apply"]);
    run.expect_code(1);
    assert!(run.stdout.contains("scaler-controller"), "{}", run.stdout);
    assert_eq!(value(&app), "controller");
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
    let app = AppRepo::new(&cluster, "kp-replace");
    app.write("job.yaml", job("busybox:1.36", false))
        .deploy("one", &["--no-wait"]);
    let uid = app.get("job", "migrate").unwrap()["metadata"]["uid"].clone();

    app.write("job.yaml", job("busybox:1.37", false))
        .commit("two");
    let run = app.apply(&["--no-wait"]);
    run.expect_code(3);
    assert!(run.stdout.contains("immutable"), "{}", run.stdout);
    assert!(
        run.stdout.contains("kpush.dev/replace"),
        "hint: {}",
        run.stdout
    );

    app.write("job.yaml", job("busybox:1.37", true))
        .commit("three");
    let run = app.apply(&["--no-wait"]);
    run.expect_code(0);
    let live = app.get("job", "migrate").unwrap();
    assert_ne!(live["metadata"]["uid"], uid, "re-created");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "busybox:1.37"
    );
}
