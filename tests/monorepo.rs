//! A repository of many apps: a render is given only what its app reads, and an offline diff
//! renders only the apps whose inputs changed. Renderers are wrapped to record each call and
//! the files it was given.

mod common;

use std::path::{Path, PathBuf};

use common::{GitRepo, configmap, kpush};
use serde_json::Value;

/// A wrapper for `real` that logs each call (`CALL <args>`) and every file under the copy it
/// was given (`FILE <path inside the copy>`), then runs it.
fn recording(dir: &Path, name: &str, real: &str, log: &Path) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
echo "CALL $*" >> "{log}"
for arg in "$@"; do
  case "$arg" in
    */tree/*|*/.tmp*/*)
      root=$(echo "$arg" | sed -E 's#^(.*/tree)/.*#\1#; t; s#^(.*/\.tmp[^/]*)/.*#\1#')
      if [ -d "$root" ]; then (cd "$root" && find . -type f | sed 's#^\./#FILE #') >> "{log}"; fi
      ;;
  esac
done
exec "{real}" "$@"
"#,
        log = log.display()
    );
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

fn chart(repo: &GitRepo, dir: &str, name: &str) {
    repo.write(
        &format!("{dir}/Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
    )
    .write(&format!("{dir}/values.yaml"), "tier: web\n")
    .write(
        &format!("{dir}/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  tier: {{ .Values.tier | quote }}\n",
    );
}

fn application(name: &str, source: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source:\n{source}  destination: {{namespace: {name}}}\n---\n"
    )
}

/// Charts (one reading a values file outside its directory), a kustomize overlay whose base and
/// component live elsewhere, a plain directory, and files no app reads.
fn platform_repository() -> GitRepo {
    let repo = GitRepo::new();
    chart(&repo, "charts/web", "web");
    chart(&repo, "charts/api", "api");
    repo.write("values/api-prod.yaml", "tier: backend\n")
        .write("shop/base/kustomization.yaml", "resources: [cm.yaml]\n")
        .write("shop/base/cm.yaml", configmap("settings", "base"))
        .write(
            "shop/components/eu/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nconfigMapGenerator:\n  - name: region\n    files: [region.txt]\n",
        )
        .write("shop/components/eu/region.txt", "eu-west\n")
        .write(
            "shop/overlays/prod/kustomization.yaml",
            "resources: [../../base]\ncomponents: [../../components/eu]\nnamePrefix: prod-\n",
        )
        .write("plain/cm.yaml", configmap("plain", "1"))
        .write("docs/README.md", "# platform\n")
        .write("unrelated/big.yaml", configmap("not-an-app", "1"));
    let apps = [
        application("web", "    path: charts/web\n"),
        application(
            "api",
            "    path: charts/api\n    helm:\n      valueFiles: [../../values/api-prod.yaml]\n",
        ),
        application("shop", "    path: shop/overlays/prod\n"),
        application("plain", "    path: plain\n"),
    ];
    repo.write("kpush.yaml", apps.concat());
    repo
}

struct Tools {
    _dir: tempfile::TempDir,
    log: PathBuf,
    args: Vec<String>,
}

impl Tools {
    fn new() -> Tools {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("calls.log");
        std::fs::write(&log, "").unwrap();
        let helm = recording(dir.path(), "helm", &common::helm(), &log);
        // Named `kubectl…` so kpush runs it as `kubectl kustomize`.
        let kustomize = recording(
            dir.path(),
            "kubectl-recording",
            &common::kubectl_recent(),
            &log,
        );
        let args = vec![
            "--helm-bin".to_string(),
            helm.display().to_string(),
            "--kustomize-bin".to_string(),
            kustomize.display().to_string(),
        ];
        Tools {
            _dir: dir,
            log,
            args,
        }
    }

    fn take_log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap();
        std::fs::write(&self.log, "").unwrap();
        text
    }

    fn calls(log: &str) -> Vec<&str> {
        log.lines().filter(|l| l.starts_with("CALL ")).collect()
    }

    fn diff(&self, repo: &GitRepo, from: &str, to: &str, extra: &[&str]) -> common::Run {
        let mut args = vec!["diff", "--from", from, "--to", to];
        args.extend(self.args.iter().map(String::as_str));
        args.extend(extra);
        kpush(repo.path(), &args)
    }
}

#[test]
fn a_render_is_given_only_the_files_its_app_reads() {
    let repo = platform_repository();
    repo.commit("platform");
    let tools = Tools::new();
    let mut args = vec!["render"];
    args.extend(tools.args.iter().map(String::as_str));
    let run = kpush(repo.path(), &args);
    run.expect_code(0);
    let log = tools.take_log();
    let files: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("FILE "))
        .collect();
    for read in [
        "charts/api/templates/cm.yaml",
        "values/api-prod.yaml",
        "shop/base/cm.yaml",
        "shop/components/eu/region.txt",
    ] {
        assert!(files.contains(&read), "{read} not given: {log}");
    }
    for unread in [
        "docs/README.md",
        "unrelated/big.yaml",
        "plain/cm.yaml",
        "kpush.yaml",
    ] {
        assert!(!files.contains(&unread), "{unread} given: {log}");
    }
    // The values file outside the chart and the base and component outside the overlay
    // took effect, as helm and kubectl render them from the checkout.
    assert!(run.stdout.contains("tier: backend"), "{}", run.stdout);
    let by_hand = std::process::Command::new(common::kubectl_recent())
        .args(["kustomize", "shop/overlays/prod"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(by_hand.status.success());
    let expected = String::from_utf8(by_hand.stdout).unwrap();
    assert!(expected.contains("eu-west"), "{expected}");
    for line in expected.lines().filter(|l| l.contains("name: prod-")) {
        assert!(run.stdout.contains(line), "{line} missing: {}", run.stdout);
    }
}

#[test]
fn an_offline_diff_renders_only_the_apps_whose_inputs_changed() {
    let repo = platform_repository();
    let first = repo.commit("platform");
    repo.write("docs/README.md", "# platform, documented\n")
        .write("unrelated/big.yaml", configmap("not-an-app", "2"));
    let unrelated = repo.commit("docs");
    let tools = Tools::new();

    // Nothing any app reads changed: nothing is rendered, every app says so.
    let run = tools.diff(&repo, &first, &unrelated, &["--exit-code"]);
    run.expect_code(0);
    let log = tools.take_log();
    assert_eq!(Tools::calls(&log), Vec::<&str>::new(), "{log}");
    for app in ["web", "api", "shop"] {
        assert!(
            run.stdout
                .contains(&format!("== {app} → {app}: unchanged (same inputs)")),
            "{app}: {}",
            run.stdout
        );
    }
    let json = tools.diff(&repo, &first, &unrelated, &["-o", "json"]);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let same: Vec<bool> = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["same_inputs"] == true)
        .collect();
    assert_eq!(same, [true; 4]);
    tools.take_log();

    // The values file outside the chart changed: that chart alone renders, at both commits.
    repo.write("values/api-prod.yaml", "tier: database\n");
    let values = repo.commit("api values");
    let run = tools.diff(&repo, &unrelated, &values, &["--exit-code"]);
    run.expect_code(2);
    let log = tools.take_log();
    let calls = Tools::calls(&log);
    assert_eq!(calls.len(), 2, "{log}");
    assert!(calls.iter().all(|c| c.contains("charts/api")), "{log}");
    assert!(run.stdout.contains("~ v1 ConfigMap api"), "{}", run.stdout);
    assert!(run.stdout.contains("+  tier: database"), "{}", run.stdout);
    assert!(
        run.stdout.contains("== web → web: unchanged (same inputs)"),
        "{}",
        run.stdout
    );

    // A file of the overlay's base changed: the kustomization renders.
    repo.write("shop/base/cm.yaml", configmap("settings", "changed"));
    let base = repo.commit("base");
    let run = tools.diff(&repo, &values, &base, &[]);
    run.expect_code(0);
    let log = tools.take_log();
    let calls = Tools::calls(&log);
    assert_eq!(calls.len(), 2, "{log}");
    assert!(
        calls.iter().all(|c| c.contains("shop/overlays/prod")),
        "{log}"
    );
    assert!(
        run.stdout.contains("~ v1 ConfigMap prod-settings"),
        "{}",
        run.stdout
    );

    // The app definition changed (a parameter): that app renders.
    let apps = std::fs::read_to_string(repo.path().join("kpush.yaml")).unwrap();
    repo.write(
        "kpush.yaml",
        apps.replace(
            "    path: charts/web\n",
            "    path: charts/web\n    helm:\n      parameters: [{name: tier, value: edge}]\n",
        ),
    );
    let definition = repo.commit("web parameter");
    let run = tools.diff(&repo, &base, &definition, &[]);
    run.expect_code(0);
    let log = tools.take_log();
    let calls = Tools::calls(&log);
    assert_eq!(calls.len(), 2, "{log}");
    assert!(calls.iter().all(|c| c.contains("charts/web")), "{log}");
    assert!(run.stdout.contains("+  tier: edge"), "{}", run.stdout);
}

#[test]
fn markdown_names_the_apps_not_rendered_once() {
    let repo = platform_repository();
    let first = repo.commit("platform");
    repo.write("plain/cm.yaml", configmap("plain", "2"));
    let second = repo.commit("plain");
    let tools = Tools::new();
    let run = tools.diff(&repo, &first, &second, &["-o", "markdown"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains(
            "Unchanged, with the same inputs at both commits (3 apps): `web`, `api`, `shop`"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("kpush diff `plain`"), "{}", run.stdout);
    assert!(!run.stdout.contains("kpush diff `web`"), "{}", run.stdout);
}

/// The newest snapshot Secret of the app's deploys in `ns`, rewritten so that `from` reads
/// `to` in what it holds, as someone with write access to Secrets could.
fn tamper_with_snapshot(cluster: &common::TestCluster, ns: &str, from: &str, to: &str) {
    let list = cluster.kubectl(&[
        "get",
        "secrets",
        "-n",
        ns,
        "--field-selector",
        "type=kpush.dev/snapshot",
        "-o",
        "json",
    ]);
    list.expect_code(0);
    let doc: Value = serde_json::from_str(&list.stdout).unwrap();
    let newest = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap().to_string())
        .max_by_key(|name| {
            let rev = name.rsplit(".rev").next().unwrap();
            rev.split('.').next().unwrap().parse::<u64>().unwrap()
        })
        .expect("a snapshot");
    let script = format!(
        "kubectl=$1; kubeconfig=$2; data=$($kubectl --kubeconfig \"$kubeconfig\" get secret {newest} -n {ns} -o 'jsonpath={{.data.manifests\\.json\\.gz}}' | base64 -d | gunzip | sed 's/{from}/{to}/g' | gzip | base64 -w0); \
         $kubectl --kubeconfig \"$kubeconfig\" patch secret {newest} -n {ns} --type merge -p \"{{\\\"data\\\":{{\\\"manifests.json.gz\\\":\\\"$data\\\"}}}}\""
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script, "sh", &common::kubectl_bin()])
        .arg(&cluster.kubeconfig)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_app_whose_inputs_did_not_change_deploys_its_last_objects_without_rendering() {
    let cluster = common::cluster();
    let app = common::app_repo::AppRepo::at(&cluster, "reuse", "web");
    chart(&app.repo, "web", "web");
    app.repo.write("docs/README.md", "# web\n");
    app.commit("chart");
    let tools = Tools::new();
    let args: Vec<&str> = tools.args.iter().map(String::as_str).collect();
    app.apply(&args).expect_code(0);
    // One render, for the cluster it deploys to.
    let log = tools.take_log();
    let calls = Tools::calls(&log);
    assert_eq!(calls.len(), 1, "{log}");
    assert!(calls[0].contains("--kube-version"), "{log}");
    let value = |app: &common::app_repo::AppRepo| {
        app.get("ConfigMap", "web").unwrap()["data"]["tier"].clone()
    };
    assert_eq!(value(&app), "web");

    // A commit that changes nothing the chart reads: no render, nothing to do.
    app.repo.write("docs/README.md", "# web, documented\n");
    app.commit("docs");
    let run = app.apply(&args);
    run.expect_code(0);
    assert_eq!(Tools::calls(&tools.take_log()), Vec::<&str>::new());
    assert!(
        run.stdout.contains("0 to create, 0 to update"),
        "{}",
        run.stdout
    );
    // A no-op records no deploy.
    assert_eq!(app.history().len(), 1);

    // Drift is still found: the recorded objects are compared with the cluster.
    cluster
        .kubectl(&["delete", "configmap", "web", "-n", app.ns()])
        .expect_code(0);
    let mut diff_args = args.clone();
    diff_args.push("--exit-code");
    let run = app.diff(&diff_args);
    run.expect_code(2);
    assert!(run.stdout.contains("+ v1 ConfigMap web"), "{}", run.stdout);
    app.apply(&args).expect_code(0);
    assert_eq!(value(&app), "web");
    assert_eq!(Tools::calls(&tools.take_log()), Vec::<&str>::new());

    // A snapshot changed after it was written is never deployed: the commit renders.
    tamper_with_snapshot(
        &cluster,
        app.ns(),
        "\"tier\":\"web\"",
        "\"tier\":\"tampered\"",
    );
    let run = app.apply(&args);
    run.expect_code(0);
    assert!(
        !Tools::calls(&tools.take_log()).is_empty(),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("changed after the deploy wrote it"),
        "{}",
        run.stderr
    );
    assert_eq!(value(&app), "web");

    // A values change renders; so does every app with --render-always.
    app.repo.write("web/values.yaml", "tier: edge\n");
    app.commit("values");
    app.apply(&args).expect_code(0);
    assert!(!Tools::calls(&tools.take_log()).is_empty());
    assert_eq!(value(&app), "edge");
    let mut always = args.clone();
    always.push("--render-always");
    app.apply(&always).expect_code(0);
    assert!(!Tools::calls(&tools.take_log()).is_empty());

    // Another helm binary is another input: the chart renders with it.
    let other = Tools::new();
    let other_args: Vec<&str> = other.args.iter().map(String::as_str).collect();
    app.apply(&other_args).expect_code(0);
    assert!(!Tools::calls(&other.take_log()).is_empty());
}

/// Two apps with broken input: both are named, before any cluster call (exit 3).
#[test]
fn every_app_that_fails_to_render_is_named() {
    let repo = GitRepo::new();
    let apps = [
        application("good", "    path: good\n"),
        application("first", "    path: first\n"),
        application("second", "    path: second\n"),
    ];
    repo.write("kpush.yaml", apps.concat())
        .write("good/cm.yaml", configmap("good", "1"))
        .write("first/cm.yaml", "kind: ConfigMap\nmetadata: [\n")
        .write("second/cm.yaml", "kind: ConfigMap\nmetadata: {name: [\n")
        .commit("two broken apps");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    for args in [
        vec!["render"],
        vec!["--kubeconfig", &kubeconfig, "diff"],
        vec!["--kubeconfig", &kubeconfig, "apply"],
    ] {
        let run = kpush(repo.path(), &args);
        run.expect_code(3);
        for file in ["first/cm.yaml", "second/cm.yaml"] {
            assert!(run.stderr.contains(file), "{args:?}: {}", run.stderr);
        }
    }
}

/// `--app` selects apps of the config by name or pattern, in the order of their definitions;
/// a name that matches nothing is an error that lists the apps there are.
#[test]
fn apps_are_selected_by_name_or_pattern() {
    let repo = platform_repository();
    let first = repo.commit("platform");
    repo.write("values/api-prod.yaml", "tier: database\n")
        .write("plain/cm.yaml", configmap("plain", "2"));
    let second = repo.commit("two apps");
    let tools = Tools::new();
    let run = tools.diff(
        &repo,
        &first,
        &second,
        &["--app", "plain", "--app", "a*", "-o", "json"],
    );
    run.expect_code(0);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = doc["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["api", "plain"]);
    let env = common::kpush_env(
        repo.path(),
        &["diff", "--from", &first, "--to", &second, "-o", "json"],
        &[("KPUSH_APP", "web,shop")],
    );
    env.expect_code(0);
    assert!(env.stdout.contains("\"app\": \"web\"") && env.stdout.contains("\"app\": \"shop\""));
    assert!(!env.stdout.contains("\"app\": \"api\""), "{}", env.stdout);

    let missing = tools.diff(
        &repo,
        &first,
        &second,
        &["--app", "ap*", "--app", "billing"],
    );
    missing.expect_code(3);
    assert!(
        missing.stderr.contains("no app `billing`"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("web, api, shop, plain"),
        "{}",
        missing.stderr
    );

    let two_with_path = kpush(
        repo.path(),
        &["render", "plain", "--app", "a", "--app", "b"],
    );
    two_with_path.expect_code(3);
    assert!(
        two_with_path.stderr.contains("with PATH there is one app"),
        "{}",
        two_with_path.stderr
    );
}
