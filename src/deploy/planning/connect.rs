//! Which cluster an app deploys to.

use std::path::PathBuf;

use crate::cluster::{self, Cluster, ConnectOptions};
use crate::error::Error;

use crate::deploy::AppRun;

/// How to reach clusters: the kubeconfig and the TLS choice, the same for every app.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub kubeconfig: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
}

/// The cluster an app deploys to: its context (`--context` or the definition's), or the
/// context of its destination server.
pub async fn connect(connection: &Connection, run: &AppRun) -> Result<Cluster, Error> {
    let kubeconfig = connection.kubeconfig.as_deref();
    let context = match (&run.context, &run.server) {
        (Some(context), _) => Some(context.clone()),
        (None, Some(server)) => cluster::context_for_server(kubeconfig, server)?,
        (None, None) => None,
    };
    Ok(cluster::connect(&ConnectOptions {
        kubeconfig,
        context: context.as_deref(),
        insecure_skip_tls_verify: connection.insecure_skip_tls_verify,
    })
    .await?)
}
