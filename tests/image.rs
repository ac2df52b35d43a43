//! The container image without a container engine: `scripts/build-image` assembles the
//! Dockerfile's runtime image as an OCI layout (here from the test build of kpush), unpacks it
//! with umoci and runs kpush, helm and kubectl in it as its user. The check needs root (it
//! chroots) and umoci (`scripts/control-plane/install-peers`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    common::checkout()
}

fn build_image(args: &[&str]) -> Output {
    Command::new(repo().join("scripts/build-image"))
        .args(args)
        .output()
        .expect("run scripts/build-image")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An `ARG NAME=value` of the Dockerfile.
fn dockerfile_arg(name: &str) -> String {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let prefix = format!("ARG {name}=");
    dockerfile
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no ARG {name} in the Dockerfile"))
        .to_string()
}

fn json(path: &Path) -> Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blob(layout: &Path, digest: &Value) -> PathBuf {
    let digest = digest.as_str().expect("digest");
    layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").expect("sha256 digest"))
}

/// Builds into `out` and returns the layout's path, failing with the script's output.
fn build_and_check(out: &Path) -> (PathBuf, String) {
    let run = build_image(&[
        "--kpush",
        env!("CARGO_BIN_EXE_kpush"),
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = (text(&run.stdout), text(&run.stderr));
    assert!(
        run.status.success(),
        "build-image failed:\n{stdout}\n{stderr}"
    );
    let layout = PathBuf::from(stdout.lines().last().expect("the layout's path").trim());
    (layout, stderr)
}

#[test]
fn the_image_runs_kpush_helm_and_kubectl_as_its_nonroot_user_and_rebuilds_identically() {
    let dir = tempfile::tempdir().unwrap();
    let (layout, log) = build_and_check(&dir.path().join("a"));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        layout.file_name().unwrap().to_str().unwrap(),
        format!("kpush-{version}-linux-amd64.oci")
    );

    // What ran inside the unpacked image, as the script reports it.
    for line in [
        "check: starts as nonroot (65532:65532, User \"65532:65532\"), in /home/nonroot"
            .to_string(),
        format!("check: /usr/local/bin/kpush --version: kpush {version}"),
        format!("Version:\"v{}\"", dockerfile_arg("HELM_VERSION")),
        format!(
            "check: kubectl version --client: Client Version: v{}",
            dockerfile_arg("KUBECTL_VERSION")
        ),
        "check: writes /home/nonroot as 65532:65532".to_string(),
        "check passed".to_string(),
    ] {
        assert!(log.contains(&line), "no '{line}' in:\n{log}");
    }
    assert!(log.contains(" compressed, "), "no size reported:\n{log}");

    // The layout as a registry or engine reads it: index, manifest, config.
    let index = json(&layout.join("index.json"));
    let entry = &index["manifests"][0];
    assert_eq!(
        entry["annotations"]["org.opencontainers.image.ref.name"],
        version
    );
    let manifest = json(&blob(&layout, &entry["digest"]));
    let config = json(&blob(&layout, &manifest["config"]["digest"]));
    assert_eq!(config["config"]["User"], "65532:65532");
    assert_eq!(config["config"]["Entrypoint"][0], "/usr/local/bin/kpush");
    assert_eq!(config["os"], "linux");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "base, helm and kubectl, kpush: {manifest}");
    for layer in layers {
        let size = std::fs::metadata(blob(&layout, &layer["digest"]))
            .unwrap()
            .len();
        assert_eq!(Some(size), layer["size"].as_u64(), "{layer}");
    }
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 3);

    // Same inputs, same image.
    let again = build_image(&[
        "--kpush",
        env!("CARGO_BIN_EXE_kpush"),
        "--no-check",
        "--out",
        dir.path().join("b").to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let layout_b = PathBuf::from(text(&again.stdout).trim());
    assert_eq!(
        json(&layout_b.join("index.json"))["manifests"][0]["digest"],
        entry["digest"],
        "a rebuild from the same inputs gave another image"
    );
}

#[test]
fn the_check_fails_when_kpush_cannot_start_in_the_image() {
    // A shell script runs on the build machine but not in an image without a shell.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("kpush");
    std::fs::write(&fake, "#!/bin/sh\necho kpush 0.0.0\n").unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = build_image(&[
        "--kpush",
        fake.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert!(!run.status.success(), "the check passed:\n{stderr}");
    assert!(
        stderr.contains("check: /usr/local/bin/kpush --version failed in the image"),
        "{stderr}"
    );
}

#[test]
fn kubectl_and_helm_must_match_the_dockerfiles_pins() {
    // Each tool off its pin in turn (kpush's own binary stands in for it); the other one is
    // the pinned peer.
    for (tool, pin) in [
        ("--kubectl", "KUBECTL_SHA256_AMD64"),
        ("--helm", "HELM_BIN_SHA256_AMD64"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let run = build_image(&[
            "--kpush",
            env!("CARGO_BIN_EXE_kpush"),
            tool,
            env!("CARGO_BIN_EXE_kpush"),
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = text(&run.stderr);
        assert!(
            !run.status.success(),
            "a {tool} off the pin was taken:\n{stderr}"
        );
        let name = tool.trim_start_matches("--");
        let pin = dockerfile_arg(pin);
        assert!(
            stderr.contains(&format!("{name} {}", env!("CARGO_BIN_EXE_kpush")))
                && stderr.contains(&format!("the Dockerfile pins {pin} for amd64")),
            "{stderr}"
        );
        assert!(!out.exists(), "a layout was written");
    }
}
