//! App-of-apps and ApplicationSets: the Applications an app renders, and those an
//! ApplicationSet generates, deploy as apps of their own, in the order of their sync waves.

mod common;

use common::{GitRepo, cluster, configmap, kpush};
use serde_json::Value;

/// An Argo CD Application of `path` deploying to `ns`, at sync wave `wave`.
fn application(name: &str, path: &str, ns: &str, wave: i32) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
  annotations: {{argocd.argoproj.io/sync-wave: \"{wave}\"}}
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: default
  source: {{repoURL: https://github.com/example/platform.git, targetRevision: HEAD, path: {path}}}
  destination: {{server: https://kubernetes.default.svc, namespace: {ns}}}
---
"
    )
}

/// A Deployment whose pods can never be created: its ServiceAccount does not exist.
const UNSCHEDULABLE: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      serviceAccountName: missing\n      containers: [{name: web, image: registry.example/web:1}]\n";

/// Where each app's heading is in a run's output, or `None` when it is not there.
fn heading_at(out: &str, app: &str) -> Option<usize> {
    out.find(&format!("== {app} →"))
}

#[test]
fn an_app_of_apps_chart_deploys_its_children_in_wave_order() {
    let cluster = cluster();
    let root = cluster.namespace("aoa-root");
    let (a, b, c, g) = (
        cluster.namespace("aoa-a"),
        cluster.namespace("aoa-b"),
        cluster.namespace("aoa-c"),
        cluster.namespace("aoa-g"),
    );
    let repo = GitRepo::new();
    repo.write("kpush.yaml", application("root", "apps", &root.name, 0));
    // The shape of Argo CD's example app-of-apps chart: one template per child, from values.
    repo.write("apps/Chart.yaml", "apiVersion: v2\nname: apps\nversion: 0.1.0\n")
        .write(
            "apps/values.yaml",
            format!(
                "children:\n  - {{name: child-a, path: children/a, ns: {}, wave: \"2\"}}\n  - {{name: child-b, path: children/b, ns: {}, wave: \"-1\"}}\n  - {{name: nested, path: nested, ns: {}, wave: \"0\"}}\n",
                a.name, b.name, c.name
            ),
        )
        .write(
            "apps/templates/children.yaml",
            "{{- range .Values.children }}\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {{ .name }}\n  namespace: argocd\n  annotations:\n    argocd.argoproj.io/sync-wave: {{ .wave | quote }}\n  finalizers: [resources-finalizer.argocd.argoproj.io]\nspec:\n  project: default\n  source:\n    repoURL: https://github.com/example/platform.git\n    path: {{ .path }}\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: {{ .ns }}\n---\n{{- end }}\n",
        )
        .write("apps/templates/own.yaml", configmap("root-own", "1"));
    repo.write("children/a/cm.yaml", configmap("from-a", "a"))
        .write("children/b/cm.yaml", configmap("from-b", "b"))
        .write(
            "nested/app.yaml",
            application("grandchild", "children/g", &g.name, 0),
        )
        .write("nested/cm.yaml", configmap("from-nested", "n"))
        .write("children/g/cm.yaml", configmap("from-g", "g"));
    repo.commit("app of apps");

    let render = kpush(repo.path(), &["render"]);
    render.expect_code(0);
    assert!(
        !render.stdout.contains("kind: Application"),
        "{}",
        render.stdout
    );
    for name in ["root-own", "from-a", "from-b", "from-nested", "from-g"] {
        assert!(
            render.stdout.contains(&format!("name: {name}")),
            "{name}: {}",
            render.stdout
        );
    }

    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(0);
    for (ns, cm) in [
        (&root.name, "root-own"),
        (&a.name, "from-a"),
        (&b.name, "from-b"),
        (&c.name, "from-nested"),
        (&g.name, "from-g"),
    ] {
        assert!(
            cluster.get("configmap", Some(ns), cm).is_some(),
            "{cm} in {ns}\n{}",
            run.all()
        );
    }
    // The parent first, then its children by wave, each followed by its own children.
    let order: Vec<usize> = ["root", "child-b", "nested", "grandchild", "child-a"]
        .iter()
        .map(|app| heading_at(&run.stdout, app).unwrap_or_else(|| panic!("{app}: {}", run.stdout)))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "{order:?}\n{}",
        run.stdout
    );
    // No Application object was written: the children are apps, not objects.
    assert!(
        !run.all().contains("argoproj.io/v1alpha1 Application"),
        "{}",
        run.all()
    );

    cluster
        .kpush(repo.path(), &["diff", "--exit-code"])
        .expect_code(0);

    // A person deleting a child's object is drift of that child.
    cluster
        .kubectl(&["-n", &a.name, "delete", "configmap", "from-a"])
        .expect_code(0);
    let drift = cluster.kpush(repo.path(), &["diff", "-o", "json", "--exit-code"]);
    drift.expect_code(2);
    let doc: Value = serde_json::from_str(&drift.stdout).unwrap();
    let changes: Vec<(&str, &str)> = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| Some((a["app"].as_str()?, a["change"].as_str()?)))
        .collect();
    assert_eq!(changes, [("child-a", "drift")], "{}", drift.stdout);
    let parents: Vec<(&str, &str)> = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| Some((a["app"].as_str()?, a["parent"].as_str()?)))
        .collect();
    assert_eq!(
        parents,
        [
            ("child-b", "root"),
            ("nested", "root"),
            ("grandchild", "nested"),
            ("child-a", "root")
        ]
    );

    // `--applications-as-objects`: the Applications are objects for an Argo CD to sync.
    let objects = kpush(repo.path(), &["render", "--applications-as-objects"]);
    objects.expect_code(0);
    assert_eq!(
        objects.stdout.matches("kind: Application\n").count(),
        3,
        "{}",
        objects.stdout
    );
    assert!(
        !objects.stdout.contains("name: from-a"),
        "{}",
        objects.stdout
    );

    // `--app` selects a generated child like any app.
    let one = cluster.kpush(repo.path(), &["diff", "--app", "grand*", "-o", "json"]);
    one.expect_code(0);
    let doc: Value = serde_json::from_str(&one.stdout).unwrap();
    let names: Vec<&str> = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["grandchild"]);
}

#[test]
fn a_failing_first_wave_stops_the_second() {
    let cluster = cluster();
    let root = cluster.namespace("aoa-waves");
    let (first, second) = (cluster.namespace("aoa-w0"), cluster.namespace("aoa-w1"));
    let repo = GitRepo::new();
    repo.write("kpush.yaml", application("root", "apps", &root.name, 0))
        .write(
            "apps/first.yaml",
            application("first", "first", &first.name, 0),
        )
        .write(
            "apps/second.yaml",
            application("second", "second", &second.name, 1),
        )
        .write("first/deploy.yaml", UNSCHEDULABLE)
        .write("second/cm.yaml", configmap("after-first", "1"));
    repo.commit("waves");
    let run = cluster.kpush(repo.path(), &["apply", "--timeout", "300s"]);
    run.expect_code(4);
    assert!(run.all().contains("missing"), "{}", run.all());
    assert!(
        cluster
            .get("configmap", Some(&second.name), "after-first")
            .is_none(),
        "the second wave ran after the first failed:\n{}",
        run.all()
    );
}

#[test]
fn a_cycle_is_refused_naming_it() {
    let repo = GitRepo::new();
    repo.write("kpush.yaml", application("root", "one", "ns-one", 0))
        .write("one/app.yaml", application("two", "two", "ns-two", 0))
        .write("two/app.yaml", application("root", "one", "ns-one", 0));
    repo.commit("cycle");
    let run = kpush(repo.path(), &["render"]);
    run.expect_code(3);
    assert!(
        run.all().contains("cycle: root → two → root"),
        "{}",
        run.all()
    );
}

/// An ApplicationSet over the directories of `apps/`, one app per directory.
const DIRECTORIES_SET: &str = "apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: teams, namespace: argocd}
spec:
  goTemplate: false
  generators:
  - git:
      repoURL: https://github.com/example/platform.git
      revision: HEAD
      directories: [{path: 'apps/*'}, {path: apps/skipped, exclude: true}]
  template:
    metadata: {name: '{{path.basename}}'}
    spec:
      project: default
      source: {repoURL: https://github.com/example/platform.git, targetRevision: HEAD, path: '{{path}}'}
      destination: {server: https://kubernetes.default.svc, namespace: 'NS-{{path.basename}}'}
";

#[test]
fn an_application_set_over_directories_diffs_only_the_app_that_changed() {
    let repo = GitRepo::new();
    repo.write("kpush.yaml", DIRECTORIES_SET);
    for team in ["red", "blue", "green", "skipped"] {
        repo.write(&format!("apps/{team}/cm.yaml"), configmap(team, "1"));
    }
    let first = repo.commit("teams");
    let render = kpush(repo.path(), &["render", "--app", "red,blue,green"]);
    render.expect_code(0);
    let skipped = kpush(repo.path(), &["render", "--app", "skipped"]);
    skipped.expect_code(3);

    repo.write("apps/blue/cm.yaml", configmap("blue", "2"));
    let second = repo.commit("blue changes");
    let run = kpush(
        repo.path(),
        &["diff", "--from", &first, "--to", &second, "-o", "json"],
    );
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let apps = doc["apps"].as_array().unwrap();
    let changed: Vec<&str> = apps
        .iter()
        .filter(|a| a["same_inputs"] != true)
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["blue"], "{}", run.stdout);
    assert_eq!(apps.len(), 3, "{}", run.stdout);

    // A new directory is a new app; a removed one is an app removed.
    repo.write("apps/yellow/cm.yaml", configmap("yellow", "1"));
    repo.remove("apps/red/cm.yaml");
    let third = repo.commit("yellow in, red out");
    let run = kpush(repo.path(), &["diff", "--from", &second, "--to", &third]);
    run.expect_code(0);
    assert!(run.stdout.contains("yellow"), "{}", run.stdout);
    assert!(run.stdout.contains("red"), "{}", run.stdout);

    // The pull-request comment starts with a table of the apps that change.
    let md = kpush(
        repo.path(),
        &["diff", "--from", &first, "--to", &third, "-o", "markdown"],
    );
    md.expect_code(0);
    let table = md.stdout.split("\n\n").next().unwrap();
    assert_eq!(
        table,
        "| app | change | create | update | prune |\n|---|---|---:|---:|---:|\n| `blue` | changed | 0 | 1 | 0 |\n| `yellow` | added | 1 | 0 | 0 |\n| `red` | removed | 0 | 0 | 1 |",
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("3 apps changing, 1 unchanged."),
        "{}",
        md.stdout
    );
}

#[test]
fn generated_apps_deploy_and_rediff_clean() {
    let cluster = cluster();
    let (x, y) = (cluster.namespace("set-x"), cluster.namespace("set-y"));
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: envs}}
spec:
  goTemplate: true
  goTemplateOptions: [missingkey=error]
  generators:
  - list:
      elements:
      - {{env: x, ns: {x}}}
      - {{env: y, ns: {y}}}
  template:
    metadata: {{name: 'web-{{{{ .env }}}}'}}
    spec:
      project: default
      source: {{repoURL: https://github.com/example/platform.git, path: web}}
      destination: {{server: https://kubernetes.default.svc, namespace: '{{{{ .ns }}}}'}}
",
            x = x.name,
            y = y.name
        ),
    )
    .write("web/cm.yaml", configmap("web", "1"));
    repo.commit("set");
    cluster.kpush(repo.path(), &["apply"]).expect_code(0);
    for ns in [&x.name, &y.name] {
        assert!(cluster.get("configmap", Some(ns), "web").is_some(), "{ns}");
    }
    cluster
        .kpush(repo.path(), &["diff", "--exit-code"])
        .expect_code(0);
}

/// `application` without Argo CD's resources finalizer.
fn application_without_finalizer(name: &str, path: &str, ns: &str) -> String {
    application(name, path, ns, 0).replace(
        "  finalizers: [resources-finalizer.argocd.argoproj.io]\n",
        "",
    )
}

/// Whether app `app` has an inventory in `ns`.
fn has_inventory(cluster: &common::TestCluster, ns: &str, app: &str) -> bool {
    cluster
        .get("secret", Some(ns), &format!("kpush-{app}"))
        .is_some()
}

#[test]
fn an_app_that_leaves_the_render_goes_only_with_the_finalizer_and_only_after_a_good_deploy() {
    let cluster = cluster();
    let root = cluster.namespace("leave-root");
    let (gone, kept, moved, later, bad) = (
        cluster.namespace("leave-gone"),
        cluster.namespace("leave-kept"),
        cluster.namespace("leave-moved"),
        cluster.namespace("leave-later"),
        cluster.namespace("leave-bad"),
    );
    let repo = GitRepo::new();
    repo.write("kpush.yaml", application("root", "apps", &root.name, 0))
        .write("apps/gone.yaml", application("gone", "gone", &gone.name, 0))
        .write(
            "apps/kept.yaml",
            application_without_finalizer("kept", "kept", &kept.name),
        )
        .write(
            "apps/moved.yaml",
            application("moved", "moved", &moved.name, 0),
        )
        .write(
            "apps/later.yaml",
            application("later", "later", &later.name, 0),
        )
        .write("root-own/cm.yaml", configmap("unused", "1"));
    for app in ["gone", "kept", "moved", "later"] {
        repo.write(&format!("{app}/cm.yaml"), configmap(app, "1"));
    }
    // Torn down as `kpush delete` would: its PostDelete hook runs.
    repo.write(
        "gone/goodbye.yaml",
        configmap("goodbye", "1").replace(
            "metadata:\n",
            "metadata:\n  annotations:\n    argocd.argoproj.io/hook: PostDelete\n",
        ),
    );
    repo.commit("four children");
    cluster.kpush(repo.path(), &["apply"]).expect_code(0);
    for (ns, app) in [
        (&gone, "gone"),
        (&kept, "kept"),
        (&moved, "moved"),
        (&later, "later"),
    ] {
        assert!(has_inventory(&cluster, &ns.name, app), "{app}");
    }

    // `gone` and `kept` leave the render; `moved` leaves it for the config file itself.
    repo.remove("apps/gone.yaml")
        .remove("apps/kept.yaml")
        .remove("apps/moved.yaml");
    repo.write(
        "kpush.yaml",
        format!(
            "{}{}",
            application("root", "apps", &root.name, 0),
            application("moved", "moved", &moved.name, 0)
        ),
    );
    repo.commit("two leave, one moves");
    let diff = cluster.kpush(repo.path(), &["diff"]);
    diff.expect_code(0);
    assert!(
        diff.stdout
            .contains("App gone left the render of root: its objects are deleted"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("App kept left the render of root: its objects stay"),
        "{}",
        diff.stdout
    );
    assert!(!diff.stdout.contains("App moved left"), "{}", diff.stdout);
    cluster
        .kpush(repo.path(), &["apply", "--dry-run"])
        .expect_code(0);
    assert!(
        cluster.get("configmap", Some(&gone.name), "gone").is_some(),
        "--dry-run deleted"
    );

    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(0);
    assert!(
        cluster.get("configmap", Some(&gone.name), "gone").is_none(),
        "{}",
        run.all()
    );
    assert!(
        cluster
            .get("configmap", Some(&gone.name), "goodbye")
            .is_some(),
        "the PostDelete hook of the app that left did not run:\n{}",
        run.all()
    );
    assert!(
        !has_inventory(&cluster, &gone.name, "gone"),
        "{}",
        run.all()
    );
    assert!(
        cluster.get("configmap", Some(&kept.name), "kept").is_some(),
        "{}",
        run.all()
    );
    assert!(
        !has_inventory(&cluster, &kept.name, "kept"),
        "{}",
        run.all()
    );
    assert!(
        run.all()
            .contains("warning: app kept left the render of root"),
        "{}",
        run.all()
    );
    assert!(
        cluster
            .get("configmap", Some(&moved.name), "moved")
            .is_some(),
        "{}",
        run.all()
    );
    assert!(
        has_inventory(&cluster, &moved.name, "moved"),
        "{}",
        run.all()
    );
    // Recorded: the next deploy has nothing left to remove.
    let again = cluster.kpush(repo.path(), &["apply"]);
    again.expect_code(0);
    assert!(!again.all().contains("left the render"), "{}", again.all());

    // `later` leaves in the commit that adds a child that cannot become healthy: the deploy
    // fails, and nothing is torn down.
    repo.remove("apps/later.yaml")
        .write("apps/bad.yaml", application("bad", "bad", &bad.name, 0))
        .write("bad/deploy.yaml", UNSCHEDULABLE);
    repo.commit("later leaves, bad arrives");
    let failed = cluster.kpush(repo.path(), &["apply", "--timeout", "300s"]);
    failed.expect_code(4);
    assert!(
        cluster
            .get("configmap", Some(&later.name), "later")
            .is_some(),
        "a failed deploy tore an app down:\n{}",
        failed.all()
    );
    assert!(has_inventory(&cluster, &later.name, "later"));
}

#[test]
fn a_root_that_renders_only_apps_needs_no_namespace_of_its_own() {
    let cluster = cluster();
    let child = cluster.namespace("aoa-only");
    let repo = GitRepo::new();
    // Argo CD's convention: the root app deploys into Argo CD's namespace, absent here.
    let missing = common::unique("argocd-absent");
    repo.write("kpush.yaml", application("root", "apps", &missing, 0))
        .write(
            "apps/child.yaml",
            application("child", "child", &child.name, 0),
        )
        .write("child/cm.yaml", configmap("only", "1"));
    repo.commit("root of apps only");
    let run = cluster.kpush(repo.path(), &["apply"]);
    run.expect_code(0);
    assert!(
        run.stderr.contains(&format!(
            "app root renders only apps and its namespace `{missing}` does not exist"
        )),
        "{}",
        run.all()
    );
    assert!(
        cluster
            .get("configmap", Some(&child.name), "only")
            .is_some()
    );
    assert!(
        cluster.get("namespace", None, &missing).is_none(),
        "a namespace nobody asked for was created"
    );
    cluster
        .kpush(repo.path(), &["diff", "--exit-code"])
        .expect_code(0);
}
