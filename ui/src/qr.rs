//! QR codes drawn as Slint images (the receipt screen's progress code).

use qrcodegen::{QrCode, QrCodeEcc};
use slint::{Image, Rgb8Pixel, SharedPixelBuffer};

use crate::UiError;

/// Modules of white border around the code, as the QR standard asks.
const QUIET_ZONE: usize = 4;

/// Draws `payload` as a QR code, one pixel per module (scale it with `image-rendering: pixelated`).
pub fn qr_image(payload: &str) -> Result<Image, UiError> {
    let code = QrCode::encode_text(payload, QrCodeEcc::Medium)
        .map_err(|_| UiError::QrTooLong(payload.len()))?;
    let modules = code.size() as usize;
    let side = modules + 2 * QUIET_ZONE;
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side as u32, side as u32);
    let pixels = buffer.make_mut_slice();
    for (index, pixel) in pixels.iter_mut().enumerate() {
        let (x, y) = (index % side, index / side);
        let dark = x >= QUIET_ZONE
            && y >= QUIET_ZONE
            && x < QUIET_ZONE + modules
            && y < QUIET_ZONE + modules
            && code.get_module((x - QUIET_ZONE) as i32, (y - QUIET_ZONE) as i32);
        let v = if dark { 0 } else { 255 };
        *pixel = Rgb8Pixel { r: v, g: v, b: v };
    }
    Ok(Image::from_rgb8(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_a_quiet_zone_and_refuse_oversized_text() {
        let image = qr_image("http://127.0.0.1:8080/progress/LY20261122000001").expect("fits");
        let size = image.size();
        assert_eq!(size.width, size.height);
        assert!(size.width as usize > 2 * QUIET_ZONE + 21);
        let huge = "x".repeat(5000);
        assert!(matches!(qr_image(&huge), Err(UiError::QrTooLong(5000))));
    }
}
