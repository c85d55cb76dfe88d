"""Throughput of message parsing: stdlib policy.default vs compat32 vs mailaudit's paths.

Run: .venv/bin/python benchmarks/bench_parse.py [COUNT]

Generates COUNT (default 1,000) realistic multipart messages of 10-50 KB (Received chain,
Authentication-Results, DKIM-Signature, text + HTML alternative, some with a PDF attachment or
a forwarded message/rfc822) and prints messages per second for each way of reading them.
"""

from __future__ import annotations

import base64
import random
import sys
import time
from collections.abc import Callable
from email import message_from_bytes, policy

from mailaudit.checks.recorded.trust import read_recorded
from mailaudit.parse import parse_message

WORDS = ["account", "tenant", "verify", "security", "code", "Microsoft", "Teams", "invitation", "billing", "please", "review", "sign-in", "activity", "organisation", "message", "notification", "support"]


def _paragraph(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def make_message(rng: random.Random, size: int) -> bytes:
    hops = "".join(
        f"Received: from host{i}.example.net (host{i}.example.net [192.0.2.{i + 1}])\r\n"
        f"\tby mx{i}.example.com (Postfix) with ESMTPS id ABC{i}DEF\r\n"
        f"\tfor <user@example.com>; Mon, 3 Jun 2024 10:0{i}:00 +0000\r\n" for i in range(4))
    headers = (
        "Authentication-Results: mx0.example.com; dkim=pass header.d=example.org "
        "header.s=s1 header.b=AbCdEf12; spf=pass smtp.mailfrom=a@example.org; "
        "dmarc=pass header.from=example.org\r\n" + hops
        + "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;\r\n"
        "\th=from:to:subject:date:message-id; bh=" + "A" * 44 + ";\r\n\tb=" + "B" * 340 + "\r\n"
        "From: =?utf-8?q?Ex=C3=A4mple?= <news@example.org>\r\nTo: user@example.com\r\n"
        f"Subject: {_paragraph(rng, 8)}\r\nDate: Mon, 3 Jun 2024 10:00:00 +0000\r\n"
        f"Message-ID: <{rng.getrandbits(64):x}@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"OUTER\"\r\n\r\n")
    text_len = size // 3
    text = "\r\n".join(_paragraph(rng, 12) for _ in range(text_len // 90))
    html = "".join(f"<p>{_paragraph(rng, 12)} <a href=\"https://l{k}.example.org/x\">link</a>"
                   f"<img src=\"https://cdn.example.org/{k}.png\" alt=\"logo\"></p>\r\n"
                   for k in range(text_len // 150))
    body = (
        "--OUTER\r\nContent-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n"
        "--ALT\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + text + "\r\n"
        "--ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>" + html
        + "</body></html>\r\n--ALT--\r\n")
    kind = rng.random()
    if kind < 0.4:
        pdf = base64.encodebytes(rng.randbytes(size // 4)).decode().replace("\n", "\r\n")
        body += ("--OUTER\r\nContent-Type: application/pdf; name=\"invoice.pdf\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n" + pdf)
    elif kind < 0.55:
        body += ("--OUTER\r\nContent-Type: message/rfc822\r\n\r\nFrom: inner@example.net\r\n"
                 "Subject: forwarded\r\n\r\n" + _paragraph(rng, 200) + "\r\n")
    body += "--OUTER--\r\n"
    return (headers + body).encode()


def _walk_stdlib(raw: bytes, pol: policy.Policy) -> None:
    msg = message_from_bytes(raw, policy=pol)
    for part in msg.walk():
        if not part.is_multipart():
            part.get_payload(decode=True)
    for name in ("from", "to", "subject", "date", "message-id"):
        str(msg.get(name))


def _measure(name: str, fn: Callable[[bytes], object], corpus: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in corpus:
        fn(raw)
    seconds = time.perf_counter() - start
    rate = len(corpus) / seconds
    print(f"{name:48s} {rate:9.0f} msg/s  {seconds * 1e6 / len(corpus):8.0f} µs/msg")
    return rate


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rng = random.Random(1)
    corpus = [make_message(rng, rng.randint(10_000, 50_000)) for _ in range(count)]
    size = sum(map(len, corpus))
    print(f"{count} messages, {size / 1e6:.1f} MB, mean {size / count / 1000:.1f} KB\n")
    _measure("stdlib policy.default (parse + walk)", lambda r: _walk_stdlib(r, policy.default),
             corpus)
    _measure("stdlib compat32 (parse + walk)", lambda r: _walk_stdlib(r, policy.compat32), corpus)
    _measure("mailaudit parse_message (headers only)", parse_message, corpus)
    _measure("mailaudit parse_message + read_recorded",
             lambda r: read_recorded(parse_message(r)), corpus)
    _measure("mailaudit parse_message + body() (compat32)",
             lambda r: parse_message(r).body(), corpus)


if __name__ == "__main__":
    main()
