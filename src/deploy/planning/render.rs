//! The first step: an app's manifests at its revision, with no cluster involved.

use crate::error::Error;
use crate::render::{self, Rendered};
use crate::source::{CommitInfo, Snapshot};

use crate::deploy::AppRun;
use crate::images::Promotion;
use crate::inventory::history::Promoted;

/// Renders one app at its revision; also returns the commit rendered (`None` for the working
/// tree).
pub fn render_at(
    snapshot: &Snapshot,
    app: &AppRun,
) -> Result<(Rendered, Option<CommitInfo>), Error> {
    if let Some(restore) = &app.restore {
        let sha = &restore.entry.sha;
        let commit = (!sha.is_empty()).then(|| CommitInfo {
            sha: sha.clone(),
            short_sha: sha.get(..7).unwrap_or(sha).to_string(),
            ..CommitInfo::default()
        });
        let mut rendered = restore.rendered.clone();
        // The chart the restored deploy used is the one this deploy records.
        rendered.chart = restore.entry.chart.clone();
        // What the restored deploy promoted stays promoted.
        rendered.promoted = restore
            .entry
            .promoted
            .iter()
            .map(|p| kept(p, app, restore.entry.revision))
            .collect();
        return Ok((rendered, commit));
    }
    let opened = opened_at(snapshot, &app.revision)?;
    let at = opened.as_ref().unwrap_or(snapshot);
    let mut rendered = render::render_app(at, &app.render)?;
    rendered.promoted = app.render.images.clone();
    tracing::info!(app = %app.name, objects = rendered.manifests.len(), "rendered");
    Ok((rendered, at.commit.clone()))
}

/// A chart renders for the cluster it deploys to (`.Capabilities`: its version and API
/// versions), as Argo CD renders it: `first`, the render without a cluster, is made again with
/// them. Anything else is returned as it is.
///
/// Images the last successful deploy promoted, and that this run names no tag for, stay
/// promoted (as Argo CD keeps an Image Updater override): the render is made again with them.
///
/// The render carries its input digest, for the history.
pub async fn for_cluster(
    cluster: &crate::cluster::Cluster,
    snapshot: &Snapshot,
    app: &AppRun,
    first: (Rendered, Option<CommitInfo>),
) -> Result<(Rendered, Option<CommitInfo>), Error> {
    if app.restore.is_some() {
        return Ok(first);
    }
    let recorded = crate::deploy::inventory_read::recorded(cluster, app).await;
    let history = match &recorded {
        Ok(recorded) => recorded.history.as_slice(),
        Err(e) => {
            tracing::info!("no promoted images kept for {}: {e}", app.name);
            &[]
        }
    };
    let (mut rendered, commit) = match cluster_app(cluster, snapshot, app, history).await? {
        Some(changed) => {
            let mut again = render_at(snapshot, &changed)?;
            again.0.input_digest = input_digest(snapshot, &changed).ok();
            return Ok(again);
        }
        None => first,
    };
    rendered.input_digest = input_digest(snapshot, app).ok();
    Ok((rendered, commit))
}

/// The app as it renders for its cluster, or `None` when that is the app as it is: a chart
/// gets the cluster's capabilities, and the promotions of the last successful deploy in
/// `history` that this run does not replace are kept.
async fn cluster_app(
    cluster: &crate::cluster::Cluster,
    snapshot: &Snapshot,
    app: &AppRun,
    history: &[crate::inventory::history::HistoryEntry],
) -> Result<Option<AppRun>, Error> {
    let keep = kept_promotions(app, history);
    let chart = is_chart(snapshot, app)?;
    if keep.is_empty() && !chart {
        return Ok(None);
    }
    let mut app = app.clone();
    if chart {
        let (kube_version, api_versions) = cluster.capabilities().await?;
        app.render.capabilities = Some(render::Capabilities {
            kube_version,
            api_versions,
        });
    }
    app.images.extend(keep);
    app.render.images = app.images.clone();
    Ok(Some(app))
}

/// What a run against a cluster does for an app before planning it.
pub enum ForCluster {
    /// The objects the app's last successful deploy applied: that deploy read the same inputs
    /// (the same input digest) and its snapshot is whole and unchanged, so rendering again
    /// would give the same objects.
    Reused(Box<(Rendered, Option<CommitInfo>)>),
    /// Render this: the app as it renders for its cluster (see [`for_cluster`]).
    Render(Box<AppRun>),
}

/// Whether the app can reuse its last successful deploy's objects (never when `reuse` is
/// false), else the app to render for its cluster, so that a chart renders once, with the
/// cluster's capabilities.
pub async fn plan_for_cluster(
    cluster: &crate::cluster::Cluster,
    snapshot: &Snapshot,
    app: &AppRun,
    reuse: bool,
) -> Result<ForCluster, Error> {
    if app.restore.is_some() {
        return Ok(ForCluster::Render(Box::new(app.clone())));
    }
    let recorded = match crate::deploy::inventory_read::recorded(cluster, app).await {
        Ok(recorded) => Some(recorded),
        Err(e) => {
            tracing::info!("no promoted images kept for {}: {e}", app.name);
            None
        }
    };
    let history = recorded.as_ref().map_or(&[][..], |r| r.history.as_slice());
    let app = match cluster_app(cluster, snapshot, app, history).await? {
        Some(changed) => changed,
        None => app.clone(),
    };
    if let (true, Some(recorded)) = (reuse, &recorded)
        && let Some(objects) = reused(cluster, snapshot, &app, recorded).await
    {
        return Ok(ForCluster::Reused(Box::new(objects)));
    }
    Ok(ForCluster::Render(Box::new(app)))
}

/// The last successful deploy's objects, when its recorded input digest is the app's.
async fn reused(
    cluster: &crate::cluster::Cluster,
    snapshot: &Snapshot,
    app: &AppRun,
    recorded: &crate::deploy::inventory_read::Recorded,
) -> Option<(Rendered, Option<CommitInfo>)> {
    let last = recorded.history.iter().rev().find(|e| e.succeeded())?;
    let wanted = last.input_digest.as_ref()?;
    // Only a snapshot whose digest was recorded can be checked.
    last.snapshot.as_ref()?.sha256.as_ref()?;
    let digest = input_digest(snapshot, app).ok()?;
    if digest != *wanted {
        return None;
    }
    let read =
        crate::deploy::snapshot::read(cluster, &recorded.secret_resource, &recorded.parent, last);
    let mut rendered = match read.await {
        Ok(Some(rendered)) => rendered,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(
                "app {}: {e}; rendering revision {} again",
                app.name,
                snapshot.revision_name()
            );
            return None;
        }
    };
    rendered.chart = last.chart.clone();
    rendered.promoted = app.render.images.clone();
    rendered.input_digest = Some(digest);
    let opened = opened_at(snapshot, &app.revision).ok()?;
    let commit = opened.as_ref().unwrap_or(snapshot).commit.clone();
    tracing::info!(app = %app.name, revision = last.revision, "same inputs as the last successful deploy: its objects, not rendered again");
    Some((rendered, commit))
}

/// The promotions of the app's last successful deploy that this run does not replace, each
/// checked against today's policy (one it now refuses is dropped, with a warning).
fn kept_promotions(
    app: &AppRun,
    history: &[crate::inventory::history::HistoryEntry],
) -> Vec<Promotion> {
    let Some(last) = history.iter().rev().find(|e| e.succeeded()) else {
        return Vec::new();
    };
    last.promoted
        .iter()
        .filter(|p| !app.images.iter().any(|i| same_image(i, p)))
        .filter(|p| {
            let policy = policy_of(app, p);
            match policy.and_then(|policy| policy.refuses(&p.tag)) {
                Some(rule) => {
                    tracing::warn!(
                        "app {}: {}:{} promoted by revision {} is not kept: the image policy now refuses it ({rule})",
                        app.name,
                        p.repository,
                        p.tag,
                        last.revision
                    );
                    false
                }
                None => true,
            }
        })
        .map(|p| kept(p, app, last.revision))
        .collect()
}

/// The same image: the same policy alias, or (without one) the same repository.
fn same_image(promotion: &Promotion, recorded: &Promoted) -> bool {
    match (&promotion.alias, &recorded.alias) {
        (Some(a), Some(b)) => a == b,
        _ => promotion.repository == recorded.repository,
    }
}

fn policy_of<'a>(app: &'a AppRun, recorded: &Promoted) -> Option<&'a crate::images::ImagePolicy> {
    app.image_policies
        .iter()
        .find(|policy| match &recorded.alias {
            Some(alias) => &policy.alias == alias,
            None => policy.repository == recorded.repository,
        })
}

/// A recorded promotion as one to render, written where today's policy says.
fn kept(recorded: &Promoted, app: &AppRun, revision: u64) -> Promotion {
    let policy = policy_of(app, recorded);
    Promotion {
        alias: recorded.alias.clone(),
        repository: recorded.repository.clone(),
        tag: recorded.tag.clone(),
        helm: policy.map(|p| p.helm.clone()).unwrap_or_default(),
        kustomize_name: policy.and_then(|p| p.kustomize_name.clone()),
        kept_from: Some(revision),
        chosen: None,
    }
}

/// Whether any source of the app is a chart.
fn is_chart(snapshot: &Snapshot, app: &AppRun) -> Result<bool, Error> {
    let sources = || std::iter::once(&app.render).chain(&app.render.more);
    if sources().any(|s| s.chart.is_some()) {
        return Ok(true);
    }
    let opened = opened_at(snapshot, &app.revision)?;
    let at = opened.as_ref().unwrap_or(snapshot);
    for source in sources() {
        if render::detect(at, &source.path)? == render::SourceKind::Helm {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `revision` of the repository, when it is not the one `snapshot` already is.
pub fn opened_at(snapshot: &Snapshot, revision: &str) -> Result<Option<Snapshot>, Error> {
    if snapshot.revision_name() == revision {
        Ok(None)
    } else {
        Ok(Some(snapshot.at(revision)?))
    }
}

/// Renders one app at its revision; no cluster involved.
pub fn render(snapshot: &Snapshot, app: &AppRun) -> Result<Rendered, Error> {
    render_at(snapshot, app).map(|(rendered, _)| rendered)
}

/// An app's objects and the commit they were rendered from, or why they could not be.
pub type AppRender = Result<(Rendered, Option<CommitInfo>), Error>;

/// Renders every app before any cluster call, so broken input in a later app stops the run
/// (exit 3) before the first app's dry runs.
pub fn render_all(
    snapshot: &Snapshot,
    apps: &[AppRun],
) -> Result<Vec<(Rendered, Option<CommitInfo>)>, Error> {
    let jobs: Vec<(usize, &AppRun)> = apps.iter().map(|app| (0, app)).collect();
    all_rendered(render_many(&[snapshot], &jobs))
}

/// Every render, or the problems of every app that failed to render together (one app's
/// broken input does not hide another's); any other failure as it is.
pub fn all_rendered(results: Vec<AppRender>) -> Result<Vec<(Rendered, Option<CommitInfo>)>, Error> {
    let mut rendered = Vec::new();
    let mut problems: Option<crate::input::RenderError> = None;
    for result in results {
        match result {
            Ok(ok) => rendered.push(ok),
            Err(Error::Render(e)) => match &mut problems {
                Some(all) => all.problems.extend(e.problems),
                None => problems = Some(e),
            },
            Err(other) => return Err(other),
        }
    }
    match problems {
        Some(problems) => Err(Error::Render(problems)),
        None => Ok(rendered),
    }
}

/// The app's input digest at its revision, or why it has none (a restored deploy renders
/// nothing).
pub fn input_digest(snapshot: &Snapshot, app: &AppRun) -> Result<String, render::Unknown> {
    if app.restore.is_some() {
        return Err(render::Unknown::Unreadable("a restored deploy".to_string()));
    }
    let opened = opened_at(snapshot, &app.revision)
        .map_err(|e| render::Unknown::Unreadable(e.to_string()))?;
    render::input_digest(opened.as_ref().unwrap_or(snapshot), &app.render)
}

/// Renders each job (an app at `snapshots[index]`), as many at once as the machine has cores;
/// results in the order of the jobs, the same as one after the other. Apps that fetch other
/// git repositories render one at a time, on this thread: they share a cache.
pub fn render_many(snapshots: &[&Snapshot], jobs: &[(usize, &AppRun)]) -> Vec<AppRender> {
    let fetches = |app: &AppRun| {
        std::iter::once(&app.render)
            .chain(&app.render.more)
            .any(|s| s.origin.is_some() || !s.refs.is_empty())
    };
    let (serial, parallel): (Vec<usize>, Vec<usize>) =
        (0..jobs.len()).partition(|&i| fetches(jobs[i].1));
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(parallel.len());
    let mut results: Vec<Option<AppRender>> = (0..jobs.len()).map(|_| None).collect();
    let mut run_here = serial;
    if workers <= 1 {
        run_here.extend(parallel);
    } else {
        // Each worker reads through its own handles: a repository handle is not shared
        // between threads.
        let mut opened = Vec::new();
        for _ in 0..workers {
            let copies: Result<Vec<Snapshot>, _> = snapshots.iter().map(|s| s.reopen()).collect();
            match copies {
                Ok(copies) => opened.push(copies),
                Err(e) => {
                    tracing::info!("rendering one app at a time: {e}");
                    break;
                }
            }
        }
        if opened.len() <= 1 {
            run_here.extend(parallel);
        } else {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let done = std::sync::Mutex::new(Vec::new());
            std::thread::scope(|scope| {
                for copies in opened {
                    let (next, done, parallel) = (&next, &done, &parallel);
                    scope.spawn(move || {
                        loop {
                            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(&i) = parallel.get(n) else { break };
                            let (at, app) = jobs[i];
                            let result = render_at(&copies[at], app);
                            done.lock()
                                .expect("no worker panics holding it")
                                .push((i, result));
                        }
                    });
                }
            });
            for (i, result) in done.into_inner().expect("workers finished") {
                results[i] = Some(result);
            }
        }
    }
    for i in run_here {
        let (at, app) = jobs[i];
        results[i] = Some(render_at(snapshots[at], app));
    }
    results
        .into_iter()
        .map(|r| r.expect("every job rendered"))
        .collect()
}
