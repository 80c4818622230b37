//! Several scanned pages → one PDF, written directly.
//!
//! A PDF of photographed pages needs very little: one page object per page, each drawing one
//! image, and the image data is the page's JPEG stored as-is (the `DCTDecode` filter), so
//! nothing is decoded or re-compressed and the file is the sum of its JPEGs plus a few hundred
//! bytes per page. That is small enough to write here without a PDF library.
//!
//! Each page is A4 (portrait, or landscape for a landscape image) with the image fitted and
//! centred, since the materials the platform asks for are A4 documents and case workers print
//! them as such.

use std::fmt::Write as _;

/// A4 in PDF points (1/72 inch).
pub const A4_POINTS: (f64, f64) = (595.276, 841.890);

/// Why a PDF could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PdfError {
    #[error("a PDF needs at least one page")]
    NoPages,
    /// Page `index` (from 0) is not a baseline or progressive JPEG we can embed.
    #[error("page {index} is not a usable JPEG: {reason}")]
    BadJpeg { index: usize, reason: &'static str },
}

/// What the PDF needs to know about a JPEG: its size and colour components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegInfo {
    pub width: u32,
    pub height: u32,
    /// 1 (greyscale) or 3 (YCbCr/RGB).
    pub components: u8,
}

/// Reads the frame header (SOF) of a JPEG, walking the marker segments with bounds checks.
pub fn jpeg_info(bytes: &[u8]) -> Result<JpegInfo, &'static str> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err("no JPEG start-of-image marker");
    }
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        if bytes.get(at) != Some(&0xFF) {
            return Err("broken marker structure");
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or("truncated before the frame header")?;
        at += 1;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD9 | 0xDA => return Err("no frame header before the image data"),
            _ => {}
        }
        let length = bytes
            .get(at..at + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or("truncated segment length")?;
        if length < 2 {
            return Err("bad segment length");
        }
        let is_sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_sof {
            let sof = bytes.get(at + 2..at + 8).ok_or("truncated frame header")?;
            if sof[0] != 8 {
                return Err("only 8-bit JPEGs can be embedded");
            }
            let height = u32::from(u16::from_be_bytes([sof[1], sof[2]]));
            let width = u32::from(u16::from_be_bytes([sof[3], sof[4]]));
            let components = sof[5];
            if width == 0 || height == 0 {
                return Err("zero image size");
            }
            if components != 1 && components != 3 {
                return Err("only greyscale and colour (3-component) JPEGs can be embedded");
            }
            return Ok(JpegInfo {
                width,
                height,
                components,
            });
        }
        at += length;
    }
}

/// Writes a PDF with one A4 page per JPEG, in order.
pub fn jpegs_to_pdf(pages: &[&[u8]]) -> Result<Vec<u8>, PdfError> {
    if pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    let infos = pages
        .iter()
        .enumerate()
        .map(|(index, jpeg)| jpeg_info(jpeg).map_err(|reason| PdfError::BadJpeg { index, reason }))
        .collect::<Result<Vec<_>, _>>()?;

    // Objects: 1 catalog, 2 page tree, 3 info, then page, contents and image per page.
    let page_id = |i: usize| 4 + 3 * i;
    let object_count = 3 + 3 * pages.len();
    let mut pdf = PdfWriter::new();

    pdf.object(1, b"<< /Type /Catalog /Pages 2 0 R >>");
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", page_id(i)))
        .collect();
    pdf.object(
        2,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .as_bytes(),
    );
    pdf.object(
        3,
        b"<< /Producer (lianyibao kiosk) /Title (Scanned materials) >>",
    );

    for (i, (jpeg, info)) in pages.iter().zip(&infos).enumerate() {
        let (id, contents_id, image_id) = (page_id(i), page_id(i) + 1, page_id(i) + 2);
        let landscape = info.width > info.height;
        let (pw, ph) = if landscape {
            (A4_POINTS.1, A4_POINTS.0)
        } else {
            A4_POINTS
        };
        let scale = (pw / f64::from(info.width)).min(ph / f64::from(info.height));
        let (w, h) = (
            f64::from(info.width) * scale,
            f64::from(info.height) * scale,
        );
        let (x, y) = ((pw - w) / 2.0, (ph - h) / 2.0);
        pdf.object(
            id,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.3} {ph:.3}] \
                 /Resources << /XObject << /Im0 {image_id} 0 R >> >> /Contents {contents_id} 0 R >>"
            )
            .as_bytes(),
        );
        let drawing = format!("q {w:.3} 0 0 {h:.3} {x:.3} {y:.3} cm /Im0 Do Q\n");
        pdf.stream(contents_id, "", drawing.as_bytes());
        let colour = if info.components == 1 {
            "/DeviceGray"
        } else {
            "/DeviceRGB"
        };
        pdf.stream(
            image_id,
            &format!(
                "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {colour} \
                 /BitsPerComponent 8 /Filter /DCTDecode",
                info.width, info.height
            ),
            jpeg,
        );
    }
    Ok(pdf.finish(object_count))
}

/// Appends numbered objects and remembers where each starts, for the cross-reference table.
struct PdfWriter {
    bytes: Vec<u8>,
    offsets: Vec<(usize, usize)>,
}

impl PdfWriter {
    fn new() -> PdfWriter {
        // The comment with high bytes tells transfer tools the file is binary.
        let mut bytes = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        bytes.reserve(64 * 1024);
        PdfWriter {
            bytes,
            offsets: Vec::new(),
        }
    }

    fn object(&mut self, id: usize, body: &[u8]) {
        self.offsets.push((id, self.bytes.len()));
        self.bytes
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        self.bytes.extend_from_slice(body);
        self.bytes.extend_from_slice(b"\nendobj\n");
    }

    fn stream(&mut self, id: usize, dictionary: &str, data: &[u8]) {
        self.offsets.push((id, self.bytes.len()));
        self.bytes.extend_from_slice(
            format!(
                "{id} 0 obj\n<< {dictionary} /Length {} >>\nstream\n",
                data.len()
            )
            .as_bytes(),
        );
        self.bytes.extend_from_slice(data);
        self.bytes.extend_from_slice(b"\nendstream\nendobj\n");
    }

    fn finish(mut self, object_count: usize) -> Vec<u8> {
        self.offsets.sort_unstable();
        let xref_at = self.bytes.len();
        let mut table = String::new();
        // Entries are exactly 20 bytes each, the end of line included.
        let _ = write!(table, "xref\n0 {}\n0000000000 65535 f \n", object_count + 1);
        for (_, offset) in &self.offsets {
            let _ = writeln!(table, "{offset:010} 00000 n ");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref_at}\n%%EOF\n",
            object_count + 1
        );
        self.bytes.extend_from_slice(table.as_bytes());
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_jpeg(w: u32, h: u32) -> Vec<u8> {
        let image = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        crate::camera::document::encode_jpeg(&image, 80).expect("jpeg")
    }

    #[test]
    fn jpeg_headers_are_read_and_junk_refused() {
        let jpeg = tiny_jpeg(33, 17);
        assert_eq!(
            jpeg_info(&jpeg),
            Ok(JpegInfo {
                width: 33,
                height: 17,
                components: 3
            })
        );
        for junk in [
            &b""[..],
            b"\xFF\xD8",
            b"\xFF\xD8\xFF",
            b"\xFF\xD8\xFF\xE0\x00",
            b"\xFF\xD8\xFF\xE0\x00\x01",
            b"\xFF\xD8\xFF\xDA\x00\x08",
            b"\x89PNG\r\n\x1a\n",
            b"\xFF\xD8\xFF\xC0\x00\x11\x08\x00\x00\x00\x10\x03",
        ] {
            assert!(jpeg_info(junk).is_err(), "{junk:?}");
        }
        // Cut anywhere, a JPEG is refused or read, never a panic.
        for cut in 0..jpeg.len().min(700) {
            let _ = jpeg_info(&jpeg[..cut]);
        }
    }

    #[test]
    fn empty_and_bad_page_lists_are_refused() {
        assert_eq!(jpegs_to_pdf(&[]), Err(PdfError::NoPages));
        let good = tiny_jpeg(10, 14);
        assert!(matches!(
            jpegs_to_pdf(&[&good, b"not a jpeg"]),
            Err(PdfError::BadJpeg { index: 1, .. })
        ));
    }
}
