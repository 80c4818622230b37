//! `kiosk device printer …` as a technician runs it: the built `kiosk` binary against the built
//! `kiosk-sim printer`, over a pty and over TCP.
//!
//! `cargo test -p kiosk-app` builds `kiosk` but not `kiosk-sim` (another package's binary), so
//! build both first: `cargo build --workspace --bins`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kiosk_drivers::printer::document::ReceiptDocument;
use kiosk_drivers::printer::escpos::PaperWidth;
use kiosk_drivers::printer::raster::DotImage;
use kiosk_testkit::{Simulator, wait_for_file};

const WAIT: Duration = Duration::from_secs(10);

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
}

/// `kiosk-sim` sits next to `kiosk` in the target directory once the workspace is built.
fn kiosk_sim() -> PathBuf {
    let kiosk = PathBuf::from(env!("CARGO_BIN_EXE_kiosk"));
    let sim = kiosk.with_file_name("kiosk-sim");
    assert!(
        sim.exists(),
        "{} is missing: run `cargo build --workspace --bins` before `cargo test -p kiosk-app` \
         (cargo does not build other packages' binaries for these tests)",
        sim.display()
    );
    sim
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kiosk-cli-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `kiosk-sim printer` at `door` (`--link PATH` or `--tcp ADDRESS`), printing `width` dots
/// wide into `out`.
fn start_sim(door: &[&str], out: &Path, width: u16) -> Simulator {
    let width = width.to_string();
    let mut args = vec!["printer"];
    args.extend_from_slice(door);
    args.extend(["--out", out.to_str().expect("utf-8"), "--width", &width]);
    Simulator::start(kiosk_sim(), &args)
}

/// Waits for receipt `n` in `out` to be written completely and returns its stem path.
fn receipt(out: &Path, n: u32) -> PathBuf {
    let stem = out.join(format!("receipt-{n:04}"));
    wait_for_file(&stem.with_extension("json"), WAIT);
    stem
}

fn run(args: &[&str]) -> Output {
    kiosk().args(args).output().expect("run kiosk")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn status_speaks_plainly_and_fails_unless_the_printer_can_print() {
    let scratch = Scratch::new("status");
    let link = scratch.0.join("ttyPRINTER");
    let mut sim = start_sim(
        &["--link", link.to_str().expect("utf-8")],
        &scratch.0.join("out"),
        576,
    );
    assert_eq!(sim.ready(), format!("printer ready at {}", link.display()));
    let port = link.to_str().expect("utf-8");
    let status = || {
        run(&[
            "device", "printer", "status", "--port", port, "--baud", "9600",
        ])
    };

    let ready = status();
    assert!(ready.status.success(), "{}", stderr(&ready));
    assert_eq!(stdout(&ready), "ready\n");

    assert_eq!(sim.command("state near-end"), "ok");
    let near_end = status();
    assert!(near_end.status.success(), "near end still prints");
    assert!(stdout(&near_end).starts_with("paper nearly used up\n"));

    for (state, words) in [
        ("paper-out", "out of paper"),
        ("cover-open", "cover open"),
        ("offline", "offline"),
    ] {
        assert_eq!(sim.command(&format!("state {state}")), "ok");
        let output = status();
        assert!(!output.status.success(), "{state} must fail");
        assert!(
            stdout(&output).starts_with(&format!("{words}\n")),
            "{}",
            stdout(&output)
        );
        assert!(
            stderr(&output).contains("cannot print"),
            "{}",
            stderr(&output)
        );
    }

    assert_eq!(sim.command("state off"), "ok");
    let off = status();
    assert!(!off.status.success());
    assert!(stderr(&off).contains("did not answer"), "{}", stderr(&off));
}

#[test]
fn test_page_prints_by_both_routes_over_tcp() {
    let scratch = Scratch::new("test-page");
    let out = scratch.0.join("out");
    let sim = start_sim(&["--tcp", "127.0.0.1:0"], &out, 384);
    let line = sim.ready();
    let address = line
        .strip_prefix("printer listening on ")
        .unwrap_or_else(|| panic!("unexpected {line:?}"))
        .to_owned();
    for (n, route) in [(1, "native"), (2, "raster")] {
        let output = run(&[
            "device", "printer", "test", "--tcp", &address, "--width", "384", "--route", route,
        ]);
        assert!(output.status.success(), "{route}: {}", stderr(&output));
        assert!(
            stdout(&output).contains("test page sent"),
            "{}",
            stdout(&output)
        );
        let stem = receipt(&out, n);
        let text = std::fs::read_to_string(stem.with_extension("txt")).expect("txt");
        if route == "native" {
            assert!(text.contains("打印机测试页"), "{text}");
            assert!(text.contains(&format!("tcp {address}")), "{text}");
        } else {
            assert!(
                text.is_empty(),
                "a raster page has no text commands: {text:?}"
            );
        }
        let png = std::fs::read(stem.with_extension("png")).expect("png");
        let paper = DotImage::from_png(&png).expect("decodes");
        assert_eq!(paper.width(), 384);
        // The ruler's baseline runs across every dot.
        let baseline = (0..paper.height())
            .rev()
            .find(|y| (0..384).all(|x| paper.get(x, *y)));
        assert!(
            baseline.is_some(),
            "{route}: no full-width ruler on the page"
        );
    }
}

#[test]
fn print_sends_a_file_byte_for_byte() {
    let scratch = Scratch::new("print");
    let link = scratch.0.join("ttyPRINTER");
    let out = scratch.0.join("out");
    let mut sim = start_sim(&["--link", link.to_str().expect("utf-8")], &out, 576);
    let doc = ReceiptDocument::new()
        .title("取号单")
        .big_number("A015")
        .row("窗口", "12")
        .qr("https://zwfw.lyg.gov.cn/t/A015");
    let job = scratch.0.join("job.bin");
    std::fs::write(&job, doc.render_native(PaperWidth::Dots576).expect("ok")).expect("write job");
    let port = link.to_str().expect("utf-8");
    let job_arg = job.to_str().expect("utf-8");

    let output = run(&["device", "printer", "print", job_arg, "--port", port]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(receipt(&out, 1).with_extension("txt")).expect("txt");
    let expected: String = doc
        .lines(PaperWidth::Dots576)
        .expect("lays out")
        .into_iter()
        .map(|l| l + "\n")
        .collect();
    assert_eq!(text, expected);

    // A stopped printer gets nothing, and the technician is told why.
    assert_eq!(sim.command("state paper-out"), "ok");
    let refused = run(&["device", "printer", "print", job_arg, "--port", port]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("out of paper"),
        "{}",
        stderr(&refused)
    );

    let missing = run(&[
        "device",
        "printer",
        "print",
        "/nonexistent/job.bin",
        "--port",
        port,
    ]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("/nonexistent/job.bin"));
}

#[test]
fn arguments_are_checked_before_anything_is_sent() {
    for (args, needle) in [
        (vec!["status"], "required"),
        (
            vec!["status", "--tcp", "a:1", "--port", "/dev/x"],
            "cannot be used with",
        ),
        (vec!["status", "--usb", "0fe6"], "not a USB id"),
        (
            vec!["status", "--tcp", "127.0.0.1:9", "--width", "400"],
            "384, 512 or 576",
        ),
        (
            vec!["status", "--tcp", "127.0.0.1:9", "--route", "laser"],
            "laser",
        ),
        (
            vec!["test", "--usb", "ffff:fffe"],
            "no such device ffff:fffe",
        ),
    ] {
        let mut full = vec!["device", "printer"];
        full.extend(args.iter().copied());
        let output = run(&full);
        assert!(!output.status.success(), "{args:?} must fail");
        assert!(
            stderr(&output).contains(needle),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}
