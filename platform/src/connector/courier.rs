//! The courier: the task `serve` starts that sends due deliveries to departments' systems.
//!
//! Every `poll` it asks the store which departments have deliveries due, and for each claims
//! as many as that department has free places ([`CourierSettings::per_department`]): a
//! department whose system hangs fills its own places and no other's, and each send ends at
//! [`CourierSettings::timeout`]. A claim is a lease in the database (see
//! [`Store::claim_deliveries`]), so several platform instances share the queue and a delivery
//! held by an instance that died is taken up by another once the lease ends.
//!
//! A send ends as delivered (2xx), dead at once (a 4xx other than 408 and 429, or a redirect:
//! a request the receiver refuses will be refused again, and redirects are not followed so a
//! signed body goes nowhere an admin did not name), or retried after an exponential backoff
//! with jitter (timeouts, connection errors, 5xx, 408, 429) until
//! [`CourierSettings::max_attempts`] or [`CourierSettings::max_age`], then dead.
//!
//! The HTTP client is reqwest, already the platform's (and the terminal's) client, over the
//! rustls already in the tree: without a pin it checks certificates against the system's trust
//! store (rustls-platform-verifier), which is what a department's public certificate needs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::{payload, signing};
use crate::store::connectors::unix_millis;
use crate::store::{ClaimedDelivery, SendOutcome, Store, StoreError};

/// How the courier sends and retries.
#[derive(Debug, Clone)]
pub struct CourierSettings {
    /// The first retry's delay; each next one doubles it.
    pub backoff: Duration,
    /// The longest delay between retries.
    pub backoff_cap: Duration,
    /// How long one send may take, connecting included.
    pub timeout: Duration,
    /// Sends after which a delivery is dead.
    pub max_attempts: u32,
    /// Age after which a delivery failing again is dead.
    pub max_age: Duration,
    /// How long after acceptance the first send waits, so the materials the terminal uploads
    /// after its receipt are in it.
    pub settle: Duration,
    /// How long a delivery waits for materials announced and not yet complete.
    pub material_wait: Duration,
    /// Sends to one department at once.
    pub per_department: usize,
    /// How often the queue is looked at.
    pub poll: Duration,
}

impl Default for CourierSettings {
    fn default() -> Self {
        CourierSettings {
            backoff: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(3600),
            timeout: Duration::from_secs(60),
            max_attempts: 30,
            max_age: Duration::from_secs(24 * 3600),
            settle: Duration::from_secs(30),
            material_wait: Duration::from_secs(3600),
            per_department: 4,
            poll: Duration::from_secs(1),
        }
    }
}

impl CourierSettings {
    /// The delay before retry number `attempts` (the first retry follows attempt 1):
    /// `backoff · 2^(attempts-1)`, capped, of which the second half is random so the retries
    /// of many deliveries failing together spread out.
    pub fn retry_delay(&self, attempts: i64, random: u64) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let full = self
            .backoff
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_cap);
        let millis = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
        let half = millis / 2;
        Duration::from_millis(half + random % (millis - half + 1))
    }

    /// How long a claim lasts: a send's timeout and a margin for writing its outcome.
    fn lease(&self) -> Duration {
        self.timeout.saturating_mul(2) + Duration::from_secs(30)
    }
}

/// Starts the courier on the current runtime; it runs until the runtime stops.
pub fn spawn_courier(
    store: Store,
    settings: CourierSettings,
) -> Result<tokio::task::JoinHandle<()>, reqwest::Error> {
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "lyb-platform-connector/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()?;
    let courier = Courier {
        store,
        client,
        settings: Arc::new(settings),
        places: HashMap::new(),
    };
    Ok(tokio::spawn(courier.run()))
}

struct Courier {
    store: Store,
    client: reqwest::Client,
    settings: Arc<CourierSettings>,
    /// Each department's free places for sends.
    places: HashMap<String, Arc<Semaphore>>,
}

impl Courier {
    async fn run(mut self) {
        loop {
            let claimed = match self.round().await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery queue unavailable");
                    0
                }
            };
            if claimed == 0 {
                tokio::time::sleep(self.settings.poll).await;
            } else {
                // Sends just started: let them run before looking again.
                tokio::task::yield_now().await;
            }
        }
    }

    /// Claims and starts what is due; how many sends it started.
    async fn round(&mut self) -> Result<usize, StoreError> {
        let now = unix_millis();
        let mut started = 0;
        for department in self.store.departments_due(now).await? {
            let places = self
                .places
                .entry(department.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.settings.per_department.max(1))))
                .clone();
            let free = places.available_permits();
            if free == 0 {
                continue;
            }
            let lease = now + millis(self.settings.lease());
            let claimed = self
                .store
                .claim_deliveries(
                    &department,
                    now,
                    millis(self.settings.settle),
                    lease,
                    i64::try_from(free).unwrap_or(1),
                )
                .await?;
            for delivery in claimed {
                // Only this loop takes places, so the ones counted free are still free.
                let Ok(place) = places.clone().try_acquire_owned() else {
                    break;
                };
                started += 1;
                let send = Send {
                    store: self.store.clone(),
                    client: self.client.clone(),
                    settings: self.settings.clone(),
                    department: department.clone(),
                };
                tokio::spawn(async move {
                    send.deliver(delivery).await;
                    drop(place);
                });
            }
        }
        Ok(started)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One send and the recording of how it ended.
struct Send {
    store: Store,
    client: reqwest::Client,
    settings: Arc<CourierSettings>,
    department: String,
}

impl Send {
    async fn deliver(self, delivery: ClaimedDelivery) {
        let outcome = self.attempt(&delivery).await;
        match &outcome {
            SendOutcome::Delivered => tracing::info!(
                delivery = %delivery.id, department = %self.department,
                attempts = delivery.attempts, "delivered"
            ),
            SendOutcome::Retry { error, .. } => tracing::warn!(
                delivery = %delivery.id, department = %self.department,
                attempts = delivery.attempts, error = %error, "delivery failed; will retry"
            ),
            SendOutcome::Dead { error } => tracing::error!(
                delivery = %delivery.id, department = %self.department,
                attempts = delivery.attempts, error = %error, "delivery given up: dead letter"
            ),
            SendOutcome::Postpone { .. } => {}
        }
        match self.store.finish_delivery(&delivery, &outcome).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                delivery = %delivery.id,
                "a delivery's claim lapsed before its send ended; another courier holds it"
            ),
            // The lease ends and the delivery is sent again: the receiver deduplicates by id.
            Err(e) => tracing::warn!(delivery = %delivery.id, error = %e, "cannot record a send"),
        }
    }

    async fn attempt(&self, delivery: &ClaimedDelivery) -> SendOutcome {
        let now = unix_millis();
        let later = |after: Duration| now + millis(after);
        let endpoint = match self.store.connector_endpoint(&self.department).await {
            Ok(Some(endpoint)) => endpoint,
            // Disabled since it was claimed: kept, uncounted, for when it is enabled again.
            Ok(None) => {
                return SendOutcome::Postpone {
                    at: later(self.settings.backoff_cap),
                };
            }
            Err(e) => return self.failed(delivery, now, format!("store: {e}")),
        };
        let contents = match self.store.delivery_contents(&delivery.application_no).await {
            Ok(contents) => contents,
            Err(StoreError::UnknownApplication) => {
                return SendOutcome::Dead {
                    error: "the application is no longer stored".into(),
                };
            }
            Err(e) => return self.failed(delivery, now, format!("store: {e}")),
        };
        if contents.incomplete > 0 && now - delivery.queued_at < millis(self.settings.material_wait)
        {
            return SendOutcome::Postpone {
                at: later(self.settings.settle.max(Duration::from_secs(1))),
            };
        }
        let mut body = match payload::body(&delivery.id, &contents) {
            Ok(body) => body,
            Err(e) => {
                return SendOutcome::Dead {
                    error: format!("cannot write the body: {e}"),
                };
            }
        };
        drop(contents);
        let (url, secret) = endpoint;
        let timestamp = now / 1000;
        let signature = signing::signature(&secret, timestamp, &body);
        let answer = self
            .client
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signing::DELIVERY_ID_HEADER, delivery.id.as_str())
            .header(signing::TIMESTAMP_HEADER, timestamp.to_string())
            .header(signing::SIGNATURE_HEADER, signature)
            // Moved, not copied: the one copy of the personal data is the one sent.
            .body(std::mem::take(&mut *body))
            .send()
            .await;
        drop(body);
        match answer {
            Ok(answer) => self.judge(delivery, now, answer.status()),
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                self.failed(delivery, now, format!("{what}: {}", without_url(&e)))
            }
        }
    }

    /// What an answer's status means for the delivery.
    fn judge(
        &self,
        delivery: &ClaimedDelivery,
        now: i64,
        status: reqwest::StatusCode,
    ) -> SendOutcome {
        let code = status.as_u16();
        if status.is_success() {
            SendOutcome::Delivered
        } else if code == 408 || code == 429 || status.is_server_error() {
            self.failed(delivery, now, format!("HTTP {code}"))
        } else if status.is_redirection() {
            SendOutcome::Dead {
                error: format!(
                    "HTTP {code}: redirects are not followed; correct the connector's URL"
                ),
            }
        } else {
            SendOutcome::Dead {
                error: format!("HTTP {code}: refused by the department's system"),
            }
        }
    }

    /// A send that may succeed later: retried, or dead once out of attempts or time.
    fn failed(&self, delivery: &ClaimedDelivery, now: i64, error: String) -> SendOutcome {
        let attempts = delivery.attempts;
        let too_old = now - delivery.queued_at >= millis(self.settings.max_age);
        if attempts >= i64::from(self.settings.max_attempts) || too_old {
            return SendOutcome::Dead {
                error: format!("{error} (gave up after {attempts} attempts)"),
            };
        }
        let mut random = [0u8; 8];
        let _ = getrandom::fill(&mut random);
        let delay = self
            .settings
            .retry_delay(attempts, u64::from_le_bytes(random));
        SendOutcome::Retry {
            at: now + millis(delay),
            error,
        }
    }
}

/// An error's text without the URL reqwest puts in it (it is on the connector's page already).
fn without_url(e: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut deepest = None;
    while let Some(s) = source {
        deepest = Some(s.to_string());
        source = s.source();
    }
    deepest.unwrap_or_else(|| "no detail".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_the_backoff_up_to_the_cap_with_jitter_in_the_second_half() {
        let settings = CourierSettings::default();
        let at = |attempts, random| settings.retry_delay(attempts, random).as_secs();
        assert_eq!(at(1, 0), 5);
        assert!((5..=10).contains(&at(1, 12_345)));
        assert_eq!(at(2, 0), 10);
        assert_eq!(at(4, 0), 40);
        assert_eq!(
            at(20, 0),
            1800,
            "capped at an hour, of which half is random"
        );
        assert!(at(20, 999_999) <= 3600);
        assert_eq!(at(0, 0), 5, "no attempt yet counts as the first");
    }
}
