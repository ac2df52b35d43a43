//! What an app runs now, read-only: its last recorded deploy and the health of every member
//! of its inventory.

use std::collections::BTreeSet;

use crate::cluster::Cluster;
use crate::error::Error;
use crate::health::{Health, State, health};
use crate::inventory::history::HistoryEntry;
use crate::object::ObjectRef;

use super::AppRun;
use super::inventory_read::{read, recorded};

/// Requests in flight while the members are listed.
const CONCURRENCY: usize = 16;

/// One app as the cluster has it.
#[derive(Debug, Clone)]
pub struct AppStatus {
    pub app: String,
    pub namespace: String,
    /// The last recorded deploy; `None` when kpush never deployed the app.
    pub current: Option<HistoryEntry>,
    pub objects: Vec<(ObjectRef, Health)>,
}

impl AppStatus {
    pub fn healthy(&self) -> bool {
        self.objects.iter().all(|(_, h)| h.state == State::Current)
    }
}

pub async fn status(cluster: &Cluster, run: &AppRun) -> Result<AppStatus, Error> {
    let super::inventory_read::Recorded {
        namespace, history, ..
    } = recorded(cluster, run).await?;
    let mut discovery = cluster.discover(BTreeSet::from(["v1".to_string()])).await?;
    // With no objects declared, every member of the inventory is listed.
    let (_, members) = read(
        cluster,
        &mut discovery,
        &run.name,
        &namespace,
        true,
        &[],
        CONCURRENCY,
    )
    .await?;
    let objects = members
        .into_iter()
        .map(|member| {
            let mut object = member.live;
            object["apiVersion"] = serde_json::json!(member.id.api_version());
            object["kind"] = serde_json::json!(member.resource.kind);
            (member.id, health(&object))
        })
        .collect();
    Ok(AppStatus {
        app: run.name.clone(),
        namespace,
        current: history.last().cloned(),
        objects,
    })
}
