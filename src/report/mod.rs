//! The "report" stage: the plan and the results, written for people (text) or machines (JSON).
//! Every format reads the same data.

mod manifests;
mod markdown;
mod summary;
mod text;

pub use manifests::{manifests_json, manifests_markdown, manifests_yaml};
pub use markdown::{MARKDOWN_LIMIT, markdown};
pub use summary::{Summary, dotenv, gitlab_terraform};
pub use text::{applied_text, health_text, plan_text, pruned_text};
