//! A misused command line is invalid input: exit 3, clap's message, nothing done. Exit 2 stays
//! "changes present", so a CI job with a typo in its flags is never read as drift.

mod common;

use common::{GitRepo, kpush};

#[test]
fn bad_flags_missing_values_and_conflicts_exit_3() {
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", common::configmap("a", "1"))
        .commit("app");
    let commands = [
        "render", "diff", "apply", "rollback", "status", "history", "delete",
    ];
    for command in commands {
        let run = kpush(repo.path(), &[command, "app", "--bogus"]);
        run.expect_code(3);
        assert!(
            run.stderr.contains("unexpected argument '--bogus'"),
            "{command}: {}",
            run.stderr
        );
    }
    let cases: [&[&str]; 7] = [
        // A missing value.
        &["apply", "app", "--timeout"],
        // A value that is not one of the choices.
        &["apply", "app", "-o", "yaml"],
        // A flag the subcommand does not take.
        &["diff", "app", "--no-wait"],
        &["delete", "app", "--prune"],
        // Flags that exclude each other.
        &["rollback", "app", "--to", "abc", "--steps", "2"],
        // A flag that needs another.
        &["diff", "app", "--from", "HEAD"],
        // No subcommand.
        &[],
    ];
    for args in cases {
        let run = kpush(repo.path(), args);
        run.expect_code(3);
        // clap's message: the error, or the usage when nothing was asked for.
        assert!(
            run.stderr.contains("error:") || run.stderr.contains("Usage:"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    for args in [&["--help"][..], &["apply", "--help"], &["--version"]] {
        let run = kpush(repo.path(), args);
        run.expect_code(0);
        assert!(!run.stdout.is_empty(), "{args:?}");
    }
}

/// Switches set from CI variables read the ways those are written (`1`, `true`, `yes`); a
/// value that is none of them is refused, not read as off.
#[test]
fn switches_read_ci_variables_as_they_are_written() {
    let repo = GitRepo::new();
    repo.write("app/cm.yaml", common::configmap("a", "1"))
        .commit("app");
    for (name, value) in [
        ("KPUSH_TRUST_REPO_OWNER", "1"),
        ("KPUSH_OFFLINE", "yes"),
        ("KPUSH_RENDER_ALWAYS", "true"),
        ("KPUSH_UPDATE_IMAGES", "0"),
    ] {
        let run = common::kpush_env(
            repo.path(),
            &["diff", "app", "--from", "HEAD", "--to", "HEAD"],
            &[(name, value)],
        );
        run.expect_code(0);
    }
    let run = common::kpush_env(
        repo.path(),
        &["diff", "app", "--from", "HEAD", "--to", "HEAD"],
        &[("KPUSH_OFFLINE", "maybe")],
    );
    run.expect_code(3);
    assert!(
        run.stderr.contains("KPUSH_OFFLINE") || run.stderr.contains("--offline"),
        "{}",
        run.stderr
    );
}
