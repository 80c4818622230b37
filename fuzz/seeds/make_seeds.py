#!/usr/bin/env python3
"""Writes the committed seed corpora under fuzz/corpus/<target>/ (small, hand-made or taken
from drivers/testdata). Rerun after changing a seed: python3 fuzz/seeds/make_seeds.py"""
import hashlib
import json
import pathlib
import struct

root = pathlib.Path(__file__).resolve().parents[2]
corpus = root / "fuzz" / "corpus"
frames = root / "drivers" / "testdata" / "frames"


def put(target, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def frame(body):
    length = struct.pack(">H", len(body) + 1)
    chk = 0
    for b in length + body:
        chk ^= b
    return bytes([0xAA, 0xAA, 0xAA, 0x96, 0x69]) + length + body + bytes([chk])


# ID-card reader: reply frames as captured, whole and in small pieces, and host commands.
replies = [p.read_bytes() for p in sorted(frames.glob("*.bin"))]
replies += [bytes.fromhex(p.read_text()) for p in sorted(frames.glob("*.hex"))]
for i, r in enumerate(replies):
    put("idcard_frames", bytes([255]) + r)
    put("idcard_frames", bytes([i % 7]) + b"\x00\x13" + r + r[:9])
    if len(r) > 11:
        put("idcard_card", r[10:-1])
for cmd in [(0x20, 0x01), (0x20, 0x02), (0x30, 0x01), (0x11, 0xFF)]:
    put("idcard_frames", bytes([3]) + frame(bytes(cmd)))

# ESC/POS: a receipt as the kiosk sends it (init, styles, Chinese text, QR, raster, cut) and
# real-time traffic.
def qr(payload):
    store = payload.encode()
    n = len(store) + 3
    return (b"\x1d(k\x04\x001A2\x00" + b"\x1d(k\x03\x001C\x06" + b"\x1d(k\x03\x001E1"
            + b"\x1d(k" + struct.pack("<H", n) + b"1P0" + store + b"\x1d(k\x03\x001Q0")

receipt = (b"\x1b@\x1ca\x01\x1b!\x30" + "受理回执".encode("gb18030") + b"\n\x1b!\x00\x1ba\x00"
           + "事项: 居住证办理\n".encode("gb18030") + b"\x1bE\x01No. LYT0001\x1bE\x00\n"
           + qr("https://zwfw.lyg.gov.cn/q/LYT0001") + b"\x1dv0\x00\x02\x00\x04\x00"
           + bytes(range(8)) + b"\x1bd\x03\x1dV\x42\x00")
put("escpos_decode", bytes([0]) + receipt)
put("escpos_decode", bytes([7]) + receipt)
put("escpos_decode", bytes([1]) + b"\x1b@" + "中文默认模式\n".encode("gb18030") + b"\x10\x04\x01\x1da\x0f")
put("escpos_decode", bytes([2]) + b"\x1b*\x21\x03\x00" + bytes(9) + b"\x1bJ\x20\x1bi\x1b\x74\x10abc\x09\x0d\x0a")

# Printer status: the four replies of each state the simulator plays.
for replies4 in ["12121212", "1212121e", "1a327e12", "1a161212", "1a125a12", "1a121212", "1a525212", "00ff1212"]:
    put("escpos_status", bytes.fromhex(replies4))

# Scanner lines: our payload formats in each suffix, a GB18030 line, an over-long one.
payloads = [b"SFM1:" + b"A1b2C3d4E5f6G7h8I9j0", b"ELC1:320700-ABC-2026-0001", b"YY2026112200012",
            b"PD-A017", b"https://zwfw.lyg.gov.cn:8443/q?x=1#y", "连云港市民".encode("gb18030"),
            "连云港".encode("utf-8")]
for mode, suffix in [(0, b"\r"), (1, b"\n"), (2, b"\r\n")]:
    put("scanner_line", bytes([mode | 4 * 3, 0]) + b"".join(p + suffix for p in payloads))
put("scanner_line", bytes([0, 16]) + b"x" * 40 + b"\rYY20261122\r\x01\r")

# Keyboard wedge: key events typing an appointment code and a URL, as the kernel lays them out.
KEYS = {c: (k, False) for k, c in zip(range(2, 12), "1234567890")}
KEYS.update({c: (k, False) for k, c in zip(range(16, 26), "qwertyuiop")})
KEYS.update({c: (k, False) for k, c in zip(range(30, 39), "asdfghjkl")})
KEYS.update({c: (k, False) for k, c in zip(range(44, 51), "zxcvbnm")})
KEYS.update({c.upper(): (k, True) for c, (k, _) in list(KEYS.items()) if c.isalpha()})
KEYS.update({"-": (12, False), ".": (52, False), "/": (53, False), ":": (39, True)})


def event(kind, code, value):
    return bytes(16) + struct.pack("<HHi", kind, code, value)


def typed(text):
    out = b""
    for c in text:
        code, shift = KEYS[c]
        if shift:
            out += event(1, 42, 1)
        out += event(1, code, 1) + event(1, code, 0)
        if shift:
            out += event(1, 42, 0)
        out += event(0, 0, 0)
    return out + event(1, 28, 1) + event(1, 28, 0) + event(0, 0, 0)


put("scanner_wedge", bytes([0]) + typed("YY2026112200012") + typed("PD-A017"))
put("scanner_wedge", bytes([0]) + typed("https://zwfw.lyg.gov.cn/q") + event(0, 3, 0) + typed("SFM1:AbCdEfGhIjKlMnOp"))

# Platform bodies: one valid example of each, selected by the first byte.
bodies = {
    0: {"terminal_id": "T-0001", "matter_id": "lyg-jzz-001", "language": "zh",
        "applicant": {"name": "张三", "id_number": "32070019900101001X", "document_kind": "resident",
                      "phone": "13800000000"}, "committed_missing_materials": [1]},
    1: {"application_no": "LYG20261122000001", "matter_id": "lyg-jzz-001", "terminal_id": "T-0001",
        "level": 2, "reason": "took_too_long"},
    2: {"versions": {"kiosk": "1.2.0"}, "uptime_secs": 3600,
        "devices": [{"device": "printer", "state": "degraded", "reasons": ["paper_near_end"]}],
        "outbox_depth": 0},
    3: {"rollout_id": 3, "version": "1.2.0-rc1", "state": "committed", "detail": "", "at": 1790000000},
    4: {"code": "YY2026112200012"},
    5: {"material_index": 0, "content_type": "image/jpeg", "size": 1024, "sha256": "ab" * 32},
    11: {"start_minute": 1320, "end_minute": 300},
    12: {"matter_id": "lyg-jzz-001"},
}
for which, body in bodies.items():
    put("platform_bodies", bytes([which]) + json.dumps(body, ensure_ascii=False).encode())
put("platform_bodies", bytes([14]) + bytes(range(80)))
put("platform_bodies", bytes([15]) + b"T-0001\x001790000000\x00abcdefghijklmnop\x00" + b"00" * 64 + b"\x00/v1/heartbeat")

# Release file names.
for name in ["timestamp.json", "root.json", "3.root.json", "12.snapshot.json", "7.targets.json",
             "kiosk-1.2.0-rc1-x86_64", "os-2026.11.1-aarch64.raucb",
             "ab" * 32 + ".kiosk-1.2.0-x86_64", "../root.json", "01.root.json"]:
    put("release_names", name.encode())
