//! Running the external renderers (helm, kustomize) with clear errors when they are missing
//! or fail.

use std::path::PathBuf;
use std::process::Command;

use super::Problem;
use crate::object::Origin;

/// Which binaries to run.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    /// `--helm-bin`; default `helm` from PATH.
    pub helm: Option<PathBuf>,
    /// `--kustomize-bin`; default `kustomize` from PATH, else `kubectl kustomize`.
    pub kustomize: Option<PathBuf>,
    /// Where charts from repositories are kept, and `--offline`.
    pub charts: crate::source::charts::ChartCache,
}

impl Tools {
    pub fn helm(&self) -> PathBuf {
        self.helm.clone().unwrap_or_else(|| PathBuf::from("helm"))
    }

    /// The command that builds a kustomization: `kustomize build` or `kubectl kustomize`.
    pub fn kustomize(&self) -> (PathBuf, &'static str) {
        match &self.kustomize {
            Some(bin)
                if bin
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("kubectl")) =>
            {
                (bin.clone(), "kustomize")
            }
            Some(bin) => (bin.clone(), "build"),
            None if on_path("kustomize") => (PathBuf::from("kustomize"), "build"),
            None => (PathBuf::from("kubectl"), "kustomize"),
        }
    }
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// Runs a renderer and returns its stdout, or a problem pinned to `origin` that quotes its
/// error output.
pub fn run(mut command: Command, origin: &Origin, flag: &str) -> Result<String, Problem> {
    let program = command.get_program().to_string_lossy().into_owned();
    let problem = |message: String| Problem {
        origin: origin.clone(),
        column: None,
        message,
    };
    let output = command.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            problem(format!(
                "`{program}` was not found\nhint: install it, put it on PATH, or pass `{flag}`"
            ))
        } else {
            problem(format!("cannot run `{program}`: {e}"))
        }
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(problem(format!(
            "`{program}` failed ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| problem(format!("`{program}` printed output that is not UTF-8")))
}
