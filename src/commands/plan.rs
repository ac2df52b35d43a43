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

/// Renders every app whose inputs differ from its last successful deploy (the others reuse
/// that deploy's objects), all before any write or plan, then plans each and streams its plan.
/// Broken input stops the run with exit 3 before the first plan: the reads that find the last
/// deploys come first, and a cluster they cannot reach only means every app renders.
pub(super) async fn plan_all<'a>(
    global: &GlobalArgs,
    options: PrepareOptions,
    resolved: &'a Resolved,
    stream: &Stream,
    render_always: bool,
) -> Result<Vec<Planned<'a>>, Error> {
    let connection = settings::connection(global);
    let snapshot = &resolved.snapshot;
    let mut clusters = Vec::new();
    let mut reused = Vec::new();
    for run in &resolved.apps {
        let cluster = deploy::connect(&connection, run).await;
        reused.push(match &cluster {
            Ok(cluster) if !render_always => deploy::reuse(cluster, snapshot, run).await,
            _ => None,
        });
        clusters.push(cluster);
    }
    let jobs: Vec<(usize, &AppRun)> = resolved
        .apps
        .iter()
        .zip(&reused)
        .filter(|(_, reused)| reused.is_none())
        .map(|(run, _)| (0, run))
        .collect();
    let mut renders = deploy::render_many(&[snapshot], &jobs).into_iter();
    let mut fresh = Vec::new();
    for reused in &reused {
        fresh.push(match reused {
            Some(_) => None,
            None => Some(renders.next().expect("one render per job")?),
        });
    }
    let mut planned = Vec::new();
    let apps = resolved
        .apps
        .iter()
        .zip(clusters)
        .zip(reused.into_iter().zip(fresh));
    for ((run, cluster), (reused, fresh)) in apps {
        let cluster = cluster?;
        let rendered = match (reused, fresh) {
            (Some(reused), _) => reused,
            (None, Some(fresh)) => deploy::for_cluster(&cluster, snapshot, run, fresh).await?,
            (None, None) => unreachable!("an app is reused or rendered"),
        };
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
