//! `diff --save-plan` and `apply --plan`: the plan a person approved is saved, and applied
//! only if rendering the same commit again against the cluster as it is now gives exactly it.

use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::plan::saved::{self, FORMAT, SavedApp, SavedPlan};
use crate::settings::Resolved;

use super::plan::{Failed, Planned};

/// The app of a plan as a saved plan holds it.
fn saved_app(p: &Planned<'_>) -> SavedApp {
    SavedApp {
        app: p.run.name.clone(),
        env: p.run.env.clone(),
        server: p.cluster.server.clone(),
        namespace: p.prepared.namespace().to_string(),
        input_digest: p.prepared.input_digest.clone(),
        objects: saved::objects(&p.prepared.plan),
    }
}

/// Writes the plan of every app to `path`. A run with an app that could not be planned, an
/// invalid object, or the working tree has no plan to approve.
pub(super) fn save(
    path: &Path,
    resolved: &Resolved,
    planned: &[Result<Planned<'_>, Failed<'_>>],
) -> Result<(), Error> {
    let refuse = |why: String| {
        Error::Invalid(format!(
            "the plan was not saved to {}: {why}",
            path.display()
        ))
    };
    let commit = resolved
        .snapshot
        .commit
        .as_ref()
        .map(|c| c.sha.clone())
        .ok_or_else(|| {
            refuse("`--rev WORKTREE` is not a commit a later run can render again".into())
        })?;
    let mut apps = Vec::new();
    for p in planned {
        let p = p
            .as_ref()
            .map_err(|f| refuse(format!("app {} could not be planned", f.run.name)))?;
        if p.prepared.plan.counts().error > 0 {
            return Err(refuse(format!("app {} has invalid objects", p.run.name)));
        }
        apps.push(saved_app(p));
    }
    let plan = SavedPlan {
        format: FORMAT.to_string(),
        kpush: env!("CARGO_PKG_VERSION").to_string(),
        created: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        commit,
        apps,
    };
    let mut text = serde_json::to_string_pretty(&plan).expect("plans serialise");
    text.push('\n');
    std::fs::write(path, text).map_err(|e| {
        Error::Invalid(format!(
            "cannot write the plan to {}: {e}; check that the directory exists and is writable",
            path.display()
        ))
    })
}

/// Reads a saved plan, refusing another format and a plan older than `max_age`.
pub(super) fn load(path: &Path, max_age: Duration) -> Result<SavedPlan, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Invalid(format!("cannot read the plan {}: {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::Invalid(format!("{} is not a plan kpush saved: {e}", path.display()))
    })?;
    let format = value["format"].as_str().unwrap_or("");
    if format != FORMAT {
        return Err(Error::Invalid(format!(
            "{} is a plan of format `{format}`, which this kpush ({}) does not read (it reads `{FORMAT}`); save the plan again with this kpush",
            path.display(),
            env!("CARGO_PKG_VERSION")
        )));
    }
    let plan: SavedPlan = serde_json::from_value(value).map_err(|e| {
        Error::Invalid(format!("{} is not a plan kpush saved: {e}", path.display()))
    })?;
    let created: jiff::Timestamp = plan.created.parse().map_err(|e| {
        Error::Invalid(format!("{}: `created` is not a time ({e})", path.display()))
    })?;
    let age = jiff::Timestamp::now().duration_since(created);
    if age.as_secs() < 0 || age.unsigned_abs() > max_age {
        return Err(Error::Invalid(format!(
            "the plan {} was saved at {} and is older than --plan-max-age ({}s); plan again (`kpush diff --save-plan`) and have it approved",
            path.display(),
            plan.created,
            max_age.as_secs()
        )));
    }
    Ok(plan)
}

/// Checks that the plan made now is the plan approved; lists every difference otherwise.
pub(super) fn check(saved: &SavedPlan, planned: &[Planned<'_>]) -> Result<(), Error> {
    let mut found = Vec::new();
    for p in planned {
        let now = saved_app(p);
        match saved
            .apps
            .iter()
            .find(|a| a.app == now.app && a.env == now.env)
        {
            Some(approved) => {
                let live: Vec<_> = p.prepared.plan.entries.iter().map(saved::live_of).collect();
                found.extend(saved::differences(approved, &now, &live));
            }
            None => found.push(format!("app {}: not in the plan", now.app)),
        }
    }
    for approved in &saved.apps {
        if !planned.iter().any(|p| p.run.name == approved.app) {
            found.push(format!(
                "app {}: in the plan, not in this run",
                approved.app
            ));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "the cluster or the commit changed since the plan was saved; nothing was written:\n  {}\nhint: plan again (`kpush diff --save-plan`) and have the new plan approved",
        found.join("\n  ")
    )))
}

/// Makes every update and prune of the plan conditional on the live object still being at
/// the version checked: a write in between fails on the server instead of being overwritten
/// or deleted.
pub(super) fn pin(planned: &mut [Planned<'_>]) {
    use crate::plan::{Action, Subject};
    for p in planned {
        for entry in &mut p.prepared.plan.entries {
            let version = saved::live_of(entry).and_then(|l| l.resource_version);
            match (entry.action, &mut entry.subject) {
                (Action::Update, Subject::Target(target)) => target.precondition = version,
                (Action::Prune, Subject::Member(member)) => member.precondition = version,
                _ => {}
            }
        }
    }
}
