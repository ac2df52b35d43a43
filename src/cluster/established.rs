//! Waiting for a CustomResourceDefinition to be served before its custom resources are sent.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Cluster;
use super::failure::ApiFailure;
use crate::object::{ObjectRef, Resource};

const POLL: Duration = Duration::from_millis(100);

impl Cluster {
    /// Returns once the CRD reports `Established=True`, or fails after `timeout`.
    pub async fn wait_established(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        timeout: Duration,
    ) -> Result<(), ApiFailure> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(crd) = self.get(resource, id).await?
                && is_established(&crd)
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ApiFailure {
                    code: 504,
                    reason: "Timeout".into(),
                    message: format!(
                        "CustomResourceDefinition `{}` was not established within {}s",
                        id.name,
                        timeout.as_secs()
                    ),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn is_established(crd: &Value) -> bool {
    crd["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Established" && c["status"] == "True")
}
