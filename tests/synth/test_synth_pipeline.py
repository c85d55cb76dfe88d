"""Every template's generated messages through the whole pipeline, offline: genuine ones are
authentic, abused ones (plain and obfuscated lures) are abused. Also the bundled samples'
expected verdicts, including the message attached to the "report phishing" forward."""

from __future__ import annotations

import pytest

from mailaudit.dns.snapshot import SnapshotResolver
from mailaudit.model import MessageRef, RawMessage
from support.paths import REPO
from support.synth.notify import Workshop, open_workshop
from support.synth.samples import expected_verdicts
from support.synth.templates import TemplateCase, iter_template_cases

SAMPLES = REPO / "samples"
audit = pytest.importorskip("mailaudit.audit")

_SHOP: Workshop = open_workshop(SAMPLES / "keys" if (SAMPLES / "keys").is_dir() else None)
_CASES = list(iter_template_cases(_SHOP))


@pytest.mark.parametrize("case", _CASES, ids=[c.case_id for c in _CASES])
def test_template_case_verdict(case: TemplateCase) -> None:
    result = audit.audit_message(case.raw, resolver=_SHOP.resolver, catalog=_SHOP.catalog)
    assert str(result.verdict) == case.expected_verdict, result.reason


@pytest.mark.skipif(not (SAMPLES / "dns.json").is_file(), reason="samples/ not built")
@pytest.mark.parametrize("name", list(expected_verdicts()))
def test_sample_verdict(name: str) -> None:
    resolver = SnapshotResolver.from_file(SAMPLES / "dns.json")
    raw = (SAMPLES / name).read_bytes()
    results = audit.audit_item(RawMessage(MessageRef(name), raw), resolver=resolver,
                               catalog=_SHOP.catalog)
    assert str(results[0].verdict) == expected_verdicts()[name], results[0].reason
    attached = [str(r.verdict) for r in results[1:]]
    assert attached == (["abused"] if name.startswith("12-") else [])
