//! Argo CD sync options (`Key=Value` strings) as typed settings.

use crate::object::{Confirmation, Prune};

/// `PrunePropagationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneProp {
    Foreground,
    Background,
    Orphan,
}

impl PruneProp {
    pub const NAMES: [&'static str; 3] = ["foreground", "background", "orphan"];

    pub fn parse(name: &str) -> Option<PruneProp> {
        match name {
            "foreground" => Some(PruneProp::Foreground),
            "background" => Some(PruneProp::Background),
            "orphan" => Some(PruneProp::Orphan),
            _ => None,
        }
    }
}

/// The sync options kpush honours; unset ones fall back to flags and defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOptions {
    pub validate: Option<bool>,
    pub create_namespace: Option<bool>,
    pub prune_propagation: Option<PruneProp>,
    pub prune_last: Option<bool>,
    pub replace: Option<bool>,
    /// With `Replace=true`: delete and re-create objects whose immutable fields change.
    pub force: Option<bool>,
    /// `Prune=false` keeps every object that leaves the render; `Prune=confirm` deletes them
    /// only with `--confirm-prune`.
    pub prune: Option<Prune>,
    /// `ServerSideApply=true`: Argo CD then applies with `--force-conflicts`, taking fields
    /// other managers own.
    pub server_side_apply: Option<bool>,
    /// `SkipDryRunOnMissingResource=true`: kinds the server does not serve yet wait for it.
    pub skip_dry_run_on_missing: Option<bool>,
}

impl SyncOptions {
    /// Parses a list of options; what kpush does not support comes back as warnings.
    pub fn parse(options: &[String]) -> (SyncOptions, Vec<String>) {
        let mut parsed = SyncOptions::default();
        let mut warnings = Vec::new();
        for option in options {
            let (key, value) = option.split_once('=').unwrap_or((option.as_str(), ""));
            let flag = match value.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            match (key.trim(), flag) {
                ("Validate", Some(b)) => parsed.validate = Some(b),
                ("CreateNamespace", Some(b)) => parsed.create_namespace = Some(b),
                ("PruneLast", Some(b)) => parsed.prune_last = Some(b),
                ("Replace", Some(b)) => parsed.replace = Some(b),
                ("Force", Some(b)) => parsed.force = Some(b),
                ("Prune", _) => match value.trim() {
                    "true" => parsed.prune = Some(Prune::Allowed),
                    "false" => {
                        parsed.prune = Some(Prune::Never(
                            "the app's sync option `Prune=false`".into(),
                        ))
                    }
                    "confirm" => {
                        parsed.prune = Some(Prune::Confirm {
                            reason: "the app's sync option `Prune=confirm`".into(),
                            by: Confirmation::Prune,
                        })
                    }
                    other => warnings.push(format!(
                        "sync option `Prune={other}` is not true, false or confirm; ignored"
                    )),
                },
                ("PrunePropagationPolicy", _) => match PruneProp::parse(value.trim()) {
                    Some(p) => parsed.prune_propagation = Some(p),
                    None => warnings.push(format!(
                        "sync option `PrunePropagationPolicy={}` is not foreground, background or orphan; using the default",
                        value.trim()
                    )),
                },
                ("ServerSideApply", Some(false)) => {
                    parsed.server_side_apply = Some(false);
                    warnings.push("sync option `ServerSideApply=false`: kpush always applies server-side; conflicts with other field managers are reported, not forced".into());
                }
                ("ServerSideApply", Some(b)) => parsed.server_side_apply = Some(b),
                ("SkipDryRunOnMissingResource", Some(b)) => {
                    parsed.skip_dry_run_on_missing = Some(b)
                }
                // kpush always applies ignored fields as they are live.
                ("RespectIgnoreDifferences", Some(true)) => {}
                ("RespectIgnoreDifferences", Some(false)) => warnings.push("sync option `RespectIgnoreDifferences=false`: kpush always applies the fields `ignoreDifferences` names as they are live (server-side apply would otherwise take them from their owner, or fail on the conflict)".into()),
                // kpush only writes objects that differ from the live state anyway.
                ("ApplyOutOfSyncOnly", Some(_)) => {}
                _ => warnings.push(format!("sync option `{option}` is not supported by kpush; ignored")),
            }
        }
        (parsed, warnings)
    }

    /// `other`'s settings win where set.
    pub fn overlay(&self, other: &SyncOptions) -> SyncOptions {
        SyncOptions {
            validate: other.validate.or(self.validate),
            create_namespace: other.create_namespace.or(self.create_namespace),
            prune_propagation: other.prune_propagation.or(self.prune_propagation),
            prune_last: other.prune_last.or(self.prune_last),
            replace: other.replace.or(self.replace),
            force: other.force.or(self.force),
            prune: other.prune.clone().or(self.prune.clone()),
            server_side_apply: other.server_side_apply.or(self.server_side_apply),
            skip_dry_run_on_missing: other
                .skip_dry_run_on_missing
                .or(self.skip_dry_run_on_missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_options() {
        let options: Vec<String> = [
            "Validate=true",
            "CreateNamespace=true",
            "PrunePropagationPolicy=foreground",
            "PruneLast=true",
        ]
        .map(String::from)
        .to_vec();
        let (parsed, warnings) = SyncOptions::parse(&options);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            parsed,
            SyncOptions {
                validate: Some(true),
                create_namespace: Some(true),
                prune_propagation: Some(PruneProp::Foreground),
                prune_last: Some(true),
                replace: None,
                force: None,
                prune: None,
                server_side_apply: None,
                skip_dry_run_on_missing: None,
            }
        );
    }

    #[test]
    fn server_side_apply_forces_and_apply_out_of_sync_only_is_what_kpush_does() {
        let parse = |o: &str| SyncOptions::parse(&[o.to_string()]);
        assert_eq!(
            parse("ServerSideApply=true").0.server_side_apply,
            Some(true)
        );
        assert!(parse("ServerSideApply=true").1.is_empty());
        let (parsed, warnings) = parse("ServerSideApply=false");
        assert_eq!(parsed.server_side_apply, Some(false));
        assert!(
            warnings[0].contains("always applies server-side"),
            "{warnings:?}"
        );
        assert!(parse("ApplyOutOfSyncOnly=true").1.is_empty());
    }

    #[test]
    fn the_app_may_keep_or_confirm_every_prune() {
        let parse = |o: &str| SyncOptions::parse(&[o.to_string()]);
        assert!(matches!(
            parse("Prune=false").0.prune,
            Some(Prune::Never(_))
        ));
        assert!(matches!(
            parse("Prune=confirm").0.prune,
            Some(Prune::Confirm { .. })
        ));
        assert_eq!(parse("Prune=true").0.prune, Some(Prune::Allowed));
        let (parsed, warnings) = parse("Prune=maybe");
        assert_eq!(parsed.prune, None);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn unsupported_options_are_warnings() {
        let (_, warnings) = SyncOptions::parse(&["FailOnSharedResource=true".to_string()]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("FailOnSharedResource"));
    }

    #[test]
    fn overlay_prefers_the_environment() {
        let base = SyncOptions {
            validate: Some(true),
            create_namespace: Some(false),
            ..Default::default()
        };
        let env = SyncOptions {
            create_namespace: Some(true),
            ..Default::default()
        };
        let merged = base.overlay(&env);
        assert_eq!(merged.validate, Some(true));
        assert_eq!(merged.create_namespace, Some(true));
    }
}
