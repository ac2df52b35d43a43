//! What happened to one app: its plan and, when it was written, what the write did.

use serde::{Serialize, Serializer};

use crate::deploy::Written;
use crate::deploy::delete::Pruned;
use crate::deploy::hooks::HookRun;
use crate::deploy::staged::Applied;
use crate::deploy::wait::HealthReport;
use crate::exit::ExitStatus;
use crate::plan::{Counts, Plan};

/// What a diff found for an app as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppChange {
    /// Defined at the new commit only (or never deployed).
    Added,
    /// Defined at the old commit only: a teardown deletes what the plan lists.
    Removed,
    /// Its objects change with the commit.
    Changed,
    /// The cluster differs from the commit it last deployed: someone changed it.
    Drift,
}

impl AppChange {
    pub fn as_str(self) -> &'static str {
        match self {
            AppChange::Added => "added",
            AppChange::Removed => "removed",
            AppChange::Changed => "changed",
            AppChange::Drift => "drift",
        }
    }
}

/// What happened to one app.
#[derive(Debug, Clone, Serialize)]
pub struct AppReport {
    pub app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The commit rendered; absent for the working tree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub namespace: String,
    /// Images promoted by `--image`, as `repository:tag`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Images an earlier deploy promoted and this run keeps (it names no tag for them), as
    /// `repository:tag (kept from revision N)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_images: Vec<String>,
    /// Images `--update-images` chose from their registries, as `repository:tag (how)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updated_images: Vec<String>,
    /// The chart a repository or registry served: its resolved version and digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chart: Option<crate::source::charts::ResolvedChart>,
    /// Other git repositories a multi-source app read, as `URL REVISION → COMMIT`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Counts the namespaces `--create-namespace` adds among the creations, as the write
    /// counts them.
    pub counts: Counts,
    /// Destination namespaces `--create-namespace` adds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces_to_create: Vec<String>,
    pub plan: Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<Applied>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Pruned>,
    /// The sync hooks that ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRun>,
    /// Why the app could not be planned; the others were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its inputs were the same at both commits of an offline diff: neither was rendered.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub same_inputs: bool,
    /// The app whose render holds this app's Application (app-of-apps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// What a diff found for the app as a whole, when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<AppChange>,
    /// The apps this app renders, each deployed as its own app after it, in this order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    #[serde(rename = "exit_code", serialize_with = "exit_code")]
    pub status: ExitStatus,
}

fn exit_code<S: Serializer>(status: &ExitStatus, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u8(status.code())
}

/// Which app a report is about.
#[derive(Debug, Clone, Default)]
pub struct AppId {
    pub app: String,
    pub env: Option<String>,
    pub namespace: String,
    /// The app whose render holds this app's Application (app-of-apps).
    pub parent: Option<String>,
}

impl AppReport {
    /// The report of a plan, before (or without) any write.
    pub fn new(id: AppId, revision: Option<String>, plan: Plan, status: ExitStatus) -> AppReport {
        AppReport {
            app: id.app,
            env: id.env,
            revision,
            namespace: id.namespace,
            images: Vec::new(),
            kept_images: Vec::new(),
            updated_images: Vec::new(),
            sources: Vec::new(),
            chart: None,
            counts: plan.counts(),
            namespaces_to_create: Vec::new(),
            plan,
            applied: None,
            health: None,
            pruned: None,
            hooks: Vec::new(),
            error: None,
            same_inputs: false,
            parent: id.parent,
            change: None,
            children: Vec::new(),
            status,
        }
    }

    /// An app that could not be planned, and why.
    pub fn with_error(mut self, message: String) -> AppReport {
        self.error = Some(message);
        self
    }

    /// What a diff found for the app as a whole.
    pub fn with_change(mut self, change: Option<AppChange>) -> AppReport {
        self.change = change;
        self
    }

    /// The apps this app renders (app-of-apps).
    pub fn with_children(mut self, children: &[String]) -> AppReport {
        self.children = children.to_vec();
        self
    }

    /// Unchanged without rendering: the app read the same inputs at both commits.
    pub fn with_same_inputs(mut self) -> AppReport {
        self.same_inputs = true;
        self
    }

    /// The destination namespaces the deploy creates, counted with what it creates.
    pub fn with_namespaces(mut self, namespaces: Vec<String>) -> AppReport {
        self.counts.create += namespaces.len();
        self.namespaces_to_create = namespaces;
        self
    }

    pub fn with_images(mut self, images: Vec<String>) -> AppReport {
        self.images = images;
        self
    }

    /// What the write did; the status follows from it.
    pub fn with_written(mut self, written: Written) -> AppReport {
        self.status = written.status();
        self.applied = Some(written.applied);
        self.health = written.health;
        self.pruned = written.pruned;
        self.hooks = written.hooks;
        self
    }

    /// The health of an app that had nothing to write; the status follows from it.
    pub fn with_health(mut self, health: HealthReport) -> AppReport {
        self.status = crate::deploy::health_status(&health);
        self.health = Some(health);
        self
    }

    pub fn status(&self) -> ExitStatus {
        self.status
    }
}

/// The run's status: a failure outranks a validation error, which outranks changes.
pub fn overall(reports: &[AppReport]) -> ExitStatus {
    let statuses: Vec<ExitStatus> = reports.iter().map(AppReport::status).collect();
    [
        ExitStatus::Unhealthy,
        ExitStatus::Failure,
        ExitStatus::Invalid,
        ExitStatus::Changes,
    ]
    .into_iter()
    .find(|s| statuses.contains(s))
    .unwrap_or(ExitStatus::Success)
}
