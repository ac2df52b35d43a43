//! Checks that stop a deploy before anything is written, when what it would do is more often a
//! mistake than intent.

use crate::error::Error;
use crate::plan::Plan;

/// Below this many members, any share of them may be pruned without confirmation.
const TRIVIAL_INVENTORY: usize = 5;

/// A prune that removes more than `threshold` percent of a real inventory is more often a
/// wrong PATH or revision than intent: it needs confirmation. A threshold of 0 turns the
/// guard off.
pub fn check_prune_share(plan: &Plan, threshold: u8, confirmed: bool) -> Result<(), Error> {
    let c = plan.counts();
    let existing = c.update + c.unchanged + c.prune + c.keep;
    let threshold = usize::from(threshold);
    if threshold == 0 || confirmed || existing < TRIVIAL_INVENTORY {
        return Ok(());
    }
    if c.prune * 100 > threshold * existing {
        return Err(Error::Invalid(format!(
            "this deploy would prune {} of the app's {existing} objects ({}%), more than --prune-threshold {threshold}%\nhint: check PATH and --rev; pass `--confirm-prune` if this is intended",
            c.prune,
            c.prune * 100 / existing
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::plan::testing::{member, rendered, resource};
    use serde_json::json;

    fn plan(unchanged: usize, prune: usize) -> Plan {
        let cm = resource("", "ConfigMap", true);
        Plan {
            entries: (0..unchanged)
                .map(|i| rendered(&cm, &format!("c{i}"), json!({}), Action::Unchanged))
                .chain((0..prune).map(|i| member(&cm, &format!("p{i}"), json!({}), Action::Prune)))
                .collect(),
        }
    }

    #[test]
    fn a_large_share_of_a_real_inventory_needs_confirmation() {
        // (unchanged, prune, threshold, confirmed, allowed)
        let cases = [
            (5, 5, 50, false, true),
            (4, 6, 50, false, false),
            (4, 6, 50, true, true),
            (4, 6, 0, false, true),
            (0, 4, 50, false, true),
            (0, 5, 50, false, false),
            (99, 1, 1, false, true),
            (98, 2, 1, false, false),
        ];
        for (unchanged, prune, threshold, confirmed, allowed) in cases {
            let result = check_prune_share(&plan(unchanged, prune), threshold, confirmed);
            assert_eq!(
                result.is_ok(),
                allowed,
                "{unchanged} unchanged, {prune} pruned, threshold {threshold}, confirmed {confirmed}"
            );
        }
    }
}
