//! Sources of a multi-source app in other git repositories: a path rendered from that
//! repository, and `$name/…` values files read from a `ref` source there. Each repository is
//! fetched once per run (`source::remote`); values files are copied out to a temp dir that
//! Helm reads them from.

use std::path::{Path, PathBuf};

use super::{RenderError, RenderSpec};
use crate::source::Snapshot;
use crate::source::remote::{self, GitOrigin};

/// The other repositories one render reads, opened.
#[derive(Default)]
pub struct Foreign {
    opened: Vec<(GitOrigin, Snapshot)>,
    /// Where values files of other repositories are copied; made on first use.
    values: Option<tempfile::TempDir>,
}

impl Foreign {
    fn values_dir(&mut self) -> Result<PathBuf, RenderError> {
        if self.values.is_none() {
            let dir = tempfile::tempdir()
                .map_err(|e| RenderError::single("", format!("cannot create a temp dir: {e}")))?;
            self.values = Some(dir);
        }
        Ok(self
            .values
            .as_ref()
            .expect("made above")
            .path()
            .to_path_buf())
    }

    /// `origin`'s repository at its revision, fetched on first use.
    pub fn open(
        &mut self,
        origin: &GitOrigin,
        spec: &RenderSpec,
    ) -> Result<&Snapshot, RenderError> {
        if let Some(i) = self.opened.iter().position(|(o, _)| o == origin) {
            return Ok(&self.opened[i].1);
        }
        let cache = &spec.tools.charts;
        let root = cache.dir.parent().unwrap_or(&cache.dir);
        let snapshot = remote::open(origin, root, cache.offline)
            .map_err(|message| RenderError::single(origin.shown(), message))?;
        tracing::info!(
            repository = %origin.shown(),
            revision = %origin.revision,
            commit = %snapshot.commit.as_ref().map(|c| c.sha.as_str()).unwrap_or(""),
            "fetched"
        );
        self.opened.push((origin.clone(), snapshot));
        Ok(&self.opened.last().expect("just pushed").1)
    }

    /// The repositories read, as `URL REVISION → COMMIT`.
    pub fn read(&self) -> Vec<String> {
        self.opened
            .iter()
            .map(|(origin, snapshot)| {
                let sha = snapshot
                    .commit
                    .as_ref()
                    .map(|c| c.sha.as_str())
                    .unwrap_or("");
                format!("{} {} → {sha}", origin.shown(), origin.revision)
            })
            .collect()
    }

    /// `spec` with its `$name/…` values files of other repositories copied out and named by
    /// their copies' absolute paths (globs expanded, in name order).
    pub fn values_files(&mut self, spec: &RenderSpec) -> Result<RenderSpec, RenderError> {
        let mut spec = spec.clone();
        let mut files = Vec::new();
        for file in std::mem::take(&mut spec.helm.value_files) {
            let named = file.strip_prefix('$').and_then(|rest| {
                let (name, within) = rest.split_once('/')?;
                let origin = spec.refs.iter().find(|(n, _)| n == name)?.1.clone();
                Some((name.to_string(), within.to_string(), origin))
            });
            let Some((name, within, origin)) = named else {
                files.push(file);
                continue;
            };
            let dir = self.values_dir()?.join(&name);
            let ignore_missing = spec.helm.ignore_missing_value_files;
            let snapshot = self.open(&origin, &spec)?;
            let matched: Vec<PathBuf> = if within.contains(['*', '?', '{', '[']) {
                let mut all: Vec<PathBuf> = snapshot
                    .files(Path::new(""))
                    .map_err(|e| RenderError::single(origin.shown(), e.to_string()))?
                    .into_iter()
                    .map(|f| f.path)
                    .filter(|p| {
                        super::glob::matches(&within, &p.to_string_lossy().replace('\\', "/"))
                    })
                    .collect();
                all.sort();
                all
            } else {
                vec![PathBuf::from(&within)]
            };
            let mut found = 0;
            for path in matched {
                let bytes = snapshot
                    .read(&path)
                    .map_err(|e| RenderError::single(origin.shown(), e.to_string()))?;
                let Some(bytes) = bytes else { continue };
                let copy = dir.join(&path);
                if let Some(parent) = copy.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        RenderError::single(origin.shown(), format!("cannot write values: {e}"))
                    })?;
                }
                std::fs::write(&copy, bytes).map_err(|e| {
                    RenderError::single(origin.shown(), format!("cannot write values: {e}"))
                })?;
                files.push(copy.to_string_lossy().into_owned());
                found += 1;
            }
            if found == 0 && !ignore_missing {
                return Err(RenderError::single(
                    origin.shown(),
                    format!(
                        "values file `{file}` does not exist in {} at `{}`\nhint: set `helm.ignoreMissingValueFiles: true` to skip missing values files",
                        origin.shown(),
                        origin.revision
                    ),
                ));
            }
        }
        spec.helm.value_files = files;
        Ok(spec)
    }
}
