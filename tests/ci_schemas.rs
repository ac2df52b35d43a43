//! The CI integration files (the GitHub action, example workflows, the GitLab
//! component and include file, the Bitbucket pipeline) and the README's CI
//! snippets validate against each CI system's published schema, as vendored by
//! check-jsonschema; the Bitbucket pipe's entrypoint maps its variables to
//! kpush arguments as pipe.yml documents. No cluster needed. Files are written with a `.yml`
//! name: the extension tells check-jsonschema they are YAML.

mod common;

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::write_file;
use regex::Regex;
use serde_json::Value;

fn repo() -> PathBuf {
    common::checkout()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs check-jsonschema with one of its vendored schemas (`vendor.NAME`).
fn check_jsonschema(schema: &str, files: &[PathBuf]) -> Output {
    assert!(!files.is_empty(), "no files to check against {schema}");
    let mut command = Command::new("check-jsonschema");
    command.args(["--builtin-schema", schema]);
    if schema == "vendor.gitlab-ci" {
        // As GitLab reads it: `!reference` tags, and Ruby-style regexes in rules.
        command.args([
            "--data-transform",
            "gitlab-ci",
            "--regex-variant",
            "nonunicode",
        ]);
    }
    command.args(files);
    match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == ErrorKind::NotFound => panic!(
            "check-jsonschema is not on PATH: run scripts/control-plane/install-peers and put \
             the directory it prints on PATH (scripts/test does both)"
        ),
        Err(e) => panic!("cannot run check-jsonschema: {e}"),
    }
}

fn assert_valid(schema: &str, files: &[PathBuf]) {
    let output = check_jsonschema(schema, files);
    assert!(
        output.status.success(),
        "{} against {schema}:\n{}{}",
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn checker_rejects_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    // `step` instead of `steps`, and a job without runs-on.
    let workflow = write_file(
        dir.path(),
        "broken.yml",
        "on: push\njobs:\n  build:\n    step:\n      - run: echo\n",
    );
    let output = check_jsonschema("vendor.github-workflows", &[workflow]);
    assert!(!output.status.success(), "a broken workflow passed");
    // A GitLab job with a misspelt keyword.
    let job = write_file(
        dir.path(),
        "broken-gitlab.yml",
        "deploy:\n  scirpt: [kpush apply]\n",
    );
    let output = check_jsonschema("vendor.gitlab-ci", &[job]);
    assert!(!output.status.success(), "a broken GitLab job passed");
    // And the same checker accepts a correct file, so the failures above are the schema's.
    let good = write_file(
        dir.path(),
        "good-gitlab.yml",
        "deploy:\n  script: [kpush apply]\n",
    );
    assert_valid("vendor.gitlab-ci", &[good]);
}

#[test]
fn github_action_metadata_is_valid() {
    let action = repo().join("action.yml");
    assert!(action.exists(), "{} is missing", action.display());
    assert_valid("vendor.github-actions", &[action]);
}

#[test]
fn github_example_workflows_are_valid() {
    let dir = repo().join("ci-templates/github");
    let mut workflows: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    workflows.sort();
    let names: Vec<String> = workflows
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "deploy.yml",
        "deploy-with-approval.yml",
        "drift.yml",
        "image-update.yml",
        "pr-comment.yml",
        "pr-diff.yml",
        "teardown.yml",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    assert_valid("vendor.github-workflows", &workflows);
}

/// The teardown workflow holds credentials that can delete: it runs for pull requests of
/// this repository only, and checks out the base branch, never the pull request's head.
#[test]
fn github_teardown_runs_only_code_of_the_base_branch() {
    let path = repo().join("ci-templates/github/teardown.yml");
    let workflow: Value = serde_saphyr::from_str(&read(&path)).unwrap();
    let on = &workflow["on"];
    assert_eq!(on["pull_request"]["types"], serde_json::json!(["closed"]));
    assert!(on.get("pull_request_target").is_none(), "{on}");
    let jobs = workflow["jobs"].as_object().expect("jobs");
    assert!(!jobs.is_empty());
    for (name, job) in jobs {
        let condition = job["if"].as_str().unwrap_or_default();
        assert!(
            condition
                .contains("github.event.pull_request.head.repo.full_name == github.repository"),
            "job `{name}` runs for forks too: if: {condition:?}"
        );
        let steps = job["steps"].as_array().expect("steps");
        let uses = |step: &Value, prefix: &str| {
            step["uses"].as_str().is_some_and(|u| u.starts_with(prefix))
        };
        let checkouts: Vec<&Value> = steps
            .iter()
            .filter(|s| uses(s, "actions/checkout@"))
            .collect();
        assert!(!checkouts.is_empty(), "job `{name}` checks nothing out");
        for checkout in checkouts {
            let reference = checkout["with"]["ref"].as_str().unwrap_or_default();
            assert!(
                reference.contains("github.event.pull_request.base."),
                "job `{name}` checks out {reference:?}, not the base branch"
            );
            assert_eq!(checkout["with"]["persist-credentials"], false);
        }
        assert!(
            steps
                .iter()
                .any(|s| uses(s, "OWNER/kpush@") && s["with"]["command"] == "delete"),
            "job `{name}` runs no kpush delete"
        );
    }
}

/// Pull requests from forks get the offline diff from a job that holds no secret and can only
/// read; it hands the report on as an artifact. Pull requests of the repository keep the live
/// diff and its comment.
#[test]
fn github_fork_pull_requests_get_the_offline_diff_without_secrets() {
    let path = repo().join("ci-templates/github/pr-diff.yml");
    let workflow: Value = serde_saphyr::from_str(&read(&path)).unwrap();
    let jobs = workflow["jobs"].as_object().expect("jobs");
    let condition = |job: &Value, test: &str| {
        job["if"].as_str().is_some_and(|c| {
            c.contains(&format!(
                "github.event.pull_request.head.repo.full_name {test} github.repository"
            ))
        })
    };
    let forks: Vec<(&String, &Value)> = jobs
        .iter()
        .filter(|(_, job)| condition(job, "!="))
        .collect();
    assert_eq!(
        forks.len(),
        1,
        "one job for pull requests from forks: {jobs:?}"
    );
    let (name, job) = forks[0];
    let text = serde_json::to_string(job).unwrap();
    assert!(
        !text.contains("secrets."),
        "job `{name}` reads a secret: {text}"
    );
    assert_eq!(
        job["permissions"],
        serde_json::json!({"contents": "read"}),
        "job `{name}`"
    );
    let steps = job["steps"].as_array().expect("steps");
    let step = |prefix: &str| {
        steps
            .iter()
            .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
    };
    let kpush = step("OWNER/kpush@").expect("the fork job runs kpush");
    assert_eq!(kpush["with"]["command"], "diff", "{kpush}");
    assert!(
        kpush["with"]["from"]
            .as_str()
            .is_some_and(|f| f.contains("github.event.pull_request.base.sha")),
        "{kpush}"
    );
    assert!(kpush["with"].get("kubeconfig").is_none(), "{kpush}");
    let upload = step("actions/upload-artifact@").expect("the fork job uploads the report");
    assert_eq!(upload["with"]["name"], "kpush-diff", "{upload}");
    assert_eq!(upload["if"], "always()", "{upload}");

    let own: Vec<&Value> = jobs.values().filter(|job| condition(job, "==")).collect();
    assert_eq!(
        own.len(),
        1,
        "one job for pull requests of the repository: {jobs:?}"
    );
    let live = own[0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("OWNER/kpush@"))
        })
        .expect("the job runs kpush");
    assert!(live["with"].get("from").is_none(), "{live}");
    assert_eq!(live["with"]["comment-on-pr"], true, "{live}");
}

/// The comment poster runs with a token that can write: it starts only from the diff
/// workflow's runs, never checks out or runs the pull request's code, and never splices an
/// expression into a script.
#[test]
fn github_fork_diff_comment_runs_none_of_the_pull_requests_code() {
    let dir = repo().join("ci-templates/github");
    let diff: Value = serde_saphyr::from_str(&read(&dir.join("pr-diff.yml"))).unwrap();
    let text = read(&dir.join("pr-comment.yml"));
    assert!(!text.contains("actions/checkout"), "{text}");
    let workflow: Value = serde_saphyr::from_str(&text).unwrap();
    let on = &workflow["on"];
    assert_eq!(
        on.as_object().map(|o| o.len()),
        Some(1),
        "only workflow_run: {on}"
    );
    let diff_name = diff["name"].as_str().expect("pr-diff.yml has a name");
    assert_eq!(
        on["workflow_run"]["workflows"],
        serde_json::json!([diff_name])
    );
    assert_eq!(
        on["workflow_run"]["types"],
        serde_json::json!(["completed"])
    );
    assert_eq!(
        workflow["permissions"],
        serde_json::json!({"pull-requests": "write", "actions": "read"})
    );
    let jobs = workflow["jobs"].as_object().expect("jobs");
    assert!(!jobs.is_empty());
    for (name, job) in jobs {
        let steps = job["steps"].as_array().expect("steps");
        for step in steps {
            let uses = step["uses"].as_str().unwrap_or_default();
            assert!(
                uses.is_empty() || uses.starts_with("actions/download-artifact@"),
                "job `{name}` runs the action {uses}"
            );
            if let Some(script) = step["run"].as_str() {
                assert!(
                    !script.contains("${{"),
                    "job `{name}` splices an expression into its script: {script}"
                );
            }
        }
        let download = steps
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/download-artifact@"))
            })
            .expect("the job downloads the artifact");
        assert_eq!(download["with"]["name"], "kpush-diff", "{download}");
        assert!(
            download["with"]["run-id"]
                .as_str()
                .is_some_and(|r| r.contains("github.event.workflow_run.id")),
            "{download}"
        );
        assert!(download["with"]["github-token"].is_string(), "{download}");
        let script: String = steps.iter().filter_map(|s| s["run"].as_str()).collect();
        assert!(
            script.contains("=~ ^[0-9]"),
            "the pull-request number is not checked: {script}"
        );
        assert!(
            script.contains("body=@"),
            "the body does not reach gh as a file: {script}"
        );
    }
}

/// A GitLab CI/CD component: its `spec:` header and the jobs after `---`.
struct Component {
    header: String,
    body: String,
    inputs: serde_json::Map<String, Value>,
}

fn component(text: &str) -> Component {
    let (header, body) = text
        .split_once("\n---\n")
        .expect("a component has a spec header, then `---`, then its jobs");
    let spec: Value = serde_saphyr::from_str(header).expect("the spec header is YAML");
    let inputs = spec["spec"]["inputs"]
        .as_object()
        .expect("spec:inputs is a map")
        .clone();
    Component {
        header: header.to_string(),
        body: body.to_string(),
        inputs,
    }
}

/// The jobs as GitLab interpolates them: each `$[[ inputs.NAME ]]` replaced by
/// `given[NAME]`, else the input's default. Unknown inputs and inputs without a
/// value are errors, as they are to GitLab.
fn interpolate(component: &Component, given: &[(&str, &str)]) -> Result<String, String> {
    let block = Regex::new(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]").unwrap();
    let mut error = None;
    let text = block.replace_all(&component.body, |c: &regex::Captures| {
        let name = &c[1];
        if let Some((_, v)) = given.iter().find(|(n, _)| *n == name) {
            return v.to_string();
        }
        match component.inputs.get(name).map(|i| &i["default"]) {
            None => error
                .get_or_insert(format!("unknown input `{name}`"))
                .clone(),
            Some(Value::Null) => error
                .get_or_insert(format!("input `{name}` has no value"))
                .clone(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(text.into_owned()),
    }
}

/// Top-level keys of a YAML mapping, read from the lines that start one.
fn top_level_keys(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter(|l| !l.starts_with([' ', '#', '-']) && !l.is_empty())
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, _)| k.trim_matches('"').to_string())
        })
        .collect()
}

#[test]
fn gitlab_component_is_valid_with_its_default_inputs() {
    let path = repo().join("ci-templates/gitlab/templates/kpush.yml");
    let component = component(&read(&path));

    // Every input is described and used, and every use names an input.
    let used: BTreeSet<String> = Regex::new(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")
        .unwrap()
        .captures_iter(&component.body)
        .map(|c| c[1].to_string())
        .collect();
    let declared: BTreeSet<String> = component.inputs.keys().cloned().collect();
    assert_eq!(
        used, declared,
        "inputs used in the jobs vs declared in spec:inputs"
    );
    for (name, input) in &component.inputs {
        assert!(
            input["description"].is_string(),
            "input `{name}` has no description"
        );
    }

    // Nothing that would change the including pipeline beyond its own jobs.
    let keys = top_level_keys(&component.body);
    for global in [
        "default",
        "variables",
        "stages",
        "include",
        "workflow",
        "image",
        "cache",
    ] {
        assert!(
            !keys.iter().any(|k| k == global),
            "top-level `{global}:` in {keys:?}"
        );
    }
    assert!(
        keys.iter()
            .all(|k| k.starts_with("$[[ inputs.job-prefix ]]-")),
        "job names not prefixed with the job-prefix input: {keys:?}"
    );

    // `image` is the one input without a default.
    let jobs = interpolate(&component, &[]).unwrap_err();
    assert_eq!(jobs, "input `image` has no value");
    let image = [("image", "registry.example.com/tools/kpush:0.1.0-debug")];
    let jobs = interpolate(&component, &image).unwrap();
    let renamed = interpolate(
        &component,
        &[
            image[0],
            ("job-prefix", "kpush-prod"),
            ("apply-when", "manual"),
        ],
    )
    .unwrap();
    assert!(renamed.contains("\nkpush-prod-diff:") && renamed.contains("\nkpush-prod-apply:"));
    // Review apps: the apply job's environment stops with the stop job, which names the
    // same environment.
    let review = interpolate(
        &component,
        &[
            image[0],
            ("job-prefix", "kpush-review"),
            ("review", "true"),
            ("environment", "review/$CI_COMMIT_REF_SLUG"),
            ("namespace", "review-$CI_MERGE_REQUEST_IID"),
            ("deployment-tier", "development"),
            ("delete-args", "--confirm-prune-namespaces"),
        ],
    )
    .unwrap();
    let parsed: Value = serde_saphyr::from_str(&review).expect("the review jobs are YAML");
    let apply = &parsed["kpush-review-apply"]["environment"];
    let stop = &parsed["kpush-review-stop"]["environment"];
    assert_eq!(apply["on_stop"], "kpush-review-stop", "{apply}");
    assert_eq!(stop["action"], "stop", "{stop}");
    assert_eq!(stop["name"], apply["name"]);
    assert!(review.contains("kpush delete \"$@\""), "{review}");
    // The approval gate: where the apply runs, by hand, with the plan job's artifact only.
    let approval = interpolate(
        &component,
        &[image[0], ("job-prefix", "kpush-prod"), ("approval", "true")],
    )
    .unwrap();
    let parsed: Value = serde_saphyr::from_str(&approval).expect("the approval jobs are YAML");
    let rules = parsed["kpush-prod-apply"]["rules"].as_array().unwrap();
    for rule in rules.iter().filter(|r| r["when"] == "manual") {
        assert_eq!(
            rule["needs"],
            serde_json::json!([{"job": "kpush-prod-plan", "artifacts": true}]),
            "{rule}"
        );
    }
    assert_eq!(rules.iter().filter(|r| r["when"] == "manual").count(), 2);
    assert_eq!(
        parsed["kpush-prod-plan"]["environment"]["action"], "access",
        "the plan job records no deployment"
    );
    let plan_artifacts = &parsed["kpush-prod-plan"]["artifacts"];
    assert!(
        plan_artifacts["paths"]
            .as_array()
            .unwrap()
            .contains(&Value::from("kpush-prod.plan.json")),
        "{plan_artifacts}"
    );
    assert_eq!(
        plan_artifacts["reports"]["terraform"],
        "kpush-prod-plan.json"
    );

    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        write_file(dir.path(), "header.yml", &component.header),
        write_file(dir.path(), "jobs.yml", &jobs),
        write_file(dir.path(), "renamed.yml", &renamed),
        write_file(dir.path(), "review.yml", &review),
        write_file(dir.path(), "approval.yml", &approval),
    ];
    assert_valid("vendor.gitlab-ci", &files);
}

/// Without cluster credentials the component's merge-request diff compares the merge
/// request's base commit with the commit built, and fetches the base commit when the clone
/// lacks it; with a kubeconfig it stays the diff against the cluster.
#[test]
fn gitlab_merge_request_diff_without_credentials_compares_commits() {
    let path = repo().join("ci-templates/gitlab/templates/kpush.yml");
    let component = component(&read(&path));
    let image = [("image", "registry.example.com/tools/kpush:0.1.0-debug")];
    let jobs = interpolate(&component, &image).unwrap();
    let parsed: Value = serde_saphyr::from_str(&jobs).expect("the jobs are YAML");
    let lines: Vec<&str> = parsed["kpush-diff"]["script"]
        .as_array()
        .expect("the diff job has a script")
        .iter()
        .map(|line| line.as_str().expect("script lines are strings"))
        .collect();
    let script = lines.join("\n");

    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    for (name, text) in [
        (
            "kpush",
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n",
        ),
        ("git", STUB_GIT),
    ] {
        let stub = write_file(dir.path(), name, text);
        std::fs::set_permissions(stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(dir.path().join("git-has"), "").unwrap();
    let base = "b".repeat(40);
    let head = "c".repeat(40);
    let run = |extra: &[(&str, &str)]| {
        let output = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
            .env("GIT_STUB_DIR", dir.path())
            .env("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base)
            .env("CI_COMMIT_SHA", &head)
            .envs(extra.iter().copied())
            .current_dir(dir.path())
            .output()
            .expect("sh runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    let stdout = run(&[]);
    assert!(
        stdout.contains(&format!("\n--from={base}\n--to={head}\n")),
        "{stdout}"
    );
    let calls = std::fs::read_to_string(dir.path().join("git-calls")).unwrap_or_default();
    assert!(
        calls
            .lines()
            .any(|l| l.contains("fetch") && l.ends_with(&format!("origin {base}"))),
        "{calls}"
    );
    std::fs::remove_file(dir.path().join("git-calls")).unwrap();

    let stdout = run(&[("KUBECONFIG", "/builds/kubeconfig")]);
    assert!(!stdout.contains("--from"), "{stdout}");
    assert!(!dir.path().join("git-calls").exists());
}

/// A stand-in kpush for the GitLab jobs: prints one argument per line, writes dotenv lines like
/// kpush's to each `--report-to=dotenv:PATH`, and exits with `$KPUSH_STUB_EXIT` (0 unless set).
const STUB_KPUSH_DOTENV: &str = r##"#!/bin/sh
for a in "$@"; do
  printf '%s\n' "$a"
  case $a in
    --report-to=dotenv:*)
      printf 'KPUSH_CHANGES=true\nKPUSH_TO_CREATE=1\nKPUSH_TO_UPDATE=0\nKPUSH_TO_PRUNE=0\n' >"${a#*:}"
      printf 'KPUSH_UNCHANGED=2\nKPUSH_INVALID=0\nKPUSH_REVISION=0123abc\n' >>"${a#*:}"
      printf 'KPUSH_EXIT_CODE=%s\n' "${KPUSH_STUB_EXIT:-0}" >>"${a#*:}"
      ;;
  esac
done
exit "${KPUSH_STUB_EXIT:-0}"
"##;

/// The stand-in's dotenv report with each variable named `{prefix}NAME` for `KPUSH_NAME`.
fn stub_dotenv(prefix: &str, exit_code: i32) -> String {
    let mut text = String::new();
    for line in [
        "CHANGES=true",
        "TO_CREATE=1",
        "TO_UPDATE=0",
        "TO_PRUNE=0",
        "UNCHANGED=2",
        "INVALID=0",
        "REVISION=0123abc",
    ] {
        text.push_str(&format!("{prefix}{line}\n"));
    }
    text + &format!("{prefix}EXIT_CODE={exit_code}\n")
}

/// Runs one job of the interpolated component as GitLab's shell would: its script lines as one
/// `sh -e` script, its variables and `env` in the environment, in `dir`, whose stand-ins come
/// first on PATH. Returns the exit code and what the script printed.
fn run_gitlab_job(jobs: &Value, name: &str, dir: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let job = &jobs[name];
    let script: Vec<&str> = job["script"]
        .as_array()
        .unwrap_or_else(|| panic!("job `{name}` has no script"))
        .iter()
        .map(|line| line.as_str().expect("script lines are strings"))
        .collect();
    let variables: Vec<(&String, &str)> = job["variables"]
        .as_object()
        .unwrap_or_else(|| panic!("job `{name}` has no variables"))
        .iter()
        .map(|(k, v)| (k, v.as_str().expect("variables are strings")))
        .collect();
    let output = Command::new("sh")
        .arg("-e")
        .arg("-c")
        .arg(script.join("\n"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
        .envs(variables)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("sh runs");
    assert!(
        output.stderr.is_empty(),
        "job `{name}`: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The diff job passes `extra-args` and `diff-args`, the apply job `extra-args` and
/// `apply-args`, the stop job `delete-args` alone: no job gets another's. Each job names its
/// dotenv variables after the job prefix once kpush has run, whatever its exit code, which the
/// job then exits with; two inclusions with different prefixes give later jobs distinct
/// variables.
#[test]
fn gitlab_jobs_pass_their_own_args_and_name_dotenv_variables_after_the_prefix() {
    let path = repo().join("ci-templates/gitlab/templates/kpush.yml");
    let component = component(&read(&path));
    let dir = tempfile::tempdir().unwrap();
    let stub = write_file(dir.path(), "kpush", STUB_KPUSH_DOTENV);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(stub, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut names: Vec<BTreeSet<String>> = Vec::new();
    for (prefix, renamed) in [
        ("staging", "KPUSH_STAGING_"),
        ("kpush-prod", "KPUSH_PROD_"),
        ("kpush", "KPUSH_"),
    ] {
        let jobs = interpolate(
            &component,
            &[
                ("image", "registry.example.com/tools/kpush:0.1.0-debug"),
                ("job-prefix", prefix),
                ("extra-args", "--create-namespace"),
                ("diff-args", "--from EMPTY --to HEAD"),
                ("apply-args", "--no-wait --run-tests"),
                ("delete-args", "--confirm-prune-crds"),
            ],
        )
        .unwrap();
        let jobs: Value = serde_saphyr::from_str(&jobs).expect("the jobs are YAML");
        let diff = format!("{prefix}-diff");
        let apply = format!("{prefix}-apply");
        let stop = format!("{prefix}-stop");
        assert!(
            jobs[diff.as_str()]["variables"]
                .get("KPUSH_CI_APPLY_ARGS")
                .is_none(),
            "{jobs}"
        );
        assert!(
            jobs[apply.as_str()]["variables"]
                .get("KPUSH_CI_DIFF_ARGS")
                .is_none(),
            "{jobs}"
        );

        let (code, stdout) = run_gitlab_job(&jobs, &diff, dir.path(), &[("KPUSH_STUB_EXIT", "2")]);
        assert_eq!(code, 2, "{stdout}");
        let args: Vec<&str> = stdout.lines().collect();
        assert!(args.starts_with(&["diff", "--exit-code"]), "{stdout}");
        for wanted in ["--create-namespace", "--from", "EMPTY", "--to", "HEAD"] {
            assert!(args.contains(&wanted), "{diff} lacks {wanted}: {stdout}");
        }
        for unwanted in ["--no-wait", "--run-tests", "--confirm-prune-crds"] {
            assert!(!args.contains(&unwanted), "{diff} got {unwanted}: {stdout}");
        }

        let (code, stdout) = run_gitlab_job(&jobs, &apply, dir.path(), &[("KPUSH_STUB_EXIT", "4")]);
        assert_eq!(code, 4, "{stdout}");
        let args: Vec<&str> = stdout.lines().collect();
        assert!(args.starts_with(&["apply"]), "{stdout}");
        for wanted in ["--create-namespace", "--no-wait", "--run-tests"] {
            assert!(args.contains(&wanted), "{apply} lacks {wanted}: {stdout}");
        }
        for unwanted in [
            "--exit-code",
            "--from",
            "EMPTY",
            "--to",
            "HEAD",
            "--confirm-prune-crds",
        ] {
            assert!(
                !args.contains(&unwanted),
                "{apply} got {unwanted}: {stdout}"
            );
        }

        let (code, stdout) = run_gitlab_job(&jobs, &stop, dir.path(), &[("KPUSH_STUB_EXIT", "1")]);
        assert_eq!(code, 1, "{stdout}");
        let args: Vec<&str> = stdout.lines().collect();
        assert!(args.starts_with(&["delete"]), "{stdout}");
        assert!(args.contains(&"--confirm-prune-crds"), "{stdout}");
        for unwanted in ["--create-namespace", "--no-wait", "--run-tests", "--from"] {
            assert!(!args.contains(&unwanted), "{stop} got {unwanted}: {stdout}");
        }

        for (report, code) in [("diff", 2), ("apply", 4), ("delete", 1)] {
            let file = format!("{prefix}-{report}.env");
            assert_eq!(
                read(&dir.path().join(&file)),
                stub_dotenv(renamed, code),
                "{file}"
            );
        }
        let apply_env = read(&dir.path().join(format!("{prefix}-apply.env")));
        names.push(
            apply_env
                .lines()
                .map(|line| line.split_once('=').expect("NAME=VALUE").0.to_string())
                .collect(),
        );
    }
    // Included twice (or three times): no variable of one inclusion is one of another's.
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            assert!(a.is_disjoint(b), "{a:?} and {b:?}");
        }
    }
}

/// With `approval`, the plan job saves the plan with the apply's arguments (`extra-args`, not
/// `diff-args`: the apply must render what it rendered) and the apply job applies that file;
/// without it, the apply job takes no plan.
#[test]
fn gitlab_plan_job_saves_the_plan_the_apply_job_applies() {
    let path = repo().join("ci-templates/gitlab/templates/kpush.yml");
    let component = component(&read(&path));
    let dir = tempfile::tempdir().unwrap();
    let stub = write_file(dir.path(), "kpush", STUB_KPUSH_DOTENV);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let jobs = |approval: &str| -> Value {
        let text = interpolate(
            &component,
            &[
                ("image", "registry.example.com/tools/kpush:0.1.0-debug"),
                ("job-prefix", "kpush-prod"),
                ("approval", approval),
                ("prune", "true"),
                ("extra-args", "--create-namespace"),
                ("diff-args", "--from EMPTY --to HEAD"),
                ("apply-args", "--no-wait"),
            ],
        )
        .unwrap();
        serde_saphyr::from_str(&text).expect("the jobs are YAML")
    };

    let approval = jobs("true");
    let (code, stdout) = run_gitlab_job(&approval, "kpush-prod-plan", dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}");
    let args: Vec<&str> = stdout.lines().collect();
    assert!(args.starts_with(&["diff"]), "{stdout}");
    for wanted in [
        "--prune",
        "--create-namespace",
        "--save-plan=kpush-prod.plan.json",
        "--report-to=gitlab-terraform:kpush-prod-plan.json",
    ] {
        assert!(
            args.contains(&wanted),
            "the plan job lacks {wanted}: {stdout}"
        );
    }
    for unwanted in ["--from", "EMPTY", "--exit-code", "--no-wait"] {
        assert!(
            !args.contains(&unwanted),
            "the plan job got {unwanted}: {stdout}"
        );
    }
    assert_eq!(
        read(&dir.path().join("kpush-prod-diff.env")),
        stub_dotenv("KPUSH_PROD_", 0)
    );

    let (code, stdout) = run_gitlab_job(&approval, "kpush-prod-apply", dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}");
    let args: Vec<&str> = stdout.lines().collect();
    for wanted in [
        "--prune",
        "--create-namespace",
        "--no-wait",
        "--plan=kpush-prod.plan.json",
    ] {
        assert!(
            args.contains(&wanted),
            "the apply job lacks {wanted}: {stdout}"
        );
    }

    let (code, stdout) = run_gitlab_job(&jobs("false"), "kpush-prod-apply", dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("--plan"), "{stdout}");
}

#[test]
fn gitlab_include_file_is_valid() {
    let path = repo().join("ci-templates/gitlab/kpush.gitlab-ci.yml");
    let keys = top_level_keys(&read(&path));
    assert!(
        keys.iter().all(|k| k.starts_with('.')),
        "the include file defines only hidden jobs: {keys:?}"
    );
    assert_valid("vendor.gitlab-ci", &[path]);
}

#[test]
fn bitbucket_example_pipeline_is_valid() {
    assert_valid(
        "vendor.bitbucket-pipelines",
        &[repo().join("ci-templates/bitbucket/bitbucket-pipelines.yml")],
    );
}

/// The README's CI snippets: each fenced yaml block after a
/// `<!-- checked: SCHEMA -->` line, with that schema.
fn readme_snippets(readme: &str) -> Vec<(String, String)> {
    let mut snippets = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(schema) = line
            .trim()
            .strip_prefix("<!-- checked: ")
            .and_then(|s| s.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().unwrap_or_default();
        assert_eq!(
            fence, "```yaml",
            "`{line}` must come right before a ```yaml block"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
        snippets.push((schema.to_string(), body.join("\n") + "\n"));
    }
    snippets
}

#[test]
fn readme_ci_snippets_are_valid() {
    let readme = read(&repo().join("README.md"));
    let section = readme
        .split_once("\n## Running in CI\n")
        .expect("README has a `## Running in CI` section")
        .1;
    let section = section.split_once("\n## ").map_or(section, |(s, _)| s);
    let snippets = readme_snippets(section);

    // Every yaml block of the section is checked, so none can drift unnoticed.
    let blocks = section.lines().filter(|l| *l == "```yaml").count();
    assert_eq!(
        blocks,
        snippets.len(),
        "a ```yaml block without a checked marker"
    );
    let schemas: BTreeSet<&str> = snippets.iter().map(|(s, _)| s.as_str()).collect();
    for expected in [
        "vendor.github-workflows",
        "vendor.gitlab-ci",
        "vendor.bitbucket-pipelines",
    ] {
        assert!(
            schemas.contains(expected),
            "no README snippet checked against {expected}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    for schema in schemas {
        let files: Vec<PathBuf> = snippets
            .iter()
            .enumerate()
            .filter(|(_, (s, _))| s == schema)
            .map(|(i, (_, body))| write_file(dir.path(), &format!("snippet-{i}.yml"), body))
            .collect();
        assert_valid(schema, &files);
    }
}

/// Runs the pipe's entrypoint with `sh`, a stub kpush that prints one argument
/// per line, and only the given environment (as Bitbucket passes only the
/// pipe's variables).
fn run_pipe(env: &[(&str, &str)]) -> (i32, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    run_pipe_in(dir.path(), env)
}

/// `run_pipe` with the stub kpush in `dir`, first on PATH with any other stand-in put there,
/// and the clone in `dir/clone`. The pipe runs under dash and again under busybox sh with only
/// busybox's tools on PATH (the small images pipes are built on): both must pass the same
/// arguments and exit the same way.
fn run_pipe_in(dir: &Path, env: &[(&str, &str)]) -> (i32, Vec<String>, String) {
    let stub = dir.join("kpush");
    std::fs::write(
        &stub,
        "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let clone = dir.join("clone");
    std::fs::create_dir_all(&clone).unwrap();
    let run = |shell: &[&str], path: String| {
        let output = Command::new(shell[0])
            .args(&shell[1..])
            .arg(repo().join("ci-templates/bitbucket/pipe.sh"))
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("BITBUCKET_CLONE_DIR", &clone)
            .envs(env.iter().copied())
            .output()
            .expect("the shell runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        // The first line echoes the command; the stub prints the rest.
        let args: Vec<String> = stdout.lines().skip(1).map(str::to_string).collect();
        (
            output.status.code().unwrap_or(-1),
            args,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // Busybox first; what its run leaves in `dir` (the stand-ins' records) is removed, so that
    // the test reads what the dash run did.
    let applets = busybox_applets(dir);
    let before = files_in(dir);
    let sh = applets.join("sh");
    let busybox = run(
        &[sh.to_str().unwrap()],
        format!("{}:{}", dir.display(), applets.display()),
    );
    for file in files_in(dir).difference(&before) {
        let _ = std::fs::remove_file(file);
    }
    let dash = run(&["sh"], format!("{}:/usr/bin:/bin", dir.display()));
    // Temp file names differ from run to run.
    let same = |args: &[String]| -> Vec<String> {
        args.iter()
            .map(|a| match a.strip_prefix("--kubeconfig=/") {
                Some(_) => "--kubeconfig=<temp file>".to_string(),
                None => a.clone(),
            })
            .collect()
    };
    assert_eq!(
        (dash.0, same(&dash.1)),
        (busybox.0, same(&busybox.1)),
        "dash and busybox sh differ; busybox stderr: {}",
        busybox.2
    );
    dash
}

/// Every file under `dir` but busybox's applets.
fn files_in(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    let mut found = std::collections::BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.ends_with("busybox-bin") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else {
                found.insert(path);
            }
        }
    }
    found
}

/// A directory of busybox's applets (`sh`, `base64`, `mktemp`, ...) and nothing else.
fn busybox_applets(dir: &Path) -> PathBuf {
    let applets = dir.join("busybox-bin");
    if applets.exists() {
        return applets;
    }
    std::fs::create_dir_all(&applets).unwrap();
    let busybox = Command::new("sh")
        .args(["-c", "command -v busybox"])
        .output()
        .expect("sh runs");
    let busybox = String::from_utf8_lossy(&busybox.stdout).trim().to_string();
    assert!(
        !busybox.is_empty(),
        "busybox is not installed (scripts/control-plane/install-peers installs it)"
    );
    let list = Command::new(&busybox)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let _ = std::os::unix::fs::symlink(&busybox, applets.join(applet));
    }
    applets
}

#[test]
fn bitbucket_pipe_passes_each_variable_as_one_argument() {
    let (code, args, stderr) = run_pipe(&[
        ("COMMAND", "apply"),
        ("APP_PATH", "apps/web"),
        ("APP", "web"),
        ("ENV", "prod env"),
        ("PRUNE", "true"),
        ("ATOMIC", "true"),
        ("TIMEOUT", "10m"),
        ("REPORT_DIR", ""),
        // Split on whitespace, never globbed.
        ("EXTRA_ARGS", "--set  a=b *"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        args,
        [
            "apply",
            "--trust-repo-owner",
            "apps/web",
            "--app=web",
            "--env=prod env",
            "--prune",
            "--atomic",
            "--timeout=10m",
            "--set",
            "a=b",
            "*"
        ]
    );

    // A kubeconfig given as base64 content is written to a private file.
    let (code, args, stderr) = run_pipe(&[("KUBECONFIG", "YXBpVmVyc2lvbjogdjEK")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        args.iter().any(|a| a.starts_with("--kubeconfig=/")),
        "{args:?}"
    );
    assert!(
        args.iter()
            .any(|a| a == "--report-to=dotenv:kpush-reports/kpush.env")
    );

    for (env, message) in [
        (
            ("COMMAND", "destroy"),
            "COMMAND must be diff, apply, rollback or delete",
        ),
        (
            ("TIMEOUT", "5m"),
            "TIMEOUT applies to apply, rollback and delete only",
        ),
        (("EXTRA_ARGS_COUNT", "2"), "EXTRA_ARGS must be one string"),
        (("KUBECONFIG", "not a kubeconfig!"), "KUBECONFIG is neither"),
    ] {
        let (code, _, stderr) = run_pipe(&[env]);
        assert_eq!(code, 3, "{env:?}: {stderr}");
        assert!(stderr.contains(message), "{env:?}: {stderr}");
    }
}

#[test]
fn bitbucket_pipe_runs_delete_with_the_flags_delete_takes() {
    let (code, args, stderr) = run_pipe(&[
        ("COMMAND", "delete"),
        ("ENV", "review"),
        ("NAMESPACE", "pr-42"),
        ("DRY_RUN", "true"),
        ("TIMEOUT", "10m"),
        ("REPORT_DIR", ""),
        ("EXTRA_ARGS", "--confirm-prune-namespaces"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        args,
        [
            "delete",
            "--trust-repo-owner",
            "--env=review",
            "--namespace=pr-42",
            "--dry-run",
            "--timeout=10m",
            "--confirm-prune-namespaces",
        ]
    );

    // Flags `kpush delete` does not take are refused before it runs.
    for (env, message) in [
        (
            ("PRUNE", "true"),
            "PRUNE applies to diff, apply and rollback only",
        ),
        (
            ("ATOMIC", "true"),
            "ATOMIC applies to apply and rollback only",
        ),
    ] {
        let (code, _, stderr) = run_pipe(&[("COMMAND", "delete"), env]);
        assert_eq!(code, 3, "{env:?}: {stderr}");
        assert!(stderr.contains(message), "{env:?}: {stderr}");
    }
}

/// SAVE_PLAN goes to diff as `--save-plan`, PLAN to apply as `--plan`, each one argument;
/// either with another command is refused. A pull request's diff that saves a plan is the
/// cluster's: no commit-to-commit fallback without a kubeconfig.
#[test]
fn bitbucket_pipe_saves_and_applies_a_plan() {
    let (code, args, stderr) = run_pipe(&[
        ("COMMAND", "diff"),
        ("SAVE_PLAN", "kpush.plan.json"),
        ("REPORT_DIR", ""),
        ("BITBUCKET_PR_DESTINATION_COMMIT", &"d".repeat(40)),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        args,
        ["diff", "--trust-repo-owner", "--save-plan=kpush.plan.json"]
    );

    let (code, args, stderr) = run_pipe(&[
        ("COMMAND", "apply"),
        ("PLAN", "-plan file.json"),
        ("ATOMIC", "true"),
        ("REPORT_DIR", ""),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        args,
        [
            "apply",
            "--trust-repo-owner",
            "--atomic",
            "--plan=-plan file.json"
        ]
    );

    for (env, message) in [
        (
            [("COMMAND", "apply"), ("SAVE_PLAN", "p.json")],
            "SAVE_PLAN applies to diff only",
        ),
        (
            [("COMMAND", "diff"), ("PLAN", "p.json")],
            "PLAN applies to apply only",
        ),
        (
            [("COMMAND", "rollback"), ("PLAN", "p.json")],
            "PLAN applies to apply only",
        ),
    ] {
        let (code, _, stderr) = run_pipe(&env);
        assert_eq!(code, 3, "{env:?}: {stderr}");
        assert!(stderr.contains(message), "{env:?}: {stderr}");
    }
}

/// A stand-in git for the pipe: records each call in `$GIT_STUB_DIR/git-calls`;
/// `cat-file -e SHA^{commit}` finds only the commits listed in `$GIT_STUB_DIR/git-has`.
const STUB_GIT: &str = r#"#!/bin/sh
printf '%s\n' "$*" >>"$GIT_STUB_DIR/git-calls"
for a in "$@"; do
  case $a in
    *'^{commit}')
      sha=$(printf '%s\n' "$a" | sed 's/[^0-9a-f].*//')
      grep -qxF "$sha" "$GIT_STUB_DIR/git-has"
      exit
      ;;
  esac
done
"#;

/// A pull-request pipeline's diff without a kubeconfig compares the destination commit with
/// the commit checked out; a clone that lacks the destination commit fetches it first.
#[test]
fn bitbucket_pipe_fetches_the_pull_requests_destination_commit() {
    let dir = tempfile::tempdir().unwrap();
    let git = dir.path().join("git");
    std::fs::write(&git, STUB_GIT).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
    let stubs = dir.path().to_str().unwrap();
    let calls = || {
        let path = dir.path().join("git-calls");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        text
    };
    let destination = "d".repeat(40);
    let from = format!("--from={destination}");
    let env = [
        ("BITBUCKET_PR_DESTINATION_COMMIT", destination.as_str()),
        ("GIT_STUB_DIR", stubs),
        ("REPORT_DIR", ""),
    ];

    // The clone does not reach the destination commit: fetched by its SHA, then compared.
    std::fs::write(dir.path().join("git-has"), "").unwrap();
    let (code, args, stderr) = run_pipe_in(dir.path(), &env);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        args,
        ["diff", "--trust-repo-owner", from.as_str(), "--to=HEAD"]
    );
    let recorded = calls();
    let fetches: Vec<&str> = recorded.lines().filter(|l| l.contains("fetch")).collect();
    assert_eq!(fetches.len(), 1, "{recorded}");
    assert!(
        fetches[0].contains("--depth=1") && fetches[0].ends_with(&format!("origin {destination}")),
        "{recorded}"
    );
    assert!(
        stderr.contains(&format!("commit {destination} is not in the clone")),
        "{stderr}"
    );

    // The clone holds it (the destination is merged into it): nothing is fetched.
    std::fs::write(dir.path().join("git-has"), format!("{destination}\n")).unwrap();
    let (code, args, stderr) = run_pipe_in(dir.path(), &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(args.contains(&from), "{args:?}");
    let recorded = calls();
    assert!(recorded.contains("cat-file"), "{recorded}");
    assert!(!recorded.contains("fetch"), "{recorded}");

    // With a kubeconfig the diff is the live one: no commit to compare, nothing to fetch.
    let mut live = env.to_vec();
    live.push(("KUBECONFIG", "YXBpVmVyc2lvbjogdjEK"));
    let (code, args, stderr) = run_pipe_in(dir.path(), &live);
    assert_eq!(code, 0, "{stderr}");
    assert!(!args.iter().any(|a| a.starts_with("--from")), "{args:?}");
    assert_eq!(calls(), "");

    // A rollback to a commit the clone lacks fetches it as well.
    std::fs::write(dir.path().join("git-has"), "").unwrap();
    let target = "a".repeat(40);
    let extra = format!("--to {target}");
    let rollback = [
        ("COMMAND", "rollback"),
        ("EXTRA_ARGS", extra.as_str()),
        ("GIT_STUB_DIR", stubs),
        ("REPORT_DIR", ""),
    ];
    let (code, _, stderr) = run_pipe_in(dir.path(), &rollback);
    assert_eq!(code, 0, "{stderr}");
    let recorded = calls();
    assert!(
        recorded
            .lines()
            .any(|l| l.contains("fetch") && l.ends_with(&format!("origin {target}"))),
        "{recorded}"
    );
}

#[test]
fn bitbucket_pipe_metadata_lists_every_variable_the_entrypoint_reads() {
    let dir = repo().join("ci-templates/bitbucket");
    let meta: Value = serde_saphyr::from_str(&read(&dir.join("pipe.yml"))).unwrap();
    for key in ["name", "image", "category", "description", "repository"] {
        assert!(meta[key].is_string(), "pipe.yml has no `{key}`");
    }
    let declared: BTreeSet<String> = meta["variables"]
        .as_array()
        .expect("pipe.yml lists variables")
        .iter()
        .map(|v| {
            assert!(v["description"].is_string(), "{v}: no description");
            assert!(v["required"].is_boolean(), "{v}: no required");
            v["name"].as_str().unwrap().to_string()
        })
        .collect();
    let script = read(&dir.join("pipe.sh"));
    let read_vars: BTreeSet<String> = Regex::new(r"\$\{([A-Z][A-Z0-9_]*)")
        .unwrap()
        .captures_iter(&script)
        .map(|c| c[1].to_string())
        // Bitbucket's own variables reach every pipe.
        .filter(|v| !v.starts_with("BITBUCKET_") && !v.ends_with("_COUNT"))
        .collect();
    // Variables kpush reads itself (the chart credentials) reach it from the pipe's
    // environment: pipe.sh need not read them, but kpush must.
    let for_kpush: BTreeSet<String> = declared
        .iter()
        .filter(|v| v.starts_with("KPUSH_"))
        .cloned()
        .collect();
    let kpush_source =
        read(&repo().join("src/cli.rs")) + &read(&repo().join("src/source/charts.rs"));
    for var in &for_kpush {
        assert!(
            kpush_source.contains(&format!("\"{var}\"")),
            "pipe.yml declares {var}, which kpush does not read"
        );
    }
    assert!(
        for_kpush.contains("KPUSH_CHART_USERNAME") && for_kpush.contains("KPUSH_CHART_PASSWORD"),
        "pipe.yml does not document the chart credentials: {for_kpush:?}"
    );
    assert_eq!(
        read_vars,
        &declared - &for_kpush,
        "variables pipe.sh reads vs pipe.yml declares"
    );
}
