//! Reading files from a commit's tree with libgit2: the working tree is never looked at.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Repository, TreeWalkMode, TreeWalkResult};

use super::{Revision, Source, SourceError, SourceFile, SourceRequest, is_manifest_file, paths};

/// Opens the repository named by `--repo`, or the one containing the current directory.
pub fn open(request: &SourceRequest<'_>) -> Result<(Repository, PathBuf), SourceError> {
    if request.trust_repo_owner {
        // SAFETY: called before any other libgit2 use in this process and never concurrently.
        unsafe { git2::opts::set_verify_owner_validation(false)? };
    }
    let cwd = paths::current_dir()?;
    let start = match request.repo {
        Some(repo) => paths::absolute(&cwd, repo),
        None => cwd.clone(),
    };
    let repo = Repository::discover(&start).map_err(|e| match e.code() {
        ErrorCode::NotFound => SourceError::NotARepository {
            path: start.clone(),
        },
        ErrorCode::Owner => SourceError::UnsafeOwner {
            path: start.clone(),
        },
        _ => SourceError::Git(e),
    })?;
    let workdir = repo
        .workdir()
        .or_else(|| repo.path().parent())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()))
        .unwrap_or_else(|| start.clone());
    // A relative PATH is relative to the repository with `--repo`, to the current directory
    // otherwise, as a shell user expects.
    let base = if request.repo.is_some() {
        workdir.clone()
    } else {
        cwd
    };
    let wanted = paths::absolute(&base, request.path);
    let relative = paths::relative_to(&workdir, &wanted)?;
    Ok((repo, relative))
}

pub fn load(request: &SourceRequest<'_>) -> Result<Source, SourceError> {
    let (repo, relative) = open(request)?;
    let commit = repo
        .revparse_single(request.revision)
        .and_then(|object| object.peel_to_commit())
        .map_err(|e| SourceError::RevisionNotFound {
            revision: request.revision.to_string(),
            repo: repo.workdir().unwrap_or(repo.path()).to_path_buf(),
            message: e.message().to_string(),
        })?;
    let tree = commit.tree()?;
    let not_found = || SourceError::PathNotFound {
        path: relative.clone(),
        revision: request.revision.to_string(),
    };

    let mut files = Vec::new();
    if relative.as_os_str().is_empty() {
        collect_tree(&repo, &tree, Path::new(""), &mut files)?;
    } else {
        let entry = tree.get_path(&relative).map_err(|_| not_found())?;
        match entry.kind() {
            Some(ObjectType::Tree) => {
                let subtree = repo.find_tree(entry.id())?;
                collect_tree(&repo, &subtree, &relative, &mut files)?;
            }
            Some(ObjectType::Blob) if entry.filemode() != SYMLINK => {
                let blob = repo.find_blob(entry.id())?;
                files.push(SourceFile {
                    path: relative.clone(),
                    bytes: blob.content().to_vec(),
                });
            }
            _ => return Err(not_found()),
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Source {
        revision: Revision::Commit {
            spec: request.revision.to_string(),
            sha: commit.id().to_string(),
        },
        files,
    })
}

const SYMLINK: i32 = 0o120000;

/// Every manifest blob under `tree`. Symbolic links are not followed: their targets may lie
/// outside the commit.
fn collect_tree(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    prefix: &Path,
    files: &mut Vec<SourceFile>,
) -> Result<(), SourceError> {
    let mut failure = None;
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == SYMLINK {
            return TreeWalkResult::Ok;
        }
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Ok;
        };
        let path = prefix.join(dir).join(name);
        if !is_manifest_file(&path) {
            return TreeWalkResult::Ok;
        }
        match repo.find_blob(entry.id()) {
            Ok(blob) => {
                files.push(SourceFile {
                    path,
                    bytes: blob.content().to_vec(),
                });
                TreeWalkResult::Ok
            }
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    })?;
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
