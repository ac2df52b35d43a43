//! A registry token service on loopback, as Docker Hub and ghcr.io run one: the registry
//! answers `401` with a `Bearer` challenge naming it, clients fetch a signed JWT from it
//! (anonymously, or with basic credentials) and retry. Serves until dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;

pub const SERVICE: &str = "kpush-test-registry";
pub const ISSUER: &str = "kpush-test-issuer";

pub struct TokenService {
    /// The realm, `http://127.0.0.1:PORT/token`.
    pub realm: String,
    /// The certificate the registry trusts tokens from.
    pub cert: PathBuf,
    /// Each request's `Authorization` header (empty when anonymous).
    pub seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
    _dir: tempfile::TempDir,
}

/// Who may do what: anyone may pull when `public`; `user`/`password` may pull and push.
pub struct Grants {
    pub public: bool,
    pub user: String,
    pub password: String,
}

impl TokenService {
    pub fn start(grants: Grants) -> TokenService {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let der = dir.path().join("key.der");
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-days",
            "2",
            "-subj",
            "/CN=kpush-test-token",
        ]);
        openssl(&[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            key.to_str().unwrap(),
            "-outform",
            "DER",
            "-out",
            der.to_str().unwrap(),
        ]);
        let cert_der = {
            let out = Command::new("openssl")
                .args(["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"])
                .output()
                .unwrap();
            out.stdout
        };
        let rng = ring::rand::SystemRandom::new();
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &std::fs::read(&der).unwrap(),
            &rng,
        )
        .expect("the test's EC key");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let signer = Signer {
            pair,
            rng,
            x5c: std_b64(&cert_der),
            grants,
        };
        let (stopping, log) = (stop.clone(), seen.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let _ = serve(stream, &signer, &log);
                }
            }
        });
        TokenService {
            realm: format!("http://127.0.0.1:{port}/token"),
            cert,
            seen,
            stop,
            port,
            _dir: dir,
        }
    }
}

impl Drop for TokenService {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Signer {
    pair: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
    x5c: String,
    grants: Grants,
}

fn serve(mut stream: TcpStream, signer: &Signer, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut authorization = String::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("authorization")
        {
            authorization = value.trim().to_string();
        }
    }
    seen.lock().unwrap().push(authorization.clone());
    let g = &signer.grants;
    let expected = format!(
        "Basic {}",
        std_b64(format!("{}:{}", g.user, g.password).as_bytes())
    );
    let (allowed, subject): (&[&str], &str) = if authorization == expected {
        (&["pull", "push"], g.user.as_str())
    } else if authorization.is_empty() && g.public {
        (&["pull"], "")
    } else {
        return stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let access: Vec<serde_json::Value> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(|scope| {
            scope
                .replace("%2C", ",")
                .replace("%2c", ",")
                .replace("%3A", ":")
                .replace("%2F", "/")
        })
        .filter_map(|scope| {
            let mut parts = scope.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            let actions: Vec<&str> = actions.split(',').filter(|a| allowed.contains(a)).collect();
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [signer.x5c]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 60,
        "iat": now, "jti": format!("{now}-{}", seen.lock().unwrap().len()), "access": access,
    });
    let signing_input = format!(
        "{}.{}",
        url_b64(header.to_string().as_bytes()),
        url_b64(claims.to_string().as_bytes())
    );
    let signature = signer
        .pair
        .sign(&signer.rng, signing_input.as_bytes())
        .unwrap();
    let token = format!("{signing_input}.{}", url_b64(signature.as_ref()));
    let body = serde_json::json!({"token": token}).to_string();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn std_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn url_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
