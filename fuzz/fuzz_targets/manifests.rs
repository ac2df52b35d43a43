//! A manifest file of any bytes: parsed as YAML and as JSON, turned into objects and checked
//! for duplicates. Errors are expected; panics, hangs and runaway memory are findings.

#![no_main]

use kpush::render::render_directory;
use kpush::source::{Revision, Source, SourceFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = |path: &str| SourceFile {
        path: path.into(),
        bytes: data.to_vec(),
    };
    let source = Source {
        revision: Revision::Worktree,
        files: vec![file("app/a.yaml"), file("app/b.json")],
    };
    if let Err(error) = render_directory(&source) {
        // Every problem names its file.
        for problem in &error.problems {
            assert!(problem.to_string().starts_with("app/"), "{problem}");
        }
    }
});
