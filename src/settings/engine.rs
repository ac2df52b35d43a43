//! Flags turned into the engine's plain options, once.

use std::time::Duration;

use crate::cli::{ApplyArgs, GlobalArgs, TargetArgs};
use crate::deploy::{Connection, PrepareOptions, WriteOptions};

pub fn connection(global: &GlobalArgs) -> Connection {
    Connection {
        kubeconfig: global.kubeconfig.clone(),
        insecure_skip_tls_verify: global.insecure_skip_tls_verify,
    }
}

/// `confirm_prune` is `apply`'s `--confirm-prune` (`diff` shows what apply without it does).
pub fn prepare_options(target: &TargetArgs, confirm_prune: bool) -> PrepareOptions {
    PrepareOptions {
        confirm_prune,
        adopt: target.adopt,
        force_conflicts: target.force_conflicts,
        verify_unchanged: target.verify_unchanged,
        concurrency: usize::from(target.concurrency),
    }
}

/// `kind` is what the history records: `deploy`, `rollback` or `atomic-rollback`.
pub fn write_options(args: &ApplyArgs, kind: &str) -> WriteOptions {
    WriteOptions {
        kind: kind.to_string(),
        no_wait: args.no_wait,
        timeout: args.timeout,
        wait_for_load_balancers: !args.no_wait_lb,
        lock_timeout: Duration::from_secs(args.lock_timeout),
    }
}
