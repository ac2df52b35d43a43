//! Shared test helpers: git repositories made with git2, the kpush binary, and the real test
//! cluster (started by `scripts/control-plane/up`, or any cluster named by
//! `KPUSH_TEST_KUBECONFIG`).

#![allow(dead_code)]

pub mod app_repo;
pub mod background;
pub mod http;
pub mod kubelet;
pub mod policy;
pub mod proxy;
pub mod registry;
pub mod schema;
pub mod token;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use git2::{Repository, Signature};
use tempfile::TempDir;

/// The checkout under test. `cargo test` names it when it runs a test, which keeps a test
/// binary built in another checkout sharing the target directory (so still fresh to cargo)
/// from reading that checkout's files.
pub fn checkout() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// A git repository in a temp dir; files are written, then committed.
pub struct GitRepo {
    pub dir: TempDir,
    pub repo: Repository,
}

impl GitRepo {
    pub fn new() -> GitRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init(dir.path()).expect("git init");
        GitRepo { dir, repo }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, path: &str, content: impl AsRef<[u8]>) -> &Self {
        let full = self.dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
        self
    }

    pub fn remove(&self, path: &str) -> &Self {
        std::fs::remove_file(self.dir.path().join(path)).unwrap();
        self
    }

    /// Stages everything (including deletions) and commits; returns the SHA.
    pub fn commit(&self, message: &str) -> String {
        let mut index = self.repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = self.repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::now("kpush tests", "tests@kpush.dev").unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap()
            .to_string()
    }
}

/// What a kpush run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs the kpush binary in `cwd` with a clean environment for kube settings.
pub fn kpush(cwd: &Path, args: &[&str]) -> Run {
    kpush_env(cwd, args, &[])
}

pub fn kpush_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kpush"));
    command
        .current_dir(cwd)
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("KPUSH_NAMESPACE")
        .env_remove("KPUSH_CONTEXT")
        .env_remove("KPUSH_REV")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    Run::from(command.output().expect("run kpush"))
}

/// Polls until `ready` holds, for at most `limit`.
#[track_caller]
pub fn until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes `content` to `name` in `dir`; returns the path.
pub fn write_file(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

/// A name no other test (or test run) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{n}-{:x}", std::process::id(), nanos & 0xffff)
}

/// The real cluster the tests run against.
pub struct TestCluster {
    pub kubeconfig: PathBuf,
    /// Credentials of a user with no permissions beyond what a test grants.
    pub user_kubeconfig: Option<PathBuf>,
}

/// The test cluster; a test that needs one fails (never skips) when there is none.
pub fn cluster() -> TestCluster {
    let kubeconfig = std::env::var_os("KPUSH_TEST_KUBECONFIG").unwrap_or_else(|| {
        panic!(
            "KPUSH_TEST_KUBECONFIG is not set: cluster tests need a real API server.\n\
             Start the local control plane with `eval \"$(scripts/control-plane/up)\"`, \
             or point KPUSH_TEST_KUBECONFIG at a kubeconfig for a disposable cluster (kind, k3d)."
        )
    });
    TestCluster {
        kubeconfig: PathBuf::from(kubeconfig),
        user_kubeconfig: std::env::var_os("KPUSH_TEST_USER_KUBECONFIG").map(PathBuf::from),
    }
}

impl TestCluster {
    /// kpush with this cluster's admin kubeconfig.
    pub fn kpush(&self, cwd: &Path, args: &[&str]) -> Run {
        let kubeconfig = self.kubeconfig.to_str().unwrap();
        let mut full = vec!["--kubeconfig", kubeconfig];
        full.extend_from_slice(args);
        kpush(cwd, &full)
    }

    /// kpush as the unprivileged user of `KPUSH_TEST_USER_KUBECONFIG` (the test fails without
    /// one).
    #[track_caller]
    pub fn kpush_as_user(&self, cwd: &Path, args: &[&str]) -> Run {
        let user = self
            .user_kubeconfig
            .as_ref()
            .expect("KPUSH_TEST_USER_KUBECONFIG is not set; scripts/control-plane/up provides it");
        let mut full = vec!["--kubeconfig", user.to_str().unwrap()];
        full.extend_from_slice(args);
        kpush(cwd, &full)
    }

    /// kpush with this cluster's admin kubeconfig, in the background (while the test plays the
    /// kubelet); join the handle for its run.
    pub fn spawn_kpush(&self, cwd: &Path, args: &[&str]) -> std::thread::JoinHandle<Run> {
        let mut full = vec![
            "--kubeconfig".to_string(),
            self.kubeconfig.to_str().unwrap().to_string(),
        ];
        full.extend(args.iter().map(|a| a.to_string()));
        let cwd = cwd.to_path_buf();
        std::thread::spawn(move || {
            let args: Vec<&str> = full.iter().map(String::as_str).collect();
            kpush(&cwd, &args)
        })
    }

    /// The real kubectl against this cluster.
    pub fn kubectl(&self, args: &[&str]) -> Run {
        let output = Command::new(kubectl_bin())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl");
        Run::from(output)
    }

    /// `kubectl apply` of `yaml`, with `extra` flags; it must succeed.
    #[track_caller]
    pub fn apply_yaml(&self, yaml: impl AsRef<str>, extra: &[&str]) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("manifest.yaml");
        std::fs::write(&file, yaml.as_ref()).unwrap();
        let mut args = vec!["apply"];
        args.extend_from_slice(extra);
        args.extend(["-f", file.to_str().unwrap()]);
        self.kubectl(&args).expect_code(0);
    }

    /// Another deploy's lock on app `app` (the lease `kpush-app`) in `ns`, held by `holder`,
    /// acquired and renewed at `renewed` (RFC 3339; `None` for now).
    #[track_caller]
    pub fn hold_lock(&self, ns: &str, holder: &str, renewed: Option<&str>) {
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S.000000Z")
            .to_string();
        let at = renewed.unwrap_or(&now);
        self.apply_yaml(
            format!(
                "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: kpush-app\n  namespace: {ns}\nspec:\n  holderIdentity: {holder}\n  leaseDurationSeconds: 30\n  acquireTime: \"{at}\"\n  renewTime: \"{at}\"\n"
            ),
            &["--server-side", "--force-conflicts"],
        );
    }

    /// The object as JSON, or `None` when it does not exist.
    pub fn get(
        &self,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<serde_json::Value> {
        let mut args = vec!["get", kind, name, "-o", "json", "--ignore-not-found"];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        let run = self.kubectl(&args);
        assert_eq!(run.code, 0, "kubectl get failed: {}", run.stderr);
        if run.stdout.trim().is_empty() {
            None
        } else {
            Some(serde_json::from_str(&run.stdout).expect("kubectl JSON"))
        }
    }

    /// A namespace for one test, deleted when the guard drops.
    pub fn namespace(&self, prefix: &str) -> Namespace<'_> {
        let name = unique(prefix);
        self.kubectl(&["create", "namespace", &name]).expect_code(0);
        Namespace {
            cluster: self,
            name,
        }
    }

    /// Deletes cluster-scoped objects a test made, when the guard drops.
    pub fn cleanup(&self, kind: &str, name: &str) -> Cleanup<'_> {
        Cleanup {
            cluster: self,
            kind: kind.to_string(),
            name: name.to_string(),
        }
    }
}

/// The helm binary the tests render charts with: `KPUSH_TEST_HELM`, or `helm` from PATH.
pub fn helm() -> String {
    std::env::var("KPUSH_TEST_HELM").unwrap_or_else(|_| "helm".into())
}

/// A kubectl of 1.24 or newer whatever the server's version (kustomize `components`,
/// `patches`, ApplySets, pod status writes): the one the test command installs
/// (`KPUSH_TEST_KUBECTL_RECENT`), or `kubectl` from PATH.
pub fn kubectl_recent() -> String {
    std::env::var("KPUSH_TEST_KUBECTL_RECENT").unwrap_or_else(|_| "kubectl".into())
}

pub fn kubectl_bin() -> String {
    std::env::var("KPUSH_TEST_KUBECTL").unwrap_or_else(|_| "kubectl".into())
}

pub struct Namespace<'a> {
    cluster: &'a TestCluster,
    pub name: String,
}

impl Drop for Namespace<'_> {
    fn drop(&mut self) {
        self.cluster.kubectl(&[
            "delete",
            "namespace",
            &self.name,
            "--wait=false",
            "--ignore-not-found",
        ]);
    }
}

pub struct Cleanup<'a> {
    cluster: &'a TestCluster,
    kind: String,
    name: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.cluster.kubectl(&[
            "delete",
            &self.kind,
            &self.name,
            "--wait=false",
            "--ignore-not-found",
        ]);
    }
}

pub fn configmap(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"
    )
}

/// A Service `name` selecting the pods labelled `app: name`, port 80 to 8080.
pub fn service(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app: {name}}}
  ports:
    - port: 80
      targetPort: 8080
"
    )
}

/// A Secret `name` with `string_data` under `stringData` and `data` (plain text, base64-encoded
/// here) under `data`; an empty one is left out.
pub fn secret(name: &str, string_data: &[(&str, &str)], data: &[(&str, &str)]) -> String {
    use base64::Engine;
    let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
    let mut text = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\n");
    let mut section = |key: &str, entries: Vec<String>| {
        if !entries.is_empty() {
            text.push_str(&format!("{key}: {{{}}}\n", entries.join(", ")));
        }
    };
    section(
        "stringData",
        string_data
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect(),
    );
    section(
        "data",
        data.iter()
            .map(|(k, v)| format!("{k}: {}", b64(v)))
            .collect(),
    );
    text
}

/// A namespaced CustomResourceDefinition for `kind` (plural: lowercase `kind` + `s`) in
/// `group`, served and stored at `v1`, whose `spec` has the schema `spec` (YAML, unindented).
pub fn crd(group: &str, kind: &str, spec: &str) -> String {
    let singular = kind.to_lowercase();
    let plural = format!("{singular}s");
    let spec: String = spec
        .lines()
        .map(|line| format!("              {line}\n"))
        .collect();
    format!(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: {plural}, singular: {singular}, kind: {kind}, listKind: {kind}List}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
{spec}"
    )
}

/// A Deployment `name` whose pods carry `app: name` and run `image` in container `main`.
pub fn deployment(name: &str, replicas: u32, image: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: main
          image: {image}
"
    )
}

/// The minor version of the server the harness started (`None` for other clusters).
pub fn server_minor() -> Option<u32> {
    std::env::var("KPUSH_TEST_K8S_VERSION")
        .ok()?
        .split('.')
        .nth(1)?
        .parse()
        .ok()
}

/// A Job `name` whose one pod runs busybox in container `main` and is never retried.
pub fn job(name: &str) -> String {
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

/// `manifest` (a workload of this file's helpers) whose pods run as ServiceAccount `account`.
#[track_caller]
pub fn with_service_account(manifest: &str, account: &str) -> String {
    let with = manifest.replace(
        "\n      containers:",
        &format!("\n      serviceAccountName: {account}\n      containers:"),
    );
    assert_ne!(with, manifest, "no pod spec to put the ServiceAccount in");
    with
}

/// The minor version the server reports; the test fails when it cannot tell, so that a check
/// that depends on the version is never skipped by a failed probe.
#[track_caller]
pub fn server_minor_of(cluster: &TestCluster) -> u32 {
    let run = cluster.kubectl(&["version", "-o", "json"]);
    assert_eq!(run.code, 0, "kubectl version: {}", run.all());
    let version: serde_json::Value = serde_json::from_str(&run.stdout).expect("kubectl JSON");
    let minor = version["serverVersion"]["minor"].as_str().unwrap_or("");
    minor
        .trim_end_matches('+')
        .parse()
        .unwrap_or_else(|_| panic!("cannot read the server's minor version from {version}"))
}

/// A kubeconfig in `dir` for a server that never answers (nothing listens on port 9).
pub fn unreachable_kubeconfig(dir: &Path) -> String {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:9\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n",
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// The guestbook Application of the Argo CD reference text, with its destination.
pub fn seed_application(namespace: &str, server: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: {server}
    namespace: {namespace}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
      allowEmpty: false
    syncOptions:
      - Validate=true
      - CreateNamespace=true
      - PrunePropagationPolicy=foreground
      - PruneLast=true
"
    )
}
