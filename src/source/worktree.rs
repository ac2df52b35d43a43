//! Reading files from disk (`--rev WORKTREE`), for trying out uncommitted changes.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Revision, Source, SourceError, SourceFile, SourceRequest, is_manifest_file, paths};

pub fn load(request: &SourceRequest<'_>) -> Result<Source, SourceError> {
    let cwd = paths::current_dir()?;
    // Paths are shown relative to the repository when there is one, so they read the same
    // as with a commit; outside a repository, relative to the current directory.
    let (root, base) = match super::git::open(request) {
        Ok((repo, _)) => {
            let root = repo
                .workdir()
                .map(|p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()))
                .unwrap_or_else(|| cwd.clone());
            let base = if request.repo.is_some() {
                root.clone()
            } else {
                cwd.clone()
            };
            (root, base)
        }
        Err(SourceError::NotARepository { .. }) => (cwd.clone(), cwd.clone()),
        Err(e) => return Err(e),
    };
    let wanted = paths::absolute(&base, request.path);
    let relative = paths::relative_to(&root, &wanted).unwrap_or_else(|_| wanted.clone());
    let meta = fs::metadata(&wanted).map_err(|_| SourceError::PathNotFound {
        path: relative.clone(),
        revision: super::WORKTREE.to_string(),
    })?;

    let mut files = Vec::new();
    if meta.is_dir() {
        walk(&wanted, &relative, &mut files)?;
    } else {
        files.push(read(&wanted, relative)?);
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Source {
        revision: Revision::Worktree,
        files,
    })
}

fn walk(dir: &Path, shown: &Path, files: &mut Vec<SourceFile>) -> Result<(), SourceError> {
    let io = |source| SourceError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        // Symbolic links are not followed, as with a commit.
        let file_type = entry.file_type().map_err(io)?;
        let path = entry.path();
        let shown = shown.join(&name);
        if file_type.is_dir() {
            walk(&path, &shown, files)?;
        } else if file_type.is_file() && is_manifest_file(&path) {
            files.push(read(&path, shown)?);
        }
    }
    Ok(())
}

fn read(path: &Path, shown: PathBuf) -> Result<SourceFile, SourceError> {
    let bytes = fs::read(path).map_err(|source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(SourceFile { path: shown, bytes })
}
