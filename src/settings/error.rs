//! What can be wrong with the flags and app definitions a run is given; every one is invalid
//! input (exit 3), found before any cluster call.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "`--image {alias}={tag}` names an alias, but with a PATH there is no image policy\nhint: pass `--image REPOSITORY:TAG`"
    )]
    AliasWithoutPolicy { alias: String, tag: String },
    #[error(
        "no PATH given, and there is no `{}` at revision `{revision}`\nhint: pass a PATH to deploy, or `--config FILE` with app definitions",
        config.display()
    )]
    NoConfig { config: PathBuf, revision: String },
    #[error("`{}` defines no app `{name}` (it has: {})", config.display(), known.join(", "))]
    NoSuchApp {
        config: PathBuf,
        name: String,
        known: Vec<String>,
    },
    #[error("`{}` defines no apps", config.display())]
    NoApps { config: PathBuf },
    #[error("app `{app}` has no environment `{env}` (it has: {})", list(known))]
    NoSuchEnvironment {
        app: String,
        env: String,
        known: Vec<String>,
    },
    #[error("no app defines the image alias `{alias}` (known: {})", list(known))]
    UnknownAlias { alias: String, known: Vec<String> },
    #[error("cannot read `--images-file {}`: {error}", file.display())]
    ImagesFile {
        file: PathBuf,
        error: std::io::Error,
    },
    /// An `--image` argument that does not parse; the message says why.
    #[error("{0}")]
    ImageArg(String),
    #[error(
        "image `{alias}`: `{repository}` is not the repository of alias `{alias}` (`{expected}`)"
    )]
    WrongRepository {
        alias: String,
        repository: String,
        expected: String,
    },
    #[error(
        "image `{alias}` tag `{tag}` is refused for app `{app}`{} by {rule}; nothing was sent to the cluster",
        env.as_ref().map(|e| format!(" in environment `{e}`")).unwrap_or_default()
    )]
    TagRefused {
        alias: String,
        tag: String,
        app: String,
        env: Option<String>,
        rule: String,
    },
    #[error(
        "`--app {0}` is not a valid name: lowercase letters, digits and `-`, at most 56 characters"
    )]
    InvalidAppName(String),
    #[error(
        "`--app` names {} apps, but with PATH there is one app: PATH\nhint: leave PATH out to select apps of the config file by name"
    , .0.len())]
    OneAppWithPath(Vec<String>),
    #[error("cannot derive an app name from `{}`\nhint: pass `--app NAME`", .0.display())]
    NoAppName(PathBuf),
    #[error("this app has no recorded deploys to roll back to")]
    NoHistory,
    #[error("no successful recorded deploy matches {wanted}; recorded: {}", recorded.join(", "))]
    NoRecordedDeploy {
        wanted: String,
        recorded: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}
