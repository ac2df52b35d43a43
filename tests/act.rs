//! The GitHub Action and the example workflows of `ci-templates/github/`, run by a real
//! runner: nektos/act 0.2.89 in self-hosted mode (`-P ubuntu-latest=-self-hosted`: the steps
//! run on this machine, no container), against the test control plane.
//!
//! GitHub itself is out of reach, so:
//! - the repository is a scratch one whose `origin` is `https://github.com/acme/shop`, which
//!   git's `url.<dir>.insteadOf` (in the runs' own global git config) maps to a bare repository:
//!   act reads the repository's name from it, and every fetch, the action's included, goes to
//!   the bare one;
//! - the kpush action is this repository's `action.yml` and `action/`, given to act as
//!   `kpush/kpush@v0.1.0` with `--local-repository` (and once by path, committed to the
//!   scratch repository); it installs kpush from a `file://` release that
//!   `scripts/build-release --binary` packs from the test build, checksum and all;
//! - `actions/checkout`, `actions/upload-artifact` and `actions/download-artifact` are
//!   JavaScript actions on github.com: composite stand-ins (below) do what the templates need
//!   of them with git and cp, an artifact being a directory;
//! - `gh` is a stand-in that records its calls and answers reads from files the test writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{TestCluster, cluster};
use serde_json::{Value, json};

const ACT_VERSION: &str = "0.2.89";
/// What the templates write in place of the action's owner, and the tag they use.
const ACTION: &str = "kpush/kpush@v0.1.0";
const TOKEN: &str = "ghs_stand_in_token_of_the_run";
const SECRET: &str = "hunter2-the-act-secret";
/// The steps' PATH besides the stand-ins: the system's tools (git, jq, curl, tar), no kpush.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// act from PATH, which must be the version these tests are written for.
fn act() -> &'static Path {
    static ACT: OnceLock<PathBuf> = OnceLock::new();
    ACT.get_or_init(|| {
        let hint = "act is installed by `scripts/control-plane/install-peers` \
                    (scripts/test puts its bin dir on PATH): run `PATH=\"$(scripts/control-plane/install-peers):$PATH\"`";
        let found = std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("act"))
                    .find(|path| path.is_file())
            })
            .unwrap_or_else(|| panic!("act is not on PATH. {hint}"));
        let out = Command::new(&found).arg("--version").output().unwrap();
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            version,
            format!("act version {ACT_VERSION}"),
            "{} is not act {ACT_VERSION}. {hint}",
            found.display()
        );
        found
    })
}

/// The release the action installs: `RELEASE/v0.1.0/{SHA256SUMS,kpush-0.1.0-TARGET.tar.gz}`,
/// packed once per build of the test binary (packing takes seconds).
fn release() -> &'static Path {
    static RELEASE: OnceLock<PathBuf> = OnceLock::new();
    RELEASE.get_or_init(|| {
        let binary = Path::new(env!("CARGO_BIN_EXE_kpush"));
        let meta = std::fs::metadata(binary).unwrap();
        let stamp = format!("{:?} {}", meta.modified().unwrap(), meta.len());
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("act-release");
        let tag = root.join("v0.1.0");
        if std::fs::read_to_string(root.join("stamp")).ok().as_deref() == Some(stamp.as_str()) {
            return root;
        }
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&tag).unwrap();
        let out = Command::new(manifest_dir().join("scripts/build-release"))
            .arg("--binary")
            .arg(binary)
            .arg("--out")
            .arg(&tag)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/build-release --binary: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(root.join("stamp"), stamp).unwrap();
        root
    })
}

fn manifest_dir() -> PathBuf {
    common::checkout()
}

/// `actions/checkout`: the event's commit (or `ref`) fetched from `origin`, `fetch-depth`
/// deep (1 by default; 0 is every branch's whole history), HEAD detached at it.
/// `persist-credentials` has nothing to keep: the scratch remote needs no credentials.
const CHECKOUT: &str = r#"name: checkout (stand-in)
inputs:
  ref: {required: false, default: ""}
  fetch-depth: {required: false, default: "1"}
  persist-credentials: {required: false, default: "true"}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        REF: ${{ inputs.ref }}
        DEPTH: ${{ inputs.fetch-depth }}
      run: |
        set -euo pipefail
        git init -q "$GITHUB_WORKSPACE"
        cd "$GITHUB_WORKSPACE"
        git remote add origin "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY"
        depth=()
        if [[ "$DEPTH" == 0 ]]; then
          git fetch -q --no-tags origin '+refs/heads/*:refs/remotes/origin/*'
        else
          depth=(--depth="$DEPTH")
        fi
        git fetch -q --no-tags "${depth[@]}" origin "${REF:-$GITHUB_SHA}"
        git checkout -q --detach FETCH_HEAD
        echo "checked out $(git rev-parse HEAD), shallow: $(git rev-parse --is-shallow-repository)"
"#;

/// `actions/upload-artifact`: the files of `path` copied to `$STAND_IN_ARTIFACTS/RUN_ID/NAME`.
const UPLOAD: &str = r#"name: upload-artifact (stand-in)
inputs:
  name: {required: false, default: artifact}
  path: {required: true}
  if-no-files-found: {required: false, default: warn}
  retention-days: {required: false, default: "0"}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        NAME: ${{ inputs.name }}
        FROM: ${{ inputs.path }}
        IF_NONE: ${{ inputs.if-no-files-found }}
      run: |
        set -euo pipefail
        if [[ ! -e "$FROM" ]] || [[ -d "$FROM" && -z "$(ls -A "$FROM")" ]]; then
          if [[ "$IF_NONE" == error ]]; then
            echo "::error::No files were found with the provided path: $FROM"
            exit 1
          fi
          exit 0
        fi
        dest="$STAND_IN_ARTIFACTS/$GITHUB_RUN_ID/$NAME"
        mkdir -p "$dest"
        if [[ -d "$FROM" ]]; then cp -R "$FROM"/. "$dest"/; else cp "$FROM" "$dest"/; fi
        echo "uploaded artifact $NAME"
"#;

/// `actions/download-artifact`: artifact `name` of run `run-id` (default: this run) copied
/// into `path`. While `$STAND_IN_GATE/closed` exists it waits first, after writing
/// `$STAND_IN_GATE/waiting`: act has no environment reviewers to wait for between a job that
/// uploads and one that downloads, so the test acts there instead, then opens the gate.
const DOWNLOAD: &str = r#"name: download-artifact (stand-in)
inputs:
  name: {required: true}
  run-id: {required: false, default: ""}
  github-token: {required: false, default: ""}
  path: {required: false, default: "."}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        NAME: ${{ inputs.name }}
        RUN: ${{ inputs.run-id }}
        TO: ${{ inputs.path }}
      run: |
        set -euo pipefail
        if [[ -e "$STAND_IN_GATE/closed" ]]; then
          touch "$STAND_IN_GATE/waiting"
          waited=0
          while [[ -e "$STAND_IN_GATE/closed" ]] && ((waited++ < 1200)); do sleep 0.1; done
          [[ ! -e "$STAND_IN_GATE/closed" ]] || { echo "::error::the gate stayed closed"; exit 1; }
        fi
        from="$STAND_IN_ARTIFACTS/${RUN:-$GITHUB_RUN_ID}/$NAME"
        if [[ ! -d "$from" ]]; then
          echo "::error::Artifact not found: $NAME"
          exit 1
        fi
        mkdir -p "$TO"
        cp -R "$from"/. "$TO"/
"#;

/// `gh` as far as the templates use it: each call (arguments joined by " | ") and each body
/// file it sends are recorded in `$GH_STUB_DIR/calls`; a read answers from
/// `$GH_STUB_DIR/ROUTE.json` (ROUTE: the arguments that are not options, `/` and spaces as `_`;
/// `[]` when there is none) through `--jq`.
const GH: &str = r#"#!/usr/bin/env bash
set -euo pipefail
calls="$GH_STUB_DIR/calls"
(IFS='|'; printf 'gh|%s\n' "$*" | sed 's/|/ | /g') >>"$calls"
[[ -n "${GH_TOKEN:-}" ]] || { echo "gh: GH_TOKEN is not set" >&2; exit 4; }
filter="" method=GET route=()
while (($#)); do
  case "$1" in
    --jq | -q) filter="$2"; shift 2 ;;
    --method | -X) method="$2"; shift 2 ;;
    -F | -f | --field | --raw-field)
      if [[ "$2" == body=@* ]]; then
        { echo "--- body"; cat "${2#body=@}"; echo "--- end"; } >>"$calls"
      fi
      shift 2 ;;
    --title | --body | --search | --state | --json | --repo | -R) shift 2 ;;
    -*) shift ;;
    *) route+=("$1"); shift ;;
  esac
done
[[ "$method" == GET ]] || { echo '{}'; exit 0; }
answer="$GH_STUB_DIR/$(IFS=_; printf '%s' "${route[*]}" | tr '/ ' '__').json"
if [[ -f "$answer" ]]; then
  jq -r "${filter:-.}" "$answer"
elif [[ -n "$filter" ]]; then
  jq -r "$filter" <<<'[]'
fi
"#;

/// A scratch GitHub repository `acme/shop` holding app `web` (`apps/web`, defined in
/// `kpush.yaml` with environments `staging` and `prod`, each in a namespace of its own), and
/// everything act needs to run workflows on it.
struct Shop<'c> {
    cluster: &'c TestCluster,
    dir: tempfile::TempDir,
    staging: common::Namespace<'c>,
    prod: common::Namespace<'c>,
}

/// What one act run left behind.
struct ActRun {
    code: i32,
    /// act's output, colours removed.
    log: String,
}

impl ActRun {
    /// The lines a step of job `job` printed (without act's prefix).
    fn printed(&self, job: &str) -> String {
        let prefix = format!("[{job}]   | ");
        self.log
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    /// The step summaries act reported for job `job`, in order.
    fn summaries(&self, job: &str) -> Vec<String> {
        let start = format!("[{job}]   ⚙  Summary - ");
        let mut found = Vec::new();
        let mut current: Option<String> = None;
        for line in self.log.lines() {
            if let Some(first) = line.strip_prefix(&start) {
                found.extend(current.take());
                current = Some(format!("{first}\n"));
            } else if line.starts_with('[') || line.starts_with("time=") {
                found.extend(current.take());
            } else if let Some(text) = current.as_mut() {
                text.push_str(line);
                text.push('\n');
            }
        }
        found.extend(current);
        // act reports a composite action's summary again for the step that used it.
        found.dedup();
        found
    }

    /// Whether job `job` ran to `🏁  Job succeeded` (`true`) or `🏁  Job failed` (`false`).
    fn job_succeeded(&self, job: &str) -> bool {
        let prefix = format!("[{job}] 🏁  Job ");
        let end = self
            .log
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("job {job} did not run:\n{}", self.log));
        end == "succeeded"
    }

    /// Whether step `step` of job `job` succeeded (`Some(true)`), failed, or did not run. (A
    /// matrix leg's own result: act ends every leg with the result of the whole matrix.)
    fn step_succeeded(&self, job: &str, step: &str) -> Option<bool> {
        let success = format!("[{job}]   ✅  Success - Main {step} [");
        let failure = format!("[{job}]   ❌  Failure - Main {step} [");
        self.log.lines().find_map(|l| {
            if l.starts_with(&success) {
                Some(true)
            } else if l.starts_with(&failure) {
                Some(false)
            } else {
                None
            }
        })
    }

    fn ran(&self, job: &str) -> bool {
        self.log.contains(&format!("[{job}] "))
    }
}

impl<'c> Shop<'c> {
    fn new(cluster: &'c TestCluster, prefix: &str) -> Shop<'c> {
        let shop = Shop {
            cluster,
            dir: tempfile::tempdir().unwrap(),
            staging: cluster.namespace(&format!("{prefix}-staging")),
            prod: cluster.namespace(&format!("{prefix}-prod")),
        };
        for dir in [
            "bin",
            "home",
            "gh",
            "artifacts",
            "results",
            "cache",
            "workflows",
            "gate",
        ] {
            std::fs::create_dir_all(shop.path(dir)).unwrap();
        }
        for (name, text) in [
            ("checkout", CHECKOUT),
            ("upload", UPLOAD),
            ("download", DOWNLOAD),
        ] {
            let dir = shop.path("actions").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("action.yml"), text).unwrap();
        }
        // The action's own files, copied: act packs the whole directory it is given.
        let action = shop.path("kpush-action");
        copy_dir(&manifest_dir().join("action"), &action.join("action"));
        std::fs::copy(manifest_dir().join("action.yml"), action.join("action.yml")).unwrap();
        let gh = shop.path("bin/gh");
        std::fs::write(&gh, GH).unwrap();
        make_executable(&gh);
        // Every fetch from github.com goes to the bare repository.
        std::fs::write(
            shop.path("gitconfig"),
            format!(
                "[url \"file://{}/\"]\n\tinsteadOf = https://github.com/\n\
                 [user]\n\tname = kpush tests\n\temail = tests@kpush.dev\n\
                 [init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
                shop.path("remote").display()
            ),
        )
        .unwrap();
        std::fs::create_dir_all(shop.path("remote/acme")).unwrap();
        shop.git_in(
            &shop.path("remote/acme"),
            &["init", "-q", "--bare", "shop.git"],
        );
        shop.git_in(shop.dir.path(), &["init", "-q", "work"]);
        shop.git(&[
            "remote",
            "add",
            "origin",
            "https://github.com/acme/shop.git",
        ]);

        let kpush_yaml = format!(
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {{name: web}}\n\
             spec:\n  source: {{path: apps/web}}\n  destination: {{namespace: {staging}}}\n\
             \x20 environments:\n    staging: {{namespace: {staging}}}\n    prod: {{namespace: {prod}}}\n\
             \x20   review: {{}}\n",
            staging = shop.staging.name,
            prod = shop.prod.name
        );
        shop.write("kpush.yaml", &kpush_yaml);
        shop.write("apps/web/web.yaml", &web("blue", SECRET));
        shop.commit("web");

        let kubeconfig = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
        // act reads secrets as a dotenv file: JSON's escapes are what it unescapes in double
        // quotes.
        let secrets: String = [
            ("KUBECONFIG", kubeconfig.clone()),
            ("KPUSH_DIFF_KUBECONFIG", kubeconfig.clone()),
            ("KPUSH_REVIEW_KUBECONFIG", kubeconfig.clone()),
            ("KUBECONFIG_BASE64", base64_of(&kubeconfig)),
            ("GITHUB_TOKEN", TOKEN.to_string()),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}\n", Value::String(v.clone())))
        .collect();
        std::fs::write(shop.path("secrets"), secrets).unwrap();
        shop
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn work(&self) -> PathBuf {
        self.path("work")
    }

    fn write(&self, file: &str, content: &str) {
        let path = self.work().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    #[track_caller]
    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", self.path("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work(), args)
    }

    /// Commits everything and pushes it to the remote's main; returns the SHA.
    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// A template of `ci-templates/github/`, using the action as `kpush/kpush@v0.1.0`.
    fn template(&self, name: &str) -> PathBuf {
        let text =
            std::fs::read_to_string(manifest_dir().join("ci-templates/github").join(name)).unwrap();
        self.workflow(name, &text.replace("OWNER/kpush@v0.1.0", ACTION))
    }

    fn workflow(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path("workflows").join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A gh stand-in answer: `route` as gh is called (`api repos/acme/shop/pulls/7`).
    fn gh_answer(&self, route: &str, answer: &Value) {
        let name = route.replace(['/', ' '], "_");
        std::fs::write(
            self.path("gh").join(format!("{name}.json")),
            answer.to_string(),
        )
        .unwrap();
    }

    /// The gh calls so far, one line each (`gh | api | ...`), bodies between `--- body` and
    /// `--- end`.
    fn gh_calls(&self) -> String {
        std::fs::read_to_string(self.path("gh/calls")).unwrap_or_default()
    }

    fn gh_call_lines(&self) -> Vec<String> {
        self.gh_calls()
            .lines()
            .filter(|l| l.starts_with("gh | "))
            .map(str::to_string)
            .collect()
    }

    /// `act EVENT -e EVENT_JSON -W WORKFLOW` in the working clone, whose HEAD is the commit
    /// act gives the run (`github.sha`).
    fn act(&self, event: &str, payload: &Value, workflow: &Path, run_id: u32) -> ActRun {
        let event_path = self.path(&format!("event-{run_id}.json"));
        std::fs::write(&event_path, payload.to_string()).unwrap();
        let local = |name: &str, dir: PathBuf| format!("{name}={}", dir.display());
        let mut command = Command::new(act());
        command
            .current_dir(self.work())
            .env_clear()
            .env(
                "PATH",
                format!("{}:{SYSTEM_PATH}", self.path("bin").display()),
            )
            .env("HOME", self.path("home"))
            .env("LANG", "C.UTF-8")
            .env("GIT_CONFIG_GLOBAL", self.path("gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GH_STUB_DIR", self.path("gh"))
            .env("STAND_IN_ARTIFACTS", self.path("artifacts"))
            .env("STAND_IN_GATE", self.path("gate"))
            .env("RESULTS", self.path("results"))
            .arg(event)
            .arg("--eventpath")
            .arg(&event_path)
            .arg("--workflows")
            .arg(workflow)
            .args(["--platform", "ubuntu-latest=-self-hosted"])
            .arg("--action-cache-path")
            .arg(self.path("cache"))
            .args(["--no-skip-checkout", "--no-cache-server"])
            .arg("--secret-file")
            .arg(self.path("secrets"))
            .args(["--env", &format!("GITHUB_RUN_ID={run_id}")])
            .args([
                "--env",
                &format!("KPUSH_DOWNLOAD_BASE=file://{}", release().display()),
            ]);
        for (name, dir) in [
            ("actions/checkout@v6", self.path("actions/checkout")),
            ("actions/upload-artifact@v6", self.path("actions/upload")),
            (
                "actions/download-artifact@v7",
                self.path("actions/download"),
            ),
            (ACTION, self.path("kpush-action")),
        ] {
            command.arg("--local-repository").arg(local(name, dir));
        }
        let out = command.output().expect("run act");
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let ansi = regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]").unwrap();
        let log = ansi.replace_all(&log, "");
        // act pads the job names of a workflow to one width: `[kpush diff/diff     ]`.
        let padded = regex::Regex::new(r"(?m)^\[([^\]]*?) +\]").unwrap();
        ActRun {
            code: out.status.code().unwrap_or(-1),
            log: padded.replace_all(&log, "[$1]").into_owned(),
        }
    }

    /// A push of main's HEAD.
    fn push_event(&self) -> Value {
        let sha = self.git(&["rev-parse", "HEAD"]);
        json!({
            "ref": "refs/heads/main", "after": sha, "deleted": false,
            "repository": {"full_name": "acme/shop", "default_branch": "main"}
        })
    }

    /// Pull request 7 from `head_repo` (`acme/shop` for a branch of this repository): its head
    /// commit changes `apps/web` with `change`; GitHub's merge commit of it into main is
    /// `refs/pull/7/merge`, where the working clone's HEAD is left (act's `github.sha`).
    /// Returns the event and the base and head SHAs.
    fn pull_request(&self, head_repo: &str, change: impl FnOnce(&Shop)) -> (Value, String, String) {
        let base = self.git(&["rev-parse", "HEAD"]);
        self.git(&["checkout", "-q", "-b", "feature"]);
        change(self);
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", "the change"]);
        let head = self.git(&["rev-parse", "HEAD"]);
        self.git(&["checkout", "-q", "--detach", &base]);
        self.git(&["merge", "-q", "--no-ff", "-m", "Merge the change", &head]);
        let merge = self.git(&["rev-parse", "HEAD"]);
        self.git(&[
            "push",
            "-q",
            "origin",
            &format!("{head}:refs/pull/7/head"),
            &format!("{merge}:refs/pull/7/merge"),
        ]);
        let event = json!({
            "action": "synchronize",
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {"sha": head, "ref": "feature",
                         "repo": {"full_name": head_repo, "fork": head_repo != "acme/shop"}},
                "base": {"sha": base, "ref": "main",
                         "repo": {"full_name": "acme/shop", "fork": false}}
            },
            "repository": {"full_name": "acme/shop", "default_branch": "main"}
        });
        (event, base, head)
    }

    /// The image of Deployment `web` in `ns`.
    fn image(&self, ns: &str) -> String {
        let deployment = self
            .cluster
            .get("deployment", Some(ns), "web")
            .expect("deployment web");
        deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The admin token of the kubeconfig the runs use as a secret.
    fn token(&self) -> String {
        std::fs::read_to_string(&self.cluster.kubeconfig)
            .unwrap()
            .lines()
            .find_map(|l| l.trim().strip_prefix("token: "))
            .expect("the admin kubeconfig holds a token")
            .trim_matches('"')
            .to_string()
    }
}

/// App `web`: a Deployment of no replicas (healthy without a kubelet) whose image the deploy
/// workflow promotes, a ConfigMap and a Secret.
fn web(color: &str, password: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: 0\n\
         \x20 selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n\
         \x20   spec:\n      containers:\n        - name: main\n          image: registry.example.com/shop/web:1.0\n\
         ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings}}\ndata: {{color: {color}}}\n\
         ---\napiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\nstringData: {{password: {password}}}\n"
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// The release's checksum of its one archive.
fn release_digest() -> String {
    let sums = std::fs::read_to_string(release().join("v0.1.0/SHA256SUMS")).unwrap();
    sums.split_whitespace().next().unwrap().to_string()
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(SECRET),
        "the Secret's value is in the {what}"
    );
    assert!(
        !text.contains(&base64_of(SECRET)),
        "the Secret's base64 value is in the {what}"
    );
}

/// deploy.yml on a push to main: staging, then production, each with the image of the
/// commit; then the nightly drift.yml stays quiet (the promoted image is kept), until the
/// cluster drifts: then it opens one issue for that environment only.
#[test]
fn deploy_promotes_the_image_and_drift_stays_quiet_until_the_cluster_drifts() {
    let cluster = cluster();
    let shop = Shop::new(&cluster, "act-deploy");
    let sha = shop.git(&["rev-parse", "HEAD"]);

    let run = shop.act("push", &shop.push_event(), &shop.template("deploy.yml"), 1);
    assert_eq!(run.code, 0, "{}", run.log);
    for job in ["kpush deploy/staging", "kpush deploy/production"] {
        assert!(run.job_succeeded(job), "{}", run.log);
        let printed = run.printed(job);
        // Installed from the release, checked against its SHA256SUMS.
        assert!(
            printed.contains(&format!(
                "installed kpush v0.1.0 (x86_64-unknown-linux-gnu), sha256 {}",
                release_digest()
            )),
            "{printed}"
        );
        assert!(
            printed.contains(&format!("Images: registry.example.com/shop/web:{sha}")),
            "{printed}"
        );
    }
    // Production waits for staging.
    let staging_end = run.log.find("[kpush deploy/staging] 🏁").unwrap();
    let production_start = run.log.find("[kpush deploy/production] ⭐").unwrap();
    assert!(staging_end < production_start, "{}", run.log);
    for ns in [&shop.staging.name, &shop.prod.name] {
        assert_eq!(
            shop.image(ns),
            format!("registry.example.com/shop/web:{sha}")
        );
    }
    let summaries = run.summaries("kpush deploy/staging");
    assert_eq!(summaries.len(), 1, "{}", run.log);
    assert!(
        summaries[0].starts_with(&format!(
            "### kpush apply `web` (staging) → `{}`: 3 to create",
            shop.staging.name
        )),
        "{}",
        summaries[0]
    );
    assert_no_secret("log", &run.log);

    // The nightly check, with no image given: the promoted one is kept, nothing differs.
    let drift = shop.template("drift.yml");
    let run = shop.act("workflow_dispatch", &json!({}), &drift, 2);
    assert_eq!(run.code, 0, "{}", run.log);
    for leg in ["kpush drift/drift-1", "kpush drift/drift-2"] {
        assert!(run.job_succeeded(leg), "{}", run.log);
        let printed = run.printed(leg);
        assert!(
            printed.contains("Plan: 0 to create, 0 to update, 0 to prune, 3 unchanged"),
            "{printed}"
        );
        assert!(
            printed.contains(&format!(
                "Images: registry.example.com/shop/web:{sha} (kept from revision 1)"
            )),
            "{printed}"
        );
    }
    assert_eq!(shop.gh_calls(), "", "no issue for a cluster that matches");

    // Someone deletes staging's ConfigMap: that leg opens an issue (none is open yet). Someone
    // edits prod's by hand: without selfHeal that is a conflict with their field manager
    // (exit 1), which the prod leg reports as a failure, not as drift.
    cluster
        .kubectl(&["delete", "configmap", "settings", "-n", &shop.staging.name])
        .expect_code(0);
    cluster
        .kubectl(&[
            "patch",
            "configmap",
            "settings",
            "-n",
            &shop.prod.name,
            "--type=merge",
            "-p",
            r#"{"data":{"color":"red"}}"#,
        ])
        .expect_code(0);
    let run = shop.act("workflow_dispatch", &json!({}), &drift, 3);
    assert_ne!(run.code, 0, "{}", run.log);
    let annotate = "Annotate and open or update the drift issue";
    let fail = "Fail on errors other than drift";
    assert_eq!(
        run.step_succeeded("kpush drift/drift-1", annotate),
        Some(true),
        "{}",
        run.log
    );
    assert_eq!(
        run.step_succeeded("kpush drift/drift-1", fail),
        None,
        "{}",
        run.log
    );
    assert!(
        run.log.contains(
            "::warning title=kpush drift in staging::1 to create, 0 to update, 0 to prune"
        ),
        "{}",
        run.log
    );
    let calls = shop.gh_call_lines();
    assert_eq!(calls.len(), 2, "{}", shop.gh_calls());
    assert!(
        calls[0].starts_with(
            "gh | issue | list | --state | open | --search | \"kpush: drift in staging\" in:title"
        ),
        "{}",
        calls[0]
    );
    assert!(
        calls[1].starts_with(
            "gh | issue | create | --title | kpush: drift in staging | --body | \
             The cluster differs from main: 1 to create, 0 to update, 0 to prune."
        ),
        "{}",
        calls[1]
    );
    assert_eq!(
        run.step_succeeded("kpush drift/drift-2", annotate),
        None,
        "{}",
        run.log
    );
    assert_eq!(
        run.step_succeeded("kpush drift/drift-2", fail),
        Some(false),
        "{}",
        run.log
    );
    let printed = run.printed("kpush drift/drift-2");
    assert!(
        printed
            .contains("(Conflict) Apply failed with 1 conflict: conflict with \"kubectl-patch\""),
        "{printed}"
    );
    assert!(
        run.log
            .contains("[kpush drift/drift-2]   ❗  ::error title=kpush diff failed::exit code 1"),
        "{}",
        run.log
    );

    // The issue is open now: the next night comments on it instead.
    shop.gh_answer(
        "issue list",
        &json!([{"number": 41, "title": "kpush: drift in staging"}]),
    );
    let run = shop.act("workflow_dispatch", &json!({}), &drift, 4);
    assert_eq!(
        run.step_succeeded("kpush drift/drift-1", annotate),
        Some(true),
        "{}",
        run.log
    );
    let calls = shop.gh_call_lines();
    assert_eq!(calls.len(), 4, "{}", shop.gh_calls());
    assert!(
        calls[3].starts_with("gh | issue | comment | 41 | --body | The cluster differs from main"),
        "{}",
        calls[3]
    );
}

/// A manifest the server refuses fails the staging job with exit 3 and its annotation;
/// production never starts and nothing is written.
#[test]
fn deploy_stops_at_an_invalid_manifest_with_exit_3() {
    let cluster = cluster();
    let shop = Shop::new(&cluster, "act-invalid");
    shop.write(
        "apps/web/web.yaml",
        &web("blue", SECRET).replace("replicas: 0", "replicas: many"),
    );
    shop.commit("bad replicas");

    let run = shop.act("push", &shop.push_event(), &shop.template("deploy.yml"), 1);
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(!run.job_succeeded("kpush deploy/staging"), "{}", run.log);
    assert!(
        run.log
            .contains("::error file=apps/web/web.yaml,line=1,title=kpush%3A Deployment/"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("[kpush deploy/staging]   ⚙  ::set-output:: exit-code=3"),
        "{}",
        run.log
    );
    assert!(!run.ran("kpush deploy/production"), "{}", run.log);
    for ns in [&shop.staging.name, &shop.prod.name] {
        assert!(cluster.get("configmap", Some(ns), "settings").is_none());
    }
}

/// pr-diff.yml on a pull request of the repository itself: the live diff against staging,
/// in the job summary and as the one comment of this app and environment, edited in place
/// (a stale second part deleted); the fork job is skipped; no Secret value anywhere.
#[test]
fn a_pull_request_of_the_repository_gets_the_live_diff_as_one_comment() {
    let cluster = cluster();
    let shop = Shop::new(&cluster, "act-pr");
    cluster
        .kpush(
            shop.work().as_path(),
            &["apply", "--env", "staging", "--no-wait"],
        )
        .expect_code(0);
    let (event, _, _) = shop.pull_request("acme/shop", |shop| {
        shop.write("apps/web/web.yaml", &web("green", "hunter3-the-new-secret"));
    });
    let marker = |part: u32| format!("<!-- kpush-comment app=* env=staging path=. part={part} -->");
    shop.gh_answer(
        "api repos/acme/shop/issues/7/comments",
        &json!([
            {"id": 111, "body": format!("{}\nold plan", marker(1))},
            {"id": 222, "body": format!("{}\nold second part", marker(2))},
            {"id": 333, "body": "LGTM"}
        ]),
    );

    let run = shop.act("pull_request", &event, &shop.template("pr-diff.yml"), 1);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(run.job_succeeded("kpush diff/diff"), "{}", run.log);
    assert!(!run.ran("kpush diff/fork-diff"), "{}", run.log);

    let summaries = run.summaries("kpush diff/diff");
    assert_eq!(summaries.len(), 1, "{}", run.log);
    let summary = &summaries[0];
    assert!(
        summary.starts_with(&format!(
            "### kpush diff `web` (staging) → `{}`: 0 to create, 2 to update",
            shop.staging.name
        )),
        "{summary}"
    );
    assert!(summary.contains("+  color: green"), "{summary}");

    let calls = shop.gh_call_lines();
    assert_eq!(calls.len(), 3, "{}", shop.gh_calls());
    assert!(
        calls[0].starts_with("gh | api | --paginate | repos/acme/shop/issues/7/comments"),
        "{}",
        calls[0]
    );
    assert!(
        calls[1].starts_with(
            "gh | api | --method | PATCH | repos/acme/shop/issues/comments/111 | -F | body=@"
        ),
        "{}",
        calls[1]
    );
    assert_eq!(
        calls[2],
        "gh | api | --method | DELETE | repos/acme/shop/issues/comments/222"
    );
    let comments = shop.gh_calls();
    assert!(
        comments.contains(&format!("--- body\n{}\n", marker(1))),
        "{comments}"
    );
    assert!(comments.contains("+  color: green"), "{comments}");
    for (what, text) in [
        ("log", &run.log),
        ("summary", summary),
        ("comment", &comments),
    ] {
        assert_no_secret(what, text);
        assert!(
            !text.contains("hunter3-the-new-secret"),
            "the new Secret value is in the {what}"
        );
    }
}

/// A pull request from a fork, checked out one commit deep and with no secrets used: the
/// action fetches the base commit, the offline diff goes to the summary and the artifact
/// (Secret values masked); then pr-comment.yml, run by `workflow_run`, posts it with one
/// comment call, and posts nothing when the pull request has moved on.
#[test]
fn a_pull_request_from_a_fork_gets_the_offline_diff_and_one_comment() {
    let cluster = cluster();
    let shop = Shop::new(&cluster, "act-fork");
    let (event, base, head) = shop.pull_request("forker/shop", |shop| {
        shop.write("apps/web/web.yaml", &web("green", "hunter3-the-new-secret"));
    });

    let run = shop.act("pull_request", &event, &shop.template("pr-diff.yml"), 11);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(run.job_succeeded("kpush diff/fork-diff"), "{}", run.log);
    assert!(!run.ran("kpush diff/diff"), "{}", run.log);
    let printed = run.printed("kpush diff/fork-diff");
    assert!(printed.contains("shallow: true"), "{printed}");
    assert!(
        printed.contains(&format!(
            "commit {base} is not in the checkout: git fetch --depth=1 origin {base}"
        )),
        "{printed}"
    );
    assert!(
        printed.contains("Plan: 0 to create, 2 to update, 0 to prune, 1 unchanged"),
        "{printed}"
    );
    assert_eq!(shop.gh_calls(), "", "the fork's run calls no API");

    let artifact = shop.path("artifacts/11/kpush-diff");
    assert_eq!(
        std::fs::read_to_string(artifact.join("pr-number")).unwrap(),
        "7\n"
    );
    let diff = std::fs::read_to_string(artifact.join("diff.md")).unwrap();
    assert!(diff.starts_with("### kpush diff `web` (staging)"), "{diff}");
    assert!(diff.contains("-  color: blue\n+  color: green"), "{diff}");
    assert!(diff.contains("+  password: <changed, 22 bytes>"), "{diff}");
    for (what, text) in [("log", &run.log), ("artifact", &diff)] {
        assert_no_secret(what, text);
        assert!(
            !text.contains("hunter3-the-new-secret"),
            "the new Secret value is in the {what}"
        );
    }

    // The workflow_run that follows: one comment with the artifact's diff.
    let comment = shop.template("pr-comment.yml");
    let workflow_run = json!({
        "action": "completed",
        "workflow_run": {
            "id": 11, "event": "pull_request", "conclusion": "success", "head_sha": head,
            "html_url": "https://github.com/acme/shop/actions/runs/11",
            "head_repository": {"full_name": "forker/shop"}
        },
        "repository": {"full_name": "acme/shop", "default_branch": "main"}
    });
    shop.gh_answer(
        "api repos/acme/shop/pulls/7",
        &json!({"head": {"sha": head}}),
    );
    shop.gh_answer(
        "api repos/acme/shop/issues/7/comments",
        &json!([{"id": 5, "user": {"login": "someone"}, "body": "<!-- kpush-fork-diff -->\nnot ours"}]),
    );
    let run = shop.act("workflow_run", &workflow_run, &comment, 12);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(
        run.job_succeeded("kpush diff comment/comment"),
        "{}",
        run.log
    );
    let calls = shop.gh_call_lines();
    let posts: Vec<&String> = calls.iter().filter(|c| c.contains("--method")).collect();
    assert_eq!(posts.len(), 1, "{}", shop.gh_calls());
    assert!(
        posts[0].starts_with(
            "gh | api | --method | POST | repos/acme/shop/issues/7/comments | -F | body=@"
        ),
        "{}",
        posts[0]
    );
    let body = shop.gh_calls();
    let body = body.split("--- body\n").nth(1).unwrap();
    assert!(body.starts_with("<!-- kpush-fork-diff -->\n"), "{body}");
    assert!(body.contains(&diff), "{body}");
    assert!(
        body.contains(&format!("kpush, commit {}", &head[..7])),
        "{body}"
    );

    // The pull request has a newer head since: that run's diff is not posted.
    std::fs::remove_file(shop.path("gh/calls")).unwrap();
    shop.gh_answer(
        "api repos/acme/shop/pulls/7",
        &json!({"head": {"sha": "f".repeat(40)}}),
    );
    let run = shop.act("workflow_run", &workflow_run, &comment, 13);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(
        run.log.contains("which the diff run built: no comment"),
        "{}",
        run.log
    );
    assert_eq!(shop.gh_call_lines().len(), 1, "{}", shop.gh_calls());
}

/// A workflow of its own using the action: its outputs, the step summary, the credentials of
/// a base64 kubeconfig masked in every later line, `version: preinstalled`, and a render
/// error failing the step with exit 3 while the outputs are still set.
#[test]
fn the_action_sets_outputs_masks_credentials_and_fails_on_exit_3() {
    let cluster = cluster();
    let shop = Shop::new(&cluster, "act-action");
    let sha = shop.git(&["rev-parse", "HEAD"]);
    let token = shop.token();
    let workflow = shop.workflow(
        "action.yml",
        &format!(
            r#"name: action
on: push
jobs:
  diff:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v6
      - name: before
        env: {{TOKEN: "{token}"}}
        run: echo "token before kpush $TOKEN"
      - id: kpush
        uses: {ACTION}
        with:
          env: staging
          kubeconfig: ${{{{ secrets.KUBECONFIG_BASE64 }}}}
          comment-on-pr: true
          extra-args: |
            --concurrency 4
            --verify-unchanged
      - name: after
        if: always()
        env:
          TOKEN: "{token}"
          OUTPUTS: ${{{{ toJSON(steps.kpush.outputs) }}}}
          PLAN: ${{{{ steps.kpush.outputs.plan-markdown }}}}
        run: |
          echo "token after kpush $TOKEN"
          printf '%s' "$OUTPUTS" >"$RESULTS/outputs-$GITHUB_RUN_ID.json"
          if [ -n "$PLAN" ]; then cp "$PLAN" "$RESULTS/plan-$GITHUB_RUN_ID.md"; fi
"#
        ),
    );
    let run = shop.act("push", &shop.push_event(), &workflow, 1);
    assert_eq!(run.code, 0, "{}", run.log);
    let printed = run.printed("action/diff");
    assert!(
        printed.contains(&format!("token before kpush {token}\n")),
        "{printed}"
    );
    assert!(printed.contains("token after kpush ***\n"), "{printed}");
    assert!(
        printed.contains("comment-on-pr: not a pull_request event (push); no comment"),
        "{printed}"
    );
    assert_eq!(shop.gh_calls(), "");
    assert_eq!(
        run.log.matches(&token).count(),
        1,
        "the token shows only before the action masks it: {}",
        run.log
    );
    let outputs: Value = serde_json::from_str(
        &std::fs::read_to_string(shop.path("results/outputs-1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(outputs["changes"], "true", "{outputs}");
    assert_eq!(outputs["to-create"], "3");
    assert_eq!(outputs["to-update"], "0");
    assert_eq!(outputs["to-prune"], "0");
    assert_eq!(outputs["revision"], sha.as_str());
    assert_eq!(outputs["exit-code"], "0");
    let plan = std::fs::read_to_string(shop.path("results/plan-1.md")).unwrap();
    let summaries = run.summaries("action/diff");
    assert_eq!(summaries.len(), 1, "{}", run.log);
    assert_eq!(
        summaries[0].trim_end(),
        plan.trim_end(),
        "the summary is the plan"
    );
    assert!(plan.contains("| ➕ create | v1 `Secret` `db` |"), "{plan}");
    assert_no_secret("plan", &plan);
    assert_no_secret("log", &run.log);

    // The action by path, from a copy in the repository (`uses: ./...`), with kpush already on
    // the runner: `version: preinstalled` uses it, no release is fetched.
    copy_dir(
        &shop.path("kpush-action"),
        &shop.work().join(".github/actions/kpush"),
    );
    shop.commit("the action, vendored");
    let preinstalled = shop.path("preinstalled");
    std::fs::create_dir_all(&preinstalled).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_kpush"), preinstalled.join("kpush")).unwrap();
    let text = std::fs::read_to_string(&workflow)
        .unwrap()
        .replace(
            &format!("      - id: kpush\n        uses: {ACTION}\n"),
            &format!(
                "      - run: echo {} >>\"$GITHUB_PATH\"\n      - id: kpush\n        uses: ./.github/actions/kpush\n",
                preinstalled.display()
            ),
        )
        .replace(
            "          env: staging\n",
            "          env: staging\n          version: preinstalled\n",
        );
    assert!(text.contains("uses: ./.github/actions/kpush"), "{text}");
    let run = shop.act(
        "push",
        &shop.push_event(),
        &shop.workflow("by-path.yml", &text),
        2,
    );
    assert_eq!(run.code, 0, "{}", run.log);
    let printed = run.printed("action/diff");
    assert!(
        printed.contains(&format!("using {}/kpush (kpush ", preinstalled.display())),
        "{printed}"
    );
    assert!(printed.contains("token after kpush ***\n"), "{printed}");
    assert!(!printed.contains("installed kpush"), "{printed}");

    // A manifest that does not parse: exit 3, annotated, the outputs set all the same.
    shop.write("apps/web/broken.yaml", "kind: ConfigMap\nmetadata: [\n");
    shop.commit("broken");
    let run = shop.act("push", &shop.push_event(), &workflow, 3);
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(!run.job_succeeded("action/diff"), "{}", run.log);
    assert!(run.log.contains("::error title=kpush::"), "{}", run.log);
    assert!(run.log.contains("apps/web/broken.yaml"), "{}", run.log);
    assert!(run.log.contains("exit status 3"), "{}", run.log);
    let outputs: Value = serde_json::from_str(
        &std::fs::read_to_string(shop.path("results/outputs-3.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(outputs["exit-code"], "3", "{outputs}");
    assert_eq!(outputs["changes"], "false", "{outputs}");
}

/// teardown.yml when a pull request of the repository is closed: `kpush delete` of its review
/// app in namespace `pr-<number>`, from the base branch; a fork's pull request has none.
#[test]
fn teardown_deletes_the_review_app_of_a_closed_pull_request() {
    let cluster = cluster();
    let shop = Shop::new(&cluster, "act-teardown");
    // A pull-request number no other run uses: the namespace is `pr-<number>`.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let number = std::process::id() % 100_000 * 10_000 + nanos % 10_000;
    let ns = format!("pr-{number}");
    cluster
        .kubectl(&["create", "namespace", &ns])
        .expect_code(0);
    let _cleanup = cluster.cleanup("namespace", &ns);
    cluster
        .kpush(
            shop.work().as_path(),
            &["apply", "--env", "review", "-n", &ns, "--no-wait"],
        )
        .expect_code(0);
    assert!(cluster.get("configmap", Some(&ns), "settings").is_some());
    let closed = |head_repo: &str| {
        json!({
            "action": "closed",
            "number": number,
            "pull_request": {
                "number": number, "merged": true,
                "head": {"sha": "e".repeat(40), "ref": "feature", "repo": {"full_name": head_repo}},
                "base": {"sha": shop.git(&["rev-parse", "HEAD"]), "ref": "main",
                         "repo": {"full_name": "acme/shop"}}
            },
            "repository": {"full_name": "acme/shop", "default_branch": "main"}
        })
    };
    let teardown = shop.template("teardown.yml");

    let run = shop.act("pull_request", &closed("forker/shop"), &teardown, 1);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(!run.ran("kpush teardown/teardown"), "{}", run.log);
    assert!(cluster.get("configmap", Some(&ns), "settings").is_some());

    let run = shop.act("pull_request", &closed("acme/shop"), &teardown, 2);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(run.job_succeeded("kpush teardown/teardown"), "{}", run.log);
    for (kind, name) in [
        ("configmap", "settings"),
        ("secret", "db"),
        ("deployment", "web"),
    ] {
        assert!(
            cluster.get(kind, Some(&ns), name).is_none(),
            "{kind} {name} is left: {}",
            run.log
        );
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// deploy-with-approval.yml on a push to main: the plan job saves the plan (no Secret value in
/// it) and uploads it, the apply job applies exactly it and names it in its summary by commit
/// and sha256. Then the next push's plan is stale by the time it is approved (a ConfigMap
/// edited with kubectl while the apply job waits): the apply refuses it with exit 3, naming
/// the ConfigMap and who edited it, and writes nothing.
#[test]
fn deploy_with_approval_applies_the_saved_plan_or_nothing() {
    let cluster = cluster();
    let shop = Shop::new(&cluster, "act-approval");
    let prod = &shop.prod.name;
    let workflow = shop.template("deploy-with-approval.yml");
    let plan_job = "kpush deploy with approval/plan";
    let apply_job = "kpush deploy with approval/apply";
    let first = shop.git(&["rev-parse", "HEAD"]);

    let run = shop.act("push", &shop.push_event(), &workflow, 1);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(run.job_succeeded(plan_job), "{}", run.log);
    assert!(run.job_succeeded(apply_job), "{}", run.log);
    let plan_end = run.log.find(&format!("[{plan_job}] 🏁")).unwrap();
    let apply_start = run.log.find(&format!("[{apply_job}] ⭐")).unwrap();
    assert!(plan_end < apply_start, "{}", run.log);
    let text = std::fs::read_to_string(shop.path("artifacts/1/kpush-plan/kpush.plan.json"))
        .expect("the plan artifact");
    let plan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(plan["commit"], first.as_str(), "{text}");
    assert_no_secret("plan", &text);
    let named = format!(
        "plan `kpush.plan.json` of commit `{first}` (sha256 `{}`)",
        sha256_hex(text.as_bytes())
    );
    let summary = run.summaries(plan_job).join("");
    assert!(summary.contains(&format!("Saved {named}")), "{summary}");
    let summary = run.summaries(apply_job).join("");
    assert!(summary.contains(&format!("Applied {named}.")), "{summary}");
    assert!(
        summary.contains(&format!(
            "### kpush apply `web` (prod) → `{prod}`: 3 to create"
        )),
        "{summary}"
    );
    assert_eq!(
        shop.image(prod),
        format!("registry.example.com/shop/web:{first}")
    );
    let color = |ns: &str| {
        cluster.get("configmap", Some(ns), "settings").unwrap()["data"]["color"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(color(prod), "blue");
    assert_no_secret("log", &run.log);

    // The next push, approved after someone edited the ConfigMap the plan updates.
    shop.write("apps/web/web.yaml", &web("green", SECRET));
    shop.write(
        "apps/web/extra.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {a: b}\n",
    );
    let second = shop.commit("green, and extra");
    std::fs::write(shop.path("gate/closed"), "").unwrap();
    let run = std::thread::scope(|s| {
        let act = s.spawn(|| shop.act("push", &shop.push_event(), &workflow, 2));
        common::until("the apply job's wait", Duration::from_secs(120), || {
            shop.path("gate/waiting").exists() || act.is_finished()
        });
        cluster
            .kubectl(&[
                "patch",
                "configmap",
                "settings",
                "-n",
                prod,
                "--type=merge",
                "-p",
                r#"{"data":{"color":"red"}}"#,
            ])
            .expect_code(0);
        std::fs::remove_file(shop.path("gate/closed")).unwrap();
        act.join().unwrap()
    });
    assert_ne!(run.code, 0, "{}", run.log);
    assert!(run.job_succeeded(plan_job), "{}", run.log);
    assert!(!run.job_succeeded(apply_job), "{}", run.log);
    assert!(run.log.contains("exit status 3"), "{}", run.log);
    let printed = run.printed(apply_job);
    assert!(
        printed.contains(&format!(
            "v1 ConfigMap/{prod}/settings: changed since the plan: resourceVersion"
        )) && printed.contains("(last written by field manager `kubectl-patch`)"),
        "{printed}"
    );
    let text = std::fs::read_to_string(shop.path("artifacts/2/kpush-plan/kpush.plan.json"))
        .expect("the plan artifact");
    let summary = run.summaries(apply_job).join("");
    assert!(
        summary.contains(&format!(
            "Did not apply plan `kpush.plan.json` of commit `{second}` (sha256 `{}`): exit code 3, nothing was written.",
            sha256_hex(text.as_bytes())
        )),
        "{summary}"
    );
    // Nothing written: the edit stays, the new ConfigMap and image are not there.
    assert_eq!(color(prod), "red");
    assert!(cluster.get("configmap", Some(prod), "extra").is_none());
    assert_eq!(
        shop.image(prod),
        format!("registry.example.com/shop/web:{first}")
    );
}
