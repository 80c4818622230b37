//! Applications (办件申请) submitted from a terminal, and the platform's receipt for them.
//!
//! Delivery is exactly-once by construction: every submission carries an `Idempotency-Key`
//! header; the platform stores one application per key and answers a repeated key with the
//! receipt it gave the first time.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::form::FormAnswers;
use crate::text::Language;

/// HTTP header carrying the idempotency key of a submission.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// Longest idempotency key the platform accepts.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// Body of `POST /v1/applications`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationRequest {
    /// Terminal that took the application.
    pub terminal_id: String,
    /// Matter applied for.
    pub matter_id: String,
    /// Who applies.
    pub applicant: ApplicantInfo,
    /// Language the citizen used, so notices reach them in it.
    pub language: Language,
    /// Materials declared missing under 容缺受理, by their index in the matter's material list,
    /// each covered by the citizen's written commitment (告知承诺).
    #[serde(default)]
    pub committed_missing_materials: Vec<u16>,
    /// Version of the catalog whose form the citizen filled in (absent from terminals that
    /// predate forms: their answers are checked against the current catalog).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_version: Option<String>,
    /// The answers to the matter's form, by field id (personal data).
    #[serde(default, skip_serializing_if = "FormAnswers::is_empty")]
    pub answers: FormAnswers,
}

impl std::fmt::Debug for ApplicationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicationRequest")
            .field("terminal_id", &self.terminal_id)
            .field("matter_id", &self.matter_id)
            .field("applicant", &self.applicant)
            .field("language", &self.language)
            .field(
                "committed_missing_materials",
                &self.committed_missing_materials,
            )
            .field("catalog_version", &self.catalog_version)
            .field("answers", &self.answers)
            .finish()
    }
}

/// The applicant as read from the identity document. Personal data: `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicantInfo {
    /// Name on the identity document.
    pub name: String,
    /// ID number (or permit number for foreigners and residence-permit holders).
    pub id_number: String,
    /// Kind of identity document: `resident`, `permit_j`, `foreigner_i`, `foreigner_y`.
    pub document_kind: String,
    /// Contact phone the citizen typed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl std::fmt::Debug for ApplicantInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicantInfo")
            .field("name", &"<redacted>")
            .field("id_number", &"<redacted>")
            .field("document_kind", &self.document_kind)
            .field("phone", &self.phone.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Answer of `POST /v1/applications`: the application number citizens quote (受理编号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationReceipt {
    /// Application number, e.g. `LY20261122000001`.
    pub application_no: String,
    /// Matter applied for.
    pub matter_id: String,
    /// When the platform accepted it, RFC 3339 with the +08:00 offset.
    pub accepted_at: String,
    /// Address a phone opens to follow progress (printed as the receipt's QR code; it carries
    /// the progress code).
    pub progress_url: String,
    /// Short code printed beside the application number (查询码): with the number it opens the
    /// public progress page, so numbers alone cannot be walked through. Empty from platforms
    /// that predate it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub progress_code: String,
    /// True when this answer repeats an earlier submission with the same idempotency key.
    pub replayed: bool,
}

/// Error body of every non-2xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Machine-readable code, e.g. `unknown_matter`.
    pub code: String,
    /// One-line human explanation (for operators, never shown to citizens as-is).
    pub message: String,
}

impl ApiError {
    /// Builds an error body.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl ApplicationRequest {
    /// Checks sizes and formats before anything is stored.
    pub fn validate(&self) -> Result<(), ApiError> {
        fn bad(field: &str, why: &str) -> Result<(), ApiError> {
            Err(ApiError::new("invalid_field", format!("{field}: {why}")))
        }
        let code = |s: &str| {
            (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !code(&self.terminal_id) {
            return bad("terminal_id", "1 to 64 letters, digits, - or _");
        }
        if !code(&self.matter_id) {
            return bad("matter_id", "1 to 64 letters, digits, - or _");
        }
        let name_chars = self.applicant.name.chars().count();
        if name_chars == 0 || name_chars > 60 || self.applicant.name.chars().any(char::is_control) {
            return bad("applicant.name", "1 to 60 characters");
        }
        let id = &self.applicant.id_number;
        if id.len() < 8 || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return bad("applicant.id_number", "8 to 32 letters or digits");
        }
        if !matches!(
            self.applicant.document_kind.as_str(),
            "resident" | "permit_j" | "foreigner_i" | "foreigner_y"
        ) {
            return bad(
                "applicant.document_kind",
                "resident, permit_j, foreigner_i or foreigner_y",
            );
        }
        if let Some(phone) = &self.applicant.phone
            && (phone.len() < 5
                || phone.len() > 20
                || !phone.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        {
            return bad("applicant.phone", "5 to 20 digits or dashes");
        }
        if self.committed_missing_materials.len() > 64 {
            return bad("committed_missing_materials", "at most 64 entries");
        }
        if let Some(version) = &self.catalog_version
            && (version.is_empty() || version.len() > 64 || version.chars().any(char::is_control))
        {
            return bad("catalog_version", "1 to 64 printable characters");
        }
        if self.answers.0.len() > crate::form::definition::MAX_FIELDS {
            return bad("answers", "more answers than a form has fields");
        }
        Ok(())
    }
}

/// Checks an idempotency key: 8–128 printable ASCII characters without spaces.
pub fn validate_idempotency_key(key: &str) -> Result<(), ApiError> {
    let ok = (8..=MAX_IDEMPOTENCY_KEY_LEN).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            "invalid_idempotency_key",
            format!(
                "{IDEMPOTENCY_KEY_HEADER} must be 8 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
            ),
        ))
    }
}

/// Where an application stands (办件状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    /// 已受理: accepted, waiting for the department.
    Accepted,
    /// 审核中: being examined.
    InReview,
    /// 已办结: done, approved.
    Approved,
    /// 不予受理 / 不予许可: refused.
    Rejected,
    /// 补正材料: the department asks for more materials or corrected answers.
    NeedsMaterials,
}

impl ApplicationState {
    /// The state's stored name (`accepted`, `in_review`…).
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Accepted => "accepted",
            ApplicationState::InReview => "in_review",
            ApplicationState::Approved => "approved",
            ApplicationState::Rejected => "rejected",
            ApplicationState::NeedsMaterials => "needs_materials",
        }
    }

    /// The state named `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        [
            ApplicationState::Accepted,
            ApplicationState::InReview,
            ApplicationState::Approved,
            ApplicationState::Rejected,
            ApplicationState::NeedsMaterials,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Display text.
    pub fn label(self) -> crate::LocalizedText {
        use crate::LocalizedText as T;
        match self {
            ApplicationState::Accepted => T::new("已受理", "Accepted"),
            ApplicationState::InReview => T::new("审核中", "Under review"),
            ApplicationState::Approved => T::new("已办结", "Completed"),
            ApplicationState::Rejected => T::new("不予办理", "Refused"),
            ApplicationState::NeedsMaterials => T::new("需补正材料", "More materials needed"),
        }
    }
}

/// One application as its terminal or its applicant may see it: its state, and personal data (the
/// form's answers) only when its applicant asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationStatus {
    /// Application number (受理编号).
    pub application_no: String,
    /// Matter applied for.
    pub matter_id: String,
    /// When the platform accepted it, RFC 3339.
    pub accepted_at: String,
    /// Where it stands.
    pub state: ApplicationState,
    /// The form's answers in words, card and ID numbers masked: only to the card holder
    /// (办件查询 with their card on the reader), never in the terminal's own status query.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<crate::form::AnswerLine>,
    /// What happened to it so far, oldest first (acceptance included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StatusEvent>,
    /// The day it is due to be completed (办结时限), `YYYY-MM-DD`, counted in working days from
    /// acceptance; absent for matters without a time limit and once it is finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_on: Option<String>,
    /// What the department asks for while the state is [`ApplicationState::NeedsMaterials`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<CorrectionAsked>,
    /// True when its applicant may give the 好差评 rating of its completion now: it is finished
    /// (completed or refused) and that rating was not given yet.
    #[serde(default)]
    pub rateable: bool,
}

impl ApplicationState {
    /// True once nothing more will happen to it (completed or refused).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ApplicationState::Approved | ApplicationState::Rejected
        )
    }
}

/// One step of an application's history (办理过程).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusEvent {
    /// When, RFC 3339 with the +08:00 offset.
    pub at: String,
    /// The state it entered.
    pub state: ApplicationState,
    /// What happened, in both languages (补正材料已提交, 开始审核, ...).
    pub what: crate::LocalizedText,
}

/// A 补正 (request for corrections): which materials and answers the department asks for again,
/// and why. Shown to the applicant at a terminal; the public progress page shows the materials
/// and answers only, never the reason (a clerk's free text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CorrectionAsked {
    /// When it was asked, RFC 3339.
    pub asked_at: String,
    /// The materials to hand in again, by index in the matter's material list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<u16>,
    /// The form's answers the department finds wrong, by field id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Why, in the clerk's words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The day it must be answered by, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_by: Option<String>,
}

/// Most uploads one answer to a 补正 may name (one file per asked material, as the terminal
/// sends them, well under the per-application file limit).
pub const MAX_CORRECTION_UPLOADS: usize = 20;

/// Body of `POST /v1/applications/{no}/corrections`: the card on the reader, to open the
/// application's 补正 for this terminal. Only its applicant may; anyone else gets the answer an
/// unknown application gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CorrectionOpening {
    /// The card on the reader (never stored).
    pub holder: crate::terminal::CardHolder,
}

/// Answer of `POST /v1/applications/{no}/corrections`: the materials this terminal may now
/// upload for the application (`POST /v1/applications/{no}/materials`), until it submits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CorrectionOpened {
    /// The application.
    pub application_no: String,
    /// Its matter.
    pub matter_id: String,
    /// The materials asked for, by index in the matter's material list.
    pub materials: Vec<u16>,
}

/// Body of `POST /v1/applications/{no}/corrections/submit`: the card on the reader and the
/// completed uploads that answer the 补正, at least one for every asked material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CorrectionSubmission {
    /// The card on the reader (never stored).
    pub holder: crate::terminal::CardHolder,
    /// Upload ids (`UploadedMaterial::upload_id`) made by this terminal since it opened the
    /// 补正.
    pub uploads: Vec<String>,
}

/// Answer of `POST /v1/applications/{no}/corrections/submit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CorrectionAnswered {
    /// The application.
    pub application_no: String,
    /// Where it stands now (审核中: back with the department).
    pub state: ApplicationState,
    /// When, RFC 3339.
    pub at: String,
}

impl CorrectionSubmission {
    /// Checks the card and the upload ids' number and shape.
    pub fn validate(&self) -> Result<(), ApiError> {
        self.holder.validate()?;
        if self.uploads.is_empty() || self.uploads.len() > MAX_CORRECTION_UPLOADS {
            return Err(ApiError::new(
                "invalid_field",
                format!("uploads: 1 to {MAX_CORRECTION_UPLOADS} upload ids"),
            ));
        }
        for (i, id) in self.uploads.iter().enumerate() {
            if !(1..=64).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(ApiError::new(
                    "invalid_field",
                    format!("uploads[{i}]: 1 to 64 letters or digits"),
                ));
            }
        }
        Ok(())
    }
}
