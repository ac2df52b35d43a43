//! An HTTP CONNECT proxy on loopback, as CI runners behind a corporate proxy reach registries
//! through: it records each CONNECT target and tunnels it to the same port on 127.0.0.1 (any
//! host name resolves to this machine). Serves until dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct ConnectProxy {
    /// `http://127.0.0.2:PORT`.
    pub url: String,
    /// Each CONNECT request's `host:port`.
    pub connects: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl ConnectProxy {
    pub fn start() -> ConnectProxy {
        // Another loopback address than the servers': NO_PROXY can then name them and not it.
        let listener = TcpListener::bind("127.0.0.2:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let connects = Arc::new(Mutex::new(Vec::new()));
        let (stopping, seen) = (stop.clone(), connects.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let seen = seen.clone();
                    std::thread::spawn(move || {
                        let _ = tunnel(stream, &seen);
                    });
                }
            }
        });
        ConnectProxy {
            url: format!("http://127.0.0.2:{port}"),
            connects,
            stop,
            port,
        }
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.2", self.port));
    }
}

fn tunnel(mut client: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
        return client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    };
    seen.lock().unwrap().push(target.to_string());
    let port = target.rsplit_once(':').map(|(_, p)| p).unwrap_or("443");
    let upstream = TcpStream::connect(format!("127.0.0.1:{port}"))?;
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let (mut up_read, mut up_write) = (upstream.try_clone()?, upstream);
    let mut client_write = client.try_clone()?;
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = forward.join();
    Ok(())
}
