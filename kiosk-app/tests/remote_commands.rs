//! Heartbeats and remote commands against a real platform process and the printer simulator:
//! the platform sees the terminal's devices and outbox, an operator's test page comes out of
//! the printer, and every command's result is reported back.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_app::devices::DeviceConfig;
use kiosk_app::devices::health::{DeviceHealth, DeviceKind, HealthBoard, HealthState};
use kiosk_app::devices::printer_monitor::PrinterPort;
use kiosk_app::runtime::catalog::CatalogReport;
use kiosk_app::runtime::heartbeat::{Pulse, beat_once};
use kiosk_app::runtime::host::TerminalHost;
use kiosk_app::uplink::outbox::Outbox;
use kiosk_drivers::printer::PrinterAddress;
use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::printer::escpos::PaperWidth;
use tokio::sync::watch;

#[test]
fn an_operators_commands_are_carried_out_and_answered_and_the_platform_sees_the_terminal() {
    let dir = tempfile::tempdir().expect("dir");
    let sims = common::Simulators::start(dir.path());
    let db = dir.path().join("platform.db");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let enrolled = common::enroll(&tokio, &sims.platform, dir.path(), "SN-COMMANDS-1");
    let terminal_id = enrolled.identity.terminal_id.clone();
    let receipts = common::receipts(dir.path());

    // An operator queues three commands (as the console does).
    let conn = rusqlite::Connection::open(&db).expect("db");
    for kind in ["print_test_page", "capture_screenshot", "upload_logs"] {
        conn.execute(
            "INSERT INTO commands (terminal_id, kind, created_by, created_at) VALUES (?1, ?2, 'ops-1', '2026-11-22T10:00:00+08:00')",
            rusqlite::params![terminal_id, kind],
        )
        .expect("queued");
    }

    let mut board = HealthBoard::default();
    board.record(DeviceHealth::new(
        DeviceKind::Printer,
        HealthState::Degraded,
        "paper near end",
    ));
    let (_board_tx, health) = watch::channel(board);
    let (_session_tx, in_session) = watch::channel(false);
    let (_shown_tx, shown) = watch::channel(Some("2020.1.1".to_owned()));
    let (offered, offers) = watch::channel(None);
    let pulse = Pulse {
        link: enrolled.link,
        health,
        outbox: Arc::new(
            Outbox::open(&dir.path().join("terminal/outbox.db"), 100).expect("outbox"),
        ),
        in_session,
        host: Arc::new(TerminalHost {
            devices: DeviceConfig {
                idcard: None,
                printer: Some(PrinterAddress::Serial {
                    path: common::printer_link(dir.path()),
                    baud: 115_200,
                }),
                paper: PaperWidth::Dots576,
                printer_route: PrintRoute::Native,
                ..DeviceConfig::default()
            },
            printer_port: PrinterPort::default(),
            terminal_id: terminal_id.clone(),
        }),
        started: Instant::now(),
        updater: None,
        catalog: CatalogReport { shown, offered },
    };
    tokio.block_on(beat_once(&pulse));

    // The test page came out of the printer, naming the terminal.
    let page = std::fs::read_to_string(receipts.join("receipt-0001.txt")).expect("test page");
    assert!(page.contains(&terminal_id), "{page}");

    // Every command has its result; the screenshot is refused with the reason.
    let results: Vec<(String, String, String)> = conn
        .prepare("SELECT kind, state, coalesce(result, '') FROM commands ORDER BY id")
        .expect("query")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(results[0].0, "print_test_page");
    assert_eq!(results[0].1, "succeeded", "{results:?}");
    assert_eq!(results[1].1, "failed");
    assert!(results[1].2.contains("screenshot"), "{results:?}");
    assert!(
        matches!(results[2].1.as_str(), "succeeded" | "failed") && !results[2].2.is_empty(),
        "{results:?}"
    );

    // The platform recorded the heartbeat: the printer's paper is low, nothing waits.
    let deadline = Instant::now() + Duration::from_secs(5);
    let heartbeat = loop {
        let beat: Option<String> = conn
            .query_row(
                "SELECT heartbeat FROM terminals WHERE id = ?1",
                [&terminal_id],
                |row| row.get(0),
            )
            .expect("terminal");
        if let Some(beat) = beat {
            break beat;
        }
        assert!(Instant::now() < deadline, "no heartbeat recorded");
        std::thread::sleep(Duration::from_millis(100));
    };
    let beat: serde_json::Value = serde_json::from_str(&heartbeat).expect("json");
    assert_eq!(beat["outbox_depth"], 0);
    assert_eq!(beat["devices"][0]["reasons"][0], "paper_near_end", "{beat}");
    // It reported the catalog it shows, and the answer named the one it should run.
    assert_eq!(beat["versions"]["catalog"], "2020.1.1", "{beat}");
    let current: String = conn
        .query_row(
            "SELECT version FROM catalog_versions WHERE current",
            [],
            |row| row.get(0),
        )
        .expect("a published catalog");
    assert_eq!(offers.borrow().as_deref(), Some(current.as_str()));
}
