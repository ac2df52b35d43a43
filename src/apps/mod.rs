//! The set of apps a run works on, before anything renders: the definitions of the config
//! file, the Applications its ApplicationSets generate, and the apps app-of-apps render.

pub mod appset;
pub mod children;
pub mod gotemplate;
mod inputs;

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::{self, AppConfig, Config, ConfigError};
use crate::error::Error;
use crate::input::Problem;
use crate::source::Snapshot;

pub use crate::object::is_argo_app;
pub use children::{ArgoFiles, Found, mentions_argo, wave};
pub use inputs::{CLUSTER_EXTENSION, SnapshotInputs};

/// The Applications and ApplicationSets an app renders, `None` when it renders none.
pub type FindChildren<'a> = &'a dyn Fn(&AppConfig) -> Result<Option<Found>, Error>;

/// Every app the config file at `config_path` defines, ApplicationSets expanded from
/// `snapshot` (their git generators) and the kubeconfig (their clusters generators), then
/// each followed by the apps it renders, found by `render` (`None`: Applications are objects
/// to apply, not apps).
pub fn definitions(
    snapshot: &Snapshot,
    kubeconfig: Option<&Path>,
    config_path: &Path,
    bytes: &[u8],
    render: Option<FindChildren<'_>>,
) -> Result<Config, Error> {
    let inputs = SnapshotInputs::new(snapshot, kubeconfig);
    let mut parsed = expand_sets(&inputs, config_path, bytes)?;
    // The config file is the root app-of-apps: its Applications deploy in wave order too.
    parsed.apps.sort_by_key(wave);
    let Some(render) = render else {
        return Ok(parsed);
    };
    let expanded = children::with_children(parsed, &inputs, render)?;
    let problems = duplicates(&expanded);
    if problems.is_empty() {
        Ok(expanded)
    } else {
        Err(ConfigError { problems }.into())
    }
}

/// The config file's apps, with the Applications its ApplicationSets generate.
fn expand_sets(
    inputs: &SnapshotInputs<'_>,
    config_path: &Path,
    bytes: &[u8],
) -> Result<Config, ConfigError> {
    let mut parsed = config::parse_config(config_path, bytes)?;
    let mut problems = Vec::new();
    for set in std::mem::take(&mut parsed.sets) {
        match apps_of(&set.value, &set.origin, inputs, &mut parsed.warnings) {
            Ok(apps) => parsed.apps.extend(apps),
            Err(found) => problems.extend(found),
        }
    }
    problems.extend(duplicates(&parsed));
    // One warning per field, however many apps a set generates.
    let mut seen = BTreeSet::new();
    parsed.warnings.retain(|w| seen.insert(w.clone()));
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(ConfigError { problems })
    }
}

/// The apps one Argo CD document defines: an Application, or every Application an
/// ApplicationSet generates (each marked with its set). Warnings about fields kpush does not
/// use go to `warnings`.
fn apps_of(
    doc: &serde_json::Value,
    origin: &crate::object::Origin,
    inputs: &dyn appset::Inputs,
    warnings: &mut Vec<String>,
) -> Result<Vec<AppConfig>, Vec<Problem>> {
    let problem = |message: String| Problem {
        origin: origin.clone(),
        column: None,
        message,
    };
    let set =
        (doc["kind"] == "ApplicationSet").then(|| doc["metadata"]["name"].as_str().unwrap_or(""));
    let generated = match set {
        Some(_) => {
            let expanded = appset::expand(doc, inputs)
                .map_err(|e| e.into_iter().map(problem).collect::<Vec<_>>())?;
            warnings.extend(expanded.warnings.iter().map(|w| format!("{origin}: {w}")));
            expanded.applications
        }
        None => vec![doc.clone()],
    };
    let mut apps = Vec::new();
    let mut problems = Vec::new();
    for application in &generated {
        match config::parse_application(application, origin) {
            Ok((mut app, found)) => {
                app.generated_by = set.map(str::to_string);
                warnings.extend(found);
                apps.push(app);
            }
            Err(errors) => {
                let name = application["metadata"]["name"].as_str().unwrap_or("");
                let what = match set {
                    Some(set) => format!("ApplicationSet `{set}`, generated Application `{name}`"),
                    None => format!("Application `{name}`"),
                };
                problems.extend(errors.into_iter().map(|e| problem(format!("{what}: {e}"))));
            }
        }
    }
    if problems.is_empty() {
        Ok(apps)
    } else {
        Err(problems)
    }
}

/// Two apps of one name would share an inventory.
fn duplicates(config: &Config) -> Vec<Problem> {
    let mut names = BTreeSet::new();
    config
        .apps
        .iter()
        .filter(|app| !names.insert(app.name.clone()))
        .map(|app| Problem {
            origin: app.origin.clone(),
            column: None,
            message: match &app.generated_by {
                Some(set) => format!(
                    "app `{}` is defined twice (ApplicationSet `{set}` generates it, and another definition has the same name)",
                    app.name
                ),
                None => match &app.parent {
                    Some(parent) => format!(
                        "app `{}` is defined twice (app `{parent}` renders it, and another definition has the same name)",
                        app.name
                    ),
                    None => format!("app `{}` is defined twice", app.name),
                },
            },
        })
        .collect()
}
