//! The "report" stage: the plan and the results, written for people (text, streamed as the
//! run goes) or machines (JSON, markdown, dotenv, GitLab's terraform report) at its end.
//! Every format reads the same data: one [`AppReport`] per app.

mod app;
mod finish;
mod format;
mod manifests;
mod markdown;
mod status;
mod stream;
mod summary;
mod text;

pub use app::{AppChange, AppId, AppReport, overall};
pub use finish::{ReportSink, finish, write_sinks};
pub use format::Format;
pub use manifests::manifests;
pub use markdown::hooks_markdown;
pub use markdown::{MARKDOWN_LIMIT, markdown};
pub use status::{AppHistory, history_app, history_finish, status_app, status_finish};
pub use stream::Stream;
pub use summary::{Summary, dotenv, gitlab_terraform};
pub use text::{applied_text, health_text, hooks_text, plan_text, pruned_text};
