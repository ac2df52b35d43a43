//! Whether the plan must tell fields the server dropped by itself, and the schema it tells
//! them with: servers from 1.25 refuse unknown fields themselves (strict field validation);
//! older ones omit them silently, as they omit zero values and defaults.

use std::sync::Arc;

use crate::cluster::Cluster;
use crate::plan::{ApiSchema, DroppedCheck, DryRun, Observation, Target, dropped_fields};

/// Objects that turn validation off (Argo CD's `Validate=false`) lose the fields the server's
/// schema does not declare, as a server applying without validation drops them: server-side
/// apply refuses undeclared fields whatever the validation setting. Kinds the schema does not
/// describe yet (a CRD created in the same deploy) are sent as written.
pub(in crate::deploy) async fn strip_unvalidated(cluster: &Cluster, targets: &mut [Target]) {
    if !targets.iter().any(|t| t.policy.skip_validation) {
        return;
    }
    let schema = match cluster.openapi_v2().await {
        Ok(doc) => ApiSchema::new(doc),
        Err(failure) => {
            tracing::warn!(
                "cannot read the server's OpenAPI schema ({failure}); objects with `Validate=false` are sent as written"
            );
            return;
        }
    };
    for target in targets.iter_mut().filter(|t| t.policy.skip_validation) {
        let removed = schema.strip_undeclared(&target.id, &mut target.object);
        if !removed.is_empty() {
            tracing::info!(object = %target.id, fields = ?removed, "Validate=false: fields the schema does not declare are left out");
        }
    }
}

/// The check for a plan of `targets` with their `observations` (in the same order). The
/// server is asked nothing unless it omitted a field whose value is not a zero value: only
/// then its version, and on servers before 1.25 its schema.
pub(in crate::deploy) async fn dropped_check(
    cluster: &Cluster,
    targets: &[Target],
    observations: &[Observation],
) -> DroppedCheck {
    let needed = targets
        .iter()
        .zip(observations)
        .any(|(t, o)| match &o.dry_run {
            DryRun::Done(applied) => dropped_fields(&t.object, applied).iter().any(|d| !d.zero),
            _ => false,
        });
    if !needed {
        return DroppedCheck::Skip;
    }
    match cluster.validates_fields().await {
        Ok(true) => return DroppedCheck::Skip,
        Ok(false) => {}
        Err(failure) => {
            tracing::warn!("cannot read the server's version ({failure}); checking dropped fields");
        }
    }
    match cluster.openapi_v2().await {
        Ok(doc) => DroppedCheck::Plan(Some(Arc::new(ApiSchema::new(doc)))),
        Err(failure) => {
            tracing::warn!(
                "cannot read the server's OpenAPI schema ({failure}); a field the server omitted counts as dropped unless its value is a zero value"
            );
            DroppedCheck::Plan(None)
        }
    }
}
