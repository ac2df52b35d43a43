//! CustomResourceDefinitions and their custom resources, deployed together.

mod common;

use common::app_repo::AppRepo;
use common::{cluster, unique};

/// A CRD for `Widget`s in a group of its own, with a CEL rule and a defaulted field when
/// `cel` is set (as current real-world CRDs such as kube-prometheus's have).
fn widget_crd(group: &str, cel: bool) -> String {
    let rules = if cel {
        "x-kubernetes-validations:
  - rule: \"self.replicas <= self.maxReplicas\"
    message: \"replicas must not exceed maxReplicas\"
"
    } else {
        ""
    };
    common::crd(
        group,
        "Widget",
        &format!(
            "type: object
{rules}properties:
  replicas:
    type: integer
  maxReplicas:
    type: integer
    default: 5
  color:
    type: string
"
        ),
    )
}

fn widget(group: &str, name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  replicas: {replicas}\n  color: blue\n"
    )
}

#[test]
fn a_crd_and_its_custom_resources_deploy_in_one_run() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-crd");
    let group = format!("{}.kpush.dev", unique("w"));
    let _crd = cluster.cleanup("crd", &format!("widgets.{group}"));
    app.write("crd.yaml", widget_crd(&group, false))
        .write("widget.yaml", widget(&group, "one", 2))
        .commit("crd and cr");

    let diff = app.diff(&[]);
    diff.expect_code(0);
    assert!(
        diff.stdout
            .contains("validated after CustomResourceDefinition"),
        "{}",
        diff.stdout
    );

    let run = app.apply(&[]);
    run.expect_code(0);
    assert!(run.stdout.contains("Applied: 2 created"), "{}", run.stdout);
    let live = app.get(&format!("widgets.{group}"), "one").unwrap();
    assert_eq!(live["spec"]["maxReplicas"], 5, "the schema default applies");

    // The CRD and the custom resource (with its defaulted field) are not changes.
    let again = app.diff(&["--exit-code"]);
    again.expect_code(0);
    assert!(
        again
            .stdout
            .contains("0 to create, 0 to update, 0 to prune, 2 unchanged"),
        "{}",
        again.stdout
    );
}

#[test]
fn a_cel_rule_rejects_a_bad_custom_resource_at_validation() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-cel");
    let group = format!("{}.kpush.dev", unique("c"));
    let _crd = cluster.cleanup("crd", &format!("widgets.{group}"));
    // The CRD is an app of its own, cluster-scoped.
    app.repo.write("crd/crd.yaml", widget_crd(&group, true));
    app.commit("crd");

    let run = app.kpush(&["apply", "crd"]);
    if common::server_minor().is_some_and(|m| m < 25) {
        // No CEL here: the server would drop the rule silently, and kpush says so.
        run.expect_code(3);
        assert!(
            run.stdout.contains("x-kubernetes-validations"),
            "{}",
            run.stdout
        );
        assert!(
            cluster
                .get("crd", None, &format!("widgets.{group}"))
                .is_none()
        );
        return;
    }
    run.expect_code(0);

    app.write("ok.yaml", widget(&group, "ok", 2))
        .write("bad.yaml", widget(&group, "bad", 9))
        .commit("widgets");
    let run = app.apply(&[]);
    run.expect_code(3);
    assert!(
        run.stdout.contains("replicas must not exceed maxReplicas"),
        "{}",
        run.stdout
    );
    let listed = cluster.kubectl(&[
        "get",
        &format!("widgets.{group}"),
        "-n",
        app.ns(),
        "-o",
        "name",
    ]);
    assert!(
        listed.stdout.trim().is_empty(),
        "nothing written: {}",
        listed.stdout
    );
}

#[test]
fn an_unknown_field_of_a_custom_resource_fails_validation() {
    let cluster = cluster();
    let app = AppRepo::new(&cluster, "kp-crfield");
    let group = format!("{}.kpush.dev", unique("f"));
    let _crd = cluster.cleanup("crd", &format!("widgets.{group}"));
    app.repo.write("crd/crd.yaml", widget_crd(&group, false));
    app.commit("crd");
    app.kpush(&["apply", "crd"]).expect_code(0);
    let typo = widget(&group, "w", 1).replace("color: blue", "colour: blue");
    app.write("w.yaml", typo).commit("typo");

    let run = app.apply(&[]);
    run.expect_code(3);
    // Server-side apply checks custom resources against the CRD's structural schema on every
    // supported version; with strict field validation (1.25+) too.
    assert!(
        run.stdout
            .contains(".spec.colour: field not declared in schema"),
        "{}",
        run.stdout
    );
    let listed = cluster.kubectl(&[
        "get",
        &format!("widgets.{group}"),
        "-n",
        app.ns(),
        "-o",
        "name",
    ]);
    assert!(listed.stdout.trim().is_empty(), "{}", listed.stdout);
}
