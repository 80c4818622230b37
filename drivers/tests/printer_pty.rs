//! The real driver (`SerialLink` + `Printer`) against the virtual printer over a real pty.

mod common;

use std::time::Duration;

use common::TempDir;
use kiosk_drivers::printer::document::ReceiptDocument;
use kiosk_drivers::printer::escpos::{PaperWidth, PrinterState};
use kiosk_drivers::printer::sim::{SimCondition, VirtualPrinterPty};
use kiosk_drivers::printer::{PrintError, Printer, PrinterLink, SerialLink};

const BAUD: u32 = 115_200;
const WAIT: Duration = Duration::from_secs(5);
/// Long enough for a receipt to cross the pty if it was going to.
const QUIET: Duration = Duration::from_millis(300);

fn receipt() -> ReceiptDocument {
    ReceiptDocument::new()
        .title("连云港市政务服务受理回执")
        .row("事项", "居民身份证换领")
        .row("受理编号", "LYG-2024-000123")
        .row(
            "办理地点",
            "连云港市海州区朝阳东路1号市民中心二楼B区12号窗口",
        )
        .rule()
        .paragraph("请于5个工作日后凭本回执到窗口领取证件。Please bring this receipt to window 12.")
        .qr("https://zwfw.lyg.gov.cn/progress?no=LYG-2024-000123")
        .footer("服务热线 12345")
}

fn printer_at(link: &std::path::Path) -> Printer<SerialLink> {
    Printer::new(SerialLink::open(link, BAUD).expect("open the pty like a serial port"))
        .with_reply_timeout(Duration::from_millis(300))
}

#[test]
fn prints_a_receipt_that_reads_back_identically() {
    let dir = TempDir::new("print");
    let link = dir.join("printer");
    let (_sim, receipts) = VirtualPrinterPty::start(&link).expect("start virtual printer");
    let mut printer = printer_at(&link);
    for width in [
        PaperWidth::Dots384,
        PaperWidth::Dots512,
        PaperWidth::Dots576,
    ] {
        printer.print(&receipt(), width).expect("print");
        let printed = receipts.recv_timeout(WAIT).expect("a receipt comes out");
        assert_eq!(
            printed.text_lines(),
            receipt().lines(width).expect("printable"),
            "{width:?}"
        );
        assert_eq!(
            printed.qr_payloads(),
            vec!["https://zwfw.lyg.gov.cn/progress?no=LYG-2024-000123"]
        );
        assert_eq!(
            printed.elements.last(),
            Some(&kiosk_drivers::printer::escpos::Element::Cut)
        );
    }
}

#[test]
fn status_reports_each_injected_condition() {
    let dir = TempDir::new("status");
    let link = dir.join("printer");
    let (sim, _receipts) = VirtualPrinterPty::start(&link).expect("start virtual printer");
    let mut printer = printer_at(&link);
    for (condition, expected) in [
        (SimCondition::Ready, PrinterState::Ready),
        (SimCondition::PaperNearEnd, PrinterState::PaperNearEnd),
        (SimCondition::PaperOut, PrinterState::PaperOut),
        (SimCondition::CoverOpen, PrinterState::CoverOpen),
        (SimCondition::Offline, PrinterState::Offline),
        (SimCondition::Ready, PrinterState::Ready),
    ] {
        sim.set_condition(condition).expect("inject");
        let status = printer.status().expect("status");
        assert_eq!(status.state, expected, "{condition}");
    }
    sim.set_condition(SimCondition::Off).expect("inject");
    assert!(matches!(printer.status(), Err(PrintError::Timeout)));
    // Switched back on, it answers again on the same link.
    sim.set_condition(SimCondition::Ready).expect("inject");
    assert_eq!(printer.status().expect("status").state, PrinterState::Ready);
}

#[test]
fn paper_out_refuses_and_prints_nothing() {
    let dir = TempDir::new("paper-out");
    let link = dir.join("printer");
    let (sim, receipts) = VirtualPrinterPty::start(&link).expect("start virtual printer");
    let mut printer = printer_at(&link);
    for (condition, state) in [
        (SimCondition::PaperOut, PrinterState::PaperOut),
        (SimCondition::CoverOpen, PrinterState::CoverOpen),
        (SimCondition::Offline, PrinterState::Offline),
    ] {
        sim.set_condition(condition).expect("inject");
        match printer.print(&receipt(), PaperWidth::Dots576) {
            Err(PrintError::NotReady(s)) => assert_eq!(s, state),
            other => panic!("expected NotReady({state:?}), got {other:?}"),
        }
        assert!(
            receipts.recv_timeout(QUIET).is_err(),
            "nothing may be printed while {condition}"
        );
    }
    sim.set_condition(SimCondition::Off).expect("inject");
    assert!(matches!(
        printer.print(&receipt(), PaperWidth::Dots576),
        Err(PrintError::Timeout)
    ));
    sim.set_condition(SimCondition::PaperNearEnd)
        .expect("inject");
    printer
        .print(&receipt(), PaperWidth::Dots576)
        .expect("near end still prints");
    let printed = receipts.recv_timeout(WAIT).expect("receipt");
    assert_eq!(
        printed.text_lines(),
        receipt().lines(PaperWidth::Dots576).expect("printable")
    );
    assert!(
        receipts.recv_timeout(QUIET).is_err(),
        "refused receipts never come out late"
    );
}

#[test]
fn power_cycle_recovers_on_the_next_call() {
    let dir = TempDir::new("power-cycle");
    let link = dir.join("printer");
    let (sim, _receipts) = VirtualPrinterPty::start(&link).expect("start virtual printer");
    let mut printer = printer_at(&link);
    assert_eq!(printer.status().expect("status").state, PrinterState::Ready);

    // Off and gone: the pty closes and the link disappears.
    drop(sim);
    assert!(!link.exists());
    assert!(matches!(printer.status(), Err(PrintError::Disconnected)));

    // Back on at the same link (a new pty behind it): the next call just works.
    let (_sim, receipts) = VirtualPrinterPty::start(&link).expect("restart virtual printer");
    assert_eq!(
        printer.status().expect("status after power-cycle").state,
        PrinterState::Ready
    );
    printer
        .print(&receipt(), PaperWidth::Dots384)
        .expect("print after power-cycle");
    assert!(receipts.recv_timeout(WAIT).is_ok());
}

#[test]
fn unplug_and_replug_with_explicit_reconnect() {
    let dir = TempDir::new("replug");
    let link = dir.join("printer");
    let (sim, receipts) = VirtualPrinterPty::start(&link).expect("start virtual printer");
    let mut printer = printer_at(&link);
    printer.status().expect("status");

    sim.unplug().expect("unplug");
    assert!(matches!(
        printer.print(&receipt(), PaperWidth::Dots576),
        Err(PrintError::Disconnected)
    ));
    assert!(matches!(printer.reconnect(), Err(PrintError::Disconnected)));

    sim.replug().expect("replug");
    printer.reconnect().expect("reconnect");
    printer
        .print(&receipt(), PaperWidth::Dots576)
        .expect("print after replug");
    assert!(receipts.recv_timeout(WAIT).is_ok());
}

#[test]
fn stale_status_pushes_are_drained_before_each_query() {
    let dir = TempDir::new("stale");
    let link = dir.join("printer");
    let (sim, _receipts) = VirtualPrinterPty::start(&link).expect("start virtual printer");
    let mut printer = printer_at(&link);
    // Turn on automatic status back behind the driver's back, then make the printer push
    // several status sets nobody reads.
    printer
        .link_mut()
        .write_all(&[0x1D, b'a', 0x0F])
        .expect("write");
    for condition in [
        SimCondition::CoverOpen,
        SimCondition::PaperOut,
        SimCondition::Offline,
        SimCondition::Ready,
    ] {
        sim.set_condition(condition).expect("inject");
    }
    std::thread::sleep(Duration::from_millis(100));
    // Without draining, the driver would read the stale cover-open push as its answer.
    assert_eq!(printer.status().expect("status").state, PrinterState::Ready);
    sim.set_condition(SimCondition::PaperNearEnd)
        .expect("inject");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        printer.status().expect("status").state,
        PrinterState::PaperNearEnd
    );
}

#[test]
fn a_kiosk_booting_before_its_printer_connects_later() {
    let dir = TempDir::new("late");
    let link = dir.join("printer");
    let mut printer = Printer::new(SerialLink::unopened(&link, BAUD))
        .with_reply_timeout(Duration::from_millis(300));
    assert!(matches!(printer.status(), Err(PrintError::Disconnected)));
    assert!(matches!(
        printer.print(&receipt(), PaperWidth::Dots384),
        Err(PrintError::Disconnected)
    ));
    let (_sim, receipts) = VirtualPrinterPty::start(&link).expect("start virtual printer");
    assert_eq!(printer.status().expect("status").state, PrinterState::Ready);
    printer
        .print(&receipt(), PaperWidth::Dots384)
        .expect("print");
    assert!(receipts.recv_timeout(WAIT).is_ok());
}
