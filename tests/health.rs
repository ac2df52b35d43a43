//! Waiting for health after apply: rollouts that finish, pods that fail fast, Jobs. The tests
//! play the node's part (there is no kubelet): they write pod status through the status
//! subresource, as a kubelet reports it.

mod common;

use std::time::{Duration, Instant};

use common::kubelet::{pod_of, report, terminated, waiting};
use common::{GitRepo, cluster, deployment};

#[test]
fn a_finished_rollout_is_healthy() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-healthy");
    let repo = GitRepo::new();
    repo.write("app/web.yaml", deployment("web", 0, "nginx:1.27"))
        .commit("web");
    let run = cluster.kpush(repo.path(), &["apply", "app", "-n", &ns.name]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("Healthy: 1 object(s)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("deployment/web"),
        "progress lines: {}",
        run.stderr
    );
}

#[test]
fn an_image_pull_failure_fails_fast_naming_the_image() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-pull");
    let repo = GitRepo::new();
    let image = "registry.invalid/kpush/missing:1.0";
    repo.write("app/web.yaml", deployment("web", 1, image))
        .write("app/old.yaml", common::configmap("old", "1"))
        .commit("web");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name, "--no-wait"])
        .expect_code(0);
    // The new commit drops `old`: a failed rollout must not prune it.
    repo.remove("app/old.yaml").commit("drop old");

    let started = Instant::now();
    let deploy = cluster.spawn_kpush(
        repo.path(),
        &[
            "apply",
            "app",
            "-n",
            &ns.name,
            "--prune",
            "--confirm-prune",
            "--timeout",
            "5m",
        ],
    );
    let pod = pod_of(&cluster, &ns.name, "app=web");
    report(
        &cluster,
        &ns.name,
        &pod,
        &waiting(image, "ImagePullBackOff"),
    );
    let run = deploy.join().unwrap();
    let elapsed = started.elapsed();
    run.expect_code(4);
    eprintln!("failed after {elapsed:?} (timeout 5m)");
    assert!(run.stdout.contains("ImagePullBackOff"), "{}", run.stdout);
    assert!(run.stdout.contains(image), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("Deployment/{}/web", ns.name)),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("not healthy after"),
        "must fail fast, not time out: {}",
        run.stdout
    );
    assert!(run.stdout.contains("Nothing was pruned"), "{}", run.stdout);
    assert!(cluster.get("cm", Some(&ns.name), "old").is_some());
}

fn job(name: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
"
    )
}

/// Runs `kpush apply` for a Job while playing the kubelet: the Job's pod ends with `phase`.
fn job_run(phase: &str, exit_code: i32) -> common::Run {
    let cluster = cluster();
    let ns = cluster.namespace("kp-job");
    let repo = GitRepo::new();
    repo.write("app/job.yaml", job("migrate")).commit("job");
    let deploy = cluster.spawn_kpush(
        repo.path(),
        &["apply", "app", "-n", &ns.name, "--timeout", "3m"],
    );
    let pod = pod_of(&cluster, &ns.name, "job-name=migrate");
    report(
        &cluster,
        &ns.name,
        &pod,
        &terminated("busybox:1.36", phase, exit_code),
    );
    deploy.join().unwrap()
}

#[test]
fn a_job_that_completes_passes() {
    let run = job_run("Succeeded", 0);
    run.expect_code(0);
    assert!(run.stdout.contains("Healthy"), "{}", run.stdout);
}

#[test]
fn a_job_that_fails_exits_4() {
    let run = job_run("Failed", 1);
    run.expect_code(4);
    assert!(run.stdout.contains("Job/"), "{}", run.stdout);
    assert!(
        run.stdout.contains("failed its health check"),
        "{}",
        run.stdout
    );
}

#[test]
fn waves_apply_in_order_each_waiting_for_the_previous_to_be_healthy() {
    let cluster = cluster();
    let ns = cluster.namespace("kp-waves");
    let repo = GitRepo::new();
    // The migration Job runs first (Argo CD's annotation); the app only after it completed.
    let migration = job("migrate").replace(
        "metadata:\n  name: migrate\n",
        "metadata:\n  name: migrate\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-1\"\n",
    );
    let app = common::configmap("app", "1").replace(
        "metadata:\n",
        "metadata:\n  annotations:\n    kpush.dev/wave: \"1\"\n",
    );
    repo.write("app/job.yaml", migration)
        .write("app/app.yaml", app)
        .write("app/base.yaml", common::configmap("base", "1"))
        .commit("waves");
    let deploy = cluster.spawn_kpush(
        repo.path(),
        &["apply", "app", "-n", &ns.name, "--timeout", "3m"],
    );
    let pod = pod_of(&cluster, &ns.name, "job-name=migrate");
    // While the migration runs, the later waves are not applied.
    std::thread::sleep(Duration::from_secs(1));
    assert!(cluster.get("cm", Some(&ns.name), "base").is_none());
    assert!(cluster.get("cm", Some(&ns.name), "app").is_none());
    report(
        &cluster,
        &ns.name,
        &pod,
        &terminated("busybox:1.36", "Succeeded", 0),
    );
    let run = deploy.join().unwrap();
    run.expect_code(0);
    assert!(
        run.stderr.contains("(wave -1)") && run.stderr.contains("(wave 0)"),
        "{}",
        run.stderr
    );
    assert!(cluster.get("cm", Some(&ns.name), "base").is_some());
    assert!(cluster.get("cm", Some(&ns.name), "app").is_some());
}
