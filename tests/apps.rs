//! App definitions and renderers: Argo CD Applications verbatim, kpush's format with
//! environments, `.j2` templates with layered values, Helm charts, kustomizations, and the
//! offline commit-to-commit diff.

mod common;

use std::process::Command;

use common::{GitRepo, configmap, kpush};
use serde_json::Value;

/// Objects of a YAML stream, in order.
fn objects(yaml: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("out.yaml"), yaml).unwrap();
    let run = kpush(
        dir.path(),
        &["render", "out.yaml", "--rev", "WORKTREE", "-o", "json"],
    );
    run.expect_code(0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn sorted(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by_key(|o| {
        format!(
            "{}/{}/{}",
            o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]
        )
    });
    items
}

#[test]
fn the_seed_application_renders_its_path_at_its_target_revision() {
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        common::seed_application("guestbook", "https://kubernetes.default.svc"),
    )
    .write("guestbook/ui.yaml", configmap("guestbook-ui", "v1"))
    .commit("v1");
    repo.repo
        .tag_lightweight("v1", &repo.repo.revparse_single("HEAD").unwrap(), false)
        .unwrap();
    repo.write("guestbook/ui.yaml", configmap("guestbook-ui", "v2"))
        .commit("v2");

    let run = kpush(repo.path(), &["render"]);
    run.expect_code(0);
    assert!(run.stdout.contains("value: v2"), "{}", run.stdout);
    // The definition is read from the repository; unsupported fields would be warnings.
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);

    repo.write(
        "kpush.yaml",
        common::seed_application("guestbook", "https://kubernetes.default.svc")
            .replace("targetRevision: HEAD", "targetRevision: v1"),
    )
    .commit("pin v1");
    let run = kpush(repo.path(), &["render"]);
    run.expect_code(0);
    assert!(run.stdout.contains("value: v1"), "{}", run.stdout);

    // A repoURL that is not a remote of this repository is a warning.
    repo.repo
        .remote("origin", "git@github.com:example/other.git")
        .unwrap();
    let run = kpush(repo.path(), &["render"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains("is not a remote of this repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn environments_layer_values_into_templates() {
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        "apiVersion: kpush.dev/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source:
    path: apps/web
    values: {replicas: 1, image: {repository: nginx, tag: '1.27'}}
    valueFiles: [values.yaml]
  destination: {namespace: web}
  environments:
    prod:
      namespace: web-prod
      valueFiles: [values-prod.yaml]
",
    )
    .write("apps/web/values.yaml", "greeting: hello\n")
    .write("apps/web/values-prod.yaml", "replicas: 3\n")
    .write(
        "apps/web/deploy.yaml.j2",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ app }}
  annotations:
    kpush.dev/commit: {{ git.sha }}
    greeting: {{ values.greeting }}
    env: {{ env | default('none') }}
spec:
  replicas: {{ values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: {{ values.image.repository }}:{{ values.image.tag }}
",
    )
    .write("apps/web/rules.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rules\ndata:\n  alert: \"{{ $labels.instance }} is down\"\n");
    let sha = repo.commit("web");

    let run = kpush(repo.path(), &["render", "-o", "json"]);
    run.expect_code(0);
    let items: Value = serde_json::from_str(&run.stdout).unwrap();
    let deploy = &items["items"][0];
    assert_eq!(deploy["spec"]["replicas"], 1);
    assert_eq!(
        deploy["metadata"]["annotations"]["kpush.dev/commit"],
        sha.as_str()
    );
    assert_eq!(deploy["metadata"]["annotations"]["greeting"], "hello");
    // Plain files are never templates.
    assert_eq!(
        items["items"][1]["data"]["alert"],
        "{{ $labels.instance }} is down"
    );

    let run = kpush(
        repo.path(),
        &[
            "render",
            "--env",
            "prod",
            "-o",
            "json",
            "--set",
            "image.tag=1.28",
        ],
    );
    run.expect_code(0);
    let items: Value = serde_json::from_str(&run.stdout).unwrap();
    let deploy = &items["items"][0];
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(deploy["metadata"]["annotations"]["env"], "prod");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );

    let run = kpush(repo.path(), &["render", "--env", "staging"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("app `web` has no environment `staging` (it has: prod)"),
        "{}",
        run.stderr
    );
}

#[test]
fn template_and_input_errors_name_file_and_line() {
    let repo = GitRepo::new();
    repo.write(
        "missing/a.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.name }}\n",
    )
    .write(
        "syntax/a.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {% if %}\n",
    )
    .write(
        "yaml/a.yaml.j2",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [a\n",
    )
    .write("dup/a.yaml", configmap("same", "1"))
    .write("dup/b.yaml.j2", configmap("same", "2"))
    .commit("broken");
    let cases = [
        ("missing", "missing/a.yaml.j2:4", "undefined"),
        ("syntax", "syntax/a.yaml.j2:4", "template error"),
        ("yaml", "yaml/a.yaml.j2:", ""),
        ("dup", "duplicate object ConfigMap/same", ""),
    ];
    for (path, place, text) in cases {
        let run = kpush(repo.path(), &["render", path]);
        run.expect_code(3);
        assert!(run.stderr.contains(place), "{path}: {}", run.stderr);
        assert!(run.stderr.contains(text), "{path}: {}", run.stderr);
    }
}

#[test]
fn a_helm_chart_renders_as_helm_template_does() {
    let repo = GitRepo::new();
    repo.write(
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .write(
        "charts/web/values.yaml",
        "replicas: 1\nimage: {tag: '1.0'}\nport: 80\n",
    )
    .write(
        "charts/web/values-production.yaml",
        "replicas: 4\nimage: {tag: '2.0'}\n",
    )
    .write(
        "charts/web/templates/deploy.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:{{ .Values.image.tag }}
          ports: [{containerPort: {{ .Values.port }}}]
",
    )
    .write(
        "kpush.yaml",
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source:
    path: charts/web
    helm:
      releaseName: shop
      valueFiles: [values-production.yaml]
      parameters: [{name: port, value: '8080'}]
  destination: {namespace: prod}
",
    )
    .commit("chart");
    let run = kpush(repo.path(), &["render", "--helm-bin", &common::helm()]);
    run.expect_code(0);
    let by_hand = Command::new(common::helm())
        .args([
            "template",
            "shop",
            "charts/web",
            "--namespace",
            "prod",
            "--include-crds",
        ])
        .args([
            "--values",
            "charts/web/values-production.yaml",
            "--set",
            "port=8080",
        ])
        .current_dir(repo.path())
        .output()
        .expect("helm: install it (scripts/control-plane/install-peers) or set KPUSH_TEST_HELM");
    assert!(
        by_hand.status.success(),
        "{}",
        String::from_utf8_lossy(&by_hand.stderr)
    );
    let expected = sorted(objects(&String::from_utf8(by_hand.stdout).unwrap()));
    let got = sorted(objects(&run.stdout));
    assert_eq!(got, expected);
    assert_eq!(got[0]["spec"]["replicas"], 4);
    assert!(
        run.stdout
            .contains("# Source: charts/web/templates/deploy.yaml"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_kustomize_overlay_renders_as_kubectl_kustomize_does() {
    let kubectl = common::kubectl_recent();
    let repo = GitRepo::new();
    repo.write("base/kustomization.yaml", "resources: [cm.yaml]\n")
        .write("base/cm.yaml", configmap("settings", "base"))
        .write(
            "overlays/prod/kustomization.yaml",
            "resources: [../../base]\nnamePrefix: prod-\npatches:\n  - patch: |-\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: settings}\n      data: {value: prod}\n",
        )
        .commit("kustomize");
    let run = kpush(
        repo.path(),
        &["render", "overlays/prod", "--kustomize-bin", &kubectl],
    );
    run.expect_code(0);
    let by_hand = Command::new(&kubectl)
        .args(["kustomize", "overlays/prod"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(by_hand.status.success());
    assert_eq!(
        sorted(objects(&run.stdout)),
        sorted(objects(&String::from_utf8(by_hand.stdout).unwrap()))
    );
    assert!(run.stdout.contains("name: prod-settings"), "{}", run.stdout);

    // Argo CD's kustomize overrides from the app definition.
    repo.write(
        "kpush.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: prod}\nspec:\n  source:\n    path: overlays/prod\n    kustomize:\n      namePrefix: eu-\n      commonLabels: {team: shop}\n  destination: {namespace: prod}\n",
    )
    .commit("config");
    let run = kpush(repo.path(), &["render", "--kustomize-bin", &kubectl]);
    run.expect_code(0);
    assert!(run.stdout.contains("name: eu-settings"), "{}", run.stdout);
    assert!(run.stdout.contains("team: shop"), "{}", run.stdout);
}

#[test]
fn a_missing_renderer_is_named() {
    let repo = GitRepo::new();
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .commit("chart");
    let run = kpush(
        repo.path(),
        &["render", "chart", "--helm-bin", "/nonexistent/helm"],
    );
    run.expect_code(3);
    assert!(
        run.stderr.contains("`/nonexistent/helm` was not found"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--helm-bin"), "{}", run.stderr);
}

#[test]
fn diff_between_two_commits_needs_no_cluster() {
    let repo = GitRepo::new();
    let secret = |v: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: {v}\n"
        )
    };
    repo.write("app/a.yaml", configmap("a", "1"))
        .write("app/b.yaml", configmap("b", "1"))
        .write("app/gone.yaml", configmap("gone", "1"))
        .write("app/s.yaml", secret("first-Secret-value"));
    let first = repo.commit("one");
    repo.write("app/b.yaml", configmap("b", "2"))
        .remove("app/gone.yaml")
        .write("app/new.yaml", configmap("new", "1"))
        .write("app/s.yaml", secret("second-Secret-value"));
    let second = repo.commit("two");

    // No kubeconfig at all: the offline diff never needs one.
    let run = common::kpush_env(
        repo.path(),
        &[
            "diff",
            "app",
            "--from",
            &first,
            "--to",
            &second,
            "--exit-code",
        ],
        &[("KUBECONFIG", "/nonexistent")],
    );
    run.expect_code(2);
    assert!(
        run.stdout.contains("~ v1 ConfigMap b (app/b.yaml:1)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("+ v1 ConfigMap new"), "{}", run.stdout);
    assert!(run.stdout.contains("- v1 ConfigMap gone"), "{}", run.stdout);
    assert!(!run.stdout.contains("ConfigMap a "), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("1 to create, 2 to update, 1 to prune, 1 unchanged"),
        "{}",
        run.stdout
    );
    for format in ["text", "json", "markdown"] {
        let out = kpush(
            repo.path(),
            &[
                "diff", "app", "--from", &first, "--to", &second, "-o", format,
            ],
        );
        out.expect_code(0);
        for leaked in ["first-Secret-value", "second-Secret-value"] {
            assert!(!out.all().contains(leaked), "{format}: {}", out.all());
        }
        assert!(
            out.all().contains("<changed, 19 bytes>"),
            "{format}: {}",
            out.all()
        );
    }
    kpush(
        repo.path(),
        &[
            "diff",
            "app",
            "--from",
            &second,
            "--to",
            &second,
            "--exit-code",
        ],
    )
    .expect_code(0);
}

/// Every app renders before the first cluster call: a broken second app stops `diff` and
/// `apply` with exit 3 even when the cluster cannot be reached (3, not 1: never contacted).
#[test]
fn a_broken_later_app_stops_the_run_before_any_cluster_call() {
    let repo = GitRepo::new();
    let app = |name: &str| {
        format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source: {{path: {name}}}\n  destination: {{namespace: shop}}\n"
        )
    };
    repo.write(
        "kpush.yaml",
        format!("{}---\n{}", app("first"), app("second")),
    )
    .write("first/cm.yaml", configmap("a", "1"))
    .write("second/cm.yaml", "kind: ConfigMap\nmetadata: [\n")
    .commit("second is broken");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    for command in ["diff", "apply"] {
        let run = kpush(repo.path(), &["--kubeconfig", &kubeconfig, command]);
        run.expect_code(3);
        assert!(run.stderr.contains("second/cm.yaml"), "{}", run.stderr);
    }
}
