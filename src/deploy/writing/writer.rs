//! What every step of one app's write shares: the cluster, the options, where progress goes,
//! and how a cancelled run stops.

use crate::cluster::{ApplyOptions, Cluster, HeldLease};
use crate::error::Error;

use crate::deploy::staged::Applied;
use crate::deploy::{Progress, RunOptions, WriteOptions};

/// What every step of one app's write needs.
#[derive(Clone, Copy)]
pub(in crate::deploy) struct Writer<'a> {
    pub cluster: &'a Cluster,
    pub run_options: &'a RunOptions,
    pub options: &'a WriteOptions,
    pub progress: &'a dyn Progress,
    /// Objects and namespaces the write is to create or update, for cancellation messages.
    pub to_write: usize,
    /// The app's deploy lock, held while writing.
    pub lease: &'a HeldLease,
}

impl Writer<'_> {
    /// Stops the run when it was cancelled or its lock is no longer its own.
    pub fn check(&self, applied: &Applied) -> Result<(), Error> {
        check_cancel(applied, self.to_write)?;
        if self.lease.lost() {
            return Err(Error::LockLost(format!(
                "{} of {} object(s) written; nothing was pruned; another deploy may have taken over\nhint: check `kpush history` and rerun",
                written(applied),
                self.to_write
            )));
        }
        Ok(())
    }
}

fn written(applied: &Applied) -> usize {
    applied
        .outcomes
        .iter()
        .filter(|o| o.error.is_none())
        .count()
}

/// Server-side apply as the run asks: strict validation, forced conflicts.
pub(in crate::deploy) fn write_options(options: &RunOptions) -> ApplyOptions {
    ApplyOptions {
        strict: options.plan.validate,
        force: options.force_conflicts,
        dry_run: false,
        resource_version: None,
    }
}

/// Stops the run when it was cancelled, saying what was written; nothing is pruned after this.
pub(in crate::deploy) fn check_cancel(applied: &Applied, to_write: usize) -> Result<(), Error> {
    if !crate::cancel::requested() {
        return Ok(());
    }
    Err(Error::Cancelled(format!(
        "{} of {to_write} object(s) written; nothing was pruned and the deploy lock is released; rerun the same command to finish",
        written(applied)
    )))
}
