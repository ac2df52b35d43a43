//! An app in a git repository, deployed to a namespace of its own, then changed: the setup
//! most cluster tests share, so that each test states only what differs.

use std::thread::JoinHandle;

use super::background::Background;
use super::{GitRepo, Namespace, Run, TestCluster};

/// A git repository holding app `app` (a directory), and a fresh namespace it deploys to.
/// Paths given to `write` and `remove` are inside the app's directory; `repo` reaches the rest.
pub struct AppRepo<'c> {
    pub cluster: &'c TestCluster,
    pub ns: Namespace<'c>,
    pub repo: GitRepo,
    /// The app's directory in the repository: the app argument of every command.
    pub app: String,
}

impl<'c> AppRepo<'c> {
    /// App `app` in an empty repository and a new namespace named after `ns_prefix`; nothing
    /// is written, committed or applied.
    pub fn new(cluster: &'c TestCluster, ns_prefix: &str) -> AppRepo<'c> {
        AppRepo::at(cluster, ns_prefix, "app")
    }

    /// Like `new`, for an app in directory `app`.
    pub fn at(cluster: &'c TestCluster, ns_prefix: &str, app: &str) -> AppRepo<'c> {
        AppRepo {
            cluster,
            ns: cluster.namespace(ns_prefix),
            repo: GitRepo::new(),
            app: app.to_string(),
        }
    }

    /// App `app` of `files` (name in the app's directory, content), committed and applied
    /// once without flags; the apply must exit 0.
    #[track_caller]
    pub fn deployed(
        cluster: &'c TestCluster,
        ns_prefix: &str,
        files: &[(&str, &str)],
    ) -> AppRepo<'c> {
        let app = AppRepo::new(cluster, ns_prefix);
        for (file, content) in files {
            app.write(file, content);
        }
        app.deploy("deployed", &[]);
        app
    }

    /// The namespace's name.
    pub fn ns(&self) -> &str {
        &self.ns.name
    }

    /// Writes `file` in the app's directory.
    pub fn write(&self, file: &str, content: impl AsRef<[u8]>) -> &Self {
        self.repo.write(&self.path_of(file), content);
        self
    }

    /// Deletes `file` from the app's directory.
    pub fn remove(&self, file: &str) -> &Self {
        self.repo.remove(&self.path_of(file));
        self
    }

    /// Commits everything as `message`; returns the SHA.
    pub fn commit(&self, message: &str) -> String {
        self.repo.commit(message)
    }

    /// Commits as `message` and applies with `extra` flags; the apply must exit 0. Returns
    /// the SHA.
    #[track_caller]
    pub fn deploy(&self, message: &str, extra: &[&str]) -> String {
        let sha = self.commit(message);
        self.apply(extra).expect_code(0);
        sha
    }

    /// `kpush apply <app> -n <ns> <extra>`.
    pub fn apply(&self, extra: &[&str]) -> Run {
        self.run("apply", extra)
    }

    /// `kpush diff <app> -n <ns> <extra>`.
    pub fn diff(&self, extra: &[&str]) -> Run {
        self.run("diff", extra)
    }

    /// `kpush <command> <app> -n <ns> <extra>` (status, history, rollback, ...).
    pub fn run(&self, command: &str, extra: &[&str]) -> Run {
        self.kpush(&self.args(command, extra))
    }

    /// `kpush apply <app> -n <ns> <extra>` in the background.
    pub fn spawn_apply(&self, extra: &[&str]) -> JoinHandle<Run> {
        self.spawn("apply", extra)
    }

    /// `kpush <command> <app> -n <ns> <extra>` in the background.
    pub fn spawn(&self, command: &str, extra: &[&str]) -> JoinHandle<Run> {
        self.cluster
            .spawn_kpush(self.repo.path(), &self.args(command, extra))
    }

    /// `kpush apply <app> -n <ns> <extra>` as a child process the test can signal.
    pub fn start_apply(&self, extra: &[&str]) -> Background {
        Background::start(
            self.repo.path(),
            &self.cluster.kubeconfig,
            &self.args("apply", extra),
        )
    }

    /// kpush with exactly `args`, in the repository, against the test cluster.
    pub fn kpush(&self, args: &[&str]) -> Run {
        self.cluster.kpush(self.repo.path(), args)
    }

    /// `kpush history -o json`: the app's recorded deploys, oldest first.
    #[track_caller]
    pub fn history(&self) -> Vec<serde_json::Value> {
        let run = self.run("history", &["-o", "json"]);
        run.expect_code(0);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        doc["apps"][0]["history"].as_array().unwrap().clone()
    }

    /// The object in the app's namespace as JSON, or `None` when it does not exist.
    pub fn get(&self, kind: &str, name: &str) -> Option<serde_json::Value> {
        self.cluster.get(kind, Some(self.ns()), name)
    }

    fn args<'a>(&'a self, command: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![command, self.app.as_str(), "-n", self.ns()];
        args.extend_from_slice(extra);
        args
    }

    fn path_of(&self, file: &str) -> String {
        format!("{}/{file}", self.app)
    }
}
