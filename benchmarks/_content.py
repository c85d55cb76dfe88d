"""Message bodies for the synthetic corpus: plain, alternative and mixed MIME of a chosen size.

Text comes from one pre-wrapped word blob per process, sliced at random line offsets, so a body
of any size costs a slice and a join rather than per-word random draws. No generated body line
starts with "From " (an mbox separator would need quoting, which would change signed bytes).
"""

from __future__ import annotations

import base64
import random

_WORDS = (
    "account", "invoice", "meeting", "agenda", "review", "quarterly", "report", "shipment",
    "order", "customer", "team", "project", "update", "schedule", "budget", "forecast",
    "attached", "please", "find", "below", "regards", "thanks", "contract", "renewal",
    "proposal", "delivery", "warehouse", "payment", "reminder", "subscription", "newsletter",
    "offer", "discount", "event", "webinar", "register", "confirm", "password", "security",
    "notice", "policy", "change", "support", "ticket", "resolved", "feedback", "survey",
    "holiday", "office", "closed", "travel", "booking", "itinerary", "flight", "hotel",
    "receipt", "total", "amount", "due", "statement", "balance", "transfer", "release",
    "notes", "version", "feature", "roadmap", "sprint", "backlog", "deploy", "incident",
    "postmortem", "analysis", "metrics", "dashboard", "onboarding", "training", "session",
    "workshop",
)

_BLOB_LINES: list[str] = []


def _blob() -> list[str]:
    if not _BLOB_LINES:
        rng = random.Random(1234)
        for _ in range(20_000):
            words = rng.choices(_WORDS, k=rng.randint(8, 12))
            words[0] = words[0].capitalize()
            _BLOB_LINES.append(" ".join(words) + ("." if rng.random() < 0.3 else ""))
    return _BLOB_LINES


def text(rng: random.Random, size: int) -> str:
    """About ``size`` bytes of wrapped prose, CRLF line ends, paragraphs every few lines."""
    lines = _blob()
    start = rng.randrange(len(lines))
    out: list[str] = []
    total = 0
    i = start
    while total < size:
        line = lines[i % len(lines)]
        out.append(line)
        total += len(line) + 2
        i += 1
        if i % 7 == 0:
            out.append("")
            total += 2
    return "\r\n".join(out) + "\r\n"


def html(plain: str) -> str:
    paras = [p.replace("\r\n", " ") for p in plain.split("\r\n\r\n") if p.strip()]
    body = "\r\n".join(f"<p>{p}</p>" for p in paras)
    return f"<html><body>\r\n{body}\r\n</body></html>\r\n"


def _b64(data: bytes) -> str:
    enc = base64.b64encode(data).decode("ascii")
    return "\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) + "\r\n"


def mime_body(rng: random.Random, size: int, boundary: str) -> tuple[str, str]:
    """Return (Content-Type header value, body) of roughly ``size`` bytes."""
    roll = rng.random()
    if (size > 60_000 and roll < 0.6) or roll < 0.12:
        text_part = text(rng, min(size // 5, 6_000))
        raw_len = max(256, (size - len(text_part)) * 3 // 4)
        attachment = _b64(rng.randbytes(raw_len))
        body = (
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{text_part}"
            f"--{boundary}\r\nContent-Type: application/pdf; name=\"document.pdf\"\r\n"
            f"Content-Disposition: attachment; filename=\"document.pdf\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}--{boundary}--\r\n"
        )
        return f'multipart/mixed; boundary="{boundary}"', body
    if roll < 0.55:
        plain = text(rng, size * 2 // 5)
        body = (
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{plain}"
            f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n{html(plain)}--{boundary}--\r\n"
        )
        return f'multipart/alternative; boundary="{boundary}"', body
    return "text/plain; charset=utf-8", text(rng, size)


# Microsoft notification senders whose free-text fields (tenant, team, alert names) get abused.
# Names follow the project's Microsoft sender notes (shared/microsoft/SENDERS.md) as the samples
# do; the keys and DNS records are the corpus's own.
MS_SENDERS = (
    ("Microsoft", "msonlineservicesteam@microsoftonline.com", "microsoftonline.com"),
    ("Microsoft Teams", "no-reply@teams.mail.microsoft", "teams.mail.microsoft"),
    ("Microsoft Azure", "azure-noreply@microsoft.com", "microsoft.com"),
)

_GENUINE_ORGS = ("Contoso Ltd", "Fabrikam Inc", "Northwind Traders", "Adventure Works",
                 "Tailspin Toys", "Woodgrove Bank")
_SCAM_ORGS = (
    "Your order of $499.99 is confirmed call +1 (808) 555-0147 to cancel",
    "PayPal billing dept. refund $1,299.00 call 1-888-555-0199",
    "Norton renewal charged USD 349.95 dispute at +1 844 555 0123",
    "Geek Squad auto-renew $399 contact support +1-877-555-0111 now",
)


_MS_FOOTER = (
    "Privacy Statement\r\nMicrosoft Corporation, One Microsoft Way, Redmond, WA 98052\r\n\r\n"
    "This message was sent from an unmonitored email address. Please do not reply to this "
    "message.\r\n"
)


def ms_mime(rng: random.Random, body: str, boundary: str) -> tuple[str, str]:
    """Notification text as text/plain + a styled text/html alternative, as the platform sends."""
    plain = body + "\r\n" + _MS_FOOTER
    style = "<style>" + "".join(f".c{k}{{font-family:Segoe UI;padding:{k}px}}"
                                for k in range(rng.randint(40, 120))) + "</style>"
    alt = (
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 7bit\r\n\r\n{plain}"
        f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 7bit\r\n\r\n{style}\r\n{html(plain)}--{boundary}--\r\n"
    )
    return f'multipart/alternative; boundary="{boundary}"', alt


def ms_notification(rng: random.Random, abused: bool) -> tuple[str, str, str, str, str]:
    """(display name, address, signing domain, subject, plain body) of a Microsoft notification."""
    name, addr, domain = rng.choice(MS_SENDERS)
    org = rng.choice(_SCAM_ORGS if abused else _GENUINE_ORGS)
    code = f"{rng.randrange(10**6):06d}"
    if "teams" in domain:
        subject = f"You have been added to {org} in Microsoft Teams"
        body = (f"You have been added to a team in Microsoft Teams\r\n\r\n"
                f"Team: {org}\r\n\r\nOpen Microsoft Teams to get started.\r\n")
    elif domain == "microsoft.com":
        subject = f"Azure Monitor alert '{org}' was activated"
        body = (f"Your Azure Monitor alert was triggered\r\n\r\nAlert rule: {org}\r\n"
                f"Severity: Sev3\r\n\r\nView the alert in the Azure portal.\r\n")
    else:
        subject = f"{org} account email verification code"
        body = (f"Please use the following code to verify the email address for the {org} "
                f"account.\r\n\r\nVerification code: {code}\r\n\r\nThanks,\r\n"
                f"The Microsoft account team\r\n")
    return name, addr, domain, subject, body
