//! [`Simulator`]: a `kiosk-sim` device simulator as a test drives it.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::Peer;

/// How long a simulator may take to print a line or answer a command before the test fails.
const WAIT: Duration = Duration::from_secs(10);

/// A running `kiosk-sim DEVICE …`: the simulated device on a pty (or a TCP port), and its
/// control commands (`place 0`, `state paper-out`, `unplug`, …) on its stdin, each answered
/// with one line, `ok` or `error: …`.
///
/// A test's view of a [`Peer`]: every method panics with a clear message when the simulator
/// misbehaves, so a test reads as the steps it takes. It is stopped like any peer when it
/// drops (`quit`, which removes its device links, then signals).
pub struct Simulator {
    peer: Peer,
    ready: String,
}

impl Simulator {
    /// Starts `program args…` (a `kiosk-sim` and its device's arguments) and waits for its
    /// first line, which says where the device is ([`Simulator::ready`]).
    #[track_caller]
    pub fn start(program: impl AsRef<Path>, args: &[&str]) -> Simulator {
        let mut command = Command::new(program.as_ref());
        command.args(args);
        Simulator::spawn(command)
    }

    /// Starts `command` as it is set up (environment, where stderr goes), with its stdin
    /// piped for the control commands, and waits for its first line.
    #[track_caller]
    pub fn spawn(mut command: Command) -> Simulator {
        command.stdin(Stdio::piped());
        let mut peer = Peer::spawn("simulator", command).unwrap_or_else(|e| panic!("{e:#}"));
        let ready = peer
            .next_line(WAIT)
            .unwrap_or_else(|e| panic!("no ready line from kiosk-sim: {e:#}"));
        Simulator { peer, ready }
    }

    /// The simulator's first line: `… ready at LINK` or `… listening on ADDRESS`.
    pub fn ready(&self) -> &str {
        &self.ready
    }

    /// The next line the simulator prints.
    #[track_caller]
    pub fn line(&mut self) -> String {
        self.peer
            .next_line(WAIT)
            .unwrap_or_else(|e| panic!("a line from kiosk-sim: {e:#}"))
    }

    /// Sends one control command and returns the line that answers it.
    #[track_caller]
    pub fn command(&mut self, command: &str) -> String {
        self.peer
            .send(command)
            .unwrap_or_else(|e| panic!("control `{command}`: {e:#}"));
        self.line()
    }

    /// Sends one control command and checks that it is answered `ok`.
    #[track_caller]
    pub fn ok(&mut self, command: &str) {
        assert_eq!(self.command(command), "ok", "control `{command}`");
    }

    /// Ends the simulator's input (it quits, unless it has a control socket).
    pub fn close_input(&mut self) {
        self.peer.close_stdin();
    }

    /// Whether the simulator is still running.
    #[track_caller]
    pub fn is_running(&mut self) -> bool {
        self.peer
            .exited()
            .unwrap_or_else(|e| panic!("{e:#}"))
            .is_none()
    }

    /// Waits at most `within` for the simulator to exit by itself.
    #[track_caller]
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        self.peer
            .wait_exit(within)
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    /// Pulls the power: the process dies without closing anything politely.
    #[track_caller]
    pub fn power_off(mut self) {
        self.peer.kill().unwrap_or_else(|e| panic!("{e:#}"));
    }
}

/// Waits until `path` exists (a simulator writes a receipt's `.json` last, so once it is there
/// the receipt is complete), failing the test after `within`.
#[track_caller]
pub fn wait_for_file(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
