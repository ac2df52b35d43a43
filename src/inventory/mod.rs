//! The ApplySet inventory (KEP-3659): what a deploy owns, recorded in the cluster on a parent
//! Secret and on member labels, in the form kubectl reads too. Pure: reading and writing the
//! parent is done by the engine (`deploy`) through `cluster`.

mod group_kind;
pub mod history;
mod owner;
mod parent;
pub mod snapshot;

pub use group_kind::GroupKind;
pub use owner::{AppIdentity, OWNER_ANNOTATION, repository_key};
pub use parent::{ParentState, applyset_id, parent_manifest};

/// Label every member carries: the ApplySet id.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
/// On a hook's objects: the ApplySet of the app that ran it (hooks are not its members), so
/// `kpush delete` finds them.
pub const HOOK_OF_LABEL: &str = "kpush.dev/hook-of";
/// Label on the parent: the ApplySet id.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
/// Annotation on the parent: which tool manages the set, as `name/version`.
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
/// Annotation on the parent: `Kind.group` of every member, sorted, comma-separated.
pub const GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
/// Annotation on the parent: namespaces with members besides the parent's own.
pub const NAMESPACES_ANNOTATION: &str = "applyset.kubernetes.io/additional-namespaces";

/// This tool, as the parent's `tooling` annotation names it.
pub fn tooling() -> String {
    format!("kpush/v{}", env!("CARGO_PKG_VERSION"))
}
