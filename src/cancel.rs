//! Cancellation by SIGTERM (a CI system cancelling the job) or SIGINT (Ctrl-C): no new write
//! starts, requests in flight finish, nothing is pruned, the deploy lock is released, and the
//! run exits non-zero. A second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether a cancel was asked for; checked before each write.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Marks the run cancelled (what the signal handler does).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Starts listening for SIGTERM and SIGINT; call once, inside the runtime.
pub fn listen() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for SIGTERM/SIGINT; a cancel will stop kpush abruptly");
        return;
    };
    tokio::spawn(async move {
        let mut name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        request();
        eprintln!(
            "kpush: {name} received: no new writes start and nothing is pruned; finishing the requests in flight and releasing the lock (send it again to stop at once)"
        );
        name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        eprintln!("kpush: second {name}: stopping now");
        std::process::exit(130);
    });
}
