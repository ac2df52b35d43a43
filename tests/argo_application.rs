//! An Argo CD Application means what Argo CD means: its directory, Helm and sync fields render
//! and deploy as Argo CD would, and what kpush cannot do is refused, never read as something
//! else. Rendering needs no cluster.

mod common;

use common::{GitRepo, configmap, kpush};
use serde_json::Value;

fn application(source: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source:\n{source}  destination: {{namespace: prod}}\n"
    )
}

/// The names of the objects `kpush render` prints, sorted; the run must exit 0.
fn rendered(repo: &GitRepo) -> Vec<Value> {
    let run = kpush(
        repo.path(),
        &["render", "-o", "json", "--helm-bin", &common::helm()],
    );
    run.expect_code(0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    list["items"].as_array().unwrap().clone()
}

fn names(items: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = items
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

#[test]
fn a_directory_source_reads_subdirectories_only_when_told() {
    let repo = GitRepo::new();
    repo.write("web/top.yaml", configmap("top", "1"))
        .write("web/nested/deep.yaml", configmap("deep", "1"))
        .write("kpush.yaml", application("    path: web\n"))
        .commit("argo");
    assert_eq!(names(&rendered(&repo)), ["ConfigMap/top"]);

    repo.write(
        "kpush.yaml",
        application("    path: web\n    directory: {recurse: true}\n"),
    )
    .commit("recurse");
    assert_eq!(names(&rendered(&repo)), ["ConfigMap/deep", "ConfigMap/top"]);

    // kpush's own format keeps its documented default: subdirectories are read.
    repo.write(
        "kpush.yaml",
        "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  source: {path: web}\n  destination: {namespace: prod}\n",
    )
    .commit("kpush format");
    assert_eq!(names(&rendered(&repo)), ["ConfigMap/deep", "ConfigMap/top"]);
}

#[test]
fn a_source_whose_every_file_was_skipped_is_refused() {
    let repo = GitRepo::new();
    repo.write("web/nested/deep.yaml", configmap("deep", "1"))
        .write("web/README.md", "# web\n")
        .write("kpush.yaml", application("    path: web\n"))
        .commit("argo");
    let run = kpush(repo.path(), &["render"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("the render produced no objects"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("web/nested/deep.yaml (in a subdirectory"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("directory.recurse: true"),
        "{}",
        run.stderr
    );
}

#[test]
fn jsonnet_renders_and_plugins_are_refused_not_read_as_something_else() {
    let repo = GitRepo::new();
    repo.write("web/cm.yaml", configmap("cm", "1"))
        .write(
            "web/app.jsonnet",
            "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-jsonnet' } }\n",
        )
        .write("kpush.yaml", application("    path: web\n"))
        .commit("jsonnet");
    assert_eq!(
        names(&rendered(&repo)),
        ["ConfigMap/cm", "ConfigMap/from-jsonnet"]
    );
    // `exclude` leaves it out, as it does any other file (tests/jsonnet.rs has the rest).
    repo.write(
        "kpush.yaml",
        application("    path: web\n    directory: {exclude: '*.jsonnet'}\n"),
    )
    .commit("excluded");
    assert_eq!(names(&rendered(&repo)), ["ConfigMap/cm"]);

    repo.write(
        "kpush.yaml",
        application("    path: web\n    plugin: {name: tanka}\n"),
    )
    .commit("plugin");
    let run = kpush(repo.path(), &["render"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("`spec.source.plugin` (tanka)"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

/// A chart that shows what each Helm field of the Application changed.
fn chart(repo: &GitRepo) {
    repo.write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
        .write("chart/values.yaml", "greeting: default\n")
        .write(
            "chart/templates/cm.yaml",
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: shown
data:
  namespace: {{ .Release.Namespace | quote }}
  greeting: {{ .Values.greeting | quote }}
  fromValues: {{ .Values.fromValues | default \"unset\" | quote }}
  fromObject: {{ .Values.fromObject | default \"unset\" | quote }}
  port: {{ .Values.port | quote }}
  portKind: {{ kindOf .Values.port | quote }}
  script: {{ .Values.script | default \"unset\" | quote }}
  first: {{ .Values.first | default \"unset\" | quote }}
  second: {{ .Values.second | default \"unset\" | quote }}
",
        )
        .write(
            "chart/templates/tests/check.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: check\n  annotations: {helm.sh/hook: test}\nspec:\n  containers: [{name: check, image: busybox}]\n",
        )
        .write(
            "chart/crds/widgets.yaml",
            "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
",
        )
        .write("chart/values/a-first.yaml", "first: a\nsecond: a\n")
        .write("chart/values/b-second.yaml", "second: b\n")
        .write("chart/files/script.sh", "echo hello, world\n");
}

fn shown(items: &[Value]) -> Value {
    items
        .iter()
        .find(|o| o["metadata"]["name"] == "shown")
        .expect("the ConfigMap")["data"]
        .clone()
}

#[test]
fn helm_fields_render_as_argo_cd_renders_them() {
    let repo = GitRepo::new();
    chart(&repo);
    repo.write(
        "kpush.yaml",
        application(
            "    path: chart
    helm:
      namespace: elsewhere
      valueFiles: ['values/*.yaml', missing.yaml]
      ignoreMissingValueFiles: true
      values: 'fromValues: text'
      valuesObject: {fromObject: object}
      parameters:
        - {name: greeting, value: 'hello, world'}
        - {name: port, value: '8080', forceString: true}
      fileParameters: [{name: script, path: files/script.sh}]
      skipCrds: true
      skipTests: true
",
        ),
    )
    .commit("helm fields");
    let items = rendered(&repo);
    assert_eq!(names(&items), ["ConfigMap/shown"], "no CRD, no test pod");
    let data = shown(&items);
    assert_eq!(data["namespace"], "elsewhere");
    // A comma in a parameter is part of the value, as Argo CD escapes it.
    assert_eq!(data["greeting"], "hello, world");
    // valuesObject replaces values: Argo CD does not merge them.
    assert_eq!(data["fromObject"], "object");
    assert_eq!(data["fromValues"], "unset");
    assert_eq!(data["port"], "8080");
    assert_eq!(data["portKind"], "string");
    assert_eq!(data["script"], "echo hello, world\n");
    // Glob matches in name order: the later file wins.
    assert_eq!(data["first"], "a");
    assert_eq!(data["second"], "b");

    // By default CRDs and test hooks come along, and a missing values file is an error.
    repo.write(
        "kpush.yaml",
        application("    path: chart\n    helm:\n      values: 'fromValues: text'\n      parameters: [{name: port, value: '8080'}]\n"),
    )
    .commit("defaults");
    let items = rendered(&repo);
    assert_eq!(
        names(&items),
        [
            "ConfigMap/shown",
            "CustomResourceDefinition/widgets.example.com",
            "Pod/check"
        ]
    );
    let data = shown(&items);
    assert_eq!(data["fromValues"], "text");
    assert_eq!(data["namespace"], "prod");
    assert_ne!(data["portKind"], "string");

    repo.write(
        "kpush.yaml",
        application("    path: chart\n    helm: {valueFiles: [missing.yaml]}\n"),
    )
    .commit("missing");
    let run = kpush(repo.path(), &["render", "--helm-bin", &common::helm()]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("values file `missing.yaml`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("ignoreMissingValueFiles"),
        "{}",
        run.stderr
    );
}

/// `ServerSideApply=true` applies as Argo CD does then: with `--force-conflicts`.
#[test]
fn server_side_apply_takes_fields_over_as_argo_cd_does() {
    let cluster = common::cluster();
    let app = common::app_repo::AppRepo::at(&cluster, "argo-ssa", "web");
    let definition = |options: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source: {{path: web}}\n  destination: {{namespace: {}}}\n  syncPolicy: {{syncOptions: [{options}]}}\n",
            app.ns()
        )
    };
    app.repo.write("kpush.yaml", definition("Validate=true"));
    app.write("cm.yaml", configmap("settings", "from-git"))
        .commit("one");
    app.kpush(&["apply"]).expect_code(0);
    cluster
        .kubectl(&[
            "patch",
            "cm",
            "settings",
            "-n",
            app.ns(),
            "--type=merge",
            "-p",
            r#"{"data":{"value":"by-hand"}}"#,
        ])
        .expect_code(0);
    app.write("cm.yaml", configmap("settings", "from-git-2"))
        .commit("two");
    let run = app.kpush(&["apply"]);
    run.expect_code(1);
    assert!(run.stdout.contains("kubectl-patch"), "{}", run.all());

    app.repo
        .write("kpush.yaml", definition("ServerSideApply=true"));
    app.commit("ssa");
    app.kpush(&["apply"]).expect_code(0);
    let live = app.get("cm", "settings").unwrap();
    assert_eq!(live["data"]["value"], "from-git-2");
}

/// `managedNamespaceMetadata` labels and annotates the namespace kpush creates.
#[test]
fn managed_namespace_metadata_goes_on_the_created_namespace() {
    let cluster = common::cluster();
    let repo = GitRepo::new();
    let ns = common::unique("argo-managed-ns");
    let _cleanup = cluster.cleanup("namespace", &ns);
    repo.write("web/cm.yaml", configmap("settings", "1"))
        .write(
            "kpush.yaml",
            format!(
                "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web}}
spec:
  source: {{path: web}}
  destination: {{namespace: {ns}}}
  syncPolicy:
    syncOptions: [CreateNamespace=true]
    managedNamespaceMetadata:
      labels: {{team: shop}}
      annotations: {{owner: platform}}
"
            ),
        )
        .commit("one");
    cluster.kpush(repo.path(), &["apply"]).expect_code(0);
    let namespace = cluster.get("namespace", None, &ns).unwrap();
    assert_eq!(
        namespace["metadata"]["labels"]["team"], "shop",
        "{namespace}"
    );
    assert_eq!(namespace["metadata"]["annotations"]["owner"], "platform");
    assert!(cluster.get("cm", Some(&ns), "settings").is_some());
}

/// `Validate=false` on one object: the server does not refuse its unknown fields (it drops
/// them, as Argo CD's apply without validation does); every other object is still validated.
/// (Server-side apply cannot send a field a built-in kind does not declare at all; a custom
/// resource's unknown fields are what this is for.)
#[test]
fn validate_false_on_an_object_turns_validation_off_for_it_alone() {
    let cluster = common::cluster();
    let app = common::app_repo::AppRepo::new(&cluster, "argo-validate");
    let crd = common::crd(
        "validate.kpush.test",
        "Widget",
        "type: object\nproperties:\n  size: {type: integer}",
    );
    let _cleanup = cluster.cleanup("crd", "widgets.validate.kpush.test");
    let widget = |annotations: &str| {
        format!(
            "apiVersion: validate.kpush.test/v1\nkind: Widget\nmetadata:\n  name: w\n{annotations}spec:\n  size: 1\n  colour: red\n"
        )
    };
    app.write("crd.yaml", &crd).deploy("crd", &["--no-wait"]);
    // The server publishes a new kind's schema shortly after the CRD is established.
    common::until(
        "the Widget schema",
        std::time::Duration::from_secs(60),
        || {
            cluster
                .kubectl(&["get", "--raw", "/openapi/v2"])
                .stdout
                .contains("validate.kpush.test")
        },
    );
    app.write("widget.yaml", widget("")).commit("unknown field");
    let run = app.apply(&["--no-wait"]);
    run.expect_code(3);
    assert!(run.stdout.contains("colour"), "{}", run.all());
    assert!(app.get("widget", "w").is_none());

    app.write(
        "widget.yaml",
        widget("  annotations:\n    argocd.argoproj.io/sync-options: Validate=false\n"),
    )
    .commit("not validated");
    app.apply(&["--no-wait"]).expect_code(0);
    let live = app.get("widget", "w").unwrap();
    assert_eq!(live["spec"]["size"], 1);
    assert!(live["spec"].get("colour").is_none(), "{live}");
}

/// `kustomize.namespace`, `replicas`, `patches` and `components` go into the kustomization as
/// `kustomize edit` would write them.
#[test]
fn kustomize_fields_render_as_argo_cd_renders_them() {
    let repo = GitRepo::new();
    repo.write(
        "base/kustomization.yaml",
        "resources: [web.yaml, cm.yaml]\n",
    )
    .write("base/web.yaml", common::deployment("web", 1, "nginx:1.27"))
    .write("base/cm.yaml", configmap("settings", "base"))
    .write(
        "components/extra/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [extra.yaml]\n",
    )
    .write("components/extra/extra.yaml", configmap("extra", "1"))
    .write(
        "kpush.yaml",
        application(
            "    path: base
    kustomize:
      namespace: shop
      replicas: [{name: web, count: 3}]
      patches:
        - target: {kind: ConfigMap, name: settings}
          patch: |-
            - op: add
              path: /data/patched
              value: 'yes'
      components: [../components/extra]
",
        ),
    )
    .commit("kustomize fields");
    let run = kpush(
        repo.path(),
        &[
            "render",
            "-o",
            "json",
            "--kustomize-bin",
            &common::kubectl_recent(),
        ],
    );
    run.expect_code(0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(
        names(items),
        ["ConfigMap/extra", "ConfigMap/settings", "Deployment/web"]
    );
    let find = |name: &str| {
        items
            .iter()
            .find(|o| o["metadata"]["name"] == name)
            .unwrap()
    };
    assert_eq!(find("web")["spec"]["replicas"], 3);
    assert_eq!(find("web")["metadata"]["namespace"], "shop");
    assert_eq!(find("settings")["data"]["patched"], "yes");
}

/// Objects Argo CD tracked (by annotation, or by the instance label its controller wrote) are
/// taken over only with `--adopt`, which removes the tracking so later runs do not ask again;
/// an instance label someone else wrote is nobody's tracking.
#[test]
fn adopting_from_argo_cd_removes_its_tracking() {
    let cluster = common::cluster();
    let app = common::app_repo::AppRepo::new(&cluster, "argo-adopt");
    let ns = app.ns().to_string();
    let live = |name: &str, metadata: &str, manager: &str| {
        cluster.apply_yaml(
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\n{metadata}data:\n  value: \"1\"\n"
            ),
            &["--server-side", "--field-manager", manager],
        );
    };
    live(
        "annotated",
        "  annotations:\n    argocd.argoproj.io/tracking-id: 'web:/ConfigMap:ns/annotated'\n",
        "argocd-controller",
    );
    live(
        "labelled",
        "  labels:\n    app.kubernetes.io/instance: web\n",
        "argocd-controller",
    );
    live(
        "charted",
        "  labels:\n    app.kubernetes.io/instance: web\n",
        "helm",
    );
    // Argo CD wrote the label, and the manifest declares it too: it stays after adoption.
    live(
        "declared",
        "  labels:\n    app.kubernetes.io/instance: web\n",
        "argocd-controller",
    );
    for name in ["annotated", "labelled", "charted"] {
        app.write(&format!("{name}.yaml"), configmap(name, "1"));
    }
    app.write(
        "declared.yaml",
        configmap("declared", "1").replace(
            "metadata:\n",
            "metadata:\n  labels:\n    app.kubernetes.io/instance: web\n",
        ),
    );
    app.commit("take over");

    let run = app.apply(&[]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("tracked by Argo CD (`web:"),
        "{}",
        run.all()
    );
    assert!(
        run.stdout
            .contains("tracked by Argo CD (label `app.kubernetes.io/instance: web`)"),
        "{}",
        run.all()
    );
    // The chart's label is nobody's tracking: only the three Argo CD tracks are refused.
    assert!(run.stdout.contains(", 3 invalid"), "{}", run.all());

    app.apply(&["--adopt"]).expect_code(0);
    let annotated = app.get("cm", "annotated").unwrap();
    assert!(
        annotated["metadata"]["annotations"]
            .get("argocd.argoproj.io/tracking-id")
            .is_none(),
        "{annotated}"
    );
    let labelled = app.get("cm", "labelled").unwrap();
    assert!(
        labelled["metadata"]["labels"]
            .get("app.kubernetes.io/instance")
            .is_none(),
        "{labelled}"
    );
    // Not Argo CD's: left alone.
    assert_eq!(
        app.get("cm", "charted").unwrap()["metadata"]["labels"]["app.kubernetes.io/instance"],
        "web"
    );
    assert_eq!(
        app.get("cm", "declared").unwrap()["metadata"]["labels"]["app.kubernetes.io/instance"],
        "web",
        "a label the manifest declares is never removed"
    );
    // Adopted for good: the next run needs no `--adopt`.
    let run = app.apply(&[]);
    run.expect_code(0);
}

/// A chart renders for the cluster it deploys to, as Argo CD renders it: `.Capabilities` is
/// the server's version and API versions (a CRD's kind included), unless the Application
/// overrides them; `kpush render`, with no cluster, uses Helm's defaults.
#[test]
fn charts_see_the_capabilities_of_their_cluster() {
    let cluster = common::cluster();
    let app = common::app_repo::AppRepo::at(&cluster, "argo-caps", "chart");
    let _cleanup = cluster.cleanup("crd", "gizmos.caps.kpush.test");
    cluster.apply_yaml(common::crd("caps.kpush.test", "Gizmo", "type: object"), &[]);
    cluster
        .kubectl(&[
            "wait",
            "--for",
            "condition=established",
            "crd/gizmos.caps.kpush.test",
            "--timeout",
            "60s",
        ])
        .expect_code(0);
    let version: Value =
        serde_json::from_str(&cluster.kubectl(&["version", "-o", "json"]).stdout).unwrap();
    let server = version["serverVersion"]["gitVersion"]
        .as_str()
        .unwrap()
        .to_string();

    app.write("Chart.yaml", "apiVersion: v2\nname: caps\nversion: 0.1.0\n")
        .write(
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  gizmos: {{ .Capabilities.APIVersions.Has \"caps.kpush.test/v1/Gizmo\" | quote }}\n",
        );
    let definition = |helm: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: caps}}\nspec:\n  source:\n    path: chart\n{helm}  destination: {{namespace: {}}}\n",
            app.ns()
        )
    };
    app.repo.write("kpush.yaml", definition(""));
    app.commit("chart");
    app.kpush(&["apply", "--helm-bin", &common::helm()])
        .expect_code(0);
    let data = &app.get("cm", "caps").unwrap()["data"];
    assert_eq!(data["kube"], server.as_str());
    assert_eq!(data["gizmos"], "true");

    let run = app.kpush(&["render", "-o", "json", "--helm-bin", &common::helm()]);
    run.expect_code(0);
    let offline: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(offline["items"][0]["data"]["gizmos"], "false");

    app.repo.write(
        "kpush.yaml",
        definition("    helm:\n      kubeVersion: '1.30.0'\n      apiVersions: [caps.kpush.test/v1/Gizmo]\n"),
    );
    app.commit("override");
    let run = app.kpush(&["render", "-o", "json", "--helm-bin", &common::helm()]);
    run.expect_code(0);
    let overridden: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(overridden["items"][0]["data"]["kube"], "v1.30.0");
    assert_eq!(overridden["items"][0]["data"]["gizmos"], "true");
}

/// `ignoreDifferences` leaves fields out of the diff and of drift (an HPA or a person scaled
/// the Deployment), and a deploy keeps their live values, as Argo CD does with
/// `RespectIgnoreDifferences=true`.
#[test]
fn ignored_differences_are_no_drift_and_respected_ones_stay_live() {
    let cluster = common::cluster();
    let app = common::app_repo::AppRepo::at(&cluster, "argo-ignore", "web");
    let definition = |ignore: &str, options: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source: {{path: web}}\n  destination: {{namespace: {}}}\n  syncPolicy: {{syncOptions: [{options}]}}\n{ignore}",
            app.ns()
        )
    };
    let ignore = "  ignoreDifferences:\n    - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}\n";
    app.repo
        .write("kpush.yaml", definition(ignore, "Validate=true"));
    app.write("deploy.yaml", common::deployment("web", 0, "nginx:1.27"))
        .commit("one");
    app.kpush(&["apply", "--no-wait"]).expect_code(0);
    cluster
        .kubectl(&[
            "scale",
            "deployment",
            "web",
            "-n",
            app.ns(),
            "--replicas",
            "2",
        ])
        .expect_code(0);

    let run = app.kpush(&["diff", "--exit-code"]);
    run.expect_code(0);
    assert!(run.stdout.contains("0 to update"), "{}", run.all());

    // Without the rule, the scale is drift (or, where the server tracks who scaled it, a
    // conflict with that manager).
    app.repo
        .write("kpush.yaml", definition("", "Validate=true"));
    app.commit("no ignore");
    let run = app.kpush(&["diff", "--exit-code"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("replicas"), "{}", run.all());

    // A deploy that changes something else leaves the replicas as they are live.
    app.repo
        .write("kpush.yaml", definition(ignore, "Validate=true"));
    app.write("deploy.yaml", common::deployment("web", 0, "nginx:1.28"))
        .commit("new image");
    app.kpush(&["apply", "--no-wait"]).expect_code(0);
    let live = app.get("deployment", "web").unwrap();
    assert_eq!(live["spec"]["replicas"], 2, "{live}");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
}

/// `SkipDryRunOnMissingResource=true`: a custom resource whose CRD another controller installs
/// during the deploy is applied in its wave once the kind is served, instead of refused.
#[test]
fn a_kind_installed_during_the_deploy_is_waited_for() {
    let cluster = common::cluster();
    let app = common::app_repo::AppRepo::new(&cluster, "argo-skipdry");
    let _cleanup = cluster.cleanup("crd", "sprockets.skipdry.kpush.test");
    let crd = common::crd(
        "skipdry.kpush.test",
        "Sprocket",
        "type: object\nproperties:\n  size: {type: integer}",
    );
    let sprocket = |options: &str| {
        format!(
            "apiVersion: skipdry.kpush.test/v1\nkind: Sprocket\nmetadata:\n  name: s\n  annotations:\n    argocd.argoproj.io/sync-wave: \"1\"\n{options}spec:\n  size: 1\n"
        )
    };
    app.write("operator.yaml", configmap("operator", "1"))
        .write("sprocket.yaml", sprocket(""))
        .commit("no skip");
    let run = app.apply(&[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("unknown kind `Sprocket`"),
        "{}",
        run.all()
    );
    assert!(app.get("cm", "operator").is_none());

    app.write(
        "sprocket.yaml",
        sprocket("    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n"),
    )
    .commit("skip");
    let child = app.start_apply(&["--timeout", "120s"]);
    common::until(
        "the wait for the kind",
        std::time::Duration::from_secs(60),
        || child.stderr().contains("waiting up to"),
    );
    assert!(
        app.get("cm", "operator").is_some(),
        "the earlier wave is written"
    );
    cluster.apply_yaml(&crd, &[]);
    let (run, _) = child.finish();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(app.get("sprocket", "s").unwrap()["spec"]["size"], 1);
}
