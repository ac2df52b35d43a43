//! The "source" stage: the files under a path as they are at a git revision (or in the working
//! tree, for local experiments). Nothing here knows about Kubernetes.

pub mod charts;
mod git;
mod paths;
pub use paths::inside_repository;
pub mod remote;
mod snapshot;
mod tree;
mod untar;
mod worktree;
mod write_back;

use std::path::{Path, PathBuf};

pub use snapshot::Snapshot;
pub use tree::EntryKind;
pub use write_back::{Author, author, commit_file};

use crate::exit::ExitStatus;

/// The revision name that reads the working tree instead of a commit.
pub const WORKTREE: &str = "WORKTREE";
/// `diff --from EMPTY`: compare with no objects at all (the first deploy of a new app).
pub const EMPTY: &str = "EMPTY";

/// How a commit to deploy relates to the one deployed last, as far as the repository knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lineage {
    Same,
    /// An ancestor of the deployed commit: deploying it would undo newer changes.
    Older,
    /// The deployed commit is among its ancestors.
    Newer,
    /// Neither contains the other (another branch).
    Unrelated,
    /// A shallow clone lacks one of the commits or the history between them.
    Unknown,
    /// The deployed commit is not in this repository, which holds its whole history: another
    /// branch that was not fetched, or history rewritten since.
    Absent,
}

/// Where files were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revision {
    /// A commit, as the user named it and as it resolved.
    Commit { spec: String, sha: String },
    /// The files on disk, committed or not.
    Worktree,
}

/// A file read from the source, with its path relative to the repository root.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// Every manifest file under the requested path, sorted by path.
#[derive(Debug, Clone)]
pub struct Source {
    pub revision: Revision,
    pub files: Vec<SourceFile>,
}

/// What the commit being deployed is, for templates and history.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommitInfo {
    pub sha: String,
    pub short_sha: String,
    /// A local branch whose tip is this commit (the checked-out one first), if any.
    pub branch: Option<String>,
    /// A tag pointing at this commit, if any.
    pub tag: Option<String>,
    /// RFC 3339, UTC.
    pub commit_time: String,
    pub author: String,
}

/// How to get a commit a shallow CI checkout lacks, per CI system.
pub const FETCH_HINT: &str = "fetch the commit first: on GitHub Actions, `actions/checkout` with `fetch-depth: 0`, or `git fetch --depth=1 origin <sha>`; on GitLab CI, raise `GIT_DEPTH` (0 fetches everything); on Bitbucket Pipelines, `clone: depth: full`";

/// Which repository and revision to read.
#[derive(Debug, Clone)]
pub struct SourceRequest<'a> {
    /// The path asked for, relative to the current directory (or to `repo` when given).
    pub path: &'a Path,
    /// A git revision (`HEAD`, a branch, a tag, a SHA) or [`WORKTREE`].
    pub revision: &'a str,
    /// The repository; by default the one containing the current directory.
    pub repo: Option<&'a Path>,
    /// Read repositories owned by another user (git's `safe.directory` check).
    pub trust_repo_owner: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "`{}` is not inside a git repository; kpush renders committed files\nhint: run kpush inside the repository, pass `--repo`, or use `--rev WORKTREE` to read files on disk",
        path.display()
    )]
    NotARepository { path: PathBuf },
    #[error(
        "the repository at `{}` is owned by another user, and git refuses to read it for safety\nhint: mark it safe with `git config --global --add safe.directory {}`, or pass `--trust-repo-owner` (env `KPUSH_TRUST_REPO_OWNER=1`)",
        path.display(), path.display()
    )]
    UnsafeOwner { path: PathBuf },
    #[error(
        "revision `{revision}` does not name a commit in `{}`{}: {message}\nhint: {}",
        repo.display(),
        if *shallow { " (a shallow clone: it holds only the latest commits)" } else { "" },
        if *shallow { FETCH_HINT } else { "check the revision; if it exists upstream, fetch it (`git fetch origin <rev>`)" }
    )]
    RevisionNotFound {
        revision: String,
        repo: PathBuf,
        message: String,
        /// The repository is a shallow clone (`.git/shallow`): the commit may exist upstream.
        shallow: bool,
    },
    #[error("`{}` does not exist at revision `{revision}`", path.display())]
    PathNotFound { path: PathBuf, revision: String },
    #[error("`{}` is outside the repository at `{}`", path.display(), repo.display())]
    OutsideRepository { path: PathBuf, repo: PathBuf },
    #[error(
        "the commit holds a file or directory named `{name}`, which git never writes; refusing to read it"
    )]
    BadTreeEntry { name: String },
    #[error("git: {0}")]
    Git(#[from] ::git2::Error),
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SourceError {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            SourceError::Git(_) | SourceError::Io { .. } | SourceError::UnsafeOwner { .. } => {
                ExitStatus::Failure
            }
            _ => ExitStatus::Invalid,
        }
    }
}

/// Reads the manifest files under the requested path at the requested revision.
pub fn load(request: &SourceRequest<'_>) -> Result<Source, SourceError> {
    let snapshot = Snapshot::open(request)?;
    let path = snapshot.relative(request.path)?;
    let files = snapshot
        .files(&path)?
        .into_iter()
        .filter(|f| is_manifest_file(&f.path))
        .collect();
    Ok(Source {
        revision: snapshot.revision.clone(),
        files,
    })
}

/// The files kpush reads as manifests.
pub fn is_manifest_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}
