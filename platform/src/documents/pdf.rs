//! A small PDF writer for certificates: pages (A4, or a receipt roll's width) of Chinese and
//! Latin text and rules.
//!
//! Text uses the Adobe-GB1 CID font `STSong-Light` with the `UniGB-UCS2-H` encoding, one of the
//! fonts every PDF reader knows without embedding (readers substitute a system Song/Ming
//! face), so the file stays a few kilobytes. The output is PDF 1.4 with a correct
//! cross-reference table.

use std::fmt::Write as _;

/// Points on an A4 page.
pub const A4: (f32, f32) = (595.0, 842.0);

/// Points across the printable width of an 80 mm receipt roll: 72 mm (576 dots at 203 dpi).
pub const ROLL80_WIDTH: f32 = 72.0 / 25.4 * 72.0;

/// One page's drawing operations.
#[derive(Debug, Default, Clone)]
pub struct Page {
    ops: String,
}

impl Page {
    /// Text at (`x`, `y`) (from the bottom left) in `size` points.
    pub fn text(&mut self, x: f32, y: f32, size: f32, text: &str) -> &mut Self {
        let _ = writeln!(
            self.ops,
            "BT /F1 {size:.1} Tf {x:.1} {y:.1} Td <{}> Tj ET",
            ucs2_hex(text)
        );
        self
    }

    /// A straight line of `width` points.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32) -> &mut Self {
        let _ = writeln!(
            self.ops,
            "{width:.2} w {:.1} {:.1} m {:.1} {:.1} l S",
            from.0, from.1, to.0, to.1
        );
        self
    }

    /// A QR code of `text` (error correction M), `side` points square with its lower left
    /// corner at (`x`, `y`), quiet zone included: one filled square per dark module. Nothing
    /// is drawn for text too long for any QR version.
    pub fn qr(&mut self, x: f32, y: f32, side: f32, text: &str) -> &mut Self {
        let Ok(code) = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium) else {
            return self;
        };
        let quiet = 4;
        let modules = code.size() + 2 * quiet;
        let module = side / modules as f32;
        // One rectangle per horizontal run of dark modules keeps the file small.
        for row in 0..code.size() {
            let mut column = 0;
            while column < code.size() {
                if !code.get_module(column, row) {
                    column += 1;
                    continue;
                }
                let start = column;
                while column < code.size() && code.get_module(column, row) {
                    column += 1;
                }
                let left = x + (start + quiet) as f32 * module;
                let bottom = y + side - (row + quiet + 1) as f32 * module;
                let run = (column - start) as f32 * module;
                let _ = writeln!(self.ops, "{left:.2} {bottom:.2} {run:.2} {module:.2} re");
            }
        }
        let _ = writeln!(self.ops, "f");
        self
    }

    /// A rectangle outline.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) -> &mut Self {
        let _ = writeln!(self.ops, "{width:.2} w {x:.1} {y:.1} {w:.1} {h:.1} re S");
        self
    }
}

/// Text as UTF-16BE hex for `UniGB-UCS2-H`; characters outside the BMP become `?`.
fn ucs2_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 4);
    for c in text.chars() {
        let unit = u16::try_from(u32::from(c))
            .ok()
            .filter(|u| !(0xD800..=0xDFFF).contains(u))
            .unwrap_or(u16::from(b'?'));
        let _ = write!(out, "{unit:04X}");
    }
    out
}

/// Width of `text` in `size`-point type: CJK full width, ASCII half width.
pub fn text_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum::<f32>()
        * size
}

/// Assembles `pages` into an A4 PDF file titled `title`.
pub fn document(title: &str, pages: &[Page]) -> Vec<u8> {
    document_sized(title, pages, A4)
}

/// Assembles `pages`, each `size` points (width, height), into a PDF file titled `title`.
pub fn document_sized(title: &str, pages: &[Page], size: (f32, f32)) -> Vec<u8> {
    let page_count = pages.len().max(1);
    // Objects: 1 catalog, 2 pages, 3 font, 4 CID font, 5 descriptor, 6 info, then per page a
    // page object and its content stream.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids: Vec<String> = (0..page_count)
        .map(|i| format!("{} 0 R", 7 + 2 * i))
        .collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [4 0 R] >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /FontDescriptor 5 0 R /DW 1000 /W [1 95 500] >>"
            .to_vec(),
    );
    objects.push(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
            .to_vec(),
    );
    objects.push(
        format!(
            "<< /Title <FEFF{}> /Producer (kiosk-platform) >>",
            ucs2_hex(title)
        )
        .into_bytes(),
    );
    let empty = Page::default();
    for (i, page) in pages
        .iter()
        .chain(pages.is_empty().then_some(&empty))
        .enumerate()
    {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {:.1} {:.1}] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                size.0,
                size.1,
                8 + 2 * i
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", page.ops.len()).into_bytes();
        stream.extend_from_slice(page.ops.as_bytes());
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }

    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cross_reference_table_points_at_the_objects() {
        let mut page = Page::default();
        page.text(50.0, 800.0, 16.0, "办件记录证明 Record").line(
            (50.0, 790.0),
            (545.0, 790.0),
            1.0,
        );
        let pdf = document("证明", &[page]);
        // Offsets count bytes: read the file as bytes (its second line is binary on purpose).
        let text: String = pdf.iter().map(|&b| char::from(b)).collect();
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.trim_end().ends_with("%%EOF"));
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(pdf[startxref..].starts_with(b"xref\n"));
        let entries: Vec<usize> = String::from_utf8_lossy(&pdf[startxref..])
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().expect("offset"))
            .collect();
        assert_eq!(entries.len(), 8);
        for (i, offset) in entries.iter().enumerate() {
            assert!(
                pdf[*offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
        assert!(text.contains("<529E4EF68BB05F558BC1660E0020005200650063006F00720064>"));
    }

    #[test]
    fn a_qr_code_is_drawn_module_for_module_the_right_way_up() {
        let text = "https://lyg.example/verify/ABCD-EFGH-JKMN-PQRS";
        let code =
            qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).expect("encodes");
        let size = code.size();
        let modules = size + 8;
        let side = modules as f32 * 2.0;
        let mut page = Page::default();
        page.qr(10.0, 20.0, side, text);
        // Read the drawn runs back into a grid (row 0 at the top, as a reader sees it).
        let mut drawn = vec![vec![false; size as usize]; size as usize];
        for line in page.ops.lines().filter(|l| l.ends_with(" re")) {
            let n: Vec<f32> = line
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            let column = ((n[0] - 10.0) / 2.0).round() as i32 - 4;
            let row = ((20.0 + side - n[1] - n[3]) / 2.0).round() as i32 - 4;
            for c in column..column + (n[2] / 2.0).round() as i32 {
                drawn[row as usize][c as usize] = true;
            }
        }
        for row in 0..size {
            for column in 0..size {
                assert_eq!(
                    drawn[row as usize][column as usize],
                    code.get_module(column, row),
                    "module ({column}, {row})"
                );
            }
        }
        assert!(page.ops.trim_end().ends_with('f'));
    }

    #[test]
    fn astral_characters_degrade_to_a_question_mark() {
        assert_eq!(ucs2_hex("A😀"), "0041003F");
    }
}
