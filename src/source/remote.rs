//! Other git repositories a multi-source app names: fetched with the git CLI (its credential
//! helpers, `.netrc` and ssh agent, as CI systems set them up), one commit deep, into a cache
//! repository per URL (`$KPUSH_CACHE_DIR/git`), and read at the commit the revision resolved
//! to. A full commit SHA already fetched needs no network; `--offline` uses only the cache.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Snapshot, SourceRequest};

/// A source in another git repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitOrigin {
    pub url: String,
    /// A branch, tag or commit SHA (`HEAD` when the source names none).
    pub revision: String,
}

impl GitOrigin {
    /// The URL without credentials, for messages.
    pub fn shown(&self) -> String {
        let re = regex::Regex::new(r"^([a-z][a-z0-9+.-]*://)[^/@]+@").expect("valid pattern");
        re.replace(&self.url, "$1").into_owned()
    }
}

/// The commits this run resolved each (URL, revision) to.
static RESOLVED: std::sync::Mutex<BTreeMap<(String, String), String>> =
    std::sync::Mutex::new(BTreeMap::new());

fn resolved_in_this_run(origin: &GitOrigin) -> Option<String> {
    RESOLVED
        .lock()
        .expect("not poisoned")
        .get(&(origin.url.clone(), origin.revision.clone()))
        .cloned()
}

/// The cache repository of `url`.
fn cache_repo(cache_root: &Path, url: &str) -> PathBuf {
    let key = crate::digest::sha256_hex(url.as_bytes());
    cache_root.join("git").join(&key[..32])
}

/// The ref the cache keeps a revision's commit under, for offline runs.
fn revision_ref(revision: &str) -> String {
    let key = crate::digest::sha256_hex(revision.as_bytes());
    format!("refs/kpush/{}", &key[..32])
}

/// The repository at `origin`'s revision, fetched unless the cache has it.
pub fn open(origin: &GitOrigin, cache_root: &Path, offline: bool) -> Result<Snapshot, String> {
    let dir = cache_repo(cache_root, &origin.url);
    let shown = origin.shown();
    if !dir.join(".git").is_dir() {
        if offline {
            return Err(format!(
                "{shown} is not in the cache ({}) and --offline forbids fetching it",
                dir.display()
            ));
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        git(&dir, &["init", "--quiet"], &shown)?;
    }
    let full_sha =
        origin.revision.len() == 40 && origin.revision.bytes().all(|b| b.is_ascii_hexdigit());
    let cached = if full_sha {
        git(
            &dir,
            &["cat-file", "-e", &format!("{}^{{commit}}", origin.revision)],
            &shown,
        )
        .ok()
        .map(|_| origin.revision.clone())
    } else if offline {
        git(
            &dir,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &revision_ref(&origin.revision),
            ],
            &shown,
        )
        .ok()
    } else {
        // A branch or tag moves: ask the remote once per run, so that every render of the
        // run (the early check, the one for the cluster, a plan made again under the lock)
        // reads the same commit.
        resolved_in_this_run(origin)
    };
    let sha = match cached {
        Some(sha) => sha.trim().to_string(),
        None if offline => {
            return Err(format!(
                "revision `{}` of {shown} is not in the cache and --offline forbids fetching it",
                origin.revision
            ));
        }
        None => {
            tracing::info!("fetching `{}` of {shown}", origin.revision);
            git(
                &dir,
                &["fetch", "--quiet", "--depth=1", "--no-tags", &origin.url, &origin.revision],
                &shown,
            )
            .map_err(|e| {
                format!(
                    "cannot fetch revision `{}` of {shown}: {e}\nhint: check the URL and revision; credentials come from git's own configuration (a credential helper, .netrc, an ssh agent, or an `url.<base>.insteadOf` with a token)",
                    origin.revision
                )
            })?;
            let sha = git(&dir, &["rev-parse", "FETCH_HEAD^{commit}"], &shown)?;
            let sha = sha.trim().to_string();
            git(
                &dir,
                &["update-ref", &revision_ref(&origin.revision), &sha],
                &shown,
            )?;
            RESOLVED
                .lock()
                .expect("not poisoned")
                .insert((origin.url.clone(), origin.revision.clone()), sha.clone());
            sha
        }
    };
    Snapshot::open(&SourceRequest {
        path: Path::new("."),
        revision: &sha,
        repo: Some(&dir),
        trust_repo_owner: false,
    })
    .map_err(|e| format!("{shown} at {sha}: {e}"))
}

/// Runs git in `dir`; never prompts. Errors carry git's message with `url` credentials hidden.
fn git(dir: &Path, args: &[&str], shown: &str) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .output()
        .map_err(|e| format!("cannot run git (kpush fetches other repositories with it): {e}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
    Err(hide_credentials(&said, shown))
}

/// git prints the URL it was given; one with credentials in it is replaced by `shown`.
fn hide_credentials(text: &str, shown: &str) -> String {
    let re = regex::Regex::new(r"([a-z][a-z0-9+.-]*://)[^/@\s]+@").expect("valid pattern");
    let hidden = re.replace_all(text, "$1***@").into_owned();
    if hidden.is_empty() {
        format!("git failed for {shown}")
    } else {
        hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show() {
        let origin = GitOrigin {
            url: "https://ci:t0ken@git.example.com/team/config.git".into(),
            revision: "main".into(),
        };
        assert_eq!(origin.shown(), "https://git.example.com/team/config.git");
        let plain = GitOrigin {
            url: "git@github.com:team/config.git".into(),
            revision: "main".into(),
        };
        assert_eq!(plain.shown(), "git@github.com:team/config.git");
        assert_eq!(
            hide_credentials(
                "fatal: unable to access 'https://ci:t0ken@git.example.com/x/': 403",
                "x"
            ),
            "fatal: unable to access 'https://***@git.example.com/x/': 403"
        );
    }
}
