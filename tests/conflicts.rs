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

/// The `migrate` Job with `sync-options` as its Argo CD sync options annotation.
fn argo_job(image: &str, sync_options: &str) -> String {
    job(image, false).replace(
        "  name: migrate\n",
        &format!(
            "  name: migrate\n  annotations:\n    argocd.argoproj.io/sync-options: \"{sync_options}\"\n"
        ),
    )
}

#[test]
fn argo_replace_alone_never_deletes_force_replace_does() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-argo-replace");
    app.write("job.yaml", argo_job("busybox:1.36", "Replace=true"))
        .deploy("one", &["--no-wait"]);
    let uid = app.get("job", "migrate").unwrap()["metadata"]["uid"].clone();

    // Replace=true alone replaces in place in Argo CD: an immutable field stays an error.
    app.write("job.yaml", argo_job("busybox:1.37", "Replace=true"))
        .commit("two");
    let run = app.apply(&["--no-wait"]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("Force=true,Replace=true"),
        "{}",
        run.stdout
    );
    assert_eq!(app.get("job", "migrate").unwrap()["metadata"]["uid"], uid);

    app.write(
        "job.yaml",
        argo_job("busybox:1.37", "Force=true,Replace=true"),
    )
    .commit("three");
    app.apply(&["--no-wait"]).expect_code(0);
    assert_ne!(app.get("job", "migrate").unwrap()["metadata"]["uid"], uid);
}

#[test]
fn the_apps_replace_sync_option_needs_force_to_delete() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-app-replace");
    let definition = |options: &str| {
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: jobs}}\nspec:\n  source: {{path: app}}\n  destination: {{namespace: {}}}\n  syncPolicy:\n    syncOptions: [{options}]\n",
            app.ns()
        )
    };
    app.repo.write("kpush.yaml", definition("Replace=true"));
    app.write("job.yaml", job("busybox:1.36", false))
        .commit("one");
    app.kpush(&["apply", "--no-wait"]).expect_code(0);
    let uid = app.get("job", "migrate").unwrap()["metadata"]["uid"].clone();

    app.write("job.yaml", job("busybox:1.37", false))
        .commit("two");
    let run = app.kpush(&["apply", "--no-wait"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("sync option `Replace=true`: kpush applies"),
        "{}",
        run.stderr
    );
    assert_eq!(app.get("job", "migrate").unwrap()["metadata"]["uid"], uid);

    app.repo
        .write("kpush.yaml", definition("Force=true, Replace=true"));
    app.commit("three");
    app.kpush(&["apply", "--no-wait"]).expect_code(0);
    assert_ne!(app.get("job", "migrate").unwrap()["metadata"]["uid"], uid);
}

#[test]
fn a_volume_claim_is_never_deleted_to_change_an_immutable_field() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-pvc");
    let pvc = |mode: &str| {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  annotations:\n    kpush.dev/replace: \"true\"\nspec:\n  accessModes: [{mode}]\n  resources:\n    requests: {{storage: 1Gi}}\n"
        )
    };
    app.write("pvc.yaml", pvc("ReadWriteOnce"))
        .deploy("one", &["--no-wait"]);
    let uid = app.get("pvc", "data").unwrap()["metadata"]["uid"].clone();

    app.write("pvc.yaml", pvc("ReadWriteMany")).commit("two");
    let run = app.apply(&["--no-wait"]);
    run.expect_code(3);
    assert!(
        run.stdout
            .contains("kpush never deletes and re-creates a PersistentVolumeClaim"),
        "{}",
        run.stdout
    );
    let live = app.get("pvc", "data").unwrap();
    assert_eq!(live["metadata"]["uid"], uid);
    assert!(live["metadata"]["deletionTimestamp"].is_null());
}
