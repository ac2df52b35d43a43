//! Waiting for a CustomResourceDefinition to be served before its custom resources are sent.

use std::time::Duration;

use serde_json::Value;

use super::Cluster;
use super::failure::ApiFailure;
use crate::object::{ObjectRef, Resource};

impl Cluster {
    /// Returns once the CRD reports `Established=True`, or fails after `timeout`.
    pub async fn wait_established(
        &self,
        resource: &Resource,
        id: &ObjectRef,
        timeout: Duration,
    ) -> Result<(), ApiFailure> {
        if self
            .poll(resource, id, timeout, |crd| crd.is_some_and(is_established))
            .await?
        {
            return Ok(());
        }
        Err(ApiFailure {
            code: 504,
            reason: "Timeout".into(),
            message: format!(
                "CustomResourceDefinition `{}` was not established within {}s",
                id.name,
                timeout.as_secs()
            ),
        })
    }
}

fn is_established(crd: &Value) -> bool {
    crd["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Established" && c["status"] == "True")
}
