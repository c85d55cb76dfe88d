"""mailaudit: audit email authentication and catch genuine notifications carrying someone else's words.

The library API is what ``__all__`` names (see docs/api.md); every other module is internal and
may change between releases. Names are imported on first use, so ``import mailaudit`` (and the
command line's start-up) stays cheap.
"""

from __future__ import annotations

__version__ = "0.2.0"

# Not ``typing.TYPE_CHECKING``: ``mailaudit --version`` imports this module and nothing else,
# and typing would be most of its cost. Type checkers treat the name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from mailaudit.audit import audit_item, audit_message
    from mailaudit.dns.base import DnsOutcome, NoData, NotCaptured, NXDomain, Resolver, TempFail
    from mailaudit.dns.live import LiveResolver
    from mailaudit.dns.snapshot import SnapshotResolver
    from mailaudit.errors import MailauditError
    from mailaudit.model import (
        AuditResult,
        AuthReport,
        CheckResult,
        Finding,
        MessageRef,
        RawMessage,
        Severity,
        SourceError,
        Verdict,
    )
    from mailaudit.options import AuditOptions, Limits
    from mailaudit.sources import iter_messages
    from mailaudit.templates.catalog import Catalog, load_catalog

# name -> module that defines it
_EXPORTS = {
    "audit_message": "mailaudit.audit",
    "audit_item": "mailaudit.audit",
    "iter_messages": "mailaudit.sources",
    "load_catalog": "mailaudit.templates.catalog",
    "Catalog": "mailaudit.templates.catalog",
    "AuditOptions": "mailaudit.options",
    "Limits": "mailaudit.options",
    "AuditResult": "mailaudit.model",
    "AuthReport": "mailaudit.model",
    "CheckResult": "mailaudit.model",
    "Finding": "mailaudit.model",
    "MessageRef": "mailaudit.model",
    "RawMessage": "mailaudit.model",
    "Severity": "mailaudit.model",
    "SourceError": "mailaudit.model",
    "Verdict": "mailaudit.model",
    "Resolver": "mailaudit.dns.base",
    "DnsOutcome": "mailaudit.dns.base",
    "NXDomain": "mailaudit.dns.base",
    "NoData": "mailaudit.dns.base",
    "TempFail": "mailaudit.dns.base",
    "NotCaptured": "mailaudit.dns.base",
    "LiveResolver": "mailaudit.dns.live",
    "SnapshotResolver": "mailaudit.dns.snapshot",
    "MailauditError": "mailaudit.errors",
}

__all__ = [
    "AuditOptions",
    "AuditResult",
    "AuthReport",
    "Catalog",
    "CheckResult",
    "DnsOutcome",
    "Finding",
    "Limits",
    "LiveResolver",
    "MailauditError",
    "MessageRef",
    "NXDomain",
    "NoData",
    "NotCaptured",
    "RawMessage",
    "Resolver",
    "Severity",
    "SnapshotResolver",
    "SourceError",
    "TempFail",
    "Verdict",
    "__version__",
    "audit_item",
    "audit_message",
    "iter_messages",
    "load_catalog",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mailaudit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
