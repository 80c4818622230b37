//! One application as the public progress page shows it: its state, due day and steps, the
//! 补正 still open, and the rating of its completion with the department's reply. Nothing here
//! names the applicant; the page is opened with the receipt's code, by whoever holds the paper.

use kiosk_protocol::{ApplicationStatus, CorrectionAsked};

use super::sql::args;
use super::{LifeEvent, StatusRow, Store, StoreError};

/// The rating of an application's completion, as its rater sees it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenRating {
    /// 1 to 5.
    pub level: u8,
    /// When, RFC 3339.
    pub rated_at: String,
    /// The department's reply to a ★1–2 rating, once its case is answered.
    pub reply: Option<String>,
}

/// What the public progress page shows of one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicProgress {
    /// State, due day and `rateable`; `history` holds the steps without the clerk's words
    /// ([`LifeEvent::for_public`]); `answers` is empty.
    pub status: ApplicationStatus,
    /// The department's id.
    pub department: String,
    /// The 补正 asked and not yet answered: its materials and day to answer by (the clerk's
    /// reason is left out: it may name the applicant).
    pub correction: Option<CorrectionAsked>,
    /// The rating of its completion, once given.
    pub rating: Option<GivenRating>,
}

impl Store {
    /// The public view of `application_no`; `None` for an unknown number. The caller has
    /// checked the progress code ([`Store::progress_code_matches`]).
    pub async fn public_progress(
        &self,
        application_no: &str,
    ) -> Result<Option<PublicProgress>, StoreError> {
        const SQL: &str = super::status_select!("WHERE a.application_no = $1");
        let Some(row) = self.row(SQL, args![application_no]).await? else {
            return Ok(None);
        };
        let mut status = StatusRow::read(&row)?.into_status()?;
        let department = self
            .row(
                "SELECT COALESCE(department, '') FROM applications WHERE application_no = $1",
                args![application_no],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()?
            .unwrap_or_default();
        let events = self.life_of(application_no).await?;
        status.history = events.iter().map(LifeEvent::for_public).collect();
        let correction = if status.state == kiosk_protocol::ApplicationState::NeedsMaterials {
            events
                .iter()
                .rev()
                .find_map(LifeEvent::correction)
                .map(|asked| CorrectionAsked {
                    reason: String::new(),
                    ..asked
                })
        } else {
            None
        };
        let rating = self
            .row(
                "SELECT r.level, r.rated_at, c.reply FROM ratings r
                   LEFT JOIN rating_cases c ON c.rating_id = r.id AND c.answered_at IS NOT NULL
                  WHERE r.application_no = $1 AND r.stage = 'completion'",
                args![application_no],
            )
            .await?
            .map(|r| -> Result<GivenRating, StoreError> {
                Ok(GivenRating {
                    level: u8::try_from(r.int(0)?).unwrap_or(0),
                    rated_at: r.text(1)?,
                    reply: r.opt_text(2)?.filter(|reply| !reply.trim().is_empty()),
                })
            })
            .transpose()?;
        Ok(Some(PublicProgress {
            status,
            department,
            correction,
            rating,
        }))
    }
}
