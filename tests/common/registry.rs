//! An OCI registry on loopback (the CNCF distribution registry, Debian's `docker-registry`),
//! with its storage in a temp dir; stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    child: Child,
    _storage: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        Registry::serve(None, None)
    }

    /// A registry that speaks HTTPS with `cert` and `key` (PEM files).
    pub fn with_tls(cert: &std::path::Path, key: &std::path::Path) -> Registry {
        let tls = format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            cert.display(),
            key.display()
        );
        Registry::serve_with(None, None, &tls)
    }

    /// A registry that takes only `user` with `password` (basic auth, htpasswd).
    pub fn with_user(user: &str, password: &str) -> Registry {
        Registry::serve(Some((user, password)), None)
    }

    /// A registry that takes the tokens `tokens` signs (the Bearer flow of public registries).
    pub fn with_tokens(tokens: &super::token::TokenService) -> Registry {
        Registry::serve(None, Some(tokens))
    }

    fn serve(user: Option<(&str, &str)>, tokens: Option<&super::token::TokenService>) -> Registry {
        Registry::serve_with(user, tokens, "")
    }

    fn serve_with(
        user: Option<(&str, &str)>,
        tokens: Option<&super::token::TokenService>,
        http_extra: &str,
    ) -> Registry {
        let storage = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = format!("127.0.0.1:{port}");
        let config = storage.path().join("config.yml");
        let mut text = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n{http_extra}",
            storage.path().join("data").display()
        );
        if let Some((user, password)) = user {
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .expect(
                    "htpasswd (apache2-utils; scripts/control-plane/install-peers installs it)",
                );
            assert!(out.status.success(), "htpasswd failed");
            let file = storage.path().join("htpasswd");
            std::fs::write(&file, out.stdout).unwrap();
            text.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: kpush-test\n    path: {}\n",
                file.display()
            ));
        }
        if let Some(tokens) = tokens {
            text.push_str(&format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                tokens.realm,
                super::token::SERVICE,
                super::token::ISSUER,
                tokens.cert.display()
            ));
        }
        std::fs::write(&config, text).unwrap();
        let binary =
            std::env::var("KPUSH_TEST_REGISTRY").unwrap_or_else(|_| "docker-registry".into());
        let child = Command::new(&binary)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {binary} (scripts/control-plane/install-peers installs it): {e}")
            });
        let started = Instant::now();
        while TcpStream::connect(&host).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the registry did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            host,
            child,
            _storage: storage,
        }
    }
}

/// Pushes a one-layer linux/amd64 image built at `created` (RFC 3339) to `host/repo:tag` with
/// skopeo, a real registry client; `creds` is `user:password`. Returns the manifest's digest.
pub fn push_image(host: &str, repo: &str, tag: &str, created: &str, creds: Option<&str>) -> String {
    use std::io::Write;
    let layout = tempfile::tempdir().unwrap();
    let blobs = layout.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> (String, usize) {
        let hex = kpush::digest::sha256_hex(bytes);
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    // An empty tar archive, gzipped.
    let tar = vec![0u8; 1024];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let (layer, layer_size) = put(&gz.finish().unwrap());
    let config = serde_json::json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"tag": tag}},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", kpush::digest::sha256_hex(&tar))]},
    });
    let (config, config_size) = put(config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}],
    });
    let (manifest, manifest_size) = put(manifest.to_string().as_bytes());
    std::fs::write(
        layout.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest,
            "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(layout.path().join("index.json"), index.to_string()).unwrap();
    let mut command = Command::new("skopeo");
    command.args([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--preserve-digests",
    ]);
    if let Some(creds) = creds {
        command.args(["--dest-creds", creds]);
    }
    let out = command
        .arg(format!("oci:{}:{tag}", layout.path().display()))
        .arg(format!("docker://{host}/{repo}:{tag}"))
        .output()
        .expect("skopeo (scripts/control-plane/install-peers installs it)");
    assert!(
        out.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    manifest
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
