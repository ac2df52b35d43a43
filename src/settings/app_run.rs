//! Building one app's run from the flags and its definition.

use crate::config::{AppConfig, Environment};
use crate::deploy::AppRun;
use crate::render::{RenderSpec, ValueLayer};

use super::flags::{Flags, propagation_of};

/// One app as the flags, its definition and its environment (flags first) make it: the
/// only place an `AppRun` is built. A PATH without a definition is a default definition.
pub(super) fn app_run(flags: &Flags, app: &AppConfig, env: Option<&Environment>) -> AppRun {
    let options = app.sync_options(env);
    let path = &app.source.path;
    let mut layers = Vec::new();
    layers.extend(app.source.values.clone().map(ValueLayer::Inline));
    layers.extend(
        app.source
            .value_files
            .iter()
            .map(|f| ValueLayer::File(path.join(f))),
    );
    if let Some(e) = env {
        layers.extend(e.value_files.iter().map(|f| ValueLayer::File(path.join(f))));
        layers.extend(e.values.clone().map(ValueLayer::Inline));
    }
    layers.extend(flags.values.iter().cloned());
    let namespace = flags
        .namespace
        .clone()
        .or_else(|| env.and_then(|e| e.namespace.clone()))
        .or_else(|| app.destination.namespace.clone());
    let context = flags
        .context
        .clone()
        .or_else(|| env.and_then(|e| e.context.clone()))
        .or_else(|| app.destination.context.clone())
        .or_else(|| app.destination.name.clone());
    let target_revision = env
        .and_then(|e| e.target_revision.clone())
        .or_else(|| app.source.target_revision.clone());
    let chart = chart_of(&app.source, target_revision.clone());
    let revision = flags
        .rev
        .clone()
        .or_else(|| target_revision.filter(|_| chart.is_none()))
        .unwrap_or_else(|| "HEAD".into());
    let mut render = RenderSpec {
        app: app.name.clone(),
        env: flags.env.clone(),
        path: path.clone(),
        namespace: namespace.clone(),
        directory: app.source.directory.clone(),
        allow_empty: flags.allow_empty || app.sync.allow_empty == Some(true),
        helm: app.source.helm.clone(),
        kustomize: app.source.kustomize.clone(),
        values: layers,
        value_files: app
            .source
            .value_files
            .iter()
            .chain(app.environments.values().flat_map(|e| &e.value_files))
            .map(|f| path.join(f))
            .collect(),
        tools: flags.tools.clone(),
        images: Vec::new(),
        // Only the names the config lists; an unset one stays undefined in templates.
        env_vars: app
            .source
            .template_env
            .iter()
            .filter_map(|name| Some((name.clone(), std::env::var(name).ok()?)))
            .collect(),
        capabilities: None,
        chart,
        more: Vec::new(),
        origin: None,
        refs: Vec::new(),
        children_apart: !app.children.is_empty(),
    };
    // The other sources of a multi-source app render at the same commit, with the same
    // values and images; a chart's `targetRevision` is its version.
    render.more = app
        .source
        .more
        .iter()
        .map(|source| RenderSpec {
            path: source.path.clone(),
            directory: source.directory.clone(),
            helm: source.helm.clone(),
            kustomize: source.kustomize.clone(),
            value_files: Vec::new(),
            chart: chart_of(source, source.target_revision.clone()),
            more: Vec::new(),
            ..render.clone()
        })
        .collect();
    AppRun {
        name: app.name.clone(),
        env: flags.env.clone(),
        revision,
        render,
        allow_cluster_scoped: app.allow_cluster_scoped.unwrap_or(true),
        update_images: flags.update_images
            || env.and_then(|e| e.update_images).or(app.update_images) == Some(true),
        allow_other_namespaces: app.allow_other_namespaces.unwrap_or(true),
        image_policies: Vec::new(),
        restore: None,
        context,
        server: app.destination.server.clone(),
        namespace,
        create_namespace: flags.create_namespace || options.create_namespace == Some(true),
        prune: flags.prune || env.and_then(|e| e.prune).or(app.sync.prune) == Some(true),
        allow_empty: flags.allow_empty || app.sync.allow_empty == Some(true),
        validate: flags.validate.or(options.validate).unwrap_or(true),
        propagation: flags
            .propagation
            .or(options.prune_propagation.map(propagation_of))
            .unwrap_or_default(),
        sensitive_paths: app
            .sensitive_paths
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect(),
        config: None,
        // Set once the repository is known (`settings::identity`).
        identity: Default::default(),
        // Argo CD deletes and re-creates only with Force=true; Replace=true alone is a
        // warning (`replace_warning`).
        replace: options.replace == Some(true) && options.force == Some(true),
        prune_rule: options.prune.clone().unwrap_or_default(),
        self_heal: app.sync.self_heal == Some(true),
        force_conflicts: options.server_side_apply == Some(true),
        skip_dry_run_on_missing: options.skip_dry_run_on_missing == Some(true),
        ignore_differences: app.ignore_differences.clone(),
        namespace_metadata: crate::deploy::NamespaceMetadata {
            labels: app.sync.namespace_labels.clone(),
            annotations: app.sync.namespace_annotations.clone(),
        },
        images: Vec::new(),
        parent: app.parent.clone(),
        children: app.children.clone(),
        // Filled once every app is resolved (`settings::child_records`).
        child_records: Vec::new(),
        cascade: app
            .finalizers
            .iter()
            .any(|f| f.starts_with(crate::apps::appset::RESOURCES_FINALIZER)),
    }
}

/// For a chart from a repository, `targetRevision` is the chart's version; the app's
/// definition and values still come from this repository.
fn chart_of(
    source: &crate::config::SourceSpec,
    version: Option<String>,
) -> Option<crate::source::charts::ChartSource> {
    source
        .chart
        .as_ref()
        .map(|name| crate::source::charts::ChartSource {
            repo_url: source.repo_url.clone().unwrap_or_default(),
            name: name.clone(),
            version: version.unwrap_or_default(),
            digest: None,
        })
}
