//! A deploy lock: a `coordination.k8s.io/v1` Lease next to the inventory parent, so two
//! pipelines deploying the same app never interleave. A crashed run's lease expires by itself.

use std::time::Duration;

use kube::api::{Api, DynamicObject, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

use super::Cluster;
use super::failure::ApiFailure;
use super::retry::with_retry;

/// How long a lease lives without renewal; renewed at a third of it.
pub const LEASE_TTL: Duration = Duration::from_secs(30);

/// A lease this run holds; renewed in the background until released.
pub struct HeldLease {
    api: Api<DynamicObject>,
    name: String,
    holder: String,
    renewer: tokio::task::JoinHandle<()>,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another deploy holds the lock `{namespace}/{name}`: {holder} (since {since}); gave up after {}s\nhint: wait for it to finish, or raise `--lock-timeout`",
        waited.as_secs()
    )]
    Held {
        namespace: String,
        name: String,
        holder: String,
        since: String,
        waited: Duration,
    },
    #[error("cannot take the deploy lock `{namespace}/{name}`: {failure}")]
    Api {
        namespace: String,
        name: String,
        failure: ApiFailure,
    },
}

fn lease_resource() -> ApiResource {
    ApiResource {
        group: "coordination.k8s.io".into(),
        version: "v1".into(),
        api_version: "coordination.k8s.io/v1".into(),
        kind: "Lease".into(),
        plural: "leases".into(),
    }
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%6fZ")
        .to_string()
}

fn lease_body(name: &str, holder: &str, resource_version: Option<&str>) -> Value {
    let now = now();
    let mut body = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kpush"}},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": LEASE_TTL.as_secs(),
            "acquireTime": now,
            "renewTime": now,
        }
    });
    if let Some(rv) = resource_version {
        body["metadata"]["resourceVersion"] = json!(rv);
    }
    body
}

/// Whether a lease's holder stopped renewing it.
fn expired(lease: &Value) -> bool {
    let spec = &lease["spec"];
    if spec["holderIdentity"].as_str().unwrap_or("").is_empty() {
        return true;
    }
    let ttl = spec["leaseDurationSeconds"].as_i64().unwrap_or(0);
    let Some(renewed) = spec["renewTime"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
    else {
        return true;
    };
    renewed + jiff::SignedDuration::from_secs(ttl) < jiff::Timestamp::now()
}

impl Cluster {
    /// Takes the lease `name` in `namespace` for `holder`, waiting up to `wait` for another
    /// holder to finish; `on_wait` is told once who holds it.
    pub async fn acquire_lease(
        &self,
        namespace: &str,
        name: &str,
        holder: &str,
        wait: Duration,
        on_wait: impl Fn(&str),
    ) -> Result<HeldLease, LockError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &lease_resource());
        let fail = |failure: ApiFailure| LockError::Api {
            namespace: namespace.into(),
            name: name.into(),
            failure,
        };
        let started = std::time::Instant::now();
        let mut told = false;
        loop {
            let current = with_retry(|| api.get_opt(name))
                .await
                .map_err(|e| fail(ApiFailure::from_kube(e)))?
                .map(|l| serde_json::to_value(l).unwrap_or(Value::Null));
            let attempt = match &current {
                None => {
                    let body: DynamicObject =
                        serde_json::from_value(lease_body(name, holder, None))
                            .expect("a lease is a valid object");
                    api.create(&PostParams::default(), &body).await.map(|_| ())
                }
                Some(lease) if expired(lease) || lease["spec"]["holderIdentity"] == holder => {
                    let rv = lease["metadata"]["resourceVersion"].as_str();
                    let body: DynamicObject = serde_json::from_value(lease_body(name, holder, rv))
                        .expect("a lease is a valid object");
                    api.replace(name, &PostParams::default(), &body)
                        .await
                        .map(|_| ())
                }
                Some(lease) => {
                    let other = lease["spec"]["holderIdentity"].as_str().unwrap_or("?");
                    if started.elapsed() >= wait {
                        return Err(LockError::Held {
                            namespace: namespace.into(),
                            name: name.into(),
                            holder: other.into(),
                            since: lease["spec"]["acquireTime"].as_str().unwrap_or("?").into(),
                            waited: started.elapsed(),
                        });
                    }
                    if !told {
                        on_wait(other);
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            match attempt {
                Ok(()) => break,
                // Someone else created or renewed it in between: look again.
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(e) => return Err(fail(ApiFailure::from_kube(e))),
            }
        }
        let renewer = tokio::spawn(renew(api.clone(), name.to_string()));
        Ok(HeldLease {
            api,
            name: name.to_string(),
            holder: holder.to_string(),
            renewer,
        })
    }
}

async fn renew(api: Api<DynamicObject>, name: String) {
    loop {
        tokio::time::sleep(LEASE_TTL / 3).await;
        let body = json!({"spec": {"renewTime": now()}});
        let result = api
            .patch(
                &name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(body),
            )
            .await;
        if let Err(e) = result {
            tracing::warn!("cannot renew the deploy lock `{name}`: {e}");
        }
    }
}

/// How long releasing the lock may take before the run ends without it.
const RELEASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl HeldLease {
    /// Stops renewing and deletes the lease, if this run still holds it.
    pub async fn release(self) {
        self.renewer.abort();
        let name = self.name.clone();
        // A server that stopped answering must not hold the run: the lease expires anyway.
        if tokio::time::timeout(RELEASE_TIMEOUT, self.delete_if_held())
            .await
            .is_err()
        {
            tracing::warn!(
                "cannot release the deploy lock `{name}`: no answer; it expires by itself"
            );
        }
    }

    async fn delete_if_held(&self) {
        if let Ok(Some(lease)) = self.api.get_opt(&self.name).await {
            let holder = lease
                .data
                .get("spec")
                .and_then(|s| s.get("holderIdentity"))
                .and_then(Value::as_str);
            if holder == Some(self.holder.as_str()) {
                let _ = self
                    .api
                    .delete(&self.name, &kube::api::DeleteParams::default())
                    .await;
            }
        }
    }
}
