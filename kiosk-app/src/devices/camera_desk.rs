//! The document camera while a citizen photographs materials: a live picture a few times a
//! second, and, on request, a full photo turned into a flat, cropped page.
//!
//! It runs on its own thread because grabbing and flattening a page takes longer than a UI
//! frame. It opens the camera only while the materials screen shows (the idle probe of
//! `camera_monitor` runs only at home, so the two never share the device) and closes it when
//! told to stop. Pictures go to the session as events; nothing is written to disk.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use kiosk_drivers::camera::document::{
    DEFAULT_MAX_PAGE_SIDE, PAGE_JPEG_QUALITY, deskew, encode_jpeg, find_document,
};
use kiosk_drivers::camera::{Camera, downscale};

use crate::devices::camera_monitor::CameraSource;
use crate::session::{CaptureProblem, CapturedPage, Event, Picture};

/// Longest side of the live picture sent to the screen.
const PREVIEW_SIDE: u32 = 480;
/// Longest side of a page's thumbnail in the page list.
const THUMBNAIL_SIDE: u32 = 200;
/// Time between live pictures: smooth enough to frame a page, light on a small board.
const PREVIEW_EVERY: Duration = Duration::from_millis(400);

enum Order {
    Start,
    Stop,
    Capture,
}

/// The thread that runs the camera for the materials screen.
#[derive(Clone)]
pub struct CameraDesk {
    orders: Sender<Order>,
}

impl CameraDesk {
    /// Starts the desk's thread for `source`; pictures and pages go to `events`.
    pub fn spawn(
        source: CameraSource,
        events: impl Fn(Event) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (orders, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("camera-desk".into())
            .spawn(move || run(&source, &rx, &events))?;
        Ok(Self { orders })
    }

    /// Opens the camera and starts the live picture.
    pub fn start(&self) {
        let _ = self.orders.send(Order::Start);
    }

    /// Stops the live picture and closes the camera.
    pub fn stop(&self) {
        let _ = self.orders.send(Order::Stop);
    }

    /// Photographs one page (answered with [`Event::PageCaptured`]).
    pub fn capture(&self) {
        let _ = self.orders.send(Order::Capture);
    }
}

fn run(source: &CameraSource, orders: &Receiver<Order>, events: &dyn Fn(Event)) {
    let mut camera: Option<Box<dyn Camera>> = None;
    let mut running = false;
    loop {
        let order = if running {
            match orders.recv_timeout(PREVIEW_EVERY) {
                Ok(order) => Some(order),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match orders.recv() {
                Ok(order) => Some(order),
                Err(_) => return,
            }
        };
        match order {
            Some(Order::Start) => running = true,
            Some(Order::Stop) => {
                running = false;
                camera = None;
            }
            Some(Order::Capture) => {
                let result = open(source, &mut camera).and_then(capture_page);
                if result.is_err() {
                    // Reopened on the next try: a camera that failed may have been replugged.
                    camera = None;
                }
                events(Event::PageCaptured(result));
            }
            None => {}
        }
        if running {
            match open(source, &mut camera).and_then(|cam| {
                cam.preview().map_err(|e| {
                    tracing::warn!(error = %e, "no preview from the document camera");
                    CaptureProblem::CameraFailed
                })
            }) {
                Ok(frame) => events(Event::CameraFrame(Arc::new(picture(downscale(
                    frame,
                    PREVIEW_SIDE,
                ))))),
                Err(_) => camera = None,
            }
        }
    }
}

fn open<'a>(
    source: &CameraSource,
    camera: &'a mut Option<Box<dyn Camera>>,
) -> Result<&'a mut Box<dyn Camera>, CaptureProblem> {
    if camera.is_none() {
        *camera = Some(source.open().map_err(|e| {
            tracing::warn!(camera = %source, error = %e, "cannot open the document camera");
            CaptureProblem::CameraFailed
        })?);
    }
    camera.as_mut().ok_or(CaptureProblem::CameraFailed)
}

/// Takes a full photo, finds the page in it, flattens it and encodes it.
fn capture_page(camera: &mut Box<dyn Camera>) -> Result<CapturedPage, CaptureProblem> {
    let photo = camera.capture().map_err(|e| {
        tracing::warn!(error = %e, "document camera capture failed");
        CaptureProblem::CameraFailed
    })?;
    let quad = find_document(&photo).map_err(|e| {
        tracing::info!(error = %e, "no page in the photo");
        CaptureProblem::NoPage
    })?;
    let page = deskew(&photo, &quad, DEFAULT_MAX_PAGE_SIDE);
    let jpeg = encode_jpeg(&page, PAGE_JPEG_QUALITY).map_err(|e| {
        tracing::warn!(error = %e, "page not encoded");
        CaptureProblem::CameraFailed
    })?;
    tracing::info!(
        width = page.width(),
        height = page.height(),
        bytes = jpeg.len(),
        "page captured"
    );
    Ok(CapturedPage {
        jpeg: Arc::new(jpeg),
        thumbnail: Arc::new(picture(downscale(page, THUMBNAIL_SIDE))),
    })
}

fn picture(image: kiosk_drivers::camera::RgbImage) -> Picture {
    Picture {
        width: image.width(),
        height: image.height(),
        rgb: image.into_raw(),
    }
}
