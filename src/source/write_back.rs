//! Committing one file to the checked-out branch: how `--write-back` records a promoted tag
//! in the repository. Only that file changes; whatever else is staged or modified stays as it
//! is. Pushing is left to the pipeline.

use std::path::Path;

use git2::{Repository, Signature};

use super::SourceError;

/// Who the commit is by.
#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// Writes `content` to `path` (repository-relative) in a new commit on the current branch,
/// and in the working tree and index, so the checkout stays clean. Returns the commit's SHA.
pub fn commit_file(
    root: &Path,
    path: &Path,
    content: &[u8],
    message: &str,
    author: &Author,
) -> Result<String, SourceError> {
    let repo = Repository::open(root)?;
    let head = repo.head()?;
    if !head.is_branch() {
        return Err(SourceError::Git(git2::Error::from_str(
            "write-back needs a checked-out branch; HEAD is detached (check out the branch the pipeline deploys)",
        )));
    }
    let parent = head.peel_to_commit()?;
    let blob = repo.blob(content)?;
    let mut update = git2::build::TreeUpdateBuilder::new();
    update.upsert(path, blob, git2::FileMode::Blob);
    let tree_id = update.create_updated(&repo, &parent.tree()?)?;
    let tree = repo.find_tree(tree_id)?;
    let signature = Signature::now(&author.name, &author.email)?;
    let commit = repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        message,
        &tree,
        &[&parent],
    )?;

    let on_disk = root.join(path);
    if let Some(dir) = on_disk.parent() {
        std::fs::create_dir_all(dir).map_err(|source| SourceError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(&on_disk, content).map_err(|source| SourceError::Io {
        path: on_disk.clone(),
        source,
    })?;
    let mut index = repo.index()?;
    index.add_path(path)?;
    index.write()?;
    Ok(commit.to_string())
}

/// `--git-user`/`--git-email`, the usual git environment, the repository's config, or kpush.
pub fn author(root: &Path, user: Option<&str>, email: Option<&str>) -> Author {
    let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    let config = Repository::open(root).ok().and_then(|r| r.config().ok());
    let from_config = |key: &str| config.as_ref().and_then(|c| c.get_string(key).ok());
    Author {
        name: user
            .map(str::to_string)
            .or_else(|| env("GIT_COMMITTER_NAME"))
            .or_else(|| env("GIT_AUTHOR_NAME"))
            .or_else(|| from_config("user.name"))
            .unwrap_or_else(|| "kpush".into()),
        email: email
            .map(str::to_string)
            .or_else(|| env("GIT_COMMITTER_EMAIL"))
            .or_else(|| env("GIT_AUTHOR_EMAIL"))
            .or_else(|| from_config("user.email"))
            .unwrap_or_else(|| "kpush@localhost".into()),
    }
}
