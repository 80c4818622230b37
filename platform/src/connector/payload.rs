//! A delivery's body: the application as accepted (number, matter, department, times, the
//! applicant, the form's answers, 容缺 commitments) and its materials.
//!
//! Materials travel inside the body, each as base64 with its SHA-256, rather than as links the
//! department fetches later: the receiver gets the whole case in one signed request it can
//! check and store atomically, needs no credentials to call back, and nothing of the
//! application must stay reachable on the platform for that (materials are purged after
//! completion). The cost is a larger body (a few megabytes for a dozen pages), which the
//! department's system accepts once per application.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::store::connectors::DeliveryContents;

/// The body's version, so receivers can tell a later shape.
pub const PAYLOAD_VERSION: u32 = 1;

#[derive(Serialize)]
struct Body<'a> {
    version: u32,
    delivery_id: &'a str,
    application: Application<'a>,
    materials: Vec<Material<'a>>,
}

#[derive(Serialize)]
struct Application<'a> {
    application_no: &'a str,
    matter_id: &'a str,
    department: &'a str,
    accepted_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_on: Option<&'a str>,
    terminal_id: &'a str,
    applicant: &'a kiosk_protocol::ApplicantInfo,
    language: kiosk_protocol::Language,
    #[serde(skip_serializing_if = "Option::is_none")]
    catalog_version: Option<&'a str>,
    answers: &'a kiosk_protocol::form::FormAnswers,
    commitments: Vec<Commitment<'a>>,
}

#[derive(Serialize)]
struct Commitment<'a> {
    material_index: i64,
    due_on: &'a str,
}

#[derive(Serialize)]
struct Material<'a> {
    material_index: u16,
    content_type: &'a str,
    size: u64,
    sha256: &'a str,
    /// Written straight into the body (no copy of the file as text is left behind).
    #[serde(serialize_with = "as_base64")]
    content_base64: &'a [u8],
}

fn as_base64<S: serde::Serializer>(bytes: &&[u8], to: S) -> Result<S::Ok, S::Error> {
    to.collect_str(&base64::display::Base64Display::new(
        bytes,
        &base64::engine::general_purpose::STANDARD,
    ))
}

/// The JSON body delivering `contents` under `delivery_id` (personal data: wiped when dropped).
pub fn body(
    delivery_id: &str,
    contents: &DeliveryContents,
) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
    let request = &contents.request;
    let body = Body {
        version: PAYLOAD_VERSION,
        delivery_id,
        application: Application {
            application_no: &contents.application_no,
            matter_id: &contents.matter_id,
            department: &contents.department,
            accepted_at: &contents.accepted_at,
            due_on: contents.due_on.as_deref(),
            terminal_id: &request.terminal_id,
            applicant: &request.applicant,
            language: request.language,
            catalog_version: request.catalog_version.as_deref(),
            answers: &request.answers,
            commitments: contents
                .commitments
                .iter()
                .map(|(material_index, due_on)| Commitment {
                    material_index: *material_index,
                    due_on,
                })
                .collect(),
        },
        materials: contents
            .materials
            .iter()
            .map(|(upload, bytes)| Material {
                material_index: upload.material_index,
                content_type: upload.content_type.as_str(),
                size: upload.size,
                sha256: &upload.sha256,
                content_base64: bytes.as_slice(),
            })
            .collect(),
    };
    serde_json::to_vec(&body).map(Zeroizing::new)
}
