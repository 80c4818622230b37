//! The reply frames under `drivers/testdata/frames/` are what `kiosk device idcard decode` is
//! tested on. This keeps them honest: the card frames must be exactly what the simulator's
//! encoder produces today, and the transcribed documentation frames must carry the checksums
//! worked out by hand in that folder's README.
//!
//! After a deliberate change to the deck or the encoder, rewrite the card frames with
//! `KIOSK_WRITE_TESTDATA=1 cargo test -p kiosk-drivers --test idcard_testdata`.

use std::path::PathBuf;

use kiosk_drivers::idcard::frame::checksum;
use kiosk_drivers::idcard::{CardKind, FrameDecoder, IdCard, Sw3, TestCard, encode_response};

fn frames_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/frames")
}

/// One frame per card type: the file name and the deck card it holds.
const CARD_FRAMES: [(&str, CardKind, usize); 4] = [
    ("read-resident.bin", CardKind::Resident, 0),
    ("read-permit-j.bin", CardKind::PermitJ, 4),
    ("read-foreigner-i.bin", CardKind::ForeignerI, 5),
    ("read-foreigner-y.bin", CardKind::ForeignerY, 6),
];

#[test]
fn card_frames_are_the_simulators_replies() {
    let deck: Vec<IdCard> = TestCard::default_deck()
        .expect("deck")
        .iter()
        .map(|c| c.to_card().expect("valid card"))
        .collect();
    let write = std::env::var_os("KIOSK_WRITE_TESTDATA").is_some();
    for (name, kind, index) in CARD_FRAMES {
        let card = &deck[index];
        assert_eq!(card.kind(), kind, "{name}");
        let frame = encode_response(Sw3::Success, &card.encode_read_reply());
        assert_eq!(
            frame.len(),
            1295,
            "{name}: the documented size of a 30 01 reply"
        );
        let path = frames_dir().join(name);
        if write {
            std::fs::write(&path, &frame).expect("write test vector");
        }
        let stored = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with KIOSK_WRITE_TESTDATA=1",
                path.display()
            )
        });
        assert!(stored == frame, "{name} differs from the encoder's output");
    }
}

/// Frames transcribed from reader vendors' public protocol notes, with the checksum worked
/// out by hand (XOR of every byte from LEN to the end of the data).
const DOCUMENTED: [(&str, Sw3, usize, u8); 4] = [
    // 00 ^ 04 ^ 00 ^ 00 ^ 90 = 94
    ("sam-status-ok.hex", Sw3::Success, 0, 0x94),
    // 00 ^ 08 ^ 00 ^ 00 ^ 9F ^ 00 00 00 00 = 97
    ("find-ok.hex", Sw3::FindSuccess, 4, 0x97),
    // 00 ^ 0C ^ 00 ^ 00 ^ 90 ^ eight 00 = 9C
    ("select-ok.hex", Sw3::Success, 8, 0x9C),
    // 00 ^ 04 ^ 00 ^ 00 ^ 80 = 84
    ("find-failed.hex", Sw3::FindFailed, 0, 0x84),
];

#[test]
fn documented_frames_have_hand_checked_checksums() {
    for (name, status, data_len, chk) in DOCUMENTED {
        let text = std::fs::read_to_string(frames_dir().join(name)).expect("read test vector");
        let bytes: Vec<u8> = text
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect();
        let last = bytes.len() - 1;
        assert_eq!(bytes[last], chk, "{name}: stored checksum");
        assert_eq!(checksum(&bytes[5..last]), chk, "{name}: computed checksum");
        assert_eq!(bytes, encode_response(status, &vec![0; data_len]), "{name}");
        let mut decoder = FrameDecoder::new();
        decoder.push(&bytes);
        let reply = decoder.next_response().expect("a frame").expect("valid");
        assert_eq!(reply.status, status, "{name}");
        assert_eq!(reply.data.len(), data_len, "{name}");
    }
}
