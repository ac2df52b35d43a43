//! No Secret value, plain or base64, and no credential of the kubeconfig reaches any output or
//! any file kpush writes: every command, every format, at the highest verbosity, including
//! failures (a Secret the server refuses, a conflict on a Secret).

mod common;

use std::path::Path;

use base64::Engine;
use common::app_repo::AppRepo;
use common::{Run, cluster, secret};

const VALUES: [&str; 4] = [
    "first-Pl41n-value",
    "second-D4t4-value",
    "third-Conflict-value",
    "fourth-Refused-value",
];

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Everything a run showed or left behind: its output and every file in `dir`.
fn everything(run: &Run, dir: &Path) -> String {
    let mut all = run.all();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        all.push_str(&format!("\n--- {}\n", path.display()));
        all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
    }
    all
}

struct Checker {
    secrets: Vec<String>,
    checked: usize,
}

impl Checker {
    #[track_caller]
    fn check(&mut self, what: &str, run: &Run, dir: &Path) {
        let all = everything(run, dir);
        for secret in &self.secrets {
            assert!(
                !all.contains(secret.as_str()),
                "`{secret}` leaked in {what}:\n{all}"
            );
        }
        self.checked += 1;
    }
}

#[test]
fn no_secret_value_in_any_output_or_file() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "secrets");
    let kubeconfig_text = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let token = kubeconfig_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let mut checker = Checker {
        secrets: VALUES
            .iter()
            .flat_map(|v| [v.to_string(), b64(v)])
            .chain([token])
            .collect(),
        checked: 0,
    };

    app.write("cm.yaml", common::configmap("settings", "1"))
        .write(
            "s.yaml",
            secret("creds", &[("password", VALUES[0])], &[("token", VALUES[1])]),
        );
    let first = app.commit("first");

    let out = tempfile::tempdir().unwrap();
    let summary = out.path().join("step-summary.md");
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let run = |args: &[&str]| -> Run {
        let mut full: Vec<String> = ["-vvv", "--kubeconfig", &kubeconfig]
            .iter()
            .map(|s| s.to_string())
            .collect();
        full.extend(args.iter().map(|s| s.to_string()));
        let reporting = matches!(args.first(), Some(&"diff" | &"apply" | &"rollback"));
        if reporting {
            for format in ["json", "markdown", "dotenv", "gitlab-terraform"] {
                full.push("--report-to".into());
                full.push(format!("{format}:{}", out.path().join(format).display()));
            }
        }
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        common::kpush_env(
            app.repo.path(),
            &full,
            &[
                ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
                ("GITHUB_ACTIONS", "true"),
            ],
        )
    };
    let target = ["app", "--app", "creds", "-n", app.ns()];
    let with = |command: &str, extra: &[&str]| -> Vec<String> {
        let mut v = vec![command.to_string()];
        v.extend(target.iter().map(|s| s.to_string()));
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let go = |v: Vec<String>| {
        let args: Vec<&str> = v.iter().map(String::as_str).collect();
        run(&args)
    };

    for format in ["text", "json", "markdown"] {
        let r = go(with("render", &[])
            .into_iter()
            .chain(["-o".into(), format.into()])
            .collect());
        r.expect_code(0);
        checker.check(&format!("render -o {format}"), &r, out.path());
        let r = go(with("diff", &[])
            .into_iter()
            .chain(["-o".into(), format.into()])
            .collect());
        r.expect_code(0);
        checker.check(&format!("diff -o {format}"), &r, out.path());
    }
    let r = go(with("apply", &["--dry-run"]));
    r.expect_code(0);
    checker.check("apply --dry-run", &r, out.path());
    let r = go(with("apply", &["-o", "json"]));
    r.expect_code(0);
    checker.check("apply", &r, out.path());

    // An update of both values.
    app.write(
        "s.yaml",
        secret("creds", &[("password", VALUES[1])], &[("token", VALUES[0])]),
    );
    app.commit("rotate");
    for format in ["text", "markdown"] {
        let r = go(with("diff", &["--exit-code"])
            .into_iter()
            .chain(["-o".into(), format.into()])
            .collect());
        r.expect_code(2);
        checker.check(&format!("diff of an update -o {format}"), &r, out.path());
    }
    let r = go(with("apply", &[]));
    r.expect_code(0);
    checker.check("apply of an update", &r, out.path());
    for command in ["status", "history"] {
        for format in ["text", "json"] {
            let r = go(with(command, &[])
                .into_iter()
                .chain(["-o".into(), format.into()])
                .collect());
            assert!(r.code == 0, "{command}: {}", r.all());
            checker.check(&format!("{command} -o {format}"), &r, out.path());
        }
    }
    let r = go(with("rollback", &["--to", &first[..12]]));
    r.expect_code(0);
    checker.check("rollback", &r, out.path());
    let r = go(vec![
        "diff".into(),
        "app".into(),
        "--from".into(),
        first.clone(),
        "--to".into(),
        "HEAD".into(),
    ]);
    r.expect_code(0);
    checker.check("offline diff", &r, out.path());

    // A conflict on a Secret: another manager owns the key kpush changes.
    let other = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: {}}}\ndata: {{token: {}}}\n",
        app.ns(),
        b64(VALUES[2])
    );
    let file = out.path().join("other-manager.yaml");
    std::fs::write(&file, other).unwrap();
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager",
            "someone-else",
            "-f",
            file.to_str().unwrap(),
        ])
        .expect_code(0);
    std::fs::remove_file(&file).unwrap();
    let r = go(with("apply", &[]));
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(r.all().contains("someone-else"), "{}", r.all());
    checker.check("apply with a conflict on a Secret", &r, out.path());

    // A Secret the server refuses: a key that is not a valid data key.
    app.write(
        "bad.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: refused}}\nstringData: {{'not a key!': {}}}\n",
            VALUES[3]
        ),
    );
    app.commit("refused");
    for format in ["text", "json", "markdown"] {
        let r = go(with("apply", &["--force-conflicts"])
            .into_iter()
            .chain(["-o".into(), format.into()])
            .collect());
        r.expect_code(3);
        checker.check(
            &format!("apply of a refused Secret -o {format}"),
            &r,
            out.path(),
        );
    }
    assert!(checker.checked >= 20, "{} runs checked", checker.checked);
}
