//! The screen reader `kiosk drive` reads and touches the screens through: on the application
//! form, it finds the texts, the phone field with its value and its error, and the controls;
//! pressing a key of the number pad or a labelled button raises the touch the screen declares;
//! strokes outside the element they are drawn on are refused and nothing is drawn.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::SCREENS;
use kiosk_ui::headless::Headless;
use kiosk_ui::screen_reader::{self, LabelMatch, Target, TouchError};
use kiosk_ui::{Application, Kiosk, KioskWindow, Touch};
use slint::ComponentHandle;

#[test]
fn the_application_form_reads_and_answers_touches_as_a_citizen_would_see_it() {
    let _display = Headless::install(1080, 1920).expect("headless platform");
    let window = KioskWindow::new().expect("window");
    window.show().expect("show");
    kiosk_ui::select_language(true);
    let confirm = SCREENS
        .iter()
        .find(|s| s.name == "confirm")
        .expect("the form");
    common::show(&window, confirm);
    let touches: Rc<RefCell<Vec<(Touch, String)>>> = Rc::default();
    {
        let touches = touches.clone();
        window.global::<Kiosk>().on_touched(move |touch, argument| {
            touches.borrow_mut().push((touch, argument.to_string()));
        });
    }
    let application = window.global::<Application>();
    application.set_phone("139".into());
    application.set_phone_problem(true);

    let reading = screen_reader::read(&window);
    assert!(
        reading.texts.iter().any(|t| t == "Application form"),
        "{:?}",
        reading.texts
    );
    assert!(reading.texts.iter().any(|t| t == "张三"));
    let phone = reading
        .fields
        .iter()
        .find(|f| f.label == "Mobile phone")
        .expect("the phone field");
    assert_eq!(phone.value, "139");
    assert!(
        phone
            .error
            .as_deref()
            .is_some_and(|e| e.contains("11-digit")),
        "the field's error: {:?}",
        phone.error
    );
    let labels: Vec<&str> = reading.controls.iter().map(|c| c.label.as_str()).collect();
    for label in ["Next", "Back", "1", "0", "Erase"] {
        assert!(labels.contains(&label), "no {label} in {labels:?}");
    }

    // A key of the number pad, then a button by its label.
    screen_reader::press(&window, Target::Key("7")).expect("key 7");
    screen_reader::press(
        &window,
        Target::Label {
            label: "Next",
            matching: LabelMatch::Exact,
            nth: 1,
        },
    )
    .expect("Next");
    assert_eq!(
        *touches.borrow(),
        vec![
            (Touch::PhoneDigit, "7".to_owned()),
            (Touch::Confirm, String::new())
        ]
    );

    // What is not on the screen, or not where the strokes go, is refused.
    assert_eq!(
        screen_reader::press(&window, Target::Key("x")),
        Err(TouchError::NoSuchLabel { label: "x".into() })
    );
    assert!(!screen_reader::shows(
        &window,
        Target::Id("handwriting-pad")
    ));
    let outside = screen_reader::write_strokes(
        &window,
        Target::Label {
            label: "Mobile phone",
            matching: LabelMatch::Exact,
            nth: 1,
        },
        &[vec![(1.0, 1.0), (5000.0, 1.0)]],
    );
    assert!(
        matches!(outside, Err(TouchError::OutsideElement { x, .. }) if x == 5000.0),
        "{outside:?}"
    );
    assert_eq!(
        touches.borrow().len(),
        2,
        "a refused stroke touches nothing"
    );
}
