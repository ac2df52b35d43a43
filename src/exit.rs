//! Exit codes are a contract with pipelines: documented in the README, never reused.

/// How a kpush run ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Everything asked for was done.
    Success = 0,
    /// A runtime failure: cluster unreachable, timeout, conflict, a write that failed.
    Failure = 1,
    /// `diff --exit-code` found changes.
    Changes = 2,
    /// Invalid input or a validation failure; nothing was written to the cluster.
    Invalid = 3,
    /// The rollout failed its health checks.
    Unhealthy = 4,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}
