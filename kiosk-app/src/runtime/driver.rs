//! The driver's loop: events in, commands carried out, views out; and the devices the session
//! steers directly (the card reader's polling, the camera desk, the status light).

use std::time::Instant;

use tokio::sync::mpsc::UnboundedReceiver;

use super::{Driver, status_light};
use crate::devices::health::DeviceHealth;
use crate::screen::voice::Voice;
use crate::session::{CaptureProblem, CardEvent, Event, Screen, Session, View};

impl Driver {
    /// Runs the session until the event channel closes: every event (a touch, a device's
    /// report, a platform answer, a deadline passing) goes to the core, its commands are
    /// carried out, and its new view is spoken, followed by the devices and shown.
    pub(super) async fn run(
        self,
        mut rx: UnboundedReceiver<Event>,
        mut health: UnboundedReceiver<DeviceHealth>,
        show: impl Fn(View),
    ) {
        let now = Instant::now();
        let mut session = Session::new(self.config.settings.clone(), self.config.keys.clone(), now);
        for command in session.start() {
            self.execute(command);
        }
        let mut voice = Voice::find();
        let first = session.view(now);
        if let Some(voice) = voice.as_mut() {
            voice.follow(&first);
        }
        self.follow(&first);
        show(first);
        loop {
            let deadline = session.next_deadline(Instant::now());
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let event = tokio::select! {
                event = rx.recv() => event,
                Some(report) = health.recv() => self.record_health(report),
                () = sleep => Some(Event::Tick),
            };
            let Some(event) = event else { return };
            let now = Instant::now();
            for command in session.handle(event, now) {
                self.execute(command);
            }
            let view = session.view(now);
            if let Some(voice) = voice.as_mut() {
                voice.follow(&view);
            }
            self.follow(&view);
            let serving = !matches!(view.screen, Screen::Home | Screen::OutOfService);
            self.in_session.send_if_modified(|was| {
                let changed = *was != serving;
                *was = serving;
                changed
            });
            let shown = view.catalog.as_ref().map(|c| &c.version);
            self.catalog_shown.send_if_modified(|was| {
                let changed = was.as_ref() != shown;
                if changed {
                    *was = shown.cloned();
                }
                changed
            });
            show(view);
        }
    }

    /// Records a device's health; returns the session event when what the session may count
    /// on has changed.
    fn record_health(&self, report: DeviceHealth) -> Option<Event> {
        let before = self.board.borrow().availability();
        self.board.send_modify(|board| {
            board.record(report);
        });
        let after = self.board.borrow().availability();
        // No change for the session: a Tick is harmless (deadlines are re-checked).
        Some(if after == before {
            Event::Tick
        } else {
            Event::Devices(after)
        })
    }

    /// The status light and the camera probe follow the session (both drop repeats).
    fn follow(&self, view: &View) {
        if let Some(cabinet) = &self.devices.cabinet {
            cabinet.show(status_light(view));
        }
        if let Some(camera) = &self.devices.camera {
            camera.set_idle(view.screen == Screen::Home);
        }
    }

    /// The reader polls for a card (`on`) or only probes; without a reader, asking for a card
    /// is answered with a reader fault at once.
    pub(super) fn switch_card_reader(&self, on: bool) {
        match &self.devices.reader {
            Some(reader) => reader.set(on),
            None if on => self.send(Event::Card(CardEvent::ReaderFault)),
            None => {}
        }
    }

    /// Opens the camera for the materials screen.
    pub(super) fn start_camera(&self) {
        match &self.devices.desk {
            Some(desk) => desk.start(),
            None => self.send(Event::PageCaptured(Err(CaptureProblem::CameraFailed))),
        }
    }

    /// Closes the camera.
    pub(super) fn stop_camera(&self) {
        if let Some(desk) = &self.devices.desk {
            desk.stop();
        }
    }

    /// Photographs a page.
    pub(super) fn capture_page(&self) {
        match &self.devices.desk {
            Some(desk) => desk.capture(),
            None => self.send(Event::PageCaptured(Err(CaptureProblem::CameraFailed))),
        }
    }
}
