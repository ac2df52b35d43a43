//! Flags, environment and app definitions resolved once into what each app's run uses: which
//! revision and path to render, with which values, deployed where, with which options.

mod engine;
mod rollback;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::{GlobalArgs, PropagationArg, SourceArgs, TargetArgs};
use crate::cluster::Propagation;
use crate::config::{self, AppConfig, DEFAULT_CONFIG, Environment, PruneProp};
use crate::error::Error;
use crate::images::{ImageArg, ImagePolicy, Promotion, parse_image_arg};
use crate::input::{Problem, RenderError};
use crate::render::{RenderSpec, Tools, ValueLayer};
use crate::source::{Snapshot, SourceRequest};

pub use crate::deploy::AppRun;
pub use engine::{connection, prepare_options, write_options};
pub use rollback::{choose, resolve_entry};

/// Everything a command runs over.
pub struct Resolved {
    /// The revision the config (or PATH) was read at.
    pub snapshot: Snapshot,
    pub apps: Vec<AppRun>,
    /// Things the user should know (unsupported Argo CD fields, ...), each once.
    pub warnings: Vec<String>,
}

/// Resolves the apps to work on. `target` carries the flags of `diff` and `apply`.
pub fn resolve(
    global: &GlobalArgs,
    source: &SourceArgs,
    target: Option<&TargetArgs>,
    propagation: Option<PropagationArg>,
) -> Result<Resolved, Error> {
    let revision = global.rev.clone().unwrap_or_else(|| "HEAD".into());
    let snapshot = Snapshot::open(&SourceRequest {
        path: Path::new("."),
        revision: &revision,
        repo: global.repo.as_deref(),
        trust_repo_owner: global.trust_repo_owner,
    })?;
    let cli_layers = cli_values(source)?;
    let image_args = image_args(source)?;
    let tools = Tools {
        helm: source.helm_bin.clone(),
        kustomize: source.kustomize_bin.clone(),
    };
    let flag = |f: fn(&TargetArgs) -> bool| target.is_some_and(f);
    let cli_propagation = propagation.map(|p| match p {
        PropagationArg::Foreground => Propagation::Foreground,
        PropagationArg::Background => Propagation::Background,
        PropagationArg::Orphan => Propagation::Orphan,
    });

    if let Some(path) = &source.path {
        let relative = snapshot.relative(path)?;
        let name = app_name(source.app.as_deref(), path)?;
        let app = AppRun {
            name: name.clone(),
            env: source.env.clone(),
            revision: revision.clone(),
            render: RenderSpec {
                app: name,
                env: source.env.clone(),
                path: relative,
                namespace: global.namespace.clone(),
                values: cli_layers,
                tools,
                ..RenderSpec::default()
            },
            allow_cluster_scoped: true,
            allow_other_namespaces: true,
            context: global.context.clone(),
            server: None,
            namespace: global.namespace.clone(),
            create_namespace: flag(|t| t.create_namespace),
            prune: flag(|t| t.prune),
            allow_empty: flag(|t| t.allow_empty),
            validate: target.and_then(|t| t.validate).unwrap_or(true),
            propagation: cli_propagation.unwrap_or_default(),
            sensitive_paths: Vec::new(),
            config: None,
            replace: false,
            self_heal: false,
            images: Vec::new(),
        };
        let mut app = app;
        if let Some(arg) = image_args.iter().find(|a| a.repository.is_none()) {
            return Err(Error::Invalid(format!(
                "`--image {}={}` names an alias, but with a PATH there is no image policy\nhint: pass `--image REPOSITORY:TAG`",
                arg.alias.as_deref().unwrap_or(""),
                arg.tag
            )));
        }
        app.images = promotions(&image_args, &[], &app.name, app.env.as_deref())?;
        app.render.images = app.images.clone();
        return Ok(Resolved {
            snapshot,
            apps: vec![app],
            warnings: Vec::new(),
        });
    }

    let config_path = match &source.config {
        Some(path) => snapshot.relative(path)?,
        None => PathBuf::from(DEFAULT_CONFIG),
    };
    let bytes = snapshot.read(&config_path)?.ok_or_else(|| {
        Error::Invalid(format!(
            "no PATH given, and there is no `{}` at revision `{}`\nhint: pass a PATH to deploy, or `--config FILE` with app definitions",
            config_path.display(),
            snapshot.revision_name()
        ))
    })?;
    let parsed = config::parse_config(&config_path, &bytes)?;
    let mut warnings = parsed.warnings;
    let selected: Vec<&AppConfig> = match &source.app {
        Some(name) => {
            let app = parsed
                .apps
                .iter()
                .find(|a| &a.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = parsed.apps.iter().map(|a| a.name.as_str()).collect();
                    Error::Invalid(format!(
                        "`{}` defines no app `{name}` (it has: {})",
                        config_path.display(),
                        names.join(", ")
                    ))
                })?;
            vec![app]
        }
        None => parsed.apps.iter().collect(),
    };
    if selected.is_empty() {
        return Err(Error::Invalid(format!(
            "`{}` defines no apps",
            config_path.display()
        )));
    }
    let remotes = snapshot.remote_urls();
    let mut apps = Vec::new();
    let mut known_aliases = std::collections::BTreeSet::new();
    for app in selected {
        let env = match &source.env {
            Some(env_name) => Some(app.environments.get(env_name).ok_or_else(|| {
                let names: Vec<&str> = app.environments.keys().map(String::as_str).collect();
                Error::Invalid(format!(
                    "app `{}` has no environment `{env_name}` (it has: {})",
                    app.name,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ))
            })?),
            None => None,
        };
        if let Some(url) = &app.source.repo_url
            && !remotes.is_empty()
            && !remotes.iter().any(|r| same_repo(r, url))
        {
            warnings.push(format!(
                "app `{}`: repoURL {url} is not a remote of this repository ({}); kpush deploys from the local repository",
                app.name,
                remotes.join(", ")
            ));
        }
        if app.sync.options.replace == Some(true) {
            warnings.push(format!(
                "app `{}`: sync option `Replace=true` is not supported yet; objects are applied",
                app.name
            ));
        }
        let mut run = app_run(
            global,
            source,
            target,
            cli_propagation,
            app,
            env,
            &cli_layers,
            &tools,
        );
        run.config = Some(config_path.clone());
        let env_images = env.map(|e| e.images.as_slice()).unwrap_or(&[]);
        let policies = effective_policies(&app.images, env_images);
        run.images = promotions(&image_args, &policies, &run.name, run.env.as_deref())?;
        run.render.images = run.images.clone();
        known_aliases.extend(policies.into_iter().map(|p| p.alias));
        apps.push(run);
    }
    for arg in &image_args {
        if let Some(alias) = arg.alias.as_ref().filter(|a| !known_aliases.contains(*a)) {
            return Err(Error::Invalid(format!(
                "no app defines the image alias `{alias}` (known: {})",
                if known_aliases.is_empty() {
                    "none".to_string()
                } else {
                    known_aliases.iter().cloned().collect::<Vec<_>>().join(", ")
                }
            )));
        }
    }
    Ok(Resolved {
        snapshot,
        apps,
        warnings,
    })
}

#[allow(clippy::too_many_arguments)]
fn app_run(
    global: &GlobalArgs,
    source: &SourceArgs,
    target: Option<&TargetArgs>,
    cli_propagation: Option<Propagation>,
    app: &AppConfig,
    env: Option<&Environment>,
    cli_layers: &[ValueLayer],
    tools: &Tools,
) -> AppRun {
    let options = match env {
        Some(e) => app.sync.options.overlay(&e.sync_options),
        None => app.sync.options.clone(),
    };
    let path = &app.source.path;
    let mut layers = Vec::new();
    layers.extend(app.source.values.clone().map(ValueLayer::Inline));
    layers.extend(
        app.source
            .value_files
            .iter()
            .map(|f| ValueLayer::File(path.join(f))),
    );
    if let Some(e) = env {
        layers.extend(e.value_files.iter().map(|f| ValueLayer::File(path.join(f))));
        layers.extend(e.values.clone().map(ValueLayer::Inline));
    }
    layers.extend(cli_layers.iter().cloned());
    let namespace = global
        .namespace
        .clone()
        .or_else(|| env.and_then(|e| e.namespace.clone()))
        .or_else(|| app.destination.namespace.clone());
    let context = global
        .context
        .clone()
        .or_else(|| env.and_then(|e| e.context.clone()))
        .or_else(|| app.destination.context.clone())
        .or_else(|| app.destination.name.clone());
    let revision = global
        .rev
        .clone()
        .or_else(|| env.and_then(|e| e.target_revision.clone()))
        .or_else(|| app.source.target_revision.clone())
        .unwrap_or_else(|| "HEAD".into());
    let flag = |f: fn(&TargetArgs) -> bool| target.is_some_and(f);
    AppRun {
        name: app.name.clone(),
        env: source.env.clone(),
        revision,
        render: RenderSpec {
            app: app.name.clone(),
            env: source.env.clone(),
            path: path.clone(),
            namespace: namespace.clone(),
            directory: app.source.directory.clone(),
            helm: app.source.helm.clone(),
            kustomize: app.source.kustomize.clone(),
            values: layers,
            value_files: app
                .source
                .value_files
                .iter()
                .chain(app.environments.values().flat_map(|e| &e.value_files))
                .map(|f| path.join(f))
                .collect(),
            tools: tools.clone(),
            images: Vec::new(),
            // Only the names the config lists; an unset one stays undefined in templates.
            env_vars: app
                .source
                .template_env
                .iter()
                .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?)))
                .collect(),
        },
        allow_cluster_scoped: app.allow_cluster_scoped.unwrap_or(true),
        allow_other_namespaces: app.allow_other_namespaces.unwrap_or(true),
        context,
        server: app.destination.server.clone(),
        namespace,
        create_namespace: flag(|t| t.create_namespace) || options.create_namespace == Some(true),
        prune: flag(|t| t.prune) || env.and_then(|e| e.prune).or(app.sync.prune) == Some(true),
        allow_empty: flag(|t| t.allow_empty) || app.sync.allow_empty == Some(true),
        validate: target
            .and_then(|t| t.validate)
            .or(options.validate)
            .unwrap_or(true),
        propagation: cli_propagation
            .or(options.prune_propagation.map(|p| match p {
                PruneProp::Foreground => Propagation::Foreground,
                PruneProp::Background => Propagation::Background,
                PruneProp::Orphan => Propagation::Orphan,
            }))
            .unwrap_or_default(),
        sensitive_paths: app
            .sensitive_paths
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect(),
        config: None,
        replace: options.replace == Some(true),
        self_heal: app.sync.self_heal == Some(true),
        images: Vec::new(),
    }
}

/// `--image`, `--images-file` and `KPUSH_IMAGES`, parsed.
fn image_args(source: &SourceArgs) -> Result<Vec<ImageArg>, Error> {
    let mut texts: Vec<String> = source.images.clone();
    if let Some(file) = &source.images_file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            Error::Invalid(format!(
                "cannot read `--images-file {}`: {e}",
                file.display()
            ))
        })?;
        texts.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
                .filter(|l| !l.is_empty()),
        );
    }
    if let Ok(env) = std::env::var("KPUSH_IMAGES") {
        texts.extend(
            env.split([',', '\n'])
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
    }
    texts
        .iter()
        .map(|t| parse_image_arg(t).map_err(Error::Invalid))
        .collect()
}

/// The app's policies with the environment's replacing those of the same alias.
fn effective_policies(app: &[ImagePolicy], env: &[ImagePolicy]) -> Vec<ImagePolicy> {
    let mut policies = app.to_vec();
    for over in env {
        match policies.iter_mut().find(|p| p.alias == over.alias) {
            Some(p) => {
                let repository = p.repository.clone();
                *p = over.clone();
                if p.repository.is_empty() {
                    p.repository = repository;
                }
            }
            None => policies.push(over.clone()),
        }
    }
    policies
}

/// The images to promote for one app, each checked against its policy. A repository that no
/// policy of an app with policies names is for another app, and skipped.
fn promotions(
    args: &[ImageArg],
    policies: &[ImagePolicy],
    app: &str,
    env: Option<&str>,
) -> Result<Vec<Promotion>, Error> {
    let mut out = Vec::new();
    for arg in args {
        let policy = match (&arg.alias, &arg.repository) {
            // An alias another app of the run defines; `resolve` checks that some app does.
            (Some(alias), _) => match policies.iter().find(|p| &p.alias == alias) {
                Some(p) => Some(p),
                None => continue,
            },
            (None, Some(repo)) => match policies.iter().find(|p| &p.repository == repo) {
                Some(p) => Some(p),
                None if policies.is_empty() => None,
                None => continue,
            },
            (None, None) => continue,
        };
        let repository = arg
            .repository
            .clone()
            .or_else(|| policy.map(|p| p.repository.clone()))
            .unwrap_or_default();
        if let Some(p) = policy {
            if p.repository != repository {
                return Err(Error::Invalid(format!(
                    "image `{}`: `{repository}` is not the repository of alias `{}` (`{}`)",
                    p.alias, p.alias, p.repository
                )));
            }
            if let Some(rule) = p.refuses(&arg.tag) {
                return Err(Error::Invalid(format!(
                    "image `{}` tag `{}` is refused for app `{app}`{} by {rule}; nothing was sent to the cluster",
                    p.alias,
                    arg.tag,
                    env.map(|e| format!(" in environment `{e}`"))
                        .unwrap_or_default()
                )));
            }
        }
        out.push(Promotion {
            alias: policy
                .map(|p| p.alias.clone())
                .or_else(|| arg.alias.clone()),
            repository,
            tag: arg.tag.clone(),
            helm: policy.map(|p| p.helm.clone()).unwrap_or_default(),
            kustomize_name: policy.and_then(|p| p.kustomize_name.clone()),
        });
    }
    Ok(out)
}

/// `--values` files (from disk, not the repository) and `--set` expressions, in order.
fn cli_values(source: &SourceArgs) -> Result<Vec<ValueLayer>, Error> {
    let mut layers = Vec::new();
    let mut problems = Vec::new();
    for file in &source.values {
        let problem = |message: String| Problem {
            origin: crate::object::Origin {
                file: file.clone(),
                line: 0,
            },
            column: None,
            message,
        };
        match std::fs::read(file) {
            Err(e) => problems.push(problem(format!("cannot read values file: {e}"))),
            Ok(bytes) => match crate::input::parse_documents(file, &bytes) {
                Err(p) => problems.push(p),
                Ok(docs) => match docs.into_iter().next().map(|d| d.value) {
                    None => {}
                    Some(v @ Value::Object(_)) => layers.push(ValueLayer::Inline(v)),
                    Some(other) => problems.push(problem(format!(
                        "a values file must be a mapping, found {}",
                        crate::input::describe(&other)
                    ))),
                },
            },
        }
    }
    for expr in &source.set {
        match crate::render::parse_set(expr) {
            Ok(v) => layers.push(ValueLayer::Inline(v)),
            Err(message) => problems.push(Problem {
                origin: crate::object::Origin {
                    file: PathBuf::from("--set"),
                    line: 0,
                },
                column: None,
                message,
            }),
        }
    }
    if problems.is_empty() {
        Ok(layers)
    } else {
        Err(RenderError { problems }.into())
    }
}

/// Whether two repository URLs name the same repository (`git@host:a/b.git` and
/// `https://host/a/b` do).
fn same_repo(a: &str, b: &str) -> bool {
    fn key(url: &str) -> String {
        let url = url.trim().trim_end_matches('/').trim_end_matches(".git");
        let url = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
        let url = url.rsplit_once('@').map(|(_, rest)| rest).unwrap_or(url);
        url.replacen(':', "/", 1).to_lowercase()
    }
    key(a) == key(b)
}

/// The app name: `--app`, or the last directory name of PATH, made a valid object name.
pub fn app_name(app: Option<&str>, path: &Path) -> Result<String, Error> {
    if let Some(app) = app {
        return if is_dns_label(app) {
            Ok(app.to_string())
        } else {
            Err(Error::Invalid(format!(
                "`--app {app}` is not a valid name: lowercase letters, digits and `-`, at most 56 characters"
            )))
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
        Err(Error::Invalid(format!(
            "cannot derive an app name from `{}`\nhint: pass `--app NAME`",
            path.display()
        )))
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

    #[test]
    fn repository_urls_compare_by_host_and_path() {
        assert!(same_repo(
            "git@github.com:argoproj/argocd-example-apps.git",
            "https://github.com/argoproj/argocd-example-apps.git"
        ));
        assert!(same_repo(
            "https://github.com/a/b/",
            "https://github.com/a/b.git"
        ));
        assert!(!same_repo(
            "https://github.com/a/b",
            "https://github.com/a/c"
        ));
    }
}
