//! One revision of the repository, read-only: a commit's tree, or the working tree on disk.
//! Every later stage reads files through it, so nothing sees uncommitted changes by accident.

use std::path::{Path, PathBuf};

use super::tree::{Backend, EntryKind, Opened};
use super::{CommitInfo, Revision, SourceError, SourceFile, SourceRequest, WORKTREE, git, paths};

pub struct Snapshot {
    pub(super) backend: Backend,
    pub revision: Revision,
    /// `None` when reading the working tree.
    pub commit: Option<CommitInfo>,
    /// The repository root on disk (the current directory outside a repository).
    pub(super) root: PathBuf,
    /// Where relative paths given by the user start.
    pub(super) base: PathBuf,
    pub(super) trust_repo_owner: bool,
}

impl Snapshot {
    pub fn open(request: &SourceRequest<'_>) -> Result<Snapshot, SourceError> {
        let opened = if request.revision == WORKTREE {
            super::worktree::open(request)?
        } else {
            git::open_snapshot(request)?
        };
        let Opened {
            backend,
            revision,
            commit,
            root,
            base,
        } = opened;
        Ok(Snapshot {
            backend,
            revision,
            commit,
            root,
            base,
            trust_repo_owner: request.trust_repo_owner,
        })
    }

    /// The files on disk under `dir`, as `--rev WORKTREE` reads them.
    #[cfg(test)]
    pub fn worktree_for_tests(dir: &Path) -> Snapshot {
        Snapshot::open(&SourceRequest {
            path: Path::new("."),
            revision: WORKTREE,
            repo: Some(dir),
            trust_repo_owner: false,
        })
        .expect("a readable directory")
    }

    /// The same repository at another revision.
    pub fn at(&self, revision: &str) -> Result<Snapshot, SourceError> {
        let request = SourceRequest {
            path: Path::new("."),
            revision,
            repo: Some(&self.root),
            trust_repo_owner: self.trust_repo_owner,
        };
        let mut snapshot = Snapshot::open(&request)?;
        snapshot.base = self.base.clone();
        Ok(snapshot)
    }

    /// A path the user typed, as a path inside the repository.
    pub fn relative(&self, user_path: &Path) -> Result<PathBuf, SourceError> {
        let wanted = paths::absolute(&self.base, user_path);
        paths::relative_to(&self.root, &wanted)
    }

    /// `path` without `.` and `..`, or an error when it leaves the repository. Every read goes
    /// through here, so a path from an app definition cannot reach other files on disk.
    fn contained(&self, path: &Path) -> Result<PathBuf, SourceError> {
        paths::inside_repository(path).ok_or_else(|| SourceError::OutsideRepository {
            path: path.to_path_buf(),
            repo: self.root.clone(),
        })
    }

    /// What is at `path` (relative to the repository root), if anything.
    pub fn kind(&self, path: &Path) -> Result<Option<EntryKind>, SourceError> {
        let path = self.contained(path)?;
        match &self.backend {
            Backend::Git { repo, tree } => git::kind(repo, *tree, &path),
            Backend::Disk => Ok(super::worktree::kind(&self.root, &path)),
        }
    }

    /// The file at `path`, or `None` when there is no file there.
    pub fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, SourceError> {
        let path = self.contained(path)?;
        match &self.backend {
            Backend::Git { repo, tree } => git::read(repo, *tree, &path),
            Backend::Disk => super::worktree::read(&self.root, &path),
        }
    }

    /// Every regular file under `path` (or the file itself), sorted by path. Symbolic links are
    /// never followed: their targets may lie outside the repository.
    pub fn files(&self, path: &Path) -> Result<Vec<SourceFile>, SourceError> {
        let path = &self.contained(path)?;
        let not_found = || SourceError::PathNotFound {
            path: path.to_path_buf(),
            revision: self.revision_name(),
        };
        let mut files = match self.kind(path)? {
            None => return Err(not_found()),
            Some(EntryKind::File) => vec![SourceFile {
                path: path.to_path_buf(),
                bytes: self.read(path)?.ok_or_else(not_found)?,
            }],
            Some(EntryKind::Dir) => match &self.backend {
                Backend::Git { repo, tree } => git::files_under(repo, *tree, path)?,
                Backend::Disk => super::worktree::files_under(&self.root, path)?,
            },
        };
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// The paths of every regular file under `path`, sorted, without reading them.
    pub fn file_paths(&self, path: &Path) -> Result<Vec<PathBuf>, SourceError> {
        let path = &self.contained(path)?;
        let mut paths = match (&self.backend, self.kind(path)?) {
            (_, None) => Vec::new(),
            (_, Some(EntryKind::File)) => vec![path.to_path_buf()],
            (Backend::Git { repo, tree }, Some(EntryKind::Dir)) => {
                git::paths_under(repo, *tree, path)?
            }
            (Backend::Disk, Some(EntryKind::Dir)) => {
                super::worktree::files_under(&self.root, path)?
                    .into_iter()
                    .map(|f| f.path)
                    .collect()
            }
        };
        paths.sort();
        Ok(paths)
    }

    /// The git object id of what is at `path` (a tree for a directory, a blob for a file):
    /// equal ids mean equal content. `None` when nothing is there, and always for the working
    /// tree, which has no ids.
    pub fn object_id(&self, path: &Path) -> Result<Option<String>, SourceError> {
        let path = self.contained(path)?;
        match &self.backend {
            Backend::Git { repo, tree } => git::object_id(repo, *tree, &path),
            Backend::Disk => Ok(None),
        }
    }

    /// Every regular file under `path` with its blob id (`None` in the working tree, which has
    /// no ids), without reading them.
    pub fn file_ids(&self, path: &Path) -> Result<Vec<(PathBuf, Option<String>)>, SourceError> {
        let path = &self.contained(path)?;
        match (&self.backend, self.kind(path)?) {
            (_, None) => Ok(Vec::new()),
            (Backend::Git { repo, tree }, Some(EntryKind::Dir)) => {
                Ok(git::ids_under(repo, *tree, path)?
                    .into_iter()
                    .map(|(p, id)| (p, Some(id)))
                    .collect())
            }
            _ => Ok(self
                .file_paths(path)?
                .into_iter()
                .map(|p| (p, None))
                .collect()),
        }
    }

    /// The content of a file: by its blob id when it has one, else by its path.
    pub fn read_file(&self, path: &Path, id: Option<&str>) -> Result<Option<Vec<u8>>, SourceError> {
        match (&self.backend, id) {
            (Backend::Git { repo, .. }, Some(id)) => git::read_blob(repo, id),
            _ => self.read(path),
        }
    }

    /// Whether the files are a commit's (they have object ids), not the working tree's.
    pub fn is_commit(&self) -> bool {
        matches!(self.backend, Backend::Git { .. })
    }

    /// The same revision, opened again: a snapshot is read by one thread at a time.
    pub fn reopen(&self) -> Result<Snapshot, SourceError> {
        let backend = match &self.backend {
            Backend::Git { repo, tree } => Backend::Git {
                repo: git2::Repository::open(repo.path())?,
                tree: *tree,
            },
            Backend::Disk => Backend::Disk,
        };
        Ok(Snapshot {
            backend,
            revision: self.revision.clone(),
            commit: self.commit.clone(),
            root: self.root.clone(),
            base: self.base.clone(),
            trust_repo_owner: self.trust_repo_owner,
        })
    }

    /// Reads files of this revision on demand from any thread (a template's includes): only
    /// what is asked for is read. Paths that leave the repository read as nothing.
    pub fn shared_reader(
        &self,
    ) -> Result<impl Fn(&Path) -> Option<Vec<u8>> + Send + Sync + 'static, SourceError> {
        let opened = self.reopen()?;
        let Snapshot { backend, root, .. } = opened;
        let backend = std::sync::Mutex::new(backend);
        Ok(move |path: &Path| {
            let path = paths::inside_repository(path)?;
            match &*backend.lock().ok()? {
                Backend::Git { repo, tree } => git::read(repo, *tree, &path).ok().flatten(),
                Backend::Disk => super::worktree::read(&root, &path).ok().flatten(),
            }
        })
    }

    /// Writes `paths` (files, or directories with everything under them) into `dir`, for
    /// tools that read a directory (helm, kustomize): only what the app reads, so the cost of
    /// a render does not grow with the rest of the repository.
    pub fn materialize_paths(&self, dir: &Path, paths: &[PathBuf]) -> Result<(), SourceError> {
        let mut written = std::collections::BTreeSet::new();
        for path in paths {
            if self.kind(path)?.is_none() {
                continue;
            }
            for file in self.files(path)? {
                if written.insert(file.path.clone()) {
                    write_file(dir, &file)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the whole tree into `dir`.
    pub fn materialize(&self, dir: &Path) -> Result<(), SourceError> {
        for file in self.files(Path::new(""))? {
            write_file(dir, &file)?;
        }
        Ok(())
    }

    /// The repository root on disk.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `HEAD`, a SHA, or `WORKTREE`, as the user named it.
    pub fn revision_name(&self) -> String {
        match &self.revision {
            Revision::Commit { spec, .. } => spec.clone(),
            Revision::Worktree => WORKTREE.to_string(),
        }
    }
}

impl Snapshot {
    /// How commit `candidate` relates to commit `deployed` (both full SHAs).
    pub fn lineage(&self, candidate: &str, deployed: &str) -> super::Lineage {
        use super::Lineage;
        let opened;
        let repo = match &self.backend {
            Backend::Git { repo, .. } => repo,
            Backend::Disk => match git2::Repository::open(&self.root) {
                Ok(repo) => {
                    opened = repo;
                    &opened
                }
                Err(_) => return Lineage::Unknown,
            },
        };
        let (Ok(c), Ok(d)) = (
            git2::Oid::from_str(candidate),
            git2::Oid::from_str(deployed),
        ) else {
            return Lineage::Unknown;
        };
        if c == d {
            return Lineage::Same;
        }
        if repo.find_commit(c).is_err() || repo.find_commit(d).is_err() {
            return if repo.is_shallow() {
                Lineage::Unknown
            } else {
                Lineage::Absent
            };
        }
        if repo.graph_descendant_of(d, c).unwrap_or(false) {
            Lineage::Older
        } else if repo.graph_descendant_of(c, d).unwrap_or(false) {
            Lineage::Newer
        } else if repo.is_shallow() {
            // The history between them may be cut off: no answer is not "unrelated".
            Lineage::Unknown
        } else {
            Lineage::Unrelated
        }
    }

    /// The fetch URL of the remote `origin`, if there is one.
    pub fn origin_url(&self) -> Option<String> {
        let Backend::Git { repo, .. } = &self.backend else {
            return None;
        };
        repo.find_remote("origin")
            .ok()?
            .url()
            .ok()
            .map(str::to_string)
    }

    /// The fetch URLs of the repository's remotes.
    pub fn remote_urls(&self) -> Vec<String> {
        let Backend::Git { repo, .. } = &self.backend else {
            return Vec::new();
        };
        let Ok(names) = repo.remotes() else {
            return Vec::new();
        };
        names
            .iter()
            .flatten()
            .flatten()
            .filter_map(|name| repo.find_remote(name).ok())
            .filter_map(|remote| remote.url().ok().map(str::to_string))
            .collect()
    }
}

fn write_file(dir: &Path, file: &SourceFile) -> Result<(), SourceError> {
    let target = dir.join(&file.path);
    let io = |source| SourceError::Io {
        path: target.clone(),
        source,
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(&target, &file.bytes).map_err(io)
}
