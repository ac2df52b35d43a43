//! `kpush render`: the manifests of every app at their revision, without a cluster.

use crate::cli::{GlobalArgs, RenderArgs};
use crate::error::Error;
use crate::exit::ExitStatus;
use crate::plan::mask_pair_with;
use crate::printer::Printer;
use crate::render::Rendered;
use crate::report;
use crate::settings;

pub fn render(
    global: &GlobalArgs,
    args: &RenderArgs,
    printer: &Printer,
) -> Result<ExitStatus, Error> {
    let resolved = settings::resolve(global, &args.source, None, None)?;
    super::warn(printer, &resolved.warnings);
    let mut all = Rendered::default();
    let renders = crate::deploy::render_all(&resolved.snapshot, &resolved.apps)?;
    for (run, (mut rendered, _)) in resolved.apps.iter().zip(renders) {
        if !args.show_secrets {
            for manifest in &mut rendered.manifests {
                let (_, masked) = mask_pair_with(None, &manifest.object, &run.sensitive_paths);
                manifest.object = masked;
            }
        }
        all.manifests.extend(rendered.manifests);
    }
    printer.out(&report::manifests(global.output, &all));
    Ok(ExitStatus::Success)
}
