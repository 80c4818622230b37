//! The items table: applications, ratings and audit events, kept, handed to the sender in
//! order, and removed once the platform acknowledged them.

use std::time::Duration;

use kiosk_protocol::sealing::{parse_sealing_key, seal};
use kiosk_protocol::{ApplicationReceipt, ApplicationRequest, RatingRequest};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use zeroize::Zeroizing;

use super::materials::seal_material;
use super::{DELIVERED_MEMORY_SECS, MAX_BACKOFF_SECS, Outbox, OutboxError};

/// What one item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A sealed application.
    Application,
    /// A 好差评 rating.
    Rating,
    /// An entry of the terminal's audit trail.
    Event,
}

impl ItemKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ItemKind::Application => "application",
            ItemKind::Rating => "rating",
            ItemKind::Event => "event",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "application" => Some(ItemKind::Application),
            "rating" => Some(ItemKind::Rating),
            "event" => Some(ItemKind::Event),
            _ => None,
        }
    }
}

/// One waiting item, as the sender sees it.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// Row id.
    pub id: i64,
    /// What it is.
    pub kind: ItemKind,
    /// Idempotency key (applications) or a unique key (ratings).
    pub key: String,
    /// The body exactly as it will be sent.
    pub body: Vec<u8>,
    /// Attempts so far.
    pub attempts: u32,
}

/// How the outbox is doing, for `kiosk outbox status`, heartbeats and the technician.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    /// Items waiting.
    pub depth: u32,
    /// Applications among them.
    pub applications: u32,
    /// Ratings among them.
    pub ratings: u32,
    /// Materials among them (waiting for their application, or being uploaded).
    pub materials: u32,
    /// Items the platform refused for good (kept for the technician, never retried).
    pub refused: u32,
    /// Age of the oldest waiting item, seconds.
    pub oldest_secs: Option<i64>,
    /// The last delivery error, if the newest attempt failed.
    pub last_error: Option<String>,
    /// The most items it holds.
    pub capacity: u32,
}

impl Outbox {
    /// Durably keeps an application, sealed to the platform's key (hex), under its idempotency
    /// key; returns the terminal's reference for it. Keeping the same key twice keeps one item.
    pub fn keep_application(
        &self,
        key: &str,
        request: &ApplicationRequest,
        sealing_key: Option<&str>,
    ) -> Result<String, OutboxError> {
        self.keep_application_with_materials(key, request, &[], sealing_key)
    }

    /// Keeps an application and its materials (one PDF each, by material index) in one
    /// transaction: after a power cut either all of them are here or none, so an application
    /// never leaves without the pages the citizen photographed for it. Every material is
    /// checked and sealed before anything is written; one that would be refused refuses the
    /// whole, and nothing is kept.
    pub fn keep_application_with_materials(
        &self,
        key: &str,
        request: &ApplicationRequest,
        materials: &[(u16, &[u8])],
        sealing_key: Option<&str>,
    ) -> Result<String, OutboxError> {
        let platform = sealing_key
            .and_then(|hex| parse_sealing_key(hex).ok())
            .ok_or(OutboxError::NoSealingKey)?;
        let plain = Zeroizing::new(
            serde_json::to_vec(request).map_err(|e| OutboxError::Encode(e.to_string()))?,
        );
        let sealed = seal(&platform, &plain).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let sealed_materials = materials
            .iter()
            .map(|(index, pdf)| Ok((*index, seal_material(&platform, pdf)?)))
            .collect::<Result<Vec<_>, OutboxError>>()?;
        let needed: u64 = sealed.len() as u64
            + sealed_materials
                .iter()
                .map(|(_, (body, _))| body.len() as u64)
                .sum::<u64>();
        self.check_disk_room(needed)?;
        let reference = reference_for(key);
        self.write(|tx| {
            self.insert_in(
                tx,
                ItemKind::Application,
                key,
                Some(&reference),
                None,
                &sealed,
            )?;
            for (index, (body, sha256)) in &sealed_materials {
                self.keep_material_in(tx, key, *index, body, sha256)?;
            }
            Ok(())
        })?;
        Ok(reference)
    }

    /// Durably keeps a rating. A rating of an application still waiting here (named by its
    /// reference) is sent after it, with the platform's number.
    pub fn keep_rating(&self, rating: &RatingRequest) -> Result<(), OutboxError> {
        let body = serde_json::to_vec(rating).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let key = format!("rating-{}", rating.application_no);
        let depends_on: Option<String> = self
            .lock()
            .query_row(
                "SELECT key FROM items WHERE reference = ?1 AND kind = 'application'",
                params![rating.application_no],
                |row| row.get(0),
            )
            .optional()
            .map_err(|e| self.storage(e))?;
        self.insert(ItemKind::Rating, &key, None, depends_on.as_deref(), &body)
    }

    /// Durably keeps an entry of the audit trail (maintenance entered, a wrong PIN…).
    pub fn keep_event(&self, kind: &str, detail: &str) -> Result<(), OutboxError> {
        let at = self.now();
        let event = kiosk_protocol::TerminalEvent {
            kind: kind.to_owned(),
            detail: detail.to_owned(),
            at,
        };
        let body = serde_json::to_vec(&event).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| OutboxError::Encode(e.to_string()))?;
        let key = format!("event-{at}-{}", kiosk_protocol::auth::hex_encode(&nonce));
        self.insert(ItemKind::Event, &key, None, None, &body)
    }

    fn insert(
        &self,
        kind: ItemKind,
        key: &str,
        reference: Option<&str>,
        depends_on: Option<&str>,
        body: &[u8],
    ) -> Result<(), OutboxError> {
        self.write(|tx| self.insert_in(tx, kind, key, reference, depends_on, body))
    }

    /// Inserts an item in `tx` unless one with its key is there already.
    fn insert_in(
        &self,
        tx: &rusqlite::Transaction<'_>,
        kind: ItemKind,
        key: &str,
        reference: Option<&str>,
        depends_on: Option<&str>,
        body: &[u8],
    ) -> Result<(), OutboxError> {
        let depth: u32 = tx
            .query_row("SELECT count(*) FROM items", [], |row| row.get(0))
            .map_err(|e| self.storage(e))?;
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM items WHERE key = ?1)",
                params![key],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        if exists {
            return Ok(());
        }
        if depth >= self.capacity {
            return Err(OutboxError::Full(depth));
        }
        tx.execute(
            "INSERT INTO items (kind, key, reference, depends_on, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![kind.as_str(), key, reference, depends_on, body, self.now()],
        )
        .map_err(|e| self.storage(e))?;
        Ok(())
    }

    /// The items due for delivery now, oldest first; an item waiting for another is not due.
    pub fn due(&self, limit: u32) -> Result<Vec<OutboxItem>, OutboxError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare_cached(
                "SELECT id, kind, key, body, attempts FROM items
                 WHERE refused = 0
                   -- Due, or postponed further than any backoff can: the clock stepped back.
                   AND (next_attempt_at <= ?1 OR next_attempt_at > ?1 + 300)
                   AND (depends_on IS NULL OR depends_on NOT IN (SELECT key FROM items))
                 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.storage(e))?;
        let rows = statement
            .query_map(params![self.now(), limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                    row.get::<_, u32>(4)?,
                ))
            })
            .map_err(|e| self.storage(e))?;
        let mut items = Vec::new();
        for row in rows {
            let (id, kind, key, body, attempts) = row.map_err(|e| self.storage(e))?;
            let Some(kind) = ItemKind::parse(&kind) else {
                continue;
            };
            items.push(OutboxItem {
                id,
                kind,
                key,
                body,
                attempts,
            });
        }
        Ok(items)
    }

    /// The platform acknowledged `item`: it is removed. An acknowledged application hands its
    /// number to the ratings waiting for it.
    pub fn acknowledge(
        &self,
        item: &OutboxItem,
        receipt: Option<&ApplicationReceipt>,
    ) -> Result<(), OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.storage(e))?;
        if let Some(receipt) = receipt {
            tx.execute(
                "UPDATE items SET body = CAST(json_set(CAST(body AS TEXT), '$.application_no', ?2) AS BLOB)
                 WHERE depends_on = ?1",
                params![item.key, receipt.application_no],
            )
            .map_err(|e| self.storage(e))?;
        }
        if let (ItemKind::Application, Some(receipt)) = (item.kind, receipt) {
            // Its materials are uploaded under this number; forget numbers long delivered
            // whose materials are all gone.
            let now = self.now();
            tx.execute(
                "INSERT INTO delivered (key, application_no, delivered_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET application_no = excluded.application_no",
                params![item.key, receipt.application_no, now],
            )
            .map_err(|e| self.storage(e))?;
            tx.execute(
                "DELETE FROM delivered WHERE delivered_at < ?1
                   AND key NOT IN (SELECT application_key FROM materials)",
                params![now - DELIVERED_MEMORY_SECS],
            )
            .map_err(|e| self.storage(e))?;
        }
        tx.execute("DELETE FROM items WHERE id = ?1", params![item.id])
            .map_err(|e| self.storage(e))?;
        tx.commit().map_err(|e| self.storage(e))
    }

    /// Delivery failed for a reason that may pass: try again after a backoff that doubles
    /// with every attempt (capped at five minutes).
    pub fn postpone(&self, item: &OutboxItem, error: &str) -> Result<(), OutboxError> {
        self.postpone_row(
            "UPDATE items SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
            item.id,
            item.attempts,
            error,
        )
    }

    /// The platform refused the item for good: it is kept aside for the technician and never
    /// sent again (a citizen's application is never silently dropped).
    /// A refused application's materials are kept aside with it, never uploaded.
    pub fn refuse(&self, item: &OutboxItem, error: &str) -> Result<(), OutboxError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.storage(e))?;
        tx.execute(
            "UPDATE items SET refused = 1, attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
            params![item.id, error],
        )
        .map_err(|e| self.storage(e))?;
        if item.kind == ItemKind::Application {
            tx.execute(
                "UPDATE materials SET refused = 1, last_error = ?2 WHERE application_key = ?1",
                params![item.key, format!("its application was refused: {error}")],
            )
            .map_err(|e| self.storage(e))?;
        }
        tx.commit().map_err(|e| self.storage(e))
    }

    /// Makes every waiting item due now (`kiosk outbox flush`, or the platform came back).
    pub fn retry_now(&self) -> Result<(), OutboxError> {
        self.lock()
            .execute_batch(
                "UPDATE items SET next_attempt_at = 0 WHERE refused = 0;
                 UPDATE materials SET next_attempt_at = 0 WHERE refused = 0;",
            )
            .map_err(|e| self.storage(e))?;
        self.changed.notify_one();
        Ok(())
    }

    /// How long until the earliest postponed item is due (`None`: nothing waits).
    pub fn next_due_in(&self) -> Result<Option<Duration>, OutboxError> {
        let at: Option<i64> = self
            .lock()
            .query_row(
                "SELECT min(at) FROM (
                     SELECT next_attempt_at AS at FROM items WHERE refused = 0
                     UNION ALL
                     SELECT m.next_attempt_at FROM materials m
                       JOIN delivered d ON d.key = m.application_key
                      WHERE m.refused = 0)",
                [],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))?;
        // Never longer than the longest backoff: a wait beyond it means the clock stepped back
        // after the item was postponed, and the item is due now.
        Ok(at.map(|at| {
            let wait = at - self.now();
            Duration::from_secs(if wait > MAX_BACKOFF_SECS {
                0
            } else {
                u64::try_from(wait).unwrap_or(0)
            })
        }))
    }

    /// Whether the item under `key` is still waiting.
    pub fn holds(&self, key: &str) -> Result<bool, OutboxError> {
        self.lock()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM items WHERE key = ?1)",
                params![key],
                |row| row.get(0),
            )
            .map_err(|e| self.storage(e))
    }

    /// How the outbox is doing.
    pub fn status(&self) -> Result<OutboxStatus, OutboxError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT count(*) + (SELECT count(*) FROM materials),
                    count(*) FILTER (WHERE kind = 'application' AND refused = 0),
                    count(*) FILTER (WHERE kind = 'rating' AND refused = 0),
                    count(*) FILTER (WHERE refused = 1)
                      + (SELECT count(*) FROM materials WHERE refused = 1),
                    min(coalesce(min(created_at), (SELECT min(created_at) FROM materials)),
                        coalesce((SELECT min(created_at) FROM materials), min(created_at))),
                    coalesce(
                      (SELECT last_error FROM items WHERE attempts > 0 ORDER BY id DESC LIMIT 1),
                      (SELECT last_error FROM materials WHERE attempts > 0 ORDER BY id DESC LIMIT 1)),
                    (SELECT count(*) FROM materials WHERE refused = 0)
             FROM items",
            [],
            |row| {
                Ok(OutboxStatus {
                    depth: row.get(0)?,
                    applications: row.get(1)?,
                    ratings: row.get(2)?,
                    materials: row.get(6)?,
                    refused: row.get(3)?,
                    oldest_secs: row
                        .get::<_, Option<i64>>(4)?
                        .map(|t| (self.now() - t).max(0)),
                    last_error: row.get(5)?,
                    capacity: self.capacity,
                })
            },
        )
        .map_err(|e| self.storage(e))
    }
}

/// The terminal's reference for an application it keeps: printed on the receipt while the
/// platform's number is not known yet, and how a rating names that application.
pub fn reference_for(key: &str) -> String {
    let hex: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("LYT{hex}")
}
