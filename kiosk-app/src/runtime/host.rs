//! What the platform's remote commands (and the maintenance panel's tasks) reach on this
//! terminal: the printer, the journal, the service manager.

use crate::devices::DeviceConfig;
use crate::devices::printer_monitor::PrinterPort;
use crate::printing;
use crate::runtime::heartbeat::{CommandError, CommandHost};

/// What remote commands reach: the printer, the journal, the service manager.
pub struct TerminalHost {
    /// The devices (the printer for test pages).
    pub devices: DeviceConfig,
    /// The printer's port lock, shared with receipts and the printer monitor.
    pub printer_port: PrinterPort,
    /// Printed on test pages.
    pub terminal_id: String,
}

impl TerminalHost {
    /// Ends the process; the service manager (`Restart=always`) starts the kiosk again, and
    /// the launcher picks the release that should run now.
    pub fn exit_for_restart(&self, code: i32) {
        std::process::exit(code);
    }
}

impl CommandHost for TerminalHost {
    fn print_test_page(&self) -> Result<String, CommandError> {
        let address = self
            .devices
            .printer
            .as_ref()
            .ok_or(CommandError::NoPrinter)?;
        printing::print_test_page(
            address,
            self.devices.paper,
            self.devices.printer_route,
            &self.terminal_id,
            Some(&self.printer_port),
        )
        .map(|()| format!("test page printed on {address}"))
        .map_err(|source| CommandError::NotPrinted {
            address: address.to_string(),
            source,
        })
    }

    fn recent_logs(&self) -> Result<String, CommandError> {
        let output = std::process::Command::new("journalctl")
            .args([
                "--unit",
                "kiosk.service",
                "--lines",
                "200",
                "--no-pager",
                "--output",
                "short-iso",
            ])
            .output()
            .map_err(CommandError::JournalUnreadable)?;
        if !output.status.success() {
            return Err(CommandError::JournalFailed(
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn restart(&self) {
        tracing::info!("restarting on the platform's command");
        self.exit_for_restart(0);
    }

    fn reboot(&self) -> Result<(), CommandError> {
        let status = std::process::Command::new("systemctl")
            .arg("reboot")
            .status()
            .map_err(CommandError::RebootUnasked)?;
        if status.success() {
            Ok(())
        } else {
            Err(CommandError::RebootFailed(status))
        }
    }
}
