//! The input methods' widgets drawn headlessly and touched: the candidate bar shows its
//! candidates large and raises the index touched, and the handwriting pad reports a finger's
//! stroke, which `Ink` collects and the pad draws back as ink. The PNGs are written to
//! `<target>/tmp/input-widgets/` to be looked at. (The forms' pages place these widgets; here
//! they stand in a window of their own.)

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;

use kiosk_ui::headless::{Headless, write_png};
use kiosk_ui::ink::Ink;
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, LogicalPosition, ModelRc, Rgb8Pixel, SharedString, VecModel};

slint::slint! {
    import { Theme } from "../ui/theme.slint";
    import { CandidateBar } from "../ui/components/candidate-bar.slint";
    import { HandwritingPad } from "../ui/components/handwriting-pad.slint";
    export { Theme }

    export component InputWidgets inherits Window {
        in property <string> preedit;
        in property <[string]> candidates;
        in property <bool> has-next;
        in property <string> ink;
        in property <[string]> written;
        out property <length> pad-side: pad.side;
        // Where the widgets were laid out, to touch them.
        out property <length> bar-x: bar.x;
        out property <length> bar-y: bar.y;
        out property <length> bar-width: bar.width;
        out property <length> bar-height: bar.height;
        out property <length> pad-x: pad.x;
        out property <length> pad-y: pad.y;
        out property <length> pad-width: pad.width;
        callback chosen(int);
        callback next-page();
        callback stroke-begun(length, length);
        callback stroke-moved(length, length);
        callback stroke-ended();
        callback erase-stroke();
        default-font-family: Theme.font-family;
        default-font-size: Theme.font-body;
        background: Theme.background;
        VerticalLayout {
            padding: Theme.pad;
            spacing: Theme.pad;
            alignment: start;
            bar := CandidateBar {
                preedit: root.preedit;
                candidates: root.candidates;
                has-next: root.has-next;
                chosen(i) => { root.chosen(i); }
                next-page => { root.next-page(); }
            }
            pad := HandwritingPad {
                ink: root.ink;
                candidates: root.written;
                stroke-begun(x, y) => { root.stroke-begun(x, y); }
                stroke-moved(x, y) => { root.stroke-moved(x, y); }
                stroke-ended => { root.stroke-ended(); }
                erase-stroke => { root.erase-stroke(); }
            }
        }
    }
}

const WIDTH: u32 = 1080;
const HEIGHT: u32 = 1920;
/// Theme.text, the ink's colour.
const INK: Rgb8Pixel = Rgb8Pixel {
    r: 0x17,
    g: 0x20,
    b: 0x2e,
};

fn strings(items: &[&str]) -> ModelRc<SharedString> {
    ModelRc::new(VecModel::from(
        items
            .iter()
            .map(|&s| SharedString::from(s))
            .collect::<Vec<_>>(),
    ))
}

fn review_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("input-widgets");
    std::fs::create_dir_all(&dir).expect("review folder");
    dir
}

fn pixel(pixels: &[Rgb8Pixel], x: f32, y: f32) -> Rgb8Pixel {
    pixels[y as usize * WIDTH as usize + x as usize]
}

fn near(a: Rgb8Pixel, b: Rgb8Pixel) -> bool {
    a.r.abs_diff(b.r) < 40 && a.g.abs_diff(b.g) < 40 && a.b.abs_diff(b.b) < 40
}

fn touch(window: &slint::Window, kind: &str, x: f32, y: f32) {
    let position = LogicalPosition::new(x, y);
    let button = PointerEventButton::Left;
    window.dispatch_event(match kind {
        "down" => WindowEvent::PointerPressed { position, button },
        "up" => WindowEvent::PointerReleased { position, button },
        _ => WindowEvent::PointerMoved { position },
    });
}

/// The centre of candidate `index` (two rows of four between the page arrows), from the
/// bar's place and the theme's sizes, as `candidate-bar.slint` lays it out.
fn candidate_centre(ui: &InputWidgets, index: usize) -> (f32, f32) {
    let theme = ui.global::<Theme>();
    let (gap, target) = (theme.get_gap(), theme.get_target());
    let inner = ui.get_bar_width() - 2.0 * gap - 2.0 * target - 2.0 * (gap / 2.0);
    let cell = (inner - 3.0 * (gap / 2.0)) / 4.0;
    let (row, column) = ((index / 4) as f32, (index % 4) as f32);
    let x = ui.get_bar_x() + gap + target + gap / 2.0 + column * (cell + gap / 2.0) + cell / 2.0;
    let rows_top = ui.get_bar_y() + ui.get_bar_height() - gap - 2.0 * target - gap / 2.0;
    (x, rows_top + row * (target + gap / 2.0) + target / 2.0)
}

/// Pixels of `colour` inside a box.
fn count(pixels: &[Rgb8Pixel], colour: Rgb8Pixel, (x0, y0, x1, y1): (f32, f32, f32, f32)) -> usize {
    (y0 as usize..y1 as usize)
        .flat_map(|y| (x0 as usize..x1 as usize).map(move |x| (x, y)))
        .filter(|&(x, y)| near(pixels[y * WIDTH as usize + x], colour))
        .count()
}

#[test]
fn candidates_show_and_a_written_stroke_is_drawn() {
    let display = Headless::install(WIDTH, HEIGHT).expect("headless display");
    let ui = InputWidgets::new().expect("the widgets");
    ui.set_preedit("ni hao".into());
    ui.set_candidates(strings(&["你好", "你", "拟", "尼", "呢", "泥", "妳", "妮"]));
    ui.set_has_next(true);
    ui.set_written(strings(&["十", "干", "千", "士", "土"]));

    // The finger's strokes reach an Ink, whose path the pad draws.
    let ink = Rc::new(RefCell::new(Ink::new(ui.get_pad_side(), ui.get_pad_side())));
    let weak = ui.as_weak();
    let redraw = move |ink: &Ink| {
        if let Some(ui) = weak.upgrade() {
            ui.set_ink(ink.path_commands().into());
        }
    };
    let (i, r) = (ink.clone(), redraw.clone());
    ui.on_stroke_begun(move |x, y| {
        i.borrow_mut().begin(x, y);
        r(&i.borrow());
    });
    let (i, r) = (ink.clone(), redraw.clone());
    ui.on_stroke_moved(move |x, y| {
        i.borrow_mut().extend(x, y);
        r(&i.borrow());
    });
    let i = ink.clone();
    ui.on_stroke_ended(move || {
        i.borrow_mut().end();
    });
    let (i, r) = (ink.clone(), redraw);
    ui.on_erase_stroke(move || {
        i.borrow_mut().erase_stroke();
        r(&i.borrow());
    });
    let chosen = Rc::new(RefCell::new(Vec::new()));
    let c = chosen.clone();
    ui.on_chosen(move |index| c.borrow_mut().push(index));
    ui.show().expect("shown");
    let dir = review_dir();

    let mut bar_heights = Vec::new();
    for elder in [false, true] {
        ui.global::<Theme>().set_elder(elder);
        let mode = if elder { "elder" } else { "standard" };
        display.render();

        // The candidates are drawn: text in the bar, none when there are none.
        let bar = (
            ui.get_bar_x(),
            ui.get_bar_y(),
            ui.get_bar_x() + ui.get_bar_width(),
            ui.get_bar_y() + ui.get_bar_height(),
        );
        let shown = display.render();
        bar_heights.push(ui.get_bar_height());
        ui.set_candidates(strings(&[]));
        let empty = display.render();
        assert!(count(&shown, INK, bar) > 5 * count(&empty, INK, bar) + 1000);
        ui.set_candidates(strings(&["你好", "你", "拟", "尼", "呢", "泥", "妳", "妮"]));

        // Touching the third candidate raises index 2, the seventh 6.
        for index in [2, 6] {
            let (x, y) = candidate_centre(&ui, index);
            touch(ui.window(), "down", x, y);
            touch(ui.window(), "up", x, y);
        }
        assert_eq!(
            chosen.borrow_mut().drain(..).collect::<Vec<_>>(),
            vec![2, 6]
        );

        // A horizontal stroke across the middle of the pad, then a vertical one: 十.
        let side = ui.get_pad_side();
        let (left, top) = (
            ui.get_pad_x() + (ui.get_pad_width() - side) / 2.0,
            ui.get_pad_y(),
        );
        let before = display.render();
        let across_y = top + side * 0.4;
        touch(ui.window(), "down", left + side * 0.15, across_y);
        for step in 1..=20 {
            touch(
                ui.window(),
                "move",
                left + side * (0.15 + 0.7 * step as f32 / 20.0),
                across_y,
            );
        }
        touch(ui.window(), "up", left + side * 0.85, across_y);
        touch(ui.window(), "down", left + side * 0.5, top + side * 0.1);
        for step in 1..=20 {
            touch(
                ui.window(),
                "move",
                left + side * 0.5,
                top + side * (0.1 + 0.8 * step as f32 / 20.0),
            );
        }
        touch(ui.window(), "up", left + side * 0.5, top + side * 0.9);
        assert_eq!(ink.borrow().strokes().len(), 2);
        let after = display.render();
        write_png(&dir.join(format!("{mode}.png")), WIDTH, HEIGHT, &after).expect("written");

        // Ink where the finger went, none before it did; away from the strokes, the pad.
        let on_stroke = (left + side * 0.3, across_y);
        assert!(!near(pixel(&before, on_stroke.0, on_stroke.1), INK));
        assert!(near(pixel(&after, on_stroke.0, on_stroke.1), INK));
        assert!(near(
            pixel(&after, left + side * 0.5, top + side * 0.7),
            INK
        ));
        assert!(!near(
            pixel(&after, left + side * 0.25, top + side * 0.75),
            INK
        ));

        // The erase button takes the last stroke's ink away.
        // (The erase button sits a gap below the pad, at the left.)
        let (x, y) = (
            left.min(ui.get_pad_x() + 50.0),
            top + side + ui.global::<Theme>().get_gap() + 20.0,
        );
        touch(ui.window(), "down", x, y);
        touch(ui.window(), "up", x, y);
        let erased = display.render();
        assert!(!near(
            pixel(&erased, left + side * 0.5, top + side * 0.7),
            INK
        ));
        assert!(near(pixel(&erased, on_stroke.0, on_stroke.1), INK));
        ink.borrow_mut().clear();
        ui.set_ink("".into());
    }
    // 长辈版: larger candidates.
    assert!(bar_heights[1] > bar_heights[0] * 1.2, "{bar_heights:?}");
}
