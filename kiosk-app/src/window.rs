//! The kiosk in a real window: Slint's event loop on the main thread, the session driver on
//! tokio's workers, views crossing over with `slint::invoke_from_event_loop`.

use std::cell::RefCell;
use std::sync::mpsc::Sender;

use crate::runtime::{self, RuntimeConfig, SessionHandle};
use crate::screen::display::Display;
use crate::session::View;

thread_local! {
    /// The display lives on the UI thread only; views are applied to it there.
    static DISPLAY: RefCell<Option<Display>> = const { RefCell::new(None) };
}

/// Starts the session driver (on the current tokio runtime) showing into `display`; each view
/// is also copied to `observer` when given. Run the window's event loop afterwards; under
/// systemd its first turn sends READY=1 and a timer on it pings the watchdog
/// ([`crate::runtime::service_manager`]).
pub fn show_in_window(
    display: Display,
    config: RuntimeConfig,
    observer: Option<Sender<View>>,
) -> SessionHandle {
    let handle = runtime::start(config, move |view| {
        if let Some(observer) = &observer {
            let _ = observer.send(view.clone());
        }
        let applied = slint::invoke_from_event_loop(move || {
            DISPLAY.with(|cell| {
                if let Some(display) = cell.borrow_mut().as_mut() {
                    display.show(&view);
                }
            });
        });
        if applied.is_err() {
            tracing::debug!("the window has closed; view dropped");
        }
    });
    let touches = handle.clone();
    display.on_action(move |action| touches.touch(action));
    DISPLAY.with(|cell| *cell.borrow_mut() = Some(display));
    crate::runtime::service_manager::announce_when_running();
    handle
}
