//! HTTP to one repository of a registry: the token exchange (a `401` with a `Bearer`
//! challenge → a token from its realm, anonymous or with credentials), basic auth, and
//! redirects (registries often serve blobs from a storage host, which gets no credentials).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{HttpConnector, proxy::Tunnel};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioExecutor;

use super::{Credentials, ImageRepo, RegistryError};

/// The HTTP client: direct, or through the proxy `HTTPS_PROXY` names (a CONNECT tunnel), as
/// `NO_PROXY` decides for the registry's host.
enum Http {
    Direct(Client<HttpsConnector<HttpConnector>, Empty<Bytes>>),
    Tunneled(Client<HttpsConnector<Tunnel<HttpConnector>>, Empty<Bytes>>),
}

impl Http {
    fn new(base_url: &str) -> std::io::Result<Http> {
        let tls = || {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(provider)
                .map(|b| b.https_or_http().enable_http1())
        };
        let proxy = base_url
            .parse::<http::Uri>()
            .ok()
            .filter(|uri| uri.scheme_str() == Some("https"))
            .and_then(|uri| Matcher::from_env().intercept(&uri));
        Ok(match proxy {
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), HttpConnector::new());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let https = tls()?.wrap_connector(tunnel);
                Http::Tunneled(Client::builder(TokioExecutor::new()).build(https))
            }
            None => Http::Direct(Client::builder(TokioExecutor::new()).build(tls()?.build())),
        })
    }

    async fn request(
        &self,
        request: Request<Empty<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match self {
            Http::Direct(client) => client.request(request).await,
            Http::Tunneled(client) => client.request(request).await,
        }
    }
}

/// Each request's bound: a registry that stops answering must not hold a pipeline.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Bodies read (manifests, image configs, token replies) are small; a larger one is refused.
const MAX_BODY: usize = 8 << 20;

pub(super) struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub(super) struct Session {
    http: Http,
    pub repo: ImageRepo,
    credentials: Option<Credentials>,
    /// The `Authorization` the registry accepted last (a token is reused until refused).
    authorization: Mutex<Option<String>>,
}

impl Session {
    pub fn new(
        repo: ImageRepo,
        credentials: Option<Credentials>,
    ) -> Result<Session, RegistryError> {
        let http = Http::new(&repo.base_url())
            .map_err(|e| RegistryError::new(&repo, format!("no TLS root certificates: {e}")))?;
        Ok(Session {
            http,
            repo,
            credentials,
            authorization: Mutex::new(None),
        })
    }

    /// GET (or HEAD) `url`, authenticating when the registry asks and following redirects.
    pub async fn get(
        &self,
        url: &str,
        accept: &[&str],
        head: bool,
    ) -> Result<Response, RegistryError> {
        let registry_host = host_of(url).to_string();
        let mut url = url.to_string();
        let mut authenticated = false;
        for _ in 0..8 {
            let own_host = host_of(&url) == registry_host;
            let authorization = if own_host {
                self.authorization.lock().unwrap().clone()
            } else {
                None
            };
            let response = self
                .send(&url, accept, head, authorization.as_deref())
                .await?;
            if response.status == StatusCode::UNAUTHORIZED && own_host && !authenticated {
                let challenge = response
                    .headers
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let authorization = self.authorize(&challenge).await?;
                *self.authorization.lock().unwrap() = Some(authorization);
                authenticated = true;
                continue;
            }
            if response.status == StatusCode::UNAUTHORIZED {
                return Err(self.refused());
            }
            if response.status.is_redirection()
                && let Some(location) = response
                    .headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
            {
                url = resolve(&url, location);
                continue;
            }
            return Ok(response);
        }
        Err(RegistryError::new(
            &self.repo,
            format!("too many redirects from {url}"),
        ))
    }

    async fn send(
        &self,
        url: &str,
        accept: &[&str],
        head: bool,
        authorization: Option<&str>,
    ) -> Result<Response, RegistryError> {
        let mut request = Request::builder()
            .method(if head { Method::HEAD } else { Method::GET })
            .uri(url)
            .header(
                header::USER_AGENT,
                concat!("kpush/", env!("CARGO_PKG_VERSION")),
            );
        if !accept.is_empty() {
            request = request.header(header::ACCEPT, accept.join(", "));
        }
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| RegistryError::new(&self.repo, format!("request to {url}: {e}")))?;
        let unreachable = |e: String| {
            RegistryError::new(&self.repo, format!("GET {url}: {e}"))
                .hint("check the registry's address and that this machine reaches it")
        };
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    text = format!("{text}: {cause}");
                    source = cause.source();
                }
                text
            })?;
            let (parts, body) = response.into_parts();
            let limited = http_body_util::Limited::new(body, MAX_BODY);
            let body = limited
                .collect()
                .await
                .map_err(|e| format!("reading the reply: {e}"))?
                .to_bytes();
            Ok::<_, String>(Response {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(result) => result.map_err(unreachable),
            Err(_) => Err(unreachable(format!(
                "no reply in {}s",
                REQUEST_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The `Authorization` a challenge asks for.
    async fn authorize(&self, challenge: &str) -> Result<String, RegistryError> {
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            return match &self.credentials {
                Some(c) => Ok(c.basic()),
                None => Err(self.refused()),
            };
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(RegistryError::new(
                &self.repo,
                format!(
                    "the registry asks for `{scheme}` authentication, which kpush does not speak"
                ),
            ));
        }
        let param = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let realm = param("realm").ok_or_else(|| {
            RegistryError::new(&self.repo, "the registry's Bearer challenge names no realm")
        })?;
        let scope = param("scope")
            .map(str::to_string)
            .unwrap_or_else(|| format!("repository:{}:pull", self.repo.name));
        let mut query = vec![format!("scope={}", encode(&scope))];
        if let Some(service) = param("service") {
            query.push(format!("service={}", encode(service)));
        }
        let separator = if realm.contains('?') { '&' } else { '?' };
        let url = format!("{realm}{separator}{}", query.join("&"));
        let basic = self.credentials.as_ref().map(Credentials::basic);
        let reply = self.send(&url, &[], false, basic.as_deref()).await?;
        if reply.status == StatusCode::UNAUTHORIZED || reply.status == StatusCode::FORBIDDEN {
            return Err(self.refused());
        }
        if !reply.status.is_success() {
            return Err(RegistryError::new(
                &self.repo,
                format!("the token service {realm} answered {}", reply.status),
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&reply.body).map_err(|e| {
            RegistryError::new(
                &self.repo,
                format!("the token service {realm} sent no JSON: {e}"),
            )
        })?;
        let token = ["token", "access_token"]
            .iter()
            .find_map(|k| json.get(k).and_then(|v| v.as_str()))
            .ok_or_else(|| {
                RegistryError::new(
                    &self.repo,
                    format!("the token service {realm} sent no token"),
                )
            })?;
        Ok(format!("Bearer {token}"))
    }

    fn refused(&self) -> RegistryError {
        let (message, hint) = match &self.credentials {
            None => (
                "the registry needs credentials and none were found (some registries, Docker Hub among them, answer so for a repository that does not exist)".to_string(),
                "give them in DOCKER_AUTH_CONFIG, the docker config file (`docker login`), or the image policy's pull-secret `env:VARIABLE` (user:password)",
            ),
            Some(c) => (
                format!("the registry refused the credentials of `{}`", c.username),
                "check the credentials and that they may pull this repository",
            ),
        };
        RegistryError::new(&self.repo, message).hint(hint)
    }
}

/// `https://host:port/path` → `host:port`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

/// A `Location` or `Link` target, absolute or relative to `base`'s host.
pub(super) fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}/{}", location.trim_start_matches('/'))
}

/// `Bearer realm="…",service="…",scope="…"` → (`Bearer`, [(realm, …), …]).
fn parse_challenge(text: &str) -> (String, Vec<(String, String)>) {
    let text = text.trim();
    let (scheme, mut rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.push((key.trim().to_string(), value.to_string()));
        rest = after;
    }
    (scheme.to_string(), params)
}

/// Percent-encodes what a query value may not hold as it is.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params,
            [
                (
                    "realm".to_string(),
                    "https://auth.docker.io/token".to_string()
                ),
                ("service".to_string(), "registry.docker.io".to_string()),
                (
                    "scope".to_string(),
                    "repository:library/nginx:pull,push".to_string()
                ),
            ]
        );
        let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(scheme, "Basic");
        assert_eq!(params[0].1, "Registry Realm");
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository:a/b:pull%2Cpush"
        );
    }

    #[test]
    fn redirects_and_hosts() {
        assert_eq!(host_of("https://ghcr.io/v2/x"), "ghcr.io");
        assert_eq!(host_of("http://127.0.0.1:5000/v2/x"), "127.0.0.1:5000");
        assert_eq!(
            resolve(
                "http://127.0.0.1:5000/v2/x/tags/list",
                "/v2/x/tags/list?last=b&n=2"
            ),
            "http://127.0.0.1:5000/v2/x/tags/list?last=b&n=2"
        );
        assert_eq!(resolve("https://a/v2", "https://b/blob"), "https://b/blob");
    }
}
