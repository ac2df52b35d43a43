//! The Role in examples/rbac is enough for a whole deploy, prune and health wait of a
//! namespace-scoped app, and an object outside it is refused at validation with nothing written.

mod common;

use common::app_repo::AppRepo;
use common::{cluster, configmap, deployment, secret, service};

const EXAMPLE: &str = include_str!("../examples/rbac/kpush-deployer.yaml");

/// The example for namespace `ns`, bound to the test control plane's unprivileged user as well
/// as to the example's service account.
fn grant(cluster: &common::TestCluster, ns: &str) {
    grant_role(cluster, ns, EXAMPLE);
}

/// The lease rule of the example: what only writing needs.
const LEASES: &str = "  - apiGroups: [coordination.k8s.io]\n    resources: [leases]\n    verbs: [get, create, update]\n";

fn grant_role(cluster: &common::TestCluster, ns: &str, role: &str) {
    let manifest = role.replace("namespace: shop", &format!("namespace: {ns}"));
    let user_binding = format!(
        "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: kpush-user\n  namespace: {ns}\n\
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: kpush-deployer}}\n\
subjects: [{{kind: User, name: kpush-user, apiGroup: rbac.authorization.k8s.io}}]\n"
    );
    cluster.apply_yaml(format!("{manifest}{user_binding}"), &[]);
}

#[test]
fn the_example_role_deploys_prunes_and_waits() {
    let cluster = cluster();
    let user = cluster
        .user_kubeconfig
        .clone()
        .expect("KPUSH_TEST_USER_KUBECONFIG is not set; scripts/control-plane/up provides it");
    let app = AppRepo::new(&cluster, "least");
    let other = cluster.namespace("least-other");
    grant(&cluster, app.ns());

    app.write("settings.yaml", configmap("settings", "blue"))
        .write("old.yaml", configmap("old", "x"))
        .write("web.yaml", deployment("web", 0, "registry.example/web:1"))
        .write("svc.yaml", service("web"))
        .write(
            "secret.yaml",
            secret("creds", &[("key", "s3cr3t-value")], &[]),
        )
        .commit("app");
    // Every command as the user the Role is bound to, not with the admin credentials.
    let as_user = |args: &[&str]| {
        let mut full = vec!["--kubeconfig", user.to_str().unwrap()];
        full.extend_from_slice(args);
        common::kpush(app.repo.path(), &full)
    };
    let deploy = [
        "apply",
        "app",
        "--app",
        "shop",
        "-n",
        app.ns(),
        "--prune",
        "--timeout",
        "60s",
    ];

    let run = as_user(&deploy);
    run.expect_code(0);
    assert!(run.stdout.contains("5 created"), "{}", run.stdout);
    assert!(app.get("deployment", "web").is_some());

    // Prune, under the same Role.
    app.remove("old.yaml").commit("drop old");
    let run = as_user(&deploy);
    run.expect_code(0);
    assert!(app.get("configmap", "old").is_none(), "{}", run.all());
    as_user(&["status", "app", "--app", "shop", "-n", app.ns()]).expect_code(0);
    as_user(&["history", "app", "--app", "shop", "-n", app.ns()]).expect_code(0);

    // One object in a namespace the Role does not cover: refused before anything is written.
    app.write("settings.yaml", configmap("settings", "green"))
        .write(
            "elsewhere.yaml",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: elsewhere, namespace: {}}}\n",
                other.name
            ),
        )
        .commit("reach out");
    let run = as_user(&deploy);
    run.expect_code(3);
    assert!(run.all().contains("Forbidden"), "{}", run.all());
    assert!(run.all().contains("app/elsewhere.yaml"), "{}", run.all());
    assert!(
        cluster
            .get("configmap", Some(&other.name), "elsewhere")
            .is_none()
    );
    let settings = app.get("configmap", "settings").unwrap();
    assert_eq!(settings["data"]["value"], "blue", "nothing may be written");
}

/// A role for diffs only (no access to the deploy lock) still diffs: the lock is what writes
/// need, and a later write plans again under it.
#[test]
fn a_role_without_the_lock_still_diffs() {
    let cluster = cluster();
    let user = cluster
        .user_kubeconfig
        .clone()
        .expect("KPUSH_TEST_USER_KUBECONFIG is not set; scripts/control-plane/up provides it");
    let app = AppRepo::deployed(
        &cluster,
        "least-diff",
        &[("settings.yaml", &configmap("settings", "blue"))],
    );
    assert!(EXAMPLE.contains(LEASES), "the example's lease rule changed");
    grant_role(&cluster, app.ns(), &EXAMPLE.replace(LEASES, ""));
    app.write("settings.yaml", configmap("settings", "green"))
        .commit("green");
    let run = common::kpush(
        app.repo.path(),
        &[
            "--kubeconfig",
            user.to_str().unwrap(),
            "diff",
            "app",
            "-n",
            app.ns(),
            "--exit-code",
        ],
    );
    run.expect_code(2);
    assert!(
        run.stdout.contains("~ v1 ConfigMap settings"),
        "{}",
        run.all()
    );
}

/// Under the example Role, the health wait still sees why pods cannot be created: the
/// Deployment's current ReplicaSet, and its warning events.
#[test]
fn the_example_role_sees_why_pods_cannot_be_created() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "least-ff");
    grant(&cluster, app.ns());
    let web = deployment("web", 1, "registry.example/web:1");
    app.write("web.yaml", common::with_service_account(&web, "missing"))
        .commit("web");
    let run = cluster.kpush_as_user(
        app.repo.path(),
        &[
            "apply",
            "app",
            "--app",
            "web",
            "-n",
            app.ns(),
            "--timeout",
            "300s",
        ],
    );
    run.expect_code(4);
    assert!(
        run.stdout.contains("serviceaccount \"missing\" not found")
            && !run.stdout.contains("not healthy after"),
        "{}",
        run.all()
    );
    // The controller's event, read with the Role's `events` rule.
    assert!(
        run.stdout.contains(": FailedCreate: Error creating: "),
        "{}",
        run.all()
    );
}
