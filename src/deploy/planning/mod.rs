//! Everything before the first write: the app's render (or its last deploy's objects), the
//! cluster it deploys to, its inventory, every object observed, and the plan.

pub(in crate::deploy) mod connect;
pub(in crate::deploy) mod fields;
pub mod guards;
pub(in crate::deploy) mod heal;
pub mod inventory_read;
pub(in crate::deploy) mod observe;
pub(in crate::deploy) mod prepare;
pub(in crate::deploy) mod render;
pub(in crate::deploy) mod with_it;
