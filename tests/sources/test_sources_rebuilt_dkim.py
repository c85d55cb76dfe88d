"""Outlook input (PST, .msg) is rebuilt from MAPI properties: the transport headers are kept,
the body is made again from the stored bodies, so no DKIM body hash can match. A body-hash
mismatch on such a message is no proof of tampering: DKIM says neutral and why, and the
message is judged on the rest of the evidence (the trusted receiver's record), never
``spoofed`` only because of the rebuild.

The rebuilt message is made the way the readers make it (sources.mapi) from a genuine sample
of the project's generator; the corpus files check that both readers mark what they rebuild.
"""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest

from mailaudit.audit import audit_item
from mailaudit.dns import make_resolver
from mailaudit.dns.base import Resolver
from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import AuditResult, MessageRef, RawMessage, Verdict
from mailaudit.options import AuditOptions, Limits
from mailaudit.sources import iter_messages, mapi, pst
from mailaudit.templates.catalog import load_catalog
from support.paths import CORPORA, SAMPLES

GENUINE = SAMPLES / "01-entra-verification-code-genuine.eml"
PST = CORPORA / "mail" / "pst" / "support.pst"
SIGNED_MSG = CORPORA / "mail" / "msgreader" / "test" / "newOutlook Microsoft Outlook test.msg"


def _rebuilt(raw: bytes) -> bytes:
    """What a PST/.msg reader yields for this message: its header section as saved transport
    headers, then a MIME body made again from the plain and HTML bodies."""
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    parsed = email.message_from_bytes(raw, policy=policy.default)
    parts = []
    for kind in ("plain", "html"):
        part = parsed.get_body((kind,))
        if part is not None:
            text = part.get_content()
            parts.append(mapi.leaf(f'text/{kind}; charset="utf-8"', text.encode("utf-8")))
    built = mapi.transport_head(head.decode("utf-8", "surrogateescape"), "pst-transport-headers")
    return built + mapi.mime_message(mapi.alternatives(parts), [])


def _world(kind: str) -> Resolver:
    if kind == "offline":  # no DNS at all: only the body hash can be checked
        return make_resolver(snapshot=None, offline=True)
    # The samples' DNS without the sender's SPF record: DMARC rests on DKIM alone, as for
    # mail whose envelope does not align (forwarded, or sent through another service).
    doc = json.loads((SAMPLES / "dns.json").read_text("utf-8"))
    doc["records"]["microsoftonline.com"] = {"TXT": []}
    return SnapshotResolver.from_document(doc)


def _audit(data: bytes, world: str, *, rebuilt: bool) -> AuditResult:
    findings = (mapi.rebuilt_finding(pst.REBUILT_CODE, "the PST"),) if rebuilt else ()
    item = RawMessage(MessageRef("rebuilt.pst", "pst:Inbox#0"), data, findings=findings,
                      rebuilt=rebuilt)
    [result] = audit_item(item, resolver=_world(world), catalog=load_catalog(),
                          options=AuditOptions())
    return result


@pytest.mark.parametrize("world", ["offline", "dkim-only"])
def test_genuine_mail_rebuilt_from_a_pst_is_not_spoofed(world: str) -> None:
    original = _audit(GENUINE.read_bytes(), world, rebuilt=False)
    assert original.verdict is Verdict.AUTHENTIC, original.reason
    result = _audit(_rebuilt(GENUINE.read_bytes()), world, rebuilt=True)
    [dkim] = [c for c in result.auth.recomputed if c.method == "dkim"]
    assert (dkim.result, dkim.failure, dkim.body_hash) == ("neutral", "body-rebuilt", "fail")
    assert "rebuilt" in dkim.reason and not dkim.conclusive
    assert result.verdict is Verdict.AUTHENTIC, result.reason
    assert "receiver mx.contoso-mail.example recorded dmarc=pass" in result.reason
    assert not any(r.contradicted for r in result.auth.recorded)
    assert "pst-body-rebuilt" in [f.code for f in result.findings]
    assert not any(f.code == "disagree-dkim" for f in result.findings)


@pytest.mark.parametrize("world", ["offline", "dkim-only"])
def test_the_same_bytes_as_plain_mail_still_prove_the_body_changed(world: str) -> None:
    # Only the reader says a body was rebuilt: bytes from a file, or a header in them
    # (the transport headers are the sender's text), never make a mismatch inconclusive.
    data = _rebuilt(GENUINE.read_bytes())
    assert b"X-Mailaudit-Source: pst-transport-headers" in data
    result = _audit(data, world, rebuilt=False)
    [dkim] = [c for c in result.auth.recomputed if c.method == "dkim"]
    assert (dkim.result, dkim.failure) == ("fail", "body-hash") and dkim.conclusive
    assert result.verdict in (Verdict.SPOOFED, Verdict.UNAUTHENTICATED), result.reason
    assert any(r.contradicted for r in result.auth.recorded)


def _need(path: Path, module: str) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not present; this test needs the shared development corpora")
    pytest.importorskip(module, reason=f"{module} is not installed (the Outlook extras)")


def test_the_readers_mark_what_they_rebuild() -> None:
    _need(PST, "pypff")
    _need(SIGNED_MSG, "olefile")
    for path, code in ((PST, "pst-body-rebuilt"), (SIGNED_MSG, "msg-body-rebuilt")):
        items = list(iter_messages([str(path)], limits=Limits()))
        assert items and all(isinstance(i, RawMessage) and i.rebuilt for i in items), path
        assert all(code in [f.code for f in i.findings] for i in items  # type: ignore[union-attr]
                   ), path


def test_a_signed_msg_from_the_corpus_gets_neutral_dkim_not_fail() -> None:
    _need(SIGNED_MSG, "olefile")
    [item] = list(iter_messages([str(SIGNED_MSG)], limits=Limits()))
    assert isinstance(item, RawMessage)
    [result] = audit_item(item, resolver=_world("offline"), catalog=None,
                          options=AuditOptions())
    dkim = [c for c in result.auth.recomputed if c.method == "dkim"]
    assert dkim and all(c.failure != "body-hash" for c in dkim)
    assert any(c.failure == "body-rebuilt" and c.result == "neutral" for c in dkim), dkim
