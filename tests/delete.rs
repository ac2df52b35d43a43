//! `kpush delete` against the real control plane: hooks around the deletion, the prune's guards,
//! and nothing of the app left once it is confirmed.

mod common;

use std::time::Duration;

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, report, terminated};
use common::{cluster, configmap, unique};

fn hook_job(name: &str, phase: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  annotations:
    argocd.argoproj.io/hook: {phase}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        hook: {name}
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
"
    )
}

fn hook_configmap(name: &str, phase: &str) -> String {
    configmap(name, "1").replace(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    argocd.argoproj.io/hook: {phase}\n"),
    )
}

/// Plays the kubelet for hook Job `name`: its newest pod ends with `phase`.
fn finish(app: &AppRepo<'_>, name: &str, phase: &str) {
    let pod = pod_of(app.cluster, app.ns(), &format!("hook={name}"));
    let code = i32::from(phase != "Succeeded");
    report(
        app.cluster,
        app.ns(),
        &pod,
        &terminated("busybox:1.36", phase, code),
    );
}

fn secrets(app: &AppRepo<'_>) -> Vec<String> {
    let run = app
        .cluster
        .kubectl(&["get", "secrets", "-n", app.ns(), "-o", "name"]);
    run.stdout.lines().map(str::to_string).collect()
}

#[test]
fn delete_runs_its_hooks_deletes_the_app_and_keeps_namespaces_until_confirmed() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-delete");
    let extra = unique("kp-delete-extra");
    let _extra_cleanup = cluster.cleanup("namespace", &extra);
    app.write("settings.yaml", configmap("settings", "1"))
        .write(
            "kept.yaml",
            configmap("kept", "1").replace(
                "metadata:\n",
                "metadata:\n  annotations:\n    argocd.argoproj.io/sync-options: Prune=false\n",
            ),
        )
        .write(
            "extra.yaml",
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {extra}\n"),
        )
        .write("marker.yaml", hook_configmap("presync-marker", "PreSync"))
        .write("drain.yaml", hook_job("drain", "PreDelete"))
        .write("goodbye.yaml", hook_configmap("goodbye", "PostDelete"))
        .commit("app with delete hooks");
    app.apply(&["--timeout", "60s"]).expect_code(0);
    assert!(app.get("configmap", "presync-marker").is_some());
    assert!(
        app.get("job", "drain").is_none(),
        "apply ran a PreDelete hook"
    );
    assert!(
        app.get("configmap", "goodbye").is_none(),
        "apply ran a PostDelete hook"
    );

    // A copy of a hook's object under another name (labels and all) is not the hook's: it
    // stays when the app goes.
    let mut copy = app.get("configmap", "presync-marker").unwrap();
    copy["metadata"] = serde_json::json!({
        "name": "copied-marker",
        "namespace": app.ns(),
        "labels": copy["metadata"]["labels"].clone(),
    });
    cluster.apply_yaml(copy.to_string(), &[]);

    // A dry run lists what goes and what stays, and touches nothing.
    let dry = app.run("delete", &["--dry-run"]);
    dry.expect_code(0);
    assert!(
        dry.stdout.contains("- v1 ConfigMap settings"),
        "{}",
        dry.all()
    );
    assert!(
        dry.stdout.contains(&format!("= v1 Namespace {extra}")),
        "{}",
        dry.all()
    );
    assert!(dry.stdout.contains("h batch/v1 Job drain"), "{}", dry.all());
    assert!(app.get("configmap", "settings").is_some());
    assert!(app.get("job", "drain").is_none(), "a dry run ran a hook");

    // Without the confirmation the Namespace stays, and so does the inventory.
    let first = app.spawn("delete", &["--timeout", "60s"]);
    finish(&app, "drain", "Succeeded");
    let first = first.join().unwrap();
    first.expect_code(0);
    assert!(
        app.get("configmap", "settings").is_none(),
        "{}",
        first.all()
    );
    assert!(
        app.get("configmap", "kept").is_some(),
        "Prune=false was deleted"
    );
    assert!(
        app.get("configmap", "goodbye").is_some(),
        "PostDelete did not run"
    );
    assert!(
        cluster.get("namespace", None, &extra).is_some(),
        "a Namespace was deleted without --confirm-prune-namespaces"
    );
    assert!(
        secrets(&app).iter().any(|s| s == "secret/kpush-app"),
        "the inventory went while a member waits for its confirmation"
    );

    let second = app.spawn(
        "delete",
        &["--timeout", "60s", "--confirm-prune-namespaces"],
    );
    finish_again(&app, "drain");
    let second = second.join().unwrap();
    second.expect_code(0);
    assert!(
        second.stdout.contains("Deleted app app"),
        "{}",
        second.all()
    );
    common::until("the Namespace to go", Duration::from_secs(60), || {
        cluster.get("namespace", None, &extra).is_none()
    });
    // Nothing of kpush's is left: no parent, no snapshot, no lease, no hook objects but the
    // PostDelete hook that just ran; the object annotated to be kept stays.
    assert!(
        secrets(&app)
            .iter()
            .all(|s| !s.starts_with("secret/kpush-")),
        "{:?}",
        secrets(&app)
    );
    let leases = cluster.kubectl(&["get", "leases", "-n", app.ns(), "-o", "name"]);
    assert!(leases.stdout.trim().is_empty(), "{}", leases.stdout);
    assert!(app.get("configmap", "presync-marker").is_none());
    assert!(
        app.get("configmap", "copied-marker").is_some(),
        "a copy of a hook object was deleted"
    );
    assert!(app.get("job", "drain").is_none());
    assert!(app.get("configmap", "kept").is_some());
    assert!(app.get("configmap", "goodbye").is_some());

    // Deleting again finds nothing to delete.
    let third = app.run("delete", &[]);
    third.expect_code(0);
    assert!(
        third.stdout.contains("Nothing to delete"),
        "{}",
        third.all()
    );
}

/// The PreDelete Job of a second run: a new pod, once the previous Job was replaced.
fn finish_again(app: &AppRepo<'_>, name: &str) {
    common::until("a new hook Job", Duration::from_secs(30), || {
        app.get("job", name)
            .is_some_and(|j| j["status"]["succeeded"].is_null())
    });
    finish(app, name, "Succeeded");
}

#[test]
fn a_failing_predelete_hook_deletes_nothing() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-delete-fail");
    app.write("settings.yaml", configmap("settings", "1"))
        .write("drain.yaml", hook_job("drain", "PreDelete"))
        .commit("app");
    app.apply(&[]).expect_code(0);
    let run = app.spawn("delete", &["--timeout", "60s"]);
    finish(&app, "drain", "Failed");
    let run = run.join().unwrap();
    run.expect_code(4);
    assert!(run.stdout.contains("Nothing was deleted"), "{}", run.all());
    assert!(app.get("configmap", "settings").is_some());
    assert!(secrets(&app).iter().any(|s| s == "secret/kpush-app"));
}
