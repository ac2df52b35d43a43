//! Waiting for health after apply: rollouts that finish, pods that fail fast, Jobs. The tests
//! play the node's part (there is no kubelet): they write pod status through the status
//! subresource, as a kubelet reports it.

mod common;

use std::time::{Duration, Instant};

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, report, terminated, waiting};
use common::{cluster, deployment, job};

#[test]
fn a_finished_rollout_is_healthy() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-healthy");
    app.write("web.yaml", deployment("web", 0, "nginx:1.27"))
        .commit("web");
    let run = app.apply(&[]);
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

/// `apply` with `extra`, while the pod of Deployment `web` cannot pull `image`.
fn apply_failing_to_pull(app: &AppRepo, image: &str, extra: &[&str]) -> common::Run {
    let deploy = app.spawn_apply(extra);
    let pod = pod_of(app.cluster, app.ns(), "app=web");
    report(
        app.cluster,
        app.ns(),
        &pod,
        &waiting(image, "ImagePullBackOff"),
    );
    deploy.join().unwrap()
}

#[test]
fn an_image_pull_failure_fails_fast_naming_the_image() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-pull");
    let image = "registry.invalid/kpush/missing:1.0";
    app.write("web.yaml", deployment("web", 1, image))
        .write("old.yaml", common::configmap("old", "1"))
        .deploy("web", &["--no-wait"]);
    // The new commit drops `old`: a failed rollout must not prune it.
    app.remove("old.yaml").commit("drop old");

    let started = Instant::now();
    let run = apply_failing_to_pull(
        &app,
        image,
        &["--prune", "--confirm-prune", "--timeout", "5m"],
    );
    let elapsed = started.elapsed();
    run.expect_code(4);
    assert!(
        elapsed < Duration::from_secs(90),
        "took {elapsed:?} of a 5m timeout: {}",
        run.all()
    );
    assert!(run.stdout.contains("ImagePullBackOff"), "{}", run.stdout);
    assert!(run.stdout.contains(image), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("Deployment/{}/web", app.ns())),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("not healthy after"),
        "must fail fast, not time out: {}",
        run.stdout
    );
    assert!(run.stdout.contains("Nothing was pruned"), "{}", run.stdout);
    assert!(app.get("cm", "old").is_some());
}

/// Runs `kpush apply` for a Job while playing the kubelet: the Job's pod ends with `phase`.
fn job_run(phase: &str, exit_code: i32) -> common::Run {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-job");
    app.write("job.yaml", job("migrate")).commit("job");
    let deploy = app.spawn_apply(&["--timeout", "3m"]);
    let pod = pod_of(&cluster, app.ns(), "job-name=migrate");
    report(
        &cluster,
        app.ns(),
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
    let app = AppRepo::new(&cluster, "kp-waves");
    // The migration Job runs first (Argo CD's annotation); the app only after it completed.
    let migration = job("migrate").replace(
        "metadata:\n  name: migrate\n",
        "metadata:\n  name: migrate\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-1\"\n",
    );
    let later = common::configmap("app", "1").replace(
        "metadata:\n",
        "metadata:\n  annotations:\n    kpush.dev/wave: \"1\"\n",
    );
    app.write("job.yaml", migration)
        .write("app.yaml", later)
        .write("base.yaml", common::configmap("base", "1"))
        .commit("waves");
    let deploy = app.spawn_apply(&["--timeout", "3m"]);
    let pod = pod_of(&cluster, app.ns(), "job-name=migrate");
    // While the migration runs, the later waves are not applied.
    std::thread::sleep(Duration::from_secs(1));
    assert!(app.get("cm", "base").is_none());
    assert!(app.get("cm", "app").is_none());
    report(
        &cluster,
        app.ns(),
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
    assert!(app.get("cm", "base").is_some());
    assert!(app.get("cm", "app").is_some());
}

#[test]
fn a_retried_deploy_of_a_broken_rollout_is_not_green() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-retry");
    let image = "registry.invalid/kpush/missing:2.0";
    app.write("web.yaml", deployment("web", 1, image))
        .commit("web");
    apply_failing_to_pull(&app, image, &["--timeout", "5m"]).expect_code(4);

    // The CI job is retried: nothing to write, and the rollout is still broken.
    let run = app.apply(&["--timeout", "5m"]);
    run.expect_code(4);
    assert!(run.stdout.contains("No changes."), "{}", run.stdout);
    assert!(run.stdout.contains("ImagePullBackOff"), "{}", run.stdout);
    // With --no-wait nothing is checked, as on any other deploy.
    app.apply(&["--no-wait"]).expect_code(0);
}

/// A setup Job that removes itself once it finished (`ttlSecondsAfterFinished: 0`, as charts
/// set) has its result: a later wave's wait does not wait for it again until `--timeout`.
#[test]
fn a_job_removed_by_its_ttl_after_completing_passes() {
    let cluster = cluster();
    // The TTL controller runs from 1.23 (before, its feature gate is off and Jobs stay).
    if common::server_minor_of(&cluster) < 23 {
        eprintln!("no TTL controller before Kubernetes 1.23");
        return;
    }
    let app = AppRepo::new(&cluster, "kp-job-ttl");
    let setup = job("setup").replace(
        "metadata:\n  name: setup\n",
        "metadata:\n  name: setup\n  annotations:\n    argocd.argoproj.io/sync-wave: \"-1\"\n",
    );
    let setup = setup.replace(
        "spec:\n  backoffLimit: 0\n",
        "spec:\n  backoffLimit: 0\n  ttlSecondsAfterFinished: 0\n",
    );
    assert!(setup.contains("ttlSecondsAfterFinished") && setup.contains("sync-wave"));
    app.write("setup.yaml", setup)
        .write("gate.yaml", job("gate"))
        .commit("jobs");
    let deploy = app.spawn_apply(&["--timeout", "60s"]);
    let done = |name: &str| {
        let pod = pod_of(&cluster, app.ns(), &format!("job-name={name}"));
        report(
            &cluster,
            app.ns(),
            &pod,
            &terminated("busybox:1.36", "Succeeded", 0),
        );
    };
    done("setup");
    common::until(
        "the TTL controller to remove the setup Job",
        Duration::from_secs(30),
        || app.get("job", "setup").is_none(),
    );
    // The last wave finishes only once the setup Job is gone.
    done("gate");
    let run = deploy.join().unwrap();
    run.expect_code(0);
    assert!(run.stdout.contains("Healthy"), "{}", run.all());
}
