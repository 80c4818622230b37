//! What an enrolled terminal reports and asks for besides applications: heartbeats with device
//! health, queue tickets, appointment check-in, progress queries, certificates, configuration and
//! remote commands.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::application::ApplicationStatus;

fn bad(field: &str, why: &str) -> ApiError {
    ApiError::new("invalid_field", format!("{field}: {why}"))
}

/// A short machine code: 1 to `max` characters of `a-z 0-9 _ - .`.
fn is_code(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
}

/// Health of one device (or of the platform link) as the terminal sees it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Works.
    Ok,
    /// Works with a warning (paper low, …).
    Degraded,
    /// Does not work (cover open, paper out, no answer, …).
    Faulted,
    /// Not fitted or not detected.
    Absent,
}

impl DeviceState {
    /// The state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Ok => "ok",
            DeviceState::Degraded => "degraded",
            DeviceState::Faulted => "faulted",
            DeviceState::Absent => "absent",
        }
    }
}

/// One device's health in a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceHealth {
    /// Device name: `printer`, `idcard`, `scanner`, `camera`, `door`, …
    pub device: String,
    /// Its state.
    pub state: DeviceState,
    /// Machine codes saying why: `paper_low`, `cover_open`, `door_open`, `no_answer`, …
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// Body of `POST /v1/heartbeat`, sent every 30 s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    /// Versions of the terminal's parts: `app`, `os`, `catalog`, …
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// Seconds since the kiosk application started.
    pub uptime_secs: u64,
    /// Health of each device.
    #[serde(default)]
    pub devices: Vec<DeviceHealth>,
    /// Submissions waiting in the terminal's outbox.
    #[serde(default)]
    pub outbox_depth: u32,
}

impl Heartbeat {
    /// Checks sizes and formats.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.versions.len() > 16 {
            return Err(bad("versions", "at most 16 entries"));
        }
        for (part, version) in &self.versions {
            if !is_code(part, 32) {
                return Err(bad("versions", "names are 1 to 32 of a-z 0-9 _ - ."));
            }
            if !(1..=64).contains(&version.len()) || !version.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(bad(
                    "versions",
                    "values are 1 to 64 printable ASCII characters",
                ));
            }
        }
        if self.devices.len() > 16 {
            return Err(bad("devices", "at most 16 devices"));
        }
        for device in &self.devices {
            if !is_code(&device.device, 32) {
                return Err(bad("devices.device", "1 to 32 of a-z 0-9 _ - ."));
            }
            if device.reasons.len() > 8 || !device.reasons.iter().all(|r| is_code(r, 48)) {
                return Err(bad(
                    "devices.reasons",
                    "at most 8 codes of 1 to 48 of a-z 0-9 _ - .",
                ));
            }
        }
        if self.uptime_secs > 100 * 365 * 86_400 {
            return Err(bad("uptime_secs", "out of range"));
        }
        if self.outbox_depth > 1_000_000 {
            return Err(bad("outbox_depth", "out of range"));
        }
        Ok(())
    }

    /// The worst state among the devices (`ok` when none reported), for fleet filters.
    /// An absent device is not a fault of the terminal.
    pub fn overall(&self) -> DeviceState {
        self.devices
            .iter()
            .map(|d| d.state)
            .filter(|s| *s != DeviceState::Absent)
            .max()
            .unwrap_or(DeviceState::Ok)
    }
}

/// Answer of `POST /v1/heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatResponse {
    /// The platform's clock, Unix seconds (a terminal whose clock drifts can see it).
    pub server_time: i64,
    /// Commands waiting for this terminal.
    pub commands: Vec<RemoteCommand>,
    /// The release a rollout wants this terminal to run, when it runs another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::update::UpdateOffer>,
    /// The pins (SHA-256 of the public key, 64 hex digits) of the certificate the platform
    /// serves and, before a switch, of the next one: a pinned terminal trusts them from then
    /// on. Empty when the platform does not serve TLS itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls_pins: Vec<String>,
    /// The platform's newest sealing key (hex), as `/v1/config` gives it: a terminal seals
    /// what it keeps from now on to this one once the platform rotated its keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealing_key: Option<String>,
    /// The catalog version the platform serves this terminal (the ETag of `GET /v1/catalog`):
    /// a terminal holding another asks for it at once rather than at its next timed check,
    /// so a publication reaches the fleet within a heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<String>,
}

/// What an operator can ask a terminal to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommandKind {
    /// Reboot the machine.
    Reboot,
    /// Restart the kiosk application.
    RestartApp,
    /// Capture the screen and upload it.
    CaptureScreenshot,
    /// Upload recent logs.
    UploadLogs,
    /// Print a test page on the receipt printer.
    PrintTestPage,
}

impl CommandKind {
    /// Every kind, in display order.
    pub const ALL: [CommandKind; 5] = [
        CommandKind::Reboot,
        CommandKind::RestartApp,
        CommandKind::CaptureScreenshot,
        CommandKind::UploadLogs,
        CommandKind::PrintTestPage,
    ];

    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandKind::Reboot => "reboot",
            CommandKind::RestartApp => "restart_app",
            CommandKind::CaptureScreenshot => "capture_screenshot",
            CommandKind::UploadLogs => "upload_logs",
            CommandKind::PrintTestPage => "print_test_page",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A command queued for a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemoteCommand {
    /// Command id: post the result to `/v1/commands/{id}/result`.
    pub id: i64,
    /// What to do.
    pub kind: CommandKind,
    /// When an operator queued it, RFC 3339.
    pub created_at: String,
}

/// Body of `POST /v1/commands/{id}/result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommandResult {
    /// True when the command was carried out.
    pub ok: bool,
    /// What happened, for the operator (at most 2000 characters; never personal data).
    #[serde(default)]
    pub detail: String,
}

impl CommandResult {
    /// Checks sizes.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.detail.chars().count() > 2000
            || self
                .detail
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(bad(
                "detail",
                "at most 2000 characters, no control characters",
            ));
        }
        Ok(())
    }
}

/// Body of `POST /v1/tickets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TicketRequest {
    /// The matter the citizen queues for.
    pub matter_id: String,
}

/// A queue ticket (排队号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// Ticket number as called out, e.g. `A023`.
    pub ticket_no: String,
    /// Matter queued for.
    pub matter_id: String,
    /// The window that serves it, e.g. `3号窗口`.
    pub window: String,
    /// People waiting before this ticket at this site today.
    pub people_ahead: u32,
    /// When issued, RFC 3339.
    pub issued_at: String,
}

/// Body of `POST /v1/appointments/check-in`: exactly one of `code` or `id_number`; with the
/// ID number, the name read from the same card.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckInRequest {
    /// The appointment code the citizen received (scanned or typed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Or the ID number read from the citizen's card: today's appointment at this site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// The name read from the same card, required with `id_number`: the appointment is found
    /// only when both match the booking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl std::fmt::Debug for CheckInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckInRequest")
            .field("code", &self.code)
            .field("id_number", &self.id_number.as_ref().map(|_| "<redacted>"))
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn valid_id_number(id: &str) -> bool {
    (8..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The code a record query without the card's name gets (a terminal built before names were
/// required): it must be updated, retrying does not help.
pub const NAME_REQUIRED: &str = "name_required";

/// The code (with 429) a record query gets while the terminal's record queries are suspended:
/// it asked about more citizens in an hour than can have stood at it, until an operator clears
/// the alarm. The citizen is sent to another terminal or a service window.
pub const RECORD_QUERIES_SUSPENDED: &str = "record_queries_suspended";

/// Checks the name read from a card: present (else [`NAME_REQUIRED`]), 1 to 60 characters,
/// no control characters.
fn check_card_name(name: Option<&str>) -> Result<(), ApiError> {
    let Some(name) = name else {
        return Err(ApiError::new(
            NAME_REQUIRED,
            "name: the name read from the card is required with the ID number",
        ));
    };
    let chars = name.chars().count();
    if chars == 0 || chars > 60 || name.chars().any(char::is_control) {
        return Err(bad("name", "1 to 60 characters"));
    }
    Ok(())
}

impl CheckInRequest {
    /// Checks that exactly one key is given, in its format.
    pub fn validate(&self) -> Result<(), ApiError> {
        match (&self.code, &self.id_number) {
            (Some(code), None) => {
                if (4..=32).contains(&code.len())
                    && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    Ok(())
                } else {
                    Err(bad("code", "4 to 32 letters, digits or dashes"))
                }
            }
            (None, Some(id)) => {
                if !valid_id_number(id) {
                    return Err(bad("id_number", "8 to 32 letters or digits"));
                }
                check_card_name(self.name.as_deref())
            }
            _ => Err(bad("code", "give exactly one of code and id_number")),
        }
    }
}

/// An appointment as the terminal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppointmentInfo {
    /// Matter booked.
    pub matter_id: String,
    /// Day, `YYYY-MM-DD`.
    pub day: String,
    /// Time slot, e.g. `09:30-10:00`.
    pub slot: String,
}

/// Answer of `POST /v1/appointments/check-in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckInResponse {
    /// True when an appointment for today at this site was found.
    pub found: bool,
    /// The appointment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment: Option<AppointmentInfo>,
    /// The ticket issued for it (the same one when checking in again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
}

/// Body of `POST /v1/progress`: the ID number and the name read from the applicant's card.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProgressRequest {
    /// The applicant's ID number.
    pub id_number: String,
    /// The name on the same card (required: optional only so that a request without it gets
    /// [`NAME_REQUIRED`] rather than an unreadable body). Only applications filed under this
    /// name and number are listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl std::fmt::Debug for ProgressRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressRequest { id_number: <redacted>, name: <redacted> }")
    }
}

impl ProgressRequest {
    /// Checks the format.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !valid_id_number(&self.id_number) {
            return Err(bad("id_number", "8 to 32 letters or digits"));
        }
        check_card_name(self.name.as_deref())
    }
}

/// Answer of `POST /v1/progress`: the applicant's applications, newest first (at most 50).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProgressResponse {
    /// The applications.
    pub applications: Vec<ApplicationStatus>,
}

/// The card on the reader, where a request acts for its holder (rating a completed application,
/// answering a 补正): the platform checks it against the application's applicant and keeps
/// neither field.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CardHolder {
    /// Name on the identity document.
    pub name: String,
    /// ID number.
    pub id_number: String,
}

impl std::fmt::Debug for CardHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardHolder { name: <redacted>, id_number: <redacted> }")
    }
}

impl CardHolder {
    /// Checks sizes and formats.
    pub fn validate(&self) -> Result<(), ApiError> {
        check_card_name(Some(&self.name))?;
        if !valid_id_number(&self.id_number) {
            return Err(bad("id_number", "8 to 32 letters or digits"));
        }
        Ok(())
    }
}

/// Body of `POST /v1/certificates/{kind}`: who the certificate is for (read from the card).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertificateRequest {
    /// Name on the identity document.
    pub name: String,
    /// ID number.
    pub id_number: String,
}

impl std::fmt::Debug for CertificateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CertificateRequest { name: <redacted>, id_number: <redacted> }")
    }
}

impl CertificateRequest {
    /// Checks sizes and formats.
    pub fn validate(&self) -> Result<(), ApiError> {
        check_card_name(Some(&self.name))?;
        if !valid_id_number(&self.id_number) {
            return Err(bad("id_number", "8 to 32 letters or digits"));
        }
        Ok(())
    }
}

/// Body of `POST /v1/events`: one entry of a terminal's audit trail (maintenance entered, a
/// wrong technician PIN, paper replaced…). Never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TerminalEvent {
    /// What happened, as a code: `maintenance_entered`, `pin_refused`, `paper_replaced`, …
    pub kind: String,
    /// Details for the operator (at most 500 characters).
    #[serde(default)]
    pub detail: String,
    /// When it happened on the terminal, Unix seconds.
    pub at: i64,
}

impl TerminalEvent {
    /// Checks sizes and formats.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !is_code(&self.kind, 48) {
            return Err(bad("kind", "1 to 48 of a-z 0-9 _ - ."));
        }
        if self.detail.chars().count() > 500 || self.detail.chars().any(char::is_control) {
            return Err(bad(
                "detail",
                "at most 500 characters, no control characters",
            ));
        }
        if !(1_500_000_000..=4_000_000_000).contains(&self.at) {
            return Err(bad("at", "out of range"));
        }
        Ok(())
    }
}

/// Answer of `GET /v1/config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TerminalConfig {
    /// Global, site and terminal layers merged (objects key by key).
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// The platform's X25519 public key that application bodies are sealed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealing_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat() -> Heartbeat {
        Heartbeat {
            versions: [("app".to_owned(), "0.1.0".to_owned())].into(),
            uptime_secs: 10,
            devices: vec![
                DeviceHealth {
                    device: "printer".into(),
                    state: DeviceState::Degraded,
                    reasons: vec!["paper_low".into()],
                },
                DeviceHealth {
                    device: "scanner".into(),
                    state: DeviceState::Absent,
                    reasons: vec![],
                },
            ],
            outbox_depth: 0,
        }
    }

    #[test]
    fn heartbeats_are_bounded_and_summarised() {
        let good = heartbeat();
        assert!(good.validate().is_ok());
        assert_eq!(good.overall(), DeviceState::Degraded);
        let mut bad_reason = good.clone();
        bad_reason.devices[0].reasons = vec!["Paper Low!".into()];
        assert!(bad_reason.validate().is_err());
        let mut many = good.clone();
        many.devices = vec![good.devices[0].clone(); 17];
        assert!(many.validate().is_err());
        let mut version = good;
        version.versions.insert("os".into(), "x".repeat(65));
        assert!(version.validate().is_err());
    }

    #[test]
    fn check_in_needs_exactly_one_key_and_hides_the_number() {
        let both = CheckInRequest {
            code: Some("AB12".into()),
            id_number: Some("320706198802020228".into()),
            name: None,
        };
        assert!(both.validate().is_err());
        let none = CheckInRequest {
            code: None,
            id_number: None,
            name: None,
        };
        assert!(none.validate().is_err());
        let nameless = CheckInRequest {
            code: None,
            id_number: Some("320706198802020228".into()),
            name: None,
        };
        assert_eq!(
            nameless.validate().map_err(|e| e.code),
            Err(NAME_REQUIRED.into())
        );
        let by_id = CheckInRequest {
            name: Some("王五".into()),
            ..nameless
        };
        assert!(by_id.validate().is_ok());
        assert!(!format!("{by_id:?}").contains("3207"));
        assert!(!format!("{by_id:?}").contains("王五"));
    }
}
