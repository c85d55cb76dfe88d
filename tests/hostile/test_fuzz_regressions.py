"""Every crash or hang the fuzzer (fuzz/fuzz_audit.py) found, as a small input built here.

A hang cannot be caught in-process without the very alarm the bug defeats, and some of these
loops allocate without bound, so each case runs in a child Python with a wall-time and an
address-space limit. Cases for bugs not fixed yet are ``xfail(strict=True)``: when the owner
fixes the module, the test starts passing and strict mode makes the suite say so.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from support.paths import REPO

CHILD_SECONDS = 10.0
CHILD_MEMORY = 1024 * 1024 * 1024


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def finishes(code: str, *, seconds: float = CHILD_SECONDS) -> tuple[bool, str]:
    """Run ``code`` in a child interpreter; (finished cleanly in time, what it said)."""
    try:
        # The code goes in on stdin: inputs of several hundred KB exceed one argv string's limit.
        proc = subprocess.run([sys.executable, "-"], input=textwrap.dedent(code).encode("utf-8"),
                              capture_output=True, timeout=seconds, preexec_fn=_limit_memory,
                              cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        return False, f"still running after {seconds:g} s"
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")[-2000:]
    return proc.returncode == 0, out


AUDIT = """
from mailaudit.audit import audit_message
from mailaudit.dns.snapshot import SnapshotResolver
r = audit_message({raw!r}, resolver=SnapshotResolver({{}}))
assert r.error is None or r.error.code != "internal-error", r.error
print(r.verdict)
"""


# -- recorded_parse.tokenize: an unmatched ")" was never consumed (fixed) --------------------
# The word branch stopped at ")" without advancing, so the loop appended empty words forever
# (unbounded memory as well as time). Found as fuzz/crashes/b56d4a1c…, fc0859fc…, 012b110a….

def test_authres_tokenizer_unmatched_close_paren() -> None:
    ok, said = finishes("""
        from mailaudit.parse.authres import tokenize
        tokenize("a)")
    """)
    assert ok, said


def test_audit_authres_unmatched_close_paren() -> None:
    raw = (b"Authentication-Results: mx.example.org; dmarc=pass ip=REJECT) "
           b"header.from=example.com\r\nFrom: a@example.com\r\nSubject: x\r\n\r\nbody\r\n")
    ok, said = finishes(AUDIT.format(raw=raw))
    assert ok, said


def test_audit_received_spf_unmatched_close_paren() -> None:
    raw = (b"Received-SPF: Pass) client-ip=192.0.2.1\r\nFrom: a@example.com\r\n"
           b"Subject: x\r\n\r\nbody\r\n")
    ok, said = finishes(AUDIT.format(raw=raw))
    assert ok, said


# -- dkim_fast.split_message: quadratic joining of continuation lines (fixed) -------------------
# ``headers[-1][1] += line`` copied the field so far for every continuation line; a 6 MB field
# of 200,000 short lines took minutes. parse_message caps a field at max_header_bytes, but the
# DKIM view re-splits the raw bytes without that cap. Found as fuzz/crashes/bd8c9b81….

def test_dkim_split_many_continuation_lines() -> None:
    ok, said = finishes("""
        from mailaudit.checks.dkim.fast import split_message
        raw = b"From: a@b.example\\r\\nSubject: x" + b"\\r\\n 8d" * 200_000 + b"\\r\\n\\r\\nbody\\r\\n"
        split_message(raw)
    """, seconds=5.0)
    assert ok, said


def test_audit_signed_message_with_huge_folded_header() -> None:
    raw = (b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA\r\n"
           b"From: a@example.com\r\nX-Long: x" + b"\r\n 8d" * 200_000 + b"\r\n\r\nbody\r\n")
    ok, said = finishes(AUDIT.format(raw=raw))
    assert ok, said


# -- parse/body.py _message_bytes: attached messages re-serialised through email.generator (fixed)
# BytesGenerator folded every header again (email.header's splitter recomputes the line length
# per chunk: quadratic), so an attached message with one long comma-separated header is slow:
# 15 KB 0.6 s, 30 KB 2.3 s, 60 KB 9.2 s, and a 2.6 MB fuzzed message did not finish in 30 s.
# Suggested fix: slice the attached message's original bytes instead of re-serialising.
# Found as fuzz/crashes/147fd05f….

def _forward(inner: bytes) -> bytes:
    return (b"From: c@d.example\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b--\r\n")


def test_attached_message_with_long_header() -> None:
    inner = b"From: a@b.example\r\nTo: " + b"x, " * 20_000 + b"\r\nSubject: s\r\n\r\nbody\r\n"
    ok, said = finishes(f"""
        from mailaudit.parse import parse_message
        parse_message({_forward(inner)!r}).body()
    """, seconds=4.0)
    assert ok, said



# -- DKIM: every copy of a signature was verified, each verify rescanning all headers (fixed) --
# A valid signature copied 200,000 times (8 MB) held one message for hours: check_dkim walked
# every DKIM-Signature of the raw message (max_headers does not apply to the DKIM view), and
# each verify rescanned the header block (quadratic). 1,000 copies 0.6 s, 2,000 1.2 s, 4,000
# 4.0 s. At most Limits.max_signatures are now verified, with the finding limit-signatures for
# the rest. Found as fuzz/crashes/4ddfeabb….

SIGNED_COPIES = """
import base64, time
import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mailaudit.audit import audit_message
from mailaudit.dns.snapshot import SnapshotResolver

key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                        serialization.NoEncryption())
der = key.public_key().public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
msg = b"From: a@example.com\\r\\nTo: b@example.org\\r\\nSubject: s\\r\\n\\r\\nbody\\r\\n"
sig = dkim.sign(msg, b"s", b"example.com", pem, include_headers=[b"from", b"subject"])
resolver = SnapshotResolver({{"s._domainkey.example.com": {{"TXT": [
    "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()]}}}})
raw = sig * {copies} + msg
started = time.perf_counter()
r = audit_message(raw, resolver=resolver)
elapsed = time.perf_counter() - started
results = r.auth.recomputed_of("dkim")
print(elapsed, len(results), {{c.result for c in results}})
assert results and results[0].result == "pass", results[:1]
assert elapsed < {seconds}, elapsed
assert len(results) <= 2000, len(results)  # no more than Limits.max_headers signatures
"""


def test_many_copies_of_a_valid_signature() -> None:
    ok, said = finishes(SIGNED_COPIES.format(copies=8_000, seconds=5.0), seconds=60.0)
    assert ok, said


def test_a_few_copies_of_a_valid_signature() -> None:
    """Control for the case above: the child really verifies (pass) and is quick when small."""
    ok, said = finishes(SIGNED_COPIES.format(copies=20, seconds=5.0), seconds=60.0)
    assert ok, said


# -- parse.body: the stdlib's MIME parameter reader is quadratic in a field's length (fixed) ---
# email.message._parseparam re-slices the rest of the field after every ";" and recounts quotes
# from its start. A part whose Content-Type held 200,000 parameters (4 MB; and a 7 MB one with
# an unclosed quote) held an audit past its 30 s budget. Every field the stdlib parser reads is
# now cut at parse.body.MAX_MIME_FIELD_CHARS, with the finding limit-mime-field.
# Found as fuzz/crashes/54851eab…, 7bba02ef….

MIME_PARAMS = """
from mailaudit.audit import audit_message
from mailaudit.dns.snapshot import SnapshotResolver
part = {param!r} * 200_000
raw = ("From: a@example.com\\r\\nSubject: s\\r\\nMIME-Version: 1.0\\r\\n"
       "Content-Type: multipart/alternative; boundary=b\\r\\n\\r\\n"
       "--b\\r\\nContent-Type: text/plain\\r\\n\\r\\nhello\\r\\n"
       "--b\\r\\nContent-Type: text/html; " + part + "\\r\\n\\r\\n<p>x</p>\\r\\n--b--\\r\\n")
msg = audit_message(raw.encode(), resolver=SnapshotResolver({{}}))
from mailaudit.parse import parse_message
body = parse_message(raw.encode()).body()
assert "hello" in body.text, body.text
codes = [f.code for f in body.findings]
assert "limit-mime-field" in codes, codes
print(msg.verdict)
"""


@pytest.mark.parametrize("param", ["charset: text/html; ", 'charset="u'],
                         ids=["many-parameters", "unclosed-quotes"])
def test_mime_field_of_200000_parameters(param: str) -> None:
    ok, said = finishes(MIME_PARAMS.format(param=param), seconds=20.0)
    assert ok, said


# -- checks.spf: pyspf reads a domain-spec in time quadratic in its length (fixed) -----------
# Its top-label pattern backtracks over every split of a long run of letters that more of the
# name follows (a 60,000-letter label in one TXT answer: past the fuzzer's 5 s budget, about
# 80 s by the square), and its
# macro check searches the whole text once per label (60,000 dots before "%{d}": 102 s).
# checks.spf now reads both in linear time, with pyspf's results. Found as
# fuzz/crashes/c7d67320…; the dots case by a stress run of the same shapes.

SPF_RECORD = """
from mailaudit.audit import audit_message
from mailaudit.dns.snapshot import SnapshotResolver
raw = (b"Return-Path: <user@example.org>\\r\\n"
       b"Received: from mail.example.org (mail.example.org [192.0.2.1]) by mx.example.net; "
       b"Thu, 3 Dec 2026 10:00:00 +0000\\r\\n"
       b"From: user@example.org\\r\\nTo: b@example.net\\r\\nSubject: s\\r\\n\\r\\nbody\\r\\n")
resolver = SnapshotResolver({{"example.org": {{"TXT": [{record!r}]}}}}, complete=True)
r = audit_message(raw, resolver=resolver)
assert r.error is None, r.error
spf = r.auth.recomputed_of("spf")
assert [c.result for c in spf] == [{result!r}], [(c.result, c.reason[:80]) for c in spf]
print(r.verdict)
"""


@pytest.mark.parametrize(("record", "result"), [
    ("v=spf1 include:_spf1-meo.micr" + "a" * 60_000 + ".com -all", "permerror"),
    ("v=spf1 a:" + "." * 60_000 + "%{d} -all", "fail"),
], ids=["long-label", "many-dots-then-macro"])
def test_spf_record_with_a_60000_character_domain_spec(record: str, result: str) -> None:
    ok, said = finishes(SPF_RECORD.format(record=record, result=result))
    assert ok, said


# -- controls: the child harness itself works, so the xfails above fail for their bug ---------

def test_child_harness_runs_the_pipeline() -> None:
    raw = (b"Authentication-Results: mx.example.org; dmarc=pass (p=REJECT) "
           b"header.from=example.com\r\nReceived-SPF: Pass (x) client-ip=192.0.2.1\r\n"
           b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA\r\n"
           b"From: a@example.com\r\nX-Long: x" + b"\r\n 8d" * 2_000 + b"\r\n\r\nbody\r\n")
    ok, said = finishes(AUDIT.format(raw=raw))
    assert ok, said


def test_child_harness_reports_a_hang() -> None:
    ok, said = finishes("while True: pass", seconds=1.0)
    assert not ok and "still running" in said
