//! What an app definition may limit: cluster-scoped objects, other namespaces, and the process
//! environment its templates can read.

mod common;

use common::{GitRepo, cluster, configmap, kpush_env};

/// The definition of app `web` (source `web/`) for `namespace`, with `extra_spec` lines.
fn web_app(namespace: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source: {{path: web}}\n  destination: {{namespace: {namespace}}}\n{extra_spec}"
    )
}

const CLUSTER_ROLE: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: kpush-guard-test-reader}\nrules: []\n";

#[test]
fn cluster_scoped_objects_and_other_namespaces_can_be_refused() {
    let cluster = cluster();
    let ns = cluster.namespace("guards");
    let other = cluster.namespace("guards-other");
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        web_app(&ns.name, "  allowClusterScoped: false\n"),
    )
    .write("web/cm.yaml", configmap("settings", "1"))
    .write("web/role.yaml", CLUSTER_ROLE)
    .commit("cluster-scoped in a namespaced app");
    for command in ["diff", "apply"] {
        let run = cluster.kpush(repo.path(), &[command]);
        run.expect_code(3);
        assert!(run.stderr.contains("web/role.yaml:1"), "{}", run.stderr);
        assert!(
            run.stderr.contains("allowClusterScoped: false"),
            "{}",
            run.stderr
        );
    }
    assert!(
        cluster
            .get("configmap", Some(&ns.name), "settings")
            .is_none()
    );

    // The default allows them, for compatibility.
    repo.write("kpush.yaml", web_app(&ns.name, ""))
        .commit("default");
    let _role = cluster.cleanup("clusterrole", "kpush-guard-test-reader");
    cluster.kpush(repo.path(), &["diff"]).expect_code(0);
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(0);
    assert!(
        cluster
            .get("clusterrole", None, "kpush-guard-test-reader")
            .is_some(),
        "{}",
        run.all()
    );

    let elsewhere = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: elsewhere, namespace: {}}}\n",
        other.name
    );
    repo.remove("web/role.yaml")
        .write("web/elsewhere.yaml", elsewhere)
        .write(
            "kpush.yaml",
            web_app(&ns.name, "  allowOtherNamespaces: false\n"),
        )
        .commit("another namespace");
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("web/elsewhere.yaml:1"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("allowOtherNamespaces: false"),
        "{}",
        run.stderr
    );
    assert!(
        cluster
            .get("configmap", Some(&other.name), "elsewhere")
            .is_none()
    );

    // The default allows other namespaces too.
    repo.write("kpush.yaml", web_app(&ns.name, ""))
        .commit("default again");
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(0);
    assert!(
        cluster
            .get("configmap", Some(&other.name), "elsewhere")
            .is_some(),
        "{}",
        run.all()
    );
}

#[test]
fn templates_read_only_the_listed_environment_variables() {
    let repo = GitRepo::new();
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: build}\ndata:\n  id: \"{{ env_vars.BUILD_ID }}\"\n";
    repo.write(
        "kpush.yaml",
        web_app("web", "").replace(
            "source: {path: web}",
            "source: {path: web, templateEnv: [BUILD_ID]}",
        ),
    )
    .write("web/build.yaml.j2", template)
    .commit("listed");
    let env = [
        ("BUILD_ID", "build-4711"),
        ("SECRET_TOKEN", "do-not-read-me"),
    ];
    let run = kpush_env(repo.path(), &["render"], &env);
    run.expect_code(0);
    assert!(run.stdout.contains("id: build-4711"), "{}", run.stdout);

    // A variable the config does not list is undefined: an error naming the template.
    repo.write(
        "web/build.yaml.j2",
        template.replace("env_vars.BUILD_ID", "env_vars.SECRET_TOKEN"),
    )
    .commit("unlisted");
    let run = kpush_env(repo.path(), &["render"], &env);
    run.expect_code(3);
    assert!(run.stderr.contains("web/build.yaml.j2"), "{}", run.stderr);
    assert!(!run.all().contains("do-not-read-me"));
}
