//! `kpush status`: what each app runs now and whether it is healthy, read-only.

use std::collections::BTreeSet;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::deploy;
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::health::{State, health};
use crate::printer::{Printer, Style};
use crate::report::Format;
use crate::settings;

pub async fn status(
    global: &GlobalArgs,
    args: &StatusArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.source, None, None)?;
    let text = global.output == Format::Text;
    let mut healthy = true;
    let mut apps = Vec::new();
    for run in &resolved.apps {
        let cluster = deploy::connect(&settings::connection(global), run).await?;
        let (namespace, history) = deploy::recorded(&cluster, run).await?;
        let mut discovery = cluster.discover(BTreeSet::from(["v1".to_string()])).await?;
        // With no objects declared, every member of the inventory is listed.
        let (_, members) = deploy::inventory_read::read(
            &cluster,
            &mut discovery,
            &run.name,
            &namespace,
            true,
            &[],
            16,
        )
        .await?;
        let current = history.last();
        if text {
            let revision = match current {
                Some(e) => format!(
                    "revision {} ({} {}, {} by {})",
                    e.revision,
                    e.sha.get(..7).unwrap_or(&e.sha),
                    e.reference,
                    e.time,
                    e.run
                ),
                None => "never deployed by kpush".to_string(),
            };
            printer.out(&printer.paint(
                Style::Header,
                &format!("== {} → {namespace}: {revision}\n", run.name),
            ));
        }
        let mut objects = Vec::new();
        for member in &members {
            let mut object = member.live.clone();
            object["apiVersion"] = serde_json::json!(if member.resource.group.is_empty() {
                member.resource.version.clone()
            } else {
                format!("{}/{}", member.resource.group, member.resource.version)
            });
            object["kind"] = serde_json::json!(member.resource.kind);
            let h = health(&object);
            healthy &= h.state == State::Current;
            if text {
                let style = match h.state {
                    State::Current => Style::Added,
                    State::InProgress | State::Unknown => Style::Changed,
                    State::Failed | State::Terminating => Style::Error,
                };
                let state = printer.paint(style, &format!("{:<12}", h.state.to_string()));
                printer.out(&format!("  {state} {} {}\n", member.id, h.message));
            }
            objects.push(serde_json::json!({"id": member.id, "health": h}));
        }
        apps.push(serde_json::json!({"app": run.name, "namespace": namespace, "revision": current, "objects": objects}));
    }
    let status = if healthy {
        ExitStatus::Success
    } else {
        ExitStatus::Unhealthy
    };
    if !text {
        let doc = serde_json::json!({"apps": apps, "exit_code": status.code()});
        printer.out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).expect("serialises")
        ));
    }
    Ok(status)
}
