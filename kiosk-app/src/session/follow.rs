//! After 办件查询: what the citizen may do about one of their applications at the terminal —
//! answer a 补正 by photographing the asked materials (the same capture screens an application
//! uses, then a confirmation), or rate a finished matter (好差评 with the national indicators).
//!
//! Both need the card that was read for the query: the platform accepts them only from the
//! applicant. The card is kept for that, in the session only, and goes with it like an
//! applicant's (zeroized on drop, `WipePersonalData`).

use std::time::Instant;

use kiosk_protocol::{
    ApplicationState, ApplicationStatus, CardHolder, RatingIndicators, RatingReason, RatingRequest,
    RatingStage,
};

use super::{
    Action, Command, Errand, ErrandOutcome, Identity, MaterialSlot, Screen, Session,
    SubmittedMaterial,
};

/// The four national indicators in the order the rating screen shows them (整体满意度, 服务效率,
/// 服务水平, 服务态度).
pub const INDICATORS: usize = 4;

/// The citizen following their applications: the card read for the query and what it found.
#[derive(Debug)]
pub(super) struct Following {
    /// The card read for 办件查询 (redacting `Debug`, zeroized on drop).
    pub(super) holder: Identity,
    /// The applications found, newest first (empty until the platform answered).
    pub(super) applications: Vec<ApplicationStatus>,
    /// The application whose 补正 is being photographed.
    pub(super) correcting: Option<usize>,
}

/// A 补正 answered at the terminal: the card, the application and the pages photographed for
/// each asked material. Sent online, all of it or nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct CorrectionAnswer {
    /// The application.
    pub application_no: String,
    /// The card on the reader (checked against the applicant by the platform).
    pub holder: CardHolder,
    /// The pages of each asked material.
    pub materials: Vec<SubmittedMaterial>,
}

impl std::fmt::Debug for CorrectionAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorrectionAnswer")
            .field("application_no", &self.application_no)
            .field("holder", &self.holder)
            .field("materials", &self.materials)
            .finish()
    }
}

/// True when the 补正 asked of `status` can be answered at a terminal: it asks for materials
/// only (corrected answers are handed in at a service window), each one the matter has.
pub fn correction_answerable_here(status: &ApplicationStatus) -> bool {
    status.state == ApplicationState::NeedsMaterials
        && status
            .correction
            .as_ref()
            .is_some_and(|c| c.fields.is_empty() && !c.materials.is_empty())
}

impl Session {
    /// The card read for 办件查询 is kept for what the citizen may do next about the answer.
    pub(super) fn follow_with(&mut self, holder: Identity) {
        self.following = Some(Following {
            holder,
            applications: Vec::new(),
            correcting: None,
        });
    }

    /// The platform's answer to 办件查询, kept to come back to.
    pub(super) fn followed(&mut self, outcome: &ErrandOutcome) {
        if let (Some(following), ErrandOutcome::Progress(list)) = (&mut self.following, outcome) {
            following.applications = list.clone();
            following.correcting = None;
        }
    }

    fn held_card(&self) -> Option<CardHolder> {
        self.following.as_ref().map(|f| CardHolder {
            name: f.holder.name().to_owned(),
            id_number: f.holder.id_number().to_owned(),
        })
    }

    /// The list of applications again (back from a 补正 or a rating).
    pub(super) fn back_to_applications(&mut self) -> Screen {
        self.slots.clear();
        let applications = match &mut self.following {
            Some(following) => {
                following.correcting = None;
                following.applications.clone()
            }
            None => return Screen::Home,
        };
        Screen::ErrandResult {
            errand: Errand::Progress,
            outcome: ErrandOutcome::Progress(applications),
            printing: None,
        }
    }

    /// True while a 补正 is being photographed (no 容缺 commitment then: the department asked
    /// for these very materials).
    pub(super) fn correcting(&self) -> bool {
        self.following
            .as_ref()
            .is_some_and(|f| f.correcting.is_some())
    }

    /// "补正材料": photograph the asked materials of application `index`, one screen each.
    pub(super) fn start_correction(&mut self, index: usize, now: Instant, out: &mut Vec<Command>) {
        let Some(following) = &mut self.following else {
            return;
        };
        let Some(status) = following.applications.get(index) else {
            return;
        };
        let known = self
            .catalog
            .as_ref()
            .and_then(|c| c.matter(&status.matter_id))
            .is_some_and(|m| {
                status.correction.as_ref().is_some_and(|c| {
                    c.materials
                        .iter()
                        .all(|i| usize::from(*i) < m.materials.len())
                })
            });
        if !self.devices.camera || !known || !correction_answerable_here(status) {
            return;
        }
        let matter = status.matter_id.clone();
        self.slots = status
            .correction
            .iter()
            .flat_map(|c| c.materials.iter())
            .map(|&index| MaterialSlot {
                index,
                pages: Vec::new(),
                committed: false,
            })
            .collect();
        following.correcting = Some(index);
        self.show_material(matter, 0, now, out);
    }

    /// "提交补正": every asked material photographed; sent online, then its outcome shows.
    pub(super) fn send_correction(&mut self, now: Instant, out: &mut Vec<Command>) {
        let Some(holder) = self.held_card() else {
            return;
        };
        let Some(status) = self
            .following
            .as_ref()
            .and_then(|f| f.applications.get(f.correcting?))
        else {
            return;
        };
        if self.slots.iter().any(|s| s.pages.is_empty()) {
            return;
        }
        out.push(Command::SendCorrection(CorrectionAnswer {
            application_no: status.application_no.clone(),
            holder,
            materials: self
                .slots
                .iter()
                .map(|s| SubmittedMaterial {
                    index: s.index,
                    pages: s.pages.iter().map(|p| p.jpeg.clone()).collect(),
                })
                .collect(),
        }));
        self.enter(
            Screen::Working {
                errand: Errand::Progress,
            },
            now,
            out,
        );
    }

    /// The platform answered a 补正 or a rating: the photos go either way (a retry photographs
    /// again), and the outcome shows.
    pub(super) fn follow_up_done(&mut self) {
        self.slots.clear();
        if let Some(following) = &mut self.following {
            following.correcting = None;
        }
    }

    /// "评价": the 好差评 screen for finished application `index`.
    pub(super) fn start_completion_rating(
        &mut self,
        index: usize,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let rateable = self
            .following
            .as_ref()
            .and_then(|f| f.applications.get(index))
            .is_some_and(|s| s.rateable && s.state.is_finished());
        if rateable {
            self.enter(
                Screen::CompletionRating {
                    application: index,
                    level: None,
                    indicators: [None; INDICATORS],
                    reason: None,
                },
                now,
                out,
            );
        }
    }

    /// Sends the rating of completion once the level, the four indicators and, for ★1–2, a
    /// reason are chosen.
    pub(super) fn send_completion_rating(
        &mut self,
        application: usize,
        level: Option<u8>,
        indicators: [Option<u8>; INDICATORS],
        reason: Option<RatingReason>,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let (
            Some(level),
            [
                Some(overall),
                Some(efficiency),
                Some(competence),
                Some(attitude),
            ],
        ) = (level, indicators)
        else {
            return;
        };
        if level <= 2 && reason.is_none() {
            return;
        }
        let Some(holder) = self.held_card() else {
            return;
        };
        let Some(status) = self
            .following
            .as_ref()
            .and_then(|f| f.applications.get(application))
        else {
            return;
        };
        out.push(Command::SendCompletionRating(RatingRequest {
            application_no: status.application_no.clone(),
            matter_id: status.matter_id.clone(),
            terminal_id: self.settings.terminal_id.clone(),
            level,
            reason: if level <= 2 { reason } else { None },
            stage: RatingStage::Completion,
            indicators: Some(RatingIndicators {
                overall,
                efficiency,
                competence,
                attitude,
            }),
            holder: Some(holder),
        }));
        self.enter(
            Screen::Working {
                errand: Errand::Progress,
            },
            now,
            out,
        );
    }
}

impl Session {
    /// True for the touches of the applications list and of the rating of completion.
    pub(super) fn is_follow_action(action: &Action) -> bool {
        matches!(
            action,
            Action::AnswerCorrection(_)
                | Action::RateCompletion(_)
                | Action::Rate(_)
                | Action::RateIndicator { .. }
                | Action::Reason(_)
                | Action::SendRating
                | Action::SkipRating
        )
    }

    /// A touch on the applications list or on the rating of completion.
    pub(super) fn follow_touch(
        &mut self,
        action: Action,
        screen: Screen,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let listed = matches!(
            screen,
            Screen::ErrandResult {
                errand: Errand::Progress,
                outcome: ErrandOutcome::Progress(_),
                ..
            }
        );
        let Screen::CompletionRating {
            application,
            mut level,
            mut indicators,
            mut reason,
        } = screen
        else {
            match action {
                Action::AnswerCorrection(index) if listed => {
                    self.start_correction(index, now, out);
                }
                Action::RateCompletion(index) if listed => {
                    self.start_completion_rating(index, now, out);
                }
                _ => {}
            }
            return;
        };
        match action {
            Action::Rate(chosen) if (1..=5).contains(&chosen) => {
                level = Some(chosen);
                if chosen > 2 {
                    reason = None;
                }
            }
            Action::RateIndicator {
                indicator,
                level: chosen,
            } if (1..=5).contains(&chosen) => {
                if let Some(slot) = indicators.get_mut(indicator) {
                    *slot = Some(chosen);
                }
            }
            Action::Reason(why) if level.is_some_and(|l| l <= 2) => reason = Some(why),
            Action::SendRating => {
                return self.send_completion_rating(
                    application,
                    level,
                    indicators,
                    reason,
                    now,
                    out,
                );
            }
            Action::SkipRating => {
                let list = self.back_to_applications();
                return self.enter(list, now, out);
            }
            _ => {}
        }
        self.screen = Screen::CompletionRating {
            application,
            level,
            indicators,
            reason,
        };
    }
}
