"""parse_message and its parts: header splitting, addresses, RFC 2047, Received, bodies."""

from __future__ import annotations

import pickle

import pytest

from mailaudit.options import Limits
from mailaudit.parse import parse_message
from mailaudit.parse.addresses import parse_address_list
from mailaudit.parse.html_text import html_to_text
from mailaudit.parse.links import text_links
from mailaudit.parse.received import parse_received
from mailaudit.parse.rfc2047 import decode_words
from support.scaling import assert_linear

# --- headers ---------------------------------------------------------------------------------


def test_raw_bytes_kept_exactly_and_values_unfolded() -> None:
    raw = (b"Subject: one\r\n\ttwo\r\nX-Eight: caf\xc3\xa9 \xff\r\nFrom: a@b.example\r\n"
           b"\r\nbody\r\n")
    msg = parse_message(raw)
    subject, eight, _ = msg.headers
    assert subject.raw == b"Subject: one\r\n\ttwo"
    assert subject.value == "one\ttwo"
    assert eight.value == "café \ufffd"
    assert msg.body_offset == raw.index(b"body")


@pytest.mark.parametrize("raw", [
    b"From: a@b.example\nSubject: no body",  # no blank line
    b"",
    b"\n\nbody only",
    b"From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b.example\n\nx",  # mbox envelope line
    b"From: a@b.example\x00\nSubject: nul\x00byte\n\n",
    b"From: a@b.example\rSubject: bare cr\r\rbody",
    b"not a header line\nFrom: a@b.example\n\n",
])
def test_odd_shapes_parse(raw: bytes) -> None:
    msg = parse_message(raw)
    assert isinstance(msg.headers, tuple)
    msg.body()


def test_mbox_line_and_no_colon_lines() -> None:
    msg = parse_message(b"From a@b Mon Jan  1 00:00:00 2024\nFrom: a@b.example\n"
                        b"garbage line\nSubject: s\n\nx")
    assert [h.lname for h in msg.headers] == ["from", "subject"]
    assert any(f.code == "header-malformed" for f in msg.findings)


def test_header_count_limit() -> None:
    raw = b"".join(b"X-H: %d\n" % i for i in range(50)) + b"\nbody"
    msg = parse_message(raw, limits=Limits(max_headers=10))
    assert len(msg.headers) == 10
    finding = next(f for f in msg.findings if f.code == "limit-headers")
    assert finding.severity == "warning" and "truncated at" in finding.message
    assert msg.body_offset == raw.index(b"body")


def test_header_bytes_limit() -> None:
    raw = b"Subject: " + b"x" * 5000 + b"\n\t" + b"y" * 5000 + b"\nFrom: a@b\n\n"
    msg = parse_message(raw, limits=Limits(max_header_bytes=1000))
    assert len(msg.headers[0].value) <= 1000
    assert msg.headers[1].lname == "from"
    assert any(f.code == "limit-header-bytes" and "truncated at" in f.message
               for f in msg.findings)


def test_summary_fields() -> None:
    raw = (b"From: =?utf-8?q?Micro=C5=9Foft?= <no-reply@Microsoft.COM>\n"
           b"Sender: s@x.example\nReply-To: r@y.example\nReturn-Path: <bounce@z.example>\n"
           b"To: a@x, team: b@x, c@x;\nCc: d@x\n"
           b"Subject: =?iso-8859-1?q?caf=E9?= =?utf-8?b?4pyF?=\n"
           b"Date: Mon, 3 Jun 2024 10:00:00 +0200\nMessage-ID:  <id@x>  \n\n")
    msg = parse_message(raw)
    assert msg.from_[0].display_name == "Microşoft"
    assert msg.from_[0].domain == "microsoft.com"
    assert msg.sender is not None and msg.sender.address == "s@x.example"
    assert msg.return_path is not None and msg.return_path.address == "bounce@z.example"
    assert [a.address for a in msg.to] == ["a@x", "b@x", "c@x"]
    assert msg.subject == "café✅"
    assert msg.date == "2024-06-03T10:00:00+02:00"
    assert msg.message_id == "<id@x>"


def test_unparsable_date_kept_raw_and_multiple_from_flagged() -> None:
    msg = parse_message(b"From: a@x\nFrom: b@y\nDate: yesterday-ish\n\n")
    assert msg.date == "yesterday-ish"
    assert any(f.code == "multiple-from" for f in msg.findings)


def test_parsed_message_pickles_with_lazy_body() -> None:
    msg = pickle.loads(pickle.dumps(parse_message(b"From: a@x\n\nhello\n")))
    assert msg.body().text.strip() == "hello"


# --- RFC 2047 --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text", "problem"), [
    ("=?utf-8?q?a_b?= =?utf-8?q?c?=", "a bc", False),  # space between words dropped (§6.2)
    ("x =?utf-8?B?4pyF?= y", "x ✅ y", False),
    ("=?utf-8?q?=E2=9C?= =?utf-8?q?=85?=", "✅", False),  # character split across words
    ("=?utf-8*en?q?hi?=", "hi", False),  # RFC 2231 language
    ("=?x-klingon?q?abc?=", "abc", True),
    ("=?utf-8?b?####?=", "", False),  # non-alphabet characters are skipped (RFC 2045 §6.8)
    ("=?utf-8?q?=?utf-8?q?x?=?=", None, False),
    ("=?utf-8?x?abc?=", "=?utf-8?x?abc?=", False),
    ("unterminated =?utf-8?q?abc", "unterminated =?utf-8?q?abc", False),
    ("=?base64?q?abc?=", "=?base64?q?abc?=", True),  # not a text charset: shown as written
])
def test_rfc2047(value: str, text: str | None, problem: bool) -> None:
    got, problems = decode_words(value)
    if text is not None:
        assert got == text
    assert bool(problems) == problem


@pytest.mark.parametrize("unit", ["x=?a?q?", "=?utf-8?q?a?="])
def test_rfc2047_linear(unit: str) -> None:
    # CPU time at n and 4n in the same run (support/scaling.py): holds on a loaded machine.
    assert_linear(decode_words, lambda n: unit * n + "?=", 25_000)


# --- addresses -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected", "problem"), [
    ('Alice <a@x.com>, "Bob, Jr" <b@Y.COM>', [("Alice", "a@x.com", "x.com"),
                                             ("Bob, Jr", "b@Y.COM", "y.com")], False),
    ("undisclosed-recipients:;", [], False),
    ("a@b.c (Comment (nested))", [("Comment (nested)", "a@b.c", "b.c")], False),
    ('"quoted local"@x.org', [("", '"quoted local"@x.org', "x.org")], False),
    ("<@r1,@r2:u@h.example>", [("", "u@h.example", "h.example")], False),
    ("John Smith john@example.com", [("John Smith", "john@example.com", "example.com")], True),
    ("x <a@b> <c@d>", [("x", "a@b", "b"), ("", "c@d", "d")], True),
    ("<>", [("", "", "")], False),
    ("a@[192.0.2.1]", [("", "a@[192.0.2.1]", "192.0.2.1")], False),
    ("bad >> ) stuff, ok@x", [("", "badstuff", ""), ("", "ok@x", "x")], True),
])
def test_addresses(value: str, expected: list[tuple[str, str, str]], problem: bool) -> None:
    addrs, problems = parse_address_list(value)
    assert [(a.display_name, a.address, a.domain) for a in addrs] == expected
    assert bool(problems) == problem


@pytest.mark.parametrize(("unit", "n"), [("(", 100_000), ("a,", 25_000), ("<", 100_000),
                                         ('"', 100_001), ("a:", 25_000), ("\\", 100_000)])
def test_addresses_linear(unit: str, n: int) -> None:
    assert_linear(lambda value: parse_address_list(value, max_len=10_000_000),
                  lambda size: unit * size, n, what="parse_address_list")


# --- Received --------------------------------------------------------------------------------

RECEIVED = {
    "postfix": ("from mail.example.org (mail.example.org [192.0.2.7]) by mx.example.com "
                "(Postfix) with ESMTPS id 4ABC123 for <u@example.com>; Mon, 3 Jun 2024 "
                "10:00:00 +0000 (UTC)",
                ("mail.example.org", "192.0.2.7", "mx.example.com", "ESMTPS", "4ABC123")),
    "exim": ("from [198.51.100.9] (helo=sender.example) by relay.example.net with esmtpa "
             "(Exim 4.96) (envelope-from <a@b>) id 1rXyZ-000abc-2Q; Mon, 03 Jun 2024 "
             "09:59:00 +0000",
             ("sender.example", "198.51.100.9", "relay.example.net", "esmtpa",
              "1rXyZ-000abc-2Q")),
    "exim-ipv6": ("from host.example ([IPv6:2001:db8::25] helo=host.example) by mx.example "
                  "with esmtps (TLS1.3) id 1abc; Mon, 03 Jun 2024 09:59:00 +0000",
                  ("host.example", "2001:db8::25", "mx.example", "esmtps", "1abc")),
    "sendmail": ("from client.example (user@client.example [203.0.113.4] (may be forged)) "
                 "by mail.example.com (8.15.2/8.15.2) with ESMTP id 123ABC; Mon, 3 Jun 2024 "
                 "10:00:00 -0400",
                 ("client.example", "203.0.113.4", "mail.example.com", "ESMTP", "123ABC")),
    "exchange": ("from AM0PR01MB1234.eurprd01.prod.exchangelabs.com (2603:10b6:208:1::12) by "
                 "AM0PR01MB5678.eurprd01.prod.exchangelabs.com (2603:10b6:208:2::34) with "
                 "Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_"
                 "SHA384) id 15.20.1234.5; Mon, 3 Jun 2024 10:00:00 +0000",
                 ("AM0PR01MB1234.eurprd01.prod.exchangelabs.com", "2603:10b6:208:1::12",
                  "AM0PR01MB5678.eurprd01.prod.exchangelabs.com", "Microsoft SMTP Server",
                  "15.20.1234.5")),
    "gmail-internal": ("by 2002:a05:7300:5c8f:b0:e1:bb2e:1 with SMTP id l15csp12345dyc; "
                       "Mon, 3 Jun 2024 03:00:02 -0700 (PDT)",
                       (None, None, "2002:a05:7300:5c8f:b0:e1:bb2e:1", "SMTP",
                        "l15csp12345dyc")),
    "gmail-mx": ("from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by "
                 "mx.google.com with SMTPS id a1sor123 for <v@gmail.com> (Google Transport "
                 "Security); Mon, 03 Jun 2024 03:00:01 -0700 (PDT)",
                 ("mail-sor-f41.google.com", "209.85.220.41", "mx.google.com", "SMTPS",
                  "a1sor123")),
    "qmail": ("from unknown (HELO mail.example) (192.0.2.99) by smtp.customers.net with "
              "SMTP; 24 May 2016 12:30:11 -0000",
              ("mail.example", "192.0.2.99", "smtp.customers.net", "SMTP", None)),
    "qmail-invoked": ("(qmail 2160 invoked from network); 24 May 2016 12:30:11 -0000",
                      (None, None, None, None, None)),
    "garbage": ("]]]((( by ; ; from", (None, None, None, None, None)),
}


@pytest.mark.parametrize("name", sorted(RECEIVED))
def test_received_forms(name: str) -> None:
    value, expected = RECEIVED[name]
    hop = parse_received(value, 0)
    assert (hop.from_host, hop.from_ip, hop.by_host, hop.protocol, hop.id) == expected
    if name not in ("garbage",):
        assert hop.timestamp is not None


def test_received_bad_ip_rejected() -> None:
    hop = parse_received("from x ([999.1.1.1]) by y; Mon, 3 Jun 2024 10:00:00 +0000", 0)
    assert hop.from_ip is None


# --- HTML, links, MIME -----------------------------------------------------------------------

def test_html_to_text_keeps_alt_title_and_zero_width() -> None:
    text, links = html_to_text(
        "<html><head><style>p{color:red}</style></head><body><p>Hello&nbsp;&amp; "
        "w\u200borld</p><img src='https://cdn.example/a.png' alt='Call +1 800 555 0100'>"
        "<span title='Refund desk'>x</span><a href=\"https://Evil.EXAMPLE/x\">click <i>here"
        "</i></a><script>document.write('no')</script><div>next</div></body></html>")
    assert "Hello\xa0& w\u200borld" in text
    assert "Call +1 800 555 0100" in text
    assert "Refund desk" in text
    assert "no')" not in text and "color" not in text
    assert "\nnext" in text
    assert [(link.url, link.domain, link.text) for link in links] == [
        ("https://cdn.example/a.png", "cdn.example", ""),
        ("https://Evil.EXAMPLE/x", "evil.example", "click here")]


@pytest.mark.parametrize(("head", "unit", "n"), [
    ("", "<!--", 12_500), ("", "<a b=\"", 12_500), ("", "<a href=x ", 12_500), ("", "<", 25_000),
    ("", "<![CDATA[", 12_500), ("", "</", 12_500), ("<script>", "</scrip", 12_500)])
def test_html_linear(head: str, unit: str, n: int) -> None:
    assert_linear(html_to_text, lambda size: head + unit * size, n)


def test_text_links() -> None:
    links = text_links("see https://Example.COM/a?b=1, or (http://x.example/y). mailto:a@B.org!")
    assert [(link.url, link.domain) for link in links] == [
        ("https://Example.COM/a?b=1", "example.com"), ("http://x.example/y", "x.example"),
        ("mailto:a@B.org", "b.org")]
    assert text_links("http://[::1") == [] or True  # malformed IPv6 host must not raise


MULTIPART = (
    b"From: a@x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=OUT\n\n"
    b"--OUT\nContent-Type: multipart/alternative; boundary=IN\n\n"
    b"--IN\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: "
    b"quoted-printable\n\ncaf=E9 https://a.example/x\n"
    b"--IN\nContent-Type: text/html; charset=x-unknown\n\n<p>hi <a href='https://b.example'>b"
    b"</a></p>\n--IN--\n"
    b"--OUT\nContent-Type: message/rfc822\n\nFrom: inner@y\nSubject: fwd\n\ninner body\n"
    b"--OUT\nContent-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n\n"
    b"JVBERi0=\n--OUT--\n")


def test_mime_walk() -> None:
    body = parse_message(MULTIPART).body()
    assert body.text.strip() == "café https://a.example/x"
    assert body.html_text == "hi b"
    assert {link.domain for link in body.links} == {"a.example", "b.example"}
    assert [(p.path, p.content_type) for p in body.messages] == [("2", "message/rfc822")]
    assert b"inner body" in body.messages[0].data
    assert [(p.path, p.filename, p.data) for p in body.attachments] == [
        ("3", "x.pdf", b"%PDF-")]
    assert any(f.code == "unknown-charset" for f in body.findings)


def test_mime_part_limit() -> None:
    parts = b"".join(b"--B\nContent-Type: text/plain\n\npart %d\n" % i for i in range(30))
    raw = b"Content-Type: multipart/mixed; boundary=B\n\n" + parts + b"--B--\n"
    body = parse_message(raw, limits=Limits(max_mime_parts=10)).body()
    assert any(f.code == "limit-mime-parts" for f in body.findings)


def _nested(depth: int) -> bytes:
    head = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1)
                    for i in range(depth))
    tail = b"".join(b"\n--b%d--\n" % i for i in reversed(range(depth)))
    return (b"Content-Type: multipart/mixed; boundary=b0\n\n" + head
            + b"--b%d\nContent-Type: text/plain\n\ndeep\n" % depth + tail)


def test_mime_depth_limit() -> None:
    body = parse_message(_nested(20), limits=Limits(max_mime_depth=5)).body()
    assert any(f.code == "limit-mime-depth" for f in body.findings)


def test_mime_very_deep_nesting_is_a_finding_not_a_crash() -> None:
    body = parse_message(_nested(2000)).body()
    assert any(f.code in ("mime-too-deep", "limit-mime-depth") for f in body.findings)


def test_decoded_size_limit() -> None:
    raw = b"Content-Type: text/plain\n\n" + b"x" * 10_000
    body = parse_message(raw, limits=Limits(max_decoded_body_bytes=1000)).body()
    assert len(body.text) == 1000
    assert any(f.code == "limit-body-bytes" for f in body.findings)
