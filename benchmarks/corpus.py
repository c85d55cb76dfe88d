"""Generate a synthetic mailbox that authenticates offline, for the benchmarks.

    python benchmarks/corpus.py [--n 20000] [--seed 1] [--out DIR] [--jobs N]
    python benchmarks/corpus.py --mailauth-corpus [--out DIR]
    python benchmarks/corpus.py --n 400 --size 65536 --out DIR   # every message ~64 KB

Writes into DIR (default benchmarks/out/corpus-N):
  mailbox.mbox        every message, LF line ends, mboxo "From " separators
  dns-snapshot.json   mailaudit snapshot (mailaudit-dns/1, complete) that makes it authenticate
  dns.json            the same records in mailauth's --dns-cache format
  manifest.jsonl      one line per message: id, size, sending ip/helo/envelope sender, labels
  eml/NNNNNN.eml      (--mailauth-corpus or --eml) each message as CRLF .eml

Mix: sizes 2-200 KB log-normal (median ~11 KB); most DKIM-signed (RSA-2048, some RSA-1024, some
Ed25519 + RSA dual-signed), relaxed and simple canonicalisation; ~22 % forwarded through a list
that adds an ARC set; ~10 % tampered after signing (half before the receiver, half after
delivery, so recorded and recomputed results disagree); ~4 % Microsoft notifications, most of
them abused. Every message carries Received hops, a Return-Path and the receiver's
Authentication-Results, so SPF and DMARC can be recomputed.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import random
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import dkim
from _content import mime_body, ms_mime, ms_notification
from _keys import fast_rsa
from _world import (
    FORWARDER,
    FORWARDER_HOST,
    FORWARDER_IP,
    RECEIVER,
    RECEIVER_MBX,
    RECEIVER_MX,
    Domain,
    World,
    build_world,
    mailauth_cache,
    snapshot_records,
)

OUT = Path(__file__).resolve().parent / "out"
MEDIAN_BYTES = 11_000
SIGMA = 0.85
CANONS = ((b"relaxed", b"relaxed"),) * 6 + ((b"relaxed", b"simple"),) * 3 + ((b"simple", b"simple"),)
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]
_BASE_TIME = 1_735_689_600  # 2025-01-01T00:00:00Z


def _date(t: int) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))


def _size(rng: random.Random) -> int:
    return int(min(200_000, max(2_000, rng.lognormvariate(math.log(MEDIAN_BYTES), SIGMA))))


class Generator:
    """Builds message ``i`` as a pure function of (seed, i, world), so workers can share it."""

    def __init__(self, world: World, seed: int, mailauth_mode: bool,
                 fixed_size: int | None = None) -> None:
        self.fixed_size = fixed_size
        self.world = world
        self.seed = seed
        self.mailauth_mode = mailauth_mode

    def message(self, i: int) -> tuple[bytes, dict[str, Any]]:
        rng = random.Random(f"{self.seed}:{i}")
        labels: list[str] = []
        t = _BASE_TIME + i * 37 + rng.randrange(30)
        size = self.fixed_size or _size(rng)
        ms = rng.random() < 0.04
        if ms:
            abused = rng.random() < 0.7
            labels.append("ms-abused" if abused else "ms-genuine")
            disp, addr, ms_domain, subject, body = ms_notification(rng, abused)
            dom = self.world.ms_domains[ms_domain]
            ctype, body = ms_mime(rng, body, f"=_ms{i:08x}")
            kinds = ["rsa2048"]  # the s1024-meo slot (see _world.build_world)
            from_hdr = f"{disp} <{addr}>"
            mail_from = addr
        else:
            dom = rng.choice(self.world.domains)
            local = rng.choice(("news", "billing", "alerts", "j.smith", "support", "hello"))
            sub = rng.random() < 0.2
            from_domain = f"mail.{dom.name}" if sub else dom.name
            from_hdr = f'"{local.title()} at {dom.name.split(".")[0]}" <{local}@{from_domain}>'
            mail_from = f"bounce-{i}@{dom.name}"
            subject = rng.choice(("Your invoice", "Weekly update", "Meeting notes", "Order shipped",
                                  "Security notice", "Re: proposal")) + f" #{i}"
            ctype, body = mime_body(rng, size, f"=_b{i:08x}")
            kinds = self._kinds(rng)
        canon = rng.choice(CANONS)
        helo = dom.helo
        headers = [
            f"Received: from workstation ([10.{i % 250}.1.2]) by {helo} with ESMTPSA id "
            f"{i:x}a; {_date(t)}",
            f"From: {from_hdr}",
            f"To: user{i % 500}@{RECEIVER}",
            f"Subject: {subject}",
            f"Date: {_date(t)}",
            f"Message-ID: <{i}.{rng.randrange(10**9)}@{dom.name}>",
            "MIME-Version: 1.0",
            f"Content-Type: {ctype}",
        ]
        msg = ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
        for kind in kinds:
            selector, key = dom.selectors[kind]
            sig = dkim.sign(msg, selector.encode(), dom.name.encode(), key.private,
                            signature_algorithm=key.algorithm, canonicalize=canon,
                            include_headers=SIGNED)
            msg = sig + msg
        labels.extend(f"dkim-{dom.selectors[k][1].kind}" for k in kinds)
        labels.append("c=" + b"/".join(canon).decode())
        ip = rng.choice(dom.ips)
        spf_ok = rng.random() > 0.04
        if not spf_ok:
            ip = f"192.0.2.{200 + i % 40}"
            labels.append("spf-offpath")
        dkim_ok = bool(kinds)
        arc = rng.random() < 0.22
        if arc:
            msg, dkim_ok, ip, mail_from, helo = self._forward(rng, msg, dom, ip, mail_from, dkim_ok,
                                                              t, labels)
            spf_ok = mail_from.endswith("@" + FORWARDER)  # SRS: the list's own SPF passes
        tamper = rng.random() < 0.10
        if tamper and rng.random() < 0.5:
            msg = _tamper(rng, msg)
            labels.append("tampered-in-transit")
            dkim_ok = False
            tamper = False
        recv = [
            f"Return-Path: <{mail_from}>",
            f"Authentication-Results: {RECEIVER_MX};\r\n dkim={'pass' if dkim_ok else 'fail'}"
            f" header.d={dom.name};\r\n spf={'pass' if spf_ok else 'fail'}"
            f" smtp.mailfrom={mail_from.split('@')[1]};\r\n"
            f" dmarc={'pass' if dkim_ok or spf_ok else 'fail'}"
            f" header.from={from_hdr.rpartition('@')[2].rstrip('>')}"
            + (";\r\n arc=pass" if arc else ""),
            f"Received: from {RECEIVER_MX} ({RECEIVER_MX} [10.0.0.5]) by {RECEIVER_MBX} with LMTP;"
            f" {_date(t + 2)}",
            f"Received: from {helo} ({helo} [{ip}]) by {RECEIVER_MX} with ESMTPS id "
            f"r{i:x}; {_date(t + 1)}",
        ]
        msg = ("\r\n".join(recv) + "\r\n").encode() + msg
        if tamper:
            msg = _tamper(rng, msg)
            labels.append("tampered-after-delivery")
        info = {"id": i, "bytes": len(msg), "ip": ip, "helo": helo, "sender": mail_from,
                "labels": labels}
        return msg, info

    def _kinds(self, rng: random.Random) -> list[str]:
        roll = rng.random()
        if roll < 0.06:
            return []
        if roll < 0.18:
            return ["rsa2048", "ed25519"]  # RFC 8463 section 4: dual-sign while verifiers catch up
        if roll < 0.26 and not self.mailauth_mode:
            return ["rsa1024"]
        return ["rsa2048"]

    def _forward(self, rng: random.Random, msg: bytes, dom: Domain, ip: str, mail_from: str,
                 dkim_ok: bool, t: int, labels: list[str],
                 ) -> tuple[bytes, bool, str, str, str]:
        """Through a mailing list: it records what it saw, may edit, then seals (RFC 8617)."""
        ar = (f"Authentication-Results: {FORWARDER_HOST}; dkim={'pass' if dkim_ok else 'none'}"
              f" header.d={dom.name}; spf=pass smtp.mailfrom={mail_from.split('@')[1]}\r\n")
        rcv = (f"Received: from {dom.helo} ({dom.helo} [{ip}]) by "
               f"{FORWARDER_HOST} with ESMTPS; {_date(t)}\r\n")
        msg = (ar + rcv).encode() + msg
        if rng.random() < 0.5:
            msg = msg.replace(b"\r\nSubject: ", b"\r\nSubject: [list] ", 1) + b"-- \r\nlist footer\r\n"
            dkim_ok = False
            labels.append("arc-list-modified")
        else:
            labels.append("arc-forwarded")
        arc_set = dkim.arc_sign(msg, b"arc1", FORWARDER.encode(), self.world.forwarder_key.private,
                                FORWARDER_HOST.encode(), timestamp=str(t))
        msg = b"".join(arc_set) + msg
        srs = rng.random() < 0.5
        mail_from = f"SRS0=x{t % 97}=AB={dom.name}={mail_from.split('@')[0]}@{FORWARDER}" if srs \
            else mail_from
        return msg, dkim_ok, FORWARDER_IP, mail_from, FORWARDER_HOST


def _tamper(rng: random.Random, msg: bytes) -> bytes:
    """Change signed content the way in-transit rewriting or a malicious edit would."""
    if rng.random() < 0.5:
        return msg.replace(b"\r\nSubject: ", b"\r\nSubject: URGENT ", 1)
    head, sep, body = msg.partition(b"\r\n\r\n")
    cut = len(body) // 2
    if cut >= len(body):
        return head + sep + body + b"X\r\n"
    repl = b"Y" if body[cut:cut + 1] == b"X" else b"X"
    return head + sep + body[:cut] + repl + body[cut + 1:]


_GEN: Generator | None = None


def _init(gen: Generator) -> None:
    global _GEN
    _GEN = gen


def _work(chunk: range) -> list[tuple[bytes, dict[str, Any]]]:
    assert _GEN is not None
    with fast_rsa():
        return [_GEN.message(i) for i in chunk]


def generate(gen: Generator, n: int, jobs: int) -> Iterator[tuple[bytes, dict[str, Any]]]:
    chunks = [range(s, min(n, s + 200)) for s in range(0, n, 200)]
    if jobs <= 1:
        _init(gen)
        for c in chunks:
            yield from _work(c)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs, initializer=_init, initargs=(gen,)) as pool:
        for batch in pool.imap(_work, chunks):
            yield from batch


def write_corpus(out: Path, world: World, items: Iterable[tuple[bytes, dict[str, Any]]],
                 eml: bool) -> tuple[int, int]:
    from mailaudit.dns.snapshot import write_snapshot

    out.mkdir(parents=True, exist_ok=True)
    if eml:
        (out / "eml").mkdir(exist_ok=True)
    count = total = 0
    with open(out / "mailbox.mbox", "wb") as mbox, open(out / "manifest.jsonl", "w") as man:
        for msg, info in items:
            lf = msg.replace(b"\r\n", b"\n")
            mbox.write(b"From MAILER-DAEMON Wed Jan  1 00:00:00 2025\n" + lf
                       + (b"" if lf.endswith(b"\n") else b"\n") + b"\n")
            if eml:
                (out / "eml" / f"{info['id']:06d}.eml").write_bytes(msg)
            man.write(json.dumps(info) + "\n")
            count += 1
            total += len(msg)
    # dkimpy stamps t= with the clock, and a replay verifies as of captured_at: the records are
    # "captured" now, after every signature was made, as a real capture follows delivery.
    captured = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_snapshot(out / "dns-snapshot.json", snapshot_records(world.records), complete=True,
                   captured_at=captured, extra={"comment": "benchmarks/corpus.py"})
    (out / "dns.json").write_text(json.dumps(mailauth_cache(world.records), indent=1) + "\n")
    return count, total


def self_check(out: Path, sample: int = 60) -> tuple[int, int]:
    """Verify the first signed messages with untouched dkimpy (fast_rsa is not active here)."""
    from _mbox import read_mbox
    from _snapdns import dkim_dnsfunc

    dnsfunc = dkim_dnsfunc(out / "dns-snapshot.json")
    with open(out / "manifest.jsonl", encoding="utf-8") as fh:
        manifest = [json.loads(line) for line in fh]
    ok = checked = 0
    for raw, info in zip(read_mbox(out / "mailbox.mbox"), manifest, strict=False):
        labels = info["labels"]
        if any(lb.startswith("arc-") for lb in labels):
            cv, _results, why = dkim.arc_verify(raw, dnsfunc=dnsfunc)
            if (cv == dkim.CV_Pass) != any(lb.startswith("tampered") for lb in labels):
                ok += 1
            else:
                print(f"  self-check: message {info['id']} arc={cv!r} ({why})", file=sys.stderr)
            checked += 1
        if not any(lb.startswith("dkim-") for lb in labels):
            continue
        broken = any(lb.startswith(("tampered", "arc-list")) for lb in labels)
        try:
            result = dkim.DKIM(raw).verify(idx=0, dnsfunc=dnsfunc)
        except dkim.DKIMException:
            result = False
        if result != broken:
            ok += 1
        else:
            print(f"  self-check: message {info['id']} verify={result} labels={labels}",
                  file=sys.stderr)
        checked += 1
        if checked >= sample:
            break
    return ok, checked


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    ap.add_argument("--eml", action="store_true", help="also write each message as eml/NNNNNN.eml")
    ap.add_argument("--mailauth-corpus", action="store_true",
                    help="the reference corpus: 2,000 messages, RSA-2048 + Ed25519, .eml files")
    ap.add_argument("--domains", type=int, default=60)
    ap.add_argument("--size", type=int, help="every message about this many bytes (for the "
                    "size-linearity run) instead of the log-normal mix")
    args = ap.parse_args(argv)
    mailauth_mode = bool(args.mailauth_corpus)
    n = 2_000 if mailauth_mode and args.n == 20_000 else args.n
    out = args.out or OUT / (f"mailauth-corpus-{n}" if mailauth_mode else f"corpus-{n}")
    kinds = ("rsa2048", "ed25519") if mailauth_mode else ("rsa2048", "rsa1024", "ed25519")
    t0 = time.perf_counter()
    world = build_world(args.seed, args.domains, kinds)
    gen = Generator(world, args.seed, mailauth_mode, args.size)
    count, total = write_corpus(out, world, generate(gen, n, args.jobs),
                                eml=mailauth_mode or args.eml)
    took = time.perf_counter() - t0
    ok, checked = self_check(out)
    print(f"{out}: {count} messages, {total / 1e6:.1f} MB, generated in {took:.1f} s "
          f"({count / took:.0f} msg/s, {args.jobs} jobs); dkimpy self-check {ok}/{checked} as "
          f"labelled")
    return 0 if ok == checked else 1


if __name__ == "__main__":
    sys.exit(main())
