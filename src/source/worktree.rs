//! Reading files from disk (`--rev WORKTREE`), for trying out uncommitted changes.

use std::fs;
use std::path::Path;

use super::tree::{Backend, EntryKind, Opened};
use super::{Revision, SourceError, SourceFile, SourceRequest, paths};

pub fn open(request: &SourceRequest<'_>) -> Result<Opened, SourceError> {
    // Paths are shown relative to the repository when there is one, so they read the same as
    // with a commit; outside a repository, relative to the current directory.
    let (root, base) = match super::git::open_repo(request) {
        Ok((_, root, base)) => (root, base),
        Err(SourceError::NotARepository { .. }) => {
            let cwd = paths::current_dir()?;
            let root = match request.repo {
                Some(repo) => paths::absolute(&cwd, repo),
                None => cwd,
            };
            (root.clone(), root)
        }
        Err(e) => return Err(e),
    };
    Ok(Opened {
        backend: Backend::Disk,
        revision: Revision::Worktree,
        commit: None,
        root,
        base,
    })
}

/// What is at `path` under `root`. A symbolic link, also one to a directory on the way, is
/// nothing, as in a commit.
pub fn kind(root: &Path, path: &Path) -> Option<EntryKind> {
    let mut at = root.to_path_buf();
    let mut components = path.components().peekable();
    while let Some(component) = components.next() {
        at.push(component);
        if components.peek().is_some() && fs::symlink_metadata(&at).ok()?.is_symlink() {
            return None;
        }
    }
    let meta = fs::symlink_metadata(&at).ok()?;
    if meta.is_dir() {
        Some(EntryKind::Dir)
    } else if meta.is_file() {
        Some(EntryKind::File)
    } else {
        None
    }
}

pub fn read(root: &Path, path: &Path) -> Result<Option<Vec<u8>>, SourceError> {
    if kind(root, path) != Some(EntryKind::File) {
        return Ok(None);
    }
    let full = root.join(path);
    fs::read(&full)
        .map(Some)
        .map_err(|source| SourceError::Io { path: full, source })
}

pub fn files_under(root: &Path, path: &Path) -> Result<Vec<SourceFile>, SourceError> {
    let mut files = Vec::new();
    walk(root, path, &mut files)?;
    Ok(files)
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<SourceFile>) -> Result<(), SourceError> {
    let full = root.join(dir);
    let io = |source| SourceError::Io {
        path: full.clone(),
        source,
    };
    for entry in fs::read_dir(&full).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        // Symbolic links are not followed, as with a commit.
        let file_type = entry.file_type().map_err(io)?;
        let shown = dir.join(&name);
        if file_type.is_dir() {
            walk(root, &shown, files)?;
        } else if file_type.is_file() {
            let bytes = fs::read(entry.path()).map_err(io)?;
            files.push(SourceFile { path: shown, bytes });
        }
    }
    Ok(())
}
