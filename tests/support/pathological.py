"""Generators for the pathological corpus: messages and trees built to hurt a mail reader.

Every generator is deterministic and builds its input in memory or under a directory the test
gives (``tmp_path``); nothing is stored in the repository. Sizes are what CI can afford while
still being far past every default limit: 100,000 headers, 50 MB lines, 1,000-deep MIME.
"""

from __future__ import annotations

import base64
import os
import random
import threading
from collections.abc import Callable
from pathlib import Path

CRLF = b"\r\n"
BASE_HEADERS = (
    b"From: Microsoft <account-security-noreply@accountprotection.microsoft.com>\r\n"
    b"To: victim@example.org\r\n"
    b"Date: Tue, 20 May 2025 10:00:00 +0000\r\n"
    b"Message-ID: <patho@example.org>\r\n"
)


def simple(subject: bytes = b"hello", body: bytes = b"hi\r\n") -> bytes:
    return BASE_HEADERS + b"Subject: " + subject + CRLF + CRLF + body


# -- header abuse -----------------------------------------------------------------------------

def header_bomb(count: int = 100_000) -> bytes:
    """100,000 Received headers: a parser that is quadratic in header count shows it here."""
    hop = (b"Received: from h%d.example.net (h%d.example.net [192.0.2.%d]) by mx.example.org "
           b"with ESMTPS id %d; Tue, 20 May 2025 10:00:00 +0000\r\n")
    lines = [hop % (i, i, i % 250 + 1, i) for i in range(count)]
    return b"".join(lines) + simple()


def long_header_line(size: int = 50_000_000) -> bytes:
    """One Subject of ``size`` bytes, no folding."""
    return BASE_HEADERS + b"Subject: " + b"A" * size + CRLF + CRLF + b"body\r\n"


def long_folded_header(lines: int = 200_000) -> bytes:
    """One header folded over 200,000 continuation lines (unfolding must stay linear)."""
    return (BASE_HEADERS + b"Subject: start" + b"\r\n x" * lines + CRLF + CRLF + b"body\r\n")


def long_line_no_newline(size: int = 20_000_000) -> bytes:
    """A message that is one line: no header/body split anywhere."""
    return b"X-Junk: " + b"B" * size


def nul_bytes() -> bytes:
    return (b"From: Micro\x00soft <a\x00b@micro\x00soft.com>\r\nTo: \x00\r\n"
            b"Subject: nul\x00in\x00subject\r\nX-\x00Name: v\r\n\x00: empty name\r\n\r\n"
            + b"body\x00" * 10_000 + CRLF)


def invalid_utf8_headers() -> bytes:
    return (b"From: \xff\xfe\xc3\x28 <\xed\xa0\x80@\xc0\xafexample.com>\r\n"
            b"To: \xf8\x88\x80\x80\x80 <v@example.org>\r\n"
            b"Subject: \xe2\x28\xa1 lone surrogate \xed\xb2\x80 overlong \xc0\x80\r\n"
            b"Date: \xff\xff\xff\r\nMessage-ID: <\xfe@\xff>\r\n"
            b"Authentication-Results: \xff; dkim=pass header.d=\xfe\r\n"
            b"DKIM-Signature: v=1; a=rsa-sha256; d=\xff.com; s=\xfe; h=from; bh=\xff; b=\xfe\r\n"
            b"\r\nbody \xff\xfe\r\n")


def header_without_colons() -> bytes:
    return (b"this is not a header\r\n" * 1000 + b": no name\r\n" + b"Subject\r\n"
            + b" leading continuation\r\n" + simple())


def bare_cr_line_ends() -> bytes:
    return simple().replace(CRLF, b"\r") + b"\r" * 100_000


def mixed_line_ends() -> bytes:
    return b"\n".join([b"From: a@b.example\r", b"Subject: x\n\r", b"\r\r\n", b"body"] * 10_000)


def many_addresses(count: int = 10_000) -> bytes:
    to = b", ".join(b'"Name %d" <user%d@example.org>' % (i, i) for i in range(count))
    return BASE_HEADERS.replace(b"To: victim@example.org\r\n", b"To: " + to + CRLF) + \
        b"Subject: many\r\n\r\nbody\r\n"


def nested_comments(depth: int = 50_000) -> bytes:
    """RFC 5322 comments nest; a recursive parser runs out of stack here."""
    comment = b"(" * depth + b"x" + b")" * depth
    unbalanced = b"(" * depth + b"<a@b.example>"
    return (b"From: " + comment + b" <a@b.example>\r\nTo: " + unbalanced + CRLF
            + b"Received: from x " + comment + b" by y; Tue, 20 May 2025 10:00:00 +0000\r\n"
            + b"Subject: c\r\n\r\nbody\r\n")


def quoted_string_bomb(size: int = 1_000_000) -> bytes:
    return (b'From: "' + b'\\"' * size + b' <a@b.example>\r\nTo: "' + b"\\" * size + b"\r\n"
            b"Subject: q\r\n\r\nbody\r\n")


def received_garbage() -> bytes:
    lines = [b"Received: from from from by by by with with id id for for ;;;;\r\n",
             b"Received: " + b"[" * 10_000 + b"\r\n",
             b"Received: from a ([1.2.3.4.5.6] [::::::::] [999.999.999.999]) by b\r\n",
             b"Received: ; " + b"Tue, 99 Foo 99999999999 99:99:99 +9999" + b"\r\n",
             b"Received: from " + b"a." * 100_000 + b"example by b; Tue, 20 May 2025 10:00:00 +0000\r\n"]
    return b"".join(lines * 20) + simple()


# -- authentication header abuse --------------------------------------------------------------

def many_dkim_signatures(count: int = 2_000) -> bytes:
    """Each signature names a different selector: without a lookup budget, 2,000 DNS queries."""
    sigs = [b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com; "
            b"s=sel%d; h=from:to:subject; bh=RHI91NDg1Go8f6isolS2HCe2tXiflhd+gsgHAECfFTU=; "
            b"b=AAAA\r\n" % i for i in range(count)]
    return b"".join(sigs) + simple()


def many_arc_sets(count: int = 500) -> bytes:
    out = []
    for i in range(count, 0, -1):
        out.append(b"ARC-Seal: i=%d; a=rsa-sha256; cv=pass; d=ex%d.example; s=s; b=AAAA\r\n"
                   % (i, i))
        out.append(b"ARC-Message-Signature: i=%d; a=rsa-sha256; c=relaxed/relaxed; "
                   b"d=ex%d.example; s=s; h=from; bh=AAAA; b=AAAA\r\n" % (i, i))
        out.append(b"ARC-Authentication-Results: i=%d; ex%d.example; dkim=pass\r\n" % (i, i))
    return b"".join(out) + simple()


def authres_garbage() -> bytes:
    lines = [b"Authentication-Results: " + b"(" * 5_000 + b"\r\n",
             b"Authentication-Results: ;;;;;;;=;=;=;\r\n",
             b"Authentication-Results: x; dkim=" + b"pass " * 20_000 + b"\r\n",
             b"Authentication-Results: x; " + b"spf=pass smtp.mailfrom=a; " * 5_000 + b"\r\n",
             b'Authentication-Results: x; dkim=pass reason="' + b"\\" * 10_000 + b"\r\n",
             b"Authentication-Results: spf=pass (sender IP is \xff\xfe) "
             b"smtp.mailfrom=x; compauth=pass reason=" + b"9" * 10_000 + b"\r\n",
             b"Received-SPF: Pass (" + b"(" * 5_000 + b") client-ip=" + b"1" * 5_000 + b"\r\n",
             b"X-Forefront-Antispam-Report: " + b"CIP:;" * 20_000 + b"\r\n",
             b"DKIM-Signature: " + b"v=1;" * 50_000 + b"\r\n",
             b"DKIM-Signature: " + b"=" * 50_000 + b"\r\n",
             b"DKIM-Signature: v=1; d=a; s=b; h=" + b":" * 50_000 + b"; b=; bh=\r\n",
             b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=; l=99999999999999999999999; "
             b"t=-1; x=1e999; h=from; b=!!!; bh=???\r\n"]
    return b"".join(lines) + simple()


# -- RFC 2047 encoded words -------------------------------------------------------------------

def encoded_words_nested() -> bytes:
    inner = b"=?utf-8?B?" + base64.b64encode(b"=?utf-8?B?" + base64.b64encode(b"deep") + b"?=")
    outer = b"=?utf-8?Q?" + inner.replace(b"=", b"=3D") + b"?=?="
    return simple(subject=b"=?utf-8?B?" + base64.b64encode(outer) + b"?= " + outer
                  + b" =?=?utf-8?B?YQ==?=?B?=?=")


def encoded_words_malformed() -> bytes:
    subjects = [
        b"=?utf-8?B?!!!not base64!!!?=", b"=?utf-8?B?YWJj?=", b"=?utf-8?B?YW=Jj?=",
        b"=?x-unknown-charset-\xff?Q?abc?=", b"=?utf-7?B?" + base64.b64encode(b"+AGEAYgBj-") + b"?=",
        b"=?utf-8?X?abc?=", b"=??B?YWJj?=", b"=?utf-8??YWJj?=", b"=?utf-8?Q?=ZZ=?=",
        b"=?utf-8*en-us*fr?Q?abc?=", b"=?" + b"a" * 100_000 + b"?Q?abc?=",
        b"=?utf-32?B?" + base64.b64encode(b"\xff\xff\xff\xff" * 100) + b"?=",
        b"=?idna?Q?xn--?=", b"=?rot13?Q?nop?=", b"=?base64_codec?Q?abc?=",
        b"=?zlib_codec?B?" + base64.b64encode(b"x\x9c" + b"\x00" * 20) + b"?=",
        b"=?hex_codec?Q?zz?=", b"=?uu_codec?Q?abc?=", b"=?bz2_codec?B?QlpoOTFBWSZTWQ==?=",
        b"=?punycode?Q?abc?=", b"=?unicode_escape?Q?\\N{BOGUS}?=", b"=?raw_unicode_escape?Q?\\u12?=",
        b"=?utf-8?B?" + b"A" * 1_000_001 + b"?=",
    ]
    return (b"From: =?x-bogus?B?////?= <a@b.example>\r\nTo: =?utf-8?Q?" + b"=" * 1000 + b"?= <v@e.org>\r\n"
            + b"".join(b"Subject: " + s + CRLF for s in subjects)
            + b"Message-ID: <m@e>\r\n\r\nbody\r\n")


def encoded_words_many(count: int = 10_000) -> bytes:
    words = b" ".join(b"=?utf-8?B?" + base64.b64encode(f"w{i}\u202e".encode()) + b"?="
                      for i in range(count))
    return simple(subject=words).replace(b"From: Microsoft", b"From: " + words[:200_000])


# -- MIME abuse -------------------------------------------------------------------------------

def deep_multipart(depth: int = 1_000) -> bytes:
    """1,000 nested multipart/mixed parts, each with its own boundary."""
    head = [BASE_HEADERS + b"Subject: deep\r\nMIME-Version: 1.0\r\n"]
    opens = []
    closes = []
    for i in range(depth):
        opens.append(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
        closes.append(b"\r\n--b%d--\r\n" % i)
    leaf = b"Content-Type: text/plain\r\n\r\nleaf text\r\n"
    return head[0] + b"".join(opens) + leaf + b"".join(reversed(closes))


def many_parts(count: int = 20_000) -> bytes:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(count))
    return (BASE_HEADERS + b"Subject: parts\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' + parts + b"--b--\r\n")


def deep_rfc822(depth: int = 200) -> bytes:
    """Forwards inside forwards: each level is a message/rfc822 attachment."""
    msg = simple(subject=b"innermost")
    for i in range(depth):
        msg = (BASE_HEADERS + b"Subject: level %d\r\nMIME-Version: 1.0\r\n"
               b'Content-Type: multipart/mixed; boundary="r%d"\r\n\r\n--r%d\r\n'
               b"Content-Type: message/rfc822\r\n\r\n" % (i, i, i) + msg + b"\r\n--r%d--\r\n" % i)
    return msg


def base64_body_bomb(decoded: int = 30 * 1024 * 1024) -> bytes:
    """A text part that decodes past ``max_decoded_body_bytes``."""
    chunk = base64.encodebytes(b"Call +1 800 555 0100 now. " * 3000)
    body = chunk * (decoded // (26 * 3000) + 1)
    return (BASE_HEADERS + b"Subject: big\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; "
            b"charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body)


def html_bomb() -> bytes:
    html = (b"<div>" * 100_000 + b"<a href='http://evil.example/" + b"a" * 100_000 + b"'>x</a>"
            + b"<!--" * 10_000 + b"<script>" * 1000 + b"&#" + b"9" * 10_000 + b";"
            + b"<a href=" * 10_000)
    return (BASE_HEADERS + b"Subject: html\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html)


def bad_mime_params() -> bytes:
    return (BASE_HEADERS + b"Subject: params\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"\"; boundary*0=a; boundary*1=b;"
            b" x*99999999999=y; charset*=utf-8''%ff%fe%\r\n"
            b"Content-Transfer-Encoding: x-uuencode\r\n\r\n--\r\n--ab\r\n"
            b"Content-Type: text/plain; charset=\"\xff\"\r\nContent-Transfer-Encoding: quoted-printable"
            b"\r\n\r\n=ZZ=\r\n=" + b"=" * 100_000 + b"\r\n--ab--\r\n")


def no_boundary_end(parts: int = 5_000) -> bytes:
    return (BASE_HEADERS + b"Subject: x\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n'
            + b"--a\r\nContent-Type: multipart/mixed; boundary=\"a\"\r\n\r\n" * parts)


MESSAGES: dict[str, Callable[[], bytes]] = {
    "header-bomb-100k": header_bomb,
    "header-line-50mb": long_header_line,
    "folded-header-200k-lines": long_folded_header,
    "one-line-20mb": long_line_no_newline,
    "nul-bytes": nul_bytes,
    "invalid-utf8-headers": invalid_utf8_headers,
    "headers-without-colons": header_without_colons,
    "bare-cr": bare_cr_line_ends,
    "mixed-line-ends": mixed_line_ends,
    "many-addresses-10k": many_addresses,
    "nested-comments-50k": nested_comments,
    "quoted-string-bomb": quoted_string_bomb,
    "received-garbage": received_garbage,
    "dkim-signatures-2000": many_dkim_signatures,
    "arc-sets-500": many_arc_sets,
    "authres-garbage": authres_garbage,
    "encoded-words-nested": encoded_words_nested,
    "encoded-words-malformed": encoded_words_malformed,
    "encoded-words-10k": encoded_words_many,
    "multipart-depth-1000": deep_multipart,
    "multipart-parts-20k": many_parts,
    "rfc822-depth-200": deep_rfc822,
    "base64-body-30mb": base64_body_bomb,
    "html-bomb": html_bomb,
    "bad-mime-params": bad_mime_params,
    "multipart-never-closed": no_boundary_end,
    "empty": lambda: b"",
    "only-crlf": lambda: CRLF * 1000,
    "only-header-no-body": lambda: BASE_HEADERS,
    "binary-noise": lambda: random.Random(7).randbytes(1_000_000),
}


# -- containers and trees ---------------------------------------------------------------------

def mbox_with_from_lines(path: Path, messages: int = 200) -> int:
    """An mboxo file whose bodies hold unescaped "From " lines, some after blank lines and some
    looking like real separators. Returns how many real separators were written."""
    out = []
    for i in range(messages):
        out.append(b"From sender@example.org Tue May 20 10:00:00 2025\n")
        out.append(simple(subject=b"mbox %d" % i).replace(CRLF, b"\n"))
        out.append(b"From here on, prose.\n\nFrom the desk of the CEO\nFrom \n\n"
                   b"From nobody\n>From quoted Tue May 20 10:00:00 2025\n\n")
    out.append(b"From \n" * 1000)  # a broken tail: From_ lines with nothing after
    path.write_bytes(b"".join(out))
    return messages


def symlink_loop_tree(root: Path) -> int:
    """A directory with symlink loops (to itself, to its parent, a two-link cycle, a dangling
    link and a self-referencing file link) and two real messages. Returns the message count."""
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "m1.eml").write_bytes(simple(subject=b"m1"))
    (root / "a" / "b" / "m2.eml").write_bytes(simple(subject=b"m2"))
    os.symlink(root, root / "a" / "b" / "to-root")
    os.symlink(root / "a", root / "a" / "b" / "to-parent")
    os.symlink(root / "a", root / "a" / "self")
    os.symlink(root / "x2", root / "x1")
    os.symlink(root / "x1", root / "x2")
    os.symlink(root / "nowhere", root / "dangling")
    os.symlink(root / "selffile", root / "selffile")
    return 2


def maildir(root: Path, messages: int = 50) -> list[Path]:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(messages):
        sub, flags = ("cur", ":2,S") if i % 2 else ("new", "")
        p = root / sub / f"1716199200.{i}_{i}.host{flags}"
        p.write_bytes(simple(subject=b"maildir %d" % i))
        paths.append(p)
    return paths


class MaildirChurn:
    """Creates and deletes files in a Maildir's cur/ and new/ while a scan runs, the way a
    delivery agent and a mail client do. Files it did not create are left alone."""

    def __init__(self, root: Path, *, seed: int = 1) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.created = 0
        self.deleted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MaildirChurn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)

    def _run(self) -> None:
        n = 0
        while not self.stop.is_set():
            sub = self.rng.choice(("cur", "new"))
            p = self.root / sub / f"churn.{n}"
            try:
                p.write_bytes(simple(subject=b"churn %d" % n))
                self.created += 1
                # Only files this thread made vanish, so a test can still count the originals.
                victims = sorted((self.root / sub).glob("churn.*"))
                if victims:
                    self.rng.choice(victims).unlink()
                    self.deleted += 1
                if n % 3 == 0:  # a half-written file: truncated to nothing, then gone
                    p2 = self.root / sub / f"partial.{n}"
                    p2.write_bytes(b"")
                    p2.unlink()
            except OSError:
                pass
            n += 1
