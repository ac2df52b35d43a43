//! The "render" stage: source files become the list of objects that should exist, in a stable
//! order, each with the file and line it came from. No cluster is involved.

mod app;
mod digest;
mod directory;
mod foreign;
mod glob;
mod helm;
mod jsonnet;
mod kustomize;
mod manifest;
mod overrides;
pub mod reads;
mod spec;
mod template;
mod tools;
mod values;

use crate::input::{Problem, RenderError};
pub use app::{SourceKind, detect, render_app};
pub use digest::{Unknown, input_digest};
pub use directory::render_directory;
pub use glob::matches as glob_matches;
pub use manifest::Manifest;
pub use overrides::{override_file, record_promotions};
pub use reads::{Reads, of_source};
pub use spec::{Capabilities, RenderSpec, ValueLayer};
pub use template::{TemplateContext, Templates};
pub use tools::Tools;
pub use values::{deep_merge, merged_values, parse_set};

/// Everything the source declares, in source order (files sorted by path, documents in file
/// order), so the same commit always renders byte-identical output.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub manifests: Vec<Manifest>,
    /// The chart a repository or registry served, for an app that names one.
    pub chart: Option<crate::source::charts::ResolvedChart>,
    /// The images the render put in place (promoted now, or kept from an earlier deploy).
    pub promoted: Vec<crate::images::Promotion>,
    /// Other git repositories read, as `URL REVISION → COMMIT`.
    pub fetched: Vec<String>,
    /// The digest of everything the render read (see [`input_digest`]), when known.
    pub input_digest: Option<String>,
}
