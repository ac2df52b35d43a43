//! The GitLab templates run by a real runner: gitlab-ci-local (shell executor, job isolation)
//! runs the CI/CD component, included as a local component (`templates/` at the project's root,
//! ref `$CI_COMMIT_SHA`), and the include file in a scratch project against the test cluster,
//! with this build's kpush on the jobs' PATH. The cluster's kubeconfig reaches the jobs as a
//! File variable `KUBECONFIG` scoped to the environment, as GitLab gives it.
//!
//! gitlab-ci-local exits 0 when a job with any `allow_failure` fails, so the tests read the
//! status and exit code it prints for each job.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::app_repo::AppRepo;
use common::kubelet::{pod_of, report, waiting};
use common::{TestCluster, cluster, configmap, deployment};
use serde_json::Value;

/// The gitlab-ci-local `scripts/control-plane/install-peers` installs.
const VERSION: &str = "4.75.1";

const IMAGE: &str = "registry.example.com/tools/kpush:0.1.0-debug";

/// The project's GitLab remote: gitlab-ci-local takes the project path `tools/kpush` from it.
const REMOTE: &str = "https://gitlab.example.com/tools/kpush.git";

/// gitlab-ci-local from PATH, checked once to be the pinned version.
fn gitlab_ci_local() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let hint = format!(
            "run `PATH=$(scripts/control-plane/install-peers):$PATH` (scripts/test does), which \
             installs gitlab-ci-local {VERSION} and the Node 22 it needs"
        );
        let tool = std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join("gitlab-ci-local"))
                    .find(|file| file.is_file())
            })
            .unwrap_or_else(|| panic!("gitlab-ci-local is not on PATH: {hint}"));
        let out = Command::new(&tool)
            .arg("--version")
            .output()
            .expect("run gitlab-ci-local --version");
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && version == VERSION,
            "{} --version printed {version:?} ({}; stderr: {}): {hint}",
            tool.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        tool
    })
}

/// A job's end as gitlab-ci-local prints it.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Status {
    Pass,
    /// Failed with an exit code `allow_failure` allows.
    Warn(i32),
    Fail(i32),
}

/// One pipeline run: the jobs that ran and what they left.
struct Pipeline {
    log: String,
    jobs: BTreeMap<String, Status>,
    /// The project's `.gitlab-ci-local` state dir.
    state: PathBuf,
}

impl Pipeline {
    fn parse(log: String, state: PathBuf) -> Pipeline {
        // `<job> finished in 138 ms  WARN 2`, and the summary: ` WARN  <job>`.
        let finished =
            regex::Regex::new(r"^(\S+)\s+finished in \S+ \S+(?:\s+(WARN|FAIL) (-?\d+))?\s*$")
                .unwrap();
        let summary = regex::Regex::new(r"^ (PASS|WARN|FAIL) +(\S+)").unwrap();
        let mut jobs = BTreeMap::new();
        let mut summarized = BTreeMap::new();
        for line in log.lines() {
            if line.starts_with("pipeline finished in") {
                continue;
            }
            if let Some(c) = finished.captures(line) {
                let code = c.get(3).map(|m| m.as_str().parse().unwrap());
                let status = match (c.get(2).map(|m| m.as_str()), code) {
                    (None, _) => Status::Pass,
                    (Some("WARN"), Some(code)) => Status::Warn(code),
                    (_, Some(code)) => Status::Fail(code),
                    _ => unreachable!(),
                };
                jobs.insert(c[1].to_string(), status);
            } else if let Some(c) = summary.captures(line) {
                summarized.insert(c[2].to_string(), c[1].to_string());
            }
        }
        // Both places must tell the same.
        for (job, status) in &jobs {
            let word = match status {
                Status::Pass => "PASS",
                Status::Warn(_) => "WARN",
                Status::Fail(_) => "FAIL",
            };
            assert_eq!(
                summarized.get(job).map(String::as_str),
                Some(word),
                "job {job}: the summary disagrees with its end line\n{log}"
            );
        }
        Pipeline { log, jobs, state }
    }

    /// The job's status, which must be `want`.
    #[track_caller]
    fn expect(&self, job: &str, want: Status) -> &Pipeline {
        assert_eq!(
            self.jobs.get(job),
            Some(&want),
            "job {job} (jobs: {:?})\n{}",
            self.jobs,
            self.log
        );
        self
    }

    /// The job must not have run (its rules leave it out).
    #[track_caller]
    fn expect_absent(&self, job: &str) -> &Pipeline {
        assert!(
            !self.jobs.contains_key(job),
            "job {job} ran: {:?}\n{}",
            self.jobs,
            self.log
        );
        self
    }

    /// The job's log lines (`<job> > ...` and `<job> $ ...`).
    fn job_log(&self, job: &str) -> String {
        let prefix = format!("{job} ");
        self.log
            .lines()
            .filter(|line| line.starts_with(&prefix))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A file of the job's artifacts (`artifacts:paths`), as the runner kept it.
    fn artifact(&self, job: &str, file: &str) -> Option<String> {
        std::fs::read_to_string(self.state.join("artifacts").join(job).join(file)).ok()
    }

    /// The job's `artifacts:reports:dotenv` file, as the runner kept it.
    #[track_caller]
    fn dotenv_report(&self, job: &str, file: &str) -> BTreeMap<String, String> {
        let path = self
            .state
            .join("artifacts")
            .join(job)
            .join(".gitlab-ci-reports/dotenv")
            .join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), self.log));
        dotenv(&text)
    }

    /// A file the job left in its checkout (reports that are not `artifacts:paths`, such as
    /// the terraform report: gitlab-ci-local keeps no reports but dotenv).
    fn build_file(&self, job: &str, file: &str) -> Option<String> {
        std::fs::read_to_string(self.state.join("builds").join(job).join(file)).ok()
    }

    /// The `KPUSH_*` variables a later job of the pipeline got (from the dotenv reports; the
    /// runner's own environment has none).
    #[track_caller]
    fn later_job_vars(&self) -> BTreeMap<String, String> {
        self.expect(VARS_JOB, Status::Pass);
        let text = self
            .artifact(VARS_JOB, "kpush-vars.env")
            .unwrap_or_else(|| panic!("no kpush-vars.env\n{}", self.log));
        dotenv(&text)
    }
}

fn dotenv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A job after all others, whatever they did: it writes the `KPUSH_*` variables it got.
const VARS_JOB: &str = "kpush-vars";
const VARS_JOB_YAML: &str = "
kpush-vars:
  stage: .post
  when: always
  script:
    - env | grep '^KPUSH_' | sort >kpush-vars.env || true
  artifacts:
    paths: [kpush-vars.env]
";

/// A GitLab project `tools/kpush` (default branch `main`) holding the component at
/// `templates/kpush.yml`, the include file at its place in this repository, and app `app`;
/// its namespace is the app's.
struct Project<'c> {
    app: AppRepo<'c>,
    /// The runner's home, the variables file, and a bin dir with this build's kpush.
    state: tempfile::TempDir,
    /// Where the runner runs: the project's repository, or a shallow clone of it.
    checkout: Option<PathBuf>,
}

impl<'c> Project<'c> {
    fn new(cluster: &'c TestCluster, ns_prefix: &str) -> Project<'c> {
        let app = AppRepo::new(cluster, ns_prefix);
        let sources = common::checkout().join("ci-templates/gitlab");
        let read = |file: &str| std::fs::read_to_string(sources.join(file)).unwrap();
        app.repo
            .write(".gitignore", "/.gitlab-ci-local/\n")
            .write("templates/kpush.yml", read("templates/kpush.yml"))
            .write(
                "ci-templates/gitlab/kpush.gitlab-ci.yml",
                read("kpush.gitlab-ci.yml"),
            );
        let git = &app.repo.repo;
        git.set_head("refs/heads/main").unwrap();
        git.remote("origin", REMOTE).unwrap();
        let state = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(state.path().join("bin")).unwrap();
        std::fs::create_dir_all(state.path().join("home")).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kpush"), state.path().join("bin/kpush"))
            .unwrap();
        Project {
            app,
            state,
            checkout: None,
        }
    }

    fn ns(&self) -> &str {
        self.app.ns()
    }

    fn checkout(&self) -> &Path {
        self.checkout.as_deref().unwrap_or(self.app.repo.path())
    }

    /// From now on the runner runs in a clone of the current branch's newest `depth` commits,
    /// as a runner clones with `GIT_DEPTH`, whose `origin` is a bare copy of the project with
    /// every commit. The project's path still comes from `gcl-origin`, which gitlab-ci-local
    /// reads before `origin`; the clone has no `origin/HEAD`, so its default branch is `main`.
    fn shallow_checkout(&mut self, depth: u32) {
        let root = self.state.path();
        let origin = root.join("origin.git");
        let checkout = root.join("checkout");
        let branch = self.app.repo.repo.head().unwrap();
        let branch = branch.shorthand().unwrap();
        git(
            root,
            &[
                "clone",
                "--quiet",
                "--bare",
                self.app.repo.path().to_str().unwrap(),
                origin.to_str().unwrap(),
            ],
        );
        git(
            root,
            &[
                "clone",
                "--quiet",
                &format!("--depth={depth}"),
                "--branch",
                branch,
                &format!("file://{}", origin.display()),
                checkout.to_str().unwrap(),
            ],
        );
        git(&checkout, &["remote", "add", "gcl-origin", REMOTE]);
        self.checkout = Some(checkout);
    }

    /// `.gitlab-ci.yml`: `jobs`, the stages, and the job that shows what later jobs get.
    fn pipeline(&self, jobs: &str) -> &Self {
        self.app.repo.write(
            ".gitlab-ci.yml",
            format!("{jobs}\nstages: [test, deploy]\n{VARS_JOB_YAML}"),
        );
        self
    }

    /// Commits everything on the current branch; on `main`, the remote's `main` (and so the
    /// default branch) follows.
    fn commit(&self, message: &str) -> String {
        let sha = self.app.commit(message);
        let git = &self.app.repo.repo;
        if git.head().unwrap().shorthand().ok() == Some("main") {
            let oid = git2::Oid::from_str(&sha).unwrap();
            git.reference("refs/remotes/origin/main", oid, true, "push")
                .unwrap();
            git.reference_symbolic(
                "refs/remotes/origin/HEAD",
                "refs/remotes/origin/main",
                true,
                "default branch",
            )
            .unwrap();
        }
        sha
    }

    /// A merge request's source branch, from the current commit.
    fn branch(&self, name: &str) {
        let git = &self.app.repo.repo;
        let head = git.head().unwrap().peel_to_commit().unwrap();
        git.branch(name, &head, true).unwrap();
        git.set_head(&format!("refs/heads/{name}")).unwrap();
    }

    /// The cluster's kubeconfig as a File variable `KUBECONFIG` for the environments `scopes`
    /// (`*` for every job); none without scopes.
    fn credentials(&self, scopes: &[&str]) -> &Self {
        let file = self.state.path().join("variables.yml");
        if scopes.is_empty() {
            let _ = std::fs::remove_file(file);
            return self;
        }
        let kubeconfig = std::fs::read_to_string(&self.app.cluster.kubeconfig).unwrap();
        let quoted = serde_json::to_string(&kubeconfig).unwrap();
        let mut yaml = "KUBECONFIG:\n  type: file\n  values:\n".to_string();
        for scope in scopes {
            yaml.push_str(&format!("    \"{scope}\": {quoted}\n"));
        }
        std::fs::write(file, yaml).unwrap();
        self
    }

    /// gitlab-ci-local started on the current commit with `extra` arguments.
    fn start(&self, extra: &[String]) -> Child {
        let state = self.checkout().join(".gitlab-ci-local");
        // Each run's artifacts only.
        let _ = std::fs::remove_dir_all(state.join("artifacts"));
        self.spawn(extra)
    }

    /// A manual job of the last pipeline, started by hand: it gets the artifacts that
    /// pipeline's jobs left.
    #[track_caller]
    fn play(&self, job: &str) -> Pipeline {
        self.finish(self.spawn(&[job.to_string()]))
    }

    fn spawn(&self, extra: &[String]) -> Child {
        let dir = self.state.path();
        let path = std::env::join_paths(
            std::iter::once(dir.join("bin"))
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        let mut command = Command::new(gitlab_ci_local());
        command
            .current_dir(self.checkout())
            .args(["--home", dir.join("home").to_str().unwrap()])
            .args([
                "--variables-file",
                dir.join("variables.yml").to_str().unwrap(),
            ])
            .args([
                "--force-shell-executor",
                "--shell-isolation",
                "--no-artifacts-to-source",
                "--no-color",
                "--max-job-name-padding=0",
            ])
            .args(extra)
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("log")).unwrap())
            .stderr(std::fs::File::create(dir.join("log.stderr")).unwrap());
        // Jobs inherit the runner's environment: only what the pipeline gives them.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("KPUSH_") || key.starts_with("GCL_") || key == "KUBECONFIG" {
                command.env_remove(&*key);
            }
        }
        command.spawn().expect("start gitlab-ci-local")
    }

    /// Waits for a pipeline `start`ed.
    #[track_caller]
    fn finish(&self, mut child: Child) -> Pipeline {
        let status = child.wait().unwrap();
        let dir = self.state.path();
        let log = format!(
            "{}{}",
            std::fs::read_to_string(dir.join("log")).unwrap(),
            std::fs::read_to_string(dir.join("log.stderr")).unwrap()
        );
        // Its exit code ignores the failure of any job with `allow_failure`, whatever the exit
        // code, so each job's status is read from the log.
        let pipeline = Pipeline::parse(log, self.checkout().join(".gitlab-ci-local"));
        assert!(
            !pipeline.jobs.is_empty(),
            "gitlab-ci-local ({status}) ran no job\n{}",
            pipeline.log
        );
        pipeline
    }

    /// A push pipeline on the current branch.
    #[track_caller]
    fn push_pipeline(&self) -> Pipeline {
        self.finish(self.start(&[]))
    }

    /// A merge-request pipeline for the current branch, whose merge base is `base`: GitLab
    /// sets no `CI_COMMIT_BRANCH` there.
    #[track_caller]
    fn merge_request_pipeline(&self, base: &str) -> Pipeline {
        self.finish(self.start(&merge_request(base)))
    }
}

/// The git CLI in `dir`; it must succeed. Returns its stdout.
#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn merge_request(base: &str) -> Vec<String> {
    [
        "--variable=CI_PIPELINE_SOURCE=merge_request_event",
        &format!("--variable=CI_MERGE_REQUEST_DIFF_BASE_SHA={base}"),
        "--variable=CI_MERGE_REQUEST_IID=7",
        "--unset-variable=CI_COMMIT_BRANCH",
        "--ignore-predefined-vars=CI_PIPELINE_SOURCE",
    ]
    .map(String::from)
    .to_vec()
}

/// The include file's jobs, deploying `app` to `ns`.
fn include_file(ns: &str) -> String {
    format!(
        "include:
  - local: /ci-templates/gitlab/kpush.gitlab-ci.yml

variables:
  KPUSH_CI_IMAGE: {IMAGE}
  KPUSH_NAMESPACE: {ns}
  KPUSH_EXTRA_ARGS: app

kpush-diff:
  extends: .kpush-diff

kpush-apply:
  extends: .kpush-apply
  environment: {{name: production, deployment_tier: production}}
  resource_group: kpush-production
"
    )
}

/// The component included once, with `job-prefix: kpush-prod`, deploying `app` to `ns`.
fn component(ns: &str, extra_inputs: &str) -> String {
    format!(
        "include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/kpush@$CI_COMMIT_SHA
    inputs:
      image: {IMAGE}
      job-prefix: kpush-prod
      path: app
      namespace: {ns}
      environment: production
{extra_inputs}"
    )
}

fn configmap_value(cluster: &TestCluster, ns: &str, name: &str) -> Option<String> {
    cluster
        .get("configmap", Some(ns), name)
        .map(|cm| cm["data"]["value"].as_str().unwrap().to_string())
}

#[test]
fn component_merge_request_diff_is_a_warning_with_its_reports() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-mr");
    project.pipeline(&component(project.ns(), ""));
    project.credentials(&["production"]);
    project.app.write("cm.yaml", configmap("settings", "1"));
    let base = project.commit("deployed");
    project.app.apply(&[]).expect_code(0);

    project.branch("feature");
    project
        .app
        .write("cm.yaml", configmap("settings", "2"))
        .write("extra.yaml", configmap("extra", "x"));
    let head = project.commit("change");
    let run = project.merge_request_pipeline(&base);

    // Exit 2 (changes present) is allowed: a warning. No apply on merge requests.
    run.expect("kpush-prod-diff", Status::Warn(2))
        .expect_absent("kpush-prod-apply")
        .expect_absent("kpush-prod-stop");
    let log = run.job_log("kpush-prod-diff");
    assert!(
        !log.contains("no cluster credentials"),
        "the environment's KUBECONFIG reaches the diff job: {log}"
    );
    assert!(log.contains("1 to create, 1 to update"), "{log}");

    let report = run.dotenv_report("kpush-prod-diff", "kpush-prod-diff.env");
    let vars = run.later_job_vars();
    for (name, want) in [
        ("KPUSH_PROD_EXIT_CODE", "2"),
        ("KPUSH_PROD_CHANGES", "true"),
        ("KPUSH_PROD_TO_CREATE", "1"),
        ("KPUSH_PROD_TO_UPDATE", "1"),
        ("KPUSH_PROD_TO_PRUNE", "0"),
        ("KPUSH_PROD_REVISION", head.as_str()),
    ] {
        assert_eq!(report.get(name).map(String::as_str), Some(want), "{name}");
        assert_eq!(vars.get(name).map(String::as_str), Some(want), "{name}");
    }
    assert!(!vars.contains_key("KPUSH_EXIT_CODE"), "{vars:?}");

    let markdown = run
        .artifact("kpush-prod-diff", "kpush-prod-diff.md")
        .expect("markdown artifact");
    assert!(
        markdown.contains("settings") && markdown.contains("extra"),
        "{markdown}"
    );
    let json: Value = serde_json::from_str(
        &run.artifact("kpush-prod-diff", "kpush-prod-diff.json")
            .expect("json artifact"),
    )
    .unwrap();
    assert_eq!(json["exit_code"], 2, "{json}");
    let plan: Value = serde_json::from_str(
        &run.build_file("kpush-prod-diff", "kpush-prod-plan.json")
            .expect("terraform report"),
    )
    .unwrap();
    assert_eq!(
        plan,
        serde_json::json!({"create": 1, "update": 1, "delete": 0})
    );
    // A diff writes nothing.
    assert_eq!(
        configmap_value(&cluster, project.ns(), "settings").as_deref(),
        Some("1")
    );
    assert!(configmap_value(&cluster, project.ns(), "extra").is_none());
}

#[test]
fn component_apply_deploys_and_its_dotenv_report_reaches_later_jobs() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-apply");
    // The pipeline promotes the image it built, named with a CI/CD variable.
    project.pipeline(&component(
        project.ns(),
        "      prune: true
      images: |
        registry.example.com/shop/web:$CI_COMMIT_SHORT_SHA
",
    ));
    project.credentials(&["production"]);
    project
        .app
        .write("cm.yaml", configmap("settings", "1"))
        .write("old.yaml", configmap("old", "1"))
        .write(
            "web.yaml",
            deployment("web", 0, "registry.example.com/shop/web:1.0"),
        );
    let first = project.commit("first");
    project
        .push_pipeline()
        .expect("kpush-prod-apply", Status::Pass)
        .expect_absent("kpush-prod-diff");
    assert_eq!(
        configmap_value(&cluster, project.ns(), "settings").as_deref(),
        Some("1")
    );

    project.app.write("cm.yaml", configmap("settings", "2"));
    project.app.remove("old.yaml");
    let second = project.commit("second");
    assert_ne!(first, second);
    let run = project.push_pipeline();
    run.expect("kpush-prod-apply", Status::Pass)
        .expect_absent("kpush-prod-diff")
        .expect_absent("kpush-prod-stop");
    assert_eq!(
        configmap_value(&cluster, project.ns(), "settings").as_deref(),
        Some("2")
    );
    assert!(configmap_value(&cluster, project.ns(), "old").is_none());
    let web = cluster
        .get("deployment", Some(project.ns()), "web")
        .expect("deployment web");
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("registry.example.com/shop/web:{}", &second[..8])
    );

    let vars = run.later_job_vars();
    for (name, want) in [
        ("KPUSH_PROD_EXIT_CODE", "0"),
        ("KPUSH_PROD_CHANGES", "true"),
        ("KPUSH_PROD_TO_CREATE", "0"),
        // The ConfigMap, and the Deployment's image: this commit's.
        ("KPUSH_PROD_TO_UPDATE", "2"),
        ("KPUSH_PROD_TO_PRUNE", "1"),
        ("KPUSH_PROD_REVISION", second.as_str()),
    ] {
        assert_eq!(
            vars.get(name).map(String::as_str),
            Some(want),
            "{name}: {vars:?}"
        );
    }
    assert!(
        vars.keys().all(|k| k.starts_with("KPUSH_PROD_")),
        "only the prefixed names: {vars:?}"
    );
    let markdown = run
        .artifact("kpush-prod-apply", "kpush-prod-apply.md")
        .expect("markdown artifact");
    assert!(markdown.contains("settings"), "{markdown}");
    let json: Value = serde_json::from_str(
        &run.artifact("kpush-prod-apply", "kpush-prod-apply.json")
            .expect("json artifact"),
    )
    .unwrap();
    assert_eq!(json["exit_code"], 0, "{json}");
}

#[test]
fn component_invalid_manifest_fails_the_jobs_and_writes_nothing() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-invalid");
    project.pipeline(&component(project.ns(), ""));
    project.credentials(&["production"]);
    let base = project.commit("empty");
    project.app.write("new.yaml", configmap("new", "1")).write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {value: [1]}\n",
    );
    project.commit("invalid");

    let run = project.push_pipeline();
    run.expect("kpush-prod-apply", Status::Fail(3));
    assert!(
        run.job_log("kpush-prod-apply")
            .contains("nothing was written"),
        "{}",
        run.log
    );
    assert!(configmap_value(&cluster, project.ns(), "new").is_none());
    let vars = run.later_job_vars();
    assert_eq!(
        vars.get("KPUSH_PROD_EXIT_CODE").map(String::as_str),
        Some("3")
    );
    assert_eq!(
        vars.get("KPUSH_PROD_INVALID").map(String::as_str),
        Some("1")
    );

    // On a merge request, exit 3 is not the allowed exit 2: the diff job fails.
    project.branch("feature");
    let run = project.merge_request_pipeline(&base);
    run.expect("kpush-prod-diff", Status::Fail(3));
    assert_eq!(
        run.later_job_vars()
            .get("KPUSH_PROD_EXIT_CODE")
            .map(String::as_str),
        Some("3")
    );
    assert!(configmap_value(&cluster, project.ns(), "new").is_none());
}

#[test]
fn component_unhealthy_rollout_fails_the_apply_job() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-unhealthy");
    project.pipeline(&component(project.ns(), "      timeout: 2m\n"));
    project.credentials(&["production"]);
    let image = "registry.invalid/kpush/missing:1.0";
    project.app.write("web.yaml", deployment("web", 1, image));
    project.commit("web");

    let mut child = project.start(&[]);
    // Playing the node: the pod cannot pull its image.
    common::until("the apply job's pod", Duration::from_secs(60), || {
        let pods = cluster.kubectl(&["get", "pods", "-n", project.ns(), "-o", "name"]);
        !pods.stdout.trim().is_empty() || child.try_wait().unwrap().is_some()
    });
    let pod = pod_of(&cluster, project.ns(), "app=web");
    report(
        &cluster,
        project.ns(),
        &pod,
        &waiting(image, "ImagePullBackOff"),
    );
    let run = project.finish(child);
    run.expect("kpush-prod-apply", Status::Fail(4));
    let log = run.job_log("kpush-prod-apply");
    assert!(
        log.contains("ImagePullBackOff") && log.contains(image),
        "{log}"
    );
    assert!(!log.contains("not healthy after"), "must fail fast: {log}");
    let vars = run.later_job_vars();
    assert_eq!(
        vars.get("KPUSH_PROD_EXIT_CODE").map(String::as_str),
        Some("4")
    );
}

#[test]
fn component_merge_request_without_credentials_diffs_commits() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-offline");
    project.pipeline(&component(project.ns(), ""));
    project.credentials(&[]);
    project.app.write("cm.yaml", configmap("settings", "1"));
    let base = project.commit("base");
    project.branch("feature");
    project.app.write("cm.yaml", configmap("settings", "2"));
    let head = project.commit("change");

    let run = project.merge_request_pipeline(&base);
    run.expect("kpush-prod-diff", Status::Warn(2));
    let log = run.job_log("kpush-prod-diff");
    assert!(
        log.contains(&format!(
            "no cluster credentials: diffing commit {base} with {head}"
        )),
        "{log}"
    );
    assert!(log.contains("0 to create, 1 to update"), "{log}");
    let vars = run.later_job_vars();
    assert_eq!(
        vars.get("KPUSH_PROD_TO_UPDATE").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        vars.get("KPUSH_PROD_EXIT_CODE").map(String::as_str),
        Some("2")
    );
    // Nothing was read from or written to the cluster.
    assert!(configmap_value(&cluster, project.ns(), "settings").is_none());
}

/// A merge request's offline diff in a clone of its newest commit only: the diff job `job` of
/// the pipeline `jobs(ns)` fetches the base commit, then compares.
fn offline_diff_in_a_shallow_clone(ns_prefix: &str, jobs: fn(&str) -> String, job: &str) {
    let cluster = cluster();
    let mut project = Project::new(&cluster, ns_prefix);
    project.pipeline(&jobs(project.ns()));
    project.credentials(&[]);
    project.app.write("cm.yaml", configmap("settings", "1"));
    let base = project.commit("base");
    project.branch("feature");
    project.app.write("cm.yaml", configmap("settings", "2"));
    project.commit("change");
    project.shallow_checkout(1);
    let missing = Command::new("git")
        .current_dir(project.checkout())
        .args(["cat-file", "-e", &format!("{base}^{{commit}}")])
        .status()
        .unwrap();
    assert!(!missing.success(), "the clone has the base commit");

    let run = project.merge_request_pipeline(&base);
    run.expect(job, Status::Warn(2));
    let log = run.job_log(job);
    assert!(
        log.contains(&format!(
            "commit {base} is not in the clone: git fetch --depth=1 origin {base}"
        )),
        "{log}"
    );
    assert!(!log.contains("could not fetch"), "{log}");
    assert!(log.contains("0 to create, 1 to update"), "{log}");
}

#[test]
fn component_offline_diff_fetches_a_base_commit_the_shallow_clone_lacks() {
    offline_diff_in_a_shallow_clone("kp-glci-shallow", |ns| component(ns, ""), "kpush-prod-diff");
}

#[test]
fn include_file_offline_diff_fetches_a_base_commit_the_shallow_clone_lacks() {
    offline_diff_in_a_shallow_clone("kp-glci-inc-shallow", include_file, "kpush-diff");
}

#[test]
fn component_included_twice_keeps_each_inclusions_dotenv_variables() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-prod");
    let staging = cluster.namespace("kp-glci-staging");
    project.pipeline(&format!(
        "include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/kpush@$CI_COMMIT_SHA
    inputs:
      image: {IMAGE}
      job-prefix: kpush-prod
      path: app
      namespace: {prod}
      environment: production
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/kpush@$CI_COMMIT_SHA
    inputs:
      image: {IMAGE}
      job-prefix: staging
      path: staging
      namespace: {staging}
      environment: staging
      deployment-tier: staging
      extra-args: --create-namespace
      apply-args: --no-wait
",
        prod = project.ns(),
        staging = staging.name,
    ));
    project.credentials(&["production", "staging"]);
    project.app.write("cm.yaml", configmap("settings", "1"));
    project
        .app
        .repo
        .write("staging/a.yaml", configmap("a", "1"))
        .write("staging/b.yaml", configmap("b", "1"));
    let first = project.commit("both");

    let run = project.push_pipeline();
    run.expect("kpush-prod-apply", Status::Pass)
        .expect("staging-apply", Status::Pass);
    // Each job gets its own arguments: only staging's apply skips the wait.
    assert!(run.job_log("kpush-prod-apply").contains("waiting up to"));
    assert!(
        !run.job_log("staging-apply").contains("waiting up to"),
        "{}",
        run.job_log("staging-apply")
    );
    let vars = run.later_job_vars();
    for (name, want) in [
        ("KPUSH_PROD_TO_CREATE", "1"),
        ("KPUSH_STAGING_TO_CREATE", "2"),
        ("KPUSH_PROD_EXIT_CODE", "0"),
        ("KPUSH_STAGING_EXIT_CODE", "0"),
        ("KPUSH_PROD_REVISION", first.as_str()),
        ("KPUSH_STAGING_REVISION", first.as_str()),
    ] {
        assert_eq!(
            vars.get(name).map(String::as_str),
            Some(want),
            "{name}: {vars:?}"
        );
    }
    assert!(
        vars.keys()
            .all(|k| k.starts_with("KPUSH_PROD_") || k.starts_with("KPUSH_STAGING_")),
        "{vars:?}"
    );
    assert!(cluster.get("configmap", Some(&staging.name), "b").is_some());

    // A merge request that changes production only: one warning, one pass.
    project.branch("feature");
    project.app.write("cm.yaml", configmap("settings", "2"));
    project.commit("production only");
    let run = project.merge_request_pipeline(&first);
    run.expect("kpush-prod-diff", Status::Warn(2))
        .expect("staging-diff", Status::Pass);
    let vars = run.later_job_vars();
    for (name, want) in [
        ("KPUSH_PROD_CHANGES", "true"),
        ("KPUSH_STAGING_CHANGES", "false"),
        ("KPUSH_PROD_EXIT_CODE", "2"),
        ("KPUSH_STAGING_EXIT_CODE", "0"),
        ("KPUSH_STAGING_UNCHANGED", "2"),
    ] {
        assert_eq!(
            vars.get(name).map(String::as_str),
            Some(want),
            "{name}: {vars:?}"
        );
    }
}

#[test]
fn include_file_jobs_diff_and_apply() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-include");
    project.pipeline(&include_file(project.ns()));
    project.credentials(&["*"]);
    project.app.write("cm.yaml", configmap("settings", "1"));
    let first = project.commit("first");

    let run = project.push_pipeline();
    run.expect("kpush-apply", Status::Pass)
        .expect_absent("kpush-diff");
    assert_eq!(
        configmap_value(&cluster, project.ns(), "settings").as_deref(),
        Some("1")
    );
    let vars = run.later_job_vars();
    for (name, want) in [
        ("KPUSH_EXIT_CODE", "0"),
        ("KPUSH_TO_CREATE", "1"),
        ("KPUSH_REVISION", first.as_str()),
    ] {
        assert_eq!(
            vars.get(name).map(String::as_str),
            Some(want),
            "{name}: {vars:?}"
        );
    }
    assert!(
        run.artifact("kpush-apply", "kpush-apply.md").is_some(),
        "{}",
        run.log
    );

    project.branch("feature");
    project.app.write("cm.yaml", configmap("settings", "2"));
    project.commit("change");
    let run = project.merge_request_pipeline(&first);
    run.expect("kpush-diff", Status::Warn(2))
        .expect_absent("kpush-apply");
    assert!(
        !run.job_log("kpush-diff").contains("no cluster credentials"),
        "{}",
        run.log
    );
    assert_eq!(
        run.later_job_vars()
            .get("KPUSH_TO_UPDATE")
            .map(String::as_str),
        Some("1")
    );
    assert!(
        run.build_file("kpush-diff", "kpush-plan.json").is_some(),
        "{}",
        run.log
    );

    // Without credentials: the commits, compared from git alone.
    project.credentials(&[]);
    let run = project.merge_request_pipeline(&first);
    run.expect("kpush-diff", Status::Warn(2));
    assert!(
        run.job_log("kpush-diff")
            .contains(&format!("no cluster credentials: diffing commit {first}")),
        "{}",
        run.log
    );
    assert_eq!(
        run.later_job_vars()
            .get("KPUSH_TO_UPDATE")
            .map(String::as_str),
        Some("1")
    );
}

#[test]
fn component_review_app_deploys_on_the_merge_request_and_its_stop_job_deletes_it() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-review");
    // The merge request's own namespace, named by the pipeline (`CI_MERGE_REQUEST_IID` is 7).
    let review_ns = format!("{}-7", project.ns());
    cluster
        .kubectl(&["create", "namespace", &review_ns])
        .expect_code(0);
    let _cleanup = cluster.cleanup("namespace", &review_ns);
    project.pipeline(&format!(
        "include:
  - component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/kpush@$CI_COMMIT_SHA
    inputs:
      image: {IMAGE}
      job-prefix: kpush-review
      review: true
      path: app
      environment: review/$CI_COMMIT_REF_SLUG
      deployment-tier: development
      namespace: {ns}-$CI_MERGE_REQUEST_IID
      prune: true
",
        ns = project.ns()
    ));
    project.credentials(&["review/*"]);
    let base = project.commit("base");
    project
        .push_pipeline()
        .expect_absent("kpush-review-apply")
        .expect_absent("kpush-review-diff")
        .expect_absent("kpush-review-stop");

    project.branch("feature");
    project.app.write("cm.yaml", configmap("settings", "1"));
    let head = project.commit("review");
    let run = project.merge_request_pipeline(&base);
    run.expect("kpush-review-apply", Status::Pass)
        .expect_absent("kpush-review-diff")
        .expect_absent("kpush-review-stop");
    assert_eq!(
        configmap_value(&cluster, &review_ns, "settings").as_deref(),
        Some("1")
    );
    let vars = run.later_job_vars();
    assert_eq!(
        vars.get("KPUSH_REVIEW_REVISION").map(String::as_str),
        Some(head.as_str())
    );

    // The environment stops: GitLab runs its on_stop job, the manual stop job.
    let mut stop = merge_request(&base);
    stop.push("kpush-review-stop".into());
    let run = project.finish(project.start(&stop));
    run.expect("kpush-review-stop", Status::Pass);
    common::until("the review app's deletion", Duration::from_secs(30), || {
        configmap_value(&cluster, &review_ns, "settings").is_none()
    });
    let report = run.dotenv_report("kpush-review-stop", "kpush-review-delete.env");
    assert_eq!(
        report.get("KPUSH_REVIEW_EXIT_CODE").map(String::as_str),
        Some("0"),
        "{report:?}"
    );
    assert_eq!(
        report.get("KPUSH_REVIEW_TO_PRUNE").map(String::as_str),
        Some("1"),
        "{report:?}"
    );
}

/// The include file's review-app example (the comment at its top).
#[test]
fn include_file_review_app_and_its_stop_job() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-inc-review");
    let review_ns = format!("{}-7", project.ns());
    cluster
        .kubectl(&["create", "namespace", &review_ns])
        .expect_code(0);
    let _cleanup = cluster.cleanup("namespace", &review_ns);
    project.pipeline(&format!(
        "include:
  - local: /ci-templates/gitlab/kpush.gitlab-ci.yml

variables:
  KPUSH_EXTRA_ARGS: app

kpush-review:
  extends: .kpush-apply
  rules: [{{if: $CI_PIPELINE_SOURCE == \"merge_request_event\"}}]
  variables: {{KPUSH_CI_IMAGE: {IMAGE}, KPUSH_NAMESPACE: {ns}-$CI_MERGE_REQUEST_IID}}
  environment: {{name: review/$CI_COMMIT_REF_SLUG, on_stop: kpush-review-stop}}

kpush-review-stop:
  extends: .kpush-stop
  variables: {{KPUSH_CI_IMAGE: {IMAGE}, KPUSH_NAMESPACE: {ns}-$CI_MERGE_REQUEST_IID}}
  environment: {{name: review/$CI_COMMIT_REF_SLUG}}
",
        ns = project.ns()
    ));
    project.credentials(&["review/*"]);
    let base = project.commit("base");
    project.branch("feature");
    project.app.write("cm.yaml", configmap("settings", "1"));
    project.commit("review");

    let run = project.merge_request_pipeline(&base);
    run.expect("kpush-review", Status::Pass)
        .expect_absent("kpush-review-stop");
    assert_eq!(
        configmap_value(&cluster, &review_ns, "settings").as_deref(),
        Some("1")
    );

    let mut stop = merge_request(&base);
    stop.push("kpush-review-stop".into());
    let run = project.finish(project.start(&stop));
    run.expect("kpush-review-stop", Status::Pass);
    common::until("the review app's deletion", Duration::from_secs(30), || {
        configmap_value(&cluster, &review_ns, "settings").is_none()
    });
    let report = run.dotenv_report("kpush-review-stop", "kpush.env");
    assert_eq!(
        report.get("KPUSH_TO_PRUNE").map(String::as_str),
        Some("1"),
        "{report:?}"
    );
}

/// The component's approval gate: on the default branch the plan job saves the plan as an
/// artifact (with the terraform report) and writes nothing; the manual apply job, started by
/// hand, applies exactly that plan. Then a ConfigMap edited with kubectl between the next
/// pipeline's plan and its apply makes the apply fail with exit 3, naming it, writing nothing.
#[test]
fn component_approval_applies_the_plan_jobs_plan_or_nothing() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-approval");
    project.pipeline(&component(
        project.ns(),
        "      approval: true\n      prune: true\n",
    ));
    project.credentials(&["production"]);
    project.app.write("cm.yaml", configmap("settings", "1"));
    let first = project.commit("first");

    let run = project.push_pipeline();
    run.expect("kpush-prod-plan", Status::Pass)
        .expect_absent("kpush-prod-apply")
        .expect_absent("kpush-prod-diff");
    let text = run
        .artifact("kpush-prod-plan", "kpush-prod.plan.json")
        .expect("the plan artifact");
    let plan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plan["commit"], first.as_str(), "{text}");
    let widget: Value = serde_json::from_str(
        &run.build_file("kpush-prod-plan", "kpush-prod-plan.json")
            .expect("terraform report"),
    )
    .unwrap();
    assert_eq!(
        widget,
        serde_json::json!({"create": 1, "update": 0, "delete": 0})
    );
    assert_eq!(
        run.later_job_vars()
            .get("KPUSH_PROD_TO_CREATE")
            .map(String::as_str),
        Some("1")
    );
    assert!(configmap_value(&cluster, project.ns(), "settings").is_none());

    let run = project.play("kpush-prod-apply");
    run.expect("kpush-prod-apply", Status::Pass);
    assert!(
        run.job_log("kpush-prod-apply")
            .contains(&format!("Plan of commit {first} (saved ")),
        "{}",
        run.log
    );
    assert_eq!(
        configmap_value(&cluster, project.ns(), "settings").as_deref(),
        Some("1")
    );
    let report = run.dotenv_report("kpush-prod-apply", "kpush-prod-apply.env");
    assert_eq!(
        report.get("KPUSH_PROD_REVISION").map(String::as_str),
        Some(first.as_str()),
        "{report:?}"
    );

    project
        .app
        .write("cm.yaml", configmap("settings", "2"))
        .write("extra.yaml", configmap("extra", "x"));
    project.commit("second");
    project
        .push_pipeline()
        .expect("kpush-prod-plan", Status::Pass)
        .expect_absent("kpush-prod-apply");
    cluster
        .kubectl(&[
            "patch",
            "configmap",
            "settings",
            "-n",
            project.ns(),
            "--type=merge",
            "-p",
            r#"{"data":{"value":"edited"}}"#,
        ])
        .expect_code(0);
    let run = project.play("kpush-prod-apply");
    run.expect("kpush-prod-apply", Status::Fail(3));
    let log = run.job_log("kpush-prod-apply");
    assert!(
        log.contains(&format!(
            "v1 ConfigMap/{}/settings: changed since the plan",
            project.ns()
        )) && log.contains("`kubectl-patch`"),
        "{log}"
    );
    assert_eq!(
        configmap_value(&cluster, project.ns(), "settings").as_deref(),
        Some("edited")
    );
    assert!(configmap_value(&cluster, project.ns(), "extra").is_none());
}

/// The include file's approval gate, as the comment at its top has it: `.kpush-plan` on the
/// default branch, then `.kpush-apply-plan` started by hand applies its plan.
#[test]
fn include_file_approval_plan_then_manual_apply() {
    let cluster = cluster();
    let project = Project::new(&cluster, "kp-glci-inc-approval");
    project.pipeline(&format!(
        "include:
  - local: /ci-templates/gitlab/kpush.gitlab-ci.yml

variables:
  KPUSH_CI_IMAGE: {IMAGE}
  KPUSH_NAMESPACE: {ns}
  KPUSH_EXTRA_ARGS: app

kpush-plan:
  extends: .kpush-plan
  environment: {{name: production, action: access}}

kpush-apply:
  extends: .kpush-apply-plan
  environment: {{name: production, deployment_tier: production}}
  resource_group: kpush-production
",
        ns = project.ns()
    ));
    project.credentials(&["production"]);
    project.app.write("cm.yaml", configmap("settings", "1"));
    let sha = project.commit("first");

    let run = project.push_pipeline();
    run.expect("kpush-plan", Status::Pass)
        .expect_absent("kpush-apply");
    let plan: Value = serde_json::from_str(
        &run.artifact("kpush-plan", "kpush.plan.json")
            .expect("the plan artifact"),
    )
    .unwrap();
    assert_eq!(plan["commit"], sha.as_str());
    assert!(configmap_value(&cluster, project.ns(), "settings").is_none());

    let run = project.play("kpush-apply");
    run.expect("kpush-apply", Status::Pass);
    assert!(
        run.job_log("kpush-apply")
            .contains(&format!("Plan of commit {sha} (saved ")),
        "{}",
        run.log
    );
    assert_eq!(
        configmap_value(&cluster, project.ns(), "settings").as_deref(),
        Some("1")
    );
}
