//! `kpush diff`: every app's plan, printed; nothing is written.

use crate::cli::{DiffArgs, GlobalArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::plan::compare;
use crate::printer::Printer;
use crate::render::Rendered;
use crate::report::{self, AppId, AppReport, Stream};
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
    let planned = plan_all(global, options, &resolved, &stream).await?;
    let reports: Vec<AppReport> = planned
        .into_iter()
        .map(|p| {
            let plan = &p.prepared.plan;
            let status = if let Some(class) = plan.error_class() {
                class.exit_status()
            } else if args.exit_code
                && (plan.has_changes() || !p.prepared.namespaces_to_create.is_empty())
            {
                ExitStatus::Changes
            } else {
                ExitStatus::Success
            };
            p.report(status)
        })
        .collect();
    Ok(reports)
}

/// One app rendered at one side of the comparison, with its namespace and environment.
struct Side(Rendered, Option<String>, Option<String>);

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
    let mut reports = Vec::new();
    for name in names {
        let render_in = |resolved: &settings::Resolved| -> Result<Option<Side>, Error> {
            match resolved.apps.iter().find(|a| a.name == name) {
                Some(run) => Ok(Some(Side(
                    deploy::render(&resolved.snapshot, run)?,
                    run.namespace.clone(),
                    run.env.clone(),
                ))),
                None => Ok(None),
            }
        };
        let after = render_in(&new)?;
        let before = match &old {
            Some(old) => render_in(old)?,
            None => None,
        };
        let (namespace, env) = after
            .as_ref()
            .or(before.as_ref())
            .map(|Side(_, ns, env)| (ns.clone().unwrap_or_default(), env.clone()))
            .unwrap_or_default();
        let sensitive = new
            .apps
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.sensitive_paths.clone())
            .unwrap_or_default();
        let plan = compare(
            &before.map(|b| b.0).unwrap_or_default(),
            &after.map(|a| a.0).unwrap_or_default(),
            &sensitive,
        );
        let status = if args.exit_code && plan.has_changes() {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        };
        let id = AppId {
            app: name.to_string(),
            env,
            namespace,
        };
        stream.plan(&id, &[], &plan, &[]);
        let revision = new.snapshot.commit.as_ref().map(|c| c.sha.clone());
        reports.push(AppReport::new(id, revision, plan, status));
    }
    Ok(reports)
}
