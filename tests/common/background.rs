//! kpush as a child process the test can signal or outlive: its output goes to files, since a
//! full pipe would block it.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use super::Run;

pub struct Background {
    child: Child,
    out: tempfile::TempDir,
}

impl Background {
    /// Starts kpush in `cwd` with `kubeconfig`, like `kpush()` but without waiting.
    pub fn start(cwd: &Path, kubeconfig: &Path, args: &[&str]) -> Background {
        let out = tempfile::tempdir().unwrap();
        let file = |name: &str| std::fs::File::create(out.path().join(name)).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_kpush"))
            .current_dir(cwd)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .env_remove("KUBECONFIG")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("NO_COLOR", "1")
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .expect("start kpush");
        Background { child, out }
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.out.path().join("stderr")).unwrap_or_default()
    }

    /// Sends a signal (`TERM`, `INT`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit; returns the run and how long the wait took.
    pub fn finish(mut self) -> (Run, Duration) {
        let start = Instant::now();
        let status = self.child.wait().unwrap();
        let read = |name: &str| std::fs::read_to_string(self.out.path().join(name)).unwrap();
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout: read("stdout"),
            stderr: read("stderr"),
        };
        (run, start.elapsed())
    }
}
