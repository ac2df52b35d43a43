//! Retrying requests the server asked to retry (429 from priority and fairness, 5xx) and
//! brief network failures, with bounded exponential backoff.

use std::future::Future;
use std::time::Duration;

use kube::Error;

/// The server asked to retry: it is alive and will take the request soon.
const SERVER_ATTEMPTS: u32 = 6;
/// No answer at all: a blip is worth a retry, a dead address is not worth a long wait.
const NETWORK_ATTEMPTS: u32 = 3;
const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(10);

/// Runs `call` until it succeeds, fails for good, or the attempts run out.
pub async fn with_retry<T, F, Fut>(mut call: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut delay = FIRST_DELAY;
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) => match retry_after(&error) {
                Some(hint) if attempt < attempts(&error) => {
                    let wait = hint.unwrap_or(delay).min(MAX_DELAY);
                    tracing::debug!(attempt, ?wait, "retrying after: {error}");
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(MAX_DELAY);
                    attempt += 1;
                }
                _ => return Err(error),
            },
        }
    }
}

fn attempts(error: &Error) -> u32 {
    match error {
        Error::Api(_) => SERVER_ATTEMPTS,
        _ => NETWORK_ATTEMPTS,
    }
}

/// `None`: do not retry. `Some(None)`: retry after the backoff delay. `Some(Some(d))`: the
/// server said when (`Retry-After`, carried in the Status details).
fn retry_after(error: &Error) -> Option<Option<Duration>> {
    match error {
        Error::Api(status) if super::failure::is_schema_error(status) => None,
        Error::Api(status) => match status.code {
            // 429, 503 and 504 were retried already, by the client's layer that sees the
            // Retry-After header (cluster::connect).
            500 | 502 => Some(
                status
                    .details
                    .as_ref()
                    .map(|d| d.retry_after_seconds)
                    .filter(|s| *s > 0)
                    .map(|s| Duration::from_secs(u64::from(s))),
            ),
            _ => None,
        },
        Error::HyperError(_) | Error::Service(_) => Some(None),
        _ => None,
    }
}
