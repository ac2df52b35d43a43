//! The CI system kpush runs in: who this run is (lock holders, history), collapsible log
//! sections and GitHub's annotations.

mod github;
mod sections;

pub use github::{annotate_invalid, annotate_kept_containers, error_annotation};
pub use sections::{section_end, section_start};

/// The CI systems kpush adapts its logs and run identity to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiSystem {
    GitHubActions,
    GitLab,
    Bitbucket,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl CiSystem {
    /// The CI system from the variables each one sets in every job.
    pub fn detect() -> Option<CiSystem> {
        if var("GITHUB_ACTIONS").as_deref() == Some("true") {
            Some(CiSystem::GitHubActions)
        } else if var("GITLAB_CI").is_some() {
            Some(CiSystem::GitLab)
        } else if var("BITBUCKET_BUILD_NUMBER").is_some() {
            Some(CiSystem::Bitbucket)
        } else {
            None
        }
    }
}

/// A description of this run that a person can trace back: the CI job's URL, or the user,
/// host and process.
pub fn run_identity() -> String {
    if let Some(url) = run_url() {
        return url;
    }
    let user = var("USER").unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} pid {}", std::process::id())
}

/// The page of this CI run, from the variables its CI system sets.
fn run_url() -> Option<String> {
    match CiSystem::detect()? {
        CiSystem::GitHubActions => {
            let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
            let repo = var("GITHUB_REPOSITORY")?;
            let run = var("GITHUB_RUN_ID")?;
            Some(format!("{server}/{repo}/actions/runs/{run}"))
        }
        CiSystem::GitLab => var("CI_JOB_URL"),
        CiSystem::Bitbucket => {
            let build = var("BITBUCKET_BUILD_NUMBER")?;
            match var("BITBUCKET_REPO_FULL_NAME") {
                Some(repo) => Some(format!(
                    "https://bitbucket.org/{repo}/pipelines/results/{build}"
                )),
                None => Some(format!("bitbucket build {build}")),
            }
        }
    }
}
