//! Charts from Helm chart repositories, served on loopback: versions and ranges resolved and
//! recorded, a content-addressed cache that `--offline` renders from, credentials from the
//! environment and never printed.

mod common;

use std::path::Path;

use common::http::FileServer;
use common::{GitRepo, kpush_env};
use serde_json::Value;

fn run_helm(args: &[&str], cwd: &Path) {
    let output = std::process::Command::new(common::helm())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run helm");
    assert!(
        output.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Packages `web` at `version` (a ConfigMap that says its version) into `dir`.
fn package(dir: &Path, version: &str) {
    let chart = dir.join(format!("src-{version}"));
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: web\nversion: {version}\n"),
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "greeting: hello\n").unwrap();
    std::fs::write(chart.join("values-prod.yaml"), "greeting: prod\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  version: {{ .Chart.Version | quote }}\n  greeting: {{ .Values.greeting | quote }}\n",
    )
    .unwrap();
    run_helm(
        &[
            "package",
            chart.to_str().unwrap(),
            "--destination",
            dir.to_str().unwrap(),
        ],
        dir,
    );
    std::fs::remove_dir_all(&chart).unwrap();
}

/// A chart repository on loopback holding `web` at each of `versions`, indexed for its URL.
fn serve(versions: &[&str], credentials: Option<(&str, &str)>) -> (FileServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = FileServer::start(dir.path(), credentials);
    for version in versions {
        package(dir.path(), version);
    }
    run_helm(&["repo", "index", ".", "--url", &server.url], dir.path());
    (server, dir)
}

fn application(repo_url: &str, version: &str, helm_fields: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source:\n    repoURL: {repo_url}\n    chart: web\n    targetRevision: \"{version}\"\n{helm_fields}  destination: {{namespace: prod}}\n"
    )
}

/// `kpush render -o json` with its own cache; returns the run.
fn render(repo: &GitRepo, cache: &Path, extra: &[&str], env: &[(&str, &str)]) -> common::Run {
    let mut args = vec!["render", "-o", "json", "--helm-bin"];
    let helm = common::helm();
    args.push(&helm);
    args.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.push(("KPUSH_CACHE_DIR", cache.to_str().unwrap()));
    kpush_env(repo.path(), &args, &env)
}

fn config_map(run: &common::Run) -> Value {
    let list: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()));
    list["items"][0]["data"].clone()
}

#[test]
fn a_range_resolves_to_the_newest_match_and_the_cache_serves_it_offline() {
    let (server, _charts) = serve(&["1.0.0", "1.1.0", "2.0.0"], None);
    let cache = tempfile::tempdir().unwrap();
    let repo = GitRepo::new();
    repo.write("kpush.yaml", application(&server.url, "^1.0", ""))
        .commit("chart app");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(0);
    assert_eq!(config_map(&run)["version"], "1.1.0");
    assert_eq!(config_map(&run)["greeting"], "hello");

    // The repository goes away: the cache still renders the range, offline.
    let url = server.url.clone();
    drop(server);
    let offline = render(&repo, cache.path(), &["--offline"], &[]);
    offline.expect_code(0);
    assert_eq!(config_map(&offline)["version"], "1.1.0");
    // An exact version that is cached needs no network either.
    repo.write("kpush.yaml", application(&url, "1.1.0", ""))
        .commit("pinned");
    let pinned = render(&repo, cache.path(), &[], &[]);
    pinned.expect_code(0);
    assert_eq!(config_map(&pinned)["version"], "1.1.0");

    // Offline with an empty cache: a clear error before any cluster call.
    let empty = tempfile::tempdir().unwrap();
    let run = render(&repo, empty.path(), &["--offline"], &[]);
    run.expect_code(3);
    assert!(run.stderr.contains("is not in the cache"), "{}", run.all());
    assert!(run.stderr.contains("--offline"), "{}", run.all());
}

#[test]
fn values_files_are_read_from_inside_the_chart_and_a_tampered_cache_is_refused() {
    let (server, _charts) = serve(&["1.0.0"], None);
    let cache = tempfile::tempdir().unwrap();
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        application(
            &server.url,
            "1.0.0",
            "    helm:\n      valueFiles: [values-prod.yaml]\n",
        ),
    )
    .commit("chart app");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(0);
    assert_eq!(config_map(&run)["greeting"], "prod");

    // A values file outside the chart (helm would read it from the runner's disk): refused.
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "greeting: from-the-runners-disk\n").unwrap();
    for file in [
        secret.path().display().to_string(),
        "../../outside.yaml".to_string(),
    ] {
        repo.write(
            "kpush.yaml",
            application(
                &server.url,
                "1.0.0",
                &format!("    helm:\n      valueFiles: [{file}]\n"),
            ),
        )
        .commit("a values file outside the chart");
        let run = render(&repo, cache.path(), &[], &[]);
        run.expect_code(3);
        assert!(run.stderr.contains("is outside the chart"), "{}", run.all());
        assert!(!run.stdout.contains("from-the-runners-disk"));
    }
    repo.write(
        "kpush.yaml",
        application(
            &server.url,
            "1.0.0",
            "    helm:\n      valueFiles: [values-prod.yaml]\n",
        ),
    )
    .commit("chart app again");

    // The archive in the cache changes: refused, never rendered.
    let archives = cache.path().join("charts/archives");
    let archive = std::fs::read_dir(&archives)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&archive, b"tampered").unwrap();
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("does not have the digest"),
        "{}",
        run.all()
    );
}

#[test]
fn credentials_come_from_the_environment_and_never_show() {
    let secret = "s3cret-chart-pass";
    let (server, _charts) = serve(&["1.0.0"], Some(("ci", secret)));
    let repo = GitRepo::new();
    repo.write("kpush.yaml", application(&server.url, "1.0.0", ""))
        .commit("chart app");
    needs_credentials(&repo, secret);
}

/// `repo`'s chart needs the user `ci` with `secret`: without credentials the render exits 3
/// naming the variables to set, with them it renders, with a wrong password it exits 3; no
/// password is printed at `-vvv`. Returns the successful render.
fn needs_credentials(repo: &GitRepo, secret: &str) -> common::Run {
    let cache = tempfile::tempdir().unwrap();
    let run = render(repo, cache.path(), &[], &[]);
    run.expect_code(3);
    assert!(run.stderr.contains("KPUSH_CHART_USERNAME"), "{}", run.all());
    let creds = [
        ("KPUSH_CHART_USERNAME", "ci"),
        ("KPUSH_CHART_PASSWORD", secret),
    ];
    let good = render(repo, cache.path(), &["-vvv"], &creds);
    good.expect_code(0);
    assert!(!good.all().contains(secret), "{}", good.all());
    let wrong = [
        ("KPUSH_CHART_USERNAME", "ci"),
        ("KPUSH_CHART_PASSWORD", "wrong-pass-123"),
    ];
    let empty = tempfile::tempdir().unwrap();
    let run = render(repo, empty.path(), &["-vvv"], &wrong);
    run.expect_code(3);
    assert!(!run.all().contains("wrong-pass-123"), "{}", run.all());
    good
}

#[test]
fn a_deploy_records_the_resolved_version_and_rollback_goes_back_to_it() {
    let cluster = common::cluster();
    let (server, charts) = serve(&["1.0.0", "1.1.0"], None);
    let cache = tempfile::tempdir().unwrap();
    let ns = cluster.namespace("kp-chart");
    let repo = GitRepo::new();
    let definition = application(&server.url, "^1", "")
        .replace("namespace: prod", &format!("namespace: {}", ns.name));
    repo.write("kpush.yaml", &definition).commit("chart app");
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let helm = common::helm();
    let cache_dir = cache.path().to_str().unwrap().to_string();
    let apply = |extra: &[&str]| {
        let mut args = vec![
            "--kubeconfig",
            kubeconfig.as_str(),
            "apply",
            "--helm-bin",
            helm.as_str(),
        ];
        args.extend_from_slice(extra);
        kpush_env(
            repo.path(),
            &args,
            &[("KPUSH_CACHE_DIR", cache_dir.as_str())],
        )
    };
    let run = apply(&["-o", "json"]);
    run.expect_code(0);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["apps"][0]["chart"]["version"], "1.1.0",
        "{}",
        run.stdout
    );
    let digest = report["apps"][0]["chart"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let schema: Value = serde_json::from_str(include_str!("../docs/report.schema.json")).unwrap();
    let errors = common::schema::validate(&schema, &report);
    assert!(errors.is_empty(), "{errors:#?}");

    // A newer version appears in the range; the next deploy takes it.
    package(charts.path(), "1.2.0");
    run_helm(&["repo", "index", ".", "--url", &server.url], charts.path());
    apply(&[]).expect_code(0);
    let live = cluster.get("configmap", Some(&ns.name), "web").unwrap();
    assert_eq!(live["data"]["version"], "1.2.0");

    let history = kpush_env(
        repo.path(),
        &["--kubeconfig", &kubeconfig, "history", "-o", "json"],
        &[],
    );
    history.expect_code(0);
    let entries: Value = serde_json::from_str(&history.stdout).unwrap();
    let recorded: Vec<&str> = entries["apps"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["chart"]["version"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(recorded, ["1.1.0", "1.2.0"], "{}", history.stdout);

    let back = kpush_env(
        repo.path(),
        &["--kubeconfig", &kubeconfig, "rollback", "--helm-bin", &helm],
        &[("KPUSH_CACHE_DIR", cache_dir.as_str())],
    );
    back.expect_code(0);
    let live = cluster.get("configmap", Some(&ns.name), "web").unwrap();
    assert_eq!(live["data"]["version"], "1.1.0", "{}", back.all());

    // The rollback's own entry records the chart it put back.
    let history = kpush_env(
        repo.path(),
        &["--kubeconfig", &kubeconfig, "history", "-o", "json"],
        &[],
    );
    let entries: Value = serde_json::from_str(&history.stdout).unwrap();
    let last = entries["apps"][0]["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "rollback", "{last}");
    assert_eq!(last["chart"]["version"], "1.1.0", "{last}");

    // A history written before snapshots existed: rollback renders the entry's commit again,
    // with the chart version that entry recorded, not the newest the range now matches.
    let parent = cluster.get("secret", Some(&ns.name), "kpush-web").unwrap();
    let mut history: Value = serde_json::from_str(
        parent["metadata"]["annotations"]["kpush.dev/history"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for entry in history.as_array_mut().unwrap() {
        entry.as_object_mut().unwrap().remove("snapshot");
    }
    cluster
        .kubectl(&[
            "annotate",
            "secret",
            "kpush-web",
            "-n",
            &ns.name,
            "--overwrite",
            &format!("kpush.dev/history={history}"),
        ])
        .expect_code(0);
    cluster
        .kubectl(&[
            "delete",
            "secret",
            "-n",
            &ns.name,
            "--field-selector",
            "type=kpush.dev/snapshot",
        ])
        .expect_code(0);
    package(charts.path(), "1.3.0");
    run_helm(&["repo", "index", ".", "--url", &server.url], charts.path());
    let again = kpush_env(
        repo.path(),
        &["--kubeconfig", &kubeconfig, "rollback", "--helm-bin", &helm],
        &[("KPUSH_CACHE_DIR", cache_dir.as_str())],
    );
    again.expect_code(0);
    // Before the live rollback entry: the deploy that took 1.2.0.
    let live = cluster.get("configmap", Some(&ns.name), "web").unwrap();
    assert_eq!(live["data"]["version"], "1.2.0", "{}", again.all());
}

/// An OCI registry on loopback holding `web` at each of `versions`, under `charts/`.
fn registry_with(versions: &[&str]) -> common::registry::Registry {
    fill(common::registry::Registry::start(), versions, &[])
}

/// `registry` with chart `web` pushed at each of `versions`; `login` are helm's flags for it.
fn fill(
    registry: common::registry::Registry,
    versions: &[&str],
    login: &[&str],
) -> common::registry::Registry {
    let packages = tempfile::tempdir().unwrap();
    for version in versions {
        package(packages.path(), version);
        let archive = packages.path().join(format!("web-{version}.tgz"));
        let target = format!("oci://{}/charts", registry.host);
        let mut args = vec!["push", archive.to_str().unwrap(), &target, "--plain-http"];
        args.extend_from_slice(login);
        run_helm(&args, packages.path());
    }
    registry
}

#[test]
fn an_oci_registry_with_basic_auth_takes_credentials_from_the_environment() {
    let secret = "s3cret-oci-pass";
    let registry = fill(
        common::registry::Registry::with_user("ci", secret),
        &["1.0.0", "1.2.0"],
        &["--username", "ci", "--password", secret],
    );
    let repo = GitRepo::new();
    repo.write(
        "kpush.yaml",
        application(&format!("oci://{}/charts", registry.host), "^1.0", ""),
    )
    .commit("oci chart behind auth");
    let run = needs_credentials(&repo, secret);
    assert_eq!(config_map(&run)["version"], "1.2.0");
}

#[test]
fn charts_from_an_oci_registry_resolve_ranges_in_both_spellings() {
    let registry = registry_with(&["1.0.0", "1.1.0", "2.0.0"]);
    let cache = tempfile::tempdir().unwrap();
    let repo = GitRepo::new();
    // `oci://host/path`, and Argo CD's bare `host/path`.
    for url in [
        format!("oci://{}/charts", registry.host),
        format!("{}/charts", registry.host),
    ] {
        repo.write("kpush.yaml", application(&url, "^1.0", ""))
            .commit("oci chart");
        let run = render(&repo, cache.path(), &[], &[]);
        run.expect_code(0);
        assert_eq!(config_map(&run)["version"], "1.1.0", "{url}");
    }
    repo.write(
        "kpush.yaml",
        application(&format!("oci://{}/charts", registry.host), "2.0.0", ""),
    )
    .commit("exact");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(0);
    assert_eq!(config_map(&run)["version"], "2.0.0");
    // Cached: the registry is no longer needed.
    drop(registry);
    let offline = render(&repo, cache.path(), &["--offline"], &[]);
    offline.expect_code(0);
    assert_eq!(config_map(&offline)["version"], "2.0.0");
}

/// A chart in the repository that depends on `web` from `repository` at `version`.
fn parent_chart(repo: &GitRepo, repository: &str, version: &str) {
    repo.write(
        "app/Chart.yaml",
        format!(
            "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n  - name: web\n    version: \"{version}\"\n    repository: {repository}\n"
        ),
    )
    .write(
        "app/templates/own.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: own\ndata: {}\n",
    );
}

/// The version the dependency's ConfigMap says.
fn dependency_version(run: &common::Run) -> Value {
    let list: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.all()));
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["metadata"]["name"] == "web")
        .map(|o| o["data"]["version"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn dependencies_not_committed_are_fetched_and_chart_lock_pins_them() {
    let (server, _charts) = serve(&["1.0.0", "1.1.0", "2.0.0"], None);
    let cache = tempfile::tempdir().unwrap();
    let repo = GitRepo::new();
    parent_chart(&repo, &server.url, "^1.0");
    repo.commit("chart with a dependency");
    let render_app = |repo: &GitRepo, extra: &[&str]| {
        let mut args = vec!["app"];
        args.extend_from_slice(extra);
        render(repo, cache.path(), &args, &[])
    };
    let run = render_app(&repo, &[]);
    run.expect_code(0);
    assert_eq!(dependency_version(&run), "1.1.0");

    // A committed Chart.lock pins the version.
    let lock = |version: &str| {
        format!(
            "dependencies:\n- name: web\n  repository: {}\n  version: {version}\ndigest: sha256:0000\ngenerated: \"2026-01-01T00:00:00Z\"\n",
            server.url
        )
    };
    repo.write("app/Chart.lock", lock("1.0.0")).commit("lock");
    let run = render_app(&repo, &[]);
    run.expect_code(0);
    assert_eq!(dependency_version(&run), "1.0.0");
    // Cached now: offline works.
    let run = render_app(&repo, &["--offline"]);
    run.expect_code(0);

    // A lock outside the range Chart.yaml asks for is out of date: refused.
    repo.write("app/Chart.lock", lock("2.0.0"))
        .commit("stale lock");
    let run = render_app(&repo, &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("the lock is out of date"),
        "{}",
        run.all()
    );

    // From an OCI registry too.
    let registry = registry_with(&["1.0.0"]);
    repo.remove("app/Chart.lock");
    parent_chart(&repo, &format!("oci://{}/charts", registry.host), "1.0.0");
    repo.commit("oci dependency");
    let run = render_app(&repo, &[]);
    run.expect_code(0);
    assert_eq!(dependency_version(&run), "1.0.0");
}

/// Gives `repo` the remote `origin` at `url`.
fn add_origin(repo: &GitRepo, url: &str) {
    let remote = std::process::Command::new("git")
        .args(["remote", "add", "origin", url])
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(remote.success());
}

#[test]
fn a_multi_source_app_takes_values_files_from_its_ref_source() {
    let (server, _charts) = serve(&["1.0.0"], None);
    let cache = tempfile::tempdir().unwrap();
    let repo = GitRepo::new();
    let sources = |value_file: &str, extra: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  sources:\n  - repoURL: {}\n    chart: web\n    targetRevision: 1.0.0\n    helm:\n      valueFiles: [{value_file}]\n  - repoURL: https://git.example.com/team/config.git\n    targetRevision: main\n    ref: values\n{extra}  destination: {{namespace: prod}}\n",
            server.url
        )
    };
    repo.write("envs/prod.yaml", "greeting: from-the-team-repo\n")
        .write("kpush.yaml", sources("$values/envs/prod.yaml", ""))
        .commit("multi-source");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(0);
    assert_eq!(config_map(&run)["greeting"], "from-the-team-repo");

    // A `ref` to another repository is fetched from it (here it cannot be reached).
    add_origin(&repo, "https://git.example.com/team/app.git");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("cannot fetch revision `main` of https://git.example.com/team/config.git"),
        "{}",
        run.all()
    );
    repo.write(
        "kpush.yaml",
        sources("$values/envs/prod.yaml", "").replace("team/config.git", "team/app"),
    )
    .commit("ref to this repository");
    render(&repo, cache.path(), &[], &[]).expect_code(0);

    // A `$name` no source declares: refused with the reason.
    repo.write("kpush.yaml", sources("$other/envs/prod.yaml", ""))
        .commit("unknown ref");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("names no `ref` source"),
        "{}",
        run.all()
    );
    // A second source that renders joins the app; one object declared by both is refused.
    repo.write(
        "kpush.yaml",
        sources(
            "values-prod.yaml",
            "  - repoURL: https://git.example.com/team/app\n    path: manifests\n",
        )
        .replace("team/config.git", "team/app"),
    )
    .write(
        "manifests/extra.yaml",
        common::configmap("extra", "from-the-path-source"),
    )
    .commit("two renderers");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(0);
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "extra"], "{}", run.stdout);
    repo.write("manifests/extra.yaml", common::configmap("web", "twice"))
        .commit("the same object from two sources");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(3);
    assert!(run.stderr.contains("manifests/extra.yaml"), "{}", run.all());
}

/// The objects of every source form one app with one inventory: a source removed from the
/// Application is pruned like a file removed from a path.
#[test]
fn a_multi_source_app_is_one_inventory() {
    let cluster = common::cluster();
    let (server, _charts) = serve(&["1.0.0"], None);
    let cache = tempfile::tempdir().unwrap();
    let ns = cluster.namespace("kp-multi");
    let repo = GitRepo::new();
    let app = |extra: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  sources:\n  - repoURL: {}\n    chart: web\n    targetRevision: 1.0.0\n{extra}  destination: {{namespace: {}}}\n",
            server.url, ns.name
        )
    };
    repo.write("kpush.yaml", app("  - path: extra\n"))
        .write("extra/cm.yaml", common::configmap("extra", "x"))
        .commit("chart and a path");
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let helm = common::helm();
    let cache_dir = cache.path().to_str().unwrap().to_string();
    let apply = || {
        kpush_env(
            repo.path(),
            &[
                "--kubeconfig",
                &kubeconfig,
                "apply",
                "--prune",
                "--helm-bin",
                &helm,
            ],
            &[("KPUSH_CACHE_DIR", cache_dir.as_str())],
        )
    };
    apply().expect_code(0);
    for name in ["web", "extra"] {
        cluster
            .kubectl(&["get", "configmap", name, "-n", &ns.name])
            .expect_code(0);
    }
    repo.write("kpush.yaml", app(""))
        .commit("the path source is gone");
    let run = apply();
    run.expect_code(0);
    let gone = cluster.kubectl(&["get", "configmap", "extra", "-n", &ns.name]);
    assert_ne!(
        gone.code,
        0,
        "the removed source's object was pruned: {}",
        run.all()
    );
    cluster
        .kubectl(&["get", "configmap", "web", "-n", &ns.name])
        .expect_code(0);
}

/// Sources in another git repository are fetched at their `targetRevision` (one commit deep,
/// cached per URL): a `ref` source's values files and a path source's objects. A branch is
/// asked for again on each run; `--offline` uses the commit the cache has for it.
#[test]
fn sources_in_another_git_repository_are_fetched_at_their_revision() {
    let (server, _charts) = serve(&["1.0.0"], None);
    let cache = tempfile::tempdir().unwrap();
    let config = GitRepo::new();
    config
        .write("envs/prod.yaml", "greeting: from-the-config-repo\n")
        .write(
            "extra/cm.yaml",
            common::configmap("extra", "from-the-config-repo"),
        )
        .commit("config");
    let branch = |repo: &GitRepo, name: &str| {
        let out = std::process::Command::new("git")
            .args(["branch", "-f", name])
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    branch(&config, "release");
    let url = format!("file://{}", config.path().display());
    let repo = GitRepo::new();
    add_origin(&repo, "https://git.example.com/team/app.git");
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  sources:\n  - repoURL: {}\n    chart: web\n    targetRevision: 1.0.0\n    helm:\n      valueFiles: [$config/envs/*.yaml]\n  - repoURL: {url}\n    targetRevision: release\n    ref: config\n  - repoURL: {url}\n    targetRevision: release\n    path: extra\n  destination: {{namespace: prod}}\n",
            server.url
        ),
    )
    .commit("sources in another repository");
    let items = |run: &common::Run| -> Vec<(String, String)> {
        let list: Value = serde_json::from_str(&run.stdout).unwrap();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let data = &o["data"];
                let value = data["greeting"]
                    .as_str()
                    .or(data["value"].as_str())
                    .unwrap_or("");
                (
                    o["metadata"]["name"].as_str().unwrap().to_string(),
                    value.to_string(),
                )
            })
            .collect()
    };
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(0);
    assert_eq!(
        items(&run),
        [
            ("web".to_string(), "from-the-config-repo".to_string()),
            ("extra".to_string(), "from-the-config-repo".to_string())
        ],
        "{}",
        run.all()
    );

    // The branch moves: the next run reads its new commit.
    config
        .write("envs/prod.yaml", "greeting: moved-on\n")
        .commit("new values");
    branch(&config, "release");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(0);
    assert_eq!(items(&run)[0].1, "moved-on", "{}", run.all());

    // A diff renders twice (before the cluster, then with its capabilities for the chart):
    // the branch is fetched once, so both renders read the same commit.
    let cluster = common::cluster();
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let helm = common::helm();
    let cache_dir = cache.path().to_str().unwrap().to_string();
    let diff = kpush_env(
        repo.path(),
        &[
            "--kubeconfig",
            &kubeconfig,
            "-v",
            "diff",
            "--create-namespace",
            "--helm-bin",
            &helm,
        ],
        &[("KPUSH_CACHE_DIR", cache_dir.as_str())],
    );
    diff.expect_code(0);
    assert_eq!(
        diff.stderr.matches("fetching `release`").count(),
        1,
        "{}",
        diff.all()
    );

    // Offline: the commit the cache has for the branch; without a cache, a clear error.
    let offline = render(&repo, cache.path(), &["--offline"], &[]);
    offline.expect_code(0);
    assert_eq!(items(&offline)[0].1, "moved-on");
    let empty = tempfile::tempdir().unwrap();
    let run = render(&repo, empty.path(), &["--offline"], &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("--offline forbids fetching"),
        "{}",
        run.all()
    );

    // A repository that cannot be fetched: exit 3, credentials in its URL never shown.
    repo.write(
        "kpush.yaml",
        format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  sources:\n  - repoURL: https://ci:s3cret-git-token@127.0.0.1:9/team/config.git\n    targetRevision: main\n    path: extra\n  - repoURL: {url}\n    path: extra\n    targetRevision: release\n  destination: {{namespace: prod}}\n"
        ),
    )
    .commit("unreachable");
    let run = render(&repo, cache.path(), &[], &[]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("cannot fetch revision `main`"),
        "{}",
        run.all()
    );
    assert!(!run.all().contains("s3cret-git-token"), "{}", run.all());
}
