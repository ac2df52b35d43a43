//! `kpush diff`: every app's plan, printed; nothing is written.

use crate::cli::{DiffArgs, GlobalArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::plan::compare;
use crate::printer::Printer;
use crate::render::Rendered;
use crate::report::{self, AppChange, AppId, AppReport, Stream};
use crate::settings;

use super::plan::plan_all;

pub async fn diff(
    global: &GlobalArgs,
    args: &DiffArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let reports = match (&args.from, &args.to) {
        (Some(from), Some(to)) => offline(global, args, printer, from, to)?,
        _ => against_cluster(global, args, printer).await?,
    };
    let sinks = &args.target.report_to;
    Ok(report::finish(
        "diff",
        global.output,
        printer,
        &reports,
        sinks,
    ))
}

/// Every app planned against its cluster.
async fn against_cluster(
    global: &GlobalArgs,
    args: &DiffArgs,
    printer: &Printer,
) -> Result<Vec<AppReport>, Error> {
    let mut resolved = settings::resolve(global, &args.target.source, Some(&args.target), None)?;
    super::warn(printer, &resolved.warnings);
    super::update_images(printer, &mut resolved).await?;
    let stream = Stream::new(*printer, global.output, resolved.apps.len() > 1);
    let options = settings::prepare_options(&args.target, Default::default());
    let planned = plan_all(
        global,
        options,
        &resolved,
        &stream,
        args.target.render_always,
        true,
    )
    .await?;
    if let Some(path) = &args.save_plan {
        super::saved_plan::save(path, &resolved, &planned)?;
        stream.line(&format!(
            "Plan saved to {}: `kpush apply --plan {}` applies exactly it.",
            path.display(),
            path.display()
        ));
    }
    let gone = super::departed::departed(planned.iter().filter_map(|p| p.as_ref().ok()), &resolved);
    super::departed::announce(&stream, &gone);
    let reports: Vec<AppReport> = planned
        .into_iter()
        .map(|p| {
            let p = match p {
                Ok(p) => p,
                Err(failed) => return failed.report(),
            };
            let plan = &p.prepared.plan;
            let apps_left = gone.iter().any(|d| d.parent == p.run.name);
            let status = if let Some(class) = plan.error_class() {
                class.exit_status()
            } else if args.exit_code
                && (plan.has_changes() || !p.prepared.namespaces_to_create.is_empty() || apps_left)
            {
                ExitStatus::Changes
            } else {
                ExitStatus::Success
            };
            let change = online_change(&p);
            p.report(status).with_change(change)
        })
        .collect();
    Ok(reports)
}

/// `diff --from A --to B`: both revisions rendered, compared object by object; no cluster.
fn offline(
    global: &GlobalArgs,
    args: &DiffArgs,
    printer: &Printer,
    from: &str,
    to: &str,
) -> Result<Vec<AppReport>, Error> {
    let at = |rev: &str| GlobalArgs {
        rev: Some(rev.to_string()),
        ..global.clone()
    };
    if args.target.update_images {
        return Err(Error::Invalid(
            "--update-images asks the registries which tags to deploy; a diff between two commits (--from/--to) reads the repository only: leave one of them out".to_string(),
        ));
    }
    let new = settings::resolve(&at(to), &args.target.source, None, None)?;
    super::warn(printer, &new.warnings);
    // The old revision may predate an app, or the config itself. It must exist, though: a
    // revision the repository lacks (a shallow clone) is an error, never an empty base; an
    // empty base on purpose is spelt `EMPTY`.
    let old = if from == crate::source::EMPTY {
        None
    } else {
        match settings::resolve(&at(from), &args.target.source, None, None) {
            Ok(old) => Some(old),
            Err(e @ Error::Source(crate::source::SourceError::RevisionNotFound { .. })) => {
                return Err(e);
            }
            Err(_) => None,
        }
    };
    let mut names: Vec<&str> = new.apps.iter().map(|a| a.name.as_str()).collect();
    if let Some(old) = &old {
        for app in &old.apps {
            if !names.contains(&app.name.as_str()) {
                names.push(&app.name);
            }
        }
    }
    let stream = Stream::new(*printer, global.output, names.len() > 1);
    let find = |resolved: &'_ settings::Resolved, name: &str| {
        resolved.apps.iter().position(|a| a.name == name)
    };
    // An app whose inputs are the same at both commits renders the same objects: neither side
    // is rendered.
    let same: Vec<bool> = names
        .iter()
        .map(|name| {
            let (Some(old), Some(i)) = (&old, find(&new, name)) else {
                return false;
            };
            let Some(j) = find(old, name) else {
                return false;
            };
            let after = deploy::input_digest(&new.snapshot, &new.apps[i]);
            let before = deploy::input_digest(&old.snapshot, &old.apps[j]);
            match (&after, &before) {
                (Ok(a), Ok(b)) => a == b,
                _ => {
                    if let Err(why) = after.as_ref().and(before.as_ref()) {
                        tracing::info!(app = %name, "rendered at both commits: {why}");
                    }
                    false
                }
            }
        })
        .collect();
    let mut snapshots = vec![&new.snapshot];
    if let Some(old) = &old {
        snapshots.push(&old.snapshot);
    }
    let mut jobs = Vec::new();
    for (name, same) in names.iter().zip(&same) {
        if *same {
            continue;
        }
        if let Some(i) = find(&new, name) {
            jobs.push((0, &new.apps[i]));
        }
        if let Some(j) = old.as_ref().and_then(|o| find(o, name)) {
            jobs.push((1, &old.as_ref().expect("found in it").apps[j]));
        }
    }
    let mut rendered = deploy::all_rendered(deploy::render_many(&snapshots, &jobs))?.into_iter();
    let mut reports = Vec::new();
    let revision = new.snapshot.commit.as_ref().map(|c| c.sha.clone());
    for (name, same) in names.iter().zip(same) {
        let new_run = find(&new, name).map(|i| &new.apps[i]);
        let old_run = old.as_ref().and_then(|o| find(o, name).map(|j| &o.apps[j]));
        let run = new_run.or(old_run).expect("an app of one side");
        let id = AppId {
            app: name.to_string(),
            env: run.env.clone(),
            namespace: run.namespace.clone().unwrap_or_default(),
            parent: run.parent.clone(),
        };
        if same {
            stream.same_inputs(&id);
            reports.push(
                AppReport::new(
                    id,
                    revision.clone(),
                    Default::default(),
                    ExitStatus::Success,
                )
                .with_same_inputs(),
            );
            continue;
        }
        let mut side = |run: Option<&deploy::AppRun>| match run {
            Some(_) => rendered.next().expect("one render per job").0,
            None => Rendered::default(),
        };
        let after = side(new_run);
        let before = side(old_run);
        let sensitive = new_run
            .map(|a| a.sensitive_paths.clone())
            .unwrap_or_default();
        let plan = compare(&before, &after, &sensitive);
        let status = if args.exit_code && plan.has_changes() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        };
        stream.plan(&id, &[], &plan, &[]);
        let change = match (old_run, new_run) {
            (None, _) => Some(AppChange::Added),
            (_, None) => Some(AppChange::Removed),
            _ => plan.has_changes().then_some(AppChange::Changed),
        };
        reports.push(AppReport::new(id, revision.clone(), plan, status).with_change(change));
    }
    Ok(reports)
}

/// An app never deployed is added; changes to one whose last successful deploy was this very
/// commit are drift, anything else a change the commit brings.
fn online_change(p: &super::plan::Planned<'_>) -> Option<AppChange> {
    let prepared = &p.prepared;
    if !prepared.plan.has_changes() && prepared.namespaces_to_create.is_empty() {
        return None;
    }
    let deployed = prepared
        .inventory
        .history
        .iter()
        .rev()
        .find(|e| e.succeeded());
    Some(match (deployed, &prepared.commit) {
        (None, _) => AppChange::Added,
        (Some(entry), Some(commit)) if entry.sha == commit.sha => AppChange::Drift,
        _ => AppChange::Changed,
    })
}
