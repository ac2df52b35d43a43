//! `kpush diff` and `kpush apply` against the real API server.

mod common;

use common::{GitRepo, cluster, configmap, service, unique};

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
    let ns = cluster.namespace("kp-apply");
    let role = unique("kp-role");
    let _role = cluster.cleanup("clusterrole", &role);
    let repo = GitRepo::new();
    repo.write(
        "app/web.yaml",
        format!("{}---\n{}", deployment("web", "nginx:1.27"), service("web")),
    )
    .write("app/role.yaml", cluster_role(&role))
    .write("app/settings.yaml", configmap("settings", "on"))
    .commit("app");

    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
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
        &format!("/apis/apps/v1/namespaces/{}/deployments/web", ns.name),
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
    assert!(cluster.get("service", Some(&ns.name), "web").is_some());
    assert!(cluster.get("clusterrole", None, &role).is_some());

    // Server defaults (clusterIP, strategy, ...) are not changes.
    let again = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
    again.expect_code(0);
    assert!(
        again
            .stdout
            .contains("Plan: 0 to create, 0 to update, 0 to prune, 4 unchanged"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    cluster
        .kpush(repo.path(), &["diff", "app", "-n", &ns.name, "--exit-code"])
        .expect_code(0);
}

#[test]
fn a_changed_image_is_one_changed_line_and_diff_exit_code_says_so() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-diff");
    let repo = GitRepo::new();
    repo.write("app/web.yaml", deployment("web", "nginx:1.27"))
        .commit("v1");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    repo.write("app/web.yaml", deployment("web", "nginx:1.28"))
        .commit("v2");

    let run = cluster.kpush(repo.path(), &["diff", "app", "-n", &ns.name, "--exit-code"]);
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
            .contains(&format!("~ apps/v1 Deployment web -n {}", ns.name))
    );
    // Without --exit-code, changes are not a failure.
    cluster
        .kpush(repo.path(), &["diff", "app", "-n", &ns.name])
        .expect_code(0);
    // diff writes nothing.
    let live = cluster.get("deployment", Some(&ns.name), "web").unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );

    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    let live = cluster.get("deployment", Some(&ns.name), "web").unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
}

#[test]
fn an_unknown_kind_fails_validation_and_nothing_is_applied() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-unknown");
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("first", "1"))
        .write(
            "app/widget.yaml",
            "apiVersion: example.kpush.dev/v1\nkind: Widget\nmetadata:\n  name: w\n",
        )
        .write(
            "app/z.yaml",
            "apiVersion: v1\nkind: Gadget\nmetadata:\n  name: g\n",
        )
        .commit("unknown kinds");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
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
    assert!(cluster.get("configmap", Some(&ns.name), "first").is_none());
}

#[test]
fn a_malformed_file_stops_the_run_before_the_cluster() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-malformed");
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("first", "1"))
        .write(
            "app/b.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: tabs\n",
        )
        .commit("tab");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
    run.expect_code(3);
    assert!(run.stderr.contains("app/b.yaml:4"), "{}", run.stderr);
    assert!(cluster.get("configmap", Some(&ns.name), "first").is_none());
}

#[test]
fn one_invalid_object_among_twenty_writes_nothing() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-validate");
    let repo = GitRepo::new();
    for i in 0..20 {
        repo.write(
            &format!("app/cm-{i:02}.yaml"),
            configmap(&format!("cm-{i:02}"), "v"),
        );
    }
    repo.write(
        "app/zz-bad.yaml",
        deployment("bad", "nginx").replace("replicas: 0", "replicas: many"),
    )
    .commit("one bad");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
    run.expect_code(3);
    assert!(
        run.stdout
            .contains(&format!("! apps/v1 Deployment bad -n {}", ns.name)),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("replicas"), "{}", run.stdout);
    assert!(run.stderr.contains("nothing was written"), "{}", run.stderr);
    let listed = cluster.kubectl(&["get", "configmaps", "-n", &ns.name, "-o", "name"]);
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
    let ns = cluster.namespace("kp-secret");
    let secret = |value: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {value}\n"
        )
    };
    let repo = GitRepo::new();
    repo.write("app/s.yaml", secret("old-Passw0rd-value"))
        .commit("v1");
    let first = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name, "-vvv"]);
    first.expect_code(0);
    repo.write("app/s.yaml", secret("new-Passw0rd-value"))
        .commit("v2");
    for output in ["text", "json"] {
        let run = cluster.kpush(
            repo.path(),
            &["diff", "app", "-n", &ns.name, "-o", output, "-vvv"],
        );
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
    let ns = cluster.namespace("kp-forbidden");
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1")).commit("one");
    let run = common::kpush(
        repo.path(),
        &[
            "--kubeconfig",
            user.to_str().unwrap(),
            "apply",
            "app",
            "-n",
            &ns.name,
        ],
    );
    run.expect_code(3);
    assert!(run.all().contains("(Forbidden)"), "{}", run.all());
    assert!(cluster.get("configmap", Some(&ns.name), "a").is_none());
}

#[test]
fn json_output_carries_the_plan_and_the_results() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-json");
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1")).commit("one");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name, "-o", "json"]);
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
    let app = &report["apps"][0];
    assert_eq!(app["app"], "app");
    assert_eq!(app["namespace"], ns.name.as_str());
    assert_eq!(app["counts"]["create"], 1);
    assert_eq!(app["plan"]["entries"][0]["action"], "create");
    assert_eq!(app["plan"]["entries"][0]["id"]["name"], "a");
    assert_eq!(app["applied"]["outcomes"][0]["id"]["kind"], "ConfigMap");
    assert_eq!(app["exit_code"], 0);

    // A failing plan and a diff validate against the same schema.
    repo.write(
        "app/b.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata: [1]\n",
    )
    .commit("bad");
    for command in ["diff", "apply"] {
        let run = cluster.kpush(repo.path(), &[command, "app", "-n", &ns.name, "-o", "json"]);
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
    let ns = cluster.namespace("kp-field");
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1"))
        .write(
            "app/web.yaml",
            deployment("web", "nginx").replace("replicas: 0", "replicaz: 3"),
        )
        .commit("typo");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
    run.expect_code(3);
    // Server-side apply refuses fields outside a built-in kind's schema on every version.
    assert!(
        run.stdout
            .contains(".spec.replicaz: field not declared in schema"),
        "{}",
        run.stdout
    );
    assert!(cluster.get("configmap", Some(&ns.name), "a").is_none());
    assert!(cluster.get("deployment", Some(&ns.name), "web").is_none());
}

#[test]
fn discovery_is_aggregated_where_the_server_offers_it() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-discovery");
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1"))
        .write("app/web.yaml", deployment("web", "nginx"))
        .commit("two API versions");
    let run = cluster.kpush(repo.path(), &["diff", "app", "-n", &ns.name, "-v"]);
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

/// A repository whose `app` holds ConfigMaps `cm-00` to `cm-11` with `value: v`: enough of
/// one kind for kpush to read them with one list.
fn twelve_configmaps() -> GitRepo {
    let repo = GitRepo::new();
    for i in 0..12 {
        repo.write(
            &format!("app/cm-{i:02}.yaml"),
            configmap(&format!("cm-{i:02}"), "v"),
        );
    }
    repo.commit("twelve");
    repo
}

#[test]
fn many_objects_of_a_kind_redeploy_unchanged() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-many");
    let repo = twelve_configmaps();
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    // Read through one list of the kind, the live objects compare equal to the dry runs.
    let run = cluster.kpush(repo.path(), &["diff", "app", "-n", &ns.name, "--exit-code"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("0 to create, 0 to update, 0 to prune, 12 unchanged"),
        "{}",
        run.stdout
    );
    repo.write("app/cm-03.yaml", configmap("cm-03", "changed"))
        .commit("one changed");
    let run = cluster.kpush(repo.path(), &["diff", "app", "-n", &ns.name]);
    assert!(
        run.stdout
            .contains("0 to create, 1 to update, 0 to prune, 11 unchanged"),
        "{}",
        run.stdout
    );
}

#[test]
fn edits_made_outside_kpush_are_found_without_asking_the_server_about_the_rest() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-settled");
    let repo = twelve_configmaps();
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    let kubectl = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend(["-n", &ns.name]);
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
    let run = cluster.kpush(repo.path(), &["diff", "app", "-n", &ns.name]);
    let out = run.all();
    assert!(
        out.contains(r#"conflict with "kubectl-patch" using v1: .data.value"#),
        "{out}"
    );
    assert!(out.contains("~ v1 ConfigMap cm-02"), "{out}");
    assert!(out.contains("10 unchanged"), "{out}");
    cluster
        .kpush(
            repo.path(),
            &["apply", "app", "-n", &ns.name, "--force-conflicts"],
        )
        .expect_code(0);
    cluster
        .kpush(repo.path(), &["diff", "app", "-n", &ns.name, "--exit-code"])
        .expect_code(0);

    // An admission policy added since refuses the objects as they are. Unchanged objects are
    // compared locally, so only `--verify-unchanged` sends them to it.
    let Some(_policy) = refuse(
        &cluster,
        &ns.name,
        "apiGroups: [''], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]",
        "!has(object.data) || !('value' in object.data) || object.data['value'] != 'v'",
        "the value v is no longer allowed",
    ) else {
        return;
    };
    cluster
        .kpush(repo.path(), &["diff", "app", "-n", &ns.name, "--exit-code"])
        .expect_code(0);
    let run = cluster.kpush(
        repo.path(),
        &["diff", "app", "-n", &ns.name, "--verify-unchanged"],
    );
    run.expect_code(3);
    assert!(
        run.all().contains("the value v is no longer allowed"),
        "{}",
        run.all()
    );
}

/// A ValidatingAdmissionPolicy refusing, in `namespace`, what `rule` matches unless
/// `expression` holds; `None` on servers without admission policies. Deleted on drop. It is
/// in force once a ConfigMap with `value: v` is refused, which every policy here refuses.
fn refuse<'a>(
    cluster: &'a common::TestCluster,
    namespace: &str,
    rule: &str,
    expression: &str,
    message: &str,
) -> Option<(common::Cleanup<'a>, common::Cleanup<'a>)> {
    if cluster
        .kubectl(&["get", "validatingadmissionpolicies"])
        .code
        != 0
    {
        return None;
    }
    let policy = unique("kp-refuse");
    let guards = (
        cluster.cleanup("validatingadmissionpolicy", &policy),
        cluster.cleanup("validatingadmissionpolicybinding", &policy),
    );
    let manifests = format!(
        "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {policy}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {{{rule}}}
  validations:
    - expression: {expression:?}
      message: {message}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {policy}}}
spec:
  policyName: {policy}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {{kubernetes.io/metadata.name: {namespace}}}
"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, manifests).unwrap();
    cluster
        .kubectl(&["apply", "-f", file.to_str().unwrap()])
        .expect_code(0);
    // Policies take effect a moment after they are created.
    common::until(
        "the policy to refuse",
        std::time::Duration::from_secs(30),
        || {
            cluster
                .kubectl(&[
                    "create",
                    "configmap",
                    "probe",
                    "--from-literal=value=v",
                    "--dry-run=server",
                    "-n",
                    namespace,
                ])
                .code
                != 0
        },
    );
    Some(guards)
}

#[test]
fn a_redeploy_of_common_kinds_asks_the_server_nothing() {
    let cluster = cluster();
    // The check is an admission policy; older servers also refuse numeric quantities in
    // server-side apply.
    if cluster
        .kubectl(&["get", "validatingadmissionpolicies"])
        .code
        != 0
    {
        return;
    }
    let ns = cluster.namespace("kp-quiet");
    let repo = GitRepo::new();
    repo.write("app/web.yaml", deployment("web", "registry.example/web:1"))
        .write("app/svc.yaml", service("web"))
        .write("app/cm.yaml", configmap("settings", "v"))
        // As `kubectl create --dry-run=client -o yaml` writes it.
        .write(
            "app/generated.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  creationTimestamp: null\n  name: generated\ndata:\n  k: v\n",
        )
        // Quantities written as numbers come back as strings.
        .write(
            "app/worker.yaml",
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
            "app/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: hunter2\n",
        )
        .write(
            "app/rbac.yaml",
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
        .commit("one of each");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"])
        .expect_code(0);
    // Every write in the namespace is refused from now on: a plan that dry-runs anything
    // fails.
    let Some(_policy) = refuse(
        &cluster,
        &ns.name,
        "apiGroups: ['*'], apiVersions: ['*'], operations: [CREATE, UPDATE], resources: ['*'], scope: Namespaced",
        "false",
        "nothing may change here",
    ) else {
        return;
    };
    let run = cluster.kpush(repo.path(), &["diff", "app", "-n", &ns.name, "--exit-code"]);
    run.expect_code(0);
    assert!(run.stdout.contains("9 unchanged"), "{}", run.stdout);
    let run = cluster.kpush(
        repo.path(),
        &["diff", "app", "-n", &ns.name, "--verify-unchanged"],
    );
    run.expect_code(3);
    assert!(
        run.all().contains("nothing may change here"),
        "{}",
        run.all()
    );
}
