//! The deploy engine: from an app's render to a written, healthy, pruned and recorded deploy.
//! Plain options in, plain results out; progress goes to a [`Progress`]; only this module
//! (through [`crate::cluster`]) talks to the cluster. The CLI resolves settings, calls
//! [`prepare`] for every app, then [`write`] (or [`dry_run`]) for each, and reports.
//!
//! The steps, in order:
//! - [`render`]: the app's manifests at its revision, before any cluster call.
//! - [`prepare`]: connect, resolve kinds, check namespaces, read the inventory
//!   ([`inventory_read`]), observe every object ([`observe`], [`heal`]) and build the
//!   self-contained [`Plan`](crate::plan::Plan).
//! - [`write`]: namespaces, the lock ([`lock`]), the inventory parent ([`inventory_write`]),
//!   CRDs and their wait ([`definitions`]), re-validation of what had to wait for them
//!   ([`revalidate`]), the waves with their health wait ([`waves`], [`wait`]), the prune
//!   ([`delete`]) and the history entry ([`record`]).

mod app;
mod planning;
pub mod status;
pub mod teardown;
mod writing;

use planning::connect;
use planning::fields;
pub use planning::guards;
use planning::heal;
pub use planning::inventory_read;
use planning::observe;
use planning::prepare;
use planning::render;
use planning::with_it;
pub use writing::definitions;
pub use writing::delete;
pub use writing::hooks;
use writing::inventory_write;
pub use writing::lock;
use writing::record;
use writing::revalidate;
pub use writing::snapshot;
pub use writing::staged;
pub use writing::wait;
use writing::waves;
use writing::write;
use writing::writer;

pub use app::{AppRun, NamespaceMetadata, Restore};
pub use connect::{Connection, connect};
pub use inventory_read::{Inventory, Recorded, recorded};
pub use inventory_write::ParentRecord;
pub use lock::{Locked, lock};
pub use prepare::{PrepareOptions, Prepared, RunOptions, prepare};
pub use render::{
    ForCluster, all_rendered, for_cluster, input_digest, opened_at, plan_for_cluster, render,
    render_all, render_at, render_many,
};
pub use write::{WriteOptions, Written, check_health, dry_run, health_status, to_write, write};

/// Where the engine reports progress while it runs (stderr lines in the CLI).
pub trait Progress: Sync {
    fn note(&self, line: &str);
}

impl Progress for crate::printer::Printer {
    fn note(&self, line: &str) {
        crate::printer::Printer::note(self, line);
    }
}
