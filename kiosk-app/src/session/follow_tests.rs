//! 办件查询's follow-ups in the session core: the list shows the real life of each
//! application; a 补正 is photographed on the capture screens and sent with the card; a
//! finished matter is rated with the four indicators; the card and the photos go with the
//! session.

use super::tests::{Rig, page, person};
use super::*;
use kiosk_protocol::{
    ApplicationState, ApplicationStatus, CorrectionAsked, RatingIndicators, RatingStage,
    StatusEvent,
};

fn status(no: &str, matter: &str, state: ApplicationState) -> ApplicationStatus {
    ApplicationStatus {
        application_no: no.into(),
        matter_id: matter.into(),
        accepted_at: "2026-11-20T10:00:00+08:00".into(),
        state,
        answers: Vec::new(),
        history: vec![StatusEvent {
            at: "2026-11-20T10:00:00+08:00".into(),
            state: ApplicationState::Accepted,
            what: LocalizedText::new("已受理", "Accepted"),
        }],
        due_on: Some("2026-11-27".into()),
        correction: None,
        rateable: false,
    }
}

/// A 补正 of `papers` asking for the household register (1) and the lease (3).
fn needs_papers() -> ApplicationStatus {
    ApplicationStatus {
        correction: Some(CorrectionAsked {
            asked_at: "2026-11-21T09:00:00+08:00".into(),
            materials: vec![1, 3],
            fields: Vec::new(),
            reason: "户口簿照片不清晰".into(),
            answer_by: Some("2026-12-05".into()),
        }),
        ..status("LY2", "papers", ApplicationState::NeedsMaterials)
    }
}

fn finished() -> ApplicationStatus {
    ApplicationStatus {
        rateable: true,
        due_on: None,
        ..status("LY3", "m1", ApplicationState::Approved)
    }
}

/// 办件查询 with the card, answered with `list`.
fn query(r: &mut Rig, list: Vec<ApplicationStatus>) {
    r.touch(Action::Errand(Errand::Progress));
    r.send(Event::Card(CardEvent::Read(person())));
    r.send(Event::ErrandDone(ErrandOutcome::Progress(list)));
}

#[test]
fn a_correction_is_photographed_on_the_capture_screens_and_sent_with_the_card() {
    let mut r = Rig::with_catalog(super::tests::catalog());
    query(&mut r, vec![finished(), needs_papers()]);
    assert!(
        r.s.holds_personal_data(),
        "the card is kept for what follows"
    );
    // Not the one asking for materials: nothing happens.
    assert!(r.touch(Action::AnswerCorrection(0)).is_empty());

    assert_eq!(
        r.touch(Action::AnswerCorrection(1)),
        vec![Command::StartCamera]
    );
    let view = r.s.view(r.now);
    assert!(view.correcting);
    let asked: Vec<u16> = view.materials.iter().map(|m| m.index).collect();
    assert_eq!(asked, vec![1, 3], "the asked materials, in order");
    // The lease may be handed in later when applying, never in answer to a 补正.
    r.touch(Action::NextMaterial);
    r.touch(Action::Capture);
    r.send(Event::PageCaptured(Ok(page(b"register"))));
    r.touch(Action::NextMaterial);
    assert!(matches!(r.s.screen(), Screen::Materials { slot: 1, .. }));
    r.touch(Action::DeclareMissing);
    assert!(matches!(r.s.screen(), Screen::Materials { slot: 1, .. }));
    assert!(r.touch(Action::NextMaterial).is_empty(), "a page is needed");
    r.touch(Action::Capture);
    r.send(Event::PageCaptured(Ok(page(b"lease"))));
    assert_eq!(
        r.touch(Action::NextMaterial),
        vec![Command::StopCamera],
        "the confirmation"
    );
    assert_eq!(
        r.s.screen(),
        &Screen::CorrectionReview {
            matter: "papers".into()
        }
    );
    // Back to retake, and on again.
    r.touch(Action::Back);
    assert!(matches!(r.s.screen(), Screen::Materials { slot: 1, .. }));
    r.touch(Action::NextMaterial);

    let cmds = r.touch(Action::SubmitCorrection);
    let [Command::SendCorrection(answer)] = cmds.as_slice() else {
        panic!("expected the correction sent, got {cmds:?}");
    };
    assert_eq!(answer.application_no, "LY2");
    assert_eq!(answer.holder.id_number, "320706199001011234");
    assert_eq!(answer.holder.name, "张三");
    let pages: Vec<(u16, usize)> = answer
        .materials
        .iter()
        .map(|m| (m.index, m.pages.len()))
        .collect();
    assert_eq!(pages, vec![(1, 1), (3, 1)]);
    assert!(
        !format!("{cmds:?}").contains("张三") && !format!("{cmds:?}").contains("320706"),
        "the card prints redacted"
    );
    assert_eq!(
        r.s.screen(),
        &Screen::Working {
            errand: Errand::Progress
        }
    );
    r.send(Event::ErrandDone(ErrandOutcome::CorrectionAnswered));
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            outcome: ErrandOutcome::CorrectionAnswered,
            ..
        }
    ));
    assert!(r.s.view(r.now).materials.is_empty(), "the photos are gone");
    r.touch(Action::Done);
    r.at(3600).send(Event::Tick);
    assert!(!r.s.holds_personal_data(), "the card went with the session");
}

#[test]
fn back_from_a_correction_returns_to_the_list_and_a_failure_keeps_nothing() {
    let mut r = Rig::with_catalog(super::tests::catalog());
    query(&mut r, vec![needs_papers()]);
    r.touch(Action::AnswerCorrection(0));
    r.touch(Action::Capture);
    r.send(Event::PageCaptured(Ok(page(b"register"))));
    r.touch(Action::Back);
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            outcome: ErrandOutcome::Progress(list),
            ..
        } if list.len() == 1
    ));
    assert!(r.s.view(r.now).materials.is_empty());
    assert!(!r.s.view(r.now).correcting);

    // Unreachable while sending: said plainly, the photos dropped.
    r.touch(Action::AnswerCorrection(0));
    for _ in 0..2 {
        r.touch(Action::Capture);
        r.send(Event::PageCaptured(Ok(page(b"p"))));
        r.touch(Action::NextMaterial);
    }
    assert!(matches!(
        r.touch(Action::SubmitCorrection).as_slice(),
        [Command::SendCorrection(_)]
    ));
    r.send(Event::ErrandDone(ErrandOutcome::Unreachable));
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            outcome: ErrandOutcome::Unreachable,
            ..
        }
    ));
    assert!(r.s.view(r.now).materials.is_empty());

    // A 补正 of the form's answers is handed in at a window: no capture here.
    let mut answers = needs_papers();
    if let Some(c) = answers.correction.as_mut() {
        c.fields = vec!["address".into()];
    }
    assert!(!correction_answerable_here(&answers));
    let mut r = Rig::with_catalog(super::tests::catalog());
    query(&mut r, vec![answers]);
    assert!(r.touch(Action::AnswerCorrection(0)).is_empty());
}

#[test]
fn a_finished_matter_is_rated_with_the_four_indicators_and_the_card() {
    let mut r = Rig::with_catalog(super::tests::catalog());
    query(&mut r, vec![needs_papers(), finished()]);
    assert!(
        r.touch(Action::RateCompletion(0)).is_empty(),
        "not finished"
    );
    r.touch(Action::RateCompletion(1));
    assert_eq!(
        r.s.screen(),
        &Screen::CompletionRating {
            application: 1,
            level: None,
            indicators: [None; INDICATORS],
            reason: None,
        }
    );
    r.touch(Action::Rate(2));
    for (indicator, level) in [(0, 2), (1, 1), (2, 3)] {
        r.touch(Action::RateIndicator { indicator, level });
    }
    r.touch(Action::RateIndicator {
        indicator: 9,
        level: 5,
    });
    assert!(
        r.touch(Action::SendRating).is_empty(),
        "an indicator is missing"
    );
    r.touch(Action::RateIndicator {
        indicator: 3,
        level: 2,
    });
    assert!(r.touch(Action::SendRating).is_empty(), "★2 needs a reason");
    r.touch(Action::Reason(RatingReason::TookTooLong));
    let cmds = r.touch(Action::SendRating);
    let [Command::SendCompletionRating(rating)] = cmds.as_slice() else {
        panic!("expected the rating sent, got {cmds:?}");
    };
    assert_eq!(rating.application_no, "LY3");
    assert_eq!(rating.stage, RatingStage::Completion);
    assert_eq!(
        rating.indicators,
        Some(RatingIndicators {
            overall: 2,
            efficiency: 1,
            competence: 3,
            attitude: 2
        })
    );
    assert_eq!(rating.reason, Some(RatingReason::TookTooLong));
    assert_eq!(
        rating.holder.as_ref().map(|h| h.name.as_str()),
        Some("张三")
    );
    assert!(rating.validate().is_ok());
    r.send(Event::ErrandDone(ErrandOutcome::CompletionRated));
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            outcome: ErrandOutcome::CompletionRated,
            ..
        }
    ));
    // Home: the card is gone.
    r.touch(Action::Home);
    assert!(!r.s.holds_personal_data());
}
