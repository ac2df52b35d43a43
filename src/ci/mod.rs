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

/// A description of this run that a person can trace back: the CI job (its page, job and
/// attempt), or the user, host and process.
pub fn run_identity() -> String {
    CiSystem::detect()
        .and_then(|system| job(system, &var))
        .unwrap_or_else(|| format!("{}@{} pid {}", user(), host(), std::process::id()))
}

/// Who holds the deploy lock: unique per process. Parallel jobs of one CI run (matrix legs
/// share the run and the job name) must never pass each other's holder check, nor release
/// each other's lock.
pub fn lock_holder() -> String {
    match CiSystem::detect().and_then(|system| job(system, &var)) {
        Some(job) => format!("{job} ({} pid {})", host(), std::process::id()),
        None => run_identity(),
    }
}

fn user() -> String {
    var("USER").unwrap_or_else(|| "unknown".into())
}

fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The CI job, from the variables its CI system sets: its page, and what tells its attempts
/// and parallel jobs apart.
fn job(system: CiSystem, var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    match system {
        CiSystem::GitHubActions => {
            let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
            let repo = var("GITHUB_REPOSITORY")?;
            let run = var("GITHUB_RUN_ID")?;
            let mut text = format!("{server}/{repo}/actions/runs/{run}");
            if let Some(attempt) = var("GITHUB_RUN_ATTEMPT") {
                text.push_str(&format!("/attempts/{attempt}"));
            }
            if let Some(job) = var("GITHUB_JOB") {
                text.push_str(&format!(" job {job}"));
            }
            Some(text)
        }
        // A job's page is its own; a retry is a new job.
        CiSystem::GitLab => var("CI_JOB_URL"),
        CiSystem::Bitbucket => {
            let build = var("BITBUCKET_BUILD_NUMBER")?;
            let mut text = match var("BITBUCKET_REPO_FULL_NAME") {
                Some(repo) => format!("https://bitbucket.org/{repo}/pipelines/results/{build}"),
                None => format!("bitbucket build {build}"),
            };
            if let Some(step) = var("BITBUCKET_STEP_UUID") {
                text.push_str(&format!(" step {step}"));
            }
            Some(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_job_is_told_apart_from_its_retries_and_siblings() {
        let github = [
            ("GITHUB_REPOSITORY", "org/shop"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "deploy"),
        ];
        assert_eq!(
            job(CiSystem::GitHubActions, &vars(&github)).as_deref(),
            Some("https://github.com/org/shop/actions/runs/42/attempts/2 job deploy")
        );
        let bitbucket = [
            ("BITBUCKET_BUILD_NUMBER", "7"),
            ("BITBUCKET_REPO_FULL_NAME", "org/shop"),
            ("BITBUCKET_STEP_UUID", "{abc}"),
        ];
        assert_eq!(
            job(CiSystem::Bitbucket, &vars(&bitbucket)).as_deref(),
            Some("https://bitbucket.org/org/shop/pipelines/results/7 step {abc}")
        );
        assert_eq!(job(CiSystem::GitHubActions, &vars(&[])), None);
    }
}
