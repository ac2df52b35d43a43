//! Flags turned into the engine's plain options, once.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cli::{ApplyArgs, GlobalArgs, TargetArgs};
use crate::deploy::{Connection, PrepareOptions, WriteOptions};
use crate::object::Confirmation;

pub fn connection(global: &GlobalArgs) -> Connection {
    Connection {
        kubeconfig: global.kubeconfig.clone(),
        insecure_skip_tls_verify: global.insecure_skip_tls_verify,
    }
}

/// `confirmed` are the deletions `apply` confirms (`diff` shows what apply without them does).
pub fn prepare_options(target: &TargetArgs, confirmed: BTreeSet<Confirmation>) -> PrepareOptions {
    PrepareOptions {
        confirmed,
        take_over_inventory: target.take_over_inventory,
        adopt: target.adopt,
        force_conflicts: target.force_conflicts,
        verify_unchanged: target.verify_unchanged,
        concurrency: usize::from(target.concurrency),
    }
}

/// The deletions the run's flags confirm.
pub fn confirmations(args: &crate::cli::Confirmations) -> BTreeSet<Confirmation> {
    [
        (args.confirm_prune, Confirmation::Prune),
        (args.confirm_prune_namespaces, Confirmation::Namespaces),
        (args.confirm_prune_crds, Confirmation::Crds),
        (args.confirm_prune_volumes, Confirmation::Volumes),
    ]
    .into_iter()
    .filter_map(|(given, confirmation)| given.then_some(confirmation))
    .collect()
}

/// How `kpush delete` plans and runs its hooks.
pub fn delete_options(args: &crate::cli::DeleteArgs) -> (PrepareOptions, WriteOptions) {
    // An explicit teardown asks for the app's volumes to go; the plan says what that takes.
    let mut confirmed = confirmations(&args.confirm);
    confirmed.insert(Confirmation::Volumes);
    let prepare = PrepareOptions {
        confirmed,
        concurrency: usize::from(args.concurrency),
        ..PrepareOptions::default()
    };
    (prepare, teardown_write(args.timeout, args.lock_timeout))
}

/// How an app is torn down: by `kpush delete`, or by apply when it left its parent's render.
pub fn teardown_write(timeout: Duration, lock_timeout: u64) -> WriteOptions {
    WriteOptions {
        kind: "delete".to_string(),
        no_wait: false,
        timeout,
        wait_for_load_balancers: false,
        lock_timeout: Duration::from_secs(lock_timeout),
        run_tests: false,
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
        run_tests: args.run_tests,
    }
}
