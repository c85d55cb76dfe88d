"""Exchange Online's own records: X-Forefront-Antispam-Report, X-Microsoft-Antispam and the
X-MS-Exchange-Organization-* headers.

Exchange appends these at the bottom of the header block, not the top, so position says nothing
about who wrote them. What makes them the receiver's is that Exchange renames an incoming
X-Forefront-Antispam-Report / X-Microsoft-Antispam to ``...-Untrusted`` and strips incoming
X-MS-Exchange-Organization-* at the organisation boundary. They are therefore read only when the
receiving organisation is Microsoft's, and only the exact names.
"""

from __future__ import annotations

from mailaudit.model import ExchangeVerdict
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


# --- Exchange Online's own verdict, in plain words -------------------------------------------
# Meanings from Microsoft's "Anti-spam message headers in Microsoft 365" and the tables of
# decode-spam-headers (mgeeky), which collects them with the values seen in the field.

_SFV = {
    "SPM": "spam filtering marked it spam",
    "NSPM": "spam filtering found it not spam",
    "SKS": "a mail flow rule marked it spam before spam filtering",
    "SKN": "a mail flow rule marked it not spam before spam filtering (SCL -1, bypass)",
    "SKA": "it skipped spam filtering: the sender is on an allowed list of an anti-spam policy",
    "SKB": "the sender is on a blocked list of an anti-spam policy",
    "SKI": "it skipped spam filtering for another reason (e.g. mail inside the tenant)",
    "SKQ": "it was released from quarantine",
    "SFE": "it skipped spam filtering: the sender is on the recipient's Safe Senders list",
    "BLK": "the sender is on the recipient's Blocked Senders list",
}
_SPAM_SFV = {"SPM", "SKS", "SKB", "BLK"}
_CLEAN_SFV = {"NSPM", "SKN", "SKA", "SFE", "SKI"}
_CAT = {
    "BULK": "bulk mail", "DIMP": "domain impersonation",
    "GIMP": "mailbox-intelligence impersonation", "HPHSH": "high-confidence phishing",
    "HPHISH": "high-confidence phishing", "HSPM": "high-confidence spam", "MALW": "malware",
    "PHSH": "phishing", "SPM": "spam", "SPOOF": "spoofing", "UIMP": "user impersonation",
    "AMP": "anti-malware", "SAP": "safe attachments", "OSPM": "outbound spam",
    "INTOS": "intra-organisation phishing",
}
_SPAM_CAT = {"DIMP", "GIMP", "HPHSH", "HPHISH", "HSPM", "MALW", "PHSH", "SPM", "SPOOF",
             "UIMP", "OSPM", "INTOS"}
_SFTY = {
    "9.11": "intra-organisation spoofing (the From domain is one of the recipient's own)",
    "9.19": "domain impersonation (the sending domain imitates a protected domain)",
    "9.20": "user impersonation (the sender imitates a user of the recipient's organisation)",
    "9.22": "cross-domain spoofing",
}
_IPV = {"CAL": "the connecting IP is on an allowed list",
        "NLI": "the connecting IP is on no IP reputation list"}
_DIR = {"INB": "inbound", "OUT": "outbound", "OUB": "outbound", "OTB": "outbound",
        "INT": "internal"}
_AUTH_AS = {"anonymous": "from outside the organisation, not authenticated",
            "internal": "by an authenticated sender inside the organisation",
            "partner": "from a partner organisation (TLS-secured connector)",
            "external": "from an authenticated external sender"}


def _compauth_reason(result: str, reason: str) -> str:
    """RFC-less, Microsoft's own: the three digits of ``compauth=... reason=NNN``."""
    code = reason.strip()
    if not (len(code) == 3 and code.isascii() and code.isdigit()):
        return ""
    exact = {
        "000": "failed explicit authentication (DMARC failed with a quarantine or reject "
               "policy)",
        "001": "failed implicit authentication (no DMARC policy that could pass, and "
               "Microsoft's own sender checks failed)",
        "002": "the organisation forbids this sender/domain pair from sending spoofed mail",
        "010": "failed DMARC (quarantine or reject) and the From domain is one of the "
               "recipient organisation's own",
    }
    if code in exact:
        return exact[code]
    first = code[0]
    return {
        "1": "passed composite authentication", "7": "passed composite authentication",
        "2": "soft-passed implicit authentication",
        "3": "not checked for composite authentication",
        "4": "composite authentication bypassed", "9": "composite authentication bypassed",
        "6": "failed implicit authentication and the From domain is one of the recipient "
             "organisation's own (intra-organisation spoofing)",
    }.get(first, "")


def _int(value: str | None) -> int | None:
    text = (value or "").strip()
    if text[:1] == "-" and text[1:].isascii() and text[1:].isdigit() and len(text) < 4:
        return -int(text[1:])
    if text.isascii() and text.isdigit() and len(text) < 4:
        return int(text)
    return None


_CROSS_TENANT = "x-ms-exchange-crosstenant-"


def sending_tenant(msg: ParsedMessage) -> tuple[str, dict[str, str]]:
    """The tenant Exchange Online attributes the message to: X-OriginatorOrg (its domain) or
    X-MS-Exchange-CrossTenant-Id (its id), with the cross-tenant headers read."""
    fields: dict[str, str] = {}
    for h in msg.headers:
        if h.lname.startswith(_CROSS_TENANT) and len(fields) < 20:
            fields.setdefault("CrossTenant-" + h.name[len(_CROSS_TENANT):],
                              h.value.strip()[:_MAX_VALUE])
    origin = (msg.get("x-originatororg") or "").strip()[:_MAX_VALUE]
    if origin:
        fields["OriginatorOrg"] = origin
    tenant = origin or fields.get("CrossTenant-Id", "")
    return tenant, fields


def decode_exchange(microsoft: dict[str, str], msg: ParsedMessage) -> ExchangeVerdict | None:
    """Exchange Online's verdict on the message in plain words, from what ``read_microsoft``
    read (and the trusted compauth result). Call only when Exchange Online is the trusted
    receiver: otherwise these headers are whatever the sender wrote."""
    stmts: list[str] = []
    fields: dict[str, str] = {}
    spam: bool | None = None
    scl = _int(microsoft.get("SCL"))
    sfv = microsoft.get("SFV", "").strip().upper()
    cat = microsoft.get("CAT", "").strip().upper()
    for key in ("SCL", "SFV", "CAT", "SFTY", "BCL", "IPV", "CIP", "CTRY", "H", "PTR", "DIR",
                "LANG", "AuthAs", "AuthSource", "compauth", "compauth_reason"):
        if microsoft.get(key):
            fields[key] = microsoft[key]
    tags = ", ".join(x for x in (f"SCL {scl}" if scl is not None else "",
                                 f"SFV:{sfv}" if sfv else "") if x)
    if (scl is not None and scl >= 5) or sfv in _SPAM_SFV:
        spam = True
        level = "high-confidence spam" if scl is not None and scl >= 9 else "spam"
        stmts.append(f"Exchange Online marked this {level} ({tags})")
    elif scl == -1 or sfv in ("SKN", "SKA", "SFE", "SKI"):
        spam = False
        stmts.append(f"Exchange Online did not filter this for spam ({tags})")
    elif (scl is not None and scl <= 4) or sfv == "NSPM":
        spam = False
        stmts.append(f"Exchange Online did not mark this spam ({tags})")
    if sfv in _SFV and sfv not in ("SPM", "NSPM"):  # those two are the headline already
        stmts.append(f"SFV:{sfv}: {_SFV[sfv]}")
    if cat and cat != "NONE":
        stmts.append(f"Exchange Online classified it as {_CAT.get(cat, 'category ' + cat)} "
                     f"(CAT:{cat})")
        if cat in _SPAM_CAT:
            spam = True
    sfty = microsoft.get("SFTY", "").strip()
    if sfty:
        stmts.append(f"safety level SFTY:{sfty}" + (f": {_SFTY[sfty]}" if sfty in _SFTY else ""))
    bcl = _int(microsoft.get("BCL"))
    if bcl is not None and bcl >= 1:
        complaints = "few" if bcl <= 3 else ("a mixed number of" if bcl <= 7 else "many")
        stmts.append(f"bulk mail from a sender that draws {complaints} complaints (BCL {bcl})")
    compauth = microsoft.get("compauth", "").strip().lower()
    if compauth:
        reason = microsoft.get("compauth_reason", "").strip()
        code = reason.removeprefix("reason=").strip()
        meaning = _compauth_reason(compauth, code)
        text = f"compauth={compauth}"
        if code:
            text += f", reason {code}" + (f": {meaning}" if meaning else "")
        stmts.append(text)
    ipv = microsoft.get("IPV", "").strip().upper()
    where = []
    if microsoft.get("CIP"):
        where.append(f"connected from {microsoft['CIP']}")
    if microsoft.get("CTRY"):
        where.append(f"country {microsoft['CTRY']}")
    if microsoft.get("H"):
        where.append(f"HELO {microsoft['H']}")
    if microsoft.get("PTR"):
        where.append(f"PTR {microsoft['PTR']}")
    direction = _DIR.get(microsoft.get("DIR", "").strip().upper())
    if direction:
        where.append(direction)
    if ipv in _IPV:
        where.append(_IPV[ipv])
    if where:
        stmts.append(", ".join(where))
    auth_as = microsoft.get("AuthAs", "").strip()
    if auth_as:
        meaning = _AUTH_AS.get(auth_as.lower(), "")
        stmts.append(f"submitted {meaning} (AuthAs {auth_as})" if meaning
                     else f"AuthAs {auth_as}")
    tenant, cross = sending_tenant(msg)
    fields.update(cross)
    if tenant:
        stmts.append(f"sent from tenant {tenant}")
    if not stmts:
        return None
    return ExchangeVerdict(statements=tuple(stmts), fields=tuple(fields.items()),
                           sending_tenant=tenant, spam=spam)
