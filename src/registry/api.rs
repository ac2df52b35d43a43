//! The requests image updates make: a repository's tags, the digest a tag points at, and the
//! build date of the image a tag names.

use http::StatusCode;
use serde_json::Value;

use super::client::{Session, resolve};
use super::{Credentials, ImageRepo, RegistryError};

const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The platform whose build date counts in a multi-platform image.
const PLATFORM: (&str, &str) = ("linux", "amd64");

/// One image repository of a registry.
pub struct Repository {
    session: Session,
    base: String,
}

impl Repository {
    /// `repository` as images name it (`ghcr.io/shop/web`); `pull_secret` as a policy gives
    /// it. Credentials are looked up here, so a misconfiguration fails before any request.
    pub fn open(repository: &str, pull_secret: Option<&str>) -> Result<Repository, RegistryError> {
        let repo = ImageRepo::parse(repository);
        let credentials: Option<Credentials> = super::auth::lookup(&repo.host, pull_secret)
            .map_err(|e| RegistryError::new(&repo, e))?;
        let base = repo.base_url();
        Ok(Repository {
            session: Session::new(repo, credentials)?,
            base,
        })
    }

    fn error(&self, message: impl Into<String>) -> RegistryError {
        RegistryError::new(&self.session.repo, message)
    }

    /// Every tag, following the registry's pages.
    pub async fn tags(&self) -> Result<Vec<String>, RegistryError> {
        let mut url = format!("{}/tags/list?n=1000", self.base);
        let mut tags = Vec::new();
        loop {
            let response = self.session.get(&url, &["application/json"], false).await?;
            match response.status {
                StatusCode::OK => {}
                StatusCode::NOT_FOUND => {
                    return Err(self
                        .error("the repository does not exist")
                        .hint("check the image policy's repository"));
                }
                status => return Err(self.error(format!("listing tags: {status}"))),
            }
            let page: Value = serde_json::from_slice(&response.body)
                .map_err(|e| self.error(format!("the tag list is not JSON: {e}")))?;
            tags.extend(
                page.get("tags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
            let next = response
                .headers
                .get(http::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            match next {
                Some(link) => url = resolve(&url, &link),
                None => return Ok(tags),
            }
        }
    }

    /// The digest `tag` points at now (of the index, for a multi-platform image).
    pub async fn digest(&self, tag: &str) -> Result<String, RegistryError> {
        let url = format!("{}/manifests/{tag}", self.base);
        let head = self.session.get(&url, MANIFEST_TYPES, true).await?;
        if head.status.is_success()
            && let Some(digest) = head
                .headers
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
        {
            return Ok(digest.to_string());
        }
        let (_, body) = self.manifest(tag).await?;
        Ok(format!("sha256:{}", crate::digest::sha256_hex(&body)))
    }

    /// When the image `tag` names was built (its config's `created`), for the platform
    /// linux/amd64 of a multi-platform image (or its first). `None` when the image says not.
    pub async fn created(&self, tag: &str) -> Result<Option<jiff::Timestamp>, RegistryError> {
        let (mut manifest, _) = self.manifest(tag).await?;
        if let Some(list) = manifest.get("manifests").and_then(Value::as_array) {
            let on = |m: &&Value| {
                let p = m.get("platform");
                let field = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str);
                field("os") == Some(PLATFORM.0) && field("architecture") == Some(PLATFORM.1)
            };
            let chosen = list.iter().find(on).or_else(|| list.first());
            let Some(digest) = chosen.and_then(|m| m.get("digest")).and_then(Value::as_str) else {
                return Ok(None);
            };
            manifest = self.manifest(digest).await?.0;
        }
        let Some(config) = manifest
            .get("config")
            .and_then(|c| c.get("digest"))
            .and_then(Value::as_str)
        else {
            return Ok(None);
        };
        let url = format!("{}/blobs/{config}", self.base);
        let response = self.session.get(&url, &[], false).await?;
        if !response.status.is_success() {
            return Err(self.error(format!("the config of {tag}: {}", response.status)));
        }
        let config: Value = serde_json::from_slice(&response.body)
            .map_err(|e| self.error(format!("the config of {tag} is not JSON: {e}")))?;
        Ok(config
            .get("created")
            .and_then(Value::as_str)
            .and_then(|t| t.parse().ok()))
    }

    async fn manifest(&self, reference: &str) -> Result<(Value, bytes::Bytes), RegistryError> {
        let url = format!("{}/manifests/{reference}", self.base);
        let response = self.session.get(&url, MANIFEST_TYPES, false).await?;
        match response.status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => {
                return Err(self.error(format!("no manifest for `{reference}`")));
            }
            status => return Err(self.error(format!("the manifest of `{reference}`: {status}"))),
        }
        let json = serde_json::from_slice(&response.body)
            .map_err(|e| self.error(format!("the manifest of `{reference}` is not JSON: {e}")))?;
        Ok((json, response.body))
    }
}

/// The `rel="next"` target of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert_eq!(
            next_link(r#"</v2/shop/web/tags/list?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/shop/web/tags/list?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }
}
