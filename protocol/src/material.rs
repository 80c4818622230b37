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

/// Content type of a PDF material sealed to the platform's key ([`crate::sealing`]).
pub const SEALED_PDF_CONTENT_TYPE: &str = "application/vnd.lyb.sealed+pdf";
/// Content type of a JPEG material sealed to the platform's key ([`crate::sealing`]).
pub const SEALED_JPEG_CONTENT_TYPE: &str = "application/vnd.lyb.sealed+jpeg";

/// The file types a material may be.
///
/// The sealed types are the plain ones sealed to the platform's X25519 key as the terminal's
/// outbox keeps them: the size and SHA-256 announced are those of the sealed bytes; on
/// completion the platform opens the box, checks the inner bytes are of the named kind, and
/// stores the plain file (so a sealed upload ends up stored as `image/jpeg` or
/// `application/pdf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum MaterialContentType {
    /// A photo from the document camera.
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// A PDF file.
    #[serde(rename = "application/pdf")]
    Pdf,
    /// A JPEG sealed to the platform's key.
    #[serde(rename = "application/vnd.lyb.sealed+jpeg")]
    SealedJpeg,
    /// A PDF sealed to the platform's key.
    #[serde(rename = "application/vnd.lyb.sealed+pdf")]
    SealedPdf,
}

impl MaterialContentType {
    /// The MIME type.
    pub fn as_str(self) -> &'static str {
        match self {
            MaterialContentType::Jpeg => "image/jpeg",
            MaterialContentType::Pdf => "application/pdf",
            MaterialContentType::SealedJpeg => SEALED_JPEG_CONTENT_TYPE,
            MaterialContentType::SealedPdf => SEALED_PDF_CONTENT_TYPE,
        }
    }

    /// The type named by a MIME type.
    pub fn parse(mime: &str) -> Option<Self> {
        match mime {
            "image/jpeg" => Some(MaterialContentType::Jpeg),
            "application/pdf" => Some(MaterialContentType::Pdf),
            SEALED_JPEG_CONTENT_TYPE => Some(MaterialContentType::SealedJpeg),
            SEALED_PDF_CONTENT_TYPE => Some(MaterialContentType::SealedPdf),
            _ => None,
        }
    }

    /// True for the sealed types.
    pub fn is_sealed(self) -> bool {
        matches!(
            self,
            MaterialContentType::SealedJpeg | MaterialContentType::SealedPdf
        )
    }

    /// The plain type of the file (itself for a plain type; the type inside the box for a
    /// sealed one).
    pub fn plain(self) -> Self {
        match self {
            MaterialContentType::Jpeg | MaterialContentType::SealedJpeg => {
                MaterialContentType::Jpeg
            }
            MaterialContentType::Pdf | MaterialContentType::SealedPdf => MaterialContentType::Pdf,
        }
    }

    /// The sealed type carrying a file of this type.
    pub fn sealed(self) -> Self {
        match self.plain() {
            MaterialContentType::Jpeg => MaterialContentType::SealedJpeg,
            _ => MaterialContentType::SealedPdf,
        }
    }

    /// True when `bytes` look like a whole file of this type (magic numbers at both ends). A
    /// sealed box cannot be sniffed: a sealed type matches any box long enough to hold a seal;
    /// its content is checked once opened.
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            MaterialContentType::SealedJpeg | MaterialContentType::SealedPdf => {
                bytes.len() > crate::sealing::SEAL_OVERHEAD
            }
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
    /// `image/jpeg` or `application/pdf`, or their sealed forms.
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
    /// Content type, checked against the bytes (the plain type of a sealed upload, which is
    /// stored opened).
    pub content_type: MaterialContentType,
    /// Size in bytes (of the stored file: the opened one for a sealed upload).
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
    fn sealed_types_name_their_plain_kind() {
        for (plain, sealed, mime) in [
            (
                MaterialContentType::Pdf,
                MaterialContentType::SealedPdf,
                "application/vnd.lyb.sealed+pdf",
            ),
            (
                MaterialContentType::Jpeg,
                MaterialContentType::SealedJpeg,
                "application/vnd.lyb.sealed+jpeg",
            ),
        ] {
            assert_eq!(plain.sealed(), sealed);
            assert_eq!(sealed.plain(), plain);
            assert!(sealed.is_sealed() && !plain.is_sealed());
            assert_eq!(MaterialContentType::parse(mime), Some(sealed));
            assert_eq!(
                serde_json::to_value(sealed).expect("json"),
                serde_json::json!(mime)
            );
        }
        // A box too short to hold a seal is not one.
        assert!(!MaterialContentType::SealedPdf.matches(&[0; 48]));
        assert!(MaterialContentType::SealedPdf.matches(&[0; 49]));
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
