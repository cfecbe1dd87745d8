#!/usr/bin/python3
"""Independent check of lib/push-encrypt.c.

Runs the encrypt-vectors program, decrypts every line with Debian's
python3-cryptography (AESGCM, which verifies the 16-byte tag), and checks
the JSON against this file's own copy of the payloads, the size rule of
lib/push-encrypt.h, the cut of the message on a character boundary, and
that two pushes of the same payload get different IVs.

  check-encrypt.py PROGRAM   run the encrypt-vectors program
  check-encrypt.py -         read its lines from standard input (the
                             meson test: encrypt-vectors SCRIPT runs this)

Exit 77 (skipped) when python3-cryptography is missing, unless CI=true.
"""
import base64
import json
import os
import subprocess
import sys

try:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError:
    if os.environ.get("CI") == "true":
        print("python3-cryptography is missing, and CI=true: failing")
        sys.exit(1)
    print("python3-cryptography is missing: skipped")
    sys.exit(77)

DEFAULT_MAX_SIZE = 3000
HEADER = 64


def budget(max_size):
    """The largest JSON (bytes) the library may build for max_size."""
    max_size = max_size or DEFAULT_MAX_SIZE
    if max_size < HEADER:
        return 0
    raw = (max_size - HEADER) // 4 * 3
    return max(raw - 16, 0)


def escaped_len(ch):
    """The length of one character as the library escapes it."""
    if ch in '"\\\n\r\t':
        return 2
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return 6
    return len(ch.encode("utf-8"))


LONG = "".join(chr(ord("a") + i % 26) for i in range(4000))
CASES = {
    "chat": {"unread": 1, "sender": "juliet@capulet.example", "type": "chat",
             "message": "Wherefore art thou, Romeo?"},
    "groupchat": {"unread": 3, "sender": "room@muc.example", "type": "groupchat",
                  "message": "hi all", "nickname": "Nurse"},
    "call": {"unread": 1, "sender": "romeo@montague.example/phone", "type": "call",
             "sid": "ca3cf894-5325", "media": ["audio", "video"]},
    "call-no-media": {"unread": 1, "sender": "romeo@montague.example/phone", "type": "call",
                      "sid": "s1", "media": []},
    "bare": {"unread": 0},
    "escapes": {"unread": 7, "sender": 'a"b\\c@example', "type": "chat",
                "message": 'quote " backslash \\ nl \n cr \r tab \t bell \a esc \x1b'
                           ' us \x1f del \x7f slash /'},
    "unicode": {"unread": 2, "sender": "\u00e9l\u00e8ve@example", "type": "chat",
                "message": "caf\u00e9 \u20ac \U0001F600 \u4e2d\u6587 \u2028 end",
                "nickname": "N\u00e4ck"},
    # Every invalid byte became U+FFFD: a stray continuation, an overlong
    # form, a surrogate, a byte that starts nothing, a truncated sequence
    # (its two bytes are two replacements, each starting no valid sequence).
    "invalid-utf8": {"unread": 1, "sender": "x@example", "type": "chat",
                     "message": "a\ufffdb\ufffd\ufffdc\ufffd\ufffd\ufffdd\ufffde\ufffd\ufffd"},
    "cut-ascii": (200, "0123456789" * 12),
    "cut-2": (201, "\u00e9" * 56),
    "cut-3": (207, "\u20ac" * 36),
    "cut-4": (213, "\U0001F600" * 24),
    "cut-escapes": (205, '"' * 52 + "\x01" * 20),
    "cut-default": (0, LONG),
    "fixed-iv": {"unread": 5, "sender": "juliet@capulet.example", "type": "chat",
                 "message": "fixed"},
    "repeat-1": {"unread": 1, "sender": "x@example", "type": "chat", "message": "same"},
    "repeat-2": {"unread": 1, "sender": "x@example", "type": "chat", "message": "same"},
}
FIXED_IV = bytes.fromhex("cafebabefacedbaddecaf888")

failures = []
checked = 0


def fail(name, why):
    failures.append(f"{name}: {why}")


def main():
    global checked
    if sys.argv[1] == "-":
        out = sys.stdin.buffer.read()
    else:
        out = subprocess.run([sys.argv[1]], check=True, capture_output=True).stdout
    lines = out.decode("ascii").splitlines()
    seen = {}
    for index, line in enumerate(lines):
        name, key_hex, max_size, iv_b64, data_b64 = line.split("\t")
        max_size = int(max_size)
        key = bytes.fromhex(key_hex)
        iv = base64.b64decode(iv_b64, validate=True)
        data = base64.b64decode(data_b64, validate=True)
        seen[name] = (iv, data)
        if key != bytes((i + index) & 0xFF for i in range(16)):
            fail(name, "unexpected key")
        if len(iv) != 12:
            fail(name, f"IV of {len(iv)} bytes")
        if len(data_b64) > (max_size or DEFAULT_MAX_SIZE) - HEADER:
            fail(name, f"{len(data_b64)} base64 characters exceed max-size {max_size} - 64")
        # decrypt() verifies the tag: a missing or wrong tag raises.
        try:
            plain = AESGCM(key).decrypt(iv, data, None)
        except Exception as e:  # InvalidTag
            fail(name, f"does not decrypt: {e!r}")
            continue
        if len(plain) > budget(max_size):
            fail(name, f"JSON of {len(plain)} bytes over the budget {budget(max_size)}")
        try:
            got = json.loads(plain.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            fail(name, f"not UTF-8 JSON: {e!r}: {plain!r}")
            continue
        expected = CASES.get(name)
        if expected is None:
            fail(name, "unknown case")
            continue
        if isinstance(expected, tuple):
            whole = expected[1]
            message = got.get("message", "")
            if not whole.startswith(message):
                fail(name, "the cut message is not a prefix of the message")
            elif len(message) == len(whole):
                fail(name, "the message was not cut (the case must need a cut)")
            elif len(plain) + escaped_len(whole[len(message)]) <= budget(max_size):
                fail(name, "cut too early: the next character would have fit")
            if got != {"unread": 1, "sender": "x@example", "type": "chat", "message": message}:
                fail(name, f"fields {got!r}")
        elif got != expected:
            fail(name, f"JSON {got!r} != {expected!r}")
        if name == "fixed-iv":
            if iv != FIXED_IV:
                fail(name, "the given IV was not used")
            # Byte-exact: the same key, IV and plaintext through the
            # independent implementation give the same ciphertext and tag.
            if AESGCM(key).encrypt(iv, plain, None) != data:
                fail(name, "ciphertext or tag differs from python3-cryptography's")
        checked += 1
    if set(seen) != set(CASES):
        fail("all", f"cases missing: {sorted(set(CASES) - set(seen))}")
    if "repeat-1" in seen and "repeat-2" in seen:
        if seen["repeat-1"][0] == seen["repeat-2"][0]:
            fail("repeat", "two pushes got the same IV")
        if seen["repeat-1"][1] == seen["repeat-2"][1]:
            fail("repeat", "two pushes of one payload gave the same ciphertext")
    for f in failures:
        print("FAIL", f)
    print(f"{checked} payloads decrypted and checked, {len(failures)} failures")
    return 1 if failures or checked == 0 else 0


sys.exit(main())
