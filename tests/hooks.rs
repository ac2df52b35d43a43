//! Sync hooks against the real control plane: the tests play the kubelet (a hook Job's pod is
//! reported Succeeded or Failed, and the Job controller finishes the Job).

mod common;

use std::time::Duration;

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, report, terminated};
use common::{cluster, configmap};

/// A hook Job whose pod carries `hook=<label>`; `name` is `name:` or `generateName:`.
/// A PreSync ConfigMap hook of wave -1 (before the Job of wave 0) with delete `policy`.
fn presync_marker(name: &str, policy: &str) -> String {
    configmap(name, "1").replace(
        "metadata:\n",
        &format!(
            "metadata:\n  annotations:\n    argocd.argoproj.io/hook: PreSync\n    argocd.argoproj.io/sync-wave: \"-1\"\n    argocd.argoproj.io/hook-delete-policy: {policy}\n"
        ),
    )
}

/// The PreSync Job `migrate` (label `hook=migrate`) with delete `policy`.
fn presync_migrate(policy: &str) -> String {
    hook_job(
        "name: migrate",
        "migrate",
        &[
            ("argocd.argoproj.io/hook", "PreSync"),
            ("argocd.argoproj.io/hook-delete-policy", policy),
        ],
    )
}

fn hook_job(name_field: &str, label: &str, annotations: &[(&str, &str)]) -> String {
    let annotations: String = annotations
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  {name_field}
  annotations:
{annotations}spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        hook: {label}
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
"
    )
}

/// Plays the kubelet for the hook labelled `label`: its (newest) pod ends with `phase`.
fn finish(app: &AppRepo<'_>, label: &str, phase: &str) {
    let pod = pod_of(app.cluster, app.ns(), &format!("hook={label}"));
    let code = if phase == "Succeeded" { 0 } else { 1 };
    report(
        app.cluster,
        app.ns(),
        &pod,
        &terminated("busybox:1.36", phase, code),
    );
}

fn jobs(app: &AppRepo<'_>) -> Vec<serde_json::Value> {
    let run = app
        .cluster
        .kubectl(&["get", "jobs", "-n", app.ns(), "-o", "json"]);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    list["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn presync_gates_the_app_and_postsync_runs_once_it_is_healthy() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hooks");
    app.write(
        "migrate.yaml",
        hook_job(
            "name: migrate",
            "migrate",
            &[
                ("argocd.argoproj.io/hook", "PreSync"),
                ("argocd.argoproj.io/sync-wave", "-1"),
            ],
        ),
    )
    .write("settings.yaml", configmap("settings", "1"))
    .write(
        "seed.yaml",
        hook_job("name: seed", "seed", &[]).replace("  annotations:\n", ""),
    )
    .write(
        "smoke.yaml",
        hook_job(
            "generateName: smoke-",
            "smoke",
            &[
                ("argocd.argoproj.io/hook", "PostSync"),
                ("argocd.argoproj.io/hook-delete-policy", "HookSucceeded"),
            ],
        ),
    )
    .commit("hooks");

    let plan = app.diff(&["--exit-code"]);
    plan.expect_code(2);
    assert!(
        plan.stdout
            .contains("hook: PreSync (before the app is applied), wave -1"),
        "{}",
        plan.all()
    );
    assert!(
        plan.stdout.contains("a new object each run (generateName)"),
        "{}",
        plan.all()
    );
    assert!(app.get("job", "migrate").is_none(), "diff ran a hook");

    let deploy = app.spawn_apply(&["--timeout", "90s"]);
    let migrate = pod_of(&cluster, app.ns(), "hook=migrate");
    // Nothing of the app is written while the PreSync hook runs.
    std::thread::sleep(Duration::from_secs(2));
    assert!(app.get("configmap", "settings").is_none());
    assert!(
        jobs(&app)
            .iter()
            .all(|j| j["metadata"]["name"] == "migrate"),
        "the PostSync hook ran before the app"
    );
    report(
        &cluster,
        app.ns(),
        &migrate,
        &terminated("busybox:1.36", "Succeeded", 0),
    );
    // The app is applied; the PostSync hook waits until it is healthy (its Job done).
    let seed = pod_of(&cluster, app.ns(), "hook=seed");
    assert!(app.get("configmap", "settings").is_some());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        jobs(&app).len(),
        2,
        "the PostSync hook ran before the app was healthy"
    );
    report(
        &cluster,
        app.ns(),
        &seed,
        &terminated("busybox:1.36", "Succeeded", 0),
    );
    finish(&app, "smoke", "Succeeded");
    let run = deploy.join().unwrap();
    run.expect_code(0);
    assert!(app.get("configmap", "settings").is_some());
    assert!(
        run.stdout.contains("hook PreSync wave -1 Job/"),
        "{}",
        run.all()
    );

    // Hooks are no members: no ApplySet label; the generated-name hook was deleted on success.
    let migrate_job = app.get("job", "migrate").expect("the PreSync Job stays");
    assert!(
        migrate_job["metadata"]["labels"]["applyset.kubernetes.io/part-of"].is_null(),
        "{migrate_job}"
    );
    common::until(
        "the succeeded PostSync hook to be deleted",
        Duration::from_secs(20),
        || jobs(&app).len() == 2,
    );
    let history = app.history();
    let hooks = history.last().unwrap()["hooks"].as_array().unwrap().clone();
    assert_eq!(hooks.len(), 2, "{hooks:?}");

    // A retry runs the hooks again: BeforeHookCreation replaces the PreSync Job.
    let uid = migrate_job["metadata"]["uid"].clone();
    let again = app.spawn_apply(&["--timeout", "90s"]);
    common::until("a new migrate Job", Duration::from_secs(30), || {
        app.get("job", "migrate")
            .is_some_and(|j| j["metadata"]["uid"] != uid)
    });
    finish(&app, "migrate", "Succeeded");
    common::until("a second smoke pod", Duration::from_secs(30), || {
        let run = cluster.kubectl(&[
            "get",
            "pods",
            "-n",
            app.ns(),
            "-l",
            "hook=smoke",
            "-o",
            "name",
        ]);
        !run.stdout.trim().is_empty()
    });
    finish(&app, "smoke", "Succeeded");
    again.join().unwrap().expect_code(0);
}

#[test]
fn a_failing_presync_hook_writes_nothing_else_and_runs_syncfail() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hooks-fail");
    app.write(
        "migrate.yaml",
        hook_job(
            "name: migrate",
            "migrate",
            &[("helm.sh/hook", "pre-install,pre-upgrade")],
        ),
    )
    .write("settings.yaml", configmap("settings", "1"))
    .write(
        "notify.yaml",
        hook_job(
            "generateName: notify-",
            "notify",
            &[("argocd.argoproj.io/hook", "SyncFail")],
        ),
    )
    .write(
        "cleanup.yaml",
        hook_job(
            "name: cleanup",
            "cleanup",
            &[("argocd.argoproj.io/hook", "PostDelete")],
        ),
    )
    .write(
        "skipped.yaml",
        configmap("skipped", "1").replace(
            "metadata:\n",
            "metadata:\n  annotations:\n    argocd.argoproj.io/hook: Skip\n",
        ),
    )
    .commit("hooks");
    let deploy = app.spawn_apply(&["--timeout", "90s", "--output", "json"]);
    finish(&app, "migrate", "Failed");
    finish(&app, "notify", "Succeeded");
    let run = deploy.join().unwrap();
    run.expect_code(4);
    assert!(app.get("configmap", "settings").is_none(), "{}", run.all());
    assert!(app.get("configmap", "skipped").is_none());
    assert!(
        app.get("job", "cleanup").is_none(),
        "a PostDelete hook ran on apply"
    );
    // The failure, with what its pod said, is in the CI log.
    assert!(
        run.stderr.contains("PreSync hook Job/")
            && run.stderr.contains("terminated, Error (exit code 1)"),
        "{}",
        run.all()
    );
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/report.schema.json")).unwrap();
    let errors = common::schema::validate(&schema, &json);
    assert!(errors.is_empty(), "{errors:#?}\n{}", run.stdout);
    let hooks = json["apps"][0]["hooks"].as_array().unwrap();
    let phases: Vec<(&str, bool)> = hooks
        .iter()
        .map(|h| {
            (
                h["phase"].as_str().unwrap(),
                h["succeeded"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [("PreSync", false), ("SyncFail", true)],
        "{hooks:?}"
    );
    let last = app.history().last().cloned().unwrap();
    assert_eq!(last["outcome"], "unhealthy", "{last}");
    assert!(
        last["reason"].as_str().unwrap().starts_with("PreSync hook"),
        "{last}"
    );
}

#[test]
fn an_ordinary_object_with_a_generated_name_is_refused_with_the_reason() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hooks-gen");
    app.write(
        "job.yaml",
        hook_job("generateName: once-", "once", &[]).replace("  annotations:\n", ""),
    )
    .commit("job");
    let run = app.diff(&[]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("only a sync hook may have a generated name"),
        "{}",
        run.all()
    );
}

#[test]
fn a_charts_helm_hooks_run_by_weight_and_its_tests_only_when_asked() {
    let cluster = cluster();
    let app = AppRepo::at(&cluster, "kp-helm-hooks", "chart");
    app.write("Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
        .write("templates/cm.yaml", configmap("web", "1"))
        .write(
            "templates/init.yaml",
            configmap("init", "1").replace(
                "metadata:\n",
                "metadata:\n  annotations:\n    helm.sh/hook: pre-install\n    helm.sh/hook-weight: \"-10\"\n",
            ),
        )
        .write(
            "templates/migrate.yaml",
            hook_job(
                "name: migrate",
                "migrate",
                &[
                    ("helm.sh/hook", "pre-install,pre-upgrade"),
                    ("helm.sh/hook-weight", "-5"),
                    (
                        "helm.sh/hook-delete-policy",
                        "before-hook-creation,hook-succeeded",
                    ),
                ],
            ),
        )
        .write(
            "templates/tests/test-connection.yaml",
            "apiVersion: v1
kind: Pod
metadata:
  name: web-test
  annotations:
    helm.sh/hook: test
spec:
  restartPolicy: Never
  containers:
    - name: main
      image: busybox:1.36
",
        )
        .commit("chart with hooks");
    let helm = common::helm();
    let deploy = app.spawn("apply", &["--helm-bin", &helm, "--timeout", "90s"]);
    let migrate = pod_of(&cluster, app.ns(), "hook=migrate");
    // The lighter hook ran first, and nothing of the app is written yet.
    assert!(app.get("configmap", "init").is_some());
    assert!(app.get("configmap", "web").is_none());
    report(
        &cluster,
        app.ns(),
        &migrate,
        &terminated("busybox:1.36", "Succeeded", 0),
    );
    let run = deploy.join().unwrap();
    run.expect_code(0);
    assert!(app.get("configmap", "web").is_some());
    assert!(
        app.get("pod", "web-test").is_none(),
        "a test hook ran without --run-tests"
    );
    common::until(
        "the succeeded migration Job and its pod to go",
        Duration::from_secs(30),
        || {
            let pods = cluster.kubectl(&[
                "get",
                "pods",
                "-n",
                app.ns(),
                "-l",
                "hook=migrate",
                "-o",
                "name",
            ]);
            app.get("job", "migrate").is_none() && pods.stdout.trim().is_empty()
        },
    );

    // With --run-tests the test Pod runs after the upgrade hooks, and its result counts.
    let deploy = app.spawn(
        "apply",
        &["--helm-bin", &helm, "--timeout", "90s", "--run-tests"],
    );
    finish(&app, "migrate", "Succeeded");
    common::until("the test Pod", Duration::from_secs(30), || {
        app.get("pod", "web-test").is_some()
    });
    report(
        &cluster,
        app.ns(),
        "web-test",
        &terminated("busybox:1.36", "Failed", 1),
    );
    let run = deploy.join().unwrap();
    run.expect_code(4);
    assert!(run.stdout.contains("hook Test Pod/"), "{}", run.all());
}

#[test]
fn rollback_runs_the_rollback_hooks_of_what_it_goes_back_to() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hooks-rollback");
    let marker = |name: &str, hook: &str| {
        configmap(name, "1").replace(
            "metadata:\n",
            &format!("metadata:\n  annotations:\n    helm.sh/hook: {hook}\n"),
        )
    };
    app.write("settings.yaml", configmap("settings", "1"))
        .write("before.yaml", marker("before-rollback", "pre-rollback"))
        .write("after.yaml", marker("after-rollback", "post-rollback"));
    app.deploy("one", &[]);
    // Revision two has rollback hooks of its own: going back to one runs one's.
    app.write("settings.yaml", configmap("settings", "2"))
        .write("before.yaml", marker("before-rollback-two", "pre-rollback"))
        .write("after.yaml", marker("after-rollback-two", "post-rollback"));
    app.deploy("two", &[]);
    assert!(app.get("configmap", "before-rollback").is_none());
    assert!(app.get("configmap", "after-rollback").is_none());
    let run = app.run("rollback", &[]);
    run.expect_code(0);
    assert_eq!(
        app.get("configmap", "settings").unwrap()["data"]["value"],
        "1"
    );
    assert!(
        app.get("configmap", "before-rollback").is_some(),
        "{}",
        run.all()
    );
    assert!(
        app.get("configmap", "after-rollback").is_some(),
        "{}",
        run.all()
    );
    for name in ["before-rollback-two", "after-rollback-two"] {
        assert!(
            app.get("configmap", name).is_none(),
            "the hook {name} of the revision rolled back from ran: {}",
            run.all()
        );
    }
    let hooks: Vec<String> = app.history().last().unwrap()["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} {}",
                h["phase"].as_str().unwrap(),
                h["object"].as_str().unwrap()
            )
        })
        .collect();
    let ns = app.ns();
    assert_eq!(
        hooks,
        [
            format!("PreRollback ConfigMap/{ns}/before-rollback"),
            format!("PostRollback ConfigMap/{ns}/after-rollback")
        ]
    );
}

#[test]
fn a_failed_postsync_hook_fails_the_run_and_atomic_puts_back_the_last_success() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hooks-atomic");
    app.write("settings.yaml", configmap("settings", "1"));
    app.deploy("one", &[]);
    app.write("settings.yaml", configmap("settings", "2"))
        .write(
            "smoke.yaml",
            hook_job(
                "name: smoke",
                "smoke",
                &[("argocd.argoproj.io/hook", "PostSync")],
            ),
        )
        .commit("two, with a smoke test");
    let deploy = app.spawn_apply(&["--timeout", "90s", "--atomic"]);
    finish(&app, "smoke", "Failed");
    let run = deploy.join().unwrap();
    run.expect_code(4);
    // The smoke test ran as a hook, once the update was applied and healthy.
    assert!(run.stderr.contains("PostSync hook Job/"), "{}", run.all());
    assert!(
        run.stderr
            .contains("--atomic: rolling app back to revision 1"),
        "{}",
        run.all()
    );
    assert_eq!(
        app.get("configmap", "settings").unwrap()["data"]["value"],
        "1"
    );
    let outcomes: Vec<(String, String)> = app
        .history()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("deploy".to_string(), "succeeded".to_string()),
            ("deploy".to_string(), "unhealthy".to_string()),
            ("atomic-rollback".to_string(), "succeeded".to_string()),
        ]
    );
}

/// A hook replaces only its own earlier object: an object of the same name that someone else
/// made (another team, a person with kubectl) is never deleted to make room for it.
#[test]
fn a_hook_never_replaces_an_object_it_did_not_create() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hooks-foreign");
    cluster.apply_yaml(
        configmap("marker", "theirs").replace(
            "metadata:\n",
            &format!("metadata:\n  namespace: {}\n", app.ns()),
        ),
        &[],
    );
    let foreign = app.get("configmap", "marker").unwrap();
    app.write(
        "marker.yaml",
        configmap("marker", "ours").replace(
            "metadata:\n",
            "metadata:\n  annotations:\n    argocd.argoproj.io/hook: PreSync\n",
        ),
    )
    .write("settings.yaml", configmap("settings", "1"))
    .commit("a PreSync hook named like a foreign object");
    let run = app.apply(&["--timeout", "60s"]);
    run.expect_code(4);
    assert!(run.stderr.contains("not this app's hook"), "{}", run.all());
    let after = app.get("configmap", "marker").unwrap();
    assert_eq!(
        after["metadata"]["uid"], foreign["metadata"]["uid"],
        "the foreign object was replaced"
    );
    assert_eq!(after["data"]["value"], "theirs");
    assert!(app.get("configmap", "settings").is_none());

    // Its own earlier object it does replace, run after run.
    cluster
        .kubectl(&["delete", "configmap", "marker", "-n", app.ns()])
        .expect_code(0);
    app.apply(&[]).expect_code(0);
    let first = app.get("configmap", "marker").unwrap();
    app.apply(&[]).expect_code(0);
    let second = app.get("configmap", "marker").unwrap();
    assert_ne!(first["metadata"]["uid"], second["metadata"]["uid"]);
}

/// A hook template of a chart: `kind`/`name` with `body`, a Helm hook at `hook` and `weight`.
fn chart_hook(kind: &str, name: &str, hook: &str, weight: i32, policy: &str, body: &str) -> String {
    format!(
        "apiVersion: {api}
kind: {kind}
metadata:
  name: {name}
  annotations:
    helm.sh/hook: {hook}
    helm.sh/hook-weight: \"{weight}\"
    helm.sh/hook-delete-policy: {policy}
{body}",
        api = match kind {
            "Role" | "RoleBinding" => "rbac.authorization.k8s.io/v1",
            "Job" => "batch/v1",
            _ => "v1",
        }
    )
}

/// The shape of a widely used certificate-management chart's start-up check: post-install
/// hooks at weight -5 (a ServiceAccount, a Role and a RoleBinding for it) and a Job at weight 1
/// that runs under that ServiceAccount, all `before-hook-creation,hook-succeeded`.
fn write_startup_check_chart(app: &AppRepo<'_>) {
    let policy = "before-hook-creation,hook-succeeded";
    let hook = "post-install,post-upgrade";
    app.write("Chart.yaml", "apiVersion: v2\nname: certs\nversion: 1.0.0\n")
        .write("templates/settings.yaml", configmap("settings", "1"))
        .write(
            "templates/startupapicheck-sa.yaml",
            chart_hook("ServiceAccount", "startupapicheck", hook, -5, policy, ""),
        )
        .write(
            "templates/startupapicheck-rbac.yaml",
            format!(
                "{}---\n{}",
                chart_hook(
                    "Role",
                    "startupapicheck",
                    hook,
                    -5,
                    policy,
                    "rules:\n  - apiGroups: [\"\"]\n    resources: [configmaps]\n    verbs: [get]\n"
                ),
                chart_hook(
                    "RoleBinding",
                    "startupapicheck",
                    hook,
                    -5,
                    policy,
                    "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: startupapicheck\nsubjects:\n  - kind: ServiceAccount\n    name: startupapicheck\n    namespace: \"{{ .Release.Namespace }}\"\n"
                ),
            ),
        )
        .write(
            "templates/startupapicheck-job.yaml",
            chart_hook(
                "Job",
                "startupapicheck",
                hook,
                1,
                policy,
                "spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        hook: startupapicheck
    spec:
      restartPolicy: Never
      serviceAccountName: startupapicheck
      containers:
        - name: main
          image: busybox:1.36
",
            ),
        );
}

/// Installs the start-up check chart with `args`, playing the kubelet for its Job; then no
/// hook object may be left.
fn install_startup_check(app: &AppRepo<'_>, args: &[&str]) {
    let deploy = app.spawn("apply", args);
    // The Job's pod exists only if its ServiceAccount is still there when the Job runs.
    finish(app, "startupapicheck", "Succeeded");
    let run = deploy.join().unwrap();
    run.expect_code(0);
    assert!(run.stdout.contains("Healthy"), "{}", run.all());
    assert!(app.get("configmap", "settings").is_some());
    common::until(
        "every hook object to be deleted",
        Duration::from_secs(30),
        || {
            ["serviceaccount", "role", "rolebinding", "job"]
                .iter()
                .all(|kind| app.get(kind, "startupapicheck").is_none())
        },
    );
}

#[test]
fn rbac_hooks_stay_until_the_job_hook_of_a_later_weight_has_run() {
    let cluster = cluster();
    let app = AppRepo::at(&cluster, "kp-hook-rbac", "chart");
    write_startup_check_chart(&app);
    app.commit("chart with a start-up check");
    let helm = common::helm();
    install_startup_check(&app, &["--helm-bin", &helm, "--timeout", "60s"]);
    // Again, as an upgrade: each hook object is replaced, and deleted once the phase is over.
    install_startup_check(&app, &["--helm-bin", &helm, "--timeout", "60s"]);
}

#[test]
fn rbac_hooks_of_a_chart_deployed_through_an_argo_cd_application_stay_until_the_job_ran() {
    let cluster = cluster();
    let app = AppRepo::at(&cluster, "kp-hook-rbac-argo", "chart");
    write_startup_check_chart(&app);
    app.repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: certs
spec:
  source:
    path: chart
    helm:
      releaseName: certs
  destination:
    namespace: {}
",
            app.ns()
        ),
    );
    app.commit("chart and its Application");
    let helm = common::helm();
    install_startup_check(&app, &["--helm-bin", &helm, "--timeout", "60s"]);
}

/// Hook delete policies apply to the whole phase's outcome: when a phase fails, its
/// `HookFailed` objects go and its `HookSucceeded` ones stay for inspection, even those of an
/// earlier wave that succeeded.
#[test]
fn a_failed_phase_deletes_its_hook_failed_objects_and_keeps_the_others() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hook-failed");
    app.write(
        "ok.yaml",
        presync_marker("succeeded-marker", "HookSucceeded"),
    )
    .write("debug.yaml", presync_marker("failed-marker", "HookFailed"))
    .write("migrate.yaml", presync_migrate("HookFailed"))
    .write("settings.yaml", configmap("settings", "1"))
    .commit("a failing migration");
    let deploy = app.spawn("apply", &["--timeout", "60s"]);
    finish(&app, "migrate", "Failed");
    let run = deploy.join().unwrap();
    run.expect_code(4);
    assert!(app.get("configmap", "settings").is_none(), "{}", run.all());
    common::until(
        "the HookFailed objects to be deleted",
        Duration::from_secs(30),
        || app.get("job", "migrate").is_none() && app.get("configmap", "failed-marker").is_none(),
    );
    assert!(
        app.get("configmap", "succeeded-marker").is_some(),
        "a HookSucceeded object of a failed phase was deleted: {}",
        run.all()
    );
}

/// A person replaces a hook's object while its phase still runs (deletes it, creates their
/// own of that name): the end of the phase deletes only the objects the run created.
#[test]
fn the_end_of_a_phase_never_deletes_what_a_person_put_in_a_hooks_place() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-hook-replaced");
    app.write(
        "check.yaml",
        presync_marker("settings-check", "HookSucceeded"),
    )
    .write("migrate.yaml", presync_migrate("HookSucceeded"))
    .write("settings.yaml", configmap("settings", "1"))
    .commit("hooks");
    let deploy = app.spawn("apply", &["--timeout", "60s"]);
    // The Job of the later wave runs: the check ConfigMap of the earlier one is there.
    let pod = pod_of(&cluster, app.ns(), "hook=migrate");
    assert!(app.get("configmap", "settings-check").is_some());
    cluster
        .kubectl(&["delete", "configmap", "settings-check", "-n", app.ns()])
        .expect_code(0);
    cluster
        .kubectl(&[
            "create",
            "configmap",
            "settings-check",
            "-n",
            app.ns(),
            "--from-literal=owner=person",
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
    common::until(
        "the run's own hook Job to be deleted",
        Duration::from_secs(30),
        || app.get("job", "migrate").is_none(),
    );
    let theirs = app.get("configmap", "settings-check");
    assert_eq!(
        theirs.as_ref().map(|c| c["data"]["owner"].clone()),
        Some(serde_json::json!("person")),
        "{}",
        run.all()
    );
}
