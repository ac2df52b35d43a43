//! What the flags say for every app of a run, read once from the command line (the
//! definition of each app fills in the rest, in `app_run`).

use std::path::PathBuf;

use serde_json::Value;

use crate::cli::{GlobalArgs, SourceArgs, TargetArgs};
use crate::cluster::Propagation;
use crate::config::PruneProp;
use crate::input::{Problem, RenderError};
use crate::object::Origin;
use crate::render::{Tools, ValueLayer};

/// The flags every app of the run shares; `None` and `false` leave the choice to the app's
/// definition.
#[derive(Debug, Clone, Default)]
pub(super) struct Flags {
    pub rev: Option<String>,
    pub namespace: Option<String>,
    pub context: Option<String>,
    pub env: Option<String>,
    pub create_namespace: bool,
    pub prune: bool,
    pub allow_empty: bool,
    pub update_images: bool,
    pub validate: Option<bool>,
    pub propagation: Option<Propagation>,
    /// `--values` files and `--set` expressions, in order: the highest value layers.
    pub values: Vec<ValueLayer>,
    pub tools: Tools,
}

impl Flags {
    /// `target` carries the flags of `diff` and `apply`, `propagation` the one of `apply`.
    pub fn read(
        global: &GlobalArgs,
        source: &SourceArgs,
        target: Option<&TargetArgs>,
        propagation: Option<PruneProp>,
    ) -> Result<Flags, RenderError> {
        let flag = |f: fn(&TargetArgs) -> bool| target.is_some_and(f);
        Ok(Flags {
            rev: global.rev.clone(),
            namespace: global.namespace.clone(),
            context: global.context.clone(),
            env: source.env.clone(),
            create_namespace: flag(|t| t.create_namespace),
            prune: flag(|t| t.prune),
            allow_empty: flag(|t| t.allow_empty),
            update_images: flag(|t| t.update_images),
            validate: target.and_then(|t| t.validate),
            propagation: propagation.map(propagation_of),
            values: cli_values(source)?,
            tools: Tools {
                helm: source.helm_bin.clone(),
                kustomize: source.kustomize_bin.clone(),
                charts: crate::source::charts::ChartCache {
                    dir: crate::source::charts::ChartCache::default_dir(),
                    offline: source.offline,
                },
            },
        })
    }

    /// The revision to read the config (or PATH) at.
    pub fn revision(&self) -> String {
        self.rev.clone().unwrap_or_else(|| "HEAD".into())
    }
}

/// How deletions propagate, for `--prune-propagation` and `PrunePropagationPolicy` alike.
pub(super) fn propagation_of(policy: PruneProp) -> Propagation {
    match policy {
        PruneProp::Foreground => Propagation::Foreground,
        PruneProp::Background => Propagation::Background,
        PruneProp::Orphan => Propagation::Orphan,
    }
}

/// `--values` files (from disk, not the repository) and `--set` expressions, in order.
fn cli_values(source: &SourceArgs) -> Result<Vec<ValueLayer>, RenderError> {
    let mut layers = Vec::new();
    let mut problems = Vec::new();
    for file in &source.values {
        let problem = |message: String| Problem {
            origin: Origin {
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
                origin: Origin {
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
        Err(RenderError { problems })
    }
}
