//! Creating objects by POST: hooks, whose names the server may generate, and the logs of the
//! pods they run.

use kube::api::{LogParams, PostParams};
use serde_json::Value;

use super::failure::ApiFailure;
use super::{Cluster, FIELD_MANAGER};
use crate::object::Resource;

impl Cluster {
    /// Creates `object` (named, or named by the server from `metadata.generateName`) and
    /// returns it as stored, or as it would be with `dry_run`. `strict` refuses unknown fields
    /// (servers before 1.25 ignore the setting).
    pub async fn create(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        object: &Value,
        dry_run: bool,
        strict: bool,
    ) -> Result<Value, ApiFailure> {
        let url = collection_url(resource, namespace);
        let params = PostParams {
            dry_run,
            field_manager: Some(FIELD_MANAGER.to_string()),
        };
        let body = serde_json::to_vec(object).map_err(|e| ApiFailure::transport(e.to_string()))?;
        let mut request = kube::core::Request::new(url)
            .create(&params, body)
            .map_err(|e| ApiFailure::transport(e.to_string()))?;
        let validation = if strict { "Strict" } else { "Ignore" };
        let uri = format!("{}&fieldValidation={validation}", request.uri());
        *request.uri_mut() = uri
            .parse()
            .map_err(|_| ApiFailure::transport(format!("not a request path: {uri}")))?;
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(ApiFailure::from_kube)?;
        serde_json::from_str(&text).map_err(|e| ApiFailure::transport(e.to_string()))
    }

    /// The last `lines` lines a pod's container wrote.
    pub async fn pod_logs(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        lines: i64,
    ) -> Result<String, ApiFailure> {
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(self.client.clone(), namespace);
        let params = LogParams {
            container: Some(container.to_string()),
            tail_lines: Some(lines),
            ..LogParams::default()
        };
        api.logs(pod, &params).await.map_err(ApiFailure::from_kube)
    }
}

impl Cluster {
    /// Hands each line a pod's container writes to `line` as it comes, until the container
    /// ends (or the server closes the stream).
    pub async fn follow_logs(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        line: impl Fn(&str),
    ) -> Result<(), ApiFailure> {
        use futures::StreamExt;
        use futures::io::AsyncBufReadExt;
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(self.client.clone(), namespace);
        let params = LogParams {
            container: Some(container.to_string()),
            follow: true,
            ..LogParams::default()
        };
        let reader = api
            .log_stream(pod, &params)
            .await
            .map_err(ApiFailure::from_kube)?;
        let mut lines = std::pin::pin!(reader.lines());
        while let Some(next) = lines.next().await {
            let text = next.map_err(|e| ApiFailure::transport(e.to_string()))?;
            line(&text);
        }
        Ok(())
    }
}

/// `/api/v1/namespaces/NS/pods`, `/apis/batch/v1/namespaces/NS/jobs`, `/apis/G/V/PLURAL`.
fn collection_url(resource: &Resource, namespace: Option<&str>) -> String {
    let base = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    match (resource.namespaced, namespace) {
        (true, Some(ns)) => format!("{base}/namespaces/{ns}/{}", resource.plural),
        _ => format!("{base}/{}", resource.plural),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::testing::resource;

    #[test]
    fn collection_urls_follow_group_and_scope() {
        assert_eq!(
            collection_url(&resource("", "Pod", true), Some("a")),
            "/api/v1/namespaces/a/pods"
        );
        assert_eq!(
            collection_url(&resource("batch", "Job", true), Some("a")),
            "/apis/batch/v1/namespaces/a/jobs"
        );
        assert_eq!(
            collection_url(
                &resource("rbac.authorization.k8s.io", "ClusterRole", false),
                None
            ),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles"
        );
    }
}
