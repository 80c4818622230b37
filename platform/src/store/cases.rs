//! 差评整改: the cases bad ratings open, read by the department's clerks and the 好差评 office,
//! answered once (回访, 整改, the reply the rater reads on the progress page); and the counts
//! statistics show — ratings of completion by level and indicator, cases open, overdue and
//! answered (on time) per department.
//!
//! A case never says who rated: a rating keeps the application and where it was given (a
//! terminal, or the web), and clerks are not even shown the application's number.

use kiosk_protocol::{RatingIndicators, RatingReason};

use super::sql::args;
use super::terminal::today;
use super::{Store, StoreError, now_rfc3339};

/// Whose cases a reader sees.
#[derive(Debug, Clone, Copy)]
pub enum CaseScope<'a> {
    /// Every department's (the 好差评 office: admins).
    All,
    /// Those of the departments this operator is a clerk of.
    ClerkOf(&'a str),
}

impl CaseScope<'_> {
    /// The operator whose departments bound the query; `None` for every department.
    fn clerk(self) -> Option<String> {
        match self {
            CaseScope::All => None,
            CaseScope::ClerkOf(name) => Some(name.to_owned()),
        }
    }
}

/// One 差评 case with the rating that opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatingCase {
    /// Its id.
    pub id: i64,
    /// The application rated (shown to the 好差评 office only).
    pub application_no: String,
    /// The department that must answer.
    pub department: String,
    /// The matter.
    pub matter_id: String,
    /// `completion` (cases are opened by ratings of completion).
    pub stage: String,
    /// 1 or 2.
    pub level: u8,
    /// The national indicators, when given.
    pub indicators: Option<RatingIndicators>,
    /// Why, as the rater chose it.
    pub reason: Option<RatingReason>,
    /// `terminal` or `web`.
    pub channel: String,
    /// The site of the terminal it was given at.
    pub site: Option<String>,
    /// When the case was opened, RFC 3339.
    pub opened_at: String,
    /// The day it must be answered by.
    pub due_on: String,
    /// The answer, once given.
    pub answer: Option<GivenAnswer>,
}

impl RatingCase {
    /// Open past its day.
    pub fn overdue(&self, today: &str) -> bool {
        self.answer.is_none() && self.due_on.as_str() < today
    }
}

/// What a department answers to a case.
#[derive(Clone, PartialEq, Eq)]
pub struct CaseAnswer {
    /// 回访: how the rater was followed up and what they said.
    pub visit: String,
    /// 整改: what was changed.
    pub rectification: String,
    /// The reply the rater reads on the progress page.
    pub reply: String,
}

/// Free text a clerk wrote about a citizen: never printed whole in a log.
impl std::fmt::Debug for CaseAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaseAnswer")
            .field("visit_chars", &self.visit.chars().count())
            .field("rectification_chars", &self.rectification.chars().count())
            .field("reply_chars", &self.reply.chars().count())
            .finish()
    }
}

/// An answer as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenAnswer {
    /// What was answered.
    pub answer: CaseAnswer,
    /// When, RFC 3339.
    pub answered_at: String,
    /// By whom.
    pub answered_by: String,
}

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseOutcome {
    /// Recorded; the case is closed.
    Answered,
    /// The case was answered before (by this or another reader); nothing changed.
    AlreadyAnswered,
    /// No such case, or not one of the reader's departments.
    Unknown,
}

/// Ratings of completion of one department.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepartmentRatings {
    /// The department's id.
    pub department: String,
    /// Ratings at levels 1 to 5 (index 0 is ★1).
    pub levels: [i64; 5],
    /// Ratings that carry the indicators.
    pub indicated: i64,
    /// Sums of 整体满意度, 服务效率, 服务水平, 服务态度 over those.
    pub indicator_sums: [i64; 4],
}

/// The cases of one department.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepartmentCases {
    /// The department's id.
    pub department: String,
    /// Cases opened.
    pub total: i64,
    /// Not answered yet.
    pub open: i64,
    /// Not answered and past their day.
    pub overdue: i64,
    /// Answered.
    pub answered: i64,
    /// Answered by their day.
    pub answered_on_time: i64,
}

fn reason_of(name: Option<String>) -> Option<RatingReason> {
    name.and_then(|n| serde_json::from_value(serde_json::Value::String(n)).ok())
}

fn level(value: i64) -> u8 {
    u8::try_from(value).unwrap_or(0)
}

/// At most this many cases on one page (the open ones first).
pub const CASES_SHOWN: i64 = 200;

impl Store {
    /// The cases `scope` may read, at most [`CASES_SHOWN`]: open ones first, then the
    /// answered, each by due day; `open_only` leaves the answered out.
    pub async fn rating_cases(
        &self,
        scope: CaseScope<'_>,
        open_only: bool,
    ) -> Result<Vec<RatingCase>, StoreError> {
        let rows = self
            .rows(
                "SELECT c.id, c.application_no, c.department, r.matter_id, r.stage, r.level,
                        COALESCE(r.overall, 0), COALESCE(r.efficiency, 0),
                        COALESCE(r.competence, 0), COALESCE(r.attitude, 0), r.reason, r.channel,
                        t.site, c.opened_at, c.due_on, c.answered_at, c.answered_by, c.visit,
                        c.rectification, c.reply
                   FROM rating_cases c
                   JOIN ratings r ON r.id = c.rating_id
                   LEFT JOIN terminals t ON t.id = r.terminal_id
                  WHERE (CAST($1 AS TEXT) IS NULL OR c.department IN
                          (SELECT department FROM operator_departments WHERE operator = $1))
                    AND ($2 = 0 OR c.answered_at IS NULL)
                  ORDER BY CASE WHEN c.answered_at IS NULL THEN 0 ELSE 1 END, c.due_on, c.id DESC
                  LIMIT $3",
                args![scope.clerk(), i64::from(open_only), CASES_SHOWN],
            )
            .await?;
        rows.iter()
            .map(|r| {
                // 0: a rating given before the indicators were asked.
                let named = [r.int(6)?, r.int(7)?, r.int(8)?, r.int(9)?].map(level);
                let indicators = named.iter().all(|v| *v > 0).then(|| RatingIndicators {
                    overall: named[0],
                    efficiency: named[1],
                    competence: named[2],
                    attitude: named[3],
                });
                let answer = match r.opt_text(15)? {
                    Some(answered_at) => Some(GivenAnswer {
                        answer: CaseAnswer {
                            visit: r.opt_text(17)?.unwrap_or_default(),
                            rectification: r.opt_text(18)?.unwrap_or_default(),
                            reply: r.opt_text(19)?.unwrap_or_default(),
                        },
                        answered_at,
                        answered_by: r.opt_text(16)?.unwrap_or_default(),
                    }),
                    None => None,
                };
                Ok(RatingCase {
                    id: r.int(0)?,
                    application_no: r.text(1)?,
                    department: r.text(2)?,
                    matter_id: r.text(3)?,
                    stage: r.text(4)?,
                    level: level(r.int(5)?),
                    indicators,
                    reason: reason_of(r.opt_text(10)?),
                    channel: r.text(11)?,
                    site: r.opt_text(12)?,
                    opened_at: r.text(13)?,
                    due_on: r.text(14)?,
                    answer,
                })
            })
            .collect()
    }

    /// Answers case `id` as `operator` within `scope`, once; audited (the case and its
    /// department, not the words).
    pub async fn answer_case(
        &self,
        operator: &str,
        id: i64,
        scope: CaseScope<'_>,
        answer: &CaseAnswer,
    ) -> Result<CaseOutcome, StoreError> {
        let Some(row) = self
            .row(
                "SELECT department, answered_at FROM rating_cases
                  WHERE id = $1 AND (CAST($2 AS TEXT) IS NULL OR department IN
                          (SELECT department FROM operator_departments WHERE operator = $2))",
                args![id, scope.clerk()],
            )
            .await?
        else {
            return Ok(CaseOutcome::Unknown);
        };
        let department = row.text(0)?;
        if row.opt_text(1)?.is_some() {
            return Ok(CaseOutcome::AlreadyAnswered);
        }
        let changed = self
            .exec(
                "UPDATE rating_cases SET answered_at = $2, answered_by = $3, visit = $4,
                        rectification = $5, reply = $6
                  WHERE id = $1 AND answered_at IS NULL",
                args![
                    id,
                    now_rfc3339(),
                    operator,
                    answer.visit.trim(),
                    answer.rectification.trim(),
                    answer.reply.trim()
                ],
            )
            .await?;
        if changed == 0 {
            return Ok(CaseOutcome::AlreadyAnswered);
        }
        self.audit(
            operator,
            "rating_case_answered",
            &format!("case {id} ({department})"),
        )
        .await?;
        Ok(CaseOutcome::Answered)
    }

    /// Ratings of completion per department, by level, with the indicators' sums.
    pub async fn completion_ratings_by_department(
        &self,
    ) -> Result<Vec<DepartmentRatings>, StoreError> {
        let rows = self
            .rows(
                "SELECT COALESCE(a.department, ''), r.level, COUNT(*),
                        SUM(CASE WHEN r.overall IS NULL THEN 0 ELSE 1 END),
                        COALESCE(SUM(r.overall), 0), COALESCE(SUM(r.efficiency), 0),
                        COALESCE(SUM(r.competence), 0), COALESCE(SUM(r.attitude), 0)
                   FROM ratings r JOIN applications a ON a.application_no = r.application_no
                  WHERE r.stage = 'completion'
                  GROUP BY COALESCE(a.department, ''), r.level
                  ORDER BY 1, 2",
                args![],
            )
            .await?;
        let mut out: Vec<DepartmentRatings> = Vec::new();
        for r in &rows {
            let department = r.text(0)?;
            if out.last().is_none_or(|d| d.department != department) {
                out.push(DepartmentRatings {
                    department,
                    ..Default::default()
                });
            }
            let Some(d) = out.last_mut() else { continue };
            if let Some(slot) = usize::try_from(r.int(1)? - 1)
                .ok()
                .and_then(|i| d.levels.get_mut(i))
            {
                *slot += r.int(2)?;
            }
            d.indicated += r.int(3)?;
            for (i, sum) in d.indicator_sums.iter_mut().enumerate() {
                *sum += r.int(4 + i)?;
            }
        }
        Ok(out)
    }

    /// Cases per department: opened, open, overdue (today in Beijing), answered, on time.
    pub async fn cases_by_department(&self) -> Result<Vec<DepartmentCases>, StoreError> {
        let rows = self
            .rows(
                "SELECT department, COUNT(*),
                        SUM(CASE WHEN answered_at IS NULL THEN 1 ELSE 0 END),
                        SUM(CASE WHEN answered_at IS NULL AND due_on < $1 THEN 1 ELSE 0 END),
                        SUM(CASE WHEN answered_at IS NOT NULL AND SUBSTR(answered_at, 1, 10) <= due_on
                                 THEN 1 ELSE 0 END)
                   FROM rating_cases GROUP BY department ORDER BY department",
                args![today()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let (total, open) = (r.int(1)?, r.int(2)?);
                Ok(DepartmentCases {
                    department: r.text(0)?,
                    total,
                    open,
                    overdue: r.int(3)?,
                    answered: total - open,
                    answered_on_time: r.int(4)?,
                })
            })
            .collect()
    }
}
