"""Recorded authentication: the Authentication-Results parser against the authres suite and
the authentication_milter headers, Microsoft's id-less form, and which results are trusted."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.checks.recorded.exchange import parse_colon_list
from mailaudit.checks.recorded.trust import read_recorded
from mailaudit.model import CheckResult
from mailaudit.parse import parse_message
from mailaudit.parse.authres import (
    ParsedResults,
    parse_authentication_results,
    parse_received_spf,
    split_arc_instance,
)
from support.paths import CORPORA
from support.recorded_samples import EXCHANGE_ONLINE, GMAIL_WITH_UPSTREAM, MS_AR

CORPORA = CORPORA
AUTHRES = CORPORA / "authres" / "authres_cases.json"
MILTER = CORPORA / "dmarc" / "authentication_milter" / "data" / "example"


def _authres_cases() -> list[Any]:
    if not AUTHRES.exists():
        return [pytest.param(None, id="absent")]
    cases = json.loads(AUTHRES.read_text())["cases"]
    return [pytest.param(c, id=f"lineno-{c['lineno']}") for c in cases]


# Cases authres rejects with a syntax error. We read both leniently, on purpose, and report a
# malformed finding: RFC 8601 §2.2 makes pvalue a token (RFC 2045 §5.1, no ":"), but the value
# is unambiguous (lineno 578); lineno 753 is the shape Hotmail/Exchange write (authserv-id
# repeated after each result), which a Microsoft-tolerant reader must accept (RFC 8601 §5
# allows receivers to ignore what they cannot read; ignoring every Exchange header would lose
# the only record of what Microsoft saw).
EXPECTED_DEVIATIONS = {
    578: ({"authserv_id": "mail.bmsi.com",
           "results": [("iprev", "pass", {"policy.iprev": "2001:748:100:40::2:2"}),
                       ("spf", "none", {"smtp.mailfrom": "markuslaudi@freenet.de"})]},
          "not a token"),
    753: ({"authserv_id": "thehesiod.com",
           "results": [("dkim", "none", {"header.d": "none"}),
                       ("dmarc", "none", {"header.from": "hotmail.com", "action": "none"})]},
          "authserv-id repeated"),
}


def _header_value(line: str) -> str:
    return line.split(":", 1)[1]


def _dotted(check: CheckResult) -> list[tuple[str, str, str]]:
    out = []
    for key, value in check.props.items():
        if "." in key and key != "arc.i":
            ptype, prop = key.split(".", 1)
            out.append((ptype, prop, str(value)))
    return out


def _serialise(check: CheckResult) -> str:
    def q(v: str) -> str:
        return f'"{v}"' if any(c in ' ()<>,;:\\"[]?=' for c in v) else v

    parts = [f"{check.method}={check.result}"]
    if check.reason:
        parts.append(f'reason="{check.reason}"')
    parts += [f"{t}.{p}={q(v)}" for t, p, v in _dotted(check)]
    return " ".join(parts)


_PATH = re.compile(r"results\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\])?(?:\.(\w+))?$")


def _lookup(parsed: ParsedResults, path: str) -> str:
    if path == "authserv_id":
        return str(parsed.authserv_id)
    m = _PATH.match(path)
    assert m, f"unknown expectation path {path}"
    check = parsed.results[int(m.group(1))]
    attr, idx, sub = m.group(2), m.group(3), m.group(4)
    if attr is None:
        return _serialise(check)
    if attr in ("method", "result"):
        return getattr(check, attr)  # type: ignore[no-any-return]
    if attr == "reason":
        return check.reason or "None"
    if attr == "properties":
        ptype, prop, value = _dotted(check)[int(idx)]
        return {"type": ptype, "name": prop, "value": value}[sub]
    key = attr.replace("_", ".", 1)  # smtp_mailfrom -> smtp.mailfrom
    value = check.props.get(key)
    return "None" if value is None else str(value)


@pytest.mark.parametrize("case", _authres_cases())
def test_authres_suite(case: dict[str, Any] | None) -> None:
    if case is None:
        pytest.skip("../shared/corpora not present; authres suite not run")
    parsed = parse_authentication_results(_header_value(case["header"]))
    if case["lineno"] in EXPECTED_DEVIATIONS:
        expected, problem = EXPECTED_DEVIATIONS[case["lineno"]]
        assert case["error"], "deviation listed for a case authres accepts"
        assert parsed.authserv_id == expected["authserv_id"]
        got = [(r.method, r.result, {k: v for k, v in r.props.items() if k != "comment"})
               for r in parsed.results]
        assert got == expected["results"]
        assert any(problem in p for p in parsed.problems), parsed.problems
        return
    assert case["error"] is None
    assert not parsed.problems
    for path, want in case["expected"].items():
        assert _lookup(parsed, path) == want, path
    for check in case.get("other_checks", []):
        source, output = check["source"], check["output"]
        if source.startswith("for result in arobj.results"):
            pairs = [(r.method, r.result) for r in parsed.results]
            want = [x.strip("'") for x in output.split("\n")]
            assert [x for p in pairs for x in p] == want
        elif "AttributeError" in source:
            # authres only adds ptype_property accessors for methods it registers; for x-tls
            # (lineno 711) the AttributeError says nothing about the property itself, which
            # the case's own "expected" lists. Otherwise it means the property is absent.
            attr = re.search(r"results\[0\]\.(\w+)", source)
            assert attr is not None
            key = attr.group(1).replace("_", ".", 1)
            listed = key.split(".", 1)[1] in case["expected"].values()
            if not listed:
                assert _lookup(parsed, f"results[0].{attr.group(1)}") == "None"
        else:
            attr = re.search(r"results\[(\d+)\]\.(\w+)", source)
            assert attr is not None
            assert repr(_lookup(parsed, f"results[{attr.group(1)}].{attr.group(2)}")) == output


def _milter_files() -> list[Any]:
    if not MILTER.exists():
        return [pytest.param(None, id="absent")]
    return [pytest.param(p, id=p.name) for p in sorted(MILTER.glob("*.eml"))]


@pytest.mark.parametrize("path", _milter_files())
def test_authentication_milter_headers(path: Path | None) -> None:
    if path is None:
        pytest.skip("../shared/corpora not present; authentication_milter headers not read")
    msg = parse_message(path.read_bytes())
    ars = [h for h in msg.headers if h.lname == "authentication-results"]
    if not ars:
        # Rejected deliveries ("Message rejected with code : 550 ...") and cases whose handler
        # adds no header: nothing to read, but the file must still parse without error.
        return
    ids = set()
    for h in ars:
        parsed = parse_authentication_results(h.value)
        assert parsed.authserv_id
        ids.add(parsed.authserv_id)
        for r in parsed.results:
            assert re.fullmatch(r"[a-z0-9-]+", r.method), r
            assert r.result
    # The milter tests use authserv-id test.module, its SMTP front-end tests
    # server.example.com; other ids are upstream headers the cases carry on purpose.
    own = ids & {"test.module", "server.example.com"}
    if not own:
        return
    wanted = "test.module" if "test.module" in own else "server.example.com"
    recorded = read_recorded(msg, trust_authserv_ids=[wanted])
    trusted = [r for r in recorded.results if r.trusted and r.header == "Authentication-Results"]
    assert trusted and all(r.authserv_id == wanted for r in trusted)


def test_authentication_milter_corpus_has_test_module() -> None:
    if not MILTER.exists():
        pytest.skip("../shared/corpora not present; authentication_milter headers not read")
    count = sum(
        1 for p in MILTER.glob("*.eml")
        for h in parse_message(p.read_bytes()).headers
        if h.lname == "authentication-results"
        and parse_authentication_results(h.value).authserv_id == "test.module")
    assert count >= 20


def test_milter_dmarc_policy_properties() -> None:
    value = (" test.module;\n    dkim=none (no signatures found);\n    dmarc=fail "
             "policy.published-domain-policy=reject policy.applied-disposition=quarantine "
             "(p=reject,d=quarantine) policy.policy-from=p header.from=goestheweasel.com;\n"
             "    iprev=fail smtp.remote-ip=123.123.123.123 (NOT FOUND);\n    senderid=permerror;\n"
             '    x-ptr=fail smtp.helo=bad.name.google.com policy.ptr=""')
    parsed = parse_authentication_results(value)
    assert [r.method for r in parsed.results] == ["dkim", "dmarc", "iprev", "senderid", "x-ptr"]
    dmarc = parsed.results[1]
    assert dmarc.props["policy.applied-disposition"] == "quarantine"
    assert dmarc.props["header.from"] == "goestheweasel.com"
    assert dmarc.props["comment"] == "p=reject,d=quarantine"
    assert parsed.results[4].props["policy.ptr"] == ""
    assert not parsed.problems


# --- Microsoft ------------------------------------------------------------------------------

def test_microsoft_idless_form() -> None:
    parsed = parse_authentication_results(MS_AR)
    assert parsed.authserv_id is None
    assert [(r.method, r.result) for r in parsed.results] == [
        ("spf", "pass"), ("dkim", "pass"), ("dmarc", "pass"), ("compauth", "pass")]
    assert parsed.results[0].props["comment"] == "sender IP is 40.107.22.52"
    assert parsed.results[2].props["action"] == "none"
    assert parsed.results[3].reason == "100"
    assert not parsed.problems


def test_microsoft_quoted_and_bare_reason() -> None:
    parsed = parse_authentication_results(
        'compauth=fail reason="601 spoof"; dkim=fail (body hash did not verify) header.d=x.com')
    assert parsed.results[0].reason == "601 spoof"
    assert parsed.results[1].props["comment"] == "body hash did not verify"


def test_exchange_message_trust_envelope_and_headers() -> None:
    rec = read_recorded(parse_message(EXCHANGE_ONLINE))
    assert rec.trusted_ids == ("",)
    trusted = [(r.header, r.check.method) for r in rec.results if r.trusted]
    assert ("Authentication-Results", "compauth") in trusted
    assert ("Received-SPF", "spf") in trusted
    forged = [r for r in rec.results if r.authserv_id == "forged.example"]
    assert forged and not any(r.trusted for r in forged)
    assert rec.envelope is not None
    assert rec.envelope.ip == "40.107.22.52"
    assert rec.envelope.source == "received-spf"
    assert rec.envelope.helo == "EUR05-DB8-obe.outbound.protection.outlook.com"
    ms = rec.microsoft
    assert ms["CIP"] == "40.107.22.52" and ms["SFV"] == "NSPM" and ms["SCL"] == "1"
    assert ms["AuthAs"] == "Anonymous" and ms["BCL"] == "0" and ms["CAT"] == "NONE"
    assert ms["compauth"] == "pass" and ms["compauth_reason"] == "100"


def test_exchange_envelope_from_ar_comment_and_forefront() -> None:
    raw = EXCHANGE_ONLINE.replace(b"Received-SPF:", b"X-Old-Received-SPF:")
    rec = read_recorded(parse_message(raw))
    assert rec.envelope is not None
    assert (rec.envelope.ip, rec.envelope.source) == ("40.107.22.52", "authentication-results")
    raw = raw.replace(b"(sender IP is 40.107.22.52) ", b"")
    rec = read_recorded(parse_message(raw))
    assert rec.envelope is not None
    assert rec.envelope.source == "x-forefront"
    assert rec.envelope.helo == "EUR05-DB8-obe.outbound.protection.outlook.com"


def test_microsoft_headers_ignored_when_not_received_by_microsoft() -> None:
    raw = GMAIL_WITH_UPSTREAM.replace(
        b"From: a@example.org\n",
        b"From: a@example.org\nX-Forefront-Antispam-Report: CIP:203.0.113.9;SFV:NSPM;\n")
    rec = read_recorded(parse_message(raw))
    assert rec.microsoft == {}
    assert any(f.code == "ms-headers-untrusted" for f in rec.findings)
    assert rec.envelope is not None and rec.envelope.ip == "192.0.2.7"


def test_colon_list_keeps_ipv6() -> None:
    assert parse_colon_list("CIP:2a01:111:f400:7e1a::52;SFV:SPM;;junk")["CIP"] == \
        "2a01:111:f400:7e1a::52"


# --- Trust selection ------------------------------------------------------------------------

def test_upstream_ar_lower_in_message_is_untrusted() -> None:
    rec = read_recorded(parse_message(GMAIL_WITH_UPSTREAM))
    assert rec.trusted_ids == ("mx.google.com",)
    by_index = {(r.header_index, r.check.method): r.trusted for r in rec.results}
    assert by_index[(2, "dmarc")] is True
    assert by_index[(5, "spf")] is False  # relay.example.net, below Google's inbound hop
    # The same authserv-id as the receiver, but below an upstream hop: a forgery.
    assert by_index[(7, "dkim")] is False
    aar = [r for r in rec.results if r.header == "ARC-Authentication-Results"]
    assert aar and all(not r.trusted and r.check.props["arc.i"] == 1 for r in aar)


def test_trust_authserv_id_picks_the_named_block() -> None:
    rec = read_recorded(parse_message(GMAIL_WITH_UPSTREAM),
                        trust_authserv_ids=["RELAY.example.net"])
    assert rec.trusted_ids == ("relay.example.net",)
    assert {r.header_index for r in rec.results if r.trusted
            and r.header == "Authentication-Results"} == {5}


def test_top_ar_below_foreign_hop_is_not_trusted() -> None:
    raw = (b"Received: from x.example (x.example [192.0.2.1]) by mx.receiver.example; "
           b"Mon, 3 Jun 2024 10:00:00 +0000\n"
           b"Authentication-Results: mx.google.com; dkim=pass header.d=paypal.com\n"
           b"From: service@paypal.com\n\nhi\n")
    rec = read_recorded(parse_message(raw))
    assert rec.trusted_ids == ()
    assert not any(r.trusted for r in rec.results)
    assert rec.envelope is None


def test_ar_above_every_received_is_trusted() -> None:
    raw = (b"Authentication-Results: mx.example.com; spf=pass smtp.remote-ip=192.0.2.5 "
           b"smtp.mailfrom=a@b.example smtp.helo=mail.b.example\n"
           b"Received: from mail.b.example ([192.0.2.5]) by mx.example.com; "
           b"Mon, 3 Jun 2024 10:00:00 +0000\n\n")
    rec = read_recorded(parse_message(raw))
    assert rec.envelope is not None
    assert (rec.envelope.ip, rec.envelope.helo, rec.envelope.mail_from, rec.envelope.source) == (
        "192.0.2.5", "mail.b.example", "a@b.example", "authentication-results")


def test_received_spf_parsing() -> None:
    check, problems = parse_received_spf(
        "Pass (mailfrom) identity=mailfrom; client-ip=2001:db8::1; helo=mx.example.org; "
        "envelope-from=a@example.org; receiver=mx.example.com;")
    assert not problems
    assert check.result == "pass"
    assert check.props["client-ip"] == "2001:db8::1"
    assert check.props["smtp.mailfrom"] == "a@example.org"
    assert check.props["identity"] == "mailfrom"
    _, problems = parse_received_spf("maybe; client-ip=1.2.3.4")
    assert problems


def test_arc_instance_split() -> None:
    assert split_arc_instance("i=2; mx.example; dkim=pass") == ("2", " mx.example; dkim=pass")
    assert split_arc_instance("mx.example dkim=pass")[0] == ""


@pytest.mark.parametrize("value", [
    "", ";", "=", "((((", '"', "x; dkim", "x; =pass", "x; dkim=pass header.d=",
    "x; dkim=pass (unterminated", 'x; dkim=pass reason="unterminated', "x;;;;none",
    "x; dkim=pass header.b=ab== header.d=a dmarc=pass", "\x00;\x00=\x00",
])
def test_malformed_values_never_raise(value: str) -> None:
    parse_authentication_results(value)
    parse_received_spf(value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(' ;=()"\\.abcdepsfimx-@:1\t\n')), max_size=200))
def test_ar_parser_never_raises_structured(value: str) -> None:
    parsed = parse_authentication_results(value)
    for r in parsed.results:
        assert isinstance(r.method, str)
    parse_received_spf(value)
    split_arc_instance(value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_ar_parser_never_raises_text(value: str) -> None:
    parse_authentication_results(value)
    parse_received_spf(value)
