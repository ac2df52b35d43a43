//! App definitions of any bytes: Argo CD Applications and kpush's own format.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(error) = kpush::config::parse_config(Path::new("kpush.yaml"), data) {
        for problem in &error.problems {
            assert!(problem.to_string().starts_with("kpush.yaml"), "{problem}");
        }
    }
});
