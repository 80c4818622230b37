#!/usr/bin/env python3
"""The screen checks of scripts/boot-test, over QEMU's QMP socket (standard library only).

boot-test-screen.py QMP_SOCKET OUT_DIR REFERENCE_PNG

1. screendump → OUT_DIR/home.png; the screen must not be blank (no single colour covers more
   than 90 % of it, and it has some hundreds of colours: text is anti-aliased), and its three
   most common colours must be among the six most common of REFERENCE_PNG, the kiosk's own
   headless render of its home screen (skipped, with a message, when there is no reference).
2. Ctrl+Alt+F2, Ctrl+Alt+F1, Alt+F2 and Alt+SysRq+H are typed on the VM's keyboard; then
   screendump → OUT_DIR/after-keys.png must match home.png (under 1 % of pixels differ).
Exit status 0 when every check passes.
"""

import json
import socket
import struct
import sys
import time
import zlib
from collections import Counter


class Qmp:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # greeting
        self.call("qmp_capabilities")

    def call(self, command, **arguments):
        message = {"execute": command}
        if arguments:
            message["arguments"] = arguments
        self.file.write(json.dumps(message) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError(f"{command}: {reply['error']}")
            # asynchronous events: skip

    def keys(self, *names):
        self.call("send-key", keys=[{"type": "qcode", "data": n} for n in names], **{"hold-time": 200})


def read_png(path):
    """Decodes an 8-bit RGB or RGBA, non-interlaced PNG into (width, height, rows of bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA non-interlaced PNGs are read")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(v for j, v in enumerate(line) if j % 4 != 3))
        prev = line
    return width, height, rows


def colours(rows, step=2):
    """Colour counts over every other pixel, quantised to 5 bits a channel."""
    counts = Counter()
    for row in rows[::step]:
        for x in range(0, len(row), 3 * step):
            counts[(row[x] >> 3, row[x + 1] >> 3, row[x + 2] >> 3)] += 1
    return counts


def changed_fraction(a, b):
    diff = total = 0
    for ra, rb in zip(a, b):
        for x in range(0, len(ra), 3):
            total += 1
            if ra[x : x + 3] != rb[x : x + 3]:
                diff += 1
    return diff / max(total, 1)


def main():
    sock, out, reference = sys.argv[1:4]
    qmp = Qmp(sock)
    ok = True

    home = f"{out}/home.png"
    qmp.call("screendump", filename=home, format="png")
    width, height, rows = read_png(home)
    counts = colours(rows)
    total = sum(counts.values())
    top, share = counts.most_common(1)[0]
    print(f"      screen {width}x{height}, {len(counts)} colours, the commonest covers {share / total:.0%}")
    if share / total > 0.9 or len(counts) < 100:
        print("FAIL  the screen is blank")
        ok = False
    else:
        print("ok    the screen is not blank")

    try:
        _, _, ref_rows = read_png(reference)
    except (OSError, ValueError) as e:
        print(f"SKIP  no reference render to compare with ({e})")
    else:
        # The header band (brand colour, the home screen's title "欢迎使用", the language,
        # elder-mode and speech buttons) is the same whatever the devices: below it, a terminal
        # without its devices shows the fault banner the reference (simulated devices) lacks.
        band = 110
        header = changed_fraction(rows[:band], ref_rows[:band])
        near = lambda c, pool: any(max(abs(c[i] - p[i]) for i in range(3)) <= 1 for p in pool)
        # The page's background must be the render's too; the second commonest colour may be
        # the fault banner's (a terminal in the test VM has no devices, the render has
        # simulated ones), which the render does not show.
        ref_top = [c for c, _ in colours(ref_rows).most_common(6)]
        mine = [c for c, _ in counts.most_common(1)]
        if header < 0.005 and all(near(c, ref_top) for c in mine):
            print(f"ok    the home screen shows: its header matches the kiosk's own render ({header:.2%} of its pixels differ)")
        else:
            print(f"FAIL  not the home screen: header differs in {header:.2%} of its pixels; dominant colours {mine}, the render's {ref_top}")
            ok = False

    for combo in (("ctrl", "alt", "f2"), ("ctrl", "alt", "f1"), ("alt", "f2"), ("alt", "sysrq", "h")):
        qmp.keys(*combo)
        time.sleep(1)
    time.sleep(3)
    after = f"{out}/after-keys.png"
    qmp.call("screendump", filename=after, format="png")
    _, _, after_rows = read_png(after)
    changed = changed_fraction(rows, after_rows)
    if changed < 0.01:
        print(f"ok    Ctrl+Alt+F2, Ctrl+Alt+F1, Alt+F2, Alt+SysRq+H change nothing ({changed:.2%} of pixels)")
    else:
        print(f"FAIL  the screen changed after the escape keys ({changed:.2%} of pixels)")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
