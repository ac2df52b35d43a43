//! A container registry's HTTP API (the OCI distribution spec), for what image updates ask of
//! it: a repository's tags, the digest a tag points at, and when an image was built. Nothing
//! here knows about Kubernetes.

mod api;
mod auth;
mod client;

pub use api::Repository;
pub use auth::Credentials;

/// Where an image repository lives: `ghcr.io/shop/web` → host `ghcr.io`, name `shop/web`;
/// `nginx` → Docker Hub's `library/nginx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRepo {
    /// `host[:port]`, as credentials are keyed.
    pub host: String,
    pub name: String,
}

const DOCKER_HUB: &str = "docker.io";

impl ImageRepo {
    pub fn parse(repository: &str) -> ImageRepo {
        let (first, rest) = repository.split_once('/').unwrap_or(("", repository));
        // The first component is a registry when it looks like a host, as docker decides.
        let is_host = first.contains('.') || first.contains(':') || first == "localhost";
        let (host, name) = if is_host {
            (first.to_string(), rest.to_string())
        } else {
            (DOCKER_HUB.to_string(), repository.to_string())
        };
        let name = if host == DOCKER_HUB && !name.contains('/') {
            format!("library/{name}")
        } else {
            name
        };
        ImageRepo { host, name }
    }

    /// The API's base URL. Registries on loopback speak plain HTTP, as container tools assume.
    pub fn base_url(&self) -> String {
        let host = match self.host.as_str() {
            DOCKER_HUB => "registry-1.docker.io",
            other => other,
        };
        let scheme = if loopback(host) { "http" } else { "https" };
        format!("{scheme}://{host}/v2/{}", self.name)
    }
}

impl std::fmt::Display for ImageRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.host, self.name)
    }
}

/// A registry host (`host[:port]`) on this machine.
pub(crate) fn loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    name == "localhost" || name.starts_with("127.") || name == "[::1]"
}

/// A registry request that failed, naming the repository; credentials never appear in it.
#[derive(Debug, thiserror::Error)]
#[error("registry {repo}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct RegistryError {
    pub repo: String,
    pub message: String,
    pub hint: Option<String>,
}

impl RegistryError {
    fn new(repo: &ImageRepo, message: impl Into<String>) -> RegistryError {
        RegistryError {
            repo: repo.to_string(),
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> RegistryError {
        self.hint = Some(hint.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_and_their_registries() {
        let cases = [
            (
                "nginx",
                "docker.io",
                "library/nginx",
                "https://registry-1.docker.io/v2/library/nginx",
            ),
            (
                "bitnami/redis",
                "docker.io",
                "bitnami/redis",
                "https://registry-1.docker.io/v2/bitnami/redis",
            ),
            (
                "ghcr.io/shop/web",
                "ghcr.io",
                "shop/web",
                "https://ghcr.io/v2/shop/web",
            ),
            (
                "127.0.0.1:5000/shop/web",
                "127.0.0.1:5000",
                "shop/web",
                "http://127.0.0.1:5000/v2/shop/web",
            ),
            (
                "localhost/web",
                "localhost",
                "web",
                "http://localhost/v2/web",
            ),
            (
                "registry.example:8443/a/b/c",
                "registry.example:8443",
                "a/b/c",
                "https://registry.example:8443/v2/a/b/c",
            ),
        ];
        for (text, host, name, url) in cases {
            let repo = ImageRepo::parse(text);
            assert_eq!(
                (repo.host.as_str(), repo.name.as_str()),
                (host, name),
                "{text}"
            );
            assert_eq!(repo.base_url(), url, "{text}");
        }
    }
}
