//! The inventory and pruning: ApplySet parent and labels, prune last, guards, the deploy lock,
//! and interplay with kubectl's own ApplySets.

mod common;

use std::time::Duration;

use common::app_repo::AppRepo;
use common::{TestCluster, cluster, configmap, unique, write_file};
use kpush::inventory::applyset_id;

/// The names of the app namespace's objects of `kind`, sorted.
fn names(app: &AppRepo, kind: &str) -> Vec<String> {
    let run = app
        .cluster
        .kubectl(&["get", kind, "-n", app.ns(), "-o", "name"]);
    run.expect_code(0);
    let mut names: Vec<String> = run
        .stdout
        .lines()
        .map(|l| l.rsplit('/').next().unwrap().to_string())
        .filter(|n| n != "kube-root-ca.crt")
        .collect();
    names.sort();
    names
}

#[test]
fn removing_a_file_prunes_only_that_object() {
    let cluster = cluster();
    let app = AppRepo::at(&cluster, "kp-prune", "shop");
    app.write("a.yaml", configmap("a", "1"))
        .write("b.yaml", configmap("b", "1"))
        .write("c.yaml", configmap("c", "1"));
    app.repo.write("other/x.yaml", configmap("x", "1"));
    app.deploy("two apps", &[]);
    app.kpush(&["apply", "other", "-n", app.ns()])
        .expect_code(0);

    // The inventory is readable by kubectl: parent, id and members.
    let id = applyset_id("kpush-shop", app.ns());
    let parent = app.get("secret", "kpush-shop").expect("parent");
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        id.as_str()
    );
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap"
    );
    assert!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/tooling"]
            .as_str()
            .unwrap()
            .starts_with("kpush/v")
    );
    let members = cluster.kubectl(&[
        "get",
        "cm",
        "-n",
        app.ns(),
        "-l",
        &format!("applyset.kubernetes.io/part-of={id}"),
        "-o",
        "name",
    ]);
    assert_eq!(members.stdout.lines().count(), 3, "{}", members.stdout);

    // A hand-made object with the same label key but another ApplySet's id survives.
    let stranger = format!("{}---\n", configmap("stranger", "1")).replace(
        "metadata:\n",
        "metadata:\n  labels:\n    applyset.kubernetes.io/part-of: applyset-someone-else-v1\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "s.yaml", stranger);
    cluster
        .kubectl(&["apply", "-n", app.ns(), "-f", file.to_str().unwrap()])
        .expect_code(0);

    app.remove("b.yaml").commit("drop b");
    let diff = app.diff(&[]);
    diff.expect_code(0);
    assert!(
        diff.stdout
            .contains(&format!("= v1 ConfigMap b -n {} (inventory)", app.ns())),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("pruning is off"), "{}", diff.stdout);
    let diff = app.diff(&["--prune", "--exit-code"]);
    diff.expect_code(2);
    assert!(
        diff.stdout
            .contains(&format!("- v1 ConfigMap b -n {} (inventory)", app.ns())),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("0 to create, 0 to update, 1 to prune, 2 unchanged"),
        "{}",
        diff.stdout
    );

    // Without --prune nothing is deleted.
    app.apply(&[]).expect_code(0);
    assert_eq!(names(&app, "cm"), ["a", "b", "c", "stranger", "x"]);

    let run = app.apply(&["--prune"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Pruned: 1 deleted"), "{}", run.stdout);
    assert_eq!(names(&app, "cm"), ["a", "c", "stranger", "x"]);

    let again = app.apply(&["--prune"]);
    again.expect_code(0);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn protected_objects_are_kept() {
    let cluster = cluster();
    let protected = configmap("keep-me", "1").replace(
        "metadata:\n",
        "metadata:\n  annotations:\n    kpush.dev/prune: \"false\"\n",
    );
    let argo = configmap("argo-keep", "1").replace(
        "metadata:\n",
        "metadata:\n  annotations:\n    argocd.argoproj.io/sync-options: Prune=false\n",
    );
    let app = AppRepo::deployed(
        &cluster,
        "kp-keep",
        &[
            ("a.yaml", &protected),
            ("b.yaml", &argo),
            ("c.yaml", &configmap("c", "1")),
        ],
    );
    app.remove("a.yaml").remove("b.yaml").commit("two");
    let run = app.apply(&["--prune"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("kept: annotated `kpush.dev/prune: \"false\"`"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("kept: annotated `argocd.argoproj.io/sync-options: Prune=false`"),
        "{}",
        run.stdout
    );
    assert_eq!(names(&app, "cm"), ["argo-keep", "c", "keep-me"]);
    // Kept objects stay in the inventory.
    let parent = app.get("secret", "kpush-app").unwrap();
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap"
    );
}

/// A ConfigMap annotated `key: value`.
fn annotated(name: &str, key: &str, value: &str) -> String {
    configmap(name, "1").replace(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    {key}: \"{value}\"\n"),
    )
}

#[test]
fn the_prune_opt_outs_people_already_write_are_honoured() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-optout",
        &[
            (
                "a.yaml",
                &annotated("kpush-disabled", "kpush.dev/prune", "disabled"),
            ),
            (
                "b.yaml",
                &annotated("helm-keep", "helm.sh/resource-policy", "keep"),
            ),
            (
                "c.yaml",
                &annotated(
                    "flux-disabled",
                    "kustomize.toolkit.fluxcd.io/prune",
                    "disabled",
                ),
            ),
            (
                "d.yaml",
                &annotated(
                    "argo-confirm",
                    "argocd.argoproj.io/sync-options",
                    "Prune=confirm",
                ),
            ),
            ("e.yaml", &configmap("plain", "1")),
            ("f.yaml", &configmap("stays", "1")),
        ],
    );
    for file in ["a.yaml", "b.yaml", "c.yaml", "d.yaml", "e.yaml"] {
        app.remove(file);
    }
    app.commit("only one left");
    let run = app.apply(&["--prune", "--confirm-prune"]);
    run.expect_code(0);
    for reason in [
        "kept: annotated `kpush.dev/prune: \"disabled\"`",
        "kept: annotated `helm.sh/resource-policy: keep`",
        "kept: annotated `kustomize.toolkit.fluxcd.io/prune: disabled`",
    ] {
        assert!(run.stdout.contains(reason), "{reason}\n{}", run.stdout);
    }
    // Confirmed, the Prune=confirm object goes with the plain one; the opt-outs stay.
    assert_eq!(
        names(&app, "cm"),
        ["flux-disabled", "helm-keep", "kpush-disabled", "stays"]
    );
}

#[test]
fn prune_confirm_waits_for_confirmation() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-confirm",
        &[
            (
                "a.yaml",
                &annotated(
                    "argo-confirm",
                    "argocd.argoproj.io/sync-options",
                    "Prune=confirm",
                ),
            ),
            ("b.yaml", &configmap("stays", "1")),
        ],
    );
    app.remove("a.yaml").commit("one left");
    let run = app.apply(&["--prune"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "kept: annotated `argocd.argoproj.io/sync-options: Prune=confirm`: deleted only with `--confirm-prune`"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(names(&app, "cm"), ["argo-confirm", "stays"]);
    app.apply(&["--prune", "--confirm-prune"]).expect_code(0);
    assert_eq!(names(&app, "cm"), ["stays"]);
}

#[test]
fn the_apps_prune_false_sync_option_keeps_everything() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-appkeep");
    let definition = |ns: &str| {
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source: {{path: app}}\n  destination: {{namespace: {ns}}}\n  syncPolicy:\n    automated: {{prune: true}}\n    syncOptions: [Prune=false]\n"
        )
    };
    app.repo.write("kpush.yaml", definition(app.ns()));
    app.write("a.yaml", configmap("old", "1"))
        .write("b.yaml", configmap("stays", "1"));
    app.commit("two");
    let run = app.kpush(&["apply"]);
    run.expect_code(0);
    assert!(!run.stderr.contains("Prune=false"), "{}", run.stderr);
    app.remove("a.yaml").commit("one");
    let run = app.kpush(&["apply"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("kept: the app's sync option `Prune=false`"),
        "{}",
        run.stdout
    );
    assert_eq!(names(&app, "cm"), ["old", "stays"]);
}

#[test]
fn an_empty_render_prunes_nothing_unless_allowed() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-empty",
        &[
            ("a.yaml", &configmap("a", "1")),
            ("b.yaml", &configmap("b", "1")),
        ],
    );
    app.remove("a.yaml")
        .remove("b.yaml")
        .write("README.md", "moved")
        .commit("empty");

    let run = app.apply(&["--prune"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("the render produced no objects"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--allow-empty"), "{}", run.stderr);
    assert_eq!(names(&app, "cm"), ["a", "b"]);

    let run = app.apply(&["--prune", "--allow-empty"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Pruned: 2 deleted"), "{}", run.stdout);
    assert!(names(&app, "cm").is_empty());
}

#[test]
fn a_large_prune_needs_confirmation() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-share");
    for i in 0..6 {
        app.write(&format!("cm-{i}.yaml"), configmap(&format!("cm-{i}"), "1"));
    }
    app.deploy("six", &[]);
    for i in 0..4 {
        app.remove(&format!("cm-{i}.yaml"));
    }
    app.commit("two left");
    let run = app.apply(&["--prune"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("would prune 4 of the app's 6 objects (66%)"),
        "{}",
        run.stderr
    );
    assert_eq!(names(&app, "cm").len(), 6);
    app.apply(&["--prune", "--confirm-prune"]).expect_code(0);
    assert_eq!(names(&app, "cm"), ["cm-4", "cm-5"]);
}

#[test]
fn a_failed_deploy_prunes_nothing() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-prunelast",
        &[
            ("a.yaml", &configmap("a", "1")),
            ("b.yaml", &configmap("b", "1")),
        ],
    );
    let group = format!("{}.kpush.dev", unique("p"));
    let _crd = cluster.cleanup("crd", &format!("gizmos.{group}"));

    // A new CRD and a custom resource its schema rejects: the resource can only be validated
    // once the CRD is established, mid-deploy.
    let crd = common::crd(
        &group,
        "Gizmo",
        "type: object\nproperties:\n  size: {type: integer}\n",
    );
    app.remove("b.yaml")
        .write("crd.yaml", crd)
        .write(
            "gizmo.yaml",
            format!(
                "apiVersion: {group}/v1\nkind: Gizmo\nmetadata:\n  name: g\nspec:\n  size: large\n"
            ),
        )
        .commit("bad gizmo");
    let run = app.apply(&["--prune"]);
    run.expect_code(3);
    assert!(run.stderr.contains("nothing was pruned"), "{}", run.stderr);
    assert_eq!(names(&app, "cm"), ["a", "b"]);
    // The parent still lists ConfigMaps, so a later successful run can prune b.
    let parent = app.get("secret", "kpush-app").unwrap();
    let kinds = parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"]
        .as_str()
        .unwrap();
    assert!(kinds.contains("ConfigMap"), "{kinds}");
}

#[test]
fn foreground_prune_waits_for_dependents() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-foreground",
        &[
            ("web.yaml", &common::deployment("web", 0, "nginx")),
            ("cm.yaml", &configmap("keep", "1")),
        ],
    );
    // The deployment controller creates the ReplicaSet.
    let mut waited = Duration::ZERO;
    while names(&app, "replicasets").is_empty() {
        assert!(waited < Duration::from_secs(60), "no ReplicaSet appeared");
        std::thread::sleep(Duration::from_millis(200));
        waited += Duration::from_millis(200);
    }
    app.remove("web.yaml").commit("no web");
    let run = app.apply(&["--prune", "--confirm-prune"]);
    run.expect_code(0);
    assert!(
        names(&app, "replicasets").is_empty(),
        "ReplicaSets must be gone when kpush returns"
    );
    assert!(names(&app, "deployments").is_empty());
}

#[test]
fn objects_of_another_applyset_are_not_adopted_silently() {
    let cluster = cluster();
    let app = AppRepo::at(&cluster, "kp-adopt", "one");
    app.write("a.yaml", configmap("shared", "1"));
    app.repo.write("two/a.yaml", configmap("shared", "2"));
    app.deploy("two apps, one object", &[]);
    let run = app.kpush(&["apply", "two", "-n", app.ns()]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("belongs to another ApplySet"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("--adopt"), "{}", run.stdout);
    app.kpush(&["apply", "two", "-n", app.ns(), "--adopt"])
        .expect_code(0);
    let live = app.get("cm", "shared").unwrap();
    assert_eq!(live["data"]["value"], "2");
    assert_eq!(
        live["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        applyset_id("kpush-two", app.ns()).as_str()
    );
}

/// kubectl's ApplySet support (1.27+).
fn kubectl_applyset(cluster: &TestCluster, args: &[&str]) -> common::Run {
    let output = std::process::Command::new(common::kubectl_recent())
        .env("KUBECTL_APPLYSET", "true")
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(args)
        .output()
        .expect("kubectl");
    common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn kubectl_and_kpush_agree_on_ids_and_leave_each_others_sets_alone() {
    let cluster = cluster();
    let app = AppRepo::at(&cluster, "kp-kubectl", "handmade");
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "cm.yaml", configmap("from-kubectl", "1"));

    // kubectl makes an ApplySet whose parent is `kpush-handmade`; its id is the one kpush computes.
    let made = kubectl_applyset(
        &cluster,
        &[
            "apply",
            "--server-side",
            "--prune",
            "--applyset=secret/kpush-handmade",
            "-n",
            app.ns(),
            "-f",
            file.to_str().unwrap(),
        ],
    );
    made.expect_code(0);
    let parent = app.get("secret", "kpush-handmade").unwrap();
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        applyset_id("kpush-handmade", app.ns()).as_str()
    );

    // kpush refuses kubectl's set...
    app.write("a.yaml", configmap("a", "1"));
    app.repo.write("mine/a.yaml", configmap("mine", "1"));
    app.commit("apps");
    let run = app.apply(&[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("is managed by tooling \"kubectl"),
        "{}",
        run.stderr
    );
    assert!(app.get("cm", "a").is_none());

    // ...and kubectl refuses kpush's.
    app.kpush(&["apply", "mine", "-n", app.ns()]).expect_code(0);
    let refused = kubectl_applyset(
        &cluster,
        &[
            "apply",
            "--server-side",
            "--prune",
            "--applyset=secret/kpush-mine",
            "-n",
            app.ns(),
            "-f",
            file.to_str().unwrap(),
        ],
    );
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("is managed by tooling \"kpush\" instead of \"kubectl\""),
        "{}",
        refused.stderr
    );
    // kubectl lists kpush's members with the label selector.
    let id = applyset_id("kpush-mine", app.ns());
    let members = cluster.kubectl(&[
        "get",
        "cm",
        "-n",
        app.ns(),
        "-l",
        &format!("applyset.kubernetes.io/part-of={id}"),
        "-o",
        "name",
    ]);
    assert_eq!(members.stdout.trim(), "configmap/mine");
}

#[test]
fn a_held_lock_makes_the_next_deploy_wait() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-lock");
    app.write("a.yaml", configmap("a", "1")).commit("one");
    // Another run holds the lock, renewing it.
    cluster.hold_lock(app.ns(), "pipeline-42", None);

    let run = app.apply(&["--lock-timeout", "2"]);
    run.expect_code(1);
    assert!(run.stderr.contains("held by pipeline-42"), "{}", run.stderr);
    assert!(
        run.stderr.contains("another deploy holds the lock"),
        "{}",
        run.stderr
    );
    assert!(app.get("cm", "a").is_none());

    // Released while the next run waits: it proceeds.
    let kubeconfig = cluster.kubeconfig.clone();
    let ns_name = app.ns().to_string();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        std::process::Command::new(common::kubectl_bin())
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["delete", "lease", "kpush-app", "-n", &ns_name])
            .output()
            .unwrap();
    });
    let run = app.apply(&["--lock-timeout", "60"]);
    releaser.join().unwrap();
    run.expect_code(0);
    assert!(
        run.stderr.contains("waiting for the deploy lock"),
        "{}",
        run.stderr
    );
    assert!(app.get("cm", "a").is_some());
    // The lock is released at the end: the lease stays, with no holder.
    let released = app.get("lease", "kpush-app").unwrap();
    assert_eq!(released["spec"]["holderIdentity"], "", "{released}");

    // A crashed run's lease expires by itself: once it has not changed for its whole
    // duration (30 seconds) as the waiting run saw it.
    cluster.hold_lock(app.ns(), "pipeline-42", Some("2020-01-01T00:00:00.000000Z"));
    app.write("b.yaml", configmap("b", "1")).commit("two");
    let run = app.apply(&["--lock-timeout", "60"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("waiting for the deploy lock"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_live_holder_with_a_slow_clock_keeps_its_lock() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-skew");
    app.write("a.yaml", configmap("a", "1")).commit("one");
    // Another run holds the lock and renews it every second, but its clock is years behind:
    // by its timestamps the lease looks long expired.
    cluster.hold_lock(app.ns(), "pipeline-7", Some("2020-01-01T00:00:00.000000Z"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let renewer = {
        let stop = stop.clone();
        let kubeconfig = cluster.kubeconfig.clone();
        let ns = app.ns().to_string();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let renew = format!("2020-01-01T00:00:{:02}.000000Z", n % 60);
                let patch = format!("{{\"spec\":{{\"renewTime\":\"{renew}\"}}}}");
                std::process::Command::new(common::kubectl_bin())
                    .arg("--kubeconfig")
                    .arg(&kubeconfig)
                    .args([
                        "patch",
                        "lease",
                        "kpush-app",
                        "-n",
                        &ns,
                        "--type=merge",
                        "-p",
                        &patch,
                    ])
                    .output()
                    .unwrap();
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let run = app.apply(&["--lock-timeout", "8"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    renewer.join().unwrap();
    run.expect_code(1);
    assert!(
        run.stderr.contains("another deploy holds the lock"),
        "{}",
        run.stderr
    );
    assert!(
        app.get("cm", "a").is_none(),
        "written under another run's lock"
    );
}

#[test]
fn apply_dry_run_writes_nothing() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-dryrun",
        &[
            ("a.yaml", &configmap("a", "1")),
            ("b.yaml", &configmap("b", "1")),
        ],
    );
    app.remove("b.yaml")
        .write("c.yaml", configmap("c", "1"))
        .commit("two");
    let lease_version =
        || app.get("lease", "kpush-app").unwrap()["metadata"]["resourceVersion"].clone();
    let lease_before = lease_version();
    let run = app.apply(&["--prune", "--dry-run"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("Dry run: nothing was written."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 to create, 0 to update, 1 to prune, 1 unchanged"),
        "{}",
        run.stdout
    );
    assert_eq!(names(&app, "cm"), ["a", "b"]);
    assert_eq!(lease_version(), lease_before, "the dry run took the lock");
    let ghost = unique("kp-ghost");
    let run = app.kpush(&[
        "apply",
        "app",
        "-n",
        &ghost,
        "--create-namespace",
        "--dry-run",
    ]);
    run.expect_code(0);
    assert!(cluster.get("namespace", None, &ghost).is_none());
}

#[test]
fn two_deploys_of_one_app_never_interleave() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-concurrent");
    // The first deploy holds the lock while its rollout waits (no kubelet: never ready).
    app.write("web.yaml", common::deployment("web", 1, "nginx:1.27"));
    let first = app.commit("slow");
    app.write("web.yaml", common::deployment("web", 0, "nginx:1.28"));
    let second = app.commit("fast");

    let spawn = |rev: &str, timeout: &str| app.spawn_apply(&["--rev", rev, "--timeout", timeout]);
    let a = spawn(&first, "8s");
    // B starts once A holds the lock.
    let started = std::time::Instant::now();
    while app.get("lease", "kpush-app").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first deploy never took the lock"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let b = spawn(&second, "60s");
    let a = a.join().unwrap();
    let b = b.join().unwrap();
    a.expect_code(4);
    b.expect_code(0);
    assert!(
        b.stderr.contains("waiting for the deploy lock"),
        "{}",
        b.stderr
    );
    let live = app.get("deployment", "web").unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
    assert_eq!(live["spec"]["replicas"], 0);
}

/// A ConfigMap that stays until `kpush.dev/hold` is removed from its finalizers.
fn held(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  finalizers: [kpush.dev/hold]\ndata:\n  value: \"1\"\n"
    )
}

#[test]
fn pruning_waits_for_deletions_to_finish_unless_no_wait() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-held");
    let names: Vec<String> = (0..9).map(|i| format!("held-{i}")).collect();
    let declare = || {
        for name in &names {
            app.write(&format!("{name}.yaml"), held(name));
        }
        app.write("keep.yaml", configmap("keep", "1"))
            .commit("held objects");
    };
    let undeclare = || {
        for name in &names {
            app.remove(&format!("{name}.yaml"));
        }
        app.commit("without them");
    };
    let release = || {
        for name in &names {
            // Already gone is fine: only the finalizer matters.
            cluster.kubectl(&[
                "patch",
                "configmap",
                name,
                "-n",
                app.ns(),
                "--type=json",
                "-p",
                r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
            ]);
        }
    };
    let deleting = || {
        names.iter().all(|name| {
            app.get("configmap", name)
                .is_some_and(|o| !o["metadata"]["deletionTimestamp"].is_null())
        })
    };
    let gone = || {
        names
            .iter()
            .all(|name| app.get("configmap", name).is_none())
    };

    // --no-wait returns once the deletions are accepted.
    declare();
    app.apply(&[]).expect_code(0);
    undeclare();
    app.apply(&["--prune", "--confirm-prune", "--no-wait"])
        .expect_code(0);
    assert!(deleting(), "the objects are still being deleted");
    release();
    common::until("the objects to go", Duration::from_secs(30), gone);

    // Otherwise kpush returns only when the objects are gone.
    declare();
    app.apply(&[]).expect_code(0);
    undeclare();
    let prune = app.spawn_apply(&["--prune", "--confirm-prune"]);
    common::until("the deletions", Duration::from_secs(30), deleting);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !prune.is_finished(),
        "kpush returned while the objects exist"
    );
    release();
    prune.join().unwrap().expect_code(0);
    assert!(gone());
}

/// A ConfigMap `name` in namespace `ns`.
fn configmap_in(name: &str, ns: &str) -> String {
    configmap(name, "1").replace("metadata:\n", &format!("metadata:\n  namespace: {ns}\n"))
}

#[test]
fn a_namespace_that_left_the_render_is_kept_unless_confirmed() {
    let cluster = cluster();
    let shared = unique("kp-shared");
    let _shared = cluster.cleanup("namespace", &shared);
    let app = AppRepo::deployed(
        &cluster,
        "kp-nsprune",
        &[
            (
                "namespace.yaml",
                &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {shared}\n"),
            ),
            ("mine.yaml", &configmap_in("mine", &shared)),
            ("stays.yaml", &configmap("stays", "1")),
        ],
    );
    // Another team keeps its settings in the shared namespace.
    cluster.apply_yaml(configmap_in("theirs", &shared), &[]);

    app.remove("namespace.yaml")
        .commit("the namespace is someone else's now");
    let run = app.apply(&["--prune"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "kept: a Namespace: deleting it deletes everything in it: deleted only with `--confirm-prune-namespaces`"
        ),
        "{}",
        run.stdout
    );
    assert!(cluster.get("namespace", None, &shared).is_some());
    assert!(cluster.get("configmap", Some(&shared), "theirs").is_some());

    // Confirmed, the plan says what goes with it before it goes.
    app.remove("mine.yaml").commit("leave the namespace");
    let run = app.apply(&["--prune", "--confirm-prune-namespaces", "--no-wait"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("with it: 1 object(s) that are not part of the app: ConfigMap/theirs"),
        "{}",
        run.stdout
    );
    let gone = cluster
        .get("namespace", None, &shared)
        .is_none_or(|ns| ns["metadata"]["deletionTimestamp"].is_string());
    assert!(gone, "{}", run.stdout);
}

#[test]
fn a_crd_that_left_the_render_is_kept_unless_confirmed() {
    let cluster = cluster();
    let other = cluster.namespace("kp-crd-user");
    let group = format!("{}.kpush.dev", unique("k"));
    let _crd = cluster.cleanup("crd", &format!("gadgets.{group}"));
    let crd = common::crd(
        &group,
        "Gadget",
        "type: object\nproperties:\n  size: {type: integer}\n",
    );
    let app = AppRepo::deployed(
        &cluster,
        "kp-crdprune",
        &[("crd.yaml", &crd), ("stays.yaml", &configmap("stays", "1"))],
    );
    // Another team's custom resource of that kind.
    cluster.apply_yaml(
        format!(
            "apiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: g1\n  namespace: {}\nspec:\n  size: 1\n",
            other.name
        ),
        &[],
    );

    app.remove("crd.yaml")
        .commit("the CRD moves to the platform team");
    let run = app.apply(&["--prune"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "kept: a CustomResourceDefinition: deleting it deletes every custom resource of its kind: deleted only with `--confirm-prune-crds`"
        ),
        "{}",
        run.stdout
    );
    let kind = format!("gadgets.{group}");
    assert!(cluster.get(&kind, Some(&other.name), "g1").is_some());

    let run = app.apply(&["--prune", "--confirm-prune-crds", "--no-wait"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(&format!(
            "with it: 1 Gadget custom resource(s) in the cluster: {}/g1",
            other.name
        )),
        "{}",
        run.stdout
    );
    let gone = cluster
        .get("crd", None, &format!("gadgets.{group}"))
        .is_none_or(|crd| crd["metadata"]["deletionTimestamp"].is_string());
    assert!(gone, "{}", run.stdout);
}

/// `kpush apply PATH -n NS --prune EXTRA...` in `repo`.
fn apply_pruning(
    cluster: &TestCluster,
    repo: &common::GitRepo,
    ns: &str,
    path: &str,
    extra: &[&str],
) -> common::Run {
    let mut args = vec!["apply", path, "-n", ns, "--prune"];
    args.extend_from_slice(extra);
    cluster.kpush(repo.path(), &args)
}

#[test]
fn two_apps_of_one_name_never_prune_each_other() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-samename");
    let repo = common::GitRepo::new();
    repo.write("svc-a/deploy/prod/a.yaml", configmap("a", "1"))
        .write("svc-b/deploy/prod/b.yaml", configmap("b", "1"))
        .commit("two services, each with deploy/prod");
    let apply = |path: &str, extra: &[&str]| apply_pruning(&cluster, &repo, &ns.name, path, extra);
    apply("svc-a/deploy/prod", &[]).expect_code(0);
    // Both are app `prod`: the second must not take the first one's inventory over.
    let run = apply("svc-b/deploy/prod", &[]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("belongs to app `path:svc-a/deploy/prod`")
            && run.stderr.contains("`--app NAME`"),
        "{}",
        run.stderr
    );
    assert!(cluster.get("configmap", Some(&ns.name), "a").is_some());
    assert!(cluster.get("configmap", Some(&ns.name), "b").is_none());
    // With a name of its own it deploys beside the first.
    apply("svc-b/deploy/prod", &["--app", "svc-b-prod"]).expect_code(0);
    assert!(cluster.get("configmap", Some(&ns.name), "a").is_some());
    assert!(cluster.get("configmap", Some(&ns.name), "b").is_some());
}

#[test]
fn a_path_renamed_on_purpose_takes_its_inventory_over_when_told() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-moved");
    let repo = common::GitRepo::new();
    repo.write("old/web/a.yaml", configmap("a", "1"))
        .write("old/web/b.yaml", configmap("b", "1"))
        .commit("web");
    let apply = |path: &str, extra: &[&str]| apply_pruning(&cluster, &repo, &ns.name, path, extra);
    apply("old/web", &[]).expect_code(0);
    repo.remove("old/web/a.yaml")
        .remove("old/web/b.yaml")
        .write("new/web/a.yaml", configmap("a", "1"))
        .commit("moved");
    apply("new/web", &[]).expect_code(3);
    apply("new/web", &["--take-over-inventory"]).expect_code(0);
    // The moved app owns it now: no flag needed, and what it dropped is pruned.
    let run = apply("new/web", &[]);
    run.expect_code(0);
    assert!(cluster.get("configmap", Some(&ns.name), "a").is_some());
    assert!(cluster.get("configmap", Some(&ns.name), "b").is_none());
}

#[test]
fn a_copied_object_that_kept_the_label_is_never_pruned() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-copied",
        &[
            ("a.yaml", &configmap("a", "1")),
            ("b.yaml", &configmap("b", "1")),
        ],
    );
    // Someone copies `a` the usual way: get it as YAML, rename it, create it.
    let mut copy = app.get("configmap", "a").unwrap();
    let metadata = copy["metadata"].as_object_mut().unwrap();
    for field in [
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
    ] {
        metadata.remove(field);
    }
    metadata.insert("name".into(), "a-copy".into());
    let file = write_file(app.repo.path(), "copy.json", copy.to_string());
    cluster
        .kubectl(&["create", "-f", file.to_str().unwrap()])
        .expect_code(0);

    app.remove("b.yaml").commit("drop b");
    let run = app.apply(&["--prune"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("kpush never applied it"),
        "{}",
        run.stdout
    );
    assert_eq!(names(&app, "cm"), ["a", "a-copy"]);
}

#[test]
fn parallel_jobs_of_one_ci_run_never_share_the_lock() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-matrix");
    app.write("web.yaml", common::deployment("web", 1, "nginx:1.27"));
    let first = app.commit("slow");
    app.write("web.yaml", common::deployment("web", 0, "nginx:1.28"));
    let second = app.commit("fast");
    // Two legs of one matrix job: the same run, attempt and job name.
    let spawn = |rev: String, timeout: &'static str| {
        let cwd = app.repo.path().to_path_buf();
        let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
        let ns = app.ns().to_string();
        std::thread::spawn(move || {
            let args = [
                "--kubeconfig",
                &kubeconfig,
                "apply",
                "app",
                "-n",
                &ns,
                "--rev",
                &rev,
                "--timeout",
                timeout,
            ];
            let env = [
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REPOSITORY", "org/shop"),
                ("GITHUB_RUN_ID", "42"),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", "deploy"),
            ];
            common::kpush_env(&cwd, &args, &env)
        })
    };
    let a = spawn(first, "8s");
    let started = std::time::Instant::now();
    while app.get("lease", "kpush-app").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first deploy never took the lock"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let b = spawn(second, "60s");
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    a.expect_code(4);
    b.expect_code(0);
    assert!(
        b.stderr.contains("waiting for the deploy lock"),
        "the second leg must wait: {}",
        b.stderr
    );
    let live = app.get("deployment", "web").unwrap();
    assert_eq!(live["spec"]["replicas"], 0);
}

#[test]
fn an_object_moving_between_apps_of_one_run_is_never_deleted() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-move");
    let definitions = format!(
        "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: a}}\nspec:\n  source: {{path: a}}\n  destination: {{namespace: {ns}}}\n  syncPolicy: {{automated: {{prune: true}}}}\n---\napiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: b}}\nspec:\n  source: {{path: b}}\n  destination: {{namespace: {ns}}}\n  syncPolicy: {{automated: {{prune: true}}}}\n",
        ns = app.ns()
    );
    app.repo
        .write("kpush.yaml", definitions)
        .write("a/moving.yaml", configmap("moving", "data"))
        .write("a/a.yaml", configmap("a", "1"))
        .write("b/b.yaml", configmap("b", "1"));
    app.commit("two apps");
    app.kpush(&["apply", "--no-wait"]).expect_code(0);
    let uid = app.get("configmap", "moving").unwrap()["metadata"]["uid"].clone();

    // One commit moves the object from `a` to `b`; `a` is written first.
    app.repo
        .remove("a/moving.yaml")
        .write("b/moving.yaml", configmap("moving", "data"));
    app.commit("move it");
    let run = app.kpush(&["apply", "--no-wait", "--adopt"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("kept: app `b` declares it in this run: it moves there"),
        "{}",
        run.stdout
    );
    let live = app.get("configmap", "moving").unwrap();
    assert_eq!(live["metadata"]["uid"], uid, "deleted and created again");
    assert_eq!(
        live["metadata"]["labels"]["applyset.kubernetes.io/part-of"],
        applyset_id("kpush-b", app.ns()).as_str()
    );
}

#[test]
fn an_object_another_app_took_over_during_the_deploy_is_not_pruned() {
    use common::kubelet::{pod_of, report, terminated};
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-fresh",
        &[
            ("a.yaml", &configmap("a", "1")),
            ("b.yaml", &configmap("b", "1")),
        ],
    );
    // The next deploy drops `b` and runs a Job: the prune waits until the Job has finished.
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: main\n          image: busybox:1.36\n";
    app.remove("b.yaml").write("job.yaml", job).commit("drop b");
    let deploy = app.spawn_apply(&["--prune", "--timeout", "3m"]);
    let pod = pod_of(&cluster, app.ns(), "job-name=migrate");
    // Meanwhile another team's app takes `b` over.
    cluster
        .kubectl(&[
            "label",
            "configmap",
            "b",
            "-n",
            app.ns(),
            "applyset.kubernetes.io/part-of=applyset-theirs-v1",
            "--overwrite",
        ])
        .expect_code(0);
    report(
        &cluster,
        app.ns(),
        &pod,
        &terminated("busybox:1.36", "Succeeded", 0),
    );
    let run = deploy.join().unwrap();
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("not pruned: it no longer carries the app's label"),
        "{}",
        run.stdout
    );
    assert!(app.get("configmap", "b").is_some(), "{}", run.stdout);
}

/// Three kustomize overlays deployed as three Argo CD Applications; the production overlay
/// drops the database base. The StatefulSet goes; its standalone claim, the data, stays until
/// the run confirms it.
#[test]
fn a_volume_claim_that_left_the_render_is_kept_unless_confirmed() {
    let cluster = cluster();
    let kubectl = common::kubectl_recent();
    let envs = ["dev", "staging", "prod"];
    let namespaces: Vec<common::Namespace<'_>> = envs
        .iter()
        .map(|env| cluster.namespace(&format!("kp-pvc-{env}")))
        .collect();
    let prod = namespaces[2].name.clone();
    // A volume for each environment's claim to bind to, kept when released.
    let volumes: Vec<String> = envs.iter().map(|_| unique("kp-pv")).collect();
    let _volumes: Vec<_> = volumes
        .iter()
        .map(|v| cluster.cleanup("persistentvolume", v))
        .collect();
    for (volume, ns) in volumes.iter().zip(&namespaces) {
        cluster.apply_yaml(
            format!(
                "apiVersion: v1
kind: PersistentVolume
metadata:
  name: {volume}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  claimRef: {{namespace: {}, name: database-primary}}
  hostPath: {{path: /tmp/{volume}}}
",
                ns.name
            ),
            &[],
        );
    }
    let volume = &volumes[2];
    let repo = common::GitRepo::new();
    repo.write(
        "base/web/kustomization.yaml",
        "resources: [settings.yaml]\n",
    )
    .write("base/web/settings.yaml", configmap("settings", "1"))
    .write(
        "base/database/kustomization.yaml",
        "resources: [claim.yaml, statefulset.yaml]\n",
    )
    .write(
        "base/database/claim.yaml",
        "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: database-primary
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources:
    requests: {storage: 1Gi}
",
    )
    .write(
        "base/database/statefulset.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: database
spec:
  serviceName: database
  replicas: 0
  selector:
    matchLabels: {app: database}
  template:
    metadata:
      labels: {app: database}
    spec:
      containers:
        - name: main
          image: postgres:17
",
    );
    let mut apps = String::new();
    for (env, ns) in envs.iter().zip(&namespaces) {
        repo.write(
            &format!("overlays/{env}/kustomization.yaml"),
            "resources: [../../base/web, ../../base/database]\n",
        );
        apps.push_str(&format!(
            "---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shop-{env}
spec:
  source:
    path: overlays/{env}
  destination:
    namespace: {}
  syncPolicy:
    automated: {{prune: true}}
",
            ns.name
        ));
    }
    repo.write("kpush.yaml", apps).commit("three environments");
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--kustomize-bin", &kubectl, "--timeout", "60s"];
        args.extend_from_slice(extra);
        cluster.kpush(repo.path(), &args)
    };
    apply(&[]).expect_code(0);
    let claim = || cluster.get("pvc", Some(&prod), "database-primary");
    assert_eq!(claim().unwrap()["status"]["phase"], "Bound");

    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources: [../../base/web]\n",
    )
    .commit("production's database moves to a managed service");
    let run = apply(&[]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "kept: a PersistentVolumeClaim: deleting it deletes its volume's data (unless the volume's reclaim policy is Retain): deleted only with `--confirm-prune-volumes`"
        ),
        "{}",
        run.all()
    );
    assert!(claim().is_some(), "{}", run.all());
    assert!(
        cluster
            .get("statefulset", Some(&prod), "database")
            .is_none(),
        "{}",
        run.all()
    );
    // The other environments keep their database.
    for ns in &namespaces[..2] {
        assert!(
            cluster
                .get("pvc", Some(&ns.name), "database-primary")
                .is_some()
        );
    }

    // Confirmed, the plan says what becomes of the volume before the claim goes.
    let run = apply(&["--confirm-prune-volumes", "--no-wait"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(&format!(
            "with it: nothing: its volume {volume} is kept (reclaim policy Retain), data and all"
        )),
        "{}",
        run.all()
    );
    assert!(
        claim().is_none_or(|c| c["metadata"]["deletionTimestamp"].is_string()),
        "{}",
        run.all()
    );
}

/// `kpush delete` is an explicit teardown: it removes the app's claims without a flag, and
/// its plan says what goes with them.
#[test]
fn delete_removes_the_apps_volume_claims_and_says_so() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-pvc-delete");
    // Never bound here (no such volume), so the deploy does not wait for it.
    app.write(
        "claim.yaml",
        "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: scratch
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  volumeName: none-yet
  resources:
    requests: {storage: 1Gi}
",
    )
    .deploy("a claim", &["--no-wait"]);
    let run = app.run("delete", &["--timeout", "60s"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("with it: its volume none-yet, which does not exist"),
        "{}",
        run.all()
    );
    assert!(
        app.get("pvc", "scratch")
            .is_none_or(|c| c["metadata"]["deletionTimestamp"].is_string()),
        "{}",
        run.all()
    );
}
