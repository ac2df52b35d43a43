//! An app's input digest: one hash of everything its render reads. Two renders with the same
//! digest produce the same objects, so one of them need not run.

use std::fmt::Write;
use std::path::Path;

use super::reads::of_source;
use super::spec::RenderSpec;
use super::tools::Tools;
use crate::source::Snapshot;

/// Why an app has no input digest: it is rendered every time.
#[derive(Debug, Clone, PartialEq)]
pub enum Unknown {
    /// The working tree has no object ids.
    Worktree,
    /// The render reads something besides the commit.
    Outside(String),
    /// What the render reads could not be worked out; the render says why.
    Unreadable(String),
}

/// The digest of what rendering `spec` at `snapshot` reads: the object ids of every path it
/// reads, the app's settings after resolution (values, parameters, images, capabilities), the
/// renderers' binaries, and kpush's version.
pub fn input_digest(snapshot: &Snapshot, spec: &RenderSpec) -> Result<String, Unknown> {
    if !snapshot.is_commit() {
        return Err(Unknown::Worktree);
    }
    let mut text = format!("kpush {}\n", env!("CARGO_PKG_VERSION"));
    let sources = std::iter::once(spec).chain(&spec.more);
    let mut sees_commit = false;
    for (i, source) in sources.enumerate() {
        let reads = of_source(snapshot, source).map_err(|e| Unknown::Unreadable(e.to_string()))?;
        if let Some(outside) = reads.outside {
            return Err(Unknown::Outside(outside));
        }
        let mut settings = RenderSpec {
            tools: Tools::default(),
            more: Vec::new(),
            ..source.clone()
        };
        // Where a promoted tag came from does not change what renders.
        for image in &mut settings.images {
            image.kept_from = None;
            image.chosen = None;
        }
        let _ = writeln!(text, "source {i}: {settings:?}");
        for path in &reads.paths {
            let id = snapshot
                .object_id(path)
                .map_err(|e| Unknown::Unreadable(e.to_string()))?;
            let _ = writeln!(text, "{} {}", path.display(), id.as_deref().unwrap_or("-"));
        }
        sees_commit |= reads.commit;
    }
    if sees_commit {
        let _ = writeln!(text, "commit {:?}", snapshot.commit);
        // Jsonnet sees the repository's URL (`$ARGOCD_APP_SOURCE_REPO_URL`).
        let _ = writeln!(text, "origin {:?}", snapshot.origin_url());
    }
    let tools = &spec.tools;
    let _ = writeln!(text, "helm {}", binary(&tools.helm()));
    let _ = writeln!(text, "kustomize {}", binary(&tools.kustomize().0));
    let _ = writeln!(text, "charts offline {}", tools.charts.offline);
    Ok(crate::digest::sha256_hex(text.as_bytes()))
}

/// A renderer's binary as found on PATH, by size and modification time: another version is
/// another binary.
fn binary(program: &Path) -> String {
    let found = if program.components().count() > 1 {
        Some(program.to_path_buf())
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
    };
    let Some(path) = found else {
        return format!("{} (not found)", program.display());
    };
    match std::fs::metadata(&path) {
        Ok(meta) => {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{} {} {modified}", path.display(), meta.len())
        }
        Err(_) => format!("{} (unreadable)", path.display()),
    }
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unknown::Worktree => f.write_str("the working tree is rendered every time"),
            Unknown::Outside(what) => write!(f, "it reads {what}"),
            Unknown::Unreadable(why) => f.write_str(why),
        }
    }
}
