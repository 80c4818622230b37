#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the kiosk's application receipt with python-escpos, for comparison with ours.

Reads the same document JSON as drivers/benches/receipt_encode.rs, lays it out the same way
(48 columns on 80 mm paper, Chinese characters two columns wide, key/value rows flush right,
a double-size bold centred title, a native QR code, a feed and a cut), builds it on
python-escpos's Dummy printer (which collects the bytes) over and over for the given time,
and prints one JSON object: mean seconds per receipt, bytes per receipt, escpos version.

Usage: python_escpos_receipt.py DOCUMENT.json [--seconds 2]
"""

import argparse
import importlib.metadata
import json
import sys
import time

from escpos.printer import Dummy

COLUMNS = 48  # font A on 576 dots
QR_MODULE = 6  # what our layout picks for this payload on 80 mm paper


def width(text):
    return sum(1 if ord(c) < 128 else 2 for c in text)


def wrap(text, columns):
    """Breaks anywhere for Chinese, between words for ASCII (a close match to ours)."""
    lines, line = [], ""
    for word in _units(text):
        if width(line) + width(word) > columns and line:
            lines.append(line.rstrip())
            line = word.lstrip()
        else:
            line += word
    lines.append(line.rstrip())
    return lines


def _units(text):
    word = ""
    for c in text:
        if ord(c) < 128 and c != " ":
            word += c
            continue
        if word:
            yield word
            word = ""
        yield c
    if word:
        yield word


def row(key, value, columns):
    gap = columns - width(key) - width(value)
    if gap >= 1:
        return [key + " " * gap + value]
    return wrap(key, columns) + [" " * max(0, columns - width(v)) + v for v in wrap(value, columns)]


def build(document):
    p = Dummy()
    p.hw("INIT")
    for element in document["elements"]:
        if element == "rule":
            p.set(align="left", bold=False, normal_textsize=True)
            p.textln("-" * COLUMNS)
            continue
        (kind, value), = element.items()
        if kind == "title":
            p.set(align="center", bold=True, double_width=True, double_height=True)
            for line in wrap(value, COLUMNS // 2):
                p.textln(line)
        elif kind == "row":
            p.set(align="left", bold=False, normal_textsize=True)
            for line in row(value["key"], value["value"], COLUMNS):
                p.textln(line)
        elif kind == "paragraph":
            p.set(align="left", bold=False, normal_textsize=True)
            for line in wrap(value, COLUMNS):
                p.textln(line)
        elif kind == "footer":
            p.set(align="center", bold=False, normal_textsize=True)
            for line in wrap(value, COLUMNS):
                p.textln(line)
        elif kind == "qr":
            p.set(align="center")
            p.qr(value, ec=1, size=QR_MODULE, native=True)  # ec 1 = level M
            p.textln("")
        elif kind == "feed":
            p.print_and_feed(value)
        else:
            raise SystemExit(f"element {kind!r} has no python-escpos equivalent here")
    p.print_and_feed(3)
    p.cut(mode="PART", feed=False)
    return p.output


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--write", help="also write one receipt's bytes to this file")
    args = parser.parse_args()
    with open(args.document, encoding="utf-8") as f:
        document = json.load(f)
    output = build(document)  # warm-up, and the size
    if args.write:
        with open(args.write, "wb") as f:
            f.write(output)
    iterations = 0
    start = time.perf_counter()
    while True:
        build(document)
        iterations += 1
        elapsed = time.perf_counter() - start
        if elapsed >= args.seconds and iterations >= 20:
            break
    json.dump(
        {
            "mean_seconds": elapsed / iterations,
            "iterations": iterations,
            "bytes": len(output),
            "escpos_version": importlib.metadata.version("python-escpos"),
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
