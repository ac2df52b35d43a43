//! What every step of one app's write shares: the cluster, the options, where progress goes,
//! and how a cancelled run stops.

use crate::cluster::{ApplyOptions, Cluster};
use crate::error::Error;

use super::staged::Applied;
use super::{Progress, RunOptions, WriteOptions};

/// What every step of one app's write needs.
#[derive(Clone, Copy)]
pub(super) struct Writer<'a> {
    pub cluster: &'a Cluster,
    pub run_options: &'a RunOptions,
    pub options: &'a WriteOptions,
    pub progress: &'a dyn Progress,
    /// Objects and namespaces the write is to create or update, for cancellation messages.
    pub to_write: usize,
}

/// Server-side apply as the run asks: strict validation, forced conflicts.
pub(super) fn write_options(options: &RunOptions) -> ApplyOptions {
    ApplyOptions {
        strict: options.plan.validate,
        force: options.force_conflicts,
        dry_run: false,
    }
}

/// Stops the run when it was cancelled, saying what was written; nothing is pruned after this.
pub(super) fn check_cancel(applied: &Applied, to_write: usize) -> Result<(), Error> {
    if !crate::cancel::requested() {
        return Ok(());
    }
    let written = applied
        .outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .count();
    Err(Error::Cancelled(format!(
        "{written} of {to_write} object(s) written; nothing was pruned and the deploy lock is released; rerun the same command to finish"
    )))
}
