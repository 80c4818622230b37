//! Maintenance mode's commands: the PIN check, the audit trail, the technician's status panel
//! and the tasks on it.

use crate::devices::health::{DeviceKind, HealthBoard};
use crate::runtime::heartbeat::CommandHost;
use crate::session::{Event, MaintenanceTask, PinEntry, StatusLine, TechnicianStatus, Verdict};
use crate::unix_now;
use crate::uplink::outbox::Outbox;
use crate::uplink::platform_link::PlatformLink;

use super::Driver;
use super::host::TerminalHost;

impl Driver {
    /// Checks the technician PIN against the gate (which keeps the lockout).
    pub(super) fn check_pin(&self, pin: PinEntry) {
        let gate = self.pin_gate.clone();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let at = unix_now();
            let verdict = match gate
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_mut()
            {
                Some(gate) => gate.attempt(pin.digits(), at),
                None => Verdict::NotConfigured,
            };
            drop(pin);
            let _ = events.send(Event::PinChecked { verdict, at });
        });
    }

    /// Keeps an entry of the audit trail for the platform.
    pub(super) fn audit(&self, kind: &'static str, detail: String) {
        let outbox = self.config.outbox.clone();
        tracing::info!(kind, "audit");
        tokio::task::spawn_blocking(move || {
            if let Err(e) = outbox.keep_event(kind, &detail) {
                tracing::error!(error = %e, "audit entry not kept");
            }
        });
    }

    /// Gathers what the maintenance panel shows.
    pub(super) fn refresh_technician_status(&self) {
        let board = self.board.borrow().clone();
        let outbox = self.config.outbox.clone();
        let link = self.config.platform.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let status = technician_status(&board, &outbox, &link).await;
            let _ = events.send(Event::TechnicianStatus(status));
        });
    }

    /// Runs a task of the maintenance panel.
    pub(super) fn run_task(&self, task: MaintenanceTask) {
        let host = self.host.clone();
        let outbox = self.config.outbox.clone();
        let board = self.board.borrow().clone();
        let events = self.events.clone();
        tokio::task::spawn_blocking(move || {
            let (ok, detail) = carry_out(task, &host, &outbox, &board);
            let _ = events.send(Event::TaskFinished { task, ok, detail });
        });
    }
}

/// Carries out `task`; whether it worked, and what the panel says about it.
fn carry_out(
    task: MaintenanceTask,
    host: &TerminalHost,
    outbox: &Outbox,
    board: &HealthBoard,
) -> (bool, String) {
    match task {
        MaintenanceTask::PrintTestPage => match host.print_test_page() {
            Ok(detail) => (true, detail),
            Err(e) => (false, e.to_string()),
        },
        MaintenanceTask::PaperReplaced => {
            let printer = board
                .devices()
                .find(|d| d.kind == DeviceKind::Printer)
                .map(|d| format!("printer {:?}: {}", d.state, d.reason))
                .unwrap_or_else(|| "no printer configured".into());
            (true, format!("recorded; {printer}"))
        }
        MaintenanceTask::FlushOutbox => match outbox.retry_now().and_then(|()| outbox.status()) {
            Ok(status) => (true, format!("{} items are being sent", status.depth)),
            Err(e) => (false, e.to_string()),
        },
        MaintenanceTask::Restart => {
            host.restart();
            (true, String::new())
        }
    }
}

/// What the maintenance panel shows: each device, the platform link and the outbox.
async fn technician_status(
    board: &HealthBoard,
    outbox: &Outbox,
    link: &PlatformLink,
) -> TechnicianStatus {
    let mut lines: Vec<StatusLine> = board
        .devices()
        .map(|d| StatusLine {
            name: d.kind.name().to_owned(),
            state: d.state.word().to_owned(),
            detail: d.reason.clone(),
        })
        .collect();
    let platform = match link.config().await {
        Ok(_) => StatusLine {
            name: "platform".into(),
            state: "ok".into(),
            detail: format!(
                "{} as {}",
                link.base(),
                link.terminal_id().unwrap_or_default()
            ),
        },
        Err(e) => StatusLine {
            name: "platform".into(),
            state: "faulted".into(),
            detail: e.to_string(),
        },
    };
    lines.push(platform);
    lines.push(match outbox.status() {
        Ok(status) => StatusLine {
            name: "outbox".into(),
            state: if status.depth == 0 { "ok" } else { "degraded" }.into(),
            detail: format!(
                "{} waiting, {} refused, capacity {}",
                status.depth - status.refused,
                status.refused,
                status.capacity
            ),
        },
        Err(e) => StatusLine {
            name: "outbox".into(),
            state: "faulted".into(),
            detail: e.to_string(),
        },
    });
    TechnicianStatus {
        lines,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}
