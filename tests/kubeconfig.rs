//! Bad cluster credentials and settings: each a clear message, exit 3 when the kubeconfig
//! needs fixing (exit 1 only for an unreachable server, where a retry may help), no token in
//! any output, and TLS verification on unless `--insecure-skip-tls-verify` says otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{GitRepo, cluster, kpush};
use serde_json::Value;

fn admin_kubeconfig() -> Value {
    let text = std::fs::read_to_string(&cluster().kubeconfig).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn token(config: &Value) -> String {
    config["users"][0]["user"]["token"]
        .as_str()
        .expect("the admin kubeconfig has a token")
        .to_string()
}

/// Writes a kubeconfig (JSON is YAML) and returns its path.
fn write_kubeconfig(dir: &Path, name: &str, config: &Value) -> PathBuf {
    common::write_file(dir, name, serde_json::to_string_pretty(config).unwrap())
}

fn app() -> GitRepo {
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", common::configmap("settings", "x"));
    repo.commit("app");
    repo
}

/// `kpush -vvv diff` with this kubeconfig: the most a log can say.
fn diff(repo: &GitRepo, kubeconfig: &Path, namespace: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "-vvv",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "diff",
        "app",
        "-n",
        namespace,
    ];
    args.extend_from_slice(extra);
    kpush(repo.path(), &args)
}

#[test]
fn kubeconfig_problems_are_named_with_exit_3() {
    let cluster = cluster();
    let ns = cluster.namespace("kubeconfig");
    let repo = app();
    let dir = tempfile::tempdir().unwrap();
    let admin = admin_kubeconfig();
    let secret = token(&admin);

    let unparsable = dir.path().join("broken.kubeconfig");
    std::fs::write(&unparsable, "clusters: [\n  - name: x\n users: {").unwrap();

    let mut wrong_token = admin.clone();
    wrong_token["users"][0]["user"]["token"] = "not-a-valid-token-4f2a".into();
    let wrong_token = write_kubeconfig(dir.path(), "wrong-token", &wrong_token);

    let mut no_context = admin.clone();
    no_context["current-context"] = "staging".into();
    let no_context = write_kubeconfig(dir.path(), "no-context", &no_context);

    let cases: [(&str, &Path, &[&str], &str); 4] = [
        ("unparsable", &unparsable, &[], "broken.kubeconfig"),
        (
            "missing context",
            &cluster.kubeconfig,
            &["--context", "prod-eu"],
            "context `prod-eu`",
        ),
        ("current context missing", &no_context, &[], "staging"),
        ("wrong token", &wrong_token, &[], "refused the credentials"),
    ];
    for (case, kubeconfig, extra, expected) in cases {
        let run = diff(&repo, kubeconfig, &ns.name, extra);
        assert_eq!(run.code, 3, "{case}: {}", run.all());
        assert!(run.stderr.contains(expected), "{case}: {}", run.stderr);
        assert!(run.stderr.contains("hint:"), "{case}: {}", run.stderr);
        assert!(
            !run.all().contains(&secret),
            "{case}: the token is in the output"
        );
    }
}

#[test]
fn an_unreachable_server_is_a_runtime_failure() {
    let repo = app();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());
    let run = diff(&repo, Path::new(&kubeconfig), "default", &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
}

/// A certificate authority the test cluster's serving certificate is not signed by.
fn other_ca(dir: &Path) -> String {
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not-the-cluster-ca"])
        .arg("-keyout")
        .arg(dir.join("ca.key"))
        .arg("-out")
        .arg(dir.join("ca.crt"))
        .output()
        .expect("openssl");
    assert!(status.status.success(), "{status:?}");
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(dir.join("ca.crt")).unwrap())
}

#[test]
fn tls_is_verified_unless_the_flag_says_otherwise() {
    let cluster = cluster();
    let ns = cluster.namespace("tls");
    let repo = app();
    let dir = tempfile::tempdir().unwrap();
    let admin = admin_kubeconfig();
    let secret = token(&admin);

    let mut mismatch = admin.clone();
    mismatch["clusters"][0]["cluster"]["certificate-authority-data"] = other_ca(dir.path()).into();
    let mismatch = write_kubeconfig(dir.path(), "other-ca", &mismatch);
    let run = diff(&repo, &mismatch, &ns.name, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("failed TLS verification"),
        "{}",
        run.stderr
    );
    assert!(!run.all().contains(&secret));

    let run = kpush(
        repo.path(),
        &[
            "--insecure-skip-tls-verify",
            "--kubeconfig",
            mismatch.to_str().unwrap(),
            "diff",
            "app",
            "-n",
            &ns.name,
        ],
    );
    run.expect_code(0);
    assert!(
        run.stderr.contains("TLS verification is off"),
        "{}",
        run.stderr
    );

    // The kubeconfig alone cannot turn verification off.
    let mut insecure = admin.clone();
    let cluster_entry = insecure["clusters"][0]["cluster"].as_object_mut().unwrap();
    cluster_entry.remove("certificate-authority-data");
    cluster_entry.insert("insecure-skip-tls-verify".into(), true.into());
    let insecure = write_kubeconfig(dir.path(), "insecure", &insecure);
    let run = diff(&repo, &insecure, &ns.name, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stderr.contains("insecure-skip-tls-verify: true"),
        "{}",
        run.stderr
    );
    let run = kpush(
        repo.path(),
        &[
            "--kubeconfig",
            insecure.to_str().unwrap(),
            "--insecure-skip-tls-verify",
            "diff",
            "app",
            "-n",
            &ns.name,
        ],
    );
    run.expect_code(0);
}
