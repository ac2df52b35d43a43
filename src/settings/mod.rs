//! Flags, environment and app definitions resolved once into what each app's run uses: which
//! revision and path to render, with which values, deployed where, with which options. The
//! flags are read once ([`flags`]), each app's run is built in one place ([`app_run`]), and
//! the engine's options come from the flags ([`engine`]).

mod app_run;
mod engine;
pub mod error;
mod flags;
mod images;
mod rollback;
mod sources;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, SourceArgs, TargetArgs};
use crate::config::{AppConfig, Config, DEFAULT_CONFIG, Environment, PruneProp};
use crate::error::Error;
use crate::images::ImageArg;
use crate::inventory::{AppIdentity, repository_key};
use crate::source::{Snapshot, SourceRequest};

use app_run::app_run;
use error::SettingsError;
use flags::Flags;

pub use crate::deploy::AppRun;
pub use engine::{
    confirmations, connection, delete_options, prepare_options, teardown_write, write_options,
};
pub use images::update_from_registries;
pub use rollback::{choose, resolve_entry, restoring};

/// Everything a command runs over.
pub struct Resolved {
    /// The revision the config (or PATH) was read at.
    pub snapshot: Snapshot,
    pub apps: Vec<AppRun>,
    /// The name of every app the definitions hold at this revision, selected or not (children
    /// and generated apps included): an app that left its parent's render but is defined
    /// elsewhere has moved, and is not torn down.
    pub defined: BTreeSet<String>,
    /// Things the user should know (unsupported Argo CD fields, ...), each once.
    pub warnings: Vec<String>,
}

/// Resolves the apps to work on. `target` carries the flags of `diff` and `apply`,
/// `propagation` the `--prune-propagation` of `apply`.
pub fn resolve(
    global: &GlobalArgs,
    source: &SourceArgs,
    target: Option<&TargetArgs>,
    propagation: Option<PruneProp>,
) -> Result<Resolved, Error> {
    let flags = Flags::read(global, source, target, propagation)?;
    let snapshot = Snapshot::open(&SourceRequest {
        path: Path::new("."),
        revision: &flags.revision(),
        repo: global.repo.as_deref(),
        trust_repo_owner: global.trust_repo_owner,
    })?;
    let image_args = images::image_args(source)?;
    match &source.path {
        Some(path) => resolve_path(snapshot, &flags, source, path, &image_args),
        None => resolve_config(snapshot, &flags, source, &image_args, global),
    }
}

/// A PATH: one app, defined by the flags alone.
fn resolve_path(
    snapshot: Snapshot,
    flags: &Flags,
    source: &SourceArgs,
    path: &Path,
    image_args: &[ImageArg],
) -> Result<Resolved, Error> {
    if let Some(arg) = image_args.iter().find(|a| a.repository.is_none()) {
        return Err(SettingsError::AliasWithoutPolicy {
            alias: arg.alias.clone().unwrap_or_default(),
            tag: arg.tag.clone(),
        }
        .into());
    }
    let mut definition = AppConfig {
        name: app_name(one_name(&source.app)?, path)?,
        ..AppConfig::default()
    };
    definition.source.path = snapshot.relative(path)?;
    let mut app = app_run(flags, &definition, None);
    app.identity = identity(&snapshot, &app);
    app.images = images::promotions(image_args, &[], &app.name, app.env.as_deref())?;
    app.render.images = app.images.clone();
    let defined = BTreeSet::from([app.name.clone()]);
    Ok(Resolved {
        snapshot,
        apps: vec![app],
        defined,
        warnings: Vec::new(),
    })
}

/// No PATH: the apps the config file defines (all, or `--app`), in the environment `--env`.
fn resolve_config(
    snapshot: Snapshot,
    flags: &Flags,
    source: &SourceArgs,
    image_args: &[ImageArg],
    global: &GlobalArgs,
) -> Result<Resolved, Error> {
    let config_path = match &source.config {
        Some(path) => snapshot.relative(path)?,
        None => PathBuf::from(DEFAULT_CONFIG),
    };
    let bytes = snapshot
        .read(&config_path)?
        .ok_or_else(|| SettingsError::NoConfig {
            config: config_path.clone(),
            revision: snapshot.revision_name().to_string(),
        })?;
    let remotes = snapshot.remote_urls();
    let argo_files = crate::apps::ArgoFiles::new(&snapshot);
    let children = |app: &AppConfig| rendered_apps(&snapshot, &argo_files, flags, &remotes, app);
    let parsed = crate::apps::definitions(
        &snapshot,
        global.kubeconfig.as_deref(),
        &config_path,
        &bytes,
        (!source.applications_as_objects).then_some(&children as _),
    )?;
    let selected = select(&parsed, &config_path, &source.app)?;
    let mut warnings = parsed.warnings.clone();
    let mut apps = Vec::new();
    let mut known_aliases = BTreeSet::new();
    for app in selected {
        let env = environment(app, flags.env.as_deref())?;
        warnings.extend(repository_warning(app, &remotes));
        warnings.extend(replace_warning(app, env));
        let mut run = app_run(flags, app, env);
        run.child_records = child_records(flags, &parsed, app)?;
        sources::place(app, &mut run.render, &remotes);
        // A first source in another repository names that repository's revision, not the
        // commit of this one to deploy.
        if run.render.origin.is_some() && flags.rev.is_none() {
            run.revision = "HEAD".to_string();
        }
        run.config = Some(config_path.clone());
        run.identity = identity(&snapshot, &run);
        let env_images = env.map(|e| e.images.as_slice()).unwrap_or(&[]);
        let policies = images::effective_policies(&app.images, env_images);
        run.images = images::promotions(image_args, &policies, &run.name, run.env.as_deref())?;
        run.image_policies = policies.clone();
        run.render.images = run.images.clone();
        known_aliases.extend(policies.into_iter().map(|p| p.alias));
        apps.push(run);
    }
    images::check_aliases(image_args, &known_aliases)?;
    Ok(Resolved {
        snapshot,
        apps,
        defined: parsed.apps.iter().map(|a| a.name.clone()).collect(),
        warnings,
    })
}

/// Where the apps `app` renders deploy, as its history records them.
fn child_records(
    flags: &Flags,
    parsed: &Config,
    app: &AppConfig,
) -> Result<Vec<crate::inventory::history::ChildRecord>, Error> {
    app.children
        .iter()
        .filter_map(|name| parsed.apps.iter().find(|a| a.name == *name))
        .map(|child| {
            let run = app_run(flags, child, environment(child, flags.env.as_deref())?);
            Ok(crate::inventory::history::ChildRecord {
                name: run.name,
                namespace: run.namespace,
                context: run.context,
                server: run.server,
                cascade: run.cascade,
            })
        })
        .collect()
}

/// The Argo CD Applications and ApplicationSets an app renders (app-of-apps), from an
/// offline render at its revision; `None` when its files mention none, or its source is not
/// in this repository.
fn rendered_apps(
    snapshot: &Snapshot,
    argo_files: &crate::apps::ArgoFiles<'_>,
    flags: &Flags,
    remotes: &[String],
    app: &AppConfig,
) -> Result<Option<crate::apps::Found>, Error> {
    let mut run = app_run(flags, app, environment(app, flags.env.as_deref())?);
    sources::place(app, &mut run.render, remotes);
    if run.render.origin.is_some() || run.render.chart.is_some() {
        return Ok(None);
    }
    let opened = crate::deploy::opened_at(snapshot, &run.revision)?;
    let at = opened.as_ref().unwrap_or(snapshot);
    let known = opened.is_none().then_some(argo_files);
    if !crate::apps::mentions_argo(at, &run.render, known)? {
        return Ok(None);
    }
    let rendered = crate::render::render_app(at, &run.render)?;
    Ok(Some(
        rendered
            .manifests
            .into_iter()
            .filter(|m| crate::apps::is_argo_app(&m.object))
            .map(|m| (m.origin, m.object))
            .collect(),
    ))
}

/// The definitions to run: the one `--app` names, or all of them.
/// With PATH, `--app` names the one app there is.
fn one_name(names: &[String]) -> Result<Option<&str>, SettingsError> {
    match names {
        [] => Ok(None),
        [name] => Ok(Some(name)),
        _ => Err(SettingsError::OneAppWithPath(names.to_vec())),
    }
}

/// The apps `--app` names (all without it), in the order of their definitions. A name or
/// pattern that matches no app is an error, so a typo never selects nothing.
fn select<'a>(
    parsed: &'a Config,
    config_path: &Path,
    names: &[String],
) -> Result<Vec<&'a AppConfig>, SettingsError> {
    for name in names {
        if !parsed
            .apps
            .iter()
            .any(|a| crate::render::glob_matches(name, &a.name))
        {
            return Err(SettingsError::NoSuchApp {
                config: config_path.to_path_buf(),
                name: name.to_string(),
                known: parsed.apps.iter().map(|a| a.name.clone()).collect(),
            });
        }
    }
    let selected: Vec<&AppConfig> = parsed
        .apps
        .iter()
        .filter(|a| {
            names.is_empty()
                || names
                    .iter()
                    .any(|n| crate::render::glob_matches(n, &a.name))
        })
        .collect();
    if selected.is_empty() {
        return Err(SettingsError::NoApps {
            config: config_path.to_path_buf(),
        });
    }
    Ok(selected)
}

/// The environment `--env` names in the app's definition.
fn environment<'a>(
    app: &'a AppConfig,
    env: Option<&str>,
) -> Result<Option<&'a Environment>, SettingsError> {
    let Some(name) = env else {
        return Ok(None);
    };
    // Apps an app-of-apps or ApplicationSet makes are Argo CD Applications: they have no
    // environments, and deploy as they are in every one.
    if app.environments.is_empty() && (app.parent.is_some() || app.generated_by.is_some()) {
        return Ok(None);
    }
    app.environments
        .get(name)
        .map(Some)
        .ok_or_else(|| SettingsError::NoSuchEnvironment {
            app: app.name.clone(),
            env: name.to_string(),
            known: app.environments.keys().cloned().collect(),
        })
}

/// kpush deploys from the local repository: a definition that names another one is worth a
/// warning.
fn repository_warning(app: &AppConfig, remotes: &[String]) -> Option<String> {
    // A chart's repoURL is its chart repository or registry; the sources of a multi-source
    // app in other repositories are fetched.
    if app.source.chart.is_some() || !app.source.more.is_empty() || !app.source.refs.is_empty() {
        return None;
    }
    let url = app.source.repo_url.as_ref()?;
    if remotes.is_empty() || remotes.iter().any(|r| same_repo(r, url)) {
        return None;
    }
    Some(format!(
        "app `{}`: repoURL {url} is not a remote of this repository ({}); kpush deploys from the local repository",
        app.name,
        remotes.join(", ")
    ))
}

/// Argo CD's `Replace=true` alone replaces objects in place, which kpush does not do: it
/// applies them, and an immutable field stays an error.
fn replace_warning(app: &AppConfig, env: Option<&Environment>) -> Option<String> {
    let options = app.sync_options(env);
    (options.replace == Some(true) && options.force != Some(true)).then(|| {
        format!(
            "app `{}`: sync option `Replace=true`: kpush applies with server-side apply, and an immutable field that changes stays an error; add `Force=true` to delete and re-create such objects (never PersistentVolumeClaims, Namespaces or CRDs)",
            app.name
        )
    })
}

/// Whether two repository URLs name the same repository (`git@host:a/b.git` and
/// `https://host/a/b` do).
fn same_repo(a: &str, b: &str) -> bool {
    repository_key(a) == repository_key(b)
}

/// Who the app is, recorded on its inventory: the repository's `origin`, the path or the
/// definition, and the environment.
fn identity(snapshot: &Snapshot, run: &AppRun) -> AppIdentity {
    let source = match &run.config {
        Some(config) => format!("config:{}#{}", config.display(), run.name),
        None => format!("path:{}", run.render.path.display()),
    };
    AppIdentity {
        repo: snapshot.origin_url().map(|url| repository_key(&url)),
        source,
        env: run.env.clone(),
    }
}

/// The app name: `--app`, or the last directory name of PATH, made a valid object name.
pub fn app_name(app: Option<&str>, path: &Path) -> Result<String, SettingsError> {
    if let Some(app) = app {
        return if is_dns_label(app) {
            Ok(app.to_string())
        } else {
            Err(SettingsError::InvalidAppName(app.to_string()))
        };
    }
    let base = std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf());
    let mut dir = base.as_path();
    if dir.extension().is_some() {
        dir = dir.parent().unwrap_or(dir);
    }
    let raw = dir
        .components()
        .rev()
        .filter_map(|c| c.as_os_str().to_str())
        .find(|c| *c != "." && *c != "..")
        .unwrap_or("");
    let mut name: String = raw
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.truncate(56);
    let name = name.trim_matches('-').to_string();
    if is_dns_label(&name) {
        Ok(name)
    } else {
        Err(SettingsError::NoAppName(path.to_path_buf()))
    }
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 56
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_come_from_the_path() {
        let cases = [
            ("examples/guestbook", "guestbook"),
            ("apps/My_App/", "my-app"),
            ("apps/web/deploy.yaml", "web"),
        ];
        for (path, expected) in cases {
            assert_eq!(app_name(None, Path::new(path)).unwrap(), expected, "{path}");
        }
        assert_eq!(app_name(Some("shop"), Path::new(".")).unwrap(), "shop");
        assert!(app_name(Some("Shop!"), Path::new(".")).is_err());
    }
}
