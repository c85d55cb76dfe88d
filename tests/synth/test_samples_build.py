"""The bundled samples: rebuilt byte for byte, authenticated offline against their own DNS
snapshot, and the mbox and Maildir copies holding the same messages as the .eml files."""

from __future__ import annotations

import email
import mailbox
import re
from email.message import Message
from email.policy import compat32
from pathlib import Path

import dkim
import pytest

from mailaudit.dns.base import DnsOutcome, NotCaptured
from mailaudit.dns.snapshot import SnapshotResolver
from support.paths import REPO
from support.synth import build_sample_set
from support.synth.dnssnap import dkim_dnsfunc, spf_result
from support.synth.samples import REPORTED_SAMPLE, expected_verdicts

REPO = REPO
SAMPLES = REPO / "samples"
TAMPERED = "10-body-changed-after-delivery.eml"
ARC_SAMPLE = "09-forwarded-via-list-arc.eml"
FORGED = "18-forged-record-unsigned.eml"
PADDED = "19-padded-display-name-spoof.eml"

pytestmark = pytest.mark.skipif(not (SAMPLES / "dns.json").is_file(),
                                reason="samples/ not built; run scripts/make_samples.py")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _eml() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))}


@pytest.fixture(scope="module")
def resolver(samples_resolver: SnapshotResolver) -> SnapshotResolver:
    return samples_resolver


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build_sample_set(first, seed=2026)  # fresh keys
    build_sample_set(second, seed=2026, key_dir=first / "keys")
    a = {k: v for k, v in _files(first).items() if not k.startswith("keys/")}
    b = {k: v for k, v in _files(second).items() if not k.startswith("keys/")}
    assert a == b


def test_committed_samples_match_the_generator(tmp_path: Path) -> None:
    build_sample_set(tmp_path, seed=2026, key_dir=SAMPLES / "keys")
    built = {k: v for k, v in _files(tmp_path).items() if not k.startswith("keys/")}
    committed = {k: v for k, v in _files(SAMPLES).items() if not k.startswith("keys/")}
    stale = sorted(k for k in built.keys() | committed.keys() if built.get(k) != committed.get(k))
    assert stale == [], "samples/ is stale: python scripts/make_samples.py --seed 2026 --out samples/"


def test_samples_are_small_and_listed() -> None:
    files = _eml()
    assert list(files) == list(expected_verdicts())
    # The padded spoof is padded on purpose (2,100 header lines, past max_headers).
    assert all(len(raw) < (32_768 if name == PADDED else 16_384) for name, raw in files.items())
    assert sum(len(v) for v in _files(SAMPLES).values()) < 1_000_000
    readme = (SAMPLES / "README.md").read_text("utf-8")
    assert "synthetic" in readme and "test keys" in readme and "not" in readme
    for name, verdict in expected_verdicts().items():
        assert re.search(rf"`{re.escape(name)}` \| \*\*{re.escape(verdict)}\*\*", readme), name


def _signature_results(raw: bytes, resolver: SnapshotResolver) -> list[tuple[str, bool]]:
    msg = email.message_from_bytes(raw, policy=compat32)
    out = []
    for idx, value in enumerate(msg.get_all("DKIM-Signature", [])):
        d = re.search(r"\bd=([^;\s]+)", str(value))
        try:
            ok = bool(dkim.DKIM(raw).verify(idx=idx, dnsfunc=dkim_dnsfunc(resolver)))
        except dkim.DKIMException:
            ok = False
        out.append((d.group(1) if d else "", ok))
    return out


@pytest.mark.parametrize("name", list(expected_verdicts()))
def test_every_signature_verifies_offline(name: str, resolver: SnapshotResolver) -> None:
    results = _signature_results((SAMPLES / name).read_bytes(), resolver)
    if name == FORGED:
        assert results == []  # its signature was taken off; the record still says pass
        return
    assert results, "every sample is DKIM-signed"
    if name == TAMPERED:
        assert results == [("microsoft.com", False)]
    else:
        assert all(ok for _d, ok in results), results


@pytest.mark.parametrize("name", list(expected_verdicts()))
def test_recorded_dkim_results_are_true(name: str, resolver: SnapshotResolver) -> None:
    """The receiver's Authentication-Results say what recomputing says (except the tamper)."""
    raw = (SAMPLES / name).read_bytes()
    top = email.message_from_bytes(raw, policy=compat32)
    recorded = " ".join(str(v) for v in top.get_all("Authentication-Results", [])[:1])
    claimed = [(r, d.lower()) for r, d in
               re.findall(r"dkim=(\w+)(?:\s+\([^)]*\))?\s+header\.d=([\w.-]+)", recorded)]
    actual = [(d.lower(), ok) for d, ok in _signature_results(raw, resolver)]
    if name == TAMPERED:
        assert claimed == [("pass", "microsoft.com")] and actual == [("microsoft.com", False)]
        return
    if name == FORGED:
        assert claimed == [("pass", "microsoft.com")] and actual == []
        return
    assert sorted(claimed) == sorted(("pass" if ok else "fail", d) for d, ok in actual)


def test_arc_chain_validates(resolver: SnapshotResolver) -> None:
    raw = (SAMPLES / ARC_SAMPLE).read_bytes()
    cv, _results, reason = dkim.arc_verify(raw, dnsfunc=dkim_dnsfunc(resolver))
    assert cv == b"pass", reason
    top = str(email.message_from_bytes(raw, policy=compat32)["Authentication-Results"])
    assert "spf=fail" in top and "arc=pass" in top and "dmarc=pass" in top
    assert "spf=pass" in str(email.message_from_bytes(raw)["ARC-Authentication-Results"])


def test_report_forward_carries_sample_two() -> None:
    outer = email.message_from_bytes(_eml()["12-user-report-phish-forward.eml"], policy=compat32)
    attached = [p for p in outer.walk() if p.get_content_type() == "message/rfc822"]
    assert len(attached) == 1
    reported = next(raw for name, raw in _eml().items()
                    if name.startswith(f"{REPORTED_SAMPLE:02d}-"))
    assert reported in _eml()["12-user-report-phish-forward.eml"]


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def test_mbox_holds_the_same_messages() -> None:
    box = mailbox.mbox(str(SAMPLES.parent / "samples-mailboxes" / "samples.mbox"), create=False)
    try:
        messages = [_lf(box.get_bytes(key)) for key in box.iterkeys()]
    finally:
        box.close()
    assert messages == [_lf(raw) for raw in _eml().values()]


def test_maildir_holds_the_same_messages() -> None:
    root = SAMPLES.parent / "samples-mailboxes" / "maildir"
    box = mailbox.Maildir(str(root), factory=None, create=False)
    messages = sorted(_lf(box.get_bytes(key)) for key in box.iterkeys())
    assert messages == sorted(_lf(raw) for raw in _eml().values())
    assert {p.parent.name for p in root.rglob("*") if p.is_file()} == {"cur", "new"}


def _domain_of(value: str) -> str:
    return value.rpartition("@")[2].strip(" <>").lower()


@pytest.mark.parametrize("name", list(expected_verdicts()))
def test_snapshot_answers_every_lookup(name: str, resolver: SnapshotResolver) -> None:
    """No lookup an audit makes for this sample meets a name the snapshot does not mention:
    DKIM and ARC keys, SPF (with includes), the DMARC tree walk (RFC 9989) up to the top-level
    domain, and forward-confirmed reverse DNS of the sending IPs."""
    raw = (SAMPLES / name).read_bytes()
    msg = email.message_from_bytes(raw, policy=compat32)
    parts: list[Message] = [msg]
    for p in msg.walk():
        inner = p.get_payload(0) if p.get_content_type() == "message/rfc822" else None
        if isinstance(inner, Message):
            parts.append(inner)
    names: set[str] = set()
    domains: set[str] = set()
    ips: set[str] = set()
    for part in parts:
        for header in ("DKIM-Signature", "ARC-Seal", "ARC-Message-Signature"):
            for value in part.get_all(header, []):
                d = re.search(r"\bd=([^;\s]+)", str(value))
                s = re.search(r"\bs=([^;\s]+)", str(value))
                assert d and s
                names.add(f"{s.group(1)}._domainkey.{d.group(1)}")
                domains.add(d.group(1).lower())
        domains.update(_domain_of(str(v)) for v in part.get_all("From", []))
        domains.update(_domain_of(str(v)) for v in part.get_all("Return-Path", []))
        for value in part.get_all("Received", []):
            ips.update(re.findall(r"[\[(](\d+\.\d+\.\d+\.\d+)[\])]", str(value)))
    for domain in domains:
        labels = domain.split(".")
        names.update("_dmarc." + ".".join(labels[i:]) for i in range(len(labels)))
    missing = []
    for qname in sorted(names):
        try:
            resolver.txt(qname)
        except NotCaptured:
            missing.append(qname)
        except DnsOutcome:
            pass
    for domain in domains:
        for ip in ips:
            spf_result(resolver, domain, ip)  # raises nothing; NotCaptured shows as "none"
        try:
            resolver.txt(domain)
        except NotCaptured:
            missing.append(domain)
        except DnsOutcome:
            pass
    import ipaddress

    for ip in ips:
        if ipaddress.ip_address(ip).is_private:
            continue  # receivers' internal hops are never looked up
        try:
            for host in resolver.ptr(ipaddress.ip_address(ip).reverse_pointer):
                resolver.a(host)
        except NotCaptured:
            missing.append(ip)
    assert missing == []
