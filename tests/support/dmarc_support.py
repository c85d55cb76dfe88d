"""Helpers for the DMARC tests: parse a message, run dkimpy directly, read a BIND-like zone."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mailaudit.model import CheckResult
from mailaudit.parse.message import ParsedMessage
from support.paths import CORPORA

CORPORA = CORPORA


def parse(raw: bytes) -> ParsedMessage:
    """Through the project's parser when it is available, else from its header pieces."""
    try:
        from mailaudit.parse import parse_message  # type: ignore[attr-defined]
    except ImportError:
        parse_message = None
    if parse_message is not None:
        msg: ParsedMessage = parse_message(raw)
        return msg
    from mailaudit.parse.addresses import parse_address, parse_address_list
    from mailaudit.parse.headers import split_headers
    from mailaudit.parse.received import parse_received

    headers, offset, _ = split_headers(raw)
    from_: list[Any] = []
    for h in headers:
        if h.lname == "from":
            from_.extend(parse_address_list(h.value)[0])
    rp = next((h.value for h in headers if h.lname == "return-path"), None)
    return_path = parse_address(rp)[0] if rp is not None else None
    received = tuple(parse_received(h.value, i)
                     for i, h in enumerate(h for h in headers if h.lname == "received"))
    return ParsedMessage(raw=raw, headers=headers, from_=tuple(from_), return_path=return_path,
                         received=received, body_offset=offset)


def dkim_results(raw: bytes, txt: Callable[[str], str | None]) -> list[CheckResult]:
    """One result per DKIM-Signature, verified by dkimpy with ``txt`` as its DNS."""
    import dkim

    def dnsfunc(name: Any, timeout: int = 5) -> bytes | None:
        key = name.decode() if isinstance(name, bytes) else str(name)
        value = txt(key.rstrip(".").lower())
        return value.encode() if value is not None else None

    results = []
    verifier = dkim.DKIM(raw)
    count = sum(1 for h in verifier.headers if h[0].lower() == b"dkim-signature")
    for idx in range(count):
        tags = dkim.util.parse_tag_value(
            [v for n, v in verifier.headers if n.lower() == b"dkim-signature"][idx])
        d = tags.get(b"d", b"").decode(errors="replace")
        try:
            ok = dkim.DKIM(raw).verify(idx=idx, dnsfunc=dnsfunc)
        except Exception:
            ok = False
        results.append(CheckResult("dkim", "pass" if ok else "fail", props={"header.d": d}))
    return results


def prev_dkim_results(header: str) -> list[CheckResult]:
    """dkim=... clauses of an Authentication-Results header, as DKIM results."""
    out = []
    for clause in header.split(";")[1:]:
        words = clause.split()
        if words and words[0].startswith("dkim="):
            props = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            out.append(CheckResult("dkim", words[0][5:], props={"header.d": props.get(
                "header.d", "")}))
    return out


def read_zonefile(path: Path) -> dict[str, Any]:
    """A BIND-like zone as snapshot records. ``;ERROR,name,type,NXDOMAIN`` lines make the name
    NXDOMAIN (IP names are turned into their reverse names)."""
    records: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(";ERROR,"):
            _, name, rdtype, code = line.split(",")
            if re.fullmatch(r"[0-9.]+", name) and rdtype == "PTR":
                name = ".".join(reversed(name.split("."))) + ".in-addr.arpa"
            if code == "NXDOMAIN":
                records[name.lower()] = "NXDOMAIN"
            continue
        if not line.strip() or line.startswith(";"):
            continue
        words = line.split(None, 1)
        name, rest = words[0].rstrip(".").lower(), (words[1] if len(words) > 1 else "")
        tokens = rest.split(None, 3)
        while tokens and (tokens[0].isdigit() or tokens[0] == "IN"):
            rest = rest.split(None, 1)[1] if " " in rest.strip() or "\t" in rest.strip() else ""
            tokens = rest.split(None, 3)
        if not tokens:
            continue
        rdtype = tokens[0]
        data = rest.split(None, 1)[1].strip() if len(rest.split(None, 1)) > 1 else ""
        entry = records.setdefault(name, {})
        if isinstance(entry, str):
            continue
        values = entry.setdefault(rdtype, [])
        if not data:
            continue
        if rdtype == "TXT":
            values.append("".join(shlex.split(data.strip("() \t"))))
        elif rdtype == "MX":
            pref, host = data.split()
            values.append([int(pref), host.rstrip(".")])
        elif rdtype in ("A", "AAAA", "PTR", "CNAME"):
            values.append(data.split()[0].rstrip("."))
    for entry in records.values():
        if isinstance(entry, dict):
            entry.pop("NS", None)
    return records


def txt_from_records(records: Mapping[str, Any]) -> Callable[[str], str | None]:
    def txt(name: str) -> str | None:
        entry = records.get(name)
        if isinstance(entry, dict) and entry.get("TXT"):
            return str(entry["TXT"][0])
        return None

    return txt
