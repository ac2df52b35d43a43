//! A revision the repository does not hold is an error naming it, never an empty tree: a
//! mistyped `--from`, or a base commit a shallow CI checkout did not fetch, would otherwise
//! show the whole app as new. An empty base on purpose is spelt `EMPTY`.

mod common;

use std::path::Path;

use common::{GitRepo, configmap, kpush};

/// `git clone --depth 1` of `repo` into `into`: only the newest commit.
fn shallow_clone(repo: &GitRepo, into: &Path) {
    let status = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", repo.path().display()))
        .arg(into)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_missing_revision_is_an_error_not_an_empty_base() {
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1"));
    let first = repo.commit("one");
    repo.write("app/b.yaml", configmap("b", "1")).commit("two");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = common::unreachable_kubeconfig(dir.path());

    // A mistyped revision in a full clone.
    let run = kpush(
        repo.path(),
        &[
            "diff",
            "app",
            "--from",
            "nosuchrev",
            "--to",
            "HEAD",
            "--exit-code",
        ],
    );
    run.expect_code(3);
    assert!(
        run.stderr
            .contains("revision `nosuchrev` does not name a commit"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("shallow"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    // The base commit a depth-1 checkout lacks: the hint says how each CI system fetches it.
    let shallow = dir.path().join("shallow");
    shallow_clone(&repo, &shallow);
    let run = kpush(
        &shallow,
        &[
            "diff",
            "app",
            "--from",
            &first,
            "--to",
            "HEAD",
            "--exit-code",
        ],
    );
    run.expect_code(3);
    assert!(run.stderr.contains("a shallow clone"), "{}", run.stderr);
    assert!(run.stderr.contains("fetch-depth: 0"), "{}", run.stderr);
    assert!(run.stderr.contains("GIT_DEPTH"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    // Deploying that commit stops the same way, before any cluster call (the server here is
    // unreachable: exit 1 would mean it was tried).
    let run = kpush(
        &shallow,
        &["--kubeconfig", &kubeconfig, "apply", "app", "--rev", &first],
    );
    run.expect_code(3);
    assert!(run.stderr.contains("a shallow clone"), "{}", run.stderr);

    // An empty base on purpose: every object is new.
    let run = kpush(
        &shallow,
        &[
            "diff",
            "app",
            "--from",
            "EMPTY",
            "--to",
            "HEAD",
            "--exit-code",
        ],
    );
    run.expect_code(2);
    assert!(run.stdout.contains("+ v1 ConfigMap a"), "{}", run.stdout);
    assert!(run.stdout.contains("+ v1 ConfigMap b"), "{}", run.stdout);
}

/// A deploy from a shallow checkout that cannot tell whether its commit is older than the one
/// deployed last is refused, never passed silently; with the history fetched, it goes on.
#[test]
fn a_shallow_checkout_that_cannot_check_the_deployed_commit_is_refused() {
    let cluster = common::cluster();
    let ns = cluster.namespace("kp-shallow");
    let repo = GitRepo::new();
    repo.write("app/a.yaml", configmap("a", "1")).commit("one");
    cluster
        .kpush(repo.path(), &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    repo.write("app/a.yaml", configmap("a", "2")).commit("two");
    repo.write("app/a.yaml", configmap("a", "3"))
        .commit("three");
    let dir = tempfile::tempdir().unwrap();
    let shallow = dir.path().join("shallow");
    shallow_clone(&repo, &shallow);

    let run = cluster.kpush(&shallow, &["apply", "app", "-n", &ns.name]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("cannot tell whether commit"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("fetch-depth: 0"), "{}", run.stderr);
    let live = cluster.get("configmap", Some(&ns.name), "a").unwrap();
    assert_eq!(live["data"]["value"], "1", "a refused deploy wrote");

    // With the whole history, kpush can tell: the commit is newer, and it deploys.
    let status = std::process::Command::new("git")
        .args(["fetch", "-q", "--unshallow"])
        .current_dir(&shallow)
        .status()
        .unwrap();
    assert!(status.success());
    cluster
        .kpush(&shallow, &["apply", "app", "-n", &ns.name])
        .expect_code(0);
    let live = cluster.get("configmap", Some(&ns.name), "a").unwrap();
    assert_eq!(live["data"]["value"], "3");
}
