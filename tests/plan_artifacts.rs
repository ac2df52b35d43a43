//! Plans saved for approval (`diff --save-plan`) are applied exactly (`apply --plan`), or not
//! at all: a cluster or commit that changed since is refused before anything is written.

mod common;

use common::app_repo::AppRepo;
use common::{cluster, configmap};
use serde_json::Value;

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {password: hunter2-plan-secret}\n";

/// An app with ConfigMap `a` deployed; the next commit changes `a`, adds `b` and a Secret.
fn approved_change<'c>(cluster: &'c common::TestCluster, prefix: &str) -> AppRepo<'c> {
    let app = AppRepo::deployed(cluster, prefix, &[("a.yaml", &configmap("a", "1"))]);
    app.write("a.yaml", configmap("a", "2"))
        .write("b.yaml", configmap("b", "new"))
        .write("secret.yaml", SECRET);
    app.commit("change a, add b");
    app
}

fn plan_file(app: &AppRepo<'_>) -> String {
    app.repo
        .path()
        .join("kpush.plan.json")
        .to_string_lossy()
        .into_owned()
}

fn value(app: &AppRepo<'_>, name: &str) -> Option<String> {
    app.get("configmap", name)
        .map(|cm| cm["data"]["value"].as_str().unwrap_or("").to_string())
}

#[test]
fn a_plan_applied_unchanged_does_what_it_said_and_holds_no_secret() {
    let cluster = cluster();
    let app = approved_change(&cluster, "plan-ok");
    let plan = plan_file(&app);
    let diff = app.diff(&["--save-plan", &plan]);
    diff.expect_code(0);
    assert!(diff.stdout.contains("Plan saved to"), "{}", diff.stdout);
    let text = std::fs::read_to_string(&plan).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "kpush.dev/plan/v1");
    let actions: Vec<(&str, &str)> = doc["apps"][0]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["object"].as_str().unwrap(), o["action"].as_str().unwrap()))
        .collect();
    assert!(
        actions.contains(&(&*format!("v1 ConfigMap/{}/a", app.ns()), "update")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&(&*format!("v1 ConfigMap/{}/b", app.ns()), "create")),
        "{actions:?}"
    );
    for secret in ["hunter2-plan-secret", "aHVudGVyMi1wbGFuLXNlY3JldA"] {
        assert!(
            !text.contains(secret),
            "the plan file holds the Secret's value: {text}"
        );
    }

    let run = app.apply(&["--plan", &plan]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("checked: the cluster and the commit are as planned"),
        "{}",
        run.stdout
    );
    assert_eq!(value(&app, "a").as_deref(), Some("2"));
    assert_eq!(value(&app, "b").as_deref(), Some("new"));
    app.diff(&["--exit-code"]).expect_code(0);
}

#[test]
fn an_object_edited_after_the_plan_stops_the_apply_before_any_write() {
    let cluster = cluster();
    let app = approved_change(&cluster, "plan-edited");
    let plan = plan_file(&app);
    app.diff(&["--save-plan", &plan]).expect_code(0);
    // A person's edit between approval and apply.
    cluster
        .kubectl(&["-n", app.ns(), "label", "configmap", "a", "edited=by-hand"])
        .expect_code(0);
    let run = app.apply(&["--plan", &plan]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(&format!(
            "v1 ConfigMap/{}/a: changed since the plan",
            app.ns()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("field manager `kubectl-label`"),
        "{}",
        run.stderr
    );
    assert_eq!(
        value(&app, "a").as_deref(),
        Some("1"),
        "written despite the refusal"
    );
    assert_eq!(value(&app, "b"), None, "written despite the refusal");
}

#[test]
fn an_object_created_by_someone_else_where_the_plan_said_absent_is_not_overwritten() {
    let cluster = cluster();
    let app = approved_change(&cluster, "plan-absent");
    let plan = plan_file(&app);
    app.diff(&["--save-plan", &plan]).expect_code(0);
    cluster
        .kubectl(&[
            "-n",
            app.ns(),
            "create",
            "configmap",
            "b",
            "--from-literal=value=theirs",
        ])
        .expect_code(0);
    let run = app.apply(&["--plan", &plan]);
    run.expect_code(3);
    assert!(
        run.stderr.contains(&format!(
            "v1 ConfigMap/{}/b: was created since the plan",
            app.ns()
        )),
        "{}",
        run.stderr
    );
    assert_eq!(value(&app, "b").as_deref(), Some("theirs"));
    assert_eq!(value(&app, "a").as_deref(), Some("1"));
}

#[test]
fn other_inputs_an_old_plan_or_an_unknown_format_are_refused() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "plan-inputs",
        &[(
            "a.yaml.j2",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {value: \"{{ values.v | default('1') }}\"}\n",
        )],
    );
    app.write("b.yaml", configmap("b", "new"));
    app.commit("add b");
    let plan = plan_file(&app);
    app.diff(&["--save-plan", &plan, "--set", "v=2"])
        .expect_code(0);

    // Other values than planned: the app's inputs differ.
    let run = app.apply(&["--plan", &plan, "--set", "v=3"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("its inputs differ from the plan's"),
        "{}",
        run.stderr
    );
    // Another commit than planned.
    let run = app.apply(&["--plan", &plan, "--rev", "HEAD~1"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("and the plan's commit"),
        "{}",
        run.stderr
    );
    // Too old.
    let run = app.apply(&["--plan", &plan, "--set", "v=2", "--plan-max-age", "0s"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("older than --plan-max-age"),
        "{}",
        run.stderr
    );
    // A format this kpush does not read.
    let text = std::fs::read_to_string(&plan).unwrap();
    let other = app.repo.path().join("other.plan.json");
    std::fs::write(
        &other,
        text.replace("kpush.dev/plan/v1", "kpush.dev/plan/v9"),
    )
    .unwrap();
    let run = app.apply(&["--plan", other.to_str().unwrap(), "--set", "v=2"]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("`kpush.dev/plan/v9`, which this kpush"),
        "{}",
        run.stderr
    );
    assert_eq!(value(&app, "b"), None, "a refused plan wrote");

    // The plan as approved, with the same values, applies.
    app.apply(&["--plan", &plan, "--set", "v=2"]).expect_code(0);
    assert_eq!(value(&app, "a").as_deref(), Some("2"));
    assert_eq!(value(&app, "b").as_deref(), Some("new"));
}

#[test]
fn a_prune_in_the_plan_happens_and_an_object_to_prune_edited_since_stops_it() {
    let cluster = cluster();
    let app = AppRepo::deployed(
        &cluster,
        "plan-prune",
        &[
            ("a.yaml", &configmap("a", "1")),
            ("old.yaml", &configmap("old", "1")),
        ],
    );
    app.remove("old.yaml");
    app.commit("old goes");
    let plan = plan_file(&app);
    app.diff(&["--prune", "--save-plan", &plan]).expect_code(0);
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("\"action\": \"prune\""), "{text}");

    // Edited after the plan: the deletion approved was of another object.
    cluster
        .kubectl(&[
            "-n",
            app.ns(),
            "annotate",
            "configmap",
            "old",
            "keep=please",
        ])
        .expect_code(0);
    let run = app.apply(&["--prune", "--plan", &plan]);
    run.expect_code(3);
    assert!(
        run.stderr.contains("/old: changed since the plan"),
        "{}",
        run.stderr
    );
    assert!(
        app.get("configmap", "old").is_some(),
        "deleted despite the refusal"
    );

    // Planned again and applied: the prune happens.
    app.diff(&["--prune", "--save-plan", &plan]).expect_code(0);
    app.apply(&["--prune", "--plan", &plan]).expect_code(0);
    assert!(app.get("configmap", "old").is_none());
    assert_eq!(value(&app, "a").as_deref(), Some("1"));
}
