//! App-of-apps: the Applications (and ApplicationSets) an app renders are apps of their own,
//! deployed after it as Argo CD's controller would sync them, ordered by their sync waves.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::config::{AppConfig, Config, ConfigError};
use crate::error::Error;
use crate::input::Problem;
use crate::object::Origin;

use super::appset::Inputs;

/// Argo CD's annotation that orders Applications of one parent.
const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

/// How deep app-of-apps may nest: deeper is a cycle kpush could not name.
const MAX_DEPTH: usize = 16;

/// The Argo CD objects one app renders, each with where it came from.
pub type Found = Vec<(Origin, Value)>;

/// Every app of `config`, each followed by its children (and theirs), children of one parent
/// in the order of their sync waves. `render` gives the Applications and ApplicationSets an
/// app renders, or `None` when its inputs hold none.
pub fn with_children(
    config: Config,
    inputs: &dyn Inputs,
    render: super::FindChildren<'_>,
) -> Result<Config, Error> {
    let mut out = Config {
        apps: Vec::new(),
        sets: Vec::new(),
        warnings: config.warnings,
    };
    for app in config.apps {
        descend(app, &mut Vec::new(), inputs, render, &mut out)?;
    }
    Ok(out)
}

fn descend(
    mut app: AppConfig,
    ancestors: &mut Vec<String>,
    inputs: &dyn Inputs,
    render: super::FindChildren<'_>,
    out: &mut Config,
) -> Result<(), Error> {
    let invalid = |problems: Vec<Problem>| Error::from(ConfigError { problems });
    let one = |origin: &Origin, message: String| {
        invalid(vec![Problem {
            origin: origin.clone(),
            column: None,
            message,
        }])
    };
    if ancestors.contains(&app.name) || ancestors.len() >= MAX_DEPTH {
        let mut chain = ancestors.clone();
        chain.push(app.name.clone());
        return Err(one(
            &app.origin,
            format!(
                "app-of-apps cycle: {}; an app cannot render itself or an app that renders it",
                chain.join(" → ")
            ),
        ));
    }
    let found = render(&app)?.unwrap_or_default();
    let mut children = Vec::new();
    let mut problems = Vec::new();
    for (origin, doc) in found {
        match super::apps_of(&doc, &origin, inputs, &mut out.warnings) {
            Ok(apps) => children.extend(apps.into_iter().map(|mut child| {
                child.parent = Some(app.name.clone());
                child
            })),
            Err(found) => problems.extend(found.into_iter().map(|mut p| {
                p.message = format!("rendered by app `{}`: {}", app.name, p.message);
                p
            })),
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let mut seen = BTreeSet::new();
    for child in &children {
        if !seen.insert(child.name.clone()) {
            return Err(one(
                &child.origin,
                format!(
                    "app `{}` renders two Applications named `{}`",
                    app.name, child.name
                ),
            ));
        }
    }
    children.sort_by_key(wave);
    app.children = children.iter().map(|c| c.name.clone()).collect();
    let name = app.name.clone();
    out.apps.push(app);
    ancestors.push(name);
    for child in children {
        descend(child, ancestors, inputs, render, out)?;
    }
    ancestors.pop();
    Ok(())
}

/// A child's sync wave (0 unless annotated; an unreadable one is 0, as Argo CD reads it).
pub fn wave(app: &AppConfig) -> i64 {
    app.annotations
        .get(SYNC_WAVE)
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0)
}

/// The files of a commit that mention Argo CD apps, found once for every app of a run:
/// most repositories have none, or a few, and then no app needs a closer look.
pub struct ArgoFiles<'a> {
    snapshot: &'a crate::source::Snapshot,
    files: std::cell::OnceCell<Vec<std::path::PathBuf>>,
}

impl<'a> ArgoFiles<'a> {
    pub fn new(snapshot: &'a crate::source::Snapshot) -> Self {
        ArgoFiles {
            snapshot,
            files: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> Result<&[std::path::PathBuf], crate::error::Error> {
        if let Some(files) = self.files.get() {
            return Ok(files);
        }
        // By blob id: the two commits of a diff share most files, which are read once.
        static SEEN: std::sync::Mutex<Option<std::collections::HashMap<String, bool>>> =
            std::sync::Mutex::new(None);
        let mut found = Vec::new();
        for (path, id) in self.snapshot.file_ids(std::path::Path::new(""))? {
            // Documentation never renders.
            if path.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let known = id.as_ref().and_then(|id| {
                SEEN.lock()
                    .expect("not poisoned")
                    .get_or_insert_default()
                    .get(id)
                    .copied()
            });
            let mentioned = match known {
                Some(known) => known,
                None => {
                    let bytes = self.snapshot.read_file(&path, id.as_deref())?;
                    let mentioned = bytes.is_some_and(|b| mentions(&b));
                    if let Some(id) = id {
                        SEEN.lock()
                            .expect("not poisoned")
                            .get_or_insert_default()
                            .insert(id, mentioned);
                    }
                    mentioned
                }
            };
            if mentioned {
                found.push(path);
            }
        }
        Ok(self.files.get_or_init(|| found))
    }
}

/// Whether the files an app's render reads mention Argo CD apps at all: only then is it
/// rendered to find its children. `known` lists the files of the commit that do (when the app
/// renders at the commit it was listed for); without it, the app's files are read. A
/// kustomization is followed to the bases it reads. A template directory reads the whole
/// commit; only its own files are looked at.
pub fn mentions_argo(
    snapshot: &crate::source::Snapshot,
    spec: &crate::render::RenderSpec,
    known: Option<&ArgoFiles<'_>>,
) -> Result<bool, crate::error::Error> {
    let known = known.map(ArgoFiles::get).transpose()?;
    let under = |path: &std::path::Path| -> Result<bool, crate::error::Error> {
        match known {
            Some(files) => Ok(files.iter().any(|f| f.starts_with(path))),
            None => mentioned_under(snapshot, path),
        }
    };
    if known.is_some_and(<[_]>::is_empty) {
        return Ok(false);
    }
    if under(&spec.path)? {
        return Ok(true);
    }
    if crate::render::detect(snapshot, &spec.path)? != crate::render::SourceKind::Kustomize {
        return Ok(false);
    }
    let reads = crate::render::reads::of_source(snapshot, spec)?;
    for path in reads.paths.iter().filter(|p| !p.starts_with(&spec.path)) {
        if under(path)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether a file under `path` mentions Argo CD apps. Answers are kept by git object id: the
/// two commits of a diff, and apps sharing a base, look at each tree once.
fn mentioned_under(
    snapshot: &crate::source::Snapshot,
    path: &std::path::Path,
) -> Result<bool, crate::error::Error> {
    static SEEN: std::sync::Mutex<Option<std::collections::HashMap<String, bool>>> =
        std::sync::Mutex::new(None);
    let id = snapshot.object_id(path)?;
    if let Some(id) = &id
        && let Some(known) = SEEN
            .lock()
            .expect("not poisoned")
            .get_or_insert_default()
            .get(id)
    {
        return Ok(*known);
    }
    let mut found = false;
    if snapshot.kind(path)?.is_some() {
        for file in snapshot.files(path)? {
            if mentions(&file.bytes) {
                found = true;
                break;
            }
        }
    }
    if let Some(id) = id {
        SEEN.lock()
            .expect("not poisoned")
            .get_or_insert_default()
            .insert(id, found);
    }
    Ok(found)
}

fn mentions(text: &[u8]) -> bool {
    contains(text, b"argoproj.io") && contains(text, b"Application")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
