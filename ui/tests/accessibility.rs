//! Accessibility of every screen, computed from what the UI really uses.
//!
//! * The `Theme` global, read at run time with 长辈版 off and on: WCAG contrast ≥ 4.5:1 for every
//!   text colour on the surfaces it is drawn on, the 适老化 type sizes (body ≥ 18 pt, largest
//!   ≥ 30 pt in 长辈版; 1 pt = 4/3 px) and touch target sizes (≥ 44 px, ≥ 60 px in 长辈版).
//! * Every screen of [`common::SCREENS`] in every [`common::Mode`], walked element by element
//!   after layout: every button has an accessible label and is at least a target in both
//!   directions, every touch area too; in 长辈版 no text is under 18 pt; no text is cut off
//!   (taller or wider than the box the layout gave it, or elided); nothing a citizen should see
//!   or touch lies outside the window.
//!
//! Failures name the screen, the mode and the element (its type, id, label and position).

mod common;

use std::fmt::Write as _;
use std::ops::ControlFlow;

use common::{Mode, SCREENS};
use i_slint_backend_testing::{AccessibleRole, ElementHandle, ElementQuery};
use i_slint_core::accessibility::AccessibleStringProperty;
use i_slint_core::item_rendering::{HasFont, RenderText};
use i_slint_core::item_tree::{ItemRc, ParentItemTraversalMode};
use i_slint_core::items::{ComplexText, ItemRef, SimpleText, TextOverflow, TextWrap};
use i_slint_core::layout::Orientation;
use i_slint_core::window::WindowInner;
use kiosk_ui::headless::Headless;
use kiosk_ui::{KioskWindow, Theme};
use slint::{Color, ComponentHandle};

/// px per pt at the panel's 96 dpi.
const PX_PER_PT: f32 = 4.0 / 3.0;
/// Layout rounding: a text may exceed its box by this much without being cut.
const SLACK: f32 = 1.0;

fn linear(channel: u8) -> f64 {
    let c = f64::from(channel) / 255.0;
    if c <= 0.040_45 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn luminance(c: Color) -> f64 {
    0.2126 * linear(c.red()) + 0.7152 * linear(c.green()) + 0.0722 * linear(c.blue())
}

/// WCAG 2 contrast ratio of two opaque colours.
fn contrast(a: Color, b: Color) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// `top` (possibly translucent) drawn over the opaque `under`.
fn over(top: Color, under: Color) -> Color {
    let a = f32::from(top.alpha()) / 255.0;
    let mix = |t: u8, u: u8| (f32::from(t) * a + f32::from(u) * (1.0 - a)).round() as u8;
    Color::from_rgb_u8(
        mix(top.red(), under.red()),
        mix(top.green(), under.green()),
        mix(top.blue(), under.blue()),
    )
}

fn hex(c: Color) -> String {
    format!("#{:02x}{:02x}{:02x}", c.red(), c.green(), c.blue())
}

fn window() -> (Headless, KioskWindow) {
    let display = Headless::install(1080, 1920).expect("headless platform");
    let window = KioskWindow::new().expect("window");
    window.show().expect("show");
    (display, window)
}

#[test]
fn theme_colours_sizes_and_targets_meet_the_guidelines() {
    let (_display, window) = window();
    let theme = window.global::<Theme>();
    let mut failures = Vec::new();

    for elder in [false, true] {
        theme.set_elder(elder);
        let mode = if elder { "长辈版" } else { "standard" };

        // Text colours on the two surfaces every screen uses.
        let text_colours = [
            ("text", theme.get_text()),
            ("text-muted", theme.get_text_muted()),
            ("brand", theme.get_brand()),
            ("brand-dark", theme.get_brand_dark()),
            ("success", theme.get_success()),
            ("warning", theme.get_warning()),
            ("danger", theme.get_danger()),
            ("star", theme.get_star()),
        ];
        let mut pairs: Vec<(String, Color, String, Color)> = Vec::new();
        for (name, colour) in text_colours {
            pairs.push((name.into(), colour, "surface".into(), theme.get_surface()));
            pairs.push((
                name.into(),
                colour,
                "background".into(),
                theme.get_background(),
            ));
        }
        // Text on filled and tinted backgrounds, as the screens combine them.
        let veil_on_surface = over(theme.get_overlay(), theme.get_surface());
        let combined = [
            ("on-brand", theme.get_on_brand(), "brand", theme.get_brand()),
            (
                "on-brand",
                theme.get_on_brand(),
                "brand-dark",
                theme.get_brand_dark(),
            ),
            (
                "text",
                theme.get_text(),
                "brand-soft",
                theme.get_brand_soft(),
            ),
            (
                "brand",
                theme.get_brand(),
                "brand-soft",
                theme.get_brand_soft(),
            ),
            (
                "brand-dark",
                theme.get_brand_dark(),
                "brand-soft",
                theme.get_brand_soft(),
            ),
            (
                "text",
                theme.get_text(),
                "success-soft",
                theme.get_success_soft(),
            ),
            (
                "success",
                theme.get_success(),
                "success-soft",
                theme.get_success_soft(),
            ),
            (
                "text",
                theme.get_text(),
                "warning-soft",
                theme.get_warning_soft(),
            ),
            (
                "warning",
                theme.get_warning(),
                "warning-soft",
                theme.get_warning_soft(),
            ),
            (
                "star",
                theme.get_star(),
                "warning-soft",
                theme.get_warning_soft(),
            ),
            (
                "text",
                theme.get_text(),
                "danger-soft",
                theme.get_danger_soft(),
            ),
            (
                "danger",
                theme.get_danger(),
                "danger-soft",
                theme.get_danger_soft(),
            ),
            (
                "surface",
                theme.get_surface(),
                "overlay over surface",
                veil_on_surface,
            ),
        ];
        for (fg, fc, bg, bc) in combined {
            pairs.push((fg.into(), fc, bg.into(), bc));
        }
        for (fg, fc, bg, bc) in pairs {
            let ratio = contrast(fc, bc);
            if ratio < 4.5 {
                failures.push(format!(
                    "{mode}: {fg} {} on {bg} {} has contrast {ratio:.2}:1, below 4.5:1",
                    hex(fc),
                    hex(bc)
                ));
            }
        }

        // Type sizes.
        let sizes = [
            ("font-small", theme.get_font_small()),
            ("font-body", theme.get_font_body()),
            ("font-large", theme.get_font_large()),
            ("font-title", theme.get_font_title()),
            ("font-hero", theme.get_font_hero()),
        ];
        let body_pt = theme.get_font_body() / PX_PER_PT;
        if body_pt < 18.0 {
            failures.push(format!("{mode}: body text is {body_pt:.1} pt, below 18 pt"));
        }
        if elder {
            for (name, px) in sizes {
                if px / PX_PER_PT < 18.0 {
                    failures.push(format!(
                        "长辈版: {name} is {px} px = {:.1} pt, below 18 pt",
                        px / PX_PER_PT
                    ));
                }
            }
            let largest = sizes.iter().map(|(_, px)| *px).fold(0.0, f32::max);
            if largest / PX_PER_PT < 30.0 {
                failures.push(format!(
                    "长辈版: the largest text is {largest} px = {:.1} pt, below 30 pt",
                    largest / PX_PER_PT
                ));
            }
        }

        // Touch targets.
        let minimum = if elder { 60.0 } else { 44.0 };
        for (name, px) in [
            ("target", theme.get_target()),
            ("target-small", theme.get_target_small()),
        ] {
            if px < minimum {
                failures.push(format!("{mode}: {name} is {px} px, below {minimum} px"));
            }
        }
    }
    theme.set_elder(false);

    assert!(
        failures.is_empty(),
        "the theme fails the guidelines:\n{}",
        failures.join("\n")
    );
}

/// "KioskButton `Start` at (32, 600) 1016×112".
fn describe(e: &ElementHandle) -> String {
    let mut s = e
        .type_name()
        .map(|t| t.to_string())
        .unwrap_or_else(|| "element".into());
    if let Some(id) = e.id().filter(|id| !id.is_empty()) {
        let _ = write!(s, " {id}");
    }
    if let Some(label) = e.accessible_label().filter(|l| !l.is_empty()) {
        let _ = write!(s, " “{label}”");
    }
    let (p, size) = (e.absolute_position(), e.size());
    let _ = write!(
        s,
        " at ({:.0}, {:.0}) {:.0}×{:.0}",
        p.x, p.y, size.width, size.height
    );
    s
}

/// Buttons and touch areas: labelled, and at least a target in both directions.
fn check_touchables(window: &KioskWindow, minimum: f32, failures: &mut Vec<String>) {
    let buttons = ElementQuery::from_root(window)
        .match_accessible_role(AccessibleRole::Button)
        .find_all();
    for button in &buttons {
        if button
            .accessible_label()
            .is_none_or(|l| l.trim().is_empty())
        {
            failures.push(format!(
                "button without an accessible label: {}",
                describe(button)
            ));
        }
        let size = button.size();
        if size.width + SLACK < minimum || size.height + SLACK < minimum {
            failures.push(format!(
                "button smaller than {minimum} px: {}",
                describe(button)
            ));
        }
    }
    for area in ElementHandle::find_by_element_type_name(window, "TouchArea") {
        let size = area.size();
        if size.width + SLACK < minimum || size.height + SLACK < minimum {
            failures.push(format!(
                "touch area smaller than {minimum} px: {}",
                describe(&area)
            ));
        }
    }
}

/// The text of a `Text` element and what its layout needs, when `item` is one.
struct TextItem {
    text: String,
    font_px: f32,
    wrap: TextWrap,
    overflow: TextOverflow,
}

fn text_item(item: &ItemRc) -> Option<TextItem> {
    let text = item
        .accessible_string_property(AccessibleStringProperty::Label)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let font = |request: i_slint_core::graphics::FontRequest| {
        request.pixel_size.map(|l| l.get()).unwrap_or(0.0)
    };
    if let Some(t) = ItemRef::downcast_pin::<ComplexText>(item.borrow()) {
        return Some(TextItem {
            text,
            font_px: font(t.font_request(item)),
            wrap: t.wrap(),
            overflow: t.overflow(),
        });
    }
    if let Some(t) = ItemRef::downcast_pin::<SimpleText>(item.borrow()) {
        return Some(TextItem {
            text,
            font_px: font(t.font_request(item)),
            wrap: t.wrap(),
            overflow: t.overflow(),
        });
    }
    None
}

/// Whether an ancestor clips `item` (a scrolling list, a `clip: true` box): such content may
/// lie beyond the window, and is reached by scrolling.
fn clipped_by_ancestor(item: &ItemRc) -> bool {
    let mut current = item.parent_item(ParentItemTraversalMode::StopAtPopups);
    while let Some(parent) = current {
        if parent.borrow().as_ref().clips_children() {
            return true;
        }
        current = parent.parent_item(ParentItemTraversalMode::StopAtPopups);
    }
    false
}

/// Texts cut off, too small, or outside the window.
fn check_texts(window: &KioskWindow, elder: bool, failures: &mut Vec<String>) {
    let size = window.window().size();
    let (win_w, win_h) = (size.width as f32, size.height as f32);
    let root = ItemRc::new_root(WindowInner::from_pub(window.window()).component());
    let Some(adapter) = root.window_adapter() else {
        failures.push("the window has no adapter".into());
        return;
    };
    root.visit_descendants(|item| {
        if !item.is_visible() {
            return ControlFlow::<()>::Continue(());
        }
        let Some(text) = text_item(item) else {
            return ControlFlow::Continue(());
        };
        if text.text.trim().is_empty() {
            return ControlFlow::Continue(());
        }
        let g = item.geometry();
        let at = item.map_to_window(g.origin);
        let name = format!(
            "text “{}” at ({:.0}, {:.0}) {:.0}×{:.0}",
            text.text, at.x, at.y, g.size.width, g.size.height
        );
        if elder && text.font_px / PX_PER_PT < 18.0 - 0.01 {
            failures.push(format!(
                "{name}: {} px = {:.1} pt, below 18 pt in 长辈版",
                text.font_px,
                text.font_px / PX_PER_PT
            ));
        }
        let wide =
            item.borrow()
                .as_ref()
                .layout_info(Orientation::Horizontal, -1.0, &adapter, item);
        let tall =
            item.borrow()
                .as_ref()
                .layout_info(Orientation::Vertical, g.size.width, &adapter, item);
        match text.wrap {
            TextWrap::NoWrap if wide.preferred > g.size.width + SLACK => {
                let how = if text.overflow == TextOverflow::Elide {
                    "elided"
                } else {
                    "cut off"
                };
                failures.push(format!(
                    "{name}: {how}, it needs {:.0} px of width",
                    wide.preferred
                ));
            }
            TextWrap::WordWrap if wide.min > g.size.width + SLACK => {
                failures.push(format!(
                    "{name}: its longest word needs {:.0} px of width",
                    wide.min
                ));
            }
            _ => {}
        }
        if tall.preferred > g.size.height + SLACK {
            failures.push(format!(
                "{name}: cut off, it needs {:.0} px of height",
                tall.preferred
            ));
        }
        let outside = at.x < -SLACK
            || at.y < -SLACK
            || at.x + g.size.width > win_w + SLACK
            || at.y + g.size.height > win_h + SLACK;
        if outside && !clipped_by_ancestor(item) {
            failures.push(format!("{name}: outside the {win_w}×{win_h} window"));
        }
        ControlFlow::Continue(())
    });
}

/// Touchable elements outside the window (pushed off by a layout too tall for it).
fn check_reachable(window: &KioskWindow, failures: &mut Vec<String>) {
    let size = window.window().size();
    let (win_w, win_h) = (size.width as f32, size.height as f32);
    let buttons = ElementQuery::from_root(window)
        .match_accessible_role(AccessibleRole::Button)
        .find_all();
    for button in buttons {
        let (p, s) = (button.absolute_position(), button.size());
        let outside = p.x < -SLACK
            || p.y < -SLACK
            || p.x + s.width > win_w + SLACK
            || p.y + s.height > win_h + SLACK;
        // Buttons in a scrolling list may be below the fold; the text check above knows
        // clipping ancestors, and names such a button's label if it is really cut off.
        if outside && button.computed_opacity() > 0.0 {
            let scrolled = ElementQuery::from_root(window)
                .match_inherits("Flickable")
                .find_all()
                .iter()
                .any(|f| {
                    let (fp, fs) = (f.absolute_position(), f.size());
                    p.y >= fp.y - SLACK
                        && p.x >= fp.x - SLACK
                        && p.x + s.width <= fp.x + fs.width + SLACK
                        && fp.y + fs.height <= win_h + SLACK
                        && fs.height < win_h
                });
            if !scrolled {
                failures.push(format!(
                    "button outside the {win_w}×{win_h} window: {}",
                    describe(&button)
                ));
            }
        }
    }
}

/// Problems known in screens being reworked elsewhere: (screen, mode prefix, part of the message).
/// They are printed, not failed; an entry that no longer matches anything fails the test, so the
/// list only shrinks. Add nothing here for a new screen: fix it.
const KNOWN: &[(&str, &str, &str)] = &[];

#[test]
fn every_screen_is_labelled_large_enough_and_uncut() {
    let (mut display, window) = window();
    let mut failures = Vec::new();
    for mode in Mode::ALL {
        mode.apply(&mut display, &window);
        let minimum = if mode.elder { 60.0 } else { 44.0 };
        for screen in SCREENS {
            common::show(&window, screen);
            // Lay out and draw, as the panel would.
            let _ = display.render();
            let mut found = Vec::new();
            check_touchables(&window, minimum, &mut found);
            check_texts(&window, mode.elder, &mut found);
            check_reachable(&window, &mut found);
            failures.extend(
                found
                    .into_iter()
                    .map(|f| format!("{} ({}): {f}", screen.name, mode.label())),
            );
        }
    }
    let mut used = vec![false; KNOWN.len()];
    failures.retain(|f| {
        let known = KNOWN.iter().position(|(screen, mode, part)| {
            f.starts_with(&format!("{screen} ({mode}")) && f.contains(part)
        });
        if let Some(i) = known {
            used[i] = true;
            eprintln!("known, to fix: {f}");
        }
        known.is_none()
    });
    for (i, (screen, mode, part)) in KNOWN.iter().enumerate() {
        if !used[i] {
            failures.push(format!(
                "{screen} ({mode}…): the known problem “{part}” is gone: remove it from KNOWN"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} accessibility problem(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_checks_find_small_targets_and_cut_or_unreachable_text() {
    // The checks must fail when the screens break. A 480×800 window is far too small for the
    // rating screen: its texts are cut and its buttons pushed out; a 2000 px minimum makes
    // every button too small.
    let (mut display, window) = window();
    let theme = window.global::<Theme>();
    assert!(contrast(theme.get_text(), theme.get_surface()) > 4.5);
    assert!(contrast(Color::from_rgb_u8(0x99, 0x99, 0x99), theme.get_surface()) < 4.5);
    let rating = SCREENS
        .iter()
        .find(|s| s.name == "rating")
        .expect("the rating screen");
    common::show(&window, rating);
    display.resize(480, 800);
    let _ = display.render();
    let mut failures = Vec::new();
    check_touchables(&window, 2000.0, &mut failures);
    assert!(
        failures
            .iter()
            .any(|f| f.contains("button smaller than 2000 px")),
        "a 2000 px minimum must flag the buttons: {failures:?}"
    );
    failures.clear();
    check_texts(&window, false, &mut failures);
    assert!(
        failures
            .iter()
            .any(|f| f.contains("elided") || f.contains("cut off")),
        "a 480 px wide window must cut some text: {failures:?}"
    );
    failures.clear();
    check_reachable(&window, &mut failures);
    assert!(
        failures
            .iter()
            .any(|f| f.contains("button outside the 480×800 window")),
        "an 800 px tall window must push the rating's buttons out: {failures:?}"
    );
}
