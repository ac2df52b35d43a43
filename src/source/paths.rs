//! Turning the path a user typed into a path inside the repository.

use std::path::{Component, Path, PathBuf};

use super::SourceError;

/// Joins `path` onto `base` and removes `.` and `..` without touching the file system, so a path
/// that only exists at an older revision still resolves.
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `root`; both absolute and normalised.
pub fn relative_to(root: &Path, path: &Path) -> Result<PathBuf, SourceError> {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .map_err(|_| SourceError::OutsideRepository {
            path: path.to_path_buf(),
            repo: root.to_path_buf(),
        })
}

/// The current directory, canonical so it compares with repository paths.
pub fn current_dir() -> Result<PathBuf, SourceError> {
    let cwd = std::env::current_dir().map_err(|source| SourceError::Io {
        path: PathBuf::from("."),
        source,
    })?;
    Ok(cwd.canonicalize().unwrap_or(cwd))
}

/// A repository-relative `path` without `.` and `..`, or `None` when it is absolute or climbs
/// out of the repository.
pub fn inside_repository(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::Normal(c) => out.push(c),
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.pop() => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_without_the_file_system() {
        let base = Path::new("/repo/apps");
        assert_eq!(
            absolute(base, Path::new("../web/./x")),
            Path::new("/repo/web/x")
        );
        assert_eq!(absolute(base, Path::new("/etc")), Path::new("/etc"));
        assert_eq!(absolute(base, Path::new(".")), Path::new("/repo/apps"));
    }

    #[test]
    fn refuses_paths_outside_the_root() {
        let root = Path::new("/repo");
        assert_eq!(
            relative_to(root, Path::new("/repo/a/b")).unwrap(),
            Path::new("a/b")
        );
        assert!(relative_to(root, Path::new("/elsewhere")).is_err());
    }
}
