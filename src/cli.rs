//! Command-line definitions; parsing only. `settings` turns these into what the run uses.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::PruneProp;
use crate::report::{Format, ReportSink};

/// Deploy Kubernetes manifests from a git commit: render, diff against the live cluster,
/// validate everything, apply with server-side apply, and exit pass/fail.
#[derive(Debug, Parser)]
#[command(name = "kpush", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 runtime error (cluster unreachable, timeout, \
conflict), 2 changes present (diff --exit-code), 3 invalid input or validation failure (nothing \
written), 4 rollout failed its health checks or a sync hook failed."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster).
    #[arg(long, global = true, env = "KPUSH_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use (default: the current context).
    #[arg(long, global = true, env = "KPUSH_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,

    /// Do not verify the API server's TLS certificate. Off unless given here: a kubeconfig's
    /// own `insecure-skip-tls-verify: true` is refused without this flag.
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,

    /// Namespace for objects that do not set one (default: the context's namespace).
    #[arg(
        short = 'n',
        long,
        global = true,
        env = "KPUSH_NAMESPACE",
        value_name = "NS"
    )]
    pub namespace: Option<String>,

    /// Git revision to read manifests (and the config) from: HEAD, a branch, a tag or a SHA;
    /// WORKTREE reads the files on disk, committed or not. Default: each app's
    /// `targetRevision`, or HEAD.
    #[arg(long, global = true, env = "KPUSH_REV", value_name = "REV")]
    pub rev: Option<String>,

    /// Git repository (default: the one containing the current directory).
    #[arg(long, global = true, env = "KPUSH_REPO", value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// Read a repository owned by another user (CI containers often check out as another uid);
    /// the same trust as git's `safe.directory`.
    #[arg(long, global = true, env = "KPUSH_TRUST_REPO_OWNER", value_parser = boolish())]
    pub trust_repo_owner: bool,

    /// Output format.
    #[arg(short = 'o', long, global = true, default_value = "text", value_parser = output_format())]
    pub output: Format,

    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No colours (also when NO_COLOR is set or stdout is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// A switch that an environment variable may also turn on: `1`, `true`, `yes` or `on` (and
/// `0`, `false`, `no`, `off`), as CI variables are usually written.
fn boolish() -> clap::builder::BoolishValueParser {
    clap::builder::BoolishValueParser::new()
}

/// `--output`: the formats that can go to stdout.
fn output_format() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["text", "json", "markdown"])
        .map(|name: String| Format::parse(&name).expect("a possible value is a format"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the manifests under PATH as they are at --rev, one YAML stream in a stable order.
    Render(RenderArgs),
    /// Show what `apply` would change: server-side dry run of every object, compared with the
    /// live objects. Secret values are masked.
    Diff(DiffArgs),
    /// Validate every object by server-side dry run, then apply them all with server-side apply
    /// (field manager `kpush`). Nothing is written unless every object validates.
    Apply(ApplyArgs),
    /// The current revision of each app and the health of every object it owns (read-only;
    /// exits 4 when something is not healthy).
    Status(StatusArgs),
    /// The recorded deploys of each app, newest last.
    History(StatusArgs),
    /// Deploy a recorded earlier revision again (from the local git repository), with the
    /// same validation, diff, prune and health checks as `apply`.
    Rollback(RollbackArgs),
    /// Tear apps down: run their PreDelete hooks, delete every object their inventory records
    /// (namespaced objects first; Namespaces and CRDs only when confirmed; objects annotated to
    /// be kept stay), wait until they are gone, run their PostDelete hooks, then remove the
    /// inventory, its history and the deploy lock.
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,

    /// The commit to go back to (a SHA or its prefix, from `kpush history`).
    #[arg(long, value_name = "SHA", conflicts_with = "steps")]
    pub to: Option<String>,

    /// How many successful deploys to go back, before the one live now (failed deploys are
    /// skipped).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub steps: usize,
}

/// What to render: a PATH, or the apps of a config file.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A directory (manifests and `.j2` templates, a Helm chart, or a kustomization) or a file,
    /// relative to the current directory. Without PATH, the apps of the config file.
    pub path: Option<PathBuf>,

    /// With PATH: the app's name, which names its inventory (default: PATH's last directory
    /// name). With a config file: only the apps of these names, where `*` and `?` match any
    /// characters (repeatable, or comma-separated; default: all).
    #[arg(long, env = "KPUSH_APP", value_name = "NAME", value_delimiter = ',')]
    pub app: Vec<String>,

    /// App definitions (Argo CD Applications or kpush's format), read at the revision being
    /// deployed; relative to the current directory. Default: kpush.yaml at the repository root.
    #[arg(long, env = "KPUSH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Environment of the app definitions to deploy (its namespace, context, values files and
    /// sync options).
    #[arg(long, env = "KPUSH_ENV", value_name = "NAME")]
    pub env: Option<String>,

    /// Values file on disk for templates and charts; applied after the app's own (repeatable).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,

    /// A value for templates and charts, `a.b=c`; applied last (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,

    /// An image to deploy: `ALIAS=TAG`, `ALIAS=REPO:TAG` or `REPO:TAG` (repeatable). Checked
    /// against the app's image policy before anything else happens.
    #[arg(long = "image", value_name = "IMAGE")]
    pub images: Vec<String>,

    /// A file with one `--image` value per line (`#` comments allowed). `KPUSH_IMAGES` may
    /// hold the same, separated by commas or newlines.
    #[arg(long, value_name = "FILE")]
    pub images_file: Option<PathBuf>,

    /// The helm binary for Helm charts.
    #[arg(long, env = "KPUSH_HELM_BIN", value_name = "FILE")]
    pub helm_bin: Option<PathBuf>,

    /// Render charts from repositories and registries from the cache only
    /// (`$KPUSH_CACHE_DIR/charts`, default `~/.cache/kpush/charts`); a chart that is not there
    /// is an error instead of a download.
    #[arg(long, env = "KPUSH_OFFLINE", value_parser = boolish())]
    pub offline: bool,

    /// The binary for kustomizations: `kustomize` (runs `kustomize build`) or `kubectl` (runs
    /// `kubectl kustomize`). Default: kustomize from PATH, else kubectl.
    #[arg(long, env = "KPUSH_KUSTOMIZE_BIN", value_name = "FILE")]
    pub kustomize_bin: Option<PathBuf>,

    /// Apply rendered Argo CD Applications and ApplicationSets as objects, for the Argo CD of
    /// the destination cluster to sync, instead of deploying each as an app of its own
    /// (app-of-apps)
    #[arg(long, env = "KPUSH_APPLICATIONS_AS_OBJECTS", value_parser = boolish())]
    pub applications_as_objects: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Print Secret values (and the app's `sensitivePaths`) as rendered, e.g. to pipe the
    /// stream into another tool. Without it they are masked like in a diff, so a CI log never
    /// holds them.
    #[arg(long)]
    pub show_secrets: bool,
}

/// What diff and apply share: which objects, where.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Create the destination namespace (-n) when it does not exist.
    #[arg(long)]
    pub create_namespace: bool,

    /// Delete objects this app deployed before that are no longer rendered (after everything
    /// else succeeded). Without it they are listed and kept.
    #[arg(long)]
    pub prune: bool,

    /// Allow pruning everything when the render produced no objects.
    #[arg(long)]
    pub allow_empty: bool,

    /// For each image policy no `--image` names, ask its registry for the tags and deploy the
    /// one its update strategy picks (`semver`, `newest-build`, `alphabetical`, `digest`),
    /// filtered by `allow-tags`/`ignore-tags`: Argo CD Image Updater, run by the pipeline.
    /// Credentials: the policy's pull-secret `env:VARIABLE`, DOCKER_AUTH_CONFIG, or the docker
    /// config file.
    #[arg(long, env = "KPUSH_UPDATE_IMAGES", value_parser = boolish())]
    pub update_images: bool,

    /// Take over objects that belong to another ApplySet, a Helm release or Argo CD.
    #[arg(long)]
    pub adopt: bool,

    /// Record this app as the owner of an inventory another app (another path, definition or
    /// environment of the same name) recorded: for an app that moved on purpose.
    #[arg(long)]
    pub take_over_inventory: bool,

    /// Take ownership of fields another field manager owns, instead of failing on the conflict.
    #[arg(long)]
    pub force_conflicts: bool,

    /// Validate every object before writing any: server-side strict field validation where
    /// the server has it, and fields the server would drop are errors. Default: true, or the
    /// app's `Validate` sync option.
    #[arg(long, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub validate: Option<bool>,

    /// Send every object through the server's dry run. By default an object whose live state
    /// still holds what kpush last applied from the same configuration (recorded in its
    /// `kpush.dev/config-digest` annotation) is compared locally and not sent; this also asks
    /// the server about those, e.g. to catch an admission policy that now refuses them.
    #[arg(long)]
    pub verify_unchanged: bool,

    /// Render every app. By default an app whose inputs (its files at the commit, its
    /// definition, values, images and renderers) are those of its last successful deploy is
    /// not rendered again: that deploy's recorded objects, checked against their digest, are
    /// planned against the cluster instead.
    #[arg(long, env = "KPUSH_RENDER_ALWAYS", value_parser = boolish())]
    pub render_always: bool,

    /// Also write the run's report to a file (repeatable): `json:PATH`, `markdown:PATH`,
    /// `dotenv:PATH` (counts, revision and exit code as KPUSH_* lines) or
    /// `gitlab-terraform:PATH` (the counts GitLab's merge-request widget shows). Written even
    /// when the run fails early.
    #[arg(long = "report-to", value_name = "FORMAT:PATH", value_parser = parse_sink)]
    pub report_to: Vec<ReportSink>,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Exit with 2 when there are changes (drift detection in scheduled pipelines).
    #[arg(long)]
    pub exit_code: bool,

    /// Compare two revisions instead of the cluster: render both and show what changes,
    /// without cluster access or credentials (pull requests from forks). `EMPTY` compares with
    /// nothing (the first deploy of a new app); a revision the repository lacks (a shallow
    /// clone) is an error.
    #[arg(long, value_name = "REV", requires = "to")]
    pub from: Option<String>,

    /// The revision to compare `--from` with.
    #[arg(long, value_name = "REV", requires = "from")]
    pub to: Option<String>,

    /// Also write the plan to FILE, for `kpush apply --plan FILE` to apply exactly that once
    /// approved: the commit, each app's input digest and destination, and per object its
    /// action, a digest of what would be applied, and the live version planned against (no
    /// object content, so no secret value).
    #[arg(
        long,
        env = "KPUSH_SAVE_PLAN",
        value_name = "FILE",
        conflicts_with = "from"
    )]
    pub save_plan: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Run everything as a server-side dry run and print what would happen; nothing is
    /// written (no namespace, no inventory, no lock).
    #[arg(long)]
    pub dry_run: bool,

    /// Apply exactly the plan `kpush diff --save-plan FILE` saved: its commit is rendered
    /// again, and every app's inputs, every object's content and every live object's version
    /// must be as planned, else nothing is written (exit 3).
    #[arg(long, env = "KPUSH_PLAN", value_name = "FILE")]
    pub plan: Option<std::path::PathBuf>,

    /// With `--plan`: refuse a plan older than this.
    #[arg(long, default_value = "24h", value_parser = parse_duration, value_name = "DURATION")]
    pub plan_max_age: std::time::Duration,

    /// How dependents of pruned objects are deleted; with foreground, kpush waits until the
    /// pruned objects are gone. Default: the app's `PrunePropagationPolicy`, or foreground.
    #[arg(long, value_parser = prune_propagation())]
    pub prune_propagation: Option<PruneProp>,

    /// Refuse a prune that deletes more than this share of the inventory (percent; 0 turns the
    /// guard off) unless `--confirm-prune` is given.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100), value_name = "PERCENT")]
    pub prune_threshold: u8,

    #[command(flatten)]
    pub confirm: Confirmations,

    /// How long to wait for every object to become healthy after applying: `90s`, `5m`, `1h`.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,

    /// Do not wait for health after applying; pruning follows the writes directly, and kpush
    /// returns once the server has accepted the last deletions rather than when the garbage
    /// collector has removed them and their dependents.
    #[arg(long)]
    pub no_wait: bool,

    /// Do not wait for LoadBalancer Services to get an address (clusters without a load
    /// balancer controller).
    #[arg(long)]
    pub no_wait_lb: bool,

    /// Run the chart's `helm.sh/hook: test` hooks after the PostSync hooks, as `helm test`
    /// would; a failed test fails the run (exit 4). Without it they are not deployed.
    #[arg(long)]
    pub run_tests: bool,

    /// When the health check fails, put back exactly what the last successful deploy applied
    /// (kept in the cluster; nothing is rendered again) and still exit 4.
    #[arg(long)]
    pub atomic: bool,

    /// Deploy a commit older than the one deployed last (an ancestor of it). Without it such a
    /// deploy is refused: it is a CI job of an older pipeline that ran late. `kpush rollback`
    /// goes back on purpose without it.
    #[arg(long)]
    pub allow_outdated: bool,

    /// After a successful deploy, record the promoted `--image` tags in the app's
    /// `.argocd-source-<app>.yaml` and commit that one file to the current branch (Argo CD
    /// Image Updater's git write-back); pushing is left to the pipeline.
    #[arg(long)]
    pub write_back: bool,

    /// Author of the write-back commit (default: GIT_COMMITTER_NAME, git config, `kpush`).
    #[arg(long, env = "KPUSH_GIT_USER", value_name = "NAME")]
    pub git_user: Option<String>,

    /// Email of the write-back commit's author.
    #[arg(long, env = "KPUSH_GIT_EMAIL", value_name = "EMAIL")]
    pub git_email: Option<String>,

    /// How long to wait for another deploy of the same app to release its lock (seconds).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub lock_timeout: u64,
}

fn parse_sink(text: &str) -> Result<ReportSink, String> {
    let usage = "expected FORMAT:PATH with FORMAT one of json, markdown, dotenv, gitlab-terraform";
    let (format, path) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}`: {usage}"))?;
    let format = match Format::parse(format) {
        Some(Format::Text) | None => {
            return Err(format!("unknown report format `{format}`: {usage}"));
        }
        Some(format) => format,
    };
    if path.is_empty() {
        return Err(format!("`{text}`: the path is empty; {usage}"));
    }
    Ok(ReportSink {
        format,
        path: PathBuf::from(path),
    })
}

impl Command {
    /// The `--report-to` files of this command, for a run that ends before its report.
    pub fn report_sinks(&self) -> &[ReportSink] {
        match self {
            Command::Diff(a) => &a.target.report_to,
            Command::Apply(a) => &a.target.report_to,
            Command::Rollback(a) => &a.apply.target.report_to,
            Command::Delete(a) => &a.report_to,
            Command::Render(_) | Command::Status(_) | Command::History(_) => &[],
        }
    }

    /// The subcommand's name as reports name it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Render(_) => "render",
            Command::Diff(_) => "diff",
            Command::Apply(_) => "apply",
            Command::Status(_) => "status",
            Command::History(_) => "history",
            Command::Rollback(_) => "rollback",
            Command::Delete(_) => "delete",
        }
    }
}

/// `90`, `90s`, `5m`, `1h`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 5m or 1h"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{text}` is not a duration like 90s, 5m or 1h")),
    };
    Ok(std::time::Duration::from_secs(seconds))
}

/// The deletions a run confirms; without them those objects are kept.
#[derive(Debug, Clone, Args)]
pub struct Confirmations {
    /// Confirm a prune larger than `--prune-threshold`, and the deletion of objects annotated
    /// `argocd.argoproj.io/sync-options: Prune=confirm` (or of an app with that sync option).
    #[arg(long)]
    pub confirm_prune: bool,

    /// Delete Namespaces (that left the render, or of the app `delete` removes), with
    /// everything in them (other apps' objects too: the plan counts them).
    #[arg(long)]
    pub confirm_prune_namespaces: bool,

    /// Delete CustomResourceDefinitions (that left the render, or of the app `delete`
    /// removes), with every custom resource of their kind in the cluster (the plan counts
    /// them).
    #[arg(long)]
    pub confirm_prune_crds: bool,

    /// Delete PersistentVolumeClaims that left the render, and with them their volume's data
    /// unless its reclaim policy is Retain (`delete` removes an app's claims without it).
    #[arg(long)]
    pub confirm_prune_volumes: bool,
}

/// `kpush delete`: which apps, and how their objects go.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Show what would be deleted, each deletion checked by the server; delete nothing and run
    /// no hook.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub confirm: Confirmations,

    /// How dependents of deleted objects are deleted; with foreground, kpush waits until the
    /// objects are gone. Default: the app's `PrunePropagationPolicy`, or foreground.
    #[arg(long, value_parser = prune_propagation())]
    pub prune_propagation: Option<PruneProp>,

    /// How long each wave of PreDelete and PostDelete hooks may take: `90s`, `5m`, `1h`.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: std::time::Duration,

    /// How long to wait for a deploy of the same app to release its lock (seconds).
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub lock_timeout: u64,

    /// Also write the run's report to a file (repeatable): `json:PATH`, `markdown:PATH`,
    /// `dotenv:PATH` or `gitlab-terraform:PATH`.
    #[arg(long = "report-to", value_name = "FORMAT:PATH", value_parser = parse_sink)]
    pub report_to: Vec<ReportSink>,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// `--prune-propagation`: the values of Argo CD's `PrunePropagationPolicy`.
fn prune_propagation() -> impl clap::builder::TypedValueParser<Value = PruneProp> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(PruneProp::NAMES)
        .map(|name: String| PruneProp::parse(&name).expect("a possible value is a policy"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn report_sinks_parse() {
        assert_eq!(
            parse_sink("gitlab-terraform:out/plan.json"),
            Ok(ReportSink {
                format: Format::GitlabTerraform,
                path: "out/plan.json".into()
            })
        );
        // Only the first colon separates: paths may hold more.
        assert_eq!(parse_sink("json:C:/x").map(|s| s.path), Ok("C:/x".into()));
        assert!(
            parse_sink("yaml:x")
                .unwrap_err()
                .contains("unknown report format")
        );
        assert!(parse_sink("json").is_err());
        assert!(parse_sink("json:").is_err());
    }
}
