//! What `diff` and `apply` share: every app rendered, then connected and planned, each plan
//! printed as it is ready.

use crate::cli::GlobalArgs;
use crate::cluster::Cluster;
use crate::deploy::{self, AppRun, PrepareOptions, Prepared};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::plan::{Declared, Plan, keep_moving};
use crate::report::{AppId, AppReport, Stream};
use crate::settings::{self, Resolved};

/// One app, planned against its cluster.
pub(super) struct Planned<'a> {
    pub run: &'a AppRun,
    pub cluster: Cluster,
    pub prepared: Prepared,
}

impl Planned<'_> {
    pub fn id(&self) -> AppId {
        AppId {
            app: self.run.name.clone(),
            env: self.run.env.clone(),
            namespace: self.prepared.namespace().to_string(),
        }
    }

    /// The report of the plan alone.
    pub fn report(self, status: ExitStatus) -> AppReport {
        let id = self.id();
        let kept = kept_images(&self.prepared);
        let revision = self.prepared.commit.map(|c| c.sha);
        let mut report = AppReport::new(id, revision, self.prepared.plan, status)
            .with_namespaces(self.prepared.namespaces_to_create)
            .with_images(images(self.run));
        report.chart = self.prepared.chart;
        report.sources = self.prepared.fetched;
        report.kept_images = kept;
        report.updated_images = updated_images(self.run);
        report
    }
}

/// The images an app promotes, as reports show them.
pub(super) fn images(run: &AppRun) -> Vec<String> {
    run.images.iter().map(ToString::to_string).collect()
}

/// The images an earlier deploy promoted that this run keeps, with the revision.
fn kept_images(prepared: &Prepared) -> Vec<String> {
    prepared
        .promoted
        .iter()
        .filter_map(|p| Some(format!("{p} (kept from revision {})", p.kept_from?)))
        .collect()
}

/// The images `--update-images` chose from their registries, with how.
fn updated_images(run: &AppRun) -> Vec<String> {
    run.images
        .iter()
        .filter_map(|p| Some(format!("{p} ({})", p.chosen.as_ref()?)))
        .collect()
}

/// Every image the plan deploys by promotion, for the plan's `Images:` line.
fn shown_images(run: &AppRun, prepared: &Prepared) -> Vec<String> {
    let mut shown: Vec<String> = run
        .images
        .iter()
        .map(|p| match &p.chosen {
            Some(how) => format!("{p} ({how})"),
            None => p.to_string(),
        })
        .collect();
    shown.extend(kept_images(prepared));
    shown
}

/// Plans one app again (another deploy of it ran since its plan), keeping the moves the
/// run's first plans decided, and streams the plan.
pub(super) async fn plan_one<'a>(
    options: &PrepareOptions,
    resolved: &'a Resolved,
    run: &'a AppRun,
    cluster: Cluster,
    declared: &Declared,
    stream: &Stream,
) -> Result<Planned<'a>, Error> {
    let rendered = deploy::render_at(&resolved.snapshot, run)?;
    let rendered = deploy::for_cluster(&cluster, &resolved.snapshot, run, rendered).await?;
    let mut prepared = deploy::prepare(&cluster, run, rendered, options.clone()).await?;
    declared.keep(&run.name, &mut prepared.plan);
    let planned = Planned {
        run,
        cluster,
        prepared,
    };
    stream.plan(
        &planned.id(),
        &planned.prepared.namespaces_to_create,
        &planned.prepared.plan,
        &shown_images(run, &planned.prepared),
    );
    stream.chart(planned.prepared.chart.as_ref());
    stream.sources(&planned.prepared.fetched);
    Ok(planned)
}

/// Renders every app (before any cluster call), then plans each and streams its plan.
pub(super) async fn plan_all<'a>(
    global: &GlobalArgs,
    options: PrepareOptions,
    resolved: &'a Resolved,
    stream: &Stream,
) -> Result<Vec<Planned<'a>>, Error> {
    let connection = settings::connection(global);
    let renders = deploy::render_all(&resolved.snapshot, &resolved.apps)?;
    let mut planned = Vec::new();
    for (run, rendered) in resolved.apps.iter().zip(renders) {
        let cluster = deploy::connect(&connection, run).await?;
        let rendered = deploy::for_cluster(&cluster, &resolved.snapshot, run, rendered).await?;
        let prepared = deploy::prepare(&cluster, run, rendered, options.clone()).await?;
        planned.push(Planned {
            run,
            cluster,
            prepared,
        });
    }
    let mut plans: Vec<(&str, &mut Plan)> = planned
        .iter_mut()
        .map(|p| (p.run.name.as_str(), &mut p.prepared.plan))
        .collect();
    keep_moving(&mut plans);
    for p in &planned {
        stream.plan(
            &p.id(),
            &p.prepared.namespaces_to_create,
            &p.prepared.plan,
            &shown_images(p.run, &p.prepared),
        );
        stream.chart(p.prepared.chart.as_ref());
        stream.sources(&p.prepared.fetched);
    }
    Ok(planned)
}
