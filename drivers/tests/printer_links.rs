//! The other transports against the virtual printer: `TcpLink` (in process and against the
//! `kiosk-sim printer --tcp` binary, power-cycled), and `UsbLpLink` on a pty, which behaves
//! like `/dev/usb/lp*` for this purpose (a character device read and written as a file).

mod common;

use std::path::Path;
use std::time::Duration;

use common::TempDir;
use kiosk_drivers::printer::document::{PrintRoute, ReceiptDocument};
use kiosk_drivers::printer::escpos::{Element, PaperWidth, PrinterState};
use kiosk_drivers::printer::sim::{SimCondition, VirtualPrinterHost};
use kiosk_drivers::printer::{PrintError, Printer, PrinterLink, TcpLink, UsbLpLink};
use kiosk_testkit::Simulator;

const WAIT: Duration = Duration::from_secs(5);

fn receipt() -> ReceiptDocument {
    ReceiptDocument::new()
        .title("受理回执")
        .row("受理编号", "LY-0042")
        .qr("https://zwfw.lyg.gov.cn/p/LY-0042")
        .footer("12345")
}

fn printer<L: PrinterLink>(link: L) -> Printer<L> {
    Printer::new(link).with_reply_timeout(Duration::from_millis(300))
}

#[test]
fn tcp_link_reads_every_state_and_prints_both_routes() {
    let (sim, receipts) =
        VirtualPrinterHost::start_tcp("127.0.0.1:0".parse().expect("address")).expect("listen");
    let address = sim.tcp_address().expect("bound").to_string();
    let mut printer = printer(TcpLink::connect(&address).expect("connect"));
    for (condition, state) in [
        (SimCondition::PaperNearEnd, PrinterState::PaperNearEnd),
        (SimCondition::PaperOut, PrinterState::PaperOut),
        (SimCondition::CoverOpen, PrinterState::CoverOpen),
        (SimCondition::Offline, PrinterState::Offline),
        (SimCondition::Ready, PrinterState::Ready),
    ] {
        sim.set_condition(condition).expect("inject");
        assert_eq!(
            printer.status().expect("status").state,
            state,
            "{condition}"
        );
    }
    for route in [PrintRoute::Native, PrintRoute::Raster] {
        printer
            .print_routed(&receipt(), PaperWidth::Dots576, route)
            .expect("print");
        let printed = receipts.recv_timeout(WAIT).expect("a receipt comes out");
        assert_eq!(printed.elements.last(), Some(&Element::Cut));
        if route == PrintRoute::Native {
            assert_eq!(
                printed.text_lines(),
                receipt().lines(PaperWidth::Dots576).expect("lays out")
            );
        }
    }
    sim.set_condition(SimCondition::Off).expect("inject");
    assert!(matches!(printer.status(), Err(PrintError::Timeout)));
}

#[test]
fn tcp_link_reports_a_printer_that_is_not_there() {
    // Bind and drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let address = format!("127.0.0.1:{port}");
    assert!(TcpLink::connect(&address).is_err());
    let mut printer = printer(TcpLink::unconnected(&address));
    assert!(matches!(printer.status(), Err(PrintError::Disconnected)));
}

/// `kiosk-sim printer` listening on `tcp`, writing receipts to `out`.
fn start_sim(tcp: &str, out: &Path) -> Simulator {
    Simulator::start(
        env!("CARGO_BIN_EXE_kiosk-sim"),
        &[
            "printer",
            "--tcp",
            tcp,
            "--out",
            out.to_str().expect("utf-8"),
        ],
    )
}

/// The address from the simulator's `printer listening on ADDRESS`.
fn listening_address(sim: &Simulator) -> String {
    let line = sim.ready();
    line.strip_prefix("printer listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

#[test]
fn tcp_link_survives_the_simulator_being_power_cycled() {
    let dir = TempDir::new("tcp-power-cycle");
    let mut sim = start_sim("127.0.0.1:0", &dir.join("out"));
    let address = listening_address(&sim);
    let mut printer = printer(TcpLink::connect(&address).expect("connect"));
    assert_eq!(printer.status().expect("status").state, PrinterState::Ready);
    assert_eq!(sim.command("state near-end"), "ok");
    assert_eq!(
        printer.status().expect("status").state,
        PrinterState::PaperNearEnd
    );

    sim.power_off();
    // Off: nothing listens; the link says so plainly.
    assert!(matches!(printer.status(), Err(PrintError::Disconnected)));

    // On again at the same address, in its power-up state: the same Printer just works.
    let sim = start_sim(&address, &dir.join("out"));
    assert_eq!(listening_address(&sim), address);
    assert_eq!(
        printer.status().expect("status after power-cycle").state,
        PrinterState::Ready
    );
    printer
        .print(&receipt(), PaperWidth::Dots576)
        .expect("print after power-cycle");
    let deadline = std::time::Instant::now() + WAIT;
    while !dir.join("out/receipt-0001.png").exists() {
        assert!(std::time::Instant::now() < deadline, "no receipt written");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn usblp_link_on_a_character_device_prints_and_recovers() {
    let dir = TempDir::new("usblp");
    let node = dir.join("lp0");
    let (sim, receipts) = VirtualPrinterHost::start(&node).expect("start virtual printer");
    let mut printer = printer(UsbLpLink::open(&node).expect("open like /dev/usb/lp0"));
    sim.set_condition(SimCondition::CoverOpen).expect("inject");
    assert!(matches!(
        printer.print(&receipt(), PaperWidth::Dots384),
        Err(PrintError::NotReady(PrinterState::CoverOpen))
    ));
    sim.set_condition(SimCondition::Ready).expect("inject");
    printer
        .print_routed(&receipt(), PaperWidth::Dots384, PrintRoute::Raster)
        .expect("print");
    assert!(receipts.recv_timeout(WAIT).is_ok());

    // Switched off (the node disappears), then on again: the next status call reopens.
    drop(sim);
    assert!(matches!(printer.status(), Err(PrintError::Disconnected)));
    let (_sim, receipts) = VirtualPrinterHost::start(&node).expect("restart");
    assert_eq!(printer.status().expect("status").state, PrinterState::Ready);
    printer
        .print(&receipt(), PaperWidth::Dots384)
        .expect("print");
    assert!(receipts.recv_timeout(WAIT).is_ok());

    let mut missing = printer_link_missing(&dir.join("lp9"));
    assert!(matches!(missing.status(), Err(PrintError::Disconnected)));
}

fn printer_link_missing(path: &Path) -> Printer<UsbLpLink> {
    assert!(UsbLpLink::open(path).is_err());
    printer(UsbLpLink::unopened(path))
}
