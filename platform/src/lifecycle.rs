//! An application's life after the terminal (一口受理、网上运转、限时办结): the states it may
//! pass through, who moves it, and when it is due.
//!
//! Pure rules, no I/O: the store applies a [`Change`] only when [`next_state`] allows it from
//! the state it reads in the same transaction, so the workbench, a department's connector and a
//! terminal answering a 补正 all go through one gate. Due dates count working days on a
//! [`Calendar`] (Monday to Friday, with the holidays and 调休 working weekends an administrator
//! records).

use std::collections::BTreeMap;

use kiosk_protocol::{ApplicationState, LocalizedText, TimeLimit};
use time::{Date, Duration, Weekday};

/// Working days a citizen has to hand in a material promised under 容缺受理.
pub const COMMITMENT_WORKING_DAYS: u16 = 10;

/// Working days a citizen has to answer a 补正, unless the clerk sets another day.
pub const CORRECTION_WORKING_DAYS: u16 = 5;

/// Working days a department has to answer a bad rating (差评整改), unless configured.
pub const RATING_CASE_WORKING_DAYS: u16 = 5;

/// Who moved an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A clerk in the console's workbench.
    Clerk(String),
    /// A department's own system, through its connector's inbound API.
    Department(String),
    /// A terminal, for the applicant whose card was on it (a 补正 answered).
    Terminal(String),
    /// The platform itself (acceptance).
    Platform,
}

impl Actor {
    /// How the actor is stored: `clerk:NAME`, `department:ID`, `terminal:ID`, `platform`.
    pub fn stored(&self) -> String {
        match self {
            Actor::Clerk(name) => format!("clerk:{name}"),
            Actor::Department(id) => format!("department:{id}"),
            Actor::Terminal(id) => format!("terminal:{id}"),
            Actor::Platform => "platform".into(),
        }
    }
}

/// What happens to an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// 开始审核: a clerk or the department's system takes it up.
    StartReview,
    /// 补正: materials or answers asked for again, and why.
    AskCorrection {
        /// Materials, by index in the matter's list.
        materials: Vec<u16>,
        /// Form fields, by id.
        fields: Vec<String>,
        /// Why, in the clerk's words (shown to the applicant, never on the public page).
        reason: String,
        /// The day it must be answered by, `YYYY-MM-DD`.
        answer_by: String,
    },
    /// 补正已提交: the applicant handed in what was asked, at a terminal.
    AnswerCorrection,
    /// 办结: approved and completed.
    Complete {
        /// What the clerk says with it (where to collect the result, ...), optional.
        note: String,
    },
    /// 不予办理: refused.
    Refuse {
        /// Why (required).
        reason: String,
    },
}

impl Change {
    /// The stored name of the change (`review_started`, `correction_asked`, ...).
    pub fn action(&self) -> &'static str {
        match self {
            Change::StartReview => "review_started",
            Change::AskCorrection { .. } => "correction_asked",
            Change::AnswerCorrection => "correction_answered",
            Change::Complete { .. } => "completed",
            Change::Refuse { .. } => "refused",
        }
    }

    /// The change named `action` by [`Change::action`], without its details.
    pub fn label_of(action: &str) -> LocalizedText {
        match action {
            "accepted" => LocalizedText::new("已受理", "Accepted"),
            "review_started" => LocalizedText::new("开始审核", "Review started"),
            "correction_asked" => LocalizedText::new("需补正材料", "More materials asked for"),
            "correction_answered" => LocalizedText::new("补正材料已提交", "Materials handed in"),
            "completed" => LocalizedText::new("已办结", "Completed"),
            "refused" => LocalizedText::new("不予办理", "Refused"),
            "commitment_received" => {
                LocalizedText::new("承诺材料已收到", "Promised material received")
            }
            _ => LocalizedText::new("状态更新", "Updated"),
        }
    }
}

/// Why a change cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IllegalChange {
    /// The application is finished: nothing more happens to it.
    #[error("the application is {} already: nothing more can change", .0.as_str())]
    Finished(ApplicationState),
    /// The change does not follow from the state.
    #[error("`{action}` cannot follow `{}`", .from.as_str())]
    NotFrom {
        /// The state it is in.
        from: ApplicationState,
        /// The change tried.
        action: &'static str,
    },
    /// A 补正 must ask for something, and say why.
    #[error("a 补正 names at least one material or answer, and a reason")]
    EmptyCorrection,
    /// A refusal must say why.
    #[error("a refusal needs a reason")]
    NoReason,
}

impl IllegalChange {
    /// The machine-readable code answered to a department's system or shown in the workbench.
    pub fn code(&self) -> &'static str {
        match self {
            IllegalChange::Finished(_) => "application_finished",
            IllegalChange::NotFrom { .. } => "illegal_transition",
            IllegalChange::EmptyCorrection => "empty_correction",
            IllegalChange::NoReason => "reason_required",
        }
    }
}

/// The state `change` leads to from `from`, if the state machine allows it:
///
/// ```text
/// accepted ──start──► in_review ──complete──► approved
///    │                 │   ▲   └──refuse───► rejected
///    │                 ▼   │ answer
///    └──ask 补正──► needs_materials
/// ```
///
/// Completing or refusing straight from `accepted` is allowed (即办 matters are decided at
/// once); a 补正 can be asked from `accepted` or `in_review`, and only the applicant's answer
/// leaves `needs_materials` (or a refusal, when the time to answer ran out).
pub fn next_state(
    from: ApplicationState,
    change: &Change,
) -> Result<ApplicationState, IllegalChange> {
    use ApplicationState as S;
    if from.is_finished() {
        return Err(IllegalChange::Finished(from));
    }
    match change {
        Change::AskCorrection {
            materials,
            fields,
            reason,
            ..
        } if (materials.is_empty() && fields.is_empty()) || reason.trim().is_empty() => {
            return Err(IllegalChange::EmptyCorrection);
        }
        Change::Refuse { reason } if reason.trim().is_empty() => {
            return Err(IllegalChange::NoReason);
        }
        _ => {}
    }
    let to = match (from, change) {
        (S::Accepted, Change::StartReview) => S::InReview,
        (S::Accepted | S::InReview, Change::AskCorrection { .. }) => S::NeedsMaterials,
        (S::NeedsMaterials, Change::AnswerCorrection) => S::InReview,
        (S::Accepted | S::InReview, Change::Complete { .. }) => S::Approved,
        (S::Accepted | S::InReview | S::NeedsMaterials, Change::Refuse { .. }) => S::Rejected,
        (from, change) => {
            return Err(IllegalChange::NotFrom {
                from,
                action: change.action(),
            });
        }
    };
    Ok(to)
}

/// Which days are working days: Monday to Friday, except the days an administrator recorded
/// otherwise (public holidays off, 调休 weekends on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    /// Days whose status differs from the weekday rule: true = working.
    exceptions: BTreeMap<Date, bool>,
}

impl Calendar {
    /// A calendar with these exceptions.
    pub fn new(exceptions: impl IntoIterator<Item = (Date, bool)>) -> Self {
        Self {
            exceptions: exceptions.into_iter().collect(),
        }
    }

    /// True when `day` is a working day.
    pub fn is_working(&self, day: Date) -> bool {
        self.exceptions.get(&day).copied().unwrap_or(!matches!(
            day.weekday(),
            Weekday::Saturday | Weekday::Sunday
        ))
    }

    /// The `days`-th working day after `from` (`from` itself when `days` is 0: 即办).
    pub fn add_working_days(&self, from: Date, days: u16) -> Date {
        let mut day = from;
        let mut left = days;
        // A year of holidays cannot stop the count: the calendar has at most a few dozen.
        while left > 0 {
            match day.checked_add(Duration::days(1)) {
                Some(next) => day = next,
                None => break,
            }
            if self.is_working(day) {
                left -= 1;
            }
        }
        day
    }

    /// The day an application accepted on `accepted` is due under `limit`.
    pub fn due_on(&self, accepted: Date, limit: TimeLimit) -> Date {
        match limit {
            TimeLimit::Immediate => accepted,
            TimeLimit::WorkingDays { days } => self.add_working_days(accepted, days),
        }
    }
}

/// `YYYY-MM-DD`.
pub fn iso_day(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The day `YYYY-MM-DD` names, if it is one.
pub fn parse_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationState as S;
    use time::macros::date;

    fn ask() -> Change {
        Change::AskCorrection {
            materials: vec![1],
            fields: vec![],
            reason: "照片不清晰".into(),
            answer_by: "2026-12-15".into(),
        }
    }

    #[test]
    fn the_usual_path_and_a_correction_loop() {
        let s = next_state(S::Accepted, &Change::StartReview).unwrap();
        assert_eq!(s, S::InReview);
        let s = next_state(s, &ask()).unwrap();
        assert_eq!(s, S::NeedsMaterials);
        let s = next_state(s, &Change::AnswerCorrection).unwrap();
        assert_eq!(s, S::InReview);
        let s = next_state(
            s,
            &Change::Complete {
                note: String::new(),
            },
        )
        .unwrap();
        assert_eq!(s, S::Approved);
    }

    #[test]
    fn finished_applications_do_not_move() {
        let refuse = Change::Refuse {
            reason: "不符合条件".into(),
        };
        assert_eq!(
            next_state(
                S::Rejected,
                &Change::Complete {
                    note: String::new()
                }
            ),
            Err(IllegalChange::Finished(S::Rejected))
        );
        assert_eq!(
            next_state(S::Approved, &ask()),
            Err(IllegalChange::Finished(S::Approved))
        );
        assert_eq!(
            next_state(S::Approved, &refuse).unwrap_err().code(),
            "application_finished"
        );
    }

    #[test]
    fn changes_out_of_order_are_refused_with_their_codes() {
        let e = next_state(S::InReview, &Change::StartReview).unwrap_err();
        assert_eq!(e.code(), "illegal_transition");
        let e = next_state(
            S::NeedsMaterials,
            &Change::Complete {
                note: String::new(),
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "illegal_transition");
        let e = next_state(S::InReview, &Change::AnswerCorrection).unwrap_err();
        assert_eq!(e.code(), "illegal_transition");
    }

    #[test]
    fn a_correction_names_something_and_a_refusal_says_why() {
        let empty = Change::AskCorrection {
            materials: vec![],
            fields: vec![],
            reason: "x".into(),
            answer_by: String::new(),
        };
        assert_eq!(
            next_state(S::InReview, &empty),
            Err(IllegalChange::EmptyCorrection)
        );
        let silent = Change::Refuse {
            reason: "  ".into(),
        };
        assert_eq!(
            next_state(S::InReview, &silent),
            Err(IllegalChange::NoReason)
        );
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_make_up_days() {
        let plain = Calendar::default();
        // Friday 2026-12-04 + 1 working day = Monday 12-07.
        assert_eq!(
            plain.add_working_days(date!(2026 - 12 - 04), 1),
            date!(2026 - 12 - 07)
        );
        assert_eq!(
            plain.due_on(date!(2026 - 12 - 04), TimeLimit::Immediate),
            date!(2026 - 12 - 04)
        );
        // New Year's Day off; Sunday 2027-01-03 a 调休 working day.
        let cal = Calendar::new([
            (date!(2027 - 01 - 01), false),
            (date!(2027 - 01 - 03), true),
        ]);
        // Thursday 12-31 + 2 working days: not Fri 1st (holiday), not Sat, Sun 3rd counts, then Mon 4th.
        assert_eq!(
            cal.due_on(date!(2026 - 12 - 31), TimeLimit::WorkingDays { days: 2 }),
            date!(2027 - 01 - 04)
        );
        assert_eq!(iso_day(date!(2027 - 01 - 04)), "2027-01-04");
        assert_eq!(parse_day("2027-01-04"), Some(date!(2027 - 01 - 04)));
        assert_eq!(parse_day("2027-13-04"), None);
    }
}
