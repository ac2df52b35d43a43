//! `kpush history`: each app's recorded deploys, read from its inventory in the cluster.

use std::fmt::Write;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::inventory::history::HistoryEntry;
use crate::printer::{Printer, Style};
use crate::report::Format;
use crate::settings;

pub async fn history(
    global: &GlobalArgs,
    args: &StatusArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.source, None, None)?;
    let mut all = Vec::new();
    for run in &resolved.apps {
        let cluster = deploy::connect(&settings::connection(global), run).await?;
        let (namespace, entries) = deploy::recorded(&cluster, run).await?;
        if global.output == Format::Text {
            printer.out(&printer.paint(Style::Header, &format!("== {} → {namespace}\n", run.name)));
            printer.out(&table(&entries));
        }
        all.push(serde_json::json!({"app": run.name, "namespace": namespace, "history": entries}));
    }
    if global.output != Format::Text {
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
