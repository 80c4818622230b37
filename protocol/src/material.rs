//! Materials (申请材料) uploaded for an application: JPEG photos from the document camera or
//! PDF files, sent in chunks so a slow link can resume.
//!
//! 1. `POST /v1/applications/{no}/materials` announces a file ([`UploadRequest`]) and gets an
//!    [`UploadSession`].
//! 2. `PUT /v1/uploads/{id}/chunks/{n}` sends chunk `n` (every chunk `chunk_size` bytes, the last
//!    one the rest); sending a chunk again replaces it.
//! 3. `POST /v1/uploads/{id}/complete` checks that every chunk arrived, the SHA-256, and that
//!    the bytes are what the content type says, and answers an [`UploadedMaterial`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;

/// Largest single material file.
pub const MAX_MATERIAL_BYTES: u64 = 10 * 1024 * 1024;
/// Largest total of one application's materials.
pub const MAX_APPLICATION_MATERIAL_BYTES: u64 = 30 * 1024 * 1024;
/// Most material files one application may have.
pub const MAX_MATERIALS_PER_APPLICATION: u64 = 20;
/// Size of every chunk but the last.
pub const UPLOAD_CHUNK_BYTES: u64 = 256 * 1024;

/// The file types a material may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum MaterialContentType {
    /// A photo from the document camera.
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// A PDF file.
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl MaterialContentType {
    /// The MIME type.
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialContentType::Jpeg => "image/jpeg",
            MaterialContentType::Pdf => "application/pdf",
        }
    }

    /// The type named by a MIME type.
    pub fn parse(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" => Some(MaterialContentType::Jpeg),
            "application/pdf" => Some(MaterialContentType::Pdf),
            _ => None,
        }
    }

    /// True when `bytes` look like a whole file of this type (magic numbers at both ends).
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            MaterialContentType::Jpeg => {
                bytes.len() >= 4 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && {
                    // Some writers pad after the end-of-image marker.
                    let tail = &bytes[bytes.len().saturating_sub(64)..];
                    tail.windows(2).any(|w| w == [0xFF, 0xD9])
                }
            }
            MaterialContentType::Pdf => {
                bytes.starts_with(b"%PDF-") && {
                    let tail = &bytes[bytes.len().saturating_sub(1024)..];
                    tail.windows(5).any(|w| w == b"%%EOF")
                }
            }
        }
    }
}

/// Body of `POST /v1/applications/{no}/materials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadRequest {
    /// Index of the material in the matter's material list.
    pub material_index: u16,
    /// `image/jpeg` or `application/pdf`.
    pub content_type: MaterialContentType,
    /// File size in bytes (1 to [`MAX_MATERIAL_BYTES`]).
    pub size: u64,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
}

impl UploadRequest {
    /// Checks the size and the hash's format.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.size == 0 || self.size > MAX_MATERIAL_BYTES {
            return Err(ApiError::new(
                "file_too_large",
                format!("size: 1 to {MAX_MATERIAL_BYTES} bytes"),
            ));
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ApiError::new(
                "invalid_field",
                "sha256: 64 lower-case hex digits",
            ));
        }
        Ok(())
    }

    /// Number of chunks the file travels in.
    pub fn chunks(&self) -> u64 {
        self.size.div_ceil(UPLOAD_CHUNK_BYTES)
    }
}

/// Answer of `POST /v1/applications/{no}/materials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadSession {
    /// Upload id for the chunk and complete calls.
    pub upload_id: String,
    /// Bytes per chunk (the last chunk holds the rest).
    pub chunk_size: u64,
    /// Number of chunks.
    pub chunks: u64,
}

/// Answer of `POST /v1/uploads/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadedMaterial {
    /// The upload id, now the material's id.
    pub upload_id: String,
    /// The application it belongs to.
    pub application_no: String,
    /// Material index.
    pub material_index: u16,
    /// Content type, checked against the bytes.
    pub content_type: MaterialContentType,
    /// Size in bytes.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_sniffed_at_both_ends() {
        let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[0u8; 100], &[0xFF, 0xD9]].concat();
        assert!(MaterialContentType::Jpeg.matches(&jpeg));
        assert!(!MaterialContentType::Pdf.matches(&jpeg));
        assert!(!MaterialContentType::Jpeg.matches(&jpeg[..50]));
        let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n";
        assert!(MaterialContentType::Pdf.matches(pdf));
        assert!(!MaterialContentType::Jpeg.matches(pdf));
        assert!(!MaterialContentType::Pdf.matches(b"MZ\x90\x00 not a pdf %%EOF"));
    }

    #[test]
    fn sizes_and_hashes_are_bounded() {
        let mut request = UploadRequest {
            material_index: 0,
            content_type: MaterialContentType::Jpeg,
            size: UPLOAD_CHUNK_BYTES + 1,
            sha256: "0".repeat(64),
        };
        assert!(request.validate().is_ok());
        assert_eq!(request.chunks(), 2);
        request.size = MAX_MATERIAL_BYTES + 1;
        assert!(request.validate().is_err());
        request.size = 10;
        request.sha256 = "A".repeat(64);
        assert!(request.validate().is_err());
    }
}
