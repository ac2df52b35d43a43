//! `kpush render`: manifests as they are at a git revision, without a cluster.

mod common;

use common::{GitRepo, configmap, kpush};

#[test]
fn renders_multi_document_files_in_a_stable_order() {
    let repo = GitRepo::new();
    repo.write(
        "app/b.yaml",
        format!("{}---\n{}", configmap("b1", "1"), configmap("b2", "2")),
    )
    .write("app/a.yml", configmap("a", "x"))
    .write(
        "app/nested/c.json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#,
    )
    .write("app/README.md", "not a manifest")
    .commit("app");

    let run = kpush(repo.path(), &["render", "app"]);
    run.expect_code(0);
    let names: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("  name: "))
        .collect();
    assert_eq!(names, ["a", "b1", "b2", "c"], "{}", run.stdout);
    assert!(
        run.stdout.contains("# Source: app/b.yaml:8"),
        "{}",
        run.stdout
    );
    // Same input, same bytes.
    assert_eq!(kpush(repo.path(), &["render", "app"]).stdout, run.stdout);
}

#[test]
fn renders_the_requested_commit_not_the_working_tree() {
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", configmap("settings", "first"))
        .commit("first");
    let first = repo.repo.head().unwrap().target().unwrap().to_string();
    repo.write("app/cm.yaml", configmap("settings", "second"))
        .write("app/extra.yaml", configmap("extra", "x"))
        .commit("second");
    // Uncommitted edits are not deployed.
    repo.write("app/cm.yaml", configmap("settings", "uncommitted"));

    let head = kpush(repo.path(), &["render", "app"]);
    head.expect_code(0);
    assert!(head.stdout.contains("value: second"), "{}", head.stdout);
    assert!(head.stdout.contains("name: extra"));

    let old = kpush(repo.path(), &["render", "app", "--rev", &first]);
    old.expect_code(0);
    assert!(old.stdout.contains("value: first"), "{}", old.stdout);
    assert!(!old.stdout.contains("name: extra"));

    let short = kpush(repo.path(), &["render", "app", "--rev", "HEAD~1"]);
    assert_eq!(short.stdout, old.stdout);

    let worktree = kpush(repo.path(), &["render", "app", "--rev", "WORKTREE"]);
    worktree.expect_code(0);
    assert!(worktree.stdout.contains("value: uncommitted"));
}

#[test]
fn paths_are_relative_to_the_current_directory() {
    let repo = GitRepo::new();
    repo.write("apps/web/cm.yaml", configmap("web", "1"))
        .commit("web");
    let run = kpush(&repo.path().join("apps"), &["render", "web"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("# Source: apps/web/cm.yaml:1"),
        "{}",
        run.stdout
    );
    let run = kpush(repo.path(), &["render", "--repo", ".", "apps/web/cm.yaml"]);
    run.expect_code(0);
}

#[test]
fn malformed_yaml_names_file_and_line_and_exits_3() {
    let repo = GitRepo::new();
    repo.write("app/good.yaml", configmap("good", "1"))
        .write(
            "app/bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata:\n  a: [1, 2\n  b: 3\n",
        )
        .write("app/dup.yaml", configmap("good", "again"))
        .commit("broken");
    let run = kpush(repo.path(), &["render", "app"]);
    run.expect_code(3);
    assert!(run.stdout.is_empty(), "no partial output: {}", run.stdout);
    assert!(run.stderr.contains("app/bad.yaml:"), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "app/good.yaml:1: duplicate object ConfigMap/good, first declared at app/dup.yaml:1"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn missing_identity_fields_are_named() {
    let repo = GitRepo::new();
    repo.write(
        "app/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
    )
    .write("app/b.yaml", "- just\n- a list\n")
    .commit("bad");
    let run = kpush(repo.path(), &["render", "app"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("app/a.yaml:1: missing required field `metadata.name`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("app/b.yaml:1: expected a Kubernetes object (a mapping), found a list"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_revision_and_path_are_input_errors() {
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", configmap("a", "1")).commit("one");
    let run = kpush(repo.path(), &["render", "app", "--rev", "no-such-branch"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("revision `no-such-branch`"),
        "{}",
        run.stderr
    );
    let run = kpush(repo.path(), &["render", "nowhere"]);
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("`nowhere` does not exist at revision `HEAD`"),
        "{}",
        run.stderr
    );
}

#[test]
fn outside_a_repository_only_the_working_tree_can_be_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cm.yaml"), configmap("a", "1")).unwrap();
    let run = kpush(dir.path(), &["render", "cm.yaml"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("not inside a git repository"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--rev WORKTREE"), "{}", run.stderr);
    kpush(dir.path(), &["render", "cm.yaml", "--rev", "WORKTREE"]).expect_code(0);
}

#[test]
fn json_output_is_a_list() {
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", configmap("a", "1")).commit("one");
    let run = kpush(repo.path(), &["render", "app", "-o", "json"]);
    run.expect_code(0);
    let list: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["metadata"]["name"], "a");
}
