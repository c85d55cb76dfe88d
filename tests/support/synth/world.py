"""The small made-up internet the samples live in: who signs with which key under which
selector, which hosts and IPs send, and who receives.

Microsoft's names and selectors follow /work/shared/microsoft/SENDERS.md where it knows them
(``s1024-meo`` on microsoft.com, the two outbound hosts and their IPs, ``selector2`` and
``arcselector9901`` for mail re-sent through Microsoft's own Exchange Online). Where it says
"unknown" (microsoftonline.com, teams.mail.microsoft, ...) the samples assume the same
notification platform and selector ``s1024-meo``; that is a guess, marked INFERRED below. Every
other party uses reserved names (``.example``) or documentation IPs (RFC 5737), except the
look-alike domain, which has to look like the real one to make its point.
"""

from __future__ import annotations

from dataclasses import dataclass

# name -> kind. The PEM files under samples/keys/ carry these names.
KEYS: dict[str, str] = {
    "microsoft-s1024-meo": "rsa1024",  # Microsoft's notification platform (1024-bit, as seen)
    "microsoft-exo": "rsa2048",  # Microsoft's own Exchange Online tenant (selector1/2, ARC)
    "contoso-mail": "rsa2048",  # the receiving organisation's own outbound mail
    "lists-fabrikam": "rsa2048",  # the mailing list: its DKIM signature and ARC seal
    "northwind-rsa": "rsa2048",  # an unrelated legitimate sender, dual-signed (RFC 8463)
    "northwind-ed25519": "ed25519",
    "lookalike": "rsa2048",  # microsoftonIine-security.com, which authenticates for itself
    "mail-notify": "rsa2048",  # the free-mail-like domain of the display-name spoof
}

PLATFORM_SELECTOR = "s1024-meo"
PLATFORM_KEY = "microsoft-s1024-meo"


@dataclass(frozen=True, slots=True)
class Signer:
    domain: str
    selector: str
    key: str  # name in KEYS
    inferred: bool = False  # selector/domain pairing not seen in a real sample

    @property
    def dns_name(self) -> str:
        return f"{self.selector}._domainkey.{self.domain}"


MICROSOFT = Signer("microsoft.com", PLATFORM_SELECTOR, PLATFORM_KEY)
MICROSOFT_SELECTOR1 = Signer("microsoft.com", "selector1", "microsoft-exo")
MICROSOFT_SELECTOR2 = Signer("microsoft.com", "selector2", "microsoft-exo")
MICROSOFT_ARC = Signer("microsoft.com", "arcselector9901", "microsoft-exo")
CONTOSO = Signer("contoso-mail.example", "mail2026", "contoso-mail")
LIST_DKIM = Signer("lists.fabrikam.example", "list", "lists-fabrikam")
LIST_ARC = Signer("lists.fabrikam.example", "arc2026", "lists-fabrikam")
NORTHWIND_RSA = Signer("northwind-traders.example", "rsa2026", "northwind-rsa")
NORTHWIND_ED = Signer("northwind-traders.example", "ed2026", "northwind-ed25519")
LOOKALIKE = Signer("microsoftonIine-security.com", "default", "lookalike")
MAIL_NOTIFY = Signer("mail-notify.example", "s1", "mail-notify")

FIXED_SIGNERS = (MICROSOFT, MICROSOFT_SELECTOR1, MICROSOFT_SELECTOR2, MICROSOFT_ARC, CONTOSO,
                 LIST_DKIM, LIST_ARC, NORTHWIND_RSA, NORTHWIND_ED, LOOKALIKE, MAIL_NOTIFY)


def platform_signer(domain: str) -> Signer:
    """The signer for a Microsoft notification domain. Only microsoft.com's s1024-meo is seen in
    real mail; for other domains the selector is INFERRED (same platform, same selector)."""
    domain = domain.lower()
    if domain == MICROSOFT.domain:
        return MICROSOFT
    return Signer(domain, PLATFORM_SELECTOR, PLATFORM_KEY, inferred=True)


@dataclass(frozen=True, slots=True)
class Origin:
    """The host that hands a message to the receiving organisation."""

    helo: str
    ip: str
    mail_from: str  # envelope sender, shown as Return-Path


# SENDERS.md 0.1: the two outbound hosts seen in real Microsoft notification mail, and the
# envelope sender they use even when From is another microsoft.com address.
MS_WESTUS3 = Origin("mail-nam-cu06-usw3.westus3.cloudapp.azure.com", "20.118.139.208",
                    "azure-noreply@microsoft.com")
MS_EASTUS = Origin("mail-nam-cu05-bl.eastus.cloudapp.azure.com", "20.88.157.186",
                   "azure-noreply@microsoft.com")
MS_IPS = (MS_WESTUS3.ip, MS_EASTUS.ip)


def ms_origin(mail_from: str, *, east: bool = False) -> Origin:
    base = MS_EASTUS if east else MS_WESTUS3
    return Origin(base.helo, base.ip, mail_from)


# Envelope sender per From domain for Microsoft mail. microsoft.com mail uses azure-noreply@
# (seen); for other domains the real envelope is unknown, so the samples use the From address
# itself (INFERRED), which keeps SPF aligned the way the platform would need it to be.
def ms_envelope(from_address: str) -> str:
    domain = from_address.rpartition("@")[2].lower()
    return MS_WESTUS3.mail_from if domain == "microsoft.com" else from_address


CONTOSO_OUT = Origin("smtp-out.contoso-mail.example", "192.0.2.10", "")
LIST_OUT = Origin("mx1.lists.fabrikam.example", "198.51.100.40", "")
NORTHWIND_OUT = Origin("mail.northwind-traders.example", "198.51.100.77",
                       "bounces@northwind-traders.example")
LOOKALIKE_OUT = Origin("mail.microsoftonIine-security.com", "203.0.113.45",
                       "bounce@microsoftonIine-security.com")
MAIL_NOTIFY_OUT = Origin("out-07.mail-notify.example", "203.0.113.88",
                         "security-alert@mail-notify.example")


@dataclass(frozen=True, slots=True)
class Receiver:
    """Who received the message and wrote Authentication-Results.

    ``style`` "org": the organisation's own MX with its own authserv-id. "exo": Exchange Online,
    which writes Authentication-Results without an authserv-id plus Received-SPF and
    X-Forefront-Antispam-Report.
    """

    style: str
    authserv_id: str
    mx_host: str
    mx_ip: str
    mailbox_host: str
    domain: str  # the recipients' domain


CONTOSO_MX = Receiver("org", "mx.contoso-mail.example", "mx.contoso-mail.example", "192.0.2.25",
                      "mbox.contoso-mail.example", "contoso-mail.example")
TAILSPIN_EXO = Receiver("exo", "", "BN2PEPF000044A8.mail.protection.outlook.com",
                        "10.167.243.159", "SA1PR19MB5601.namprd19.prod.outlook.com",
                        "tailspin-toys.example")
LIST_MX = Receiver("org", "lists.fabrikam.example", "mx1.lists.fabrikam.example", "198.51.100.40",
                   "", "lists.fabrikam.example")
