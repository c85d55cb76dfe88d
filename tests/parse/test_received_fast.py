"""The direct readers for the common date and IPv4 forms, and the plain Received split, give exactly
what the general readers give (the stdlib's, the comment walk), on those forms and on everything
near them."""

from __future__ import annotations

import ipaddress
import sys
from email.utils import parsedate_to_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.parse.received import (
    _NOT_PLAIN,
    ReceivedChain,
    _split,
    _walk,
    ip_literal,
    parse_received,
    to_iso_date,
)

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "mon", "Xyz"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
          "jan", "JAN", "Foo"]


def stdlib_iso(text: str) -> str | None:
    if not text or len(text) > 200:
        return None
    try:
        return parsedate_to_datetime(text).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def digits(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10 ** n - 1).map(lambda v: str(v).zfill(n))


dates = st.builds(
    lambda dow, day, mon, year, hh, mm, ss, sign, zone, tail: (
        f"{dow + ', ' if dow else ''}{day} {mon} {year} {hh}:{mm}:{ss} {sign}{zone}{tail}"),
    st.sampled_from([*DAYS, ""]),
    st.one_of(st.integers(0, 39).map(str), digits(2), digits(3)),
    st.sampled_from(MONTHS),
    st.one_of(digits(4), digits(2), digits(5)),
    digits(2), digits(2), digits(2),
    st.sampled_from(["+", "-", ""]),
    st.one_of(digits(4), digits(3), st.sampled_from(["0000", "2400", "2359", "0099", "9999"])),
    st.sampled_from(["", " (UTC)", " ", "\t", "x"]),
)


@settings(max_examples=1500, deadline=None)
@given(dates)
def test_dates_read_as_the_stdlib_reads_them(text: str) -> None:
    assert to_iso_date(text) == stdlib_iso(text), text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_reads_as_the_stdlib_reads_it(text: str) -> None:
    assert to_iso_date(text) == stdlib_iso(text), text


def test_zone_edge_cases() -> None:
    for text in ("Tue, 20 May 2025 10:00:00 -0000", "Tue, 20 May 2025 10:00:00 +0000",
                 "20 May 2025 10:00:00 +0530", "Tue, 20 May 2025 10:00:00 -0830",
                 "Tue, 20 May 2025 10:00:00 +2400", "Sat, 30 Feb 2025 10:00:00 +0000",
                 "Tue, 20 May 2025 24:00:00 +0000", "Tue, 20 May 0000 10:00:00 +0000",
                 "Tue, 20 May 2025 10:00:60 +0000", "Tue, 20 May 2025 10:00:00 +0099"):
        assert to_iso_date(text) == stdlib_iso(text), text
    assert to_iso_date("Tue, 20 May 2025 10:00:00 -0000") == "2025-05-20T10:00:00"
    assert to_iso_date("Tue, 20 May 2025 10:00:00 +0000") == "2025-05-20T10:00:00+00:00"


def stdlib_ip(token: str) -> str | None:
    t = token.strip("[]()<>;,.")
    if t[:5].lower() == "ipv6:":
        t = t[5:]
    if not t or len(t) > 45 or not (":" in t or "." in t) or t.strip("0123456789abcdefABCDEF:.%"):
        return None
    t = t.split("%", 1)[0]
    try:
        return str(ipaddress.ip_address(t))
    except ValueError:
        return None


octet = st.one_of(st.integers(0, 300).map(str), digits(2), digits(3), st.just(""),
                  st.sampled_from(["00", "01", "255", "256", "1a", "-1"]))
quads = st.builds(lambda a, b, c, d, n, wrap: wrap.format(".".join([a, b, c, d][:n])),
                  octet, octet, octet, octet, st.integers(2, 4),
                  st.sampled_from(["{}", "[{}]", "({})", "[IPv6:{}]", "{}.", "{}%eth0", "{}.5"]))


@settings(max_examples=1500, deadline=None)
@given(quads)
def test_ipv4_literals_read_as_ipaddress_reads_them(token: str) -> None:
    assert ip_literal(token) == stdlib_ip(token), token


def test_received_hop_fields() -> None:
    hop = parse_received("from mail.example.net (mail.example.net [192.0.2.7]) by mx.example.org "
                         "with ESMTPS id 1; Tue, 20 May 2025 10:00:00 +0000", 0)
    assert hop.from_ip == "192.0.2.7" and hop.timestamp == "2025-05-20T10:00:00+00:00"


def test_plain_split_knows_every_blank_str_split_breaks_at() -> None:
    blanks = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()} - set(" \t\r\n")
    assert {c for c in (*blanks, *"\\ \t\r\n()a") if _NOT_PLAIN.match(c)} == blanks | {"\\"}


received_text = st.text(alphabet=st.sampled_from(
    [*"ab.[]; \t\r\n()\\=", "\x0b", "\x1c", "\x85", "\xa0", "\u2003", "\u3000", "é"]),
    max_size=40)


@settings(max_examples=3000, deadline=None)
@given(received_text)
def test_split_is_the_walk(text: str) -> None:
    assert _split(text) == _walk(text), text


def test_split_forms() -> None:
    for text in ("a (b) c", "a(b)c", "()", "(", ")", "a (b (c) d) e", "a (b\\) c) d", "x) (y)",
                 "a (b", "(a)(b)", "a\u3000(b)", "from x (y [1.2.3.4]) by z"):
        assert _split(text) == _walk(text), text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(
    st.sampled_from([
        "from a.example (a.example [192.0.2.1]) by mx.b.example with ESMTPS id 1; "
        "Tue, 20 May 2025 10:00:00 +0000",
        "from unknown (HELO c.example) (192.0.2.9) by d.example with SMTP; 24 May 2016 "
        "12:30:11 -0000",
        "by 2001:db8::1 with SMTP id x", "by (comment) x", "by by x", "from x", ""]),
    received_text), max_size=4))
def test_chain_fields_are_the_hops_fields(values: list[str]) -> None:
    chain, read_first = ReceivedChain(values), ReceivedChain(values)
    hops = tuple(parse_received(v, i) for i, v in enumerate(values))
    for i, hop in enumerate(hops):
        assert read_first[i] == hop  # by_host/sender then answer from the hop already read
        for seq in (chain, read_first):  # unread, and answered from the hop already read
            assert seq.by_host(i) == hop.by_host
            assert seq.sender(i) == (hop.from_host, hop.from_ip)
        assert chain[i] == hop
