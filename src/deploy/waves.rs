//! The app's objects, wave by wave in ascending order: each wave is applied, and healthy
//! unless the run does not wait, before the next starts; the last wait covers everything.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::error::Error;
use crate::object::Stage;
use crate::plan::{Plan, Target};

use super::revalidate::resolve_awaited;
use super::staged::{self, Applied};
use super::wait::{self, HealthReport, WaitOptions};
use super::writer::{Writer, write_options};

/// How long a pod may wait for a node before the rollout counts as failed.
const UNSCHEDULABLE_GRACE: Duration = Duration::from_secs(30);

/// Applies every wave into `applied`. Stops at the first failed write (no health report) or
/// the first wave that is not healthy (its report). Objects of a wave that wait for their
/// kind are resolved and validated first.
pub(super) async fn apply_waves(
    writer: &Writer<'_>,
    plan: &mut Plan,
    applied: &mut Applied,
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
    let mut health = None;
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
        if options.no_wait {
            continue;
        }
        let waited = waited_for(plan, wave, final_wave);
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
        health = Some(report);
        if !healthy {
            break;
        }
    }
    Ok(health)
}

/// Waits for `waited` to become healthy, telling `progress` what it waits for. Pods created
/// before `rollout_started` belong to an earlier rollout.
pub(super) async fn wait_healthy(
    cluster: &crate::cluster::Cluster,
    waited: &[&Target],
    options: &super::WriteOptions,
    rollout_started: Option<jiff::Timestamp>,
    scope: &str,
    progress: &dyn super::Progress,
) -> HealthReport {
    let wait_options = WaitOptions {
        timeout: options.timeout,
        unschedulable_grace: UNSCHEDULABLE_GRACE,
        wait_for_load_balancers: options.wait_for_load_balancers,
        rollout_started,
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

/// Every wave the app's objects are in, ascending.
fn waves(plan: &Plan) -> BTreeSet<i64> {
    plan.targets().map(|(_, t)| t.policy.wave).collect()
}

/// What the health wait after `wave` covers: that wave's objects, or every object after the
/// last wave.
fn waited_for(plan: &Plan, wave: i64, final_wave: bool) -> Vec<&Target> {
    plan.targets()
        .map(|(_, t)| t)
        .filter(|t| final_wave || t.policy.wave == wave)
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
}
