//! The floor for `bench/run`: the same server-side-apply requests kpush sends for a directory
//! of ConfigMaps, sent by the smallest concurrent client (no render, no dry run, no plan), to
//! measure what the API server itself can take.
//!
//!   cargo run --release --example bench-floor -- KUBECONFIG NAMESPACE DIR [CONCURRENCY] [--dry-run]
//!
//! With `--dry-run` it sends the server-side dry runs instead: the floor of kpush's
//! validation pass.

use std::path::PathBuf;

use futures::{StreamExt, stream};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube::{Client, Config};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bench-floor KUBECONFIG NAMESPACE DIR [CONCURRENCY] [--dry-run]");
        std::process::exit(2);
    }
    let kubeconfig = Kubeconfig::read_from(&args[1]).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig context");
    let client = Client::try_from(config).expect("client");
    let namespace = &args[2];
    let concurrency: usize = args.get(4).map_or(16, |c| c.parse().expect("concurrency"));

    let mut files: Vec<PathBuf> = std::fs::read_dir(&args[3])
        .expect("directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let objects: Vec<serde_json::Value> = files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read");
            serde_saphyr::from_str(&text).expect("yaml")
        })
        .collect();

    let resource = ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &resource);
    let mut params = PatchParams::apply("bench-floor");
    if args.get(5).is_some_and(|a| a == "--dry-run") {
        params = params.dry_run();
    }
    let failures = stream::iter(objects)
        .map(|object| {
            let api = api.clone();
            let params = params.clone();
            async move {
                let name = object["metadata"]["name"]
                    .as_str()
                    .expect("name")
                    .to_string();
                api.patch(&name, &params, &Patch::Apply(&object))
                    .await
                    .err()
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|e| async move { e })
        .count()
        .await;
    if failures > 0 {
        eprintln!("{failures} requests failed");
        std::process::exit(1);
    }
}
