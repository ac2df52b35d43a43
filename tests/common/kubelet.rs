//! Playing the node's part: the test control plane has no kubelet, so tests report pod status
//! through the status subresource, exactly as a kubelet would.

use std::time::{Duration, Instant};

use super::TestCluster;

/// The first pod with these labels, once a controller created it.
pub fn pod_of(cluster: &TestCluster, ns: &str, selector: &str) -> String {
    let started = Instant::now();
    loop {
        let run = cluster.kubectl(&["get", "pods", "-n", ns, "-l", selector, "-o", "name"]);
        if let Some(line) = run.stdout.lines().next() {
            return line.trim_start_matches("pod/").to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no pod for {selector}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Writes `status` (a JSON merge patch of `.status`) on the pod. `--subresource` needs kubectl
/// 1.24 or newer, whatever the server's version: `KPUSH_TEST_KUBECTL_RECENT`, or `kubectl`.
pub fn report(cluster: &TestCluster, ns: &str, pod: &str, status: &str) {
    let kubectl = super::kubectl_recent();
    let output = std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args([
            "patch",
            "pod",
            pod,
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
        ])
        .arg(format!(r#"{{"status":{status}}}"#))
        .output()
        .expect("run kubectl");
    assert!(
        output.status.success(),
        "kubectl patch --subresource=status: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The container `main` cannot start: waiting with `reason`.
pub fn waiting(image: &str, reason: &str) -> String {
    format!(
        r#"{{"phase":"Pending","containerStatuses":[{{"name":"main","image":"{image}","imageID":"","ready":false,"restartCount":0,"state":{{"waiting":{{"reason":"{reason}","message":"Back-off pulling image \"{image}\""}}}}}}]}}"#
    )
}

/// The container `main` ran and exited; the pod ends in `phase`.
pub fn terminated(image: &str, phase: &str, exit_code: i32) -> String {
    let now = "2026-01-01T00:00:00Z";
    let reason = if exit_code == 0 { "Completed" } else { "Error" };
    format!(
        r#"{{"phase":"{phase}","startTime":"{now}","containerStatuses":[{{"name":"main","image":"{image}","imageID":"","ready":false,"restartCount":0,"state":{{"terminated":{{"exitCode":{exit_code},"reason":"{reason}","startedAt":"{now}","finishedAt":"{now}"}}}}}}]}}"#
    )
}

/// The container `main` runs and the pod is ready.
pub fn ready(image: &str) -> String {
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    format!(
        r#"{{"phase":"Running","startTime":"{now}","conditions":[{{"type":"Ready","status":"True","lastTransitionTime":"{now}"}},{{"type":"ContainersReady","status":"True","lastTransitionTime":"{now}"}}],"containerStatuses":[{{"name":"main","image":"{image}","imageID":"","ready":true,"started":true,"restartCount":0,"state":{{"running":{{"startedAt":"{now}"}}}}}}]}}"#
    )
}
