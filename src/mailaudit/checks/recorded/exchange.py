"""Exchange Online's own records: X-Forefront-Antispam-Report, X-Microsoft-Antispam and the
X-MS-Exchange-Organization-* headers.

Exchange appends these at the bottom of the header block, not the top, so position says nothing
about who wrote them. What makes them the receiver's is that Exchange renames an incoming
X-Forefront-Antispam-Report / X-Microsoft-Antispam to ``...-Untrusted`` and strips incoming
X-MS-Exchange-Organization-* at the organisation boundary. They are therefore read only when the
receiving organisation is Microsoft's, and only the exact names.
"""

from __future__ import annotations

from mailaudit.parse.message import ParsedMessage

# privatesuffix() of the host names Exchange Online uses in Received "by" clauses and in
# Received-SPF receiver=.
MICROSOFT_ORGS = frozenset({
    "outlook.com", "office365.com", "exchangelabs.com", "microsoft.com", "office.com",
    "hotmail.com", "live.com", "outlook.cn", "office365.us", "office365.cn", "chinacloudapi.cn",
})
_ORG_PREFIX = "x-ms-exchange-organization-"
_MAX_KEYS = 100
_MAX_VALUE = 300


def parse_colon_list(value: str) -> dict[str, str]:
    """``KEY:value;KEY:value`` (X-Forefront-Antispam-Report, X-Microsoft-Antispam). The first
    ":" splits, so IPv6 values (``CIP:2a01:111::1``) stay whole."""
    out: dict[str, str] = {}
    for item in value.split(";"):
        key, sep, val = item.partition(":")
        key = key.strip()
        if not sep or not key or len(key) > 40:
            continue
        out.setdefault(key.upper() if len(key) <= 4 else key, val.strip()[:_MAX_VALUE])
        if len(out) >= _MAX_KEYS:
            break
    return out


def read_microsoft(msg: ParsedMessage) -> dict[str, str]:
    """Everything the receiving Exchange Online tenant wrote about the message, flattened.

    Keys: X-Forefront-Antispam-Report entries as written (CIP, SFV, SCL, CAT, PTR, H, CTRY,
    LANG, IPV, SFS, DIR, ...), X-Microsoft-Antispam entries (BCL, ...), and each
    X-MS-Exchange-Organization-<Name> as <Name> (AuthAs, AuthSource, SCL when Forefront gave
    none, ...). The topmost instance of each header counts.
    """
    out: dict[str, str] = {}
    forefront = msg.get("x-forefront-antispam-report")
    if forefront:
        out.update(parse_colon_list(forefront))
    antispam = msg.get("x-microsoft-antispam")
    if antispam:
        for key, val in parse_colon_list(antispam).items():
            out.setdefault(key, val)
    seen: set[str] = set()
    for h in msg.headers:
        if h.lname.startswith(_ORG_PREFIX) and h.lname not in seen and len(out) < _MAX_KEYS:
            seen.add(h.lname)
            out.setdefault(h.name[len(_ORG_PREFIX):], h.value[:_MAX_VALUE])
    return out
