//! The errors that end a run, each mapped to its exit code.

use crate::cluster::ClusterError;
use crate::exit::ExitStatus;
use crate::input::RenderError;
use crate::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Lock(#[from] crate::cluster::LockError),
    #[error(transparent)]
    Settings(#[from] crate::settings::error::SettingsError),
    /// A registry `--update-images` asked; nothing was written.
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// Input or cluster state that makes the run unsafe to start; nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// A failure while running.
    #[error("{0}")]
    Runtime(String),
    /// Objects that waited for their namespace or CRD failed validation once those existed;
    /// only namespaces, CRDs and the inventory were written.
    #[error(
        "validation failed after creating namespaces and CustomResourceDefinitions; no other object was written, nothing was pruned"
    )]
    Revalidation(crate::plan::Plan),
    /// SIGTERM or SIGINT; says what was written before the run stopped.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// The deploy lock stopped being this run's while it wrote; says what was written.
    #[error("lost the deploy lock: {0}")]
    LockLost(String),
}

impl Error {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Source(e) => e.exit_status(),
            Error::Render(_) | Error::Settings(_) | Error::Registry(_) => ExitStatus::Invalid,
            Error::Cluster(e) => e.exit_status(),
            Error::Lock(_) | Error::Runtime(_) | Error::Cancelled(_) | Error::LockLost(_) => {
                ExitStatus::Failure
            }
            Error::Invalid(_) | Error::Revalidation(_) => ExitStatus::Invalid,
        }
    }
}
