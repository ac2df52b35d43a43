//! Faults of the cluster itself, each on a control plane of its own that the test breaks: the
//! API server killed during an apply, a server refusing requests with 429, etcd stopped during
//! the health wait. Nothing may be pruned after a failure, and a rerun must converge.
//!
//! These start their own control planes (about 10 s each, from the cached binaries), so they
//! run one at a time.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::background::Background;
use common::{GitRepo, Run, configmap, deployment, until};

/// One control plane at a time: they share two cores.
static SERIAL: Mutex<()> = Mutex::new(());

fn scripts() -> PathBuf {
    common::checkout().join("scripts/control-plane")
}

/// A control plane owned by one test, stopped and removed when dropped.
struct Plane {
    state: tempfile::TempDir,
    kubeconfig: PathBuf,
    version: String,
}

impl Plane {
    fn start(apiserver_flags: &str) -> Plane {
        let state = tempfile::tempdir().unwrap();
        let version = std::env::var("KPUSH_TEST_K8S_VERSION").unwrap_or_else(|_| "current".into());
        let out = Command::new(scripts().join("up"))
            .arg(&version)
            .env("KPUSH_STATE_DIR", state.path())
            .env("KPUSH_APISERVER_EXTRA_FLAGS", apiserver_flags)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "the control plane did not start");
        let exports = String::from_utf8(out.stdout).unwrap();
        let kubeconfig = exports
            .lines()
            .find_map(|l| l.strip_prefix("export KPUSH_TEST_KUBECONFIG="))
            .expect("up prints the kubeconfig")
            .trim_matches('\'')
            .into();
        Plane {
            state,
            kubeconfig,
            version,
        }
    }

    fn component(&self, action: &str, name: &str) {
        let status = Command::new(scripts().join("component"))
            .args([&self.version, action, name])
            .env("KPUSH_STATE_DIR", self.state.path())
            .status()
            .unwrap();
        assert!(status.success(), "component {action} {name} failed");
    }

    fn kubectl(&self, args: &[&str]) -> Run {
        let out = Command::new(common::kubectl_bin())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn configmaps(&self, ns: &str) -> Vec<String> {
        let run = self.kubectl(&["get", "configmaps", "-n", ns, "-o", "name"]);
        run.stdout.lines().map(str::to_string).collect()
    }

    fn kpush(&self, repo: &GitRepo, args: &[&str]) -> Run {
        let mut full = vec!["--kubeconfig", self.kubeconfig.to_str().unwrap()];
        full.extend_from_slice(args);
        common::kpush(repo.path(), &full)
    }

    fn spawn(&self, repo: &GitRepo, args: &[&str]) -> Background {
        Background::start(repo.path(), &self.kubeconfig, args)
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        let _ = Command::new(scripts().join("down"))
            .arg(&self.version)
            .env("KPUSH_STATE_DIR", self.state.path())
            .stderr(Stdio::null())
            .status();
    }
}

/// An app of `n` ConfigMaps, deployed once with one more ConfigMap that the next commit drops.
fn app_with_doomed(plane: &Plane, ns: &str, n: usize) -> GitRepo {
    plane.kubectl(&["create", "namespace", ns]).expect_code(0);
    let repo = GitRepo::new();
    repo.write("app/doomed.yaml", configmap("zz-doomed", "1"))
        .commit("first");
    plane
        .kpush(&repo, &["apply", "app", "-n", ns, "--no-wait"])
        .expect_code(0);
    for i in 0..n {
        repo.write(
            &format!("app/cm-{i:04}.yaml"),
            configmap(&format!("cm-{i:04}"), "v"),
        );
    }
    repo.remove("app/doomed.yaml").commit("many");
    repo
}

#[test]
fn api_server_killed_during_the_apply() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let plane = Plane::start("");
    let n = 500;
    let repo = app_with_doomed(&plane, "shop", n);
    let child = plane.spawn(
        &repo,
        &[
            "apply",
            "app",
            "-n",
            "shop",
            "--prune",
            "--no-wait",
            "--concurrency",
            "2",
        ],
    );
    until("the first writes", Duration::from_secs(90), || {
        plane
            .configmaps("shop")
            .iter()
            .filter(|c| c.contains("/cm-"))
            .count()
            >= 30
    });
    plane.component("kill", "kube-apiserver");
    let (run, took) = child.finish();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        took < Duration::from_secs(60),
        "kpush took {took:?} to give up"
    );
    assert!(run.all().contains("nothing was pruned"), "{}", run.all());
    assert!(
        run.all().contains(&format!("of {n} object(s) written")),
        "{}",
        run.all()
    );

    plane.component("start", "kube-apiserver");
    let all = plane.configmaps("shop");
    assert!(
        all.iter().any(|c| c.ends_with("/zz-doomed")),
        "pruned after a failure"
    );
    assert!(all.iter().filter(|c| c.contains("/cm-")).count() < n);

    let run = plane.kpush(
        &repo,
        &["apply", "app", "-n", "shop", "--prune", "--no-wait"],
    );
    run.expect_code(0);
    let all = plane.configmaps("shop");
    assert_eq!(all.iter().filter(|c| c.contains("/cm-")).count(), n);
    assert!(
        !all.iter().any(|c| c.ends_with("/zz-doomed")),
        "{}",
        run.all()
    );
}

/// How many requests the server refused with 429, from its own metrics.
fn throttled(plane: &Plane) -> u64 {
    let metrics = plane.kubectl(&["get", "--raw", "/metrics"]);
    metrics
        .stdout
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{") && l.contains("code=\"429\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[test]
fn a_throttling_server_is_retried_with_backoff() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Without priority and fairness, requests over the in-flight limits get 429 and a
    // Retry-After at once. Members of system:masters are exempt, so the test deploys as the
    // unprivileged user, made cluster-admin through RBAC.
    let plane = Plane::start(
        "--enable-priority-and-fairness=false --max-requests-inflight=1 --max-mutating-requests-inflight=1",
    );
    plane
        .kubectl(&["create", "namespace", "busy"])
        .expect_code(0);
    plane
        .kubectl(&[
            "create",
            "clusterrolebinding",
            "kpush-user-admin",
            "--clusterrole=cluster-admin",
            "--user=kpush-user",
        ])
        .expect_code(0);
    let user = plane.kubeconfig.with_file_name("user.kubeconfig");
    let repo = GitRepo::new();
    for i in 0..40 {
        repo.write(
            &format!("app/cm-{i:03}.yaml"),
            configmap(&format!("cm-{i:03}"), "v"),
        );
    }
    repo.commit("many");
    let before = throttled(&plane);
    let started = std::time::Instant::now();
    let run = common::kpush(
        repo.path(),
        &[
            "--kubeconfig",
            user.to_str().unwrap(),
            "apply",
            "app",
            "-n",
            "busy",
            "--no-wait",
            "--concurrency",
            "4",
        ],
    );
    run.expect_code(0);
    let took = started.elapsed();
    let refused = throttled(&plane) - before;
    assert!(
        refused > 0,
        "the server refused nothing: the test did not provoke throttling"
    );
    // Backing off, not hammering: each refusal says `Retry-After: 1`, and a client that
    // honours it waits at least that long before the retry; one that retried at once would
    // use its retries up in milliseconds and fail.
    assert!(
        took >= Duration::from_secs(1),
        "{refused} refusals retried within {took:?}: the Retry-After was not waited for"
    );
    assert!(
        refused <= 40 * 10,
        "{refused} refusals for 40 writes: more than the retries allow"
    );
    let count = plane
        .configmaps("busy")
        .iter()
        .filter(|c| c.contains("/cm-"))
        .count();
    assert_eq!(count, 40, "{refused} requests were refused with 429");
}

#[test]
fn etcd_stopped_during_the_health_wait() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let plane = Plane::start("");
    let repo = app_with_doomed(&plane, "web", 0);
    // No kubelet: the Deployment stays unready, so kpush is still waiting when etcd stops.
    repo.write(
        "app/web.yaml",
        deployment("web", 1, "registry.example/web:1"),
    )
    .commit("web");
    let child = plane.spawn(
        &repo,
        &["apply", "app", "-n", "web", "--prune", "--timeout", "60s"],
    );
    until("the health wait", Duration::from_secs(90), || {
        child.stderr().contains("waiting up to")
    });
    plane.component("kill", "etcd");
    let (run, took) = child.finish();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(took < Duration::from_secs(90), "kpush took {took:?}");
    assert!(run.all().contains("stopped answering"), "{}", run.all());
    assert!(
        run.all().to_lowercase().contains("nothing was pruned"),
        "{}",
        run.all()
    );
    plane.component("start", "etcd");
    until(
        "the API server to serve again",
        Duration::from_secs(90),
        || {
            plane
                .kubectl(&["get", "configmap", "zz-doomed", "-n", "web"])
                .code
                == 0
        },
    );
    // The rerun converges: the prune the failure held back happens now (no kubelet here, so
    // it does not wait for the pod).
    let rerun = plane.kpush(
        &repo,
        &["apply", "app", "-n", "web", "--prune", "--no-wait"],
    );
    rerun.expect_code(0);
    assert_eq!(
        plane
            .configmaps("web")
            .iter()
            .filter(|c| c.contains("zz-doomed"))
            .count(),
        0,
        "{}",
        rerun.all()
    );
    assert_eq!(
        plane
            .kubectl(&["get", "deployment", "web", "-n", "web"])
            .code,
        0,
        "{}",
        rerun.all()
    );
}
