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
    let parsed = expand_sets(&inputs, config_path, bytes)?;
    let Some(render) = render else {
        return Ok(parsed);
    };
    let expanded = children::with_children(parsed, &inputs, render).map_err(|e| match e {
        children::ChildError::Render(e) => e,
        children::ChildError::Invalid(problems) => ConfigError { problems }.into(),
    })?;
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
        let problem = |message: String| Problem {
            origin: set.origin.clone(),
            column: None,
            message,
        };
        let expanded = match appset::expand(&set.value, inputs) {
            Ok(expanded) => expanded,
            Err(errors) => {
                problems.extend(errors.into_iter().map(problem));
                continue;
            }
        };
        parsed.warnings.extend(
            expanded
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", set.origin)),
        );
        let set_name = set.value["metadata"]["name"].as_str().unwrap_or("");
        for app in &expanded.applications {
            match config::parse_application(app, &set.origin) {
                Ok((mut app, warnings)) => {
                    app.generated_by = Some(set_name.to_string());
                    parsed.warnings.extend(warnings);
                    parsed.apps.push(app);
                }
                Err(errors) => {
                    let name = app["metadata"]["name"].as_str().unwrap_or("");
                    problems.extend(errors.into_iter().map(|e| {
                        problem(format!(
                            "ApplicationSet `{set_name}`, generated Application `{name}`: {e}"
                        ))
                    }));
                }
            }
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
