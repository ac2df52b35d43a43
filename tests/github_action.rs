//! The GitHub Action's scripts (`action.yml`, `action/`) where a real runner cannot reach:
//! the steps run as a runner would run them, with the runner's files faked, stand-ins for
//! `git` and `kpush` that record their calls, and a `gh` stand-in that records its calls and
//! runs the real `jq` on the comment list it is given. `tests/act.rs` runs the action and
//! the example workflows under nektos/act against the test control plane.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Where the action lives: this repository's root.
fn action_dir() -> PathBuf {
    common::checkout()
}

const TOKEN: &str = "ghs_fake_token_for_the_comment_step";

/// Evaluates the expressions the action uses: `inputs.*`, `github.*` and `steps.*.outputs.*`.
fn expand(text: &str, inputs: &HashMap<String, String>, steps: &HashMap<String, String>) -> String {
    let re = regex::Regex::new(r"\$\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}").unwrap();
    re.replace_all(text, |c: &regex::Captures| {
        let name = &c[1];
        if let Some(input) = name.strip_prefix("inputs.") {
            inputs
                .get(input)
                .unwrap_or_else(|| panic!("action.yml reads an undeclared input `{input}`"))
                .clone()
        } else if name.starts_with("steps.") {
            steps.get(name).cloned().unwrap_or_default()
        } else {
            match name {
                "github.token" => TOKEN.to_string(),
                "github.action_ref" => "v0.0.0-test".to_string(),
                "github.action_repository" => "kpush/kpush".to_string(),
                other => panic!("the test does not know the expression `{other}`"),
            }
        }
    })
    .into_owned()
}

/// What one run of the action left behind.
struct ActionRun {
    /// The failing step's exit code, or 0.
    code: i32,
    log: String,
    outputs: HashMap<String, String>,
}

/// The fake runner: a temp dir with the runner's files, and a `gh` stand-in.
struct Runner {
    dir: tempfile::TempDir,
    event_name: String,
    /// The comments `gh api .../comments` lists, as GitHub's API returns them.
    comments: Value,
}

impl Runner {
    fn new(event_name: &str) -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let gh = bin.join("gh");
        std::fs::write(
            &gh,
            r#"#!/usr/bin/env bash
# Records each call (one line, arguments separated by " | ") and each body it sends.
set -euo pipefail
( IFS='|'; echo "gh|$*" | sed 's/|/ | /g' ) >>"$GH_STUB_LOG"
jq_filter=""
for ((i = 1; i <= $#; i++)); do
  a="${!i}"
  case "$a" in
    body=@*) { echo "--- body"; cat "${a#body=@}"; echo "--- end"; } >>"$GH_STUB_LOG" ;;
    --jq) j=$((i + 1)); jq_filter="${!j}" ;;
  esac
done
[[ -n "${GH_TOKEN:-}" ]] || { echo "gh: GH_TOKEN is not set" >&2; exit 4; }
if [[ -n "$jq_filter" ]]; then jq -r "$jq_filter" "$GH_STUB_COMMENTS"; fi
"#,
        )
        .unwrap();
        make_executable(&gh);
        let event = serde_json::json!({"pull_request": {"number": 7}, "number": 7});
        std::fs::write(dir.path().join("event.json"), event.to_string()).unwrap();
        Runner {
            dir,
            event_name: event_name.to_string(),
            comments: serde_json::json!([]),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The variables every step gets.
    fn env(&self, command: &mut Command) {
        let kpush_dir = Path::new(env!("CARGO_BIN_EXE_kpush")).parent().unwrap();
        let path = format!(
            "{}:{}:{}",
            self.path("bin").display(),
            kpush_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        command
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", action_dir())
            .env("GITHUB_EVENT_NAME", &self.event_name)
            .env("GITHUB_EVENT_PATH", self.path("event.json"))
            .env("GITHUB_REPOSITORY", "acme/shop")
            .env("GITHUB_SERVER_URL", "https://github.com")
            .env("GITHUB_RUN_ID", "4242")
            .env("GITHUB_SHA", "0123456789abcdef")
            .env("GITHUB_STEP_SUMMARY", self.path("summary.md"))
            .env("GITHUB_PATH", self.path("path"))
            .env("RUNNER_TEMP", self.path("tmp"))
            .env("GH_STUB_LOG", self.path("gh.log"))
            .env("GH_STUB_COMMENTS", self.path("comments.json"));
    }

    /// Runs every step of action.yml in `workspace` the way a composite action runs them.
    fn run(&self, workspace: &Path, given: &[(&str, &str)]) -> ActionRun {
        let _ = std::fs::create_dir(self.path("tmp"));
        std::fs::write(self.path("comments.json"), self.comments.to_string()).unwrap();
        let text = std::fs::read_to_string(action_dir().join("action.yml")).unwrap();
        let action: Value = serde_saphyr::from_str(&text).expect("action.yml parses");

        let mut inputs = HashMap::new();
        for (name, spec) in action["inputs"].as_object().expect("inputs") {
            let default = spec["default"].as_str().unwrap_or_default();
            inputs.insert(name.clone(), default.to_string());
        }
        for (name, value) in given {
            assert!(
                inputs.contains_key(*name),
                "action.yml has no input `{name}`"
            );
            inputs.insert(name.to_string(), value.to_string());
        }
        let defaults = inputs.clone();
        for value in inputs.values_mut() {
            *value = expand(value, &defaults, &HashMap::new());
        }

        let mut steps = HashMap::new();
        let mut log = String::new();
        let mut code = 0;
        for step in action["runs"]["steps"].as_array().expect("steps") {
            assert_eq!(step["shell"], "bash", "every step runs in bash");
            let output = self.path("output");
            std::fs::write(&output, "").unwrap();
            let mut command = Command::new("bash");
            self.env(&mut command);
            command
                .args(["--noprofile", "--norc", "-eo", "pipefail", "-c"])
                .arg(step["run"].as_str().expect("run"))
                .current_dir(workspace)
                .env("GITHUB_OUTPUT", &output);
            if let Some(env) = step["env"].as_object() {
                for (k, v) in env {
                    command.env(k, expand(v.as_str().unwrap(), &inputs, &steps));
                }
            }
            let out = command.output().unwrap();
            log.push_str(&String::from_utf8_lossy(&out.stdout));
            log.push_str(&String::from_utf8_lossy(&out.stderr));
            if let Some(id) = step["id"].as_str() {
                for line in std::fs::read_to_string(&output).unwrap().lines() {
                    if let Some((k, v)) = line.split_once('=') {
                        steps.insert(format!("steps.{id}.outputs.{k}"), v.to_string());
                    }
                }
            }
            code = out.status.code().unwrap_or(-1);
            if code != 0 {
                break;
            }
        }
        let mut outputs = HashMap::new();
        for (name, spec) in action["outputs"].as_object().expect("outputs") {
            let value = expand(spec["value"].as_str().unwrap(), &inputs, &steps);
            outputs.insert(name.clone(), value);
        }
        ActionRun { code, log, outputs }
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn marker(part: u32) -> String {
    format!("<!-- kpush-comment app=* env=* path=app part={part} -->")
}

/// `delete` gets only the flags `kpush delete` takes (it refuses `--prune` and `--atomic`);
/// a stand-in kpush records them. Other commands are refused before kpush runs.
#[test]
fn delete_runs_with_the_flags_delete_takes() {
    let runner = Runner::new("pull_request");
    let stub = runner.path("bin/kpush");
    std::fs::write(
        &stub,
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" >>\"$RUNNER_TEMP/kpush-args\"\n",
    )
    .unwrap();
    make_executable(&stub);
    let workspace = tempfile::tempdir().unwrap();
    let run = runner.run(
        workspace.path(),
        &[
            ("version", "preinstalled"),
            ("command", "delete"),
            ("env", "review"),
            ("namespace", "pr-7"),
            ("dry-run", "true"),
            ("prune", "true"),
            ("atomic", "true"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.log);
    assert_eq!(run.outputs["exit-code"], "0");
    let recorded = std::fs::read_to_string(runner.path("tmp/kpush-args")).unwrap();
    // The install step's `kpush --version` first, then the run.
    let args: Vec<&str> = recorded
        .lines()
        .skip_while(|a| *a == "--version")
        .filter(|a| *a != "--report-to" && !a.contains(':'))
        .collect();
    assert_eq!(
        args,
        [
            "delete",
            "--env",
            "review",
            "-n",
            "pr-7",
            "--dry-run",
            "--timeout",
            "5m"
        ],
        "{recorded}"
    );

    let run = runner.run(
        workspace.path(),
        &[("version", "preinstalled"), ("command", "destroy")],
    );
    assert_eq!(run.code, 3, "{}", run.log);
    assert!(
        run.log
            .contains("the command input must be diff, apply, rollback or delete"),
        "{}",
        run.log
    );
}

/// Stand-ins for a shallow checkout: a `git` that records its calls in `$RUNNER_TEMP/git-calls`
/// and holds only the commits listed in `$RUNNER_TEMP/git-has` (`cat-file -e SHA^{commit}`),
/// whose `fetch` fails when `$RUNNER_TEMP/git-fetch-fails` exists; and a `kpush` that records
/// its arguments in `$RUNNER_TEMP/kpush-args`.
fn shallow_checkout(runner: &Runner, has: &[&str]) {
    let git = runner.path("bin/git");
    std::fs::write(
        &git,
        r#"#!/usr/bin/env bash
printf '%s\n' "$*" >>"$RUNNER_TEMP/git-calls"
for a in "$@"; do
  if [[ "$a" == *'^{commit}' ]]; then
    grep -qxF "${a%%[!0-9a-f]*}" "$RUNNER_TEMP/git-has"
    exit
  fi
done
if [[ "$*" == *--is-shallow-repository* ]]; then
  [[ -e "$RUNNER_TEMP/git-shallow" ]] && echo true || echo false
  exit
fi
if [[ -e "$RUNNER_TEMP/git-fetch-fails" ]]; then
  echo "fatal: could not read from remote repository" >&2
  exit 128
fi
"#,
    )
    .unwrap();
    make_executable(&git);
    let kpush = runner.path("bin/kpush");
    std::fs::write(
        &kpush,
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" >>\"$RUNNER_TEMP/kpush-args\"\n",
    )
    .unwrap();
    make_executable(&kpush);
    std::fs::create_dir_all(runner.path("tmp")).unwrap();
    let listed: String = has.iter().map(|sha| format!("{sha}\n")).collect();
    std::fs::write(runner.path("tmp/git-has"), listed).unwrap();
    for name in ["git-calls", "kpush-args", "git-fetch-fails", "git-shallow"] {
        let _ = std::fs::remove_file(runner.path("tmp").join(name));
    }
}

/// A file the stand-ins wrote in `$RUNNER_TEMP`, or "" when they wrote none.
fn recorded(runner: &Runner, name: &str) -> String {
    std::fs::read_to_string(runner.path("tmp").join(name)).unwrap_or_default()
}

/// `from` and `to` make a commit-to-commit diff; a full SHA the checkout lacks (the base
/// commit, in a depth-1 checkout) is fetched first, and only then.
#[test]
fn a_commit_to_commit_diff_fetches_the_base_commit_only_when_it_is_missing() {
    let base = "1".repeat(40);
    let head = "2".repeat(40);
    let runner = Runner::new("pull_request");
    let workspace = tempfile::tempdir().unwrap();
    let given = [
        ("version", "preinstalled"),
        ("command", "diff"),
        ("path", "app"),
        ("from", base.as_str()),
        ("to", head.as_str()),
    ];

    // A depth-1 checkout holds the head only: the base is fetched by its SHA.
    shallow_checkout(&runner, &[head.as_str()]);
    let run = runner.run(workspace.path(), &given);
    assert_eq!(run.code, 0, "{}", run.log);
    let calls = recorded(&runner, "git-calls");
    let fetches: Vec<&str> = calls.lines().filter(|l| l.contains(" fetch ")).collect();
    assert_eq!(fetches.len(), 1, "{calls}");
    assert!(
        fetches[0].contains("--depth=1") && fetches[0].ends_with(&format!("origin {base}")),
        "{calls}"
    );
    let args = recorded(&runner, "kpush-args");
    assert!(
        args.contains(&format!("\ndiff\napp\n--from\n{base}\n--to\n{head}\n")),
        "{args}"
    );

    // A full checkout holds both: nothing is fetched.
    shallow_checkout(&runner, &[base.as_str(), head.as_str()]);
    let run = runner.run(workspace.path(), &given);
    assert_eq!(run.code, 0, "{}", run.log);
    let calls = recorded(&runner, "git-calls");
    assert_eq!(calls.matches("cat-file -e").count(), 2, "{calls}");
    assert!(!calls.contains(" fetch "), "{calls}");

    // A fetch that fails is a warning; kpush runs and its own error says what is missing.
    shallow_checkout(&runner, &[head.as_str()]);
    std::fs::write(runner.path("tmp/git-fetch-fails"), "").unwrap();
    let run = runner.run(workspace.path(), &given);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(
        run.log.contains(&format!(
            "::warning title=kpush::could not fetch commit {base}"
        )),
        "{}",
        run.log
    );
    assert!(recorded(&runner, "kpush-args").contains("\n--from\n"));

    // Revisions that are not full SHAs (a branch, EMPTY) are left to kpush; `to` defaults to
    // HEAD.
    for from in ["origin/main", "EMPTY"] {
        shallow_checkout(&runner, &[]);
        let run = runner.run(
            workspace.path(),
            &[
                ("version", "preinstalled"),
                ("command", "diff"),
                ("from", from),
            ],
        );
        assert_eq!(run.code, 0, "{}", run.log);
        assert_eq!(recorded(&runner, "git-calls"), "", "{from}");
        let args = recorded(&runner, "kpush-args");
        assert!(
            args.contains(&format!("\n--from\n{from}\n--to\nHEAD\n")),
            "{args}"
        );
    }
}

/// A rollback to a known commit (`to`) fetches it when the checkout lacks it: a deploy
/// recorded without a snapshot is rendered again from it.
#[test]
fn a_rollback_to_a_known_commit_fetches_it_when_missing() {
    let target = "3".repeat(40);
    let runner = Runner::new("push");
    let workspace = tempfile::tempdir().unwrap();
    shallow_checkout(&runner, &[]);
    let run = runner.run(
        workspace.path(),
        &[
            ("version", "preinstalled"),
            ("command", "rollback"),
            ("path", "app"),
            ("to", &target),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.log);
    let calls = recorded(&runner, "git-calls");
    assert!(
        calls
            .lines()
            .any(|l| l.contains(" fetch ") && l.ends_with(&format!("origin {target}"))),
        "{calls}"
    );
    let args = recorded(&runner, "kpush-args");
    assert!(
        args.contains(&format!("\nrollback\napp\n--to\n{target}\n")),
        "{args}"
    );

    // `from` is for diff only; apply takes neither.
    for (command, input) in [("rollback", "from"), ("apply", "to")] {
        shallow_checkout(&runner, &[]);
        let run = runner.run(
            workspace.path(),
            &[
                ("version", "preinstalled"),
                ("command", command),
                (input, &target),
            ],
        );
        assert_eq!(run.code, 3, "{command} with {input}: {}", run.log);
        assert!(run.log.contains("::error title=kpush::"), "{}", run.log);
        assert_eq!(recorded(&runner, "git-calls"), "");
    }
}

#[test]
fn a_plan_over_the_comment_limit_is_posted_in_numbered_parts() {
    let runner = Runner::new("pull_request");
    std::fs::write(runner.path("comments.json"), "[]").unwrap();
    let plan = runner.path("plan.md");
    let line = format!(
        "| + | v1 `ConfigMap` `{}` | web | `app/a.yaml` |\n",
        "x".repeat(60)
    );
    std::fs::write(&plan, line.repeat(1000)).unwrap();
    let mut command = Command::new(action_dir().join("action/comment.sh"));
    runner.env(&mut command);
    let out = command
        .arg(&plan)
        .env("GH_TOKEN", TOKEN)
        .env("INPUT_PATH", "app")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(runner.path("gh.log")).unwrap();
    let bodies: Vec<&str> = log
        .split("--- body\n")
        .skip(1)
        .map(|b| b.split("--- end\n").next().unwrap())
        .collect();
    assert_eq!(bodies.len(), 2, "{log:.2000}");
    for (i, body) in bodies.iter().enumerate() {
        assert!(body.starts_with(&marker(i as u32 + 1)), "{body:.200}");
        assert!(body.contains(&format!("_Part {} of 2._", i + 1)));
        assert!(body.chars().count() < 65_536);
    }
    let rows: usize = bodies.iter().map(|b| b.matches("| + |").count()).sum();
    assert_eq!(rows, 1000, "every row is posted once");
    assert_eq!(
        log.matches("--method | POST | repos/acme/shop/issues/7/comments")
            .count(),
        2
    );
}

/// The install step against a release laid out on disk: checked, unpacked, put on PATH.
#[test]
fn install_checks_the_release_checksum() {
    let runner = Runner::new("push");
    let release = runner.path("releases/v9.8.7");
    std::fs::create_dir_all(&release).unwrap();
    let staging = runner.path("staging");
    std::fs::create_dir(&staging).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_kpush"), staging.join("kpush")).unwrap();
    let asset = "kpush-9.8.7-x86_64-unknown-linux-gnu.tar.gz";
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(release.join(asset))
        .arg("-C")
        .arg(&staging)
        .arg("kpush")
        .status()
        .unwrap();
    assert!(tar.success());
    let sum = Command::new("sha256sum")
        .arg(release.join(asset))
        .output()
        .unwrap();
    let sum = String::from_utf8(sum.stdout).unwrap();
    let digest = sum.split_whitespace().next().unwrap().to_string();

    let install = |sums: &str, version: &str| {
        std::fs::write(release.join("SHA256SUMS"), sums).unwrap();
        let _ = std::fs::create_dir(runner.path("tmp"));
        let _ = std::fs::remove_file(runner.path("path"));
        let mut command = Command::new(action_dir().join("action/install.sh"));
        runner.env(&mut command);
        command
            .env("KPUSH_VERSION", version)
            .env(
                "KPUSH_DOWNLOAD_BASE",
                format!("file://{}", runner.path("releases").display()),
            )
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .output()
            .unwrap()
    };

    let out = install(&format!("{digest}  {asset}\n"), "v9.8.7");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dir = std::fs::read_to_string(runner.path("path")).unwrap();
    let installed = Path::new(dir.trim()).join("kpush");
    let version = Command::new(&installed).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("kpush "));

    let wrong = format!("{}  {asset}\n", "0".repeat(64));
    let out = install(&wrong, "v9.8.7");
    assert_eq!(out.status.code(), Some(1));
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("::error title=kpush::checksum mismatch"),
        "{log}"
    );
    assert!(!runner.path("path").exists(), "nothing is put on PATH");

    let out = install("", "main");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("use the action at a release tag"));
}

#[test]
fn a_deploy_from_a_shallow_checkout_fetches_the_history_first() {
    let runner = Runner::new("push");
    let workspace = tempfile::tempdir().unwrap();
    let given = [
        ("version", "preinstalled"),
        ("command", "apply"),
        ("path", "app"),
    ];
    shallow_checkout(&runner, &[]);
    std::fs::write(runner.path("tmp/git-shallow"), "").unwrap();
    let run = runner.run(workspace.path(), &given);
    assert_eq!(run.code, 0, "{}", run.log);
    let calls = recorded(&runner, "git-calls");
    assert!(
        calls.contains("fetch --quiet --no-tags --unshallow origin"),
        "{calls}"
    );

    // A full checkout: nothing to fetch. A diff never deepens.
    shallow_checkout(&runner, &[]);
    let run = runner.run(workspace.path(), &given);
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(!recorded(&runner, "git-calls").contains(" fetch "));
    shallow_checkout(&runner, &[]);
    std::fs::write(runner.path("tmp/git-shallow"), "").unwrap();
    let run = runner.run(
        workspace.path(),
        &[("version", "preinstalled"), ("command", "diff")],
    );
    assert_eq!(run.code, 0, "{}", run.log);
    assert!(!recorded(&runner, "git-calls").contains("unshallow"));
}

/// `save-plan` reaches `kpush diff` and `plan` reaches `kpush apply`, each refused with another
/// command; the step summary and the `plan-sha256` output name the plan by its commit and
/// digest, and say so when it was not applied.
#[test]
fn a_saved_plan_is_named_by_commit_and_digest() {
    let runner = Runner::new("push");
    let workspace = tempfile::tempdir().unwrap();
    shallow_checkout(&runner, &[]);
    // Records its arguments, writes a plan for --save-plan, exits with `$RUNNER_TEMP/kpush-exit`.
    let kpush = runner.path("bin/kpush");
    std::fs::write(
        &kpush,
        r#"#!/usr/bin/env bash
[[ "$1" == --version ]] && { echo "kpush 0.1.0"; exit 0; }
printf '%s\n' "$@" >>"$RUNNER_TEMP/kpush-args"
while (($#)); do
  [[ "$1" == --save-plan ]] && printf '{\n  "format": "kpush.dev/plan/v1",\n  "commit": "%s"\n}\n' "$(printf 'c%.0s' {1..40})" >"$2"
  shift
done
exit "$(cat "$RUNNER_TEMP/kpush-exit" 2>/dev/null || echo 0)"
"#,
    )
    .unwrap();
    make_executable(&kpush);
    let commit = "c".repeat(40);
    let plan = workspace.path().join("kpush.plan.json");
    let digest = || {
        let out = Command::new("sha256sum").arg(&plan).output().unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    let summary = || std::fs::read_to_string(runner.path("summary.md")).unwrap_or_default();
    let plan_path = plan.to_str().unwrap();

    let run = runner.run(
        workspace.path(),
        &[
            ("version", "preinstalled"),
            ("command", "diff"),
            ("save-plan", plan_path),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.log);
    let args = recorded(&runner, "kpush-args");
    assert!(
        args.starts_with(&format!("diff\n--save-plan\n{plan_path}\n")),
        "{args}"
    );
    assert_eq!(run.outputs["plan-sha256"], digest());
    let named = format!(
        "plan `kpush.plan.json` of commit `{commit}` (sha256 `{}`)",
        digest()
    );
    assert!(
        summary().contains(&format!("Saved {named}")),
        "{}",
        summary()
    );

    for (exit, said) in [
        ("0", format!("Applied {named}.")),
        (
            "3",
            format!("Did not apply {named}: exit code 3, nothing was written."),
        ),
    ] {
        std::fs::write(runner.path("tmp/kpush-exit"), exit).unwrap();
        std::fs::remove_file(runner.path("tmp/kpush-args")).unwrap();
        let run = runner.run(
            workspace.path(),
            &[
                ("version", "preinstalled"),
                ("command", "apply"),
                ("plan", plan_path),
            ],
        );
        assert_eq!(run.code.to_string(), exit, "{}", run.log);
        assert!(
            recorded(&runner, "kpush-args").starts_with(&format!("apply\n--plan\n{plan_path}\n")),
            "{}",
            recorded(&runner, "kpush-args")
        );
        assert_eq!(run.outputs["plan-sha256"], digest());
        assert!(summary().contains(&said), "{}", summary());
    }

    for (command, input, message) in [
        (
            "diff",
            "plan",
            "the plan input applies to apply only, not to diff",
        ),
        (
            "apply",
            "save-plan",
            "the save-plan input applies to diff only, not to apply",
        ),
    ] {
        let run = runner.run(
            workspace.path(),
            &[
                ("version", "preinstalled"),
                ("command", command),
                (input, plan_path),
            ],
        );
        assert_eq!(run.code, 3, "{}", run.log);
        assert!(run.log.contains(message), "{}", run.log);
    }
}
