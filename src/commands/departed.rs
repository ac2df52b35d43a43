//! Apps that left their parent's render (app-of-apps, ApplicationSets): once every app of the
//! run is written and healthy, one that had Argo CD's resources finalizer is torn down as
//! `kpush delete` tears an app down (its delete hooks run, Namespaces, CRDs and volumes are
//! kept unless confirmed); one without it is forgotten, its objects left in place.

use crate::cli::{ApplyArgs, GlobalArgs};
use crate::deploy::{self, PrepareOptions, teardown};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::inventory::history::{ChildRecord, last_children};
use crate::printer::Printer;
use crate::report::{AppId, AppReport, Stream};
use crate::settings::{self, Resolved};

use super::delete::{Teardown, teardown_app};
use super::plan::Planned;

/// An app the last successful deploy of `parent` (at commit `sha`) rendered, that no
/// definition holds now.
#[derive(Debug, Clone)]
pub struct Departed {
    pub parent: String,
    pub sha: String,
    pub child: ChildRecord,
}

/// The apps that left the render of each planned app. An app defined anywhere else now (moved
/// to another parent, or into the config file) has not left.
pub(super) fn departed<'p, 'a: 'p>(
    planned: impl IntoIterator<Item = &'p Planned<'a>>,
    resolved: &Resolved,
) -> Vec<Departed> {
    let mut out = Vec::new();
    for p in planned {
        let Some((entry, children)) = last_children(&p.prepared.inventory.history) else {
            continue;
        };
        for child in children {
            if !resolved.defined.contains(&child.name) {
                out.push(Departed {
                    parent: p.run.name.clone(),
                    sha: entry.sha.clone(),
                    child: child.clone(),
                });
            }
        }
    }
    out
}

/// What the plan says about them.
pub(super) fn announce(stream: &Stream, departed: &[Departed]) {
    for d in departed {
        let what = if d.child.cascade {
            "its objects are deleted after every other app is deployed and healthy (Argo CD's resources finalizer is on it)"
        } else {
            "its objects stay; only kpush's record of it is removed (no resources finalizer on it)"
        };
        stream.line(&format!(
            "App {} left the render of {}: {what}.",
            d.child.name, d.parent
        ));
    }
}

/// Tears down or forgets each departed app, in the reverse of the order they deployed in.
pub(super) async fn settle(
    global: &GlobalArgs,
    args: &ApplyArgs,
    printer: &Printer,
    stream: &Stream,
    departed: &[Departed],
) -> Result<Vec<AppReport>, Error> {
    let connection = settings::connection(global);
    let ctx = Teardown {
        connection: &connection,
        // The same prune rules as a deploy's: Namespaces, CRDs and volumes stay unless the
        // run confirms them.
        prepare: PrepareOptions {
            confirmed: settings::confirmations(&args.confirm),
            concurrency: usize::from(args.target.concurrency),
            ..PrepareOptions::default()
        },
        write: settings::teardown_write(args.timeout, args.lock_timeout),
        dry_run: args.dry_run,
        stream,
        printer,
    };
    let mut reports = Vec::new();
    for d in departed.iter().rev() {
        stream.line(&format!(
            "== {} (left the render of {})",
            d.child.name, d.parent
        ));
        let report = settle_one(global, args, &ctx, d).await?;
        let failed = report.status() != ExitStatus::Success;
        reports.push(report);
        if failed {
            break;
        }
    }
    Ok(reports)
}

/// The departed app as the commit its parent last deployed defined it: its hooks, namespace
/// and cluster come from there.
async fn settle_one(
    global: &GlobalArgs,
    args: &ApplyArgs,
    ctx: &Teardown<'_>,
    d: &Departed,
) -> Result<AppReport, Error> {
    let at = GlobalArgs {
        rev: Some(d.sha.clone()),
        ..global.clone()
    };
    let mut source = args.target.source.clone();
    source.app = vec![d.child.name.clone()];
    let old = settings::resolve(&at, &source, None, args.prune_propagation).map_err(|e| {
        Error::Invalid(format!(
            "app {} left the render of {}, and kpush reads its definition at {}, the commit {} last deployed, to remove it: {e}",
            d.child.name, d.parent, d.sha, d.parent
        ))
    })?;
    let run = old
        .apps
        .iter()
        .find(|r| r.name == d.child.name)
        .expect("--app selects the departed app");
    if d.child.cascade {
        // Rendered for its PreDelete and PostDelete hooks.
        let rendered = deploy::render_at(&old.snapshot, run)?;
        return teardown_app(ctx, &old.snapshot, run, rendered).await;
    }
    let cluster = deploy::connect(ctx.connection, run).await?;
    let id = AppId {
        app: run.name.clone(),
        env: run.env.clone(),
        namespace: run
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.default_namespace.clone()),
        parent: Some(d.parent.clone()),
    };
    // Forgetting runs no hook: only the inventory is read.
    let nothing = (crate::render::Rendered::default(), None);
    let planned = teardown::plan(&cluster, run, nothing, ctx.prepare.clone()).await?;
    let Some(mut planned) = planned else {
        ctx.stream.line("Nothing to forget: it has no inventory.");
        return Ok(AppReport::new(
            id,
            None,
            Default::default(),
            ExitStatus::Success,
        ));
    };
    if ctx.dry_run {
        ctx.stream
            .line("Its inventory would be removed; its objects stay (--dry-run).");
        return Ok(AppReport::new(
            id,
            None,
            Default::default(),
            ExitStatus::Success,
        ));
    }
    let locked = deploy::lock(
        &cluster,
        run,
        &mut planned.prepared,
        &ctx.write,
        ctx.printer,
    )
    .await?;
    teardown::forget(&cluster, &planned.prepared, locked).await?;
    ctx.printer.note(&format!(
        "warning: app {} left the render of {} without Argo CD's resources finalizer: its objects stay in namespace {}, and kpush no longer tracks them",
        run.name, d.parent, id.namespace
    ));
    Ok(AppReport::new(
        id,
        None,
        Default::default(),
        ExitStatus::Success,
    ))
}
