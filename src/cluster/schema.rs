//! What the server says about itself and its kinds: its version (whether it validates fields
//! strictly) and its OpenAPI v2 document, each read at most once per connection.

use std::sync::{Arc, OnceLock};

use kube::api::GetParams;
use serde_json::Value;

use super::Cluster;
use super::failure::ApiFailure;
use super::retry::with_retry;

/// Strict field validation (`fieldValidation=Strict`) is on by default from 1.25.
const STRICT_FIELD_VALIDATION_FROM: u32 = 25;

#[derive(Debug, Default)]
pub(super) struct Learnt {
    minor: OnceLock<u32>,
    openapi: OnceLock<Arc<Value>>,
}

impl Cluster {
    /// Whether the server refuses unknown fields itself when asked to validate strictly.
    pub async fn validates_fields(&self) -> Result<bool, ApiFailure> {
        Ok(self.server_minor().await? >= STRICT_FIELD_VALIDATION_FROM)
    }

    /// The server's minor version (`1.27.3-gke.100` and `27+` are 27); 0 when it does not say.
    async fn server_minor(&self) -> Result<u32, ApiFailure> {
        if let Some(minor) = self.learnt.minor.get() {
            return Ok(*minor);
        }
        let info = with_retry(|| self.client.apiserver_version())
            .await
            .map_err(ApiFailure::from_kube)?;
        let minor = leading_number(&info.minor).unwrap_or(0);
        Ok(*self.learnt.minor.get_or_init(|| minor))
    }

    /// The server's OpenAPI v2 document: every kind it serves, custom resources included.
    pub async fn openapi_v2(&self) -> Result<Arc<Value>, ApiFailure> {
        if let Some(doc) = self.learnt.openapi.get() {
            return Ok(doc.clone());
        }
        let request = kube::core::Request::new("/openapi")
            .get("v2", &GetParams::default())
            .map_err(|e| ApiFailure::transport(e.to_string()))?;
        let text = self
            .client
            .request_text(request)
            .await
            .map_err(ApiFailure::from_kube)?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| ApiFailure::transport(format!("the OpenAPI document is not JSON: {e}")))?;
        tracing::info!(
            "read the server's OpenAPI v2 document ({} bytes)",
            text.len()
        );
        Ok(self.learnt.openapi.get_or_init(|| Arc::new(doc)).clone())
    }
}

fn leading_number(text: &str) -> Option<u32> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_versions_as_distributions_write_them() {
        assert_eq!(leading_number("27"), Some(27));
        assert_eq!(leading_number("27+"), Some(27));
        assert_eq!(leading_number(""), None);
    }
}
