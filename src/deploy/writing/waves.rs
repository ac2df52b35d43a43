//! The app's objects, wave by wave in ascending order: each wave is applied, and healthy
//! unless the run does not wait, before the next starts; the last wait covers everything.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::Error;
use crate::object::{Phase, Stage};
use crate::plan::{Plan, Target};

use crate::deploy::hooks::{HookRun, run_phase};
use crate::deploy::revalidate::resolve_awaited;
use crate::deploy::staged::{self, Applied};
use crate::deploy::wait::{self, HealthReport, WaitOptions};
use crate::deploy::write::hook_context;
use crate::deploy::writer::{Writer, write_options};

/// How long a pod may wait for a node before the rollout counts as failed.
const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(30);

/// Applies every wave into `applied`. Stops at the first failed write (no health report) or
/// the first wave that is not healthy (its report). Objects of a wave that wait for their
/// kind are resolved and validated first.
pub(in crate::deploy) async fn apply_waves(
    writer: &Writer<'_>,
    plan: &mut Plan,
    applied: &mut Applied,
    hooks: &mut Vec<HookRun>,
) -> Result<Option<HealthReport>, Error> {
    let Writer {
        cluster,
        run_options,
        options,
        progress,
        ..
    } = *writer;
    let waves = waves(plan);
    let last = waves.last().copied();
    let mut health: Option<HealthReport> = None;
    // Jobs that completed in an earlier wave: done for good (and perhaps already removed by
    // their `ttlSecondsAfterFinished`), so the last wait reports them without waiting again.
    let mut finished = Vec::new();
    for wave in waves {
        let final_wave = Some(wave) == last;
        *plan = resolve_awaited(
            cluster,
            std::mem::take(plan),
            run_options,
            wave,
            options.timeout,
            progress,
        )
        .await?;
        let plan = &*plan;
        let rest = staged::apply(
            cluster,
            plan,
            &[Stage::ClusterScoped, Stage::Namespaced],
            Some(wave),
            run_options.concurrency,
            write_options(run_options),
        )
        .await;
        applied.outcomes.extend(rest.outcomes);
        applied.not_attempted += rest.not_attempted;
        writer.check(applied)?;
        if applied.failed().next().is_some() {
            return Ok(None);
        }
        // Health before the next wave and before pruning: a broken rollout keeps what it
        // would replace.
        let waited = waited_for(plan, wave, final_wave);
        if options.no_wait || waited.is_empty() {
            if !sync_hooks(writer, plan, wave, hooks).await? {
                break;
            }
            continue;
        }
        let scope = if final_wave {
            String::new()
        } else {
            format!(" (wave {wave})")
        };
        let report = wait_healthy(
            cluster,
            &waited,
            options,
            applied.started(),
            &scope,
            progress,
        )
        .await;
        writer.check(applied)?;
        let healthy = report.healthy();
        if healthy && !final_wave {
            finished.extend(report.objects.iter().filter(|(id, _)| is_job(id)).cloned());
        }
        health = Some(report);
        if !healthy || !sync_hooks(writer, plan, wave, hooks).await? {
            break;
        }
    }
    if let Some(report) = health.as_mut() {
        let waited_again: Vec<_> = std::mem::take(&mut report.objects);
        report.objects = finished;
        report.objects.extend(waited_again);
    }
    Ok(health)
}

fn is_job(id: &crate::object::ObjectRef) -> bool {
    id.group == "batch" && id.kind == "Job"
}

/// Waits for `waited` to become healthy, telling `progress` what it waits for. Pods created
/// before `rollout_started` belong to an earlier rollout.
pub(in crate::deploy) async fn wait_healthy(
    cluster: &crate::cluster::Cluster,
    waited: &[&Target],
    options: &crate::deploy::WriteOptions,
    rollout_started: Option<jiff::Timestamp>,
    scope: &str,
    progress: &dyn crate::deploy::Progress,
) -> HealthReport {
    let wait_options = WaitOptions {
        timeout: options.timeout,
        unschedulable_grace: UNSCHEDULABLE_GRACE,
        wait_for_load_balancers: options.wait_for_load_balancers,
        rollout_started,
        until_done: false,
    };
    progress.note(&format!(
        "waiting up to {}s for {} object(s) to become healthy{scope}",
        wait_options.timeout.as_secs(),
        waited.len()
    ));
    wait::wait(cluster, waited, wait_options, |line| {
        progress.note(&format!("  {line}"))
    })
    .await
}

/// The `Sync` hooks of `wave`, once its objects are applied (and healthy); `false` when one
/// failed.
async fn sync_hooks(
    writer: &Writer<'_>,
    plan: &Plan,
    wave: i64,
    runs: &mut Vec<HookRun>,
) -> Result<bool, Error> {
    let hooks: Vec<&Target> = plan
        .hooks(Phase::Sync)
        .map(|(_, t)| t)
        .filter(|t| t.policy.wave == wave)
        .collect();
    let ran = run_phase(&hook_context(writer), Phase::Sync, &hooks).await?;
    let ok = ran.iter().all(|r| r.succeeded);
    runs.extend(ran);
    Ok(ok)
}

/// Every wave the app's objects and `Sync` hooks are in, ascending.
fn waves(plan: &Plan) -> BTreeSet<i64> {
    plan.targets()
        .map(|(_, t)| t)
        .chain(plan.hooks(Phase::Sync).map(|(_, t)| t))
        .map(|t| t.policy.wave)
        .collect()
}

/// What the health wait after `wave` covers: that wave's objects; after the last wave, every
/// object but the Jobs of earlier waves, which completed in their own wave's wait.
fn waited_for(plan: &Plan, wave: i64, final_wave: bool) -> Vec<&Target> {
    plan.targets()
        .map(|(_, t)| t)
        .filter(|t| t.policy.wave == wave || (final_wave && !is_job(&t.id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::plan::testing::{member, rendered, resource};
    use serde_json::json;

    fn names(targets: &[&Target]) -> Vec<String> {
        targets.iter().map(|t| t.id.name.clone()).collect()
    }

    #[test]
    fn waves_ascend_and_the_last_wait_covers_everything() {
        let cm = resource("", "ConfigMap", true);
        let wave = |w: &str| json!({"argocd.argoproj.io/sync-wave": w});
        let plan = Plan {
            entries: vec![
                rendered(&cm, "db", wave("-1"), Action::Create),
                rendered(&cm, "web", json!({}), Action::Unchanged),
                rendered(&cm, "smoke", wave("10"), Action::Update),
                rendered(&cm, "web-2", wave("0"), Action::Create),
                // Inventory members are in no wave.
                member(&cm, "old", wave("99"), Action::Prune),
            ],
        };
        assert_eq!(waves(&plan).into_iter().collect::<Vec<_>>(), [-1, 0, 10]);
        assert_eq!(names(&waited_for(&plan, -1, false)), ["db"]);
        assert_eq!(names(&waited_for(&plan, 0, false)), ["web", "web-2"]);
        assert_eq!(
            names(&waited_for(&plan, 10, true)),
            ["db", "web", "smoke", "web-2"]
        );
    }

    #[test]
    fn sync_hooks_add_their_waves_and_are_never_waited_for_as_objects() {
        let job = resource("batch", "Job", true);
        let cm = resource("", "ConfigMap", true);
        let hook = |phase: &str, wave: &str| json!({"argocd.argoproj.io/hook": phase, "argocd.argoproj.io/sync-wave": wave});
        let plan = Plan {
            entries: vec![
                rendered(&cm, "web", json!({}), Action::Create),
                rendered(&job, "seed", hook("Sync", "5"), Action::Hook),
                rendered(&job, "migrate", hook("PreSync", "-3"), Action::Hook),
                rendered(&job, "smoke", hook("PostSync", "9"), Action::Hook),
            ],
        };
        // Only Sync hooks are in the app's waves; the other phases run on their own.
        assert_eq!(waves(&plan).into_iter().collect::<Vec<_>>(), [0, 5]);
        assert_eq!(names(&waited_for(&plan, 5, true)), ["web"]);
        let presync: Vec<String> = plan
            .hooks(Phase::PreSync)
            .map(|(_, t)| t.id.name.clone())
            .collect();
        assert_eq!(presync, ["migrate"]);
    }

    #[test]
    fn jobs_of_earlier_waves_are_not_waited_for_again() {
        let job = resource("batch", "Job", true);
        let cm = resource("", "ConfigMap", true);
        let wave = |w: &str| json!({"argocd.argoproj.io/sync-wave": w});
        let plan = Plan {
            entries: vec![
                rendered(&job, "migrate", wave("-1"), Action::Create),
                rendered(&cm, "settings", wave("-1"), Action::Create),
                rendered(&job, "smoke", json!({}), Action::Create),
            ],
        };
        assert_eq!(
            names(&waited_for(&plan, -1, false)),
            ["migrate", "settings"]
        );
        assert_eq!(names(&waited_for(&plan, 0, true)), ["settings", "smoke"]);
    }
}
