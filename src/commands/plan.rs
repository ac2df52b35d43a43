//! What `diff` and `apply` share: every app rendered, then connected and planned, each plan
//! printed as it is ready.

use futures::StreamExt;

use crate::cli::GlobalArgs;
use crate::cluster::Cluster;
use crate::deploy::{self, AppRun, ForCluster, PrepareOptions, Prepared};
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
            parent: self.run.parent.clone(),
        }
    }

    /// The report of the plan alone.
    pub fn report(self, status: ExitStatus) -> AppReport {
        let id = self.id();
        let kept = kept_images(&self.prepared);
        let revision = self.prepared.commit.map(|c| c.sha);
        let mut report = AppReport::new(id, revision, self.prepared.plan, status)
            .with_children(&self.run.children)
            .with_namespaces(self.prepared.namespaces_to_create)
            .with_images(images(self.run));
        report.chart = self.prepared.chart;
        report.sources = self.prepared.fetched;
        report.kept_images = kept;
        report.updated_images = updated_images(self.run);
        report
    }
}

/// An app that could not be planned (`diff` goes on with the others).
pub(super) struct Failed<'a> {
    pub run: &'a AppRun,
    pub error: Error,
}

impl Failed<'_> {
    pub fn id(&self) -> AppId {
        AppId {
            app: self.run.name.clone(),
            env: self.run.env.clone(),
            namespace: self.run.namespace.clone().unwrap_or_default(),
            parent: self.run.parent.clone(),
        }
    }

    pub fn report(self) -> AppReport {
        let status = self.error.exit_status();
        AppReport::new(self.id(), None, Plan::default(), status)
            .with_children(&self.run.children)
            .with_error(self.error.to_string())
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
    stream.children(&run.children);
    if planned.prepared.unrecorded {
        stream.unrecorded(run, planned.prepared.namespace());
    }
    Ok(planned)
}

/// An app's context and destination server: apps with the same share a connection.
type Destination = (Option<String>, Option<String>);

/// How many apps are planned at once: each sends up to `--concurrency` requests itself.
fn apps_at_once(options: &PrepareOptions) -> usize {
    (options.concurrency / 4).max(1)
}

/// Renders every app whose inputs differ from its last successful deploy (the others reuse
/// that deploy's objects), each as it renders for its cluster, all before any write or plan, then plans them a few at a time and
/// streams the plans in the order of the definitions.
/// Broken input stops the run with exit 3 before the first plan: the reads that find the last
/// deploys come first, and a cluster they cannot reach only means every app renders.
pub(super) async fn plan_all<'a>(
    global: &GlobalArgs,
    options: PrepareOptions,
    resolved: &'a Resolved,
    stream: &Stream,
    render_always: bool,
    keep_going: bool,
) -> Result<Vec<Result<Planned<'a>, Failed<'a>>>, Error> {
    let connection = settings::connection(global);
    let snapshot = &resolved.snapshot;
    // Apps of one cluster share its connection, and what it learnt about the server.
    let mut connected: Vec<(Destination, Cluster)> = Vec::new();
    let mut clusters = Vec::new();
    for run in &resolved.apps {
        let key = (run.context.clone(), run.server.clone());
        let cluster = match connected.iter().find(|(k, _)| *k == key) {
            Some((_, cluster)) => Ok(cluster.clone()),
            None => deploy::connect(&connection, run).await,
        };
        if let Ok(cluster) = &cluster
            && !connected.iter().any(|(k, _)| *k == key)
        {
            connected.push((key, cluster.clone()));
        }
        clusters.push(cluster);
    }
    let at_once = apps_at_once(&options);
    // An app whose cluster cannot be reached renders all the same: broken input is reported
    // before the connection. One whose cluster could not say how to render it renders as it
    // is, to check its input, and then fails.
    let steps: Vec<Result<ForCluster, Error>> =
        futures::stream::iter(resolved.apps.iter().zip(&clusters))
            .map(|(run, cluster)| async move {
                match cluster {
                    Ok(cluster) => {
                        deploy::plan_for_cluster(cluster, snapshot, run, !render_always).await
                    }
                    Err(_) => Ok(ForCluster::Render(Box::new(run.clone()))),
                }
            })
            .buffered(at_once)
            .collect()
            .await;
    let jobs: Vec<(usize, &AppRun)> = steps
        .iter()
        .zip(&resolved.apps)
        .filter_map(|(step, run)| match step {
            Ok(ForCluster::Reused(_)) => None,
            Ok(ForCluster::Render(app)) => Some((0, &**app)),
            Err(_) => Some((0, run)),
        })
        .collect();
    let mut renders = deploy::all_rendered(deploy::render_many(&[snapshot], &jobs))?.into_iter();
    let mut objects = Vec::new();
    for step in steps {
        objects.push(match step {
            Ok(ForCluster::Reused(objects)) => Ok(*objects),
            Ok(ForCluster::Render(app)) => {
                let mut rendered = renders.next().expect("one render per job");
                rendered.0.input_digest = deploy::input_digest(snapshot, &app).ok();
                Ok(rendered)
            }
            Err(e) => {
                renders.next();
                Err(e)
            }
        });
    }
    let apps = resolved.apps.iter().zip(clusters).zip(objects);
    let mut planned: Vec<Result<Planned<'a>, Failed<'a>>> = futures::stream::iter(apps)
        .map(|((run, cluster), objects)| {
            let options = options.clone();
            async move {
                let plan = async {
                    let cluster = cluster?;
                    let prepared = deploy::prepare(&cluster, run, objects?, options).await?;
                    Ok::<_, Error>(Planned {
                        run,
                        cluster,
                        prepared,
                    })
                };
                plan.await.map_err(|error| Failed { run, error })
            }
        })
        .buffered(at_once)
        .collect()
        .await;
    // Without `keep_going` (apply), the first app that cannot be planned stops the run
    // before any plan is shown.
    if !keep_going && let Some(i) = planned.iter().position(Result::is_err) {
        return Err(planned.swap_remove(i).err().expect("an error").error);
    }
    let mut plans: Vec<(&str, &mut Plan)> = planned
        .iter_mut()
        .filter_map(|p| p.as_mut().ok())
        .map(|p| (p.run.name.as_str(), &mut p.prepared.plan))
        .collect();
    keep_moving(&mut plans);
    for p in &planned {
        let p = match p {
            Ok(p) => p,
            Err(failed) => {
                stream.failed(&failed.id(), &failed.error.to_string());
                continue;
            }
        };
        stream.plan(
            &p.id(),
            &p.prepared.namespaces_to_create,
            &p.prepared.plan,
            &shown_images(p.run, &p.prepared),
        );
        stream.chart(p.prepared.chart.as_ref());
        stream.sources(&p.prepared.fetched);
        stream.children(&p.run.children);
        if p.prepared.unrecorded {
            stream.unrecorded(p.run, p.prepared.namespace());
        }
    }
    Ok(planned)
}
