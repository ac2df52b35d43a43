//! Building a client from a kubeconfig, as kubectl would pick it.

use std::path::Path;
use std::time::Duration;

use kube::Config;
use kube::client::ClientBuilder;
use kube::client::retry::RetryPolicy;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tower::buffer::BufferLayer;
use tower::retry::RetryLayer;

use super::failure::error_chain;
use super::{Cluster, ClusterError};

/// Which kubeconfig and context to use; `None` means kubectl's defaults (`KUBECONFIG`,
/// `~/.kube/config`, then the in-cluster service account).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions<'a> {
    pub kubeconfig: Option<&'a Path>,
    pub context: Option<&'a str>,
    /// `--insecure-skip-tls-verify`: the only way to turn certificate checks off.
    pub insecure_skip_tls_verify: bool,
}

/// Retries of 429 (priority and fairness), 503 and 504, honouring the server's Retry-After.
const THROTTLE_RETRIES: u32 = 10;
const THROTTLE_FIRST_DELAY: Duration = Duration::from_millis(100);
const THROTTLE_MAX_DELAY: Duration = Duration::from_secs(10);

/// Argo CD's name for "the cluster Argo CD runs in": in push mode, the current context.
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// The kubeconfig context whose cluster is `server` (an Argo CD `destination.server`), or
/// `None` for the in-cluster address, which means the current context.
pub fn context_for_server(
    kubeconfig: Option<&Path>,
    server: &str,
) -> Result<Option<String>, ClusterError> {
    if server.trim_end_matches('/') == IN_CLUSTER {
        return Ok(None);
    }
    let config = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| ClusterError::Config {
        message: format!(
            "cannot read the kubeconfig to find server {server}: {}",
            error_chain(&e)
        ),
        hint: "pass `--kubeconfig FILE` and `--context NAME`".into(),
    })?;
    let same = |a: &str| a.trim_end_matches('/') == server.trim_end_matches('/');
    let clusters: Vec<&str> = config
        .clusters
        .iter()
        .filter(|c| {
            c.cluster
                .as_ref()
                .and_then(|c| c.server.as_deref())
                .is_some_and(same)
        })
        .map(|c| c.name.as_str())
        .collect();
    config
        .contexts
        .iter()
        .find(|c| c.context.as_ref().is_some_and(|ctx| clusters.contains(&ctx.cluster.as_str())))
        .map(|c| Some(c.name.clone()))
        .ok_or_else(|| ClusterError::Config {
            message: format!("no kubeconfig context points at the destination server {server}"),
            hint: "add a context for it, set `spec.destination.context` (kpush format), or pass `--context`".into(),
        })
}

/// A kubeconfig context and the server of its cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeContext {
    pub name: String,
    pub server: String,
    /// The context's `extensions`, by name.
    pub extensions: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Every context of the kubeconfig whose cluster has a server, in the kubeconfig's order.
pub fn contexts(kubeconfig: Option<&Path>) -> Result<Vec<KubeContext>, ClusterError> {
    let config = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(|e| ClusterError::Config {
        message: format!("cannot read the kubeconfig: {}", error_chain(&e)),
        hint: "pass `--kubeconfig FILE`".into(),
    })?;
    Ok(contexts_of(&config))
}

fn contexts_of(config: &Kubeconfig) -> Vec<KubeContext> {
    let servers: std::collections::BTreeMap<&str, &str> = config
        .clusters
        .iter()
        .filter_map(|c| Some((c.name.as_str(), c.cluster.as_ref()?.server.as_deref()?)))
        .collect();
    config
        .contexts
        .iter()
        .filter_map(|named| {
            let context = named.context.as_ref()?;
            Some(KubeContext {
                name: named.name.clone(),
                server: servers.get(context.cluster.as_str())?.to_string(),
                extensions: context
                    .extensions
                    .iter()
                    .flatten()
                    .map(|e| (e.name.clone(), e.extension.clone()))
                    .collect(),
            })
        })
        .collect()
}

/// Reads a kubeconfig's contexts from its text.
pub fn contexts_from_yaml(text: &str) -> Result<Vec<KubeContext>, String> {
    Kubeconfig::from_yaml(text)
        .map(|c| contexts_of(&c))
        .map_err(|e| e.to_string())
}

pub async fn connect(options: &ConnectOptions<'_>) -> Result<Cluster, ClusterError> {
    let kube_options = KubeConfigOptions {
        context: options.context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config_error = |message: String| ClusterError::Config {
        message,
        hint: "pass `--kubeconfig FILE` and `--context NAME`, or set KUBECONFIG".into(),
    };
    let mut config = match options.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path).map_err(|e| ClusterError::Config {
                message: format!(
                    "cannot use kubeconfig `{}`: {}",
                    path.display(),
                    error_chain(&e)
                ),
                hint: "check that the file exists and is a valid kubeconfig".into(),
            })?;
            Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                .await
                .map_err(|e| config_error(context_message(options.context, &e)))?
        }
        None if options.context.is_some() => Config::from_kubeconfig(&kube_options)
            .await
            .map_err(|e| config_error(context_message(options.context, &e)))?,
        None => Config::infer()
            .await
            .map_err(|e| config_error(format!("no usable kubeconfig: {}", error_chain(&e))))?,
    };
    if config.accept_invalid_certs && !options.insecure_skip_tls_verify {
        return Err(ClusterError::Config {
            message: format!(
                "the kubeconfig turns off TLS verification for {} (insecure-skip-tls-verify: true)",
                config.cluster_url
            ),
            hint: "set certificate-authority-data for the cluster, or pass --insecure-skip-tls-verify to accept an unverified server".into(),
        });
    }
    if options.insecure_skip_tls_verify {
        tracing::warn!(
            "TLS verification is off (--insecure-skip-tls-verify): anyone on the network path to {} can read the credentials and change what is deployed",
            config.cluster_url
        );
        config.accept_invalid_certs = true;
    }
    // kube takes HTTPS_PROXY for every cluster; NO_PROXY decides per host, as kubectl and curl
    // read it (a kubeconfig's own proxy-url stays).
    if config.proxy_url.is_some()
        && config.proxy_url == env_proxy()
        && hyper_util::client::proxy::matcher::Matcher::from_env()
            .intercept(&config.cluster_url)
            .is_none()
    {
        config.proxy_url = None;
    }
    // Fail fast on a dead address; keep reads long enough for large applies.
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(120));
    let server = config.cluster_url.to_string();
    let default_namespace = config.default_namespace.clone();
    // The client's own retry of 429/503/504 waits up to 1000 s between 15 attempts; this one
    // honours Retry-After too, but gives up within about a minute.
    config.default_retry = false;
    let throttled = RetryLayer::new(
        RetryPolicy::new(
            THROTTLE_FIRST_DELAY,
            THROTTLE_MAX_DELAY,
            THROTTLE_RETRIES,
            true,
        )
        .expect("valid backoff"),
    );
    let client = ClientBuilder::try_from(config)
        .map_err(|e| ClusterError::Config {
            message: format!("cannot build a client for {server}: {}", error_chain(&e)),
            hint: "check the certificate and key data of the kubeconfig".into(),
        })?
        // Retrying needs a service it can clone; the buffer makes one of the client's.
        .with_layer(&BufferLayer::new(1024))
        .with_layer(&throttled)
        .build();
    Ok(Cluster {
        client,
        learnt: Default::default(),
        default_namespace,
        server,
    })
}

fn context_message(context: Option<&str>, error: &dyn std::error::Error) -> String {
    match context {
        Some(name) => format!("cannot use context `{name}`: {}", error_chain(error)),
        None => format!("cannot use the current context: {}", error_chain(error)),
    }
}

/// The proxy the environment names for HTTPS, as kube reads it.
fn env_proxy() -> Option<http::Uri> {
    ["HTTPS_PROXY", "https_proxy"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.is_empty())
        .and_then(|value| value.parse().ok())
}
