//! What `diff` and `apply` share: every app rendered, then connected and planned, each plan
//! printed as it is ready.

use crate::cli::GlobalArgs;
use crate::cluster::Cluster;
use crate::deploy::{self, AppRun, PrepareOptions, Prepared};
use std::collections::HashMap;

use crate::error::Error;
use crate::exit::ExitStatus;
use crate::plan::{ObjectKey, keep_moving, object_key};
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
        let revision = self.prepared.commit.map(|c| c.sha);
        AppReport::new(id, revision, self.prepared.plan, status).with_images(images(self.run))
    }
}

/// The images an app promotes, as reports show them.
pub(super) fn images(run: &AppRun) -> Vec<String> {
    run.images.iter().map(ToString::to_string).collect()
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
        let prepared = deploy::prepare(&cluster, run, rendered, options.clone()).await?;
        planned.push(Planned {
            run,
            cluster,
            prepared,
        });
    }
    // What one app drops and another declares is moving: nobody prunes it.
    let declared: HashMap<ObjectKey, String> = planned
        .iter()
        .flat_map(|p| {
            p.prepared
                .plan
                .targets()
                .map(|(_, t)| (object_key(&t.id), p.run.name.clone()))
        })
        .collect();
    for p in &mut planned {
        keep_moving(&mut p.prepared.plan, &p.run.name, &declared);
        stream.plan(
            &p.id(),
            &p.prepared.namespaces_to_create,
            &p.prepared.plan,
            &images(p.run),
        );
    }
    Ok(planned)
}
