"""Deliver a signed message: what the receiving side adds on top of it.

The receiver's Authentication-Results are computed here, by verifying the message the way a
receiver would (DKIM and ARC with dkimpy against the samples' own DNS, SPF for the sending IP),
so every recorded result a sample carries is true of that sample. The one exception is made on
purpose elsewhere: a body changed after delivery.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

import dkim
from dkim.util import parse_tag_value

from mailaudit.dns.base import DnsOutcome, Resolver
from support.synth.build import CRLF, header_field, rfc5322_date
from support.synth.dnssnap import dkim_dnsfunc, org_domain, spf_result
from support.synth.world import Origin, Receiver


@dataclass(frozen=True, slots=True)
class DkimSeen:
    result: str  # pass, fail
    domain: str
    selector: str
    b: str  # first 8 characters of b=, as header.b (RFC 6008)


@dataclass(frozen=True, slots=True)
class Observation:
    """What a receiver found when the message reached it."""

    ip: str
    helo: str
    mail_from: str
    spf: str
    dkim: tuple[DkimSeen, ...]
    header_from: str
    dmarc: str
    dmarc_policy: str
    arc: str | None  # cv of the chain that arrived; None when it carried no ARC set

    @property
    def spf_domain(self) -> str:
        return (self.mail_from.rpartition("@")[2] or self.helo).lower()


def observe(message: bytes, *, resolver: Resolver, origin: Origin) -> Observation:
    headers = BytesHeaderParser(policy=compat32).parsebytes(message)
    from_values = [str(v) for v in headers.get_all("From", [])]
    from_domain = ""
    for _name, addr in getaddresses(from_values):
        from_domain = addr.rpartition("@")[2].lower()
        break
    dnsfunc = dkim_dnsfunc(resolver)
    seen: list[DkimSeen] = []
    for idx, value in enumerate(headers.get_all("DKIM-Signature", [])):
        tags = parse_tag_value(str(value).encode("ascii", "replace"))
        try:
            ok = bool(dkim.DKIM(message).verify(idx=idx, dnsfunc=dnsfunc))
        except dkim.DKIMException:  # dkimpy raises for a body hash mismatch instead of False
            ok = False
        b64 = b"".join(tags.get(b"b", b"").split()).decode("ascii", "replace")
        seen.append(DkimSeen("pass" if ok else "fail", tags.get(b"d", b"").decode().lower(),
                             tags.get(b"s", b"").decode(), b64[:8]))
    spf_domain = (origin.mail_from.rpartition("@")[2] or origin.helo).lower()
    spf = spf_result(resolver, spf_domain, origin.ip)
    arc = None
    if headers.get_all("ARC-Seal"):
        cv, _results, _reason = dkim.arc_verify(message, dnsfunc=dnsfunc)
        arc = cv.decode("ascii").lower() if cv else "fail"
    org = org_domain(from_domain) if from_domain else ""
    aligned = any(s.result == "pass" and org_domain(s.domain) == org for s in seen) or (
        spf == "pass" and org_domain(spf_domain) == org)
    policy = _dmarc_policy(resolver, from_domain, org)
    dmarc = "none" if not policy else ("pass" if aligned else "fail")
    return Observation(origin.ip, origin.helo, origin.mail_from, spf, tuple(seen), from_domain,
                       dmarc, policy, arc)


def _dmarc_policy(resolver: Resolver, from_domain: str, org: str) -> str:
    for name in dict.fromkeys((from_domain, org)):
        if not name:
            continue
        try:
            records = [t for t in resolver.txt("_dmarc." + name) if t.startswith("v=DMARC1")]
        except DnsOutcome:
            continue
        if records:
            for tag in records[0].split(";"):
                key, _, value = tag.strip().partition("=")
                if key == "p":
                    return value.strip().lower()
            return "none"
    return ""


def _quote(value: str) -> str:
    # "/" and "=" are tspecials: a value holding them must be a quoted-string (RFC 8601 2.2).
    return f'"{value}"' if any(c in value for c in '/="') else value


def org_results(obs: Observation, authserv_id: str) -> str:
    """Authentication-Results value in the common receiving-MTA form."""
    parts = [authserv_id]
    if obs.dkim:
        parts += [f"dkim={s.result} header.d={s.domain} header.s={s.selector} "
                  f"header.b={_quote(s.b)}" for s in obs.dkim]
    else:
        parts.append("dkim=none (no signatures found)")
    envelope = obs.mail_from or f"postmaster@{obs.helo}"
    parts.append(f"spf={obs.spf} ({authserv_id}: {_spf_words(obs)}) smtp.mailfrom={envelope} "
                 f"smtp.helo={obs.helo}")
    if obs.arc is not None:
        parts.append(f"arc={obs.arc}")
    policy = f" (p={obs.dmarc_policy.upper()})" if obs.dmarc_policy else ""
    parts.append(f"dmarc={obs.dmarc}{policy} header.from={obs.header_from}")
    return ";\r\n\t".join(parts)


def _spf_words(obs: Observation) -> str:
    envelope = obs.mail_from or obs.helo
    if obs.spf == "pass":
        return f"domain of {envelope} designates {obs.ip} as permitted sender"
    if obs.spf in ("fail", "softfail"):
        return f"domain of {envelope} does not designate {obs.ip} as permitted sender"
    return f"{obs.spf} for {envelope} from {obs.ip}"


def exo_results(obs: Observation) -> str:
    """Exchange Online's Authentication-Results: no authserv-id, comments in its own words,
    and its composite authentication (compauth) verdict."""
    parts = [f"spf={obs.spf} (sender IP is {obs.ip}) smtp.mailfrom={obs.spf_domain}"]
    if obs.dkim:
        for s in obs.dkim:
            why = "signature was verified" if s.result == "pass" else "body hash did not verify"
            parts.append(f"dkim={s.result} ({why}) header.d={s.domain}")
    else:
        parts.append("dkim=none (message not signed) header.d=none")
    action = "none" if obs.dmarc != "fail" else ("oreject" if obs.dmarc_policy == "reject"
                                                  else "quarantine")
    parts.append(f"dmarc={obs.dmarc} action={action} header.from={obs.header_from}")
    compauth = {"pass": "pass reason=100", "fail": "fail reason=000"}.get(obs.dmarc,
                                                                        "softpass reason=201")
    parts.append(f"compauth={compauth}")
    return "; ".join(parts[:2]) + ";" + ";".join(parts[2:])


def _received(from_part: str, by_part: str, when: datetime) -> bytes:
    return header_field("Received", f"{from_part} by {by_part}; {rfc5322_date(when)}")


def receive(message: bytes, *, resolver: Resolver, origin: Origin, receiver: Receiver,
            recipient: str, when: datetime, rng: random.Random,
            observation: Observation | None = None, final: bool = True) -> bytes:
    """``message`` as it sits in the recipient's mailbox after ``receiver`` accepted it from
    ``origin`` at ``when``. ``final`` False: a relay on the way (a mailing list), which adds its
    Authentication-Results and Received but no Return-Path or local delivery hop."""
    obs = observation or observe(message, resolver=resolver, origin=origin)
    queue_id = f"{rng.getrandbits(40):010X}"
    inbound = (f"from {origin.helo} ({origin.helo} [{origin.ip}])")
    if receiver.style == "org":
        relay = [
            b"Authentication-Results: " + org_results(obs, receiver.authserv_id).encode("ascii")
            + CRLF,
            _received(f"{inbound} (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
                      "(256/256 bits))",
                      f"{receiver.mx_host} (Postfix) with ESMTPS id {queue_id} "
                      f"for <{recipient}>", when),
        ]
        if not final:
            return b"".join(relay) + message
        top = [
            header_field("Return-Path", f"<{origin.mail_from}>"),
            _received(f"from {receiver.mx_host} ({receiver.mx_host} [{receiver.mx_ip}])",
                      f"{receiver.mailbox_host} (Postfix) with LMTP id {queue_id[::-1]} "
                      f"for <{recipient}>", when + timedelta(seconds=2)),
        ]
        return b"".join(top + relay) + message
    exo_id = "15.20.9115.20"
    edge = receiver.mx_host
    frontend = "BN9PR03CA0512.namprd03.prod.outlook.com"
    top = [
        header_field("Return-Path", f"<{origin.mail_from}>"),
        _received(f"from {frontend} (2603:10b6:408:131::7)",
                  f"{receiver.mailbox_host} (2603:10b6:806:22b::9) with Microsoft SMTP Server "
                  "(version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) "
                  f"id {exo_id}", when + timedelta(seconds=1)),
        _received(f"from {edge.split('.')[0]}.namprd04.prod.outlook.com "
                  "(2603:10b6:408:131:cafe::4e)",
                  f"{frontend} (2603:10b6:408:131::7) with Microsoft SMTP Server "
                  "(version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) "
                  f"id {exo_id} via Frontend Transport", when + timedelta(seconds=1)),
        header_field("Authentication-Results", exo_results(obs)),
        header_field("Received-SPF", _received_spf(obs)),
        _received(f"from {origin.helo} ({origin.ip})",
                  f"{edge} ({receiver.mx_ip}) with Microsoft SMTP Server "
                  "(version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) "
                  f"id {exo_id} via Frontend Transport", when),
    ]
    bottom = [
        header_field("X-MS-Exchange-Organization-AuthSource",
                     f"{edge.split('.')[0]}.namprd04.prod.outlook.com"),
        header_field("X-MS-Exchange-Organization-AuthAs", "Anonymous"),
        header_field("X-Forefront-Antispam-Report",
                     f"CIP:{origin.ip};CTRY:US;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;"
                     f"H:{origin.helo};PTR:{origin.helo};CAT:NONE;"
                     "SFS:(13230040)(8096899003)(4022899009);DIR:INB;"),
    ]
    head, _sep, body = message.partition(CRLF + CRLF)
    return b"".join(top) + head + CRLF + b"".join(bottom) + CRLF + body


def _received_spf(obs: Observation) -> str:
    verdict = obs.spf.capitalize()
    words = _spf_words(obs).replace(obs.mail_from, obs.spf_domain) if obs.mail_from else _spf_words(obs)
    return (f"{verdict} (protection.outlook.com: {words}) "
            f"receiver=protection.outlook.com; client-ip={obs.ip}; helo={obs.helo}; pr=C")
