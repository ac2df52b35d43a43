//! Reading a commit's tree with libgit2: the working tree is never looked at.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::tree::{Backend, EntryKind, Opened};
use super::{CommitInfo, Revision, SourceError, SourceFile, SourceRequest, paths};

const SYMLINK: i32 = 0o120000;

/// Opens the repository named by `--repo`, or the one containing the current directory.
/// Returns it with its root on disk and the directory user paths are relative to.
pub fn open_repo(
    request: &SourceRequest<'_>,
) -> Result<(Repository, PathBuf, PathBuf), SourceError> {
    cache_trees();
    if request.trust_repo_owner {
        // SAFETY: a process-wide libgit2 option, set before any repository is opened.
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
    let root = repo
        .workdir()
        .or_else(|| repo.path().parent())
        .map(|p| p.canonicalize().unwrap_or_else(|_| p.to_path_buf()))
        .unwrap_or_else(|| start.clone());
    // A relative PATH is relative to the repository with `--repo`, to the current directory
    // otherwise, as a shell user expects.
    let base = if request.repo.is_some() {
        root.clone()
    } else {
        cwd
    };
    Ok((repo, root, base))
}

/// libgit2 keeps only trees under 4 KiB in its object cache; a directory of a few hundred apps
/// is larger, and every path looked up under it would be read and inflated again.
fn cache_trees() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a process-wide libgit2 option, set once, before this process reads objects.
        if let Err(e) = unsafe { git2::opts::set_cache_object_limit(ObjectType::Tree, 1 << 20) } {
            tracing::debug!("cannot raise libgit2's tree cache limit: {e}");
        }
    });
}

pub fn open_snapshot(request: &SourceRequest<'_>) -> Result<Opened, SourceError> {
    let (repo, root, base) = open_repo(request)?;
    let commit = repo
        .revparse_single(request.revision)
        .and_then(|object| object.peel_to_commit())
        .map_err(|e| SourceError::RevisionNotFound {
            revision: request.revision.to_string(),
            repo: root.clone(),
            message: e.message().to_string(),
            shallow: repo.is_shallow(),
        })?;
    let info = commit_info(&repo, &commit, request.revision);
    let tree = commit.tree_id();
    drop(commit);
    Ok(Opened {
        revision: Revision::Commit {
            spec: request.revision.to_string(),
            sha: info.sha.clone(),
        },
        commit: Some(info),
        backend: Backend::Git { repo, tree },
        root,
        base,
    })
}

fn commit_info(repo: &Repository, commit: &git2::Commit<'_>, spec: &str) -> CommitInfo {
    let sha = commit.id().to_string();
    let time = commit.time();
    let commit_time = jiff::Timestamp::from_second(time.seconds())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let author = commit.author();
    let author = match (author.name().ok(), author.email().ok()) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name.to_string(),
        _ => String::new(),
    };
    CommitInfo {
        short_sha: sha[..7.min(sha.len())].to_string(),
        branch: branch_of(repo, commit.id(), spec),
        tag: tag_of(repo, commit.id()),
        sha,
        commit_time,
        author,
    }
}

/// The branch the user named, the checked-out branch, or any local branch at this commit.
fn branch_of(repo: &Repository, id: Oid, spec: &str) -> Option<String> {
    if let Ok(branch) = repo.find_branch(spec, git2::BranchType::Local) {
        return branch.name().ok().flatten().map(str::to_string);
    }
    if let Ok(head) = repo.head()
        && head.is_branch()
        && head.target() == Some(id)
    {
        return head.shorthand().ok().map(str::to_string);
    }
    let branches = repo.branches(Some(git2::BranchType::Local)).ok()?;
    branches
        .flatten()
        .find(|(b, _)| b.get().target() == Some(id))
        .and_then(|(b, _)| b.name().ok().flatten().map(str::to_string))
}

fn tag_of(repo: &Repository, id: Oid) -> Option<String> {
    let mut found = None;
    let _ = repo.tag_foreach(|tag_id, name| {
        let points_here = repo
            .find_object(tag_id, None)
            .and_then(|o| o.peel_to_commit())
            .is_ok_and(|c| c.id() == id);
        if points_here {
            let name = String::from_utf8_lossy(name);
            found = Some(name.trim_start_matches("refs/tags/").to_string());
            return false;
        }
        true
    });
    found
}

fn root_tree(repo: &Repository, tree: Oid) -> Result<git2::Tree<'_>, SourceError> {
    Ok(repo.find_tree(tree)?)
}

pub fn kind(repo: &Repository, tree: Oid, path: &Path) -> Result<Option<EntryKind>, SourceError> {
    if path.as_os_str().is_empty() {
        return Ok(Some(EntryKind::Dir));
    }
    let tree = root_tree(repo, tree)?;
    Ok(match tree.get_path(path) {
        Ok(entry) if entry.kind() == Some(ObjectType::Tree) => Some(EntryKind::Dir),
        Ok(entry) if entry.kind() == Some(ObjectType::Blob) && entry.filemode() != SYMLINK => {
            Some(EntryKind::File)
        }
        _ => None,
    })
}

pub fn read(repo: &Repository, tree: Oid, path: &Path) -> Result<Option<Vec<u8>>, SourceError> {
    let tree = root_tree(repo, tree)?;
    let Ok(entry) = tree.get_path(path) else {
        return Ok(None);
    };
    if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == SYMLINK {
        return Ok(None);
    }
    Ok(Some(repo.find_blob(entry.id())?.content().to_vec()))
}

pub fn object_id(repo: &Repository, tree: Oid, path: &Path) -> Result<Option<String>, SourceError> {
    if path.as_os_str().is_empty() {
        return Ok(Some(tree.to_string()));
    }
    let tree = root_tree(repo, tree)?;
    Ok(tree.get_path(path).ok().map(|entry| {
        // A symbolic link is never read: it counts as absent, but its change still shows.
        if entry.filemode() == SYMLINK {
            format!("link:{}", entry.id())
        } else {
            entry.id().to_string()
        }
    }))
}

/// The tree at directory `path` of the commit's tree.
fn subtree<'r>(
    repo: &'r Repository,
    tree: Oid,
    path: &Path,
) -> Result<git2::Tree<'r>, SourceError> {
    let root = root_tree(repo, tree)?;
    if path.as_os_str().is_empty() {
        return Ok(root);
    }
    let entry = root.get_path(path)?;
    Ok(repo.find_tree(entry.id())?)
}

/// The paths of the regular files under `path`, blobs left unread.
pub fn paths_under(repo: &Repository, tree: Oid, path: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let subtree = subtree(repo, tree, path)?;
    let mut paths = Vec::new();
    subtree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob)
            && entry.filemode() != SYMLINK
            && let Ok(name) = entry.name()
        {
            paths.push(path.join(dir).join(name));
        }
        TreeWalkResult::Ok
    })?;
    Ok(paths)
}

/// The path and blob id of every regular file under `path`.
pub fn ids_under(
    repo: &Repository,
    tree: Oid,
    path: &Path,
) -> Result<Vec<(PathBuf, String)>, SourceError> {
    let subtree = subtree(repo, tree, path)?;
    let mut files = Vec::new();
    subtree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob)
            && entry.filemode() != SYMLINK
            && let Ok(name) = entry.name()
        {
            files.push((path.join(dir).join(name), entry.id().to_string()));
        }
        TreeWalkResult::Ok
    })?;
    Ok(files)
}

/// The content of the blob `id`.
pub fn read_blob(repo: &Repository, id: &str) -> Result<Option<Vec<u8>>, SourceError> {
    let Ok(oid) = Oid::from_str(id) else {
        return Ok(None);
    };
    Ok(repo.find_blob(oid).ok().map(|b| b.content().to_vec()))
}

pub fn files_under(
    repo: &Repository,
    tree: Oid,
    path: &Path,
) -> Result<Vec<SourceFile>, SourceError> {
    let subtree = subtree(repo, tree, path)?;
    let mut files = Vec::new();
    let mut failure = None;
    let walked = subtree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let name = String::from_utf8_lossy(entry.name_bytes());
        // git never writes these, but a crafted commit can; joined to a path they would point
        // outside the copy that helm and kustomize read.
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            failure = Some(SourceError::BadTreeEntry {
                name: path.join(dir).join(&*name).display().to_string(),
            });
            return TreeWalkResult::Abort;
        }
        if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == SYMLINK {
            return TreeWalkResult::Ok;
        }
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Ok;
        };
        match repo.find_blob(entry.id()) {
            Ok(blob) => {
                files.push(SourceFile {
                    path: path.join(dir).join(name),
                    bytes: blob.content().to_vec(),
                });
                TreeWalkResult::Ok
            }
            Err(e) => {
                failure = Some(e.into());
                TreeWalkResult::Abort
            }
        }
    });
    match (failure, walked) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e.into()),
        (None, Ok(())) => Ok(files),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree written byte by byte, as a crafted commit could hold it.
    fn raw_tree(repo: &Repository, entries: &[(&str, &str, Oid)]) -> Oid {
        let mut bytes = Vec::new();
        for (mode, name, id) in entries {
            bytes.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            bytes.extend_from_slice(id.as_bytes());
        }
        repo.odb().unwrap().write(ObjectType::Tree, &bytes).unwrap()
    }

    #[test]
    fn entries_git_never_writes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"a: 1\n").unwrap();
        let fine = raw_tree(&repo, &[("100644", "a.yaml", blob)]);
        assert_eq!(files_under(&repo, fine, Path::new("")).unwrap().len(), 1);
        for bad in ["..", "."] {
            let inner = raw_tree(&repo, &[("100644", "passwd", blob)]);
            let tree = raw_tree(&repo, &[("40000", bad, inner)]);
            match files_under(&repo, tree, Path::new("")) {
                Err(SourceError::BadTreeEntry { name }) => assert_eq!(name, bad),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
