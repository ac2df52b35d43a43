//! Everything from the lock to the history entry: namespaces, the inventory parent, CRDs,
//! re-validation, the waves with their hooks and health wait, the prune, the record.

pub mod definitions;
pub mod delete;
pub mod hooks;
pub(in crate::deploy) mod inventory_write;
pub mod lock;
pub(in crate::deploy) mod record;
pub(in crate::deploy) mod revalidate;
pub mod snapshot;
pub mod staged;
pub mod wait;
pub(in crate::deploy) mod waves;
pub(in crate::deploy) mod write;
pub(in crate::deploy) mod writer;
