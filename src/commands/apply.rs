//! `kpush apply`: validate everything by dry run, then write in stages.

use std::collections::BTreeSet;

use serde_json::json;

use crate::apply::{self, Applied, Outcome, Stage};
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::cluster::{ApplyOptions, Cluster, FailureClass};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::object::ObjectRef;
use crate::plan::{Action, Plan, Target};
use crate::printer::{Printer, Style};
use crate::report;

use super::output;
use super::prepare::{Prepared, observe, prepare};

/// Label on namespaces kpush created, so people can tell where they came from.
const CREATED_BY_LABEL: &str = "app.kubernetes.io/created-by";

pub fn failure_status(class: FailureClass) -> ExitStatus {
    match class {
        FailureClass::Invalid => ExitStatus::Invalid,
        FailureClass::Conflict | FailureClass::Transient => ExitStatus::Failure,
    }
}

pub async fn apply(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let Prepared {
        cluster,
        targets,
        mut plan,
        namespaces_to_create,
        namespace_resource,
        concurrency,
        validate,
    } = prepare(global, &args.target).await?;
    let text = global.output == OutputFormat::Text;
    let finish = |plan: &Plan, applied: Option<&Applied>, status: ExitStatus| {
        Ok(output::finish(
            "apply",
            global.output,
            printer,
            plan,
            applied,
            status,
        ))
    };

    if text {
        for ns in &namespaces_to_create {
            printer.out(&format!("+ v1 Namespace {ns} (--create-namespace)\n"));
        }
        printer.out(&report::plan_text(&plan, printer));
    }
    if let Some(class) = plan.error_class() {
        let n = plan.counts().error;
        printer.note(&printer.paint(
            Style::Error,
            &format!("error: {n} object(s) failed validation; nothing was written to the cluster"),
        ));
        return finish(&plan, None, failure_status(class));
    }
    if !plan.has_changes() && namespaces_to_create.is_empty() {
        if text {
            printer.out("No changes.\n");
        }
        return finish(&plan, None, ExitStatus::Success);
    }

    // Destination namespaces first: everything else lands in them.
    let mut applied = Applied::default();
    for ns in &namespaces_to_create {
        let id = ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "Namespace".into(),
            namespace: None,
            name: ns.clone(),
        };
        let object = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": {CREATED_BY_LABEL: "kpush"}}
        });
        let result = cluster
            .apply(&namespace_resource, &id, &object, ApplyOptions::default())
            .await;
        applied.outcomes.push(Outcome {
            id,
            action: Action::Create,
            error: result.err(),
        });
    }
    if applied.failed().next().is_none() {
        let first = apply::apply(
            &cluster,
            &targets,
            &plan,
            &[Stage::Definitions],
            concurrency,
            validate,
        )
        .await;
        applied.outcomes.extend(first.outcomes);
    }
    if applied.failed().next().is_none() {
        applied
            .outcomes
            .extend(wait_for_crds(&cluster, &targets, &plan).await);
    }
    if applied.failed().next().is_some() {
        return report_applied(printer, text, &plan, applied, finish);
    }

    // Objects whose namespace did not exist could not be dry-run before; they are now.
    let pending: Vec<usize> = (0..targets.len())
        .filter(|&i| plan.entries[i].pending.is_some())
        .collect();
    if !pending.is_empty() {
        let subset: Vec<Target> = pending
            .iter()
            .map(|&i| Target {
                awaits_crd: None,
                ..targets[i].clone()
            })
            .collect();
        let observations =
            observe(&cluster, &subset, &BTreeSet::new(), concurrency, validate).await;
        let revalidated = Plan::build(&subset, observations, validate);
        for (i, entry) in pending.iter().zip(revalidated.entries) {
            plan.entries[*i] = entry;
        }
        if let Some(class) = plan.error_class() {
            if text {
                let errors = Plan {
                    entries: plan.errors().cloned().collect(),
                };
                printer.out(&report::plan_text(&errors, printer));
            }
            printer.note(&printer.paint(
                Style::Error,
                "error: validation failed after creating namespaces and CustomResourceDefinitions; no other object was written",
            ));
            return finish(&plan, Some(&applied), failure_status(class));
        }
    }

    let rest = apply::apply(
        &cluster,
        &targets,
        &plan,
        &[Stage::ClusterScoped, Stage::Namespaced],
        concurrency,
        validate,
    )
    .await;
    applied.outcomes.extend(rest.outcomes);
    applied.not_attempted = rest.not_attempted;
    report_applied(printer, text, &plan, applied, finish)
}

/// Custom resources can only be sent once their CRDs are served: waits for each CRD this
/// deploy created or changed. A CRD that does not become established is a failed outcome.
async fn wait_for_crds(cluster: &Cluster, targets: &[Target], plan: &Plan) -> Vec<Outcome> {
    let waits = targets
        .iter()
        .zip(&plan.entries)
        .filter(|(t, e)| apply::is_crd(t) && matches!(e.action, Action::Create | Action::Update))
        .map(|(t, e)| async move {
            let result = cluster
                .wait_established(&t.resource, &t.id, CRD_TIMEOUT)
                .await;
            result.err().map(|error| Outcome {
                id: t.id.clone(),
                action: e.action,
                error: Some(error),
            })
        });
    futures::future::join_all(waits)
        .await
        .into_iter()
        .flatten()
        .collect()
}

const CRD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn report_applied(
    printer: &Printer,
    text: bool,
    plan: &Plan,
    applied: Applied,
    finish: impl Fn(&Plan, Option<&Applied>, ExitStatus) -> Result<ExitStatus, Error>,
) -> Result<ExitStatus, Error> {
    let status = if applied.failed().next().is_some() {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    if text {
        printer.out(&report::applied_text(&applied, printer));
    }
    finish(plan, Some(&applied), status)
}
