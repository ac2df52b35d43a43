//! Deploying from app definitions: the seed's Argo CD Application end to end, environments,
//! and destination servers matched to kubeconfig contexts.

mod common;

use common::{GitRepo, cluster, configmap, unique};

#[test]
fn the_seed_application_deploys_with_its_sync_options() {
    let cluster = cluster();
    let ns = unique("kp-seed");
    let _ns = cluster.cleanup("namespace", &ns);
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        common::seed_application(&ns, "https://kubernetes.default.svc"),
    )
    .write("guestbook/a.yaml", configmap("a", "1"))
    .write("guestbook/b.yaml", configmap("b", "1"))
    .commit("guestbook");

    // CreateNamespace=true: the namespace is created.
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(0);
    assert!(cluster.get("namespace", None, &ns).is_some());
    assert!(cluster.get("cm", Some(&ns), "a").is_some());

    // automated.prune: true prunes without --prune.
    repo.remove("guestbook/b.yaml").commit("drop b");
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(0);
    assert!(run.stdout.contains("Pruned: 1 deleted"), "{}", run.stdout);
    assert!(cluster.get("cm", Some(&ns), "b").is_none());

    // allowEmpty: false refuses to prune everything.
    repo.remove("guestbook/a.yaml")
        .write("guestbook/README.md", "empty")
        .commit("empty");
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(3);
    assert!(cluster.get("cm", Some(&ns), "a").is_some());
}

#[test]
fn a_destination_server_selects_the_matching_context() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-server");
    let kubeconfig = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let server = kubeconfig
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("server in kubeconfig")
        .to_string();
    let repo = GitRepo::new();
    repo.write("kpush.yaml", common::seed_application(&ns.name, &server))
        .write("guestbook/a.yaml", configmap("a", "1"))
        .commit("one");
    cluster.kpush(repo.path(), &["apply"]).expect_code(0);
    assert!(cluster.get("cm", Some(&ns.name), "a").is_some());

    repo.write(
        "kpush.yaml",
        common::seed_application(&ns.name, "https://elsewhere.example:6443"),
    )
    .commit("unknown server");
    let run = cluster.kpush(repo.path(), &["diff"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(
            "no kubeconfig context points at the destination server https://elsewhere.example:6443"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn environments_deploy_to_their_own_namespaces() {
    let cluster = cluster();
    let dev = cluster.namespace("kp-dev");
    let prod = cluster.namespace("kp-prod");
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: kpush.dev/v1alpha1
kind: Application
metadata: {{name: web}}
spec:
  source: {{path: web, values: {{replicas: 1}}}}
  environments:
    dev: {{namespace: {}}}
    prod: {{namespace: {}, values: {{replicas: 3}}}}
",
            dev.name, prod.name
        ),
    )
    .write(
        "web/cm.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  replicas: \"{{ values.replicas }}\"\n  env: {{ env }}\n",
    )
    .commit("web");
    cluster
        .kpush(repo.path(), &["apply", "--env", "dev"])
        .expect_code(0);
    cluster
        .kpush(repo.path(), &["apply", "--env", "prod"])
        .expect_code(0);
    let dev_cm = cluster.get("cm", Some(&dev.name), "web").unwrap();
    let prod_cm = cluster.get("cm", Some(&prod.name), "web").unwrap();
    assert_eq!(dev_cm["data"]["replicas"], "1");
    assert_eq!(dev_cm["data"]["env"], "dev");
    assert_eq!(prod_cm["data"]["replicas"], "3");
    // Each environment has its own inventory.
    assert!(
        cluster
            .get("secret", Some(&dev.name), "kpush-web")
            .is_some()
    );
    assert!(
        cluster
            .get("secret", Some(&prod.name), "kpush-web")
            .is_some()
    );
}

/// One app that cannot be planned (its destination server is in no kubeconfig context) does not
/// hide the other's plan from `diff`; the exit code is the worst of them. `apply` stops before
/// writing anything.
#[test]
fn diff_reports_every_app_when_one_cannot_be_planned() {
    let cluster = cluster();
    let ns = unique("kp-partial");
    let _ns = cluster.cleanup("namespace", &ns);
    cluster
        .kubectl(&["create", "namespace", &ns])
        .expect_code(0);
    let app = |name: &str, server: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source: {{path: {name}}}\n  destination: {{server: '{server}', namespace: {ns}}}\n---\n"
        )
    };
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        [
            app("elsewhere", "https://nowhere.kpush.test:6443"),
            app("here", "https://kubernetes.default.svc"),
        ]
        .concat(),
    )
    .write("elsewhere/cm.yaml", configmap("elsewhere", "1"))
    .write("here/cm.yaml", configmap("here", "1"))
    .commit("two apps");

    let run = cluster.kpush(repo.path(), &["diff", "--exit-code"]);
    assert!(run.stdout.contains("+ v1 ConfigMap here"), "{}", run.all());
    assert!(run.stderr.contains("nowhere.kpush.test"), "{}", run.all());
    let code = run.code;
    assert!(
        code != 0 && code != 2,
        "the worst status, not changes: {}",
        run.all()
    );

    let json = cluster.kpush(repo.path(), &["diff", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let apps = doc["apps"].as_array().unwrap();
    assert!(
        apps[0]["error"]
            .as_str()
            .unwrap()
            .contains("nowhere.kpush.test")
    );
    assert_eq!(apps[1]["counts"]["create"], 1);
    assert_eq!(doc["exit_code"], code);

    let applied = cluster.kpush(repo.path(), &["apply"]);
    assert_eq!(applied.code, code, "{}", applied.all());
    assert!(cluster.get("cm", Some(&ns), "here").is_none());
}
