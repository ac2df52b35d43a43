//! Broken input: every case under `tests/bad-input/` must stop both `kpush render` and `kpush
//! apply` with exit 3, a message naming the file (and line, where there is one) and the
//! problem, and nothing written. `apply` runs against a server that never answers: exit 3 rather
//! than 1 shows the server was never contacted. Cases too big or too odd to commit are made at
//! test time below.
//!
//! A case is a directory: the files of a repository, committed as they are, and `case.txt`:
//!
//! ```text
//! # what is broken
//! args: render app            (`{helm}` and `{kubectl}` stand for the renderers)
//! file: app/cm.yaml:4         (the place stderr must name)
//! expect: unclosed quote      (a phrase stderr must hold; one or more)
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{GitRepo, Run, kpush};

/// The corpus must stay complete on its own.
const MIN_CASES: usize = 40;

struct Case {
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    file: String,
    expect: Vec<String>,
}

fn corpus() -> PathBuf {
    common::checkout().join("tests/bad-input")
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let dir = entry.unwrap().path();
        let spec = dir.join("case.txt");
        if !spec.is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&spec).unwrap();
        let (mut args, mut file, mut expect) = (None, None, Vec::new());
        for line in text.lines() {
            match line.split_once(": ") {
                _ if line.starts_with('#') || line.trim().is_empty() => {}
                Some(("args", a)) => args = Some(a.split_whitespace().map(expand).collect()),
                Some(("file", f)) => file = Some(f.to_string()),
                Some(("expect", e)) => expect.push(e.to_string()),
                _ => panic!("{name}/case.txt: cannot read `{line}`"),
            }
        }
        cases.push(Case {
            args: args.unwrap_or_else(|| panic!("{name}/case.txt has no `args:`")),
            file: file.unwrap_or_else(|| panic!("{name}/case.txt has no `file:`")),
            expect,
            name,
            dir,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

fn expand(arg: &str) -> String {
    match arg {
        "{helm}" => std::env::var("KPUSH_TEST_HELM").unwrap_or_else(|_| "helm".into()),
        "{kubectl}" => common::kubectl_bin(),
        other => other.to_string(),
    }
}

/// A repository holding the case's files (all but `case.txt`), committed.
fn repository(dir: &Path) -> GitRepo {
    fn copy(from: &Path, rel: &Path, repo: &GitRepo) {
        for entry in std::fs::read_dir(from.join(rel)).unwrap() {
            let entry = entry.unwrap();
            let rel = rel.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(from, &rel, repo);
            } else if rel != Path::new("case.txt") {
                repo.write(rel.to_str().unwrap(), std::fs::read(entry.path()).unwrap());
            }
        }
    }
    let repo = GitRepo::new();
    copy(dir, Path::new(""), &repo);
    repo.commit("broken input");
    repo
}

/// What is wrong with a run that should have refused the input; empty when it did.
fn check(what: &str, run: &Run, file: &str, expect: &[String]) -> Vec<String> {
    let mut wrong = Vec::new();
    if run.code != 3 {
        wrong.push(format!("{what}: exit {} instead of 3", run.code));
    }
    if run.stderr.contains("panicked") {
        wrong.push(format!("{what}: panicked"));
    }
    if what == "render" && !run.stdout.is_empty() {
        wrong.push(format!("{what}: printed manifests"));
    }
    for needle in std::iter::once(file).chain(expect.iter().map(String::as_str)) {
        if !run.stderr.contains(needle) {
            wrong.push(format!("{what}: stderr lacks `{needle}`"));
        }
    }
    if !wrong.is_empty() {
        wrong.push(format!("{what} stderr:\n{}", run.stderr.trim_end()));
    }
    wrong
}

/// Runs `render ARGS`, then `apply ARGS` against an unreachable server, and checks both.
fn refuse(repo: &GitRepo, args: &[String], file: &str, expect: &[String]) -> Vec<String> {
    assert_eq!(args[0], "render", "a case runs `render ...`");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut wrong = check("render", &kpush(repo.path(), &args), file, expect);

    let scratch = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(scratch.path());
    let mut apply = vec!["--kubeconfig", kubeconfig.as_str(), "apply"];
    apply.extend_from_slice(&args[1..]);
    wrong.extend(check("apply", &kpush(repo.path(), &apply), file, expect));

    let statuses = repo.repo.statuses(None).unwrap();
    if !statuses.is_empty() {
        wrong.push(format!(
            "{} files changed in the repository",
            statuses.len()
        ));
    }
    wrong
}

#[test]
fn every_broken_input_is_refused_with_exit_3_naming_the_file() {
    let cases = cases();
    assert!(
        cases.len() >= MIN_CASES,
        "only {} cases in {}",
        cases.len(),
        corpus().display()
    );
    let mut failures = Vec::new();
    for case in &cases {
        assert!(!case.expect.is_empty(), "{}: no `expect:`", case.name);
        let repo = repository(&case.dir);
        let wrong = refuse(&repo, &case.args, &case.file, &case.expect);
        if !wrong.is_empty() {
            failures.push(format!("{}:\n  {}", case.name, wrong.join("\n  ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n";

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[track_caller]
fn assert_refused(repo: &GitRepo, args: &[&str], file: &str, expect: &[&str]) {
    let wrong = refuse(repo, &strings(args), file, &strings(expect));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Files over 16 MiB are refused before parsing; a 50 MB file costs no parse at all.
#[test]
fn a_huge_file_is_refused_by_its_size() {
    let doc = format!("{CM}data:\n  value: \"{}\"\n---\n", "x".repeat(400));
    let mut text = String::with_capacity(50 * 1024 * 1024 + doc.len());
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&doc);
    }
    let repo = GitRepo::new();
    repo.write("app/huge.yaml", &text).commit("huge");
    let started = Instant::now();
    assert_refused(
        &repo,
        &["render", "app"],
        "app/huge.yaml",
        &["the file is 50.", "kpush reads files of at most 16 MiB"],
    );
    // Two runs, each reading 50 MB from git; parsing it would take far longer.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn deep_nesting_is_refused_without_a_stack_overflow() {
    let block: String = (0..1000)
        .map(|i| format!("{}a:\n", "  ".repeat(i)))
        .collect();
    let repo = GitRepo::new();
    repo.write("flow/cm.yaml", format!("{CM}data: {}", "[".repeat(100_000)))
        .write(
            "map/cm.yaml",
            format!("{CM}data: {}", "{a: ".repeat(100_000)),
        )
        .write("block/cm.yaml", format!("{CM}data:\n{block}"))
        .write("json/cm.json", "[".repeat(100_000))
        .commit("deep");
    assert_refused(&repo, &["render", "flow"], "flow/cm.yaml:5", &["nested"]);
    assert_refused(&repo, &["render", "map"], "map/cm.yaml:5", &["nested"]);
    assert_refused(
        &repo,
        &["render", "block"],
        "block/cm.yaml:",
        &["nested more than 200 levels deep"],
    );
    assert_refused(
        &repo,
        &["render", "json"],
        "json/cm.json:1",
        &["nested too deeply"],
    );
}

/// One anchored list of 10,000 items used 40,000 times: 400 million values if expanded.
#[test]
fn an_alias_bomb_is_refused() {
    let items = vec!["x"; 10_000].join(",");
    let uses = vec!["*a"; 40_000].join(",");
    let repo = GitRepo::new();
    repo.write(
        "app/cm.yaml",
        format!("{CM}list: &a [{items}]\nuses: [{uses}]\n"),
    )
    .commit("bomb");
    assert_refused(&repo, &["render", "app"], "app/cm.yaml:6", &["YAML bomb"]);
}

#[test]
fn a_set_path_nested_too_deep_is_refused() {
    let repo = GitRepo::new();
    repo.write(
        "app/cm.yaml.j2",
        format!("{CM}data: {{{{ values | to_json }}}}\n"),
    )
    .commit("app");
    let set = format!("{}=1", vec!["a"; 10_000].join("."));
    assert_refused(
        &repo,
        &["render", "app", "--set", &set],
        "--set",
        &["more than 200 keys"],
    );
}

/// A commit can hold a directory named `..` (git never writes one, but libgit2 reads it);
/// copied out for helm, it would land outside the copy.
#[test]
fn a_crafted_tree_entry_is_refused_before_anything_is_written() {
    let repo = GitRepo::new();
    repo.write(
        "chart/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    )
    .commit("chart");
    let git = &repo.repo;
    let raw = |entries: &[(&str, &str, git2::Oid)]| {
        let mut bytes = Vec::new();
        for (mode, name, id) in entries {
            bytes.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            bytes.extend_from_slice(id.as_bytes());
        }
        git.odb()
            .unwrap()
            .write(git2::ObjectType::Tree, &bytes)
            .unwrap()
    };
    let chart_yaml = git
        .blob(b"apiVersion: v2\nname: web\nversion: 0.1.0\n")
        .unwrap();
    let planted = common::unique("kpush-planted");
    let blob = git.blob(b"written outside the copy\n").unwrap();
    // chart/../../../NAME: from the copy's `tree/` up to the temp directory.
    let mut up = raw(&[("100644", planted.as_str(), blob)]);
    for _ in 0..2 {
        up = raw(&[("40000", "..", up)]);
    }
    // Entries in git's order, or libgit2 cannot find `Chart.yaml`.
    let chart = raw(&[("40000", "..", up), ("100644", "Chart.yaml", chart_yaml)]);
    let root = raw(&[("40000", "chart", chart)]);
    let tree = git.find_tree(root).unwrap();
    let sig = git2::Signature::now("kpush tests", "tests@kpush.dev").unwrap();
    let parent = git.head().unwrap().peel_to_commit().unwrap();
    git.commit(Some("HEAD"), &sig, &sig, "crafted", &tree, &[&parent])
        .unwrap();

    let run = kpush(
        repo.path(),
        &["render", "chart", "--helm-bin", "/bin/false"],
    );
    let planted = std::env::temp_dir().join(planted);
    let written = planted.exists();
    let _ = std::fs::remove_file(&planted);
    assert!(!written, "{} was written", planted.display());
    assert_eq!(run.code, 3, "{}", run.stderr);
    let expected = "chart/Chart.yaml: the commit holds a file or directory named `chart/..`";
    assert!(run.stderr.contains(expected), "{}", run.stderr);
}

/// A file name is printed as the repository has it: control characters must not reach the
/// terminal raw.
#[test]
fn control_characters_in_file_names_are_escaped() {
    let repo = GitRepo::new();
    repo.write("app/\u{1b}[2Jevil.yaml", "a: [\n")
        .commit("evil");
    let run = kpush(repo.path(), &["render", "app"]);
    run.expect_code(3);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(
        run.stderr.contains(r"app/\u{1b}[2Jevil.yaml:"),
        "{}",
        run.stderr
    );
}

/// With `--rev WORKTREE` the files come from disk: a symbolic link, also to a directory on the
/// way, is not followed out of the repository, as in a commit.
#[cfg(unix)]
#[test]
fn symbolic_links_do_not_lead_out_of_the_working_tree() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("values.yaml"), "name: [\n").unwrap();
    let repo = GitRepo::new();
    repo.write("app/cm.yaml.j2", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ values.name }}\n")
        .write(
            "kpush.yaml",
            "apiVersion: kpush.dev/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  source: {path: app, valueFiles: [elsewhere/values.yaml]}\n",
        );
    std::os::unix::fs::symlink(outside.path(), repo.path().join("app/elsewhere")).unwrap();
    let run = kpush(repo.path(), &["render", "--rev", "WORKTREE"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("values file `app/elsewhere/values.yaml` does not exist"),
        "{}",
        run.stderr
    );
}
