//! Which CI system kpush runs in, and who this run is, for lock holders and history.

/// A description of this run that a person can trace back: the CI job's URL or number, or
/// the user, host and process.
pub fn run_identity() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(server), Some(repo), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        return format!("{server}/{repo}/actions/runs/{run}");
    }
    if let Some(url) = var("CI_JOB_URL") {
        return url;
    }
    if let Some(build) = var("BITBUCKET_BUILD_NUMBER") {
        let repo = var("BITBUCKET_REPO_FULL_NAME").unwrap_or_default();
        return format!("bitbucket {repo} build {build}");
    }
    let user = var("USER").unwrap_or_else(|| "unknown".into());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host} pid {}", std::process::id())
}
