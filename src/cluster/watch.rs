//! Watching objects: one watch per kind and namespace, merged into one stream of plain JSON
//! objects, so waiting for a rollout reacts to changes instead of polling.

use futures::stream::{self, BoxStream, StreamExt};
use kube::api::ListParams;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;

use super::Cluster;
use super::failure::ApiFailure;
use crate::object::Resource;

/// What a watch saw.
#[derive(Debug, Clone)]
pub enum Seen {
    /// An object of watch number `.0` as it is now.
    Object(usize, Value),
    /// An object of watch `.0` was deleted.
    Deleted(usize, Value),
    /// A watch failed (it retries by itself).
    Error(String),
}

impl Cluster {
    /// Watches every `(resource, namespace)` pair; items carry the pair's index.
    pub fn watch_all(&self, scopes: &[(Resource, Option<String>)]) -> BoxStream<'static, Seen> {
        let streams = scopes.iter().enumerate().map(|(i, (resource, ns))| {
            let api = self.api(resource, ns.as_deref());
            // A watch the user may not make (no RBAC for events, say) fails again at once:
            // backing off keeps it from spinning while the rest of the wait goes on.
            watcher(api, watcher::Config::default())
                .default_backoff()
                .map(move |event| match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        Seen::Object(i, serde_json::to_value(o).unwrap_or(Value::Null))
                    }
                    Ok(watcher::Event::Delete(o)) => {
                        Seen::Deleted(i, serde_json::to_value(o).unwrap_or(Value::Null))
                    }
                    Ok(watcher::Event::Init | watcher::Event::InitDone) => {
                        Seen::Error(String::new())
                    }
                    Err(e) => Seen::Error(e.to_string()),
                })
                .boxed()
        });
        stream::select_all(streams).boxed()
    }

    /// Every warning event in `namespace`, as the server keeps them (an hour by default).
    pub async fn warning_events(&self, namespace: &str) -> Result<Vec<Value>, ApiFailure> {
        let api = self.api(&Resource::core("Event", "events"), Some(namespace));
        let params = ListParams::default().fields("type=Warning");
        let list = api.list(&params).await.map_err(ApiFailure::from_kube)?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect())
    }

    /// The last few events about an object, oldest first, as `Reason: message` lines.
    pub async fn recent_events(
        &self,
        events: &Resource,
        namespace: &str,
        name: &str,
        limit: usize,
    ) -> Result<Vec<String>, ApiFailure> {
        let api = self.api(events, Some(namespace));
        let params = ListParams::default().fields(&format!("involvedObject.name={name}"));
        let list = api.list(&params).await.map_err(ApiFailure::from_kube)?;
        let mut items: Vec<Value> = list
            .items
            .into_iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect();
        items.sort_by_key(|e| {
            e["lastTimestamp"]
                .as_str()
                .or(e["eventTime"].as_str())
                .unwrap_or("")
                .to_string()
        });
        Ok(items
            .iter()
            .rev()
            .take(limit)
            .rev()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["reason"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("").trim()
                )
            })
            .collect())
    }
}
