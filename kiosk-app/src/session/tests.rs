//! Every transition of the session core, the timeout wipe, and whole journeys, under a mocked
//! clock.

use super::*;
use kiosk_protocol::{
    ApplicationState, ApplicationStatus, AppointmentInfo, Department, Material, MaterialForm,
    Matter, Supply, ThemeGroup, Ticket, TimeLimit,
};

pub(super) fn text(s: &str) -> LocalizedText {
    LocalizedText::new(s, format!("{s} (en)"))
}

pub(super) fn matter(id: &str, theme: &str, kiosk: bool) -> Matter {
    Matter {
        id: id.into(),
        name: text(id),
        pinyin_initials: "abc".into(),
        aliases: Vec::new(),
        search_keys: Vec::new(),
        theme: theme.into(),
        department: "dept".into(),
        applicant: text("自然人"),
        handling_office: text("窗口"),
        conditions: vec![text("条件")],
        materials: vec![Material {
            name: text("身份证"),
            form: MaterialForm::Original,
            copies: 1,
            waivable: false,
            supply: Supply::IdCard,
        }],
        procedure: vec![text("申请"), text("办结")],
        time_limit: TimeLimit::WorkingDays { days: 5 },
        fees: text("不收费"),
        place_and_hours: text("市民中心"),
        enquiry_phone: "12345".into(),
        complaint_phone: "12345".into(),
        kiosk_application: kiosk,
        form: None,
    }
}

/// A matter with two materials to photograph (the second may be handed in later), one read
/// from the card and one fetched by the platform.
fn with_materials(mut m: Matter) -> Matter {
    let material = |name: &str, form, waivable, supply| Material {
        name: text(name),
        form,
        copies: 1,
        waivable,
        supply,
    };
    m.name = LocalizedText::new("社保缴费", "Social insurance payment");
    m.pinyin_initials = "sbjf".into();
    m.materials = vec![
        material("身份证", MaterialForm::Original, false, Supply::IdCard),
        material("户口簿", MaterialForm::Copy, false, Supply::Capture),
        material("电子证照", MaterialForm::Electronic, false, Supply::Capture),
        material("租赁合同", MaterialForm::Copy, true, Supply::Capture),
    ];
    m
}

pub(super) fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog {
        version: "t1".into(),
        themes: vec![
            ThemeGroup {
                id: "si".into(),
                name: text("社保"),
            },
            ThemeGroup {
                id: "hf".into(),
                name: text("公积金"),
            },
        ],
        departments: vec![Department {
            id: "dept".into(),
            name: text("部门"),
        }],
        regions: Vec::new(),
        notes: Vec::new(),
        matters: vec![
            matter("m1", "si", true),
            matter("m2", "hf", true),
            matter("window-only", "si", false),
            with_materials(matter("papers", "hf", true)),
        ],
        abbreviations: Vec::new(),
    })
}

pub(super) fn person() -> Identity {
    Identity::new(
        "张三".into(),
        "320706199001011234".into(),
        DocumentKind::Resident,
    )
}

pub(super) fn receipt(no: &str, matter: &str) -> ApplicationReceipt {
    ApplicationReceipt {
        application_no: no.into(),
        matter_id: matter.into(),
        accepted_at: "2026-11-22T10:00:00+08:00".into(),
        progress_url: format!("http://p/progress/{no}?c=7KQ2M9XD"),
        replayed: false,
        progress_code: "7KQ2M9XD".into(),
    }
}

/// A session with its catalog, at home, and a clock.
pub(super) struct Rig {
    pub(super) s: Session,
    t0: Instant,
    pub(super) now: Instant,
}

impl Rig {
    fn new() -> Self {
        Rig::with_catalog(catalog())
    }

    /// A session at home with `catalog`.
    pub(super) fn with_catalog(catalog: Arc<Catalog>) -> Self {
        let t0 = Instant::now();
        let mut s = Session::new(Settings::default(), KeySource::seeded(1), t0);
        assert_eq!(s.start(), vec![Command::FetchCatalog]);
        assert!(s.handle(Event::CatalogLoaded(catalog), t0).is_empty());
        Rig { s, t0, now: t0 }
    }

    pub(super) fn at(&mut self, secs: u64) -> &mut Self {
        self.now = self.t0 + Duration::from_secs(secs);
        self
    }

    pub(super) fn send(&mut self, e: Event) -> Vec<Command> {
        self.s.handle(e, self.now)
    }

    pub(super) fn touch(&mut self, a: Action) -> Vec<Command> {
        self.send(Event::Touch(a))
    }

    /// Drives the journey up to the identify screen for `m1`.
    fn walk_to_identify(&mut self) {
        self.touch(Action::Begin);
        self.touch(Action::OpenMatter("m1".into()));
        assert_eq!(self.touch(Action::Apply), vec![Command::StartCardReader]);
    }

    fn walk_to_confirm(&mut self) {
        self.walk_to_identify();
        assert_eq!(
            self.send(Event::Card(CardEvent::Read(person()))),
            vec![Command::StopCardReader]
        );
    }

    /// Types a mobile number on the form and goes on (to the review: `m1` has nothing to
    /// photograph).
    fn fill_form(&mut self) {
        for d in [1, 3, 9, 1, 2, 3, 4, 5, 6, 7, 8] {
            assert!(self.touch(Action::PhoneDigit(d)).is_empty());
        }
        self.touch(Action::ConfirmApplicant);
    }

    fn submit(&mut self) -> String {
        self.walk_to_confirm();
        self.fill_form();
        assert_eq!(
            self.s.screen(),
            &Screen::Review {
                matter: "m1".into()
            }
        );
        let cmds = self.touch(Action::SubmitApplication);
        match cmds.as_slice() {
            [
                Command::Submit {
                    idempotency_key,
                    request,
                    materials,
                },
            ] => {
                assert!(materials.is_empty());
                assert_eq!(request.applicant.phone.as_deref(), Some("13912345678"));
                assert_eq!(request.matter_id, "m1");
                assert_eq!(request.applicant.id_number, "320706199001011234");
                idempotency_key.clone()
            }
            other => panic!("expected one Submit, got {other:?}"),
        }
    }
}

#[test]
fn a_revoked_terminal_goes_out_of_service_after_the_citizen_and_recovers_by_itself() {
    let t0 = Instant::now();
    let mut s = Session::new(Settings::default(), KeySource::seeded(1), t0);
    s.start();
    s.handle(Event::CatalogLoaded(catalog()), t0);
    // A citizen is being served: they finish; the session then ends out of service.
    s.handle(Event::Touch(Action::Begin), t0);
    let serving = s.screen().clone();
    assert_ne!(serving, Screen::Home);
    s.handle(Event::Revoked(true), t0);
    assert_eq!(s.screen(), &serving);
    s.handle(Event::Touch(Action::Home), t0);
    assert_eq!(s.screen(), &Screen::OutOfService);
    assert!(s.view(t0).revoked);
    // A catalog refresh does not put it back in service; nor do touches.
    s.handle(Event::CatalogLoaded(catalog()), t0);
    s.handle(Event::Touch(Action::Begin), t0);
    assert_eq!(s.screen(), &Screen::OutOfService);
    // The next successful heartbeat does.
    s.handle(Event::Revoked(false), t0);
    assert_eq!(s.screen(), &Screen::Home);
    assert!(!s.view(t0).revoked);
    // Revoked while idle at home: out of service at once.
    s.handle(Event::Revoked(true), t0);
    assert_eq!(s.screen(), &Screen::OutOfService);
}

#[test]
fn catalog_outage_means_out_of_service_then_retries_and_recovers() {
    let t0 = Instant::now();
    let mut s = Session::new(Settings::default(), KeySource::seeded(1), t0);
    s.start();
    assert!(s.handle(Event::CatalogUnavailable, t0).is_empty());
    assert_eq!(s.screen(), &Screen::OutOfService);
    // Touches do nothing useful without a catalog.
    s.handle(Event::Touch(Action::Begin), t0);
    assert_eq!(s.screen(), &Screen::OutOfService);
    let retry = s.next_deadline(t0).expect("retry deadline");
    assert_eq!(retry, t0 + Duration::from_secs(30));
    assert!(
        s.handle(Event::Tick, t0 + Duration::from_secs(10))
            .is_empty()
    );
    assert_eq!(s.handle(Event::Tick, retry), vec![Command::FetchCatalog]);
    s.handle(Event::CatalogLoaded(catalog()), retry);
    assert_eq!(s.screen(), &Screen::Home);
    // A later failure does not take a loaded catalog away.
    s.handle(Event::CatalogUnavailable, retry);
    assert_eq!(s.screen(), &Screen::Home);
}

#[test]
fn the_whole_journey_ends_home_with_nothing_personal_left() {
    let mut r = Rig::new();
    assert_eq!(r.s.screen(), &Screen::Home);
    r.touch(Action::Begin);
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
    r.touch(Action::ChooseTheme(Some("si".into())));
    assert_eq!(
        r.s.screen(),
        &Screen::Catalog {
            theme: Some("si".into())
        }
    );
    r.touch(Action::OpenMatter("m1".into()));
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "m1".into()
        }
    );
    assert_eq!(r.touch(Action::Apply), vec![Command::StartCardReader]);
    assert_eq!(
        r.s.screen(),
        &Screen::Identify {
            matter: "m1".into(),
            prompt: IdentifyPrompt::PlaceCard
        }
    );
    assert_eq!(
        r.send(Event::Card(CardEvent::Read(person()))),
        vec![Command::StopCardReader]
    );
    assert_eq!(
        r.s.screen(),
        &Screen::Confirm {
            matter: "m1".into()
        }
    );
    let view = r.s.view(r.now);
    let applicant = view.applicant.expect("applicant shown");
    assert_eq!(applicant.name, "张三");
    assert_eq!(applicant.id_number_masked, "3207**********1234");

    r.fill_form();
    let cmds = r.touch(Action::SubmitApplication);
    assert!(matches!(cmds.as_slice(), [Command::Submit { .. }]));
    assert_eq!(
        r.s.screen(),
        &Screen::Submitting {
            matter: "m1".into()
        }
    );

    let cmds = r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    let [Command::PrintReceipt(content)] = cmds.as_slice() else {
        panic!("expected a print, got {cmds:?}")
    };
    assert_eq!(content.application_no, "LY1");
    assert_eq!(content.applicant_masked, "张*");
    assert_eq!(content.id_number_masked, "3207**********1234");
    assert_eq!(content.progress_url, "http://p/progress/LY1?c=7KQ2M9XD");
    assert_eq!(
        content.progress_code, "7KQ2M9XD",
        "printed beside the number"
    );
    assert_eq!(content.time_limit.zh, "5个工作日");
    assert!(matches!(
        r.s.screen(),
        Screen::Receipt {
            printing: PrintStatus::Printing,
            ..
        }
    ));
    r.send(Event::Printed(Ok(())));
    assert!(matches!(
        r.s.screen(),
        Screen::Receipt {
            printing: PrintStatus::Printed,
            ..
        }
    ));

    assert_eq!(r.touch(Action::Done), vec![Command::WipePersonalData]);
    assert!(
        !r.s.holds_personal_data(),
        "identity must be gone once the matter is done"
    );
    assert!(matches!(r.s.screen(), Screen::Rating { level: None, .. }));
    r.touch(Action::Rate(5));
    let cmds = r.touch(Action::SendRating);
    assert_eq!(
        cmds,
        vec![Command::SendRating(RatingRequest {
            application_no: "LY1".into(),
            matter_id: "m1".into(),
            terminal_id: "LYG-DEV-0001".into(),
            level: 5,
            reason: None,
            stage: kiosk_protocol::RatingStage::Acceptance,
            indicators: None,
            holder: None,
        })]
    );
    assert_eq!(r.s.screen(), &Screen::Thanks);
    let back_home_at = r.s.next_deadline(r.now).expect("thanks lingers");
    r.now = back_home_at;
    assert_eq!(r.send(Event::Tick), vec![Command::WipePersonalData]);
    assert_eq!(r.s.screen(), &Screen::Home);
    assert!(r.s.view(r.now).applicant.is_none());
}

#[test]
fn card_problems_are_said_plainly_and_keep_the_citizen_on_the_card_screen() {
    for (event, prompt) in [
        (CardEvent::Removed, IdentifyPrompt::PlaceAgain),
        (CardEvent::Expired, IdentifyPrompt::Expired),
        (CardEvent::Unreadable, IdentifyPrompt::Unreadable),
        (CardEvent::ReaderFault, IdentifyPrompt::ReaderUnavailable),
    ] {
        let mut r = Rig::new();
        r.walk_to_identify();
        assert!(
            r.send(Event::Card(event)).is_empty(),
            "the reader keeps running"
        );
        assert_eq!(
            r.s.screen(),
            &Screen::Identify {
                matter: "m1".into(),
                prompt
            }
        );
        assert!(!r.s.holds_personal_data());
        // A good read afterwards still works.
        r.send(Event::Card(CardEvent::Read(person())));
        assert_eq!(
            r.s.screen(),
            &Screen::Confirm {
                matter: "m1".into()
            }
        );
    }
}

#[test]
fn a_theme_on_the_home_screen_opens_the_catalog_at_that_theme() {
    let mut r = Rig::new();
    r.touch(Action::ChooseTheme(Some("hf".into())));
    assert_eq!(
        r.s.screen(),
        &Screen::Catalog {
            theme: Some("hf".into())
        }
    );
    r.touch(Action::ChooseTheme(None));
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
}

#[test]
fn a_card_placed_outside_the_identify_screen_is_ignored() {
    let mut r = Rig::new();
    r.touch(Action::Begin);
    assert!(r.send(Event::Card(CardEvent::Read(person()))).is_empty());
    assert!(!r.s.holds_personal_data());
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
}

#[test]
fn a_failed_submission_can_be_retried_with_the_same_key() {
    let mut r = Rig::new();
    let key = r.submit();
    assert!(
        r.send(Event::Submitted(Err(SubmitFailure::Unreachable)))
            .is_empty()
    );
    assert_eq!(
        r.s.screen(),
        &Screen::SubmitFailed {
            matter: "m1".into(),
            failure: SubmitFailure::Unreachable
        }
    );
    let cmds = r.touch(Action::Retry);
    let [
        Command::Submit {
            idempotency_key, ..
        },
    ] = cmds.as_slice()
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        idempotency_key, &key,
        "a retry must reuse the key so the platform stores one application"
    );
    r.send(Event::Submitted(Ok(receipt("LY2", "m1"))));
    assert!(matches!(r.s.screen(), Screen::Receipt { .. }));
}

#[test]
fn each_new_application_gets_a_new_key() {
    let mut r = Rig::new();
    let first = r.submit();
    r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    r.touch(Action::Home);
    let second = r.submit();
    assert_ne!(first, second);
}

#[test]
fn stepping_back_from_a_failed_submission_drops_the_applicant() {
    let mut r = Rig::new();
    r.submit();
    r.send(Event::Submitted(Err(SubmitFailure::Rejected)));
    assert_eq!(r.touch(Action::Back), vec![Command::WipePersonalData]);
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "m1".into()
        }
    );
    assert!(!r.s.holds_personal_data());
}

#[test]
fn home_is_ignored_while_the_platform_is_being_asked() {
    let mut r = Rig::new();
    r.submit();
    assert!(r.touch(Action::Home).is_empty());
    assert_eq!(
        r.s.screen(),
        &Screen::Submitting {
            matter: "m1".into()
        }
    );
    // And the wait never times out on its own.
    assert_eq!(r.s.next_deadline(r.now), None);
}

#[test]
fn a_late_platform_answer_after_leaving_is_ignored() {
    let mut r = Rig::new();
    r.walk_to_confirm();
    r.touch(Action::Home);
    assert!(
        r.send(Event::Submitted(Ok(receipt("LY9", "m1"))))
            .is_empty()
    );
    assert_eq!(r.s.screen(), &Screen::Home);
}

#[test]
fn print_failure_is_shown_and_the_application_stands() {
    let mut r = Rig::new();
    r.submit();
    r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    r.send(Event::Printed(Err(PrintFailure::PaperOut)));
    let Screen::Receipt {
        receipt, printing, ..
    } = r.s.screen()
    else {
        panic!()
    };
    assert_eq!(receipt.application_no, "LY1");
    assert_eq!(*printing, PrintStatus::Failed(PrintFailure::PaperOut));
}

#[test]
fn an_application_kept_offline_is_accepted_under_the_terminals_reference() {
    let mut r = Rig::new();
    r.submit();
    let cmds = r.send(Event::Kept(receipt("LYT0A1B2C3D4E5F", "m1")));
    let Some(Command::PrintReceipt(content)) =
        cmds.iter().find(|c| matches!(c, Command::PrintReceipt(_)))
    else {
        panic!("no receipt printed: {cmds:?}")
    };
    assert!(content.kept);
    assert_eq!(content.application_no, "LYT0A1B2C3D4E5F");
    let Screen::Receipt { receipt, kept, .. } = r.s.screen() else {
        panic!()
    };
    assert!(*kept);
    assert_eq!(receipt.application_no, "LYT0A1B2C3D4E5F");
    // The rating names the application by that reference (the outbox resolves it later).
    r.touch(Action::Done);
    r.touch(Action::Rate(4));
    let cmds = r.touch(Action::SendRating);
    assert!(
        cmds.iter().any(|c| matches!(c, Command::SendRating(rating) if rating.application_no == "LYT0A1B2C3D4E5F")),
        "{cmds:?}"
    );
}

#[test]
fn idle_sessions_warn_then_end_home_and_wiped() {
    let mut r = Rig::new();
    r.walk_to_confirm();
    assert!(r.s.holds_personal_data());
    assert_eq!(r.s.view(r.now).timeout_warning, None);
    assert_eq!(
        r.s.next_deadline(r.now),
        Some(r.t0 + Duration::from_secs(60))
    );
    r.at(60);
    assert!(r.send(Event::Tick).is_empty());
    assert_eq!(
        r.s.view(r.now).timeout_warning,
        Some(30),
        "at least 20 s to react"
    );
    r.at(71);
    assert_eq!(r.s.view(r.now).timeout_warning, Some(19));
    assert_eq!(
        r.s.next_deadline(r.now),
        Some(r.t0 + Duration::from_secs(72))
    );
    r.at(90);
    assert_eq!(r.send(Event::Tick), vec![Command::WipePersonalData]);
    assert_eq!(r.s.screen(), &Screen::Home);
    assert!(!r.s.holds_personal_data());
    assert_eq!(r.s.view(r.now).timeout_warning, None);
}

#[test]
fn one_tap_keeps_the_session() {
    let mut r = Rig::new();
    r.walk_to_confirm();
    r.at(75);
    assert!(r.s.view(r.now).timeout_warning.is_some());
    assert!(r.touch(Action::StayActive).is_empty());
    assert_eq!(r.s.view(r.now).timeout_warning, None);
    r.at(100);
    assert!(r.send(Event::Tick).is_empty());
    assert_eq!(
        r.s.screen(),
        &Screen::Confirm {
            matter: "m1".into()
        }
    );
}

#[test]
fn the_reader_stops_when_the_identify_screen_times_out() {
    let mut r = Rig::new();
    r.walk_to_identify();
    r.at(90);
    assert_eq!(
        r.send(Event::Tick),
        vec![Command::StopCardReader, Command::WipePersonalData]
    );
}

#[test]
fn a_warning_shorter_than_twenty_seconds_is_refused() {
    let t0 = Instant::now();
    let settings = Settings {
        warning_grace: Duration::from_secs(5),
        ..Settings::default()
    };
    let mut s = Session::new(settings, KeySource::seeded(1), t0);
    s.handle(Event::CatalogLoaded(catalog()), t0);
    s.handle(Event::Touch(Action::Begin), t0);
    assert_eq!(
        s.view(t0 + Duration::from_secs(60)).timeout_warning,
        Some(20)
    );
}

#[test]
fn home_and_out_of_service_never_time_out() {
    let r = Rig::new();
    // Home's only deadline is the attract screen, which ends nothing.
    assert_eq!(
        r.s.next_deadline(r.now),
        Some(r.now + Settings::default().attract_after)
    );
    assert_eq!(
        r.s.view(r.now + Duration::from_secs(3600)).timeout_warning,
        None
    );
}

#[test]
fn a_bad_rating_needs_a_reason() {
    let mut r = Rig::new();
    r.submit();
    r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    r.touch(Action::Done);
    r.touch(Action::Rate(2));
    assert!(r.touch(Action::SendRating).is_empty(), "no reason yet");
    assert!(matches!(
        r.s.screen(),
        Screen::Rating {
            level: Some(2),
            reason: None,
            ..
        }
    ));
    r.touch(Action::Reason(RatingReason::TookTooLong));
    let cmds = r.touch(Action::SendRating);
    let [Command::SendRating(rating)] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (rating.level, rating.reason),
        (2, Some(RatingReason::TookTooLong))
    );
    assert_eq!(r.s.screen(), &Screen::Thanks);
}

#[test]
fn a_reason_is_dropped_when_the_rating_turns_good_and_bad_levels_are_refused() {
    let mut r = Rig::new();
    r.submit();
    r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    r.touch(Action::Done);
    r.touch(Action::Rate(0));
    r.touch(Action::Rate(6));
    assert!(matches!(r.s.screen(), Screen::Rating { level: None, .. }));
    r.touch(Action::Reason(RatingReason::Other));
    assert!(
        matches!(r.s.screen(), Screen::Rating { reason: None, .. }),
        "no reason without a bad level"
    );
    r.touch(Action::Rate(1));
    r.touch(Action::Reason(RatingReason::Other));
    r.touch(Action::Rate(4));
    assert!(matches!(
        r.s.screen(),
        Screen::Rating {
            level: Some(4),
            reason: None,
            ..
        }
    ));
    let cmds = r.touch(Action::SendRating);
    assert!(matches!(
        cmds.as_slice(),
        [Command::SendRating(RatingRequest {
            level: 4,
            reason: None,
            stage: kiosk_protocol::RatingStage::Acceptance,
            indicators: None,
            holder: None,
            ..
        })]
    ));
}

#[test]
fn rating_can_be_skipped() {
    let mut r = Rig::new();
    r.submit();
    r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    r.touch(Action::Done);
    assert!(r.touch(Action::SkipRating).is_empty());
    assert_eq!(r.s.screen(), &Screen::Thanks);
}

#[test]
fn back_walks_the_journey_in_reverse() {
    let mut r = Rig::new();
    r.walk_to_confirm();
    assert_eq!(r.touch(Action::Back), vec![Command::WipePersonalData]);
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "m1".into()
        }
    );
    assert_eq!(r.touch(Action::Apply), vec![Command::StartCardReader]);
    assert_eq!(r.touch(Action::Back), vec![Command::StopCardReader]);
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "m1".into()
        }
    );
    r.touch(Action::Back);
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
    assert_eq!(r.touch(Action::Back), vec![Command::WipePersonalData]);
    assert_eq!(r.s.screen(), &Screen::Home);
    assert!(r.touch(Action::Back).is_empty());
    assert_eq!(r.s.screen(), &Screen::Home);
}

#[test]
fn actions_out_of_place_change_nothing() {
    let mut r = Rig::new();
    for a in [
        Action::Apply,
        Action::ConfirmApplicant,
        Action::Retry,
        Action::Done,
        Action::SendRating,
        Action::Rate(5),
    ] {
        assert!(r.touch(a).is_empty());
        assert_eq!(r.s.screen(), &Screen::Home);
    }
    r.touch(Action::Begin);
    r.touch(Action::OpenMatter("no-such-matter".into()));
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
    r.touch(Action::ChooseTheme(Some("no-such-theme".into())));
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
    r.touch(Action::OpenMatter("window-only".into()));
    assert!(
        r.touch(Action::Apply).is_empty(),
        "window-only matters cannot be applied for here"
    );
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "window-only".into()
        }
    );
}

#[test]
fn language_switches_anywhere_and_resets_for_the_next_citizen() {
    let mut r = Rig::new();
    r.touch(Action::ToggleLanguage);
    assert_eq!(r.s.language(), Language::En);
    r.walk_to_confirm();
    assert_eq!(r.s.language(), Language::En);
    r.touch(Action::ToggleLanguage);
    assert_eq!(r.s.language(), Language::Zh);
    r.touch(Action::ToggleLanguage);
    r.fill_form();
    let cmds = r.touch(Action::SubmitApplication);
    let [Command::Submit { request, .. }] = cmds.as_slice() else {
        panic!()
    };
    assert_eq!(request.language, Language::En);
    r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    r.touch(Action::Home);
    assert_eq!(
        r.s.language(),
        Language::Zh,
        "the next citizen starts in Chinese"
    );
}

fn devices(card_reader: bool, printer: bool) -> Event {
    Event::Devices(DeviceAvailability {
        card_reader,
        printer,
        ..DeviceAvailability::default()
    })
}

#[test]
fn without_a_card_reader_applying_is_disabled_and_the_rest_still_works() {
    let mut r = Rig::new();
    r.send(devices(false, true));
    r.touch(Action::Begin);
    r.touch(Action::OpenMatter("m1".into()));
    assert!(
        r.touch(Action::Apply).is_empty(),
        "no identification, no application"
    );
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "m1".into()
        }
    );
    assert!(!r.s.view(r.now).devices.card_reader, "the guide says why");
    // Browsing and language still work.
    r.touch(Action::ToggleLanguage);
    r.touch(Action::Back);
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
    // The reader comes back: applying works again, without a restart.
    r.send(devices(true, true));
    r.touch(Action::OpenMatter("m1".into()));
    assert_eq!(r.touch(Action::Apply), vec![Command::StartCardReader]);
}

#[test]
fn a_reader_failing_under_a_waiting_citizen_is_said_at_once_and_recovers() {
    let mut r = Rig::new();
    r.walk_to_identify();
    r.send(devices(false, true));
    assert_eq!(
        r.s.screen(),
        &Screen::Identify {
            matter: "m1".into(),
            prompt: IdentifyPrompt::ReaderUnavailable
        }
    );
    r.send(devices(true, true));
    assert_eq!(
        r.s.screen(),
        &Screen::Identify {
            matter: "m1".into(),
            prompt: IdentifyPrompt::PlaceCard
        }
    );
    r.send(Event::Card(CardEvent::Read(person())));
    assert_eq!(
        r.s.screen(),
        &Screen::Confirm {
            matter: "m1".into()
        }
    );
}

#[test]
fn without_a_printer_the_application_is_still_taken_and_nothing_is_printed() {
    let mut r = Rig::new();
    r.send(devices(true, false));
    r.submit();
    let cmds = r.send(Event::Submitted(Ok(receipt("LY1", "m1"))));
    assert!(
        cmds.is_empty(),
        "nothing goes to a printer that cannot print: {cmds:?}"
    );
    let Screen::Receipt {
        receipt: shown,
        printing,
        ..
    } = r.s.screen()
    else {
        panic!()
    };
    assert_eq!(shown.application_no, "LY1");
    assert_eq!(*printing, PrintStatus::Failed(PrintFailure::PrinterFault));
    // Once the printer is back, the next citizen's receipt prints again.
    r.send(devices(true, true));
    r.touch(Action::Home);
    r.submit();
    let cmds = r.send(Event::Submitted(Ok(receipt("LY2", "m1"))));
    assert!(matches!(cmds.as_slice(), [Command::PrintReceipt(_)]));
}

#[test]
fn elder_mode_slows_the_timeouts_speaks_and_ends_with_the_session() {
    let mut r = Rig::new();
    r.touch(Action::ToggleElder);
    let view = r.s.view(r.now);
    assert!(view.elder && view.speech, "elder mode speaks by default");
    r.walk_to_confirm();
    r.at(60);
    assert_eq!(
        r.s.view(r.now).timeout_warning,
        None,
        "elder mode waits longer before warning"
    );
    r.at(120);
    assert_eq!(
        r.s.view(r.now).timeout_warning,
        Some(60),
        "and warns for longer"
    );
    r.at(180);
    assert_eq!(r.send(Event::Tick), vec![Command::WipePersonalData]);
    let view = r.s.view(r.now);
    assert!(
        !view.elder && !view.speech,
        "the next citizen starts in the standard mode"
    );
}

#[test]
fn speech_toggles_on_its_own_and_elder_mode_can_be_left() {
    let mut r = Rig::new();
    r.touch(Action::ToggleSpeech);
    assert!(r.s.view(r.now).speech && !r.s.view(r.now).elder);
    r.touch(Action::ToggleSpeech);
    assert!(!r.s.view(r.now).speech);
    r.touch(Action::Begin);
    r.touch(Action::ToggleElder);
    r.touch(Action::ToggleElder);
    let view = r.s.view(r.now);
    assert!(!view.elder && !view.speech);
    assert_eq!(view.screen, Screen::Catalog { theme: None });
}

fn pin_pad(r: &Rig) -> PinPad {
    match r.s.screen() {
        Screen::TechnicianPin(pad) => *pad,
        other => panic!("expected the PIN pad, got {other:?}"),
    }
}

#[test]
fn five_quick_taps_open_the_pin_pad_but_slow_taps_and_a_citizens_session_do_not() {
    let mut r = Rig::new();
    for second in [0, 2, 4, 6, 8] {
        r.at(second).touch(Action::SecretTap);
    }
    assert_eq!(r.s.screen(), &Screen::Home, "taps 2 s apart are no gesture");
    for _ in 0..5 {
        r.at(20).touch(Action::SecretTap);
    }
    assert_eq!(pin_pad(&r).digits, 0);
    r.touch(Action::Home);

    // With a citizen's data on screen the gesture means nothing.
    let mut r = Rig::new();
    r.walk_to_confirm();
    for _ in 0..5 {
        r.touch(Action::SecretTap);
    }
    assert!(matches!(r.s.screen(), Screen::Confirm { .. }));
}

#[test]
fn the_pin_is_checked_outside_shown_as_dots_and_every_outcome_is_audited() {
    let mut r = Rig::new();
    for _ in 0..5 {
        r.touch(Action::SecretTap);
    }
    for d in [1, 2, 3, 4, 5] {
        r.touch(Action::Pin(PinKey::Digit(d)));
    }
    assert!(
        r.touch(Action::Pin(PinKey::Submit)).is_empty(),
        "5 digits are too few"
    );
    r.touch(Action::Pin(PinKey::Digit(6)));
    r.touch(Action::Pin(PinKey::Erase));
    r.touch(Action::Pin(PinKey::Digit(9)));
    assert_eq!(pin_pad(&r).digits, 6);
    // The view never carries the digits themselves.
    assert!(!format!("{:?}", r.s.view(r.now)).contains("123459"));
    let cmds = r.touch(Action::Pin(PinKey::Submit));
    let [Command::CheckPin(pin)] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(pin.digits(), "123459");
    assert!(!format!("{pin:?}").contains("123459"));
    assert_eq!(pin_pad(&r).message, PinMessage::Checking);

    let cmds = r.send(Event::PinChecked {
        verdict: Verdict::Refused { attempts_left: 4 },
        at: 1_800_000_000,
    });
    assert!(matches!(
        cmds.as_slice(),
        [Command::Audit {
            kind: "pin_refused",
            ..
        }]
    ));
    assert_eq!(
        pin_pad(&r),
        PinPad {
            digits: 0,
            message: PinMessage::Wrong { attempts_left: 4 }
        }
    );
    r.send(Event::PinChecked {
        verdict: Verdict::LockedOut {
            until: 1_800_000_301,
        },
        at: 1_800_000_000,
    });
    assert_eq!(pin_pad(&r).message, PinMessage::Locked { minutes: 6 });

    let cmds = r.send(Event::PinChecked {
        verdict: Verdict::Accepted,
        at: 1_800_000_400,
    });
    assert!(cmds.contains(&Command::Audit {
        kind: "maintenance_entered",
        detail: String::new()
    }));
    assert!(cmds.contains(&Command::RefreshTechnicianStatus));
    assert!(matches!(r.s.screen(), Screen::Maintenance(_)));

    // A task is audited and run; a second tap while it runs does nothing.
    let cmds = r.touch(Action::Maintenance(MaintenanceTask::PrintTestPage));
    assert!(cmds.contains(&Command::RunTask(MaintenanceTask::PrintTestPage)));
    assert!(
        r.touch(Action::Maintenance(MaintenanceTask::PrintTestPage))
            .is_empty()
    );
    r.send(Event::TaskFinished {
        task: MaintenanceTask::PrintTestPage,
        ok: false,
        detail: "paper out".into(),
    });
    let Screen::Maintenance(panel) = r.s.screen() else {
        panic!()
    };
    assert_eq!(
        panel.last_task,
        Some((
            MaintenanceTask::PrintTestPage,
            TaskOutcome::Failed("paper out".into())
        ))
    );
    let cmds = r.touch(Action::Home);
    assert!(cmds.contains(&Command::Audit {
        kind: "maintenance_left",
        detail: String::new()
    }));
    assert_eq!(r.s.screen(), &Screen::Home);
}

#[test]
fn an_idle_maintenance_panel_closes_by_itself() {
    let mut r = Rig::new();
    for _ in 0..5 {
        r.touch(Action::SecretTap);
    }
    r.send(Event::PinChecked {
        verdict: Verdict::Accepted,
        at: 1_800_000_000,
    });
    let deadline = r.s.next_deadline(r.now).expect("a deadline");
    let end = deadline.duration_since(r.t0).as_secs() + 60;
    r.at(end).send(Event::Tick);
    r.send(Event::Tick);
    assert_eq!(r.s.screen(), &Screen::Home);
}

#[test]
fn a_scanned_code_on_the_card_screen_is_answered_not_ignored() {
    let mut r = Rig::new();
    r.touch(Action::Begin);
    r.touch(Action::OpenMatter("m1".into()));
    r.touch(Action::Apply);
    r.send(Event::Scan(ScannedCode::Identity));
    assert_eq!(
        r.s.screen(),
        &Screen::Identify {
            matter: "m1".into(),
            prompt: IdentifyPrompt::CodeNotAccepted
        }
    );
    assert!(!r.s.holds_personal_data(), "a code identifies nobody here");
    // The scanner failing takes nothing from the card path.
    r.send(Event::Devices(DeviceAvailability {
        scanner: false,
        camera: false,
        ..DeviceAvailability::default()
    }));
    assert!(r.s.view(r.now).devices.card_reader);
    // Elsewhere a scan changes nothing.
    r.touch(Action::Back);
    r.send(Event::Scan(ScannedCode::Other));
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "m1".into()
        }
    );
}

#[test]
fn home_falls_into_the_attract_screen_and_presence_wakes_it() {
    let mut r = Rig::new();
    let after = Settings::default().attract_after;
    assert!(!r.s.view(r.now).attract);
    let due = r.s.next_deadline(r.now).expect("the attract deadline");
    assert_eq!(due, r.now + after);
    r.now = due;
    r.send(Event::Tick);
    assert!(r.s.view(r.now).attract, "nobody there: attract");
    r.send(Event::Presence);
    assert!(!r.s.view(r.now).attract, "someone stepped up");
    // A touch on the attract screen only wakes it.
    r.now += after;
    r.send(Event::Tick);
    assert!(r.s.view(r.now).attract);
    assert!(r.touch(Action::Begin).is_empty());
    assert_eq!(r.s.screen(), &Screen::Home);
    assert!(!r.s.view(r.now).attract);
}

pub(super) fn page(bytes: &[u8]) -> CapturedPage {
    CapturedPage {
        jpeg: Arc::new(bytes.to_vec()),
        thumbnail: Arc::new(Picture {
            width: 1,
            height: 1,
            rgb: vec![9, 9, 9],
        }),
    }
}

#[test]
fn search_finds_by_pinyin_initials_chinese_and_english_and_opens_the_guide() {
    let mut r = Rig::new();
    r.touch(Action::OpenSearch);
    assert_eq!(r.s.screen(), &Screen::Search { query: "".into() });
    for key in ["s", "b", "j", "f"] {
        r.touch(Action::SearchType(key.into()));
    }
    assert_eq!(r.s.view(r.now).search_results, vec!["papers".to_owned()]);
    r.touch(Action::SearchClear);
    assert!(
        r.s.view(r.now).search_results.is_empty(),
        "nothing typed, nothing found"
    );
    r.touch(Action::SearchType("社保".into()));
    assert_eq!(r.s.view(r.now).search_results, vec!["papers".to_owned()]);
    r.touch(Action::SearchClear);
    r.touch(Action::SearchType("S".into()));
    r.touch(Action::SearchType("ocial".into()));
    assert_eq!(r.s.view(r.now).search_results, vec!["papers".to_owned()]);
    r.touch(Action::SearchErase);
    assert_eq!(
        r.s.screen(),
        &Screen::Search {
            query: "socia".into()
        }
    );
    // Control characters and symbols from a stray keyboard are not typed.
    r.touch(Action::SearchType("\u{7}';".into()));
    assert_eq!(
        r.s.screen(),
        &Screen::Search {
            query: "socia".into()
        }
    );
    // A query cannot grow without end.
    for _ in 0..40 {
        r.touch(Action::SearchType("x".into()));
    }
    let Screen::Search { query } = r.s.screen() else {
        panic!()
    };
    assert_eq!(query.chars().count(), MAX_QUERY_CHARS);
    r.touch(Action::SearchClear);
    r.touch(Action::SearchType("sbjf".into()));
    r.touch(Action::OpenMatter("papers".into()));
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "papers".into()
        }
    );
    // Back from the guide returns to the search it came from, and from there home.
    r.touch(Action::Back);
    assert_eq!(
        r.s.screen(),
        &Screen::Search {
            query: "sbjf".into()
        }
    );
    r.touch(Action::Back);
    assert_eq!(r.s.screen(), &Screen::Home);
}

#[test]
fn a_search_that_finds_nothing_leads_to_the_topics() {
    let mut r = Rig::new();
    r.touch(Action::OpenSearch);
    r.touch(Action::SearchType("qqq".into()));
    assert!(r.s.view(r.now).search_results.is_empty());
    // The screen offers the topics; the citizen taps one and browses its matters.
    r.touch(Action::ChooseTheme(Some("hf".into())));
    assert_eq!(
        r.s.screen(),
        &Screen::Catalog {
            theme: Some("hf".into())
        }
    );
    // A topic the catalog does not have shows them all rather than nothing.
    r.touch(Action::OpenSearch);
    r.touch(Action::SearchType("qqq".into()));
    r.touch(Action::ChooseTheme(Some("no-such-theme".into())));
    assert_eq!(r.s.screen(), &Screen::Catalog { theme: None });
}

#[test]
fn the_catalog_browses_by_department_too() {
    let mut r = Rig::new();
    r.touch(Action::Begin);
    r.touch(Action::ChooseDepartment(Some("dept".into())));
    assert_eq!(
        r.s.screen(),
        &Screen::Departments {
            department: Some("dept".into())
        }
    );
    r.touch(Action::ChooseDepartment(Some("no-such".into())));
    assert_eq!(r.s.screen(), &Screen::Departments { department: None });
    r.touch(Action::OpenMatter("m2".into()));
    r.touch(Action::Back);
    assert_eq!(r.s.screen(), &Screen::Departments { department: None });
    r.touch(Action::ChooseTheme(Some("hf".into())));
    assert_eq!(
        r.s.screen(),
        &Screen::Catalog {
            theme: Some("hf".into())
        }
    );
}

#[test]
fn the_form_wants_a_real_phone_number() {
    let mut r = Rig::new();
    r.walk_to_confirm();
    r.touch(Action::ConfirmApplicant);
    assert!(r.s.view(r.now).phone_problem, "no phone: the form says so");
    assert_eq!(
        r.s.screen(),
        &Screen::Confirm {
            matter: "m1".into()
        }
    );
    for d in [2, 3, 4] {
        r.touch(Action::PhoneDigit(d));
    }
    assert!(!r.s.view(r.now).phone_problem, "typing clears the warning");
    assert!(r.touch(Action::ConfirmApplicant).is_empty());
    assert!(r.s.view(r.now).phone_problem);
    for _ in 0..3 {
        r.touch(Action::PhoneErase);
    }
    // More digits than any phone has are not taken.
    for _ in 0..20 {
        r.touch(Action::PhoneDigit(1));
    }
    assert_eq!(r.s.view(r.now).phone.len(), MAX_PHONE_DIGITS);
    assert!(r.touch(Action::PhoneDigit(10)).is_empty());
    assert!(r.s.holds_personal_data());
    // Stepping back from the form drops the phone with the card data.
    r.touch(Action::Back);
    assert!(!r.s.holds_personal_data());
    assert_eq!(r.s.view(r.now).phone, "");
}

/// Up to the first material of `papers`.
fn walk_to_materials(r: &mut Rig) {
    r.touch(Action::Begin);
    r.touch(Action::OpenMatter("papers".into()));
    r.touch(Action::Apply);
    r.send(Event::Card(CardEvent::Read(person())));
    for d in [1, 8, 6, 0, 5, 1, 8, 0, 0, 0, 0] {
        r.touch(Action::PhoneDigit(d));
    }
    assert_eq!(
        r.touch(Action::ConfirmApplicant),
        vec![Command::StartCamera]
    );
}

#[test]
fn materials_are_photographed_retaken_or_committed_to_and_go_with_the_application() {
    let mut r = Rig::new();
    walk_to_materials(&mut r);
    let view = r.s.view(r.now);
    // Only what the camera must take: not the card, not the electronic licence.
    let slots: Vec<u16> = view.materials.iter().map(|m| m.index).collect();
    assert_eq!(slots, vec![1, 3]);
    assert_eq!(
        r.s.screen(),
        &Screen::Materials {
            matter: "papers".into(),
            slot: 0,
            capturing: false,
            problem: None,
        }
    );
    // The live picture shows; nothing settled yet, so "next" does nothing, and this
    // material may not be handed in later.
    r.send(Event::CameraFrame(Arc::new(Picture {
        width: 2,
        height: 1,
        rgb: vec![0; 6],
    })));
    assert!(r.s.view(r.now).preview.is_some());
    assert!(r.touch(Action::NextMaterial).is_empty());
    r.touch(Action::DeclareMissing);
    assert!(matches!(r.s.screen(), Screen::Materials { slot: 0, .. }));

    // A capture that finds no page says so; the next one works; a second page; the first is
    // removed to be retaken.
    assert_eq!(r.touch(Action::Capture), vec![Command::CapturePage]);
    assert!(r.touch(Action::Capture).is_empty(), "one capture at a time");
    r.send(Event::PageCaptured(Err(CaptureProblem::NoPage)));
    assert!(matches!(
        r.s.screen(),
        Screen::Materials {
            problem: Some(CaptureProblem::NoPage),
            capturing: false,
            ..
        }
    ));
    r.touch(Action::Capture);
    r.send(Event::PageCaptured(Ok(page(b"page-one"))));
    r.touch(Action::Capture);
    r.send(Event::PageCaptured(Ok(page(b"page-two"))));
    r.touch(Action::RemovePage(0));
    r.touch(Action::RemovePage(7));
    r.touch(Action::Capture);
    r.send(Event::PageCaptured(Ok(page(b"page-one-again"))));
    assert_eq!(r.s.view(r.now).materials[0].pages.len(), 2);
    r.touch(Action::NextMaterial);
    assert!(matches!(r.s.screen(), Screen::Materials { slot: 1, .. }));

    // The lease may come later on a written commitment (the camera rests while it is read).
    assert_eq!(r.touch(Action::DeclareMissing), vec![Command::StopCamera]);
    assert_eq!(
        r.s.screen(),
        &Screen::Commitment {
            matter: "papers".into(),
            slot: 1
        }
    );
    assert!(r.touch(Action::Commit).is_empty());
    assert_eq!(
        r.s.screen(),
        &Screen::Review {
            matter: "papers".into()
        }
    );
    assert!(
        r.s.view(r.now).preview.is_none(),
        "the camera's picture goes with the camera"
    );

    let cmds = r.touch(Action::SubmitApplication);
    let [
        Command::Submit {
            request, materials, ..
        },
    ] = cmds.as_slice()
    else {
        panic!("expected a submission, got {cmds:?}")
    };
    assert_eq!(request.committed_missing_materials, vec![3]);
    assert_eq!(materials.len(), 1);
    assert_eq!(materials[0].index, 1);
    let pages: Vec<&[u8]> = materials[0].pages.iter().map(|p| p.as_slice()).collect();
    assert_eq!(pages, vec![&b"page-two"[..], &b"page-one-again"[..]]);
    assert!(
        !format!("{cmds:?}").contains("page-two"),
        "photos never print"
    );
    r.send(Event::Submitted(Ok(receipt("LY9", "papers"))));
    assert!(
        r.s.view(r.now).materials.is_empty(),
        "kept in the outbox: the session's copy goes"
    );
}

#[test]
fn a_timeout_while_photographing_wipes_the_photos_and_stops_the_camera() {
    let mut r = Rig::new();
    walk_to_materials(&mut r);
    r.touch(Action::Capture);
    r.send(Event::PageCaptured(Ok(page(b"secret"))));
    assert!(r.s.holds_personal_data());
    r.at(3600);
    let cmds = r.send(Event::Tick);
    assert!(cmds.contains(&Command::StopCamera));
    assert!(cmds.contains(&Command::WipePersonalData));
    assert!(!r.s.holds_personal_data());
    assert!(r.s.view(r.now).materials.is_empty());
    // A page arriving late is dropped.
    r.send(Event::PageCaptured(Ok(page(b"late"))));
    assert!(!r.s.holds_personal_data());
}

fn ticket(no: &str) -> Ticket {
    Ticket {
        ticket_no: no.into(),
        matter_id: "m1".into(),
        window: "3号窗口".into(),
        people_ahead: 4,
        issued_at: "2026-11-22T10:00:00+08:00".into(),
    }
}

#[test]
fn a_queue_ticket_is_taken_for_a_matter_and_printed() {
    let mut r = Rig::new();
    r.touch(Action::Errand(Errand::Ticket));
    assert_eq!(r.s.screen(), &Screen::QueuePick { theme: None });
    r.touch(Action::ChooseTheme(Some("si".into())));
    assert_eq!(
        r.touch(Action::OpenMatter("m1".into())),
        vec![Command::TakeTicket {
            matter: "m1".into()
        }]
    );
    assert_eq!(
        r.s.screen(),
        &Screen::Working {
            errand: Errand::Ticket
        }
    );
    assert_eq!(
        r.s.next_deadline(r.now),
        None,
        "waiting never times out by itself"
    );
    let cmds = r.send(Event::ErrandDone(ErrandOutcome::Ticket {
        ticket: ticket("A015"),
        appointment: None,
    }));
    let [Command::PrintTicket(slip)] = cmds.as_slice() else {
        panic!("expected a ticket to print, got {cmds:?}")
    };
    assert_eq!(slip.number, "A015");
    assert_eq!(slip.matter_name.zh, "m1");
    assert_eq!(slip.people_ahead, 4);
    r.send(Event::Printed(Ok(())));
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            printing: Some(PrintStatus::Printed),
            ..
        }
    ));
    r.touch(Action::Done);
    assert_eq!(r.s.screen(), &Screen::Thanks);
}

#[test]
fn a_ticket_without_a_printer_is_shown_not_printed() {
    let mut r = Rig::new();
    r.send(Event::Devices(DeviceAvailability {
        printer: false,
        ..DeviceAvailability::default()
    }));
    r.touch(Action::Errand(Errand::Ticket));
    r.touch(Action::OpenMatter("m1".into()));
    let cmds = r.send(Event::ErrandDone(ErrandOutcome::Ticket {
        ticket: ticket("A016"),
        appointment: None,
    }));
    assert!(cmds.is_empty());
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            printing: Some(PrintStatus::Failed(PrintFailure::PrinterFault)),
            ..
        }
    ));
    // And a certificate, which is only paper, is not offered.
    r.touch(Action::Home);
    assert!(r.touch(Action::Errand(Errand::Certificate)).is_empty());
    assert_eq!(r.s.screen(), &Screen::Home);
}

#[test]
fn check_in_by_card_or_by_code_and_a_wrong_code_is_explained() {
    let mut r = Rig::new();
    assert_eq!(
        r.touch(Action::Errand(Errand::CheckIn)),
        vec![Command::StartCardReader]
    );
    r.send(Event::Scan(ScannedCode::Other));
    assert!(matches!(
        r.s.screen(),
        Screen::CheckIn {
            prompt: CheckInPrompt::NotAnAppointmentCode,
            ..
        }
    ));
    let cmds = r.send(Event::Card(CardEvent::Read(person())));
    assert_eq!(
        cmds,
        vec![
            Command::CheckIn(CheckInRequest {
                code: None,
                id_number: Some("320706199001011234".into()),
                name: Some("张三".into()),
            }),
            Command::StopCardReader
        ]
    );
    assert!(
        !r.s.holds_personal_data(),
        "the card's data went into the request only"
    );
    r.send(Event::ErrandDone(ErrandOutcome::NoAppointment));
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            outcome: ErrandOutcome::NoAppointment,
            printing: None,
            ..
        }
    ));
    r.touch(Action::Home);

    // From home, scanning the booking's code checks in at once.
    let cmds = r.send(Event::Scan(ScannedCode::Appointment(
        "YY202611220042".into(),
    )));
    assert_eq!(
        cmds,
        vec![Command::CheckIn(CheckInRequest {
            code: Some("YY202611220042".into()),
            id_number: None,
            name: None,
        })]
    );
    let cmds = r.send(Event::ErrandDone(ErrandOutcome::Ticket {
        ticket: ticket("B003"),
        appointment: Some(AppointmentInfo {
            matter_id: "m1".into(),
            day: "2026-11-22".into(),
            slot: "09:30-10:00".into(),
        }),
    }));
    assert!(matches!(cmds.as_slice(), [Command::PrintTicket(_)]));
}

#[test]
fn progress_and_certificates_need_the_card_and_keep_nothing() {
    let mut r = Rig::new();
    assert_eq!(
        r.touch(Action::Errand(Errand::Progress)),
        vec![Command::StartCardReader]
    );
    r.send(Event::Card(CardEvent::Expired));
    assert_eq!(
        r.s.screen(),
        &Screen::IdentifyFor {
            errand: Errand::Progress,
            prompt: IdentifyPrompt::Expired
        }
    );
    let cmds = r.send(Event::Card(CardEvent::Read(person())));
    assert!(matches!(
        cmds.as_slice(),
        [Command::QueryProgress(q), Command::StopCardReader]
            if q.id_number == "320706199001011234" && q.name.as_deref() == Some("张三")
    ));
    assert!(
        !format!("{cmds:?}").contains("320706") && !format!("{cmds:?}").contains("张三"),
        "requests print redacted"
    );
    r.send(Event::ErrandDone(ErrandOutcome::Progress(vec![
        ApplicationStatus {
            application_no: "LY1".into(),
            matter_id: "m1".into(),
            accepted_at: "2026-11-20T10:00:00+08:00".into(),
            state: ApplicationState::InReview,
            answers: Vec::new(),
            history: Vec::new(),
            due_on: None,
            correction: None,
            rateable: false,
        },
    ])));
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            errand: Errand::Progress,
            outcome: ErrandOutcome::Progress(list),
            ..
        } if list.len() == 1
    ));
    r.touch(Action::Home);

    r.touch(Action::Errand(Errand::Certificate));
    let cmds = r.send(Event::Card(CardEvent::Read(person())));
    assert!(matches!(
        cmds.as_slice(),
        [Command::PrintCertificate { kind: APPLICATION_RECORD, request }, Command::StopCardReader]
            if request.name == "张三"
    ));
    r.send(Event::ErrandDone(ErrandOutcome::Unreachable));
    assert!(matches!(
        r.s.screen(),
        Screen::ErrandResult {
            outcome: ErrandOutcome::Unreachable,
            ..
        }
    ));
    // The result screen times out like any other.
    r.at(3600);
    r.send(Event::Tick);
    assert_eq!(r.s.screen(), &Screen::Home);

    // Without a card reader neither is offered.
    r.send(Event::Devices(DeviceAvailability {
        card_reader: false,
        ..DeviceAvailability::default()
    }));
    assert!(r.touch(Action::Errand(Errand::Progress)).is_empty());
    assert_eq!(r.s.screen(), &Screen::Home);
}

/// The catalog `catalog()` becomes in a later publication: version `version`, `m1` renamed.
fn republished(version: &str) -> Arc<Catalog> {
    let mut next = (*catalog()).clone();
    next.version = version.into();
    next.matters[0].name = text("新名称");
    Arc::new(next)
}

fn shown_version(s: &Session, now: Instant) -> String {
    s.view(now).catalog.expect("a catalog").version.clone()
}

#[test]
fn a_catalog_arriving_mid_application_changes_nothing_until_the_session_ends() {
    let mut r = Rig::new();
    r.walk_to_confirm();
    let before = r.s.view(r.now);
    assert!(r.send(Event::CatalogLoaded(republished("t2"))).is_empty());
    let during = r.s.view(r.now);
    assert_eq!(during.screen, before.screen);
    assert_eq!(shown_version(&r.s, r.now), "t1");
    assert_eq!(during.catalog.expect("catalog").matters[0].name, text("m1"));
    // A still newer one replaces the one waiting; the citizen goes on undisturbed.
    r.send(Event::CatalogLoaded(republished("t3")));
    r.fill_form();
    assert_eq!(
        r.s.screen(),
        &Screen::Review {
            matter: "m1".into()
        }
    );
    assert_eq!(shown_version(&r.s, r.now), "t1");
    // The session ends: home shows the newest catalog.
    r.touch(Action::Home);
    assert_eq!(r.s.screen(), &Screen::Home);
    assert_eq!(shown_version(&r.s, r.now), "t3");
    assert_eq!(
        r.s.view(r.now).catalog.expect("catalog").matters[0].name,
        text("新名称")
    );
}

#[test]
fn a_citizen_only_browsing_is_not_disturbed_either_and_a_timeout_applies_it() {
    let mut r = Rig::new();
    r.touch(Action::Begin);
    r.touch(Action::OpenMatter("m1".into()));
    r.send(Event::CatalogLoaded(republished("t2")));
    assert_eq!(
        r.s.screen(),
        &Screen::Guide {
            matter: "m1".into()
        }
    );
    assert_eq!(shown_version(&r.s, r.now), "t1");
    // Walking away: the session times out to home, which shows the new catalog.
    r.at(200).send(Event::Tick);
    assert_eq!(r.s.screen(), &Screen::Home);
    assert_eq!(shown_version(&r.s, r.now), "t2");
}

#[test]
fn at_home_or_on_the_attract_screen_a_new_catalog_shows_at_once() {
    let mut r = Rig::new();
    r.send(Event::CatalogLoaded(republished("t2")));
    assert_eq!(shown_version(&r.s, r.now), "t2");
    // The attract screen stays up: nothing wakes it but a person.
    r.at(3600).send(Event::Tick);
    assert!(r.s.view(r.now).attract);
    r.send(Event::CatalogLoaded(republished("t3")));
    let view = r.s.view(r.now);
    assert!(view.attract);
    assert_eq!(view.screen, Screen::Home);
    assert_eq!(shown_version(&r.s, r.now), "t3");
}
