//! 好差评 of a completed application: given once, at any terminal by the applicant whose card
//! is on the reader, or on the public progress page with the receipt's code. The rater is never
//! recorded (a completion rating keeps the terminal it came from, not who stood at it); a ★1–2
//! rating opens a case (差评整改) the department must answer within a number of working days.

use kiosk_protocol::{RatingIndicators, RatingReason, RatingRequest, RatingStage};

use super::sql::{Executor, Transaction, args};
use super::{Store, StoreError, now_beijing, now_rfc3339};
use crate::lifecycle::{Calendar, IllegalChange, RATING_CASE_WORKING_DAYS, iso_day};

/// Where a rating of completion was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatingChannel {
    /// At this terminal, the applicant's card checked.
    Terminal(String),
    /// On the public progress page, with the receipt's code.
    Web,
}

/// A rating of completion about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRating {
    /// The application.
    pub application_no: String,
    /// Where it was given.
    pub channel: RatingChannel,
    /// 1 to 5.
    pub level: u8,
    /// Why, for ★1–2.
    pub reason: Option<RatingReason>,
    /// The four national indicators.
    pub indicators: RatingIndicators,
}

/// What a recorded rating of completion led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatedCompletion {
    /// The case a bad rating opened, by id.
    pub case: Option<i64>,
}

/// The setting naming the working days a department has to answer a bad rating.
const CASE_DAYS_SETTING: &str = "rating_case_working_days";

struct NewCompletionRating {
    rating: CompletionRating,
    /// When given through a terminal: the holder key of the card on its reader, which must be
    /// the application's.
    holder_key: Option<String>,
    rated_at: String,
    /// The day a case opened now is due.
    case_due_on: String,
}

fn reason_name(reason: Option<RatingReason>) -> Result<Option<String>, StoreError> {
    Ok(reason
        .map(serde_json::to_value)
        .transpose()?
        .and_then(|v| v.as_str().map(str::to_owned)))
}

impl Transaction for NewCompletionRating {
    type Output = RatedCompletion;

    async fn run(self, on: &mut impl Executor) -> Result<RatedCompletion, StoreError> {
        let rating = &self.rating;
        let row = on
            .row(
                "SELECT state, matter_id, COALESCE(department, ''), COALESCE(holder_key, '') FROM applications
                 WHERE application_no = $1",
                args![&rating.application_no],
            )
            .await?
            .ok_or(StoreError::UnknownApplication)?;
        let (state, matter_id, department, holder) =
            (row.text(0)?, row.text(1)?, row.text(2)?, row.text(3)?);
        // Another card than the applicant's learns nothing: the same answer as no application.
        if let Some(given) = &self.holder_key
            && !crate::keys::same_secret(given.as_bytes(), holder.as_bytes())
        {
            return Err(StoreError::UnknownApplication);
        }
        let state = kiosk_protocol::ApplicationState::parse(&state)
            .ok_or_else(|| StoreError::Task("an application has an unknown state".into()))?;
        if !state.is_finished() {
            return Err(StoreError::Illegal(IllegalChange::NotFrom {
                from: state,
                action: "rate_completion",
            }));
        }
        let (terminal, channel) = match &rating.channel {
            RatingChannel::Terminal(id) => (Some(id.clone()), "terminal"),
            RatingChannel::Web => (None, "web"),
        };
        let i = rating.indicators;
        let inserted = on
            .row(
                "INSERT INTO ratings (application_no, stage, matter_id, terminal_id, channel, level, reason,
                                      overall, efficiency, competence, attitude, rated_at)
                 VALUES ($1, 'completion', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (application_no, stage) DO NOTHING RETURNING id",
                args![
                    &rating.application_no,
                    &matter_id,
                    terminal,
                    channel,
                    i64::from(rating.level),
                    reason_name(rating.reason)?,
                    i64::from(i.overall),
                    i64::from(i.efficiency),
                    i64::from(i.competence),
                    i64::from(i.attitude),
                    &self.rated_at
                ],
            )
            .await?
            .ok_or(StoreError::AlreadyRated)?;
        let rating_id = inserted.int(0)?;
        if rating.level > 2 {
            return Ok(RatedCompletion { case: None });
        }
        let case = on
            .row(
                "INSERT INTO rating_cases (rating_id, application_no, department, opened_at, due_on)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                args![
                    rating_id,
                    &rating.application_no,
                    &department,
                    &self.rated_at,
                    &self.case_due_on
                ],
            )
            .await?
            .map(|r| r.int(0))
            .transpose()?;
        Ok(RatedCompletion { case })
    }
}

impl Store {
    /// Records a terminal's 好差评 rating: of the acceptance (the terminal that took the
    /// application, right after the receipt) or of the completion (any terminal, the card on its
    /// reader the applicant's).
    pub async fn rate(&self, rating: &RatingRequest) -> Result<RatedCompletion, StoreError> {
        match rating.stage {
            RatingStage::Acceptance => {
                self.rate_acceptance(rating).await?;
                Ok(RatedCompletion { case: None })
            }
            RatingStage::Completion => {
                let (Some(holder), Some(indicators)) = (&rating.holder, rating.indicators) else {
                    return Err(StoreError::UnknownApplication);
                };
                let holder_key = self.holder_key(&holder.id_number, &holder.name)?;
                self.rate_completion(
                    CompletionRating {
                        application_no: rating.application_no.clone(),
                        channel: RatingChannel::Terminal(rating.terminal_id.clone()),
                        level: rating.level,
                        reason: rating.reason,
                        indicators,
                    },
                    Some(holder_key),
                )
                .await
            }
        }
    }

    /// Records a rating of completion, once per application; `holder_key` (a terminal's card)
    /// must be the application's when given. A ★1–2 rating opens a case due in the configured
    /// working days.
    pub async fn rate_completion(
        &self,
        rating: CompletionRating,
        holder_key: Option<String>,
    ) -> Result<RatedCompletion, StoreError> {
        let calendar: Calendar = self.calendar().await?;
        let days = self.rating_case_days().await?;
        let case_due_on = iso_day(calendar.add_working_days(now_beijing().date(), days));
        self.transaction(NewCompletionRating {
            rating,
            holder_key,
            rated_at: now_rfc3339(),
            case_due_on,
        })
        .await
    }

    /// Working days a department has to answer a bad rating ([`RATING_CASE_WORKING_DAYS`]
    /// unless an administrator set another number).
    pub async fn rating_case_days(&self) -> Result<u16, StoreError> {
        let set = self
            .row(
                "SELECT value FROM settings WHERE name = 'rating_case_working_days'",
                args![],
            )
            .await?
            .map(|r| r.text(0))
            .transpose()?;
        Ok(set
            .and_then(|v| v.parse().ok())
            .filter(|d| (1..=60).contains(d))
            .unwrap_or(RATING_CASE_WORKING_DAYS))
    }

    /// Sets the working days a department has to answer a bad rating (1 to 60), audited.
    pub async fn set_rating_case_days(&self, operator: &str, days: u16) -> Result<(), StoreError> {
        if !(1..=60).contains(&days) {
            return Err(StoreError::Task("rating case days: 1 to 60".into()));
        }
        self.exec(
            "INSERT INTO settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            args![CASE_DAYS_SETTING, days.to_string()],
        )
        .await?;
        self.audit(
            operator,
            "rating_case_days",
            &format!("{days} working days"),
        )
        .await
    }
}
