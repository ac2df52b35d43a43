//! What every reader of user input shares: problems pinned to a file and line, parsing files
//! into documents, and the sensitive paths an app declares. The lowest floor: `config`,
//! `render` and `plan` all build on it.

mod documents;
mod problem;
mod sensitive;
mod yaml;

pub use documents::{MAX_FILE_BYTES, parse_documents};
pub use problem::{Problem, RenderError, describe};
pub use sensitive::SensitivePath;
pub use yaml::{Document, MAX_DEPTH, parse_yaml};
