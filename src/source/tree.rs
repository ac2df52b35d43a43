//! What a snapshot reads from: a commit's tree in the object database, or the disk.

use std::path::PathBuf;

use super::{CommitInfo, Revision};

pub(super) enum Backend {
    Git {
        repo: git2::Repository,
        tree: git2::Oid,
    },
    Disk,
}

/// A file or a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// A revision a backend opened: where to read, and what it is.
pub(super) struct Opened {
    pub backend: Backend,
    pub revision: Revision,
    pub commit: Option<CommitInfo>,
    /// The repository root on disk (the current directory outside a repository).
    pub root: PathBuf,
    /// Where relative paths given by the user start.
    pub base: PathBuf,
}
