//! A deploy lock: a `coordination.k8s.io/v1` Lease next to the inventory parent, so two
//! pipelines deploying the same app never interleave. A crashed run's lease expires by itself.
//! Released leases stay, with no holder: every run that held the lock changed the lease, so a
//! run can tell whether anyone deployed between its plan and its write.

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
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The lease's resource version before this run took it; `None` when it created it.
    pub taken_from: Option<String>,
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

/// Whether a lease's holder stopped renewing it: the lease has not changed for its whole
/// duration as this run has watched it (`unchanged_for`, on the local clock). The holder's
/// own timestamps are not compared with the local clock: two machines' clocks may disagree.
fn expired(lease: &Value, unchanged_for: Duration) -> bool {
    let spec = &lease["spec"];
    if spec["holderIdentity"].as_str().unwrap_or("").is_empty() {
        return true;
    }
    let ttl = spec["leaseDurationSeconds"].as_u64().unwrap_or(0);
    unchanged_for >= Duration::from_secs(ttl)
}

/// A lease as this run last saw it: its resource version (every renewal changes it) and
/// since when, on the local clock.
struct Observed {
    version: String,
    since: std::time::Instant,
}

impl Observed {
    /// How long `lease` has been as it is now, by what this run has seen of it.
    fn unchanged_for(seen: &mut Option<Observed>, lease: &Value) -> Duration {
        let version = lease["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match seen {
            Some(s) if s.version == version => s.since.elapsed(),
            _ => {
                *seen = Some(Observed {
                    version,
                    since: std::time::Instant::now(),
                });
                Duration::ZERO
            }
        }
    }
}

/// What to do about the lease as it is now.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    /// There is none: create it.
    Create,
    /// Expired, or already this holder's: take it over at its resource version.
    Take(Option<&'a str>),
    /// Another holder is renewing it: wait.
    Wait { holder: &'a str, since: &'a str },
}

fn step<'a>(current: Option<&'a Value>, holder: &str, unchanged_for: Duration) -> Step<'a> {
    match current {
        None => Step::Create,
        Some(lease)
            if expired(lease, unchanged_for) || lease["spec"]["holderIdentity"] == holder =>
        {
            Step::Take(lease["metadata"]["resourceVersion"].as_str())
        }
        Some(lease) => Step::Wait {
            holder: lease["spec"]["holderIdentity"].as_str().unwrap_or("?"),
            since: lease["spec"]["acquireTime"].as_str().unwrap_or("?"),
        },
    }
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
        let mut seen = None;
        let mut taken_from: Option<String>;
        loop {
            let current = with_retry(|| api.get_opt(name))
                .await
                .map_err(|e| fail(ApiFailure::from_kube(e)))?
                .map(|l| serde_json::to_value(l).unwrap_or(Value::Null));
            let unchanged_for = current
                .as_ref()
                .map_or(Duration::ZERO, |l| Observed::unchanged_for(&mut seen, l));
            let step = step(current.as_ref(), holder, unchanged_for);
            taken_from = match &step {
                Step::Take(rv) => rv.map(str::to_string),
                _ => None,
            };
            let attempt = match step {
                Step::Create => {
                    let body: DynamicObject =
                        serde_json::from_value(lease_body(name, holder, None))
                            .expect("a lease is a valid object");
                    api.create(&PostParams::default(), &body).await.map(|_| ())
                }
                Step::Take(rv) => {
                    let body: DynamicObject = serde_json::from_value(lease_body(name, holder, rv))
                        .expect("a lease is a valid object");
                    api.replace(name, &PostParams::default(), &body)
                        .await
                        .map(|_| ())
                }
                Step::Wait {
                    holder: other,
                    since,
                } => {
                    if started.elapsed() >= wait {
                        return Err(LockError::Held {
                            namespace: namespace.into(),
                            name: name.into(),
                            holder: other.into(),
                            since: since.into(),
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
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let renewer = tokio::spawn(renew(
            api.clone(),
            name.to_string(),
            holder.to_string(),
            lost.clone(),
        ));
        Ok(HeldLease {
            api,
            name: name.to_string(),
            holder: holder.to_string(),
            renewer,
            lost,
            taken_from,
        })
    }

    /// The lease's resource version, or `None` when there is none (or no namespace yet).
    pub async fn lease_version(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<String>, ApiFailure> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &lease_resource());
        let found = with_retry(|| api.get_opt(name))
            .await
            .map_err(ApiFailure::from_kube)?;
        Ok(found.and_then(|l| l.metadata.resource_version))
    }
}

/// The lock counts as lost once it has gone unrenewed this long: well before another run,
/// which waits a whole [`LEASE_TTL`] of no change, may take it.
const RENEW_DEADLINE: Duration = Duration::from_secs(LEASE_TTL.as_secs() / 2);

/// Renews the lease while this run holds it. Another holder, a deleted lease, or no successful
/// renewal for [`RENEW_DEADLINE`] marks the lock lost, and the run stops writing.
async fn renew(
    api: Api<DynamicObject>,
    name: String,
    holder: String,
    lost: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let mut renewed = std::time::Instant::now();
    loop {
        tokio::time::sleep(LEASE_TTL / 3).await;
        match update_if_held(&api, &name, &holder, |spec| {
            spec["renewTime"] = json!(now());
        })
        .await
        {
            Ok(true) => renewed = std::time::Instant::now(),
            Ok(false) => {
                tracing::warn!("the deploy lock `{name}` is no longer this run's");
                lost.store(true, std::sync::atomic::Ordering::SeqCst);
                return;
            }
            Err(e) => {
                tracing::warn!("cannot renew the deploy lock `{name}`: {e}");
                if renewed.elapsed() >= RENEW_DEADLINE {
                    lost.store(true, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
            }
        }
    }
}

/// Changes the lease's spec only while `holder` holds it, at the resource version read (a
/// change in between is a conflict, not an overwrite). `Ok(false)`: not held by `holder`.
async fn update_if_held(
    api: &Api<DynamicObject>,
    name: &str,
    holder: &str,
    change: impl FnOnce(&mut Value),
) -> Result<bool, kube::Error> {
    let Some(lease) = api.get_opt(name).await? else {
        return Ok(false);
    };
    let mut lease = serde_json::to_value(lease).unwrap_or(Value::Null);
    if lease["spec"]["holderIdentity"] != holder {
        return Ok(false);
    }
    change(&mut lease["spec"]);
    let body: DynamicObject = serde_json::from_value(lease).expect("a lease is a valid object");
    api.replace(name, &PostParams::default(), &body).await?;
    Ok(true)
}

/// How long releasing the lock may take before the run ends without it.
const RELEASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl HeldLease {
    /// Whether the lease stopped being this run's (another holder took it, or it could not be
    /// renewed in time): nothing more may be written.
    pub fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops renewing and gives the lease up, if this run still holds it.
    pub async fn release(self) {
        self.renewer.abort();
        let name = self.name.clone();
        // A server that stopped answering must not hold the run: the lease expires anyway.
        if tokio::time::timeout(RELEASE_TIMEOUT, self.clear_if_held())
            .await
            .is_err()
        {
            tracing::warn!(
                "cannot release the deploy lock `{name}`: no answer; it expires by itself"
            );
        }
    }

    /// Stops renewing and deletes the lease, with the app it locked (`kpush delete`).
    pub async fn remove(self) {
        self.renewer.abort();
        let params = kube::api::DeleteParams::default();
        match tokio::time::timeout(RELEASE_TIMEOUT, self.api.delete(&self.name, &params)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("cannot delete the deploy lock `{}`: {e}", self.name),
            Err(_) => tracing::warn!("cannot delete the deploy lock `{}`: no answer", self.name),
        }
    }

    /// Clears the holder (the lease stays, as a record that the lock was taken).
    async fn clear_if_held(&self) {
        let _ = update_if_held(&self.api, &self.name, &self.holder, |spec| {
            spec["holderIdentity"] = json!("");
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, ttl: u64) -> Value {
        json!({
            "metadata": {"name": "kpush-shop", "resourceVersion": "7"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": ttl,
                     "acquireTime": "2026-01-01T00:00:00Z",
                     // A holder whose clock is far behind: its times say nothing here.
                     "renewTime": "2020-01-01T00:00:00.000000Z"}
        })
    }

    #[test]
    fn a_lease_is_created_taken_or_waited_for() {
        let mine = lease("ci/run-1", 30);
        let theirs = lease("ci/run-2", 30);
        let unheld = lease("", 30);
        let fresh = Duration::from_secs(5);
        assert_eq!(step(None, "ci/run-1", fresh), Step::Create);
        // A retry of the same process takes back its own lease.
        assert_eq!(step(Some(&mine), "ci/run-1", fresh), Step::Take(Some("7")));
        assert_eq!(
            step(Some(&theirs), "ci/run-1", fresh),
            Step::Wait {
                holder: "ci/run-2",
                since: "2026-01-01T00:00:00Z"
            }
        );
        // A crashed run's lease expires once it has not changed for its whole duration, as
        // the waiter saw it.
        let stale = Duration::from_secs(30);
        assert_eq!(
            step(Some(&theirs), "ci/run-1", stale),
            Step::Take(Some("7"))
        );
        assert_eq!(
            step(Some(&unheld), "ci/run-1", fresh),
            Step::Take(Some("7"))
        );
    }

    #[test]
    fn a_renewal_restarts_the_local_clock() {
        let mut seen = None;
        let mut lease = lease("ci/run-2", 30);
        assert_eq!(Observed::unchanged_for(&mut seen, &lease), Duration::ZERO);
        std::thread::sleep(Duration::from_millis(20));
        assert!(Observed::unchanged_for(&mut seen, &lease) >= Duration::from_millis(20));
        lease["metadata"]["resourceVersion"] = json!("8");
        assert_eq!(Observed::unchanged_for(&mut seen, &lease), Duration::ZERO);
    }

    #[test]
    fn a_new_lease_names_its_holder_and_lifetime() {
        let body = lease_body("kpush-shop", "ci/run-1", Some("7"));
        assert_eq!(body["spec"]["holderIdentity"], "ci/run-1");
        assert_eq!(body["spec"]["leaseDurationSeconds"], LEASE_TTL.as_secs());
        assert_eq!(body["metadata"]["resourceVersion"], "7");
        assert!(!expired(&body, Duration::ZERO));
    }
}
