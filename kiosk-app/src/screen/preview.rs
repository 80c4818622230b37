//! The console's preview of a matter: the terminal's own screens, drawn headlessly.
//!
//! A department editor changes a matter in the console and must see what a citizen will see.
//! Drawing a look-alike in HTML would drift from the terminal; instead the preview walks the
//! real session core to the matter's page (as a citizen taps their way there) and hands its
//! [`View`] to the same [`Display`] that fills the terminal's screen, so the pixels are the
//! terminal's. `kiosk-preview` (the binary the platform runs as a child process) is a thin
//! shell around [`render`].

use std::sync::Arc;
use std::time::Instant;

use kiosk_protocol::{Catalog, Language, MatterId};
use kiosk_ui::KioskWindow;
use kiosk_ui::headless::Headless;
use serde::Deserialize;
use slint::{ComponentHandle, Rgb8Pixel};

use crate::screen::display::Display;
use crate::session::{
    Action, CardDetails, CardEvent, DocumentKind, Event, Identity, KeySource, Screen, Session,
    Settings, View,
};
use zeroize::Zeroizing;

/// Portrait screen size (the cabinet's 1080×1920 panel).
pub const PORTRAIT: (u32, u32) = (1080, 1920);
/// Landscape screen size (the desk model's 1920×1080 panel).
pub const LANDSCAPE: (u32, u32) = (1920, 1080);

/// Which of a matter's pages to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreviewPage {
    /// The service guide (办事指南), the page a citizen reads before applying.
    Guide,
    /// One section of the matter's application form (0-based), as a citizen first reaches
    /// it after identifying: card prefills in, nothing else answered.
    Form {
        /// The section, 0-based.
        section: usize,
    },
}

/// What the console asks to see: one page of one matter of `catalog` (the catalog as it would
/// be published, so departments and themes resolve as on a terminal).
#[derive(Debug, Clone, Deserialize)]
pub struct PreviewRequest {
    /// The catalog with the edited matter in it.
    pub catalog: Catalog,
    /// The matter to show.
    pub matter: MatterId,
    /// The citizen's language.
    pub language: Language,
    /// Landscape (1920×1080) rather than portrait (1080×1920).
    #[serde(default)]
    pub landscape: bool,
    /// The page.
    pub page: PreviewPage,
}

impl PreviewRequest {
    /// The screen's width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        if self.landscape { LANDSCAPE } else { PORTRAIT }
    }
}

/// Why a page cannot be previewed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The catalog would be refused by a terminal, so no terminal would ever show the page.
    #[error("the catalog is not valid: {0}")]
    Catalog(#[from] kiosk_protocol::CatalogError),
    /// The walk did not reach the page (the matter is not in the catalog).
    #[error("matter {0} cannot be opened from the catalog")]
    Unreachable(MatterId),
    /// The matter asks for no form, or the section is hidden until answers show it.
    #[error("matter {matter} has no form section {section} a citizen first sees")]
    NoSection {
        /// The matter.
        matter: MatterId,
        /// The section asked for.
        section: usize,
    },
    /// The display could not be set up.
    #[error("{0}")]
    Display(String),
}

/// The view a terminal shows for `request`'s page: a fresh session core given the catalog,
/// the citizen's language chosen at home, then 开始办事 and the matter tapped; for a form
/// page, then 申请, the [`specimen`] card read, a specimen phone typed and confirmed.
pub fn page_view(request: &PreviewRequest) -> Result<View, PreviewError> {
    request.catalog.validate()?;
    let now = Instant::now();
    let mut session = Session::new(Settings::default(), KeySource::seeded(0), now);
    session.start();
    session.handle(Event::CatalogLoaded(Arc::new(request.catalog.clone())), now);
    if session.language() != request.language {
        session.handle(Event::Touch(Action::ToggleLanguage), now);
    }
    session.handle(Event::Touch(Action::Begin), now);
    session.handle(
        Event::Touch(Action::OpenMatter(request.matter.clone())),
        now,
    );
    if !matches!(session.screen(), Screen::Guide { matter } if *matter == request.matter) {
        return Err(PreviewError::Unreachable(request.matter.clone()));
    }
    let PreviewPage::Form { section } = request.page else {
        return Ok(session.view(now));
    };
    let no_section = || PreviewError::NoSection {
        matter: request.matter.clone(),
        section,
    };
    session.handle(Event::Touch(Action::Apply), now);
    session.handle(Event::Card(CardEvent::Read(specimen(today()))), now);
    for digit in SPECIMEN_PHONE {
        session.handle(Event::Touch(Action::PhoneDigit(digit)), now);
    }
    session.handle(Event::Touch(Action::ConfirmApplicant), now);
    if !session.open_form_section(section) {
        return Err(no_section());
    }
    Ok(session.view(now))
}

/// The phone typed on the confirm page of a preview: a well-formed mobile number that is
/// plainly not anyone's (all zeros after the prefix).
pub const SPECIMEN_PHONE: [u8; 11] = [1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// The card holder of a preview: obviously a specimen (name 示例 "sample", the example number
/// printed in GB 11643-1999 itself), so an editor sees card prefills where a terminal shows
/// them and never anyone's real data. A card is printed in Chinese whatever the citizen's
/// language, so the holder is the same in both.
pub fn specimen(read_on: time::Date) -> Identity {
    Identity::new(
        "示例".into(),
        "11010519491231002X".into(),
        DocumentKind::Resident,
    )
    .with_details(CardDetails {
        sex: Some("male"),
        birth: Some(time::macros::date!(1949 - 12 - 31)),
        nation: Some(Zeroizing::new("汉".into())),
        address: Some(Zeroizing::new("示例地址（样张）".into())),
        read_on: Some(read_on),
    })
}

/// Today in China Standard Time, the day a terminal's card read would carry (a form's date
/// rules count from it).
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date()
}

/// Draws `request`'s page as RGB pixels, row by row, at [`PreviewRequest::size`]. Installs
/// the headless display: once per process, so a process draws one page.
pub fn render(request: &PreviewRequest) -> Result<Vec<Rgb8Pixel>, PreviewError> {
    let view = page_view(request)?;
    let (width, height) = request.size();
    let screen =
        Headless::install(width, height).map_err(|e| PreviewError::Display(e.to_string()))?;
    let window = KioskWindow::new().map_err(|e| PreviewError::Display(e.to_string()))?;
    window
        .show()
        .map_err(|e| PreviewError::Display(e.to_string()))?;
    let mut display = Display::new(window, "", request.landscape);
    display.show(&view);
    Ok(screen.render())
}
