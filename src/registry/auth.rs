//! Registry credentials, found where container tools and CI systems keep them:
//! 1. the image policy's `pull-secret`, `env:VAR` with `VAR` holding `user:password`;
//! 2. `DOCKER_AUTH_CONFIG`, a docker config's JSON in a variable (GitLab's spelling);
//! 3. `REGISTRY_AUTH_FILE` (podman, skopeo), `$DOCKER_CONFIG/config.json`, then
//!    `~/.docker/config.json`: each file's `auths`, `credHelpers` and `credsStore`.
//!
//! Without any, requests are anonymous (public registries hand out anonymous tokens).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;

/// A user and password (or token); never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ****)", self.username)
    }
}

impl Credentials {
    /// `user:password`.
    fn parse(text: &str) -> Option<Credentials> {
        let (username, password) = text.trim_end_matches(['\r', '\n']).split_once(':')?;
        (!username.is_empty()).then(|| Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })
    }

    pub(super) fn basic(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

/// The credentials for `host`, or `None` for anonymous access. An error names what is
/// misconfigured (never a secret's value).
pub fn lookup(host: &str, pull_secret: Option<&str>) -> Result<Option<Credentials>, String> {
    if let Some(secret) = pull_secret {
        return from_pull_secret(secret).map(Some);
    }
    if let Ok(json) = std::env::var("DOCKER_AUTH_CONFIG")
        && !json.trim().is_empty()
    {
        let config: Value = serde_json::from_str(&json)
            .map_err(|e| format!("DOCKER_AUTH_CONFIG is not a docker config's JSON: {e}"))?;
        if let Some(found) = from_config(&config, host, "DOCKER_AUTH_CONFIG")? {
            return Ok(Some(found));
        }
    }
    for file in config_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let origin = file.display().to_string();
        let config: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{origin} is not a docker config's JSON: {e}"))?;
        if let Some(found) = from_config(&config, host, &origin)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn from_pull_secret(secret: &str) -> Result<Credentials, String> {
    let Some(var) = secret.strip_prefix("env:") else {
        return Err(format!(
            "pull-secret `{secret}` names credentials kept beside Argo CD Image Updater; kpush reads them from `env:VARIABLE` (holding user:password), DOCKER_AUTH_CONFIG or the docker config file"
        ));
    };
    let value = std::env::var(var)
        .map_err(|_| format!("pull-secret `{secret}`: the variable {var} is not set"))?;
    Credentials::parse(&value)
        .ok_or_else(|| format!("pull-secret `{secret}`: {var} does not hold user:password"))
}

fn config_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(file));
    }
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => files.push(PathBuf::from(dir).join("config.json")),
        None => {
            if let Some(home) = std::env::var_os("HOME") {
                files.push(PathBuf::from(home).join(".docker/config.json"));
            }
        }
    }
    files
}

/// The keys a docker config may file `host` under.
fn keys_for(host: &str) -> Vec<String> {
    if host == "docker.io" {
        [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ]
        .map(str::to_string)
        .to_vec()
    } else {
        vec![host.to_string()]
    }
}

/// `https://ghcr.io/v1/` → `ghcr.io`.
fn key_host(key: &str) -> &str {
    let key = key.split_once("://").map_or(key, |(_, rest)| rest);
    key.split('/').next().unwrap_or(key)
}

fn from_config(config: &Value, host: &str, origin: &str) -> Result<Option<Credentials>, String> {
    let keys = keys_for(host);
    let matches = |key: &str| keys.iter().any(|k| k == key || k == key_host(key));
    if let Some(helpers) = config.get("credHelpers").and_then(Value::as_object)
        && let Some((_, helper)) = helpers.iter().find(|(key, _)| matches(key))
        && let Some(helper) = helper.as_str()
    {
        return helper_get(helper, &keys[0]).map(Some);
    }
    if let Some(auths) = config.get("auths").and_then(Value::as_object)
        && let Some((key, entry)) = auths.iter().find(|(key, _)| matches(key))
    {
        if let Some(auth) = entry.get("auth").and_then(Value::as_str)
            && !auth.is_empty()
        {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|t| Credentials::parse(&t));
            return decoded.map(Some).ok_or_else(|| {
                format!("{origin}: `auths.{key}.auth` is not base64 of user:password")
            });
        }
        let user = entry.get("username").and_then(Value::as_str);
        let password = entry.get("password").and_then(Value::as_str);
        if let (Some(username), Some(password)) = (user, password) {
            return Ok(Some(Credentials {
                username: username.to_string(),
                password: password.to_string(),
            }));
        }
    }
    if let Some(store) = config.get("credsStore").and_then(Value::as_str)
        && !store.is_empty()
    {
        return match helper_get(store, &keys[0]) {
            Ok(found) => Ok(Some(found)),
            // A store without this registry is anonymous access, as docker treats it.
            Err(e) if e.contains("not found") => Ok(None),
            Err(e) => Err(e),
        };
    }
    Ok(None)
}

/// `docker-credential-HELPER get`, given the registry on stdin.
fn helper_get(helper: &str, server: &str) -> Result<Credentials, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("credential helper {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("credential helper {program}: {e}"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout);
        let said = said.trim();
        let said = if said.is_empty() {
            String::from_utf8_lossy(&out.stderr).trim().to_string()
        } else {
            said.to_string()
        };
        return Err(format!("credential helper {program} for {server}: {said}"));
    }
    let reply: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("credential helper {program}: not JSON: {e}"))?;
    let field = |name: &str| reply.get(name).and_then(Value::as_str).unwrap_or("");
    Ok(Credentials {
        username: field("Username").to_string(),
        password: field("Secret").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_entries() {
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cret");
        let config: Value = serde_json::json!({
            "auths": {
                "https://index.docker.io/v1/": {"auth": auth},
                "ghcr.io": {"username": "bot", "password": "tok"},
                "broken.example": {"auth": "!!"},
            }
        });
        let hub = from_config(&config, "docker.io", "test").unwrap().unwrap();
        assert_eq!(
            (hub.username.as_str(), hub.password.as_str()),
            ("ci", "s3cret")
        );
        let ghcr = from_config(&config, "ghcr.io", "test").unwrap().unwrap();
        assert_eq!(ghcr.username, "bot");
        assert_eq!(from_config(&config, "quay.io", "test").unwrap(), None);
        let err = from_config(&config, "broken.example", "test").unwrap_err();
        assert!(err.contains("auths.broken.example.auth"), "{err}");
        assert!(!format!("{hub:?}").contains("s3cret"));
    }

    #[test]
    fn pull_secrets() {
        assert!(
            from_pull_secret("pullsecret:argocd/regcred")
                .unwrap_err()
                .contains("env:VARIABLE")
        );
        let err = from_pull_secret("env:KPUSH_TEST_NO_SUCH_VARIABLE").unwrap_err();
        assert!(err.contains("is not set"), "{err}");
        assert_eq!(Credentials::parse("user:pa:ss").unwrap().password, "pa:ss");
        assert_eq!(Credentials::parse("nocolon"), None);
    }
}
