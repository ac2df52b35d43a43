//! `kpush diff` and `kpush apply` against the real API server.

mod common;

use common::app_repo::AppRepo;
use common::{GitRepo, TestCluster, cluster, configmap, service, unique};

fn deployment(name: &str, image: &str) -> String {
    common::deployment(name, 0, image)
}

fn cluster_role(name: &str) -> String {
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
  - apiGroups: [\"\"]
    resources: [configmaps]
    verbs: [get]
"
    )
}

#[test]
fn applies_namespaced_and_cluster_scoped_objects_then_reports_no_changes() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-apply");
    let role = unique("kp-role");
    let _role = cluster.cleanup("clusterrole", &role);
    app.write(
        "web.yaml",
        format!("{}---\n{}", deployment("web", "nginx:1.27"), service("web")),
    )
    .write("role.yaml", cluster_role(&role))
    .write("settings.yaml", configmap("settings", "on"))
    .commit("app");

    let run = app.apply(&[]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("Plan: 4 to create, 0 to update, 0 to prune, 0 unchanged"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Applied: 4 created, 0 updated"),
        "{}",
        run.stdout
    );

    // kubectl hides managed fields; read the object as the API serves it.
    let raw = cluster.kubectl(&[
        "get",
        "--raw",
        &format!("/apis/apps/v1/namespaces/{}/deployments/web", app.ns()),
    ]);
    raw.expect_code(0);
    let deploy: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    let managers: Vec<&str> = deploy["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["operation"] == "Apply")
        .map(|f| f["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["kpush"]);
    assert!(app.get("service", "web").is_some());
    assert!(cluster.get("clusterrole", None, &role).is_some());

    // Server defaults (clusterIP, strategy, ...) are not changes.
    let again = app.apply(&[]);
    again.expect_code(0);
    assert!(
        again
            .stdout
            .contains("Plan: 0 to create, 0 to update, 0 to prune, 4 unchanged"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    app.diff(&["--exit-code"]).expect_code(0);
}

#[test]
fn a_changed_image_is_one_changed_line_and_diff_exit_code_says_so() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "kp-diff",
        &[("web.yaml", &deployment("web", "nginx:1.27"))],
    );
    app.write("web.yaml", deployment("web", "nginx:1.28"))
        .commit("v2");

    let run = app.diff(&["--exit-code"]);
    run.expect_code(2);
    let changed: Vec<&str> = run
        .stdout
        .lines()
        .map(str::trim_start)
        .filter(|l| (l.starts_with('+') || l.starts_with('-')) && !l.starts_with("+ apps/v1"))
        .collect();
    assert_eq!(changed.len(), 2, "{}", run.stdout);
    assert!(
        changed[0].starts_with('-') && changed[0].ends_with("image: nginx:1.27"),
        "{changed:?}"
    );
    assert!(
        changed[1].starts_with('+') && changed[1].ends_with("image: nginx:1.28"),
        "{changed:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("~ apps/v1 Deployment web -n {}", app.ns()))
    );
    // Without --exit-code, changes are not a failure.
    app.diff(&[]).expect_code(0);
    // diff writes nothing.
    let live = app.get("deployment", "web").unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );

    app.apply(&[]).expect_code(0);
    let live = app.get("deployment", "web").unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
}

#[test]
fn an_unknown_kind_fails_validation_and_nothing_is_applied() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-unknown");
    app.write("a.yaml", configmap("first", "1"))
        .write(
            "widget.yaml",
            "apiVersion: example.kpush.dev/v1\nkind: Widget\nmetadata:\n  name: w\n",
        )
        .write(
            "z.yaml",
            "apiVersion: v1\nkind: Gadget\nmetadata:\n  name: g\n",
        )
        .commit("unknown kinds");
    let run = app.apply(&[]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("app/widget.yaml:1: unknown kind `Widget`")
            && run
                .stderr
                .contains("the server does not serve `example.kpush.dev/v1`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("app/z.yaml:1: unknown kind `Gadget`"),
        "{}",
        run.stderr
    );
    assert!(app.get("configmap", "first").is_none());
}

#[test]
fn a_malformed_file_stops_the_run_before_the_cluster() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-malformed");
    app.write("a.yaml", configmap("first", "1"))
        .write(
            "b.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n",
        )
        .commit("tab");
    let run = app.apply(&[]);
    run.expect_code(3);
    assert!(run.stderr.contains("app/b.yaml:4"), "{}", run.stderr);
    assert!(app.get("configmap", "first").is_none());
}

#[test]
fn one_invalid_object_among_twenty_writes_nothing() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-validate");
    for i in 0..20 {
        app.write(
            &format!("cm-{i:02}.yaml"),
            configmap(&format!("cm-{i:02}"), "v"),
        );
    }
    app.write(
        "zz-bad.yaml",
        deployment("bad", "nginx").replace("replicas: 0", "replicas: many"),
    )
    .commit("one bad");
    let run = app.apply(&[]);
    run.expect_code(3);
    assert!(
        run.stdout
            .contains(&format!("! apps/v1 Deployment bad -n {}", app.ns())),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("replicas"), "{}", run.stdout);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    let listed = cluster.kubectl(&["get", "configmaps", "-n", app.ns(), "-o", "name"]);
    assert!(!listed.stdout.contains("cm-"), "{}", listed.stdout);
}

#[test]
fn missing_namespace_is_a_validation_error_unless_created() {
    let cluster = cluster();
    let ns = unique("kp-created");
    let _guard = cluster.cleanup("namespace", &ns);
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1")).commit("one");

    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains(&format!("namespace `{ns}` does not exist")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--create-namespace"), "{}", run.stderr);
    assert!(cluster.get("namespace", None, &ns).is_none());

    let diff = cluster.kpush(
        repo.path(),
        &[
            "diff",
            "app",
            "-n",
            &ns,
            "--create-namespace",
            "--exit-code",
        ],
    );
    diff.expect_code(2);
    assert!(
        diff.stdout.contains(&format!("+ v1 Namespace {ns}")),
        "{}",
        diff.stdout
    );
    assert!(
        cluster.get("namespace", None, &ns).is_none(),
        "diff must not create it"
    );

    let run = cluster.kpush(
        repo.path(),
        &["apply", "app", "-n", &ns, "--create-namespace"],
    );
    run.expect_code(0);
    // The plan and the summary count the same writes, and the plan names the namespace.
    assert!(
        run.stdout.contains(&format!(
            "Plan: 2 to create (namespace {ns} among them), 0 to update"
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("Applied: 2 created, 0 updated"),
        "{}",
        run.stdout
    );
    let created = cluster
        .get("namespace", None, &ns)
        .expect("namespace created");
    assert_eq!(
        created["metadata"]["labels"]["app.kubernetes.io/created-by"],
        "kpush"
    );
    assert!(cluster.get("configmap", Some(&ns), "a").is_some());
}

#[test]
fn secret_values_never_appear_in_diff_output() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-secret");
    let secret = |value: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {value}\n"
        )
    };
    app.write("s.yaml", secret("old-Passw0rd-value"))
        .commit("v1");
    let first = app.apply(&["-vvv"]);
    first.expect_code(0);
    app.write("s.yaml", secret("new-Passw0rd-value"))
        .commit("v2");
    for output in ["text", "json"] {
        let run = app.diff(&["-o", output, "-vvv"]);
        run.expect_code(0);
        let all = format!("{}{}", first.all(), run.all());
        for leaked in [
            "old-Passw0rd-value",
            "new-Passw0rd-value",
            "b2xkLVBhc3N3MHJkLXZhbHVl",
            "bmV3LVBhc3N3MHJkLXZhbHVl",
        ] {
            assert!(!all.contains(leaked), "{leaked} leaked in {output}:\n{all}");
        }
        assert!(run.stdout.contains("<changed, 18 bytes>"), "{}", run.stdout);
    }
}

#[test]
fn the_unprivileged_user_is_refused_at_validation() {
    let cluster = cluster();
    let Some(user) = cluster.user_kubeconfig.clone() else {
        panic!("KPUSH_TEST_USER_KUBECONFIG is not set; scripts/control-plane/up provides it");
    };
    let app = AppRepo::new(&cluster, "kp-forbidden");
    app.write("a.yaml", configmap("a", "1")).commit("one");
    // As the user, not with the test cluster's admin credentials.
    let run = common::kpush(
        app.repo.path(),
        &[
            "--kubeconfig",
            user.to_str().unwrap(),
            "apply",
            "app",
            "-n",
            app.ns(),
        ],
    );
    run.expect_code(3);
    assert!(run.all().contains("(Forbidden)"), "{}", run.all());
    assert!(app.get("configmap", "a").is_none());
}

#[test]
fn json_output_carries_the_plan_and_the_results() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-json");
    app.write("a.yaml", configmap("a", "1")).commit("one");
    let run = app.apply(&["-o", "json"]);
    run.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../docs/report.schema.json")).unwrap();
    let errors = common::schema::validate(&schema, &report);
    assert!(errors.is_empty(), "{errors:#?}\n{}", run.stdout);
    // The checker does reject what breaks the schema.
    let broken =
        serde_json::json!({"command": "apply", "apps": [{"app": 1}], "exit_code": 7, "x": 0});
    assert_eq!(
        common::schema::validate(&schema, &broken).len(),
        7,
        "{:#?}",
        common::schema::validate(&schema, &broken)
    );
    assert_eq!(report["command"], "apply");
    assert_eq!(report["exit_code"], 0);
    let entry = &report["apps"][0];
    assert_eq!(entry["app"], "app");
    assert_eq!(entry["namespace"], app.ns());
    assert_eq!(entry["counts"]["create"], 1);
    assert_eq!(entry["plan"]["entries"][0]["action"], "create");
    assert_eq!(entry["plan"]["entries"][0]["id"]["name"], "a");
    assert_eq!(entry["applied"]["outcomes"][0]["id"]["kind"], "ConfigMap");
    assert_eq!(entry["exit_code"], 0);

    // A failing plan and a diff validate against the same schema.
    app.write(
        "b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata: [1]\n",
    )
    .commit("bad");
    for command in ["diff", "apply"] {
        let run = app.run(command, &["-o", "json"]);
        run.expect_code(3);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let errors = common::schema::validate(&schema, &report);
        assert!(errors.is_empty(), "{command}: {errors:#?}\n{}", run.stdout);
        assert_eq!(report["apps"][0]["counts"]["error"], 1);
    }
}

#[test]
fn an_unreachable_server_is_a_runtime_error() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1")).commit("one");
    let run = common::kpush(
        repo.path(),
        &["--kubeconfig", &kubeconfig, "diff", "app", "-n", "x"],
    );
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("cannot reach the Kubernetes API server at https://127.0.0.1:9"),
        "{}",
        run.stderr
    );

    let run = common::kpush(
        repo.path(),
        &[
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "nope",
            "diff",
            "app",
        ],
    );
    run.expect_code(3);
    assert!(run.stderr.contains("context `nope`"), "{}", run.stderr);
}

#[test]
fn an_unknown_field_fails_validation() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-field");
    app.write("a.yaml", configmap("a", "1"))
        .write(
            "web.yaml",
            deployment("web", "nginx").replace("replicas: 0", "replicaz: 3"),
        )
        .commit("typo");
    let run = app.apply(&[]);
    run.expect_code(3);
    // Server-side apply refuses fields outside a built-in kind's schema on every version.
    assert!(
        run.stdout
            .contains(".spec.replicaz: field not declared in schema"),
        "{}",
        run.stdout
    );
    assert!(app.get("configmap", "a").is_none());
    assert!(app.get("deployment", "web").is_none());
}

#[test]
fn discovery_is_aggregated_where_the_server_offers_it() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-discovery");
    app.write("a.yaml", configmap("a", "1"))
        .write("web.yaml", deployment("web", "nginx"))
        .commit("two API versions");
    let run = app.diff(&["-v"]);
    run.expect_code(0);
    match common::server_minor() {
        // Aggregated discovery is on by default from 1.30 (beta since 1.26).
        Some(minor) if minor >= 30 => assert!(
            run.stderr.contains("API discovery: aggregated, 2 requests"),
            "{}",
            run.stderr
        ),
        Some(_) => assert!(
            run.stderr
                .contains("API discovery: per API version, 2 requests"),
            "{}",
            run.stderr
        ),
        None => assert!(run.stderr.contains("API discovery: "), "{}", run.stderr),
    }
}

/// An app of ConfigMaps `cm-00` to `cm-11` with `value: v`, deployed: enough of one kind for
/// kpush to read them with one list.
fn twelve_configmaps<'c>(cluster: &'c TestCluster, ns_prefix: &str) -> AppRepo<'c> {
    let app = AppRepo::new(cluster, ns_prefix);
    for i in 0..12 {
        app.write(
            &format!("cm-{i:02}.yaml"),
            configmap(&format!("cm-{i:02}"), "v"),
        );
    }
    app.deploy("twelve", &[]);
    app
}

#[test]
fn many_objects_of_a_kind_redeploy_unchanged() {
    let cluster = cluster();
    let app = twelve_configmaps(&cluster, "kp-many");
    // Read through one list of the kind, the live objects compare equal to the dry runs.
    let run = app.diff(&["--exit-code"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("0 to create, 0 to update, 0 to prune, 12 unchanged"),
        "{}",
        run.stdout
    );
    // Redeployed unchanged, nothing is written: every resourceVersion stays.
    let versions = || -> std::collections::BTreeMap<String, String> {
        let list = cluster.kubectl(&["get", "configmaps", "-n", app.ns(), "-o", "json"]);
        list.expect_code(0);
        let list: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["metadata"]["name"].as_str().unwrap().starts_with("cm-"))
            .map(|c| {
                let m = &c["metadata"];
                (
                    m["name"].as_str().unwrap().to_string(),
                    m["resourceVersion"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let before = versions();
    assert_eq!(before.len(), 12);
    let run = app.apply(&[]);
    run.expect_code(0);
    assert_eq!(versions(), before, "{}", run.all());

    app.write("cm-03.yaml", configmap("cm-03", "changed"))
        .commit("one changed");
    let run = app.diff(&[]);
    assert!(
        run.stdout
            .contains("0 to create, 1 to update, 0 to prune, 11 unchanged"),
        "{}",
        run.stdout
    );
    // Redeployed with one change, only that object is written.
    app.apply(&[]).expect_code(0);
    let after = versions();
    let written: Vec<&String> = after
        .iter()
        .filter(|(name, version)| before[*name] != **version)
        .map(|(name, _)| name)
        .collect();
    assert_eq!(written, ["cm-03"]);
}

#[test]
fn edits_made_outside_kpush_are_found_without_asking_the_server_about_the_rest() {
    let cluster = cluster();
    let app = twelve_configmaps(&cluster, "kp-settled");
    let kubectl = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend(["-n", app.ns()]);
        cluster.kubectl(&full).expect_code(0);
    };
    // Each an Update by another manager: a declared value changed, a declared key removed,
    // and a label kpush does not declare added (no drift: applying leaves it alone).
    kubectl(&[
        "patch",
        "configmap",
        "cm-01",
        "--type=merge",
        "-p",
        r#"{"data":{"value":"edited"}}"#,
    ]);
    kubectl(&[
        "patch",
        "configmap",
        "cm-02",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/data/value"}]"#,
    ]);
    kubectl(&["label", "configmap", "cm-03", "team=payments"]);
    let run = app.diff(&[]);
    let out = run.all();
    assert!(
        out.contains(r#"conflict with "kubectl-patch" using v1: .data.value"#),
        "{out}"
    );
    assert!(out.contains("~ v1 ConfigMap cm-02"), "{out}");
    assert!(out.contains("10 unchanged"), "{out}");
    app.apply(&["--force-conflicts"]).expect_code(0);
    app.diff(&["--exit-code"]).expect_code(0);

    // An admission policy added since refuses the objects as they are. Unchanged objects are
    // compared locally, so only `--verify-unchanged` sends them to it.
    let Some(_policy) = common::policy::refuse(
        &cluster,
        app.ns(),
        "apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]",
        "!has(object.data) || !('value' in object.data) || object.data['value'] != 'v'",
        "the value v is no longer allowed",
    ) else {
        return;
    };
    app.diff(&["--exit-code"]).expect_code(0);
    let run = app.diff(&["--verify-unchanged"]);
    run.expect_code(3);
    assert!(
        run.all().contains("the value v is no longer allowed"),
        "{}",
        run.all()
    );
}

#[test]
fn a_redeploy_of_common_kinds_asks_the_server_nothing() {
    let cluster = cluster();
    // The check is an admission policy (served from 1.30); older servers also refuse numeric
    // quantities in server-side apply.
    if common::server_minor_of(&cluster) < 30 {
        eprintln!("no admission policies to check with before Kubernetes 1.30");
        return;
    }
    let app = AppRepo::new(&cluster, "kp-quiet");
    app.write("web.yaml", deployment("web", "registry.example/web:1"))
        .write("svc.yaml", service("web"))
        .write("cm.yaml", configmap("settings", "v"))
        // As `kubectl create --dry-run=client -o yaml` writes it.
        .write(
            "generated.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  creationTimestamp: null\n  name: generated\ndata:\n  k: v\n",
        )
        // Quantities written as numbers come back as strings.
        .write(
            "worker.yaml",
            "apiVersion: apps/v1
kind: Deployment
metadata: {name: worker}
spec:
  replicas: 0
  selector: {matchLabels: {app: worker}}
  template:
    metadata: {labels: {app: worker}}
    spec:
      containers:
        - name: main
          image: registry.example/worker:1
          resources: {requests: {cpu: 1, memory: 64Mi}, limits: {cpu: 2}}
",
        )
        .write(
            "secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n",
        )
        .write(
            "rbac.yaml",
            "apiVersion: v1
kind: ServiceAccount
metadata: {name: reader}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [''], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: reader}]
",
        )
        .deploy("one of each", &["--no-wait"]);
    // Every write in the namespace is refused from now on: a plan that dry-runs anything
    // fails.
    let Some(_policy) = common::policy::refuse(
        &cluster,
        app.ns(),
        "apiGroups: ['*'], apiVersions: ['*'], operations: [CREATE, UPDATE], resources: ['*'], scope: Namespaced",
        "false",
        "nothing may change here",
    ) else {
        return;
    };
    let run = app.diff(&["--exit-code"]);
    run.expect_code(0);
    assert!(run.stdout.contains("9 unchanged"), "{}", run.stdout);
    let run = app.diff(&["--verify-unchanged"]);
    run.expect_code(3);
    assert!(
        run.all().contains("nothing may change here"),
        "{}",
        run.all()
    );
}
