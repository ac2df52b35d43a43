//! The first step: an app's manifests at its revision, with no cluster involved.

use crate::error::Error;
use crate::render::{self, Rendered};
use crate::source::{CommitInfo, Snapshot};

use super::AppRun;

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
        return Ok((restore.rendered.clone(), commit));
    }
    let opened = opened_at(snapshot, &app.revision)?;
    let at = opened.as_ref().unwrap_or(snapshot);
    let rendered = render::render_app(at, &app.render)?;
    tracing::info!(app = %app.name, objects = rendered.manifests.len(), "rendered");
    Ok((rendered, at.commit.clone()))
}

/// A chart renders for the cluster it deploys to (`.Capabilities`: its version and API
/// versions), as Argo CD renders it: `first`, the render without a cluster, is made again with
/// them. Anything else is returned as it is.
pub async fn for_cluster(
    cluster: &crate::cluster::Cluster,
    snapshot: &Snapshot,
    app: &AppRun,
    first: (Rendered, Option<CommitInfo>),
) -> Result<(Rendered, Option<CommitInfo>), Error> {
    if app.restore.is_some() || !is_chart(snapshot, app)? {
        return Ok(first);
    }
    let (kube_version, api_versions) = cluster.capabilities().await?;
    let mut app = app.clone();
    app.render.capabilities = Some(render::Capabilities {
        kube_version,
        api_versions,
    });
    render_at(snapshot, &app)
}

fn is_chart(snapshot: &Snapshot, app: &AppRun) -> Result<bool, Error> {
    if app.render.chart.is_some() {
        return Ok(true);
    }
    let opened = opened_at(snapshot, &app.revision)?;
    let at = opened.as_ref().unwrap_or(snapshot);
    Ok(render::detect(at, &app.render.path)? == render::SourceKind::Helm)
}

/// `revision` of the repository, when it is not the one `snapshot` already is.
fn opened_at(snapshot: &Snapshot, revision: &str) -> Result<Option<Snapshot>, Error> {
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

/// Renders every app before any cluster call, so broken input in a later app stops the run
/// (exit 3) before the first app's dry runs.
pub fn render_all(
    snapshot: &Snapshot,
    apps: &[AppRun],
) -> Result<Vec<(Rendered, Option<CommitInfo>)>, Error> {
    apps.iter().map(|app| render_at(snapshot, app)).collect()
}
