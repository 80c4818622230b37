//! The screen as assistive technology reads it, and a finger's touches on it.
//!
//! [`read`] walks the window's element tree and collects what a screen reader finds on the
//! screen right now: the visible texts, the input fields (an element whose accessible role is
//! `text-input`: its label, its value, and its accessible description, which carries the
//! field's error; fields scrolled below the fold of a list count), and the controls (buttons,
//! by their accessible labels). [`press`] taps a control by its label, and [`write_strokes`]
//! draws strokes on an element with the pointer; both first scroll a list so the element is
//! in view, as a finger would.
//! `kiosk drive` reads and drives screens through this module.
//!
//! It reads the accessibility properties the screens declare for assistive technology, which
//! compiled Slint code carries in every build. (Slint's testing backend enumerates elements
//! through the element debug info, which release builds leave out; this walks the item tree
//! itself, so a terminal's own release build can be driven too.)

use std::ops::ControlFlow;

use i_slint_core::accessibility::{
    AccessibilityAction, AccessibleStringProperty, SupportedAccessibilityAction,
};
use i_slint_core::item_tree::{ItemRc, ParentItemTraversalMode};
use i_slint_core::items::{AccessibleRole, Flickable};
use i_slint_core::lengths::LogicalLength;
use i_slint_core::window::WindowInner;
use slint::platform::{PointerEventButton, WindowEvent};
use slint::{ComponentHandle, LogicalPosition};

/// What a screen reader finds on the screen.
#[derive(Clone, Default, PartialEq)]
pub struct Reading {
    /// Every visible text, top to bottom as the tree declares them.
    pub texts: Vec<String>,
    /// The input fields.
    pub fields: Vec<FieldReading>,
    /// The controls a finger can press.
    pub controls: Vec<ControlReading>,
}

/// Texts, fields and controls are what the citizen sees and types: personal data.
impl std::fmt::Debug for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reading")
            .field("texts", &self.texts.len())
            .field("fields", &self.fields.len())
            .field("controls", &self.controls.len())
            .finish()
    }
}

/// One input field.
#[derive(Clone, PartialEq)]
pub struct FieldReading {
    /// Its accessible label.
    pub label: String,
    /// What it holds.
    pub value: String,
    /// What is wrong with it, as the screen tells the citizen (its accessible description).
    pub error: Option<String>,
}

impl std::fmt::Debug for FieldReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldReading")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// One control.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlReading {
    /// Its accessible label.
    pub label: String,
    /// Whether pressing it does anything.
    pub enabled: bool,
}

/// Why a control could not be pressed or strokes not drawn.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TouchError {
    /// Nothing visible carries that label.
    #[error("nothing on the screen is labelled `{label}`")]
    NoSuchLabel {
        /// The label asked for.
        label: String,
    },
    /// Fewer elements carry the label than the one asked for.
    #[error("only {found} elements are labelled `{label}`; number {wanted} was asked for")]
    TooFew {
        /// The label asked for.
        label: String,
        /// How many carry it.
        found: usize,
        /// Which one was asked for (1 is the first).
        wanted: usize,
    },
    /// The element is shown but disabled.
    #[error("`{label}` is disabled")]
    Disabled {
        /// The label asked for.
        label: String,
    },
    /// A stroke point lies outside the element it is drawn on.
    #[error("point ({x}, {y}) lies outside `{label}` ({width} × {height})")]
    OutsideElement {
        /// The element's label.
        label: String,
        /// The point.
        x: f32,
        /// The point.
        y: f32,
        /// The element's size.
        width: f32,
        /// The element's size.
        height: f32,
    },
}

/// How a label is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelMatch {
    /// The whole label.
    Exact,
    /// The label's beginning (for labels that end in something changing, e.g. a terminal id).
    Prefix,
}

impl LabelMatch {
    fn matches(self, candidate: &str, wanted: &str) -> bool {
        match self {
            LabelMatch::Exact => candidate == wanted,
            LabelMatch::Prefix => candidate.starts_with(wanted),
        }
    }
}

/// Which element a touch is meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// The `nth` (1 is the first) element of any role carrying this label.
    Label {
        /// The label.
        label: &'a str,
        /// Whole label or its beginning.
        matching: LabelMatch,
        /// Which of the elements carrying it.
        nth: usize,
    },
    /// The key of an on-screen keyboard or pad (a button) labelled with this character.
    Key(&'a str),
    /// The element whose accessible id is this (ids name components, whatever the language:
    /// `handwriting-pad`).
    Id(&'a str),
}

impl Target<'_> {
    fn matches(&self, item: &ItemRc) -> bool {
        match *self {
            Target::Label {
                label, matching, ..
            } => string(item, AccessibleStringProperty::Label)
                .is_some_and(|l| matching.matches(&l, label)),
            Target::Key(key) => {
                item.accessible_role() == AccessibleRole::Button
                    && string(item, AccessibleStringProperty::Label).as_deref() == Some(key)
            }
            Target::Id(id) => string(item, AccessibleStringProperty::Id).as_deref() == Some(id),
        }
    }

    fn nth(&self) -> usize {
        match *self {
            Target::Label { nth, .. } => nth,
            Target::Key(_) | Target::Id(_) => 1,
        }
    }

    fn name(&self) -> String {
        match *self {
            Target::Label { label, .. } | Target::Key(label) => label.to_owned(),
            Target::Id(id) => format!("#{id}"),
        }
    }
}

fn root(component: &impl ComponentHandle) -> ItemRc {
    ItemRc::new_root(WindowInner::from_pub(component.window()).component())
}

fn string(item: &ItemRc, what: AccessibleStringProperty) -> Option<String> {
    item.accessible_string_property(what).map(|s| s.to_string())
}

fn flag(item: &ItemRc, what: AccessibleStringProperty) -> Option<bool> {
    string(item, what).and_then(|s| s.parse().ok())
}

/// Visible, or only scrolled out of view inside a list a finger can scroll.
fn reachable(item: &ItemRc) -> bool {
    if item.is_visible() {
        return true;
    }
    let mut parent = item.parent_item(ParentItemTraversalMode::StopAtPopups);
    while let Some(ancestor) = parent {
        if ancestor.downcast::<Flickable>().is_some() {
            return ancestor.is_visible();
        }
        parent = ancestor.parent_item(ParentItemTraversalMode::StopAtPopups);
    }
    false
}

/// Scrolls every list holding `item` so that the item is in view, as a finger flicks a list
/// before touching what was below the fold (a screenshot taken after a touch then shows it).
fn bring_into_view(item: &ItemRc) {
    if item.is_visible() {
        return;
    }
    let mut parent = item.parent_item(ParentItemTraversalMode::StopAtPopups);
    while let Some(ancestor) = parent {
        if let Some(list) = ancestor.downcast::<Flickable>() {
            let (shown, wanted) = (ancestor.geometry(), item.geometry());
            let top = ancestor.map_to_window(shown.origin).y;
            let item_top = item.map_to_window(wanted.origin).y;
            let bottom = top + shown.height();
            let item_bottom = item_top + wanted.height();
            // Down to show its top when it is above, or taller than the list; up to show its
            // bottom when below.
            let shift = if item_top < top || wanted.height() > shown.height() {
                top - item_top
            } else if item_bottom > bottom {
                bottom - item_bottom
            } else {
                0.0
            };
            let list = list.as_pin_ref();
            let offset = Flickable::FIELD_OFFSETS.content_y().apply_pin(list);
            let content = Flickable::FIELD_OFFSETS
                .content_height()
                .apply_pin(list)
                .get()
                .get();
            let lowest = (shown.height() - content).min(0.0);
            offset.set(LogicalLength::new(
                (offset.get().get() + shift).clamp(lowest, 0.0),
            ));
        }
        parent = ancestor.parent_item(ParentItemTraversalMode::StopAtPopups);
    }
}

/// Visits every element with an accessible role, in tree order.
fn visit_accessible(component: &impl ComponentHandle, mut visit: impl FnMut(&ItemRc)) {
    root(component).visit_descendants(|item| {
        if item.accessible_role() != AccessibleRole::None {
            visit(item);
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Reads the screen as it is now (after the last view was applied).
pub fn read(component: &impl ComponentHandle) -> Reading {
    let mut reading = Reading::default();
    visit_accessible(component, |item| {
        let role = item.accessible_role();
        let label = string(item, AccessibleStringProperty::Label).unwrap_or_default();
        match role {
            AccessibleRole::Text if item.is_visible() && !label.trim().is_empty() => {
                reading.texts.push(label);
            }
            AccessibleRole::TextInput if reachable(item) => {
                reading.fields.push(FieldReading {
                    label,
                    value: string(item, AccessibleStringProperty::Value).unwrap_or_default(),
                    error: string(item, AccessibleStringProperty::Description)
                        .filter(|d| !d.trim().is_empty()),
                });
            }
            AccessibleRole::Button if reachable(item) && !label.trim().is_empty() => {
                reading.controls.push(ControlReading {
                    label,
                    enabled: flag(item, AccessibleStringProperty::Enabled).unwrap_or(true),
                });
            }
            _ => {}
        }
    });
    reading
}

/// The element `target` names, if a finger can reach it.
fn find(component: &impl ComponentHandle, target: Target<'_>) -> Result<ItemRc, TouchError> {
    let mut found = Vec::new();
    visit_accessible(component, |item| {
        if target.matches(item) && reachable(item) {
            found.push(item.clone());
        }
    });
    // A label is often written twice: as a question's text and on the field or option that
    // answers it. A finger touches the control; a bare text only when nothing else carries
    // the label (a footer's text over a touch area).
    if found
        .iter()
        .any(|item| item.accessible_role() != AccessibleRole::Text)
    {
        found.retain(|item| item.accessible_role() != AccessibleRole::Text);
    }
    let count = found.len();
    let nth = target.nth();
    match found.into_iter().nth(nth.saturating_sub(1)) {
        Some(item) => Ok(item),
        None if count == 0 => Err(TouchError::NoSuchLabel {
            label: target.name(),
        }),
        None => Err(TouchError::TooFew {
            label: target.name(),
            found: count,
            wanted: nth,
        }),
    }
}

/// Whether `target` is on the screen.
pub fn shows(component: &impl ComponentHandle, target: Target<'_>) -> bool {
    find(component, target).is_ok()
}

/// Presses the element `target` names: its accessible default action when it declares one
/// (what a screen reader's "activate" does), otherwise a tap at its centre (a bare touch area
/// under a text, such as the footer's).
pub fn press(component: &impl ComponentHandle, target: Target<'_>) -> Result<(), TouchError> {
    let item = find(component, target)?;
    bring_into_view(&item);
    if flag(&item, AccessibleStringProperty::Enabled) == Some(false) {
        return Err(TouchError::Disabled {
            label: target.name(),
        });
    }
    if item
        .supported_accessibility_actions()
        .contains(SupportedAccessibilityAction::Default)
    {
        item.accessible_action(&AccessibilityAction::Default);
        return Ok(());
    }
    let geometry = item.geometry();
    let origin = item.map_to_window(geometry.origin);
    let centre = LogicalPosition::new(
        origin.x + geometry.width() / 2.0,
        origin.y + geometry.height() / 2.0,
    );
    let window = component.window();
    let button = PointerEventButton::Left;
    window.dispatch_event(WindowEvent::PointerMoved { position: centre });
    window.dispatch_event(WindowEvent::PointerPressed {
        position: centre,
        button,
    });
    window.dispatch_event(WindowEvent::PointerReleased {
        position: centre,
        button,
    });
    window.dispatch_event(WindowEvent::PointerExited);
    Ok(())
}

/// The width and height, in logical pixels, of the element `target` names.
pub fn size(
    component: &impl ComponentHandle,
    target: Target<'_>,
) -> Result<(f32, f32), TouchError> {
    let geometry = find(component, target)?.geometry();
    Ok((geometry.width(), geometry.height()))
}

/// Draws `strokes` (each a list of points in the element's own logical pixels, from its top
/// left corner) with the pointer on the element `target` names, as a finger writes: down at
/// the first point, through the others, up at the last. Every point is checked before any is
/// drawn, so a refused list draws nothing.
pub fn write_strokes(
    component: &impl ComponentHandle,
    target: Target<'_>,
    strokes: &[Vec<(f32, f32)>],
) -> Result<(), TouchError> {
    let item = find(component, target)?;
    bring_into_view(&item);
    let geometry = item.geometry();
    let (width, height) = (geometry.width(), geometry.height());
    if let Some(&(x, y)) = strokes
        .iter()
        .flatten()
        .find(|(x, y)| !(0.0..=width).contains(x) || !(0.0..=height).contains(y))
    {
        return Err(TouchError::OutsideElement {
            label: target.name(),
            x,
            y,
            width,
            height,
        });
    }
    let origin = item.map_to_window(geometry.origin);
    let at = |(x, y): (f32, f32)| LogicalPosition::new(origin.x + x, origin.y + y);
    let window = component.window();
    let button = PointerEventButton::Left;
    for stroke in strokes {
        let (Some(&first), Some(&last)) = (stroke.first(), stroke.last()) else {
            continue;
        };
        window.dispatch_event(WindowEvent::PointerMoved {
            position: at(first),
        });
        window.dispatch_event(WindowEvent::PointerPressed {
            position: at(first),
            button,
        });
        for &point in &stroke[1..] {
            window.dispatch_event(WindowEvent::PointerMoved {
                position: at(point),
            });
        }
        window.dispatch_event(WindowEvent::PointerReleased {
            position: at(last),
            button,
        });
    }
    window.dispatch_event(WindowEvent::PointerExited);
    Ok(())
}
