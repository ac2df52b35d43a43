//! Charts from Helm chart repositories and OCI registries, by exact version or semver range.
//! `helm pull` downloads (it knows the repository protocols and the user's Helm config); what
//! it downloads is kept by digest in kpush's cache, so a pinned version is never downloaded
//! twice, and a cached archive whose digest changed is refused.
//!
//! Layout under the cache directory: `archives/HEX.tgz` (the archive, by its sha256),
//! `unpacked/HEX/` (its files), `refs/KEY/VERSION` (the digest a repository served for a
//! version; KEY names the repository and chart).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Where a chart comes from, as an Argo CD Application names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartSource {
    /// `https://…` (a chart repository), `oci://host/path`, or Argo CD's bare `host/path`
    /// (an OCI registry).
    pub repo_url: String,
    pub name: String,
    /// An exact version, a semver range (`^1.2`, `>=1.0 <2.0`, `1.2.x`), or empty / `*` for
    /// the newest.
    pub version: String,
    /// The digest the archive must have (a rollback to a recorded deploy).
    pub digest: Option<String>,
}

/// Where charts are kept, and whether the network may be used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartCache {
    pub dir: PathBuf,
    /// Use only what the cache holds.
    pub offline: bool,
}

impl ChartCache {
    /// `$KPUSH_CACHE_DIR/charts`, else `$XDG_CACHE_HOME/kpush/charts`, else
    /// `~/.cache/kpush/charts`.
    pub fn default_dir() -> PathBuf {
        let root = std::env::var_os("KPUSH_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("kpush")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kpush")))
            .unwrap_or_else(|| std::env::temp_dir().join("kpush"));
        root.join("charts")
    }
}

/// The chart a source resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedChart {
    pub repository: String,
    pub name: String,
    pub version: String,
    /// `sha256:HEX` of the archive.
    pub digest: String,
}

impl std::fmt::Display for ResolvedChart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} from {} ({})",
            self.name, self.version, self.repository, self.digest
        )
    }
}

/// A chart ready to render.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub resolved: ResolvedChart,
    /// The unpacked chart's root (its `Chart.yaml`).
    pub dir: PathBuf,
    /// The archive, in the cache.
    pub archive: PathBuf,
}

/// Environment variables with the chart repository's credentials.
pub const USERNAME_VAR: &str = "KPUSH_CHART_USERNAME";
pub const PASSWORD_VAR: &str = "KPUSH_CHART_PASSWORD";

/// Ranges resolved by this process: the same range renders the same version all run long.
/// Repository, chart and version as written.
type Requested = (String, String, String);

/// Ranges resolved by this process: the same range renders the same version all run long.
static RESOLVED: Mutex<Option<HashMap<Requested, ResolvedChart>>> = Mutex::new(None);

/// The chart `source` names, from the cache or downloaded with `helm` into it.
pub fn fetch(source: &ChartSource, cache: &ChartCache, helm: &Path) -> Result<Fetched, String> {
    let memo_key = (
        source.repo_url.clone(),
        source.name.clone(),
        source.version.clone(),
    );
    let pinned = RESOLVED
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(&memo_key).cloned()));
    let fetched = match pinned {
        Some(resolved) => cached(cache, source, &resolved.version)?
            .ok_or_else(|| format!("{resolved} left the cache during the run"))?,
        None => resolve(source, cache, helm)?,
    };
    if let Some(expected) = &source.digest
        && *expected != fetched.resolved.digest
    {
        return Err(format!(
            "{} {} has digest {}, not {expected} as recorded: the repository serves other content under the same version",
            source.name, fetched.resolved.version, fetched.resolved.digest
        ));
    }
    if let Ok(mut memo) = RESOLVED.lock() {
        memo.get_or_insert_with(HashMap::new)
            .insert(memo_key, fetched.resolved.clone());
    }
    Ok(fetched)
}

fn resolve(source: &ChartSource, cache: &ChartCache, helm: &Path) -> Result<Fetched, String> {
    if let Some(version) = exact_version(&source.version)
        && let Some(hit) = cached(cache, source, &version)?
    {
        return Ok(hit);
    }
    if cache.offline {
        let requirement = requirement(&source.version)?;
        let newest = cached_versions(cache, source)
            .into_iter()
            .filter(|(v, _)| requirement.iter().any(|r| r.matches(v)))
            .max_by(|a, b| a.0.cmp(&b.0));
        return match newest {
            Some((_, text)) => cached(cache, source, &text)?
                .ok_or_else(|| format!("{} {text} is not in the cache", source.name)),
            None => Err(format!(
                "chart `{}` {} from {} is not in the cache ({}), and --offline forbids downloading it\nhint: run once without --offline to fill the cache",
                source.name,
                describe_version(&source.version),
                source.repo_url,
                cache.dir.display()
            )),
        };
    }
    download(source, cache, helm)
}

fn describe_version(version: &str) -> String {
    if version.is_empty() || version == "*" {
        "(newest)".into()
    } else {
        format!("`{version}`")
    }
}

/// `1.2.3` or `v1.2.3`: a version, not a range.
fn exact_version(text: &str) -> Option<String> {
    let trimmed = text.trim().trim_start_matches('v');
    semver::Version::parse(trimmed)
        .ok()
        .map(|_| trimmed.to_string())
}

/// Helm's constraint syntax (`>=1.0 <2.0`, `^1.2 || ~2.0`, `1.2.x`, `*`) as semver
/// requirements, any of which may match.
fn requirement(text: &str) -> Result<Vec<semver::VersionReq>, String> {
    let text = text.trim();
    if text.is_empty() || text == "*" {
        return Ok(vec![semver::VersionReq::STAR]);
    }
    if let Some(exact) = exact_version(text) {
        return semver::VersionReq::parse(&format!("={exact}"))
            .map(|r| vec![r])
            .map_err(|e| e.to_string());
    }
    text.split("||")
        .map(|alternative| {
            let joined = alternative
                .split([' ', ','])
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            semver::VersionReq::parse(&joined)
                .map_err(|e| format!("`{text}` is not a version or a semver range: {e}"))
        })
        .collect()
}

/// Whether `version` is within Helm's constraint `range` (empty: any).
pub fn satisfies(version: &str, range: &str) -> bool {
    let Ok(version) = semver::Version::parse(version.trim().trim_start_matches('v')) else {
        return false;
    };
    requirement(range).is_ok_and(|alternatives| alternatives.iter().any(|r| r.matches(&version)))
}

fn is_oci(repo_url: &str) -> bool {
    repo_url.starts_with("oci://") || !repo_url.contains("://")
}

/// The registry host of an OCI repository URL.
fn oci_host(repo_url: &str) -> &str {
    let rest = repo_url.trim_start_matches("oci://");
    rest.split('/').next().unwrap_or(rest)
}

/// Registries on loopback speak plain HTTP, as container tools assume.
fn plain_http(repo_url: &str) -> bool {
    crate::registry::loopback(oci_host(repo_url))
}

/// The directory of a repository and chart's version records.
fn refs_dir(cache: &ChartCache, source: &ChartSource) -> PathBuf {
    let key = crate::digest::sha256_hex(format!("{}\n{}", source.repo_url, source.name).as_bytes());
    cache.dir.join("refs").join(&key[..32])
}

/// The cached versions of the chart, parsed.
fn cached_versions(cache: &ChartCache, source: &ChartSource) -> Vec<(semver::Version, String)> {
    let Ok(entries) = std::fs::read_dir(refs_dir(cache, source)) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let text = e.file_name().to_string_lossy().into_owned();
            Some((semver::Version::parse(&text).ok()?, text))
        })
        .collect()
}

/// Version `version` from the cache, its archive checked against the digest recorded when it
/// was downloaded.
fn cached(
    cache: &ChartCache,
    source: &ChartSource,
    version: &str,
) -> Result<Option<Fetched>, String> {
    let Ok(digest) = std::fs::read_to_string(refs_dir(cache, source).join(version)) else {
        return Ok(None);
    };
    let digest = digest.trim().to_string();
    let hex = digest.trim_start_matches("sha256:");
    let archive = cache.dir.join("archives").join(format!("{hex}.tgz"));
    let Ok(bytes) = std::fs::read(&archive) else {
        return Ok(None);
    };
    if crate::digest::sha256_hex(&bytes) != hex {
        return Err(format!(
            "the cached archive {} of chart `{}` {version} does not have the digest it was downloaded with ({digest})\nhint: delete it to download the chart again",
            archive.display(),
            source.name
        ));
    }
    let dir = unpacked(cache, hex, &bytes)?;
    Ok(Some(Fetched {
        archive,
        resolved: ResolvedChart {
            repository: source.repo_url.clone(),
            name: source.name.clone(),
            version: version.to_string(),
            digest,
        },
        dir,
    }))
}

/// The archive's files, unpacked once; returns the chart's root.
fn unpacked(cache: &ChartCache, hex: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let dir = cache.dir.join("unpacked").join(hex);
    if !dir.exists() {
        let parent = cache.dir.join("unpacked");
        std::fs::create_dir_all(&parent).map_err(|e| e.to_string())?;
        let work = tempfile::tempdir_in(&parent).map_err(|e| e.to_string())?;
        super::untar::unpack(bytes, work.path())?;
        // Another run may have unpacked it meanwhile: either copy is the same.
        let _ = std::fs::rename(work.keep(), &dir);
    }
    chart_root(&dir)
}

/// The directory holding `Chart.yaml`: the archive's single top directory.
fn chart_root(dir: &Path) -> Result<PathBuf, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.join("Chart.yaml").is_file())
        .ok_or_else(|| format!("{} holds no chart (no Chart.yaml)", dir.display()))
}

/// Downloads with `helm pull` and adds the archive to the cache.
fn download(source: &ChartSource, cache: &ChartCache, helm: &Path) -> Result<Fetched, String> {
    std::fs::create_dir_all(&cache.dir)
        .map_err(|e| format!("cannot create the chart cache {}: {e}", cache.dir.display()))?;
    let work = tempfile::tempdir_in(&cache.dir).map_err(|e| e.to_string())?;
    let mut command = Command::new(helm);
    command.arg("pull");
    if is_oci(&source.repo_url) {
        let base = source
            .repo_url
            .trim_start_matches("oci://")
            .trim_end_matches('/');
        command.arg(format!("oci://{base}/{}", source.name));
        if plain_http(&source.repo_url) {
            command.arg("--plain-http");
        }
    } else {
        command
            .arg(&source.name)
            .arg("--repo")
            .arg(&source.repo_url);
    }
    let version = source.version.trim();
    if !version.is_empty() && version != "*" {
        command.arg("--version").arg(version);
    }
    command.arg("--destination").arg(work.path());
    let password = std::env::var(PASSWORD_VAR).ok().filter(|p| !p.is_empty());
    if let Ok(user) = std::env::var(USERNAME_VAR)
        && !user.is_empty()
    {
        command.arg("--username").arg(user);
    }
    if let Some(password) = &password {
        command.arg("--password").arg(password);
    }
    let output = command.output().map_err(|e| {
        format!(
            "cannot run `{}` to download chart `{}`: {e}\nhint: install helm or pass `--helm-bin`",
            helm.display(),
            source.name
        )
    })?;
    if !output.status.success() {
        let mut stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if let Some(password) = &password {
            stderr = stderr.replace(password.as_str(), "***");
        }
        let auth = [
            "401",
            "403",
            "unauthorized",
            "denied",
            "authentication",
            "credential",
        ]
        .iter()
        .any(|w| stderr.to_lowercase().contains(w));
        let hint = if auth {
            format!(
                "\nhint: set {USERNAME_VAR} and {PASSWORD_VAR} (from the CI system's secrets), or log in with `helm registry login` / Helm's repository config"
            )
        } else {
            String::new()
        };
        return Err(format!(
            "cannot download chart `{}` {} from {}: {stderr}{hint}",
            source.name,
            describe_version(&source.version),
            source.repo_url
        ));
    }
    let archive = std::fs::read_dir(work.path())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or_else(|| format!("helm pull left no archive of chart `{}`", source.name))?;
    let file = archive
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let version = file
        .strip_prefix(&format!("{}-", source.name))
        .and_then(|f| f.strip_suffix(".tgz"))
        .ok_or_else(|| {
            format!(
                "helm pull left `{file}`, not a `{}-VERSION.tgz`",
                source.name
            )
        })?
        .to_string();
    let bytes = std::fs::read(&archive).map_err(|e| e.to_string())?;
    let hex = crate::digest::sha256_hex(&bytes);
    let archives = cache.dir.join("archives");
    std::fs::create_dir_all(&archives).map_err(|e| e.to_string())?;
    let kept = archives.join(format!("{hex}.tgz"));
    if !kept.exists() {
        std::fs::rename(&archive, &kept).map_err(|e| e.to_string())?;
    }
    let refs = refs_dir(cache, source);
    std::fs::create_dir_all(&refs).map_err(|e| e.to_string())?;
    std::fs::write(refs.join(&version), format!("sha256:{hex}\n")).map_err(|e| e.to_string())?;
    let dir = unpacked(cache, &hex, &bytes)?;
    tracing::info!(
        "downloaded chart {} {version} from {}",
        source.name,
        source.repo_url
    );
    Ok(Fetched {
        archive: kept,
        resolved: ResolvedChart {
            repository: source.repo_url.clone(),
            name: source.name.clone(),
            version,
            digest: format!("sha256:{hex}"),
        },
        dir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_constraints_read_as_semver_requirements() {
        let matches = |req: &str, version: &str| {
            requirement(req)
                .unwrap()
                .iter()
                .any(|r| r.matches(&semver::Version::parse(version).unwrap()))
        };
        let cases = [
            ("", "9.9.9", true),
            ("*", "0.1.0", true),
            ("1.2.3", "1.2.3", true),
            ("v1.2.3", "1.2.4", false),
            ("^1.2", "1.9.0", true),
            ("^1.2", "2.0.0", false),
            (">=1.0 <2.0", "1.5.0", true),
            (">=1.0, <2.0", "2.0.0", false),
            ("1.2.x", "1.2.7", true),
            ("~1.2 || ^3", "3.1.0", true),
            ("~1.2 || ^3", "2.0.0", false),
        ];
        for (req, version, expected) in cases {
            assert_eq!(matches(req, version), expected, "{req} vs {version}");
        }
        assert!(requirement("not a range").is_err());
    }

    #[test]
    fn repository_kinds_follow_argo_cd() {
        assert!(is_oci("oci://ghcr.io/org/charts"));
        assert!(is_oci("registry-1.docker.io/bitnamicharts"));
        assert!(!is_oci("https://charts.example.com"));
        assert!(plain_http("oci://127.0.0.1:5000/charts"));
        assert!(plain_http("localhost:5000/charts"));
        assert!(!plain_http("oci://ghcr.io/org"));
    }

    #[test]
    fn a_cached_archive_is_checked_against_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ChartCache {
            dir: dir.path().to_path_buf(),
            offline: true,
        };
        let source = ChartSource {
            repo_url: "https://charts.example.com".into(),
            name: "web".into(),
            version: "^1".into(),
            digest: None,
        };
        let bytes = super::super::untar::tests::archive(&[("web/Chart.yaml", "name: web\n")]);
        let hex = crate::digest::sha256_hex(&bytes);
        std::fs::create_dir_all(dir.path().join("archives")).unwrap();
        std::fs::write(dir.path().join(format!("archives/{hex}.tgz")), &bytes).unwrap();
        let refs = refs_dir(&cache, &source);
        std::fs::create_dir_all(&refs).unwrap();
        std::fs::write(refs.join("1.0.0"), format!("sha256:{hex}\n")).unwrap();
        std::fs::write(refs.join("1.4.0"), format!("sha256:{hex}\n")).unwrap();
        std::fs::write(refs.join("2.0.0"), format!("sha256:{hex}\n")).unwrap();
        let fetched = resolve(&source, &cache, Path::new("helm-not-needed")).unwrap();
        assert_eq!(fetched.resolved.version, "1.4.0");
        assert!(fetched.dir.join("Chart.yaml").is_file());
        // Offline, nothing matching: an error that says how to fill the cache.
        let missing = ChartSource {
            version: "^3".into(),
            ..source.clone()
        };
        let error = resolve(&missing, &cache, Path::new("helm")).unwrap_err();
        assert!(error.contains("--offline"), "{error}");
        // A changed archive is refused.
        std::fs::write(dir.path().join(format!("archives/{hex}.tgz")), b"tampered").unwrap();
        let error = resolve(&source, &cache, Path::new("helm")).unwrap_err();
        assert!(error.contains("does not have the digest"), "{error}");
    }
}
