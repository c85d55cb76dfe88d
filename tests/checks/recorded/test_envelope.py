"""choose_envelope with Received chains as Postfix, Exchange Online and Gmail write them."""

from __future__ import annotations

import pytest

from mailaudit.checks.recorded.envelope import choose_envelope
from mailaudit.model import Envelope
from mailaudit.options import AuditOptions
from support.dmarc_support import parse

POSTFIX = b"""Return-Path: <bounce@sender.example>
Received: from localhost (localhost [127.0.0.1])
\tby mail.example.org (Postfix) with LMTP id 9F1; Tue, 3 Jan 2023 10:00:02 +0100 (CET)
Received: from mx2.example.org (mx2.example.org [203.0.113.25])
\tby mail.example.org (Postfix) with ESMTPS id 4AB; Tue, 3 Jan 2023 10:00:01 +0100 (CET)
Received: from out.sender.example (out.sender.example [198.51.100.7])
\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
\tby mx2.example.org (Postfix) with ESMTPS id 77C; Tue, 3 Jan 2023 10:00:00 +0100 (CET)
Received: from [10.1.2.3] (unknown [10.1.2.3])
\tby out.sender.example (Postfix) with ESMTPSA id 11; Tue, 3 Jan 2023 09:59:59 +0100 (CET)
From: a@sender.example
Subject: x

body
"""

EXCHANGE_ONLINE = b"""Received: from SA1PR12MB1234.namprd12.prod.outlook.com (2603:10b6:806:24::5)
 by MN2PR12MB5678.namprd12.prod.outlook.com with HTTPS; Tue, 3 Jan 2023 18:00:03 +0000
Received: from DM6PR06CA0071.namprd06.prod.outlook.com (2603:10b6:5:54::48) by
 SA1PR12MB1234.namprd12.prod.outlook.com (2603:10b6:806:24::5) with Microsoft SMTP Server
 (version=TLS1_2) id 15.20.7; Tue, 3 Jan 2023 18:00:02 +0000
Received: from DM6NAM11FT012.eop-nam11.prod.protection.outlook.com
 (2603:10b6:5:54:cafe::4) by DM6PR06CA0071.outlook.office365.com
 (2603:10b6:5:54::48) with Microsoft SMTP Server (version=TLS1_2) id 15.20.7 via Frontend
 Transport; Tue, 3 Jan 2023 18:00:01 +0000
Received: from NAM12-DM6-obe.outbound.protection.outlook.com (40.107.243.100) by
 DM6NAM11FT012.mail.protection.outlook.com (10.13.173.109) with Microsoft SMTP Server
 (version=TLS1_2) id 15.20.7 via Frontend Transport; Tue, 3 Jan 2023 18:00:00 +0000
Received: from BY5PR11MB4000.namprd11.prod.outlook.com (2603:10b6:a03:1c0::11) by
 CO1PR11MB5000.namprd11.prod.outlook.com with HTTPS; Tue, 3 Jan 2023 17:59:59 +0000
From: Microsoft <msonlineservicesteam@microsoftonline.com>
Subject: x

body
"""

GMAIL = b"""Delivered-To: someone@gmail.com
Received: by 2002:a05:6a10:8e05:b0:4d5:c7e8:f0b8 with SMTP id w5csp123;
        Tue, 3 Jan 2023 10:00:01 -0800 (PST)
Received: from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])
        by mx.google.com with SMTPS id x2sor;
        Tue, 3 Jan 2023 10:00:00 -0800 (PST)
Return-Path: <>
From: a@gmail.com
Subject: x

body
"""


def _env(raw: bytes, recorded: Envelope | None = None, *, ip: str | None = None,
         helo: str | None = None, mail_from: str | None = None) -> Envelope:
    options = AuditOptions(ip=ip, helo=helo, mail_from=mail_from)
    return choose_envelope(parse(raw.replace(b"\n", b"\r\n")), recorded, options)


def test_postfix_chain_skips_internal_relays() -> None:
    env = _env(POSTFIX)
    assert env == Envelope(ip="198.51.100.7", helo="out.sender.example",
                           mail_from="bounce@sender.example", source="received")


def test_exchange_online_internal_ipv6_hops_are_skipped() -> None:
    env = _env(EXCHANGE_ONLINE)
    assert (env.ip, env.helo, env.source) == (
        "40.107.243.100", "NAM12-DM6-obe.outbound.protection.outlook.com", "received")
    assert env.mail_from is None


def test_gmail_sender_on_gmail_is_external() -> None:
    env = _env(GMAIL)
    assert (env.ip, env.helo, env.mail_from, env.source) == (
        "209.85.220.41", "mail-sor-f41.google.com", "", "received")


def test_internal_hosts_option() -> None:
    env = choose_envelope(parse(POSTFIX.replace(b"\n", b"\r\n")), None, AuditOptions(),
                          internal_hosts=["sender.example"])
    assert env.source == "none" and env.ip is None


def test_options_win_and_recorded_keeps_its_source() -> None:
    env = _env(POSTFIX, ip="192.0.2.9", helo="h.example")
    assert (env.ip, env.helo, env.mail_from, env.source) == (
        "192.0.2.9", "h.example", "bounce@sender.example", "options")
    recorded = Envelope(ip="192.0.2.50", helo=None, mail_from="x@y.example",
                        source="received-spf")
    env = _env(POSTFIX, recorded)
    assert (env.ip, env.mail_from, env.source) == ("192.0.2.50", "x@y.example", "received-spf")
    assert env.helo == "out.sender.example"


@pytest.mark.parametrize("received", [
    b"",
    b"Received: garbage (((( [[[ \r\n",
    b"Received: from x ([999.1.1.1]) by y\r\n",
    b"Received: from a (a [10.0.0.1]) by b\r\n" * 2000,
], ids=["none", "garbage", "bad-ip", "thousands-internal"])
def test_no_usable_chain_is_none(received: bytes) -> None:
    env = choose_envelope(parse(received + b"From: a@b.example\r\n\r\nx\r\n"), None,
                          AuditOptions())
    assert env.source == "none" and env.ip is None


@pytest.mark.parametrize("literal", [b"[IPv6:::ffff:198.51.100.7]", b"[::FFFF:198.51.100.7]",
                                     b"(::ffff:c633:6407)"])
def test_ipv4_mapped_sender_is_its_ipv4_address(literal: bytes) -> None:
    # Dual-stack receivers log IPv4 peers in the mapped form; SPF's ip4: mechanisms and the
    # report both mean the IPv4 host (RFC 4291 2.5.5.2).
    received = (b"Received: from out.sender.example (out.sender.example " + literal
                + b") by mx.receiver.example with ESMTPS id 1; Tue, 20 May 2025 10:00:00 +0000\r\n")
    env = choose_envelope(parse(received + b"From: a@b.example\r\n\r\nx\r\n"), None,
                          AuditOptions())
    assert (env.ip, env.helo, env.source) == ("198.51.100.7", "out.sender.example", "received")
    recorded = Envelope(ip="::ffff:192.0.2.50", helo=None, mail_from=None, source="received-spf")
    assert _env(POSTFIX, recorded).ip == "192.0.2.50"
    assert _env(POSTFIX, ip="::ffff:192.0.2.9").ip == "192.0.2.9"
    assert _env(POSTFIX, ip="2001:db8::1").ip == "2001:db8::1"
