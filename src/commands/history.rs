//! `kpush history`: each app's recorded deploys, read from its inventory in the cluster.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::cli::{GlobalArgs, OutputFormat, StatusArgs};
use crate::cluster::Cluster;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::history::{self, HistoryEntry};
use crate::printer::{Printer, Style};
use crate::settings::{self, AppRun};

use super::prepare::connect;

/// The app's recorded deploys, oldest first; empty when it was never deployed.
pub async fn recorded(
    cluster: &Cluster,
    run: &AppRun,
) -> Result<(String, Vec<HistoryEntry>), Error> {
    let namespace = run
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let discovery = cluster.discover(BTreeSet::from(["v1".to_string()])).await?;
    let (secret, parent) = super::inventory::parent_of(&discovery, &run.name, &namespace)?;
    let live = cluster
        .get(&secret, &parent)
        .await
        .map_err(|f| Error::Runtime(format!("cannot read the inventory {parent}: {f}")))?;
    Ok((
        namespace,
        live.as_ref().map(history::read).unwrap_or_default(),
    ))
}

pub async fn history(
    global: &GlobalArgs,
    args: &StatusArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.source, None, None)?;
    let mut all = Vec::new();
    for run in &resolved.apps {
        let cluster = connect(global, run).await?;
        let (namespace, entries) = recorded(&cluster, run).await?;
        if global.output == OutputFormat::Text {
            printer.out(&printer.paint(Style::Header, &format!("== {} → {namespace}\n", run.name)));
            printer.out(&table(&entries));
        }
        all.push(serde_json::json!({"app": run.name, "namespace": namespace, "history": entries}));
    }
    if global.output != OutputFormat::Text {
        let mut text =
            serde_json::to_string_pretty(&serde_json::json!({"apps": all})).expect("serialises");
        text.push('\n');
        printer.out(&text);
    }
    Ok(ExitStatus::Success)
}

fn table(entries: &[HistoryEntry]) -> String {
    if entries.is_empty() {
        return "no recorded deploys\n".into();
    }
    let mut out = String::from(
        "REV  TIME                  COMMIT   REF          KIND             CHANGES     RUN\n",
    );
    for e in entries {
        let _ = writeln!(
            out,
            "{:<4} {:<21} {:<8} {:<12} {:<16} +{} ~{} -{}  {}",
            e.revision,
            e.time,
            e.sha.get(..7).unwrap_or(&e.sha),
            e.reference,
            e.kind,
            e.created,
            e.updated,
            e.pruned,
            e.run
        );
    }
    out
}
