//! The boundary with the Kubernetes API: the only module that imports `kube`. Everything it
//! returns is plain data (JSON values, [`Resource`]s, [`ApiFailure`]s).

mod connect;
mod create;
mod discovery;
mod established;
mod failure;
mod lease;
mod members;
mod objects;
pub use objects::ApplyOptions;
mod retry;
mod schema;
mod watch;

pub use connect::{
    ConnectOptions, KubeContext, connect, context_for_server, contexts, contexts_from_yaml,
};
pub use discovery::{Discovery, Resolution};
pub use failure::{ApiFailure, FailureClass};
pub use lease::{HeldLease, LockError};
pub use members::{LIST_FROM, Propagation};
pub use watch::Seen;

use crate::exit::ExitStatus;

/// The field manager kpush applies as.
pub const FIELD_MANAGER: &str = "kpush";

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    /// What this run learnt about the server once and may need again.
    learnt: std::sync::Arc<schema::Learnt>,
    /// The namespace of the kubeconfig context, used when neither the manifest nor `-n` sets one.
    pub default_namespace: String,
    /// The API server URL, for messages.
    pub server: String,
}

/// Failures that stop a run before any per-object work: bad kubeconfig, unreachable server.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{message}\nhint: {hint}")]
    Config { message: String, hint: String },
    #[error("cannot reach the Kubernetes API server at {server}: {message}")]
    Unreachable { server: String, message: String },
    #[error(
        "the API server at {server} refused the credentials: {message}\nhint: check the token or client certificate of the kubeconfig context"
    )]
    Unauthorized { server: String, message: String },
    #[error(
        "the API server at {server} failed TLS verification: {message}\nhint: check the kubeconfig's certificate-authority-data (or pass --insecure-skip-tls-verify, which exposes the credentials to the network)"
    )]
    Tls { server: String, message: String },
    #[error("API discovery for `{api_version}` failed: {failure}")]
    Discovery {
        api_version: String,
        failure: ApiFailure,
    },
}

impl ClusterError {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            // Retrying will not help these: the kubeconfig needs fixing.
            ClusterError::Config { .. }
            | ClusterError::Unauthorized { .. }
            | ClusterError::Tls { .. } => ExitStatus::Invalid,
            _ => ExitStatus::Failure,
        }
    }
}
