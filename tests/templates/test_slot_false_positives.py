"""Ordinary names that once looked hostile to the slot checks (found by benchmarks/eval_templates.py)."""

from __future__ import annotations

import pytest

from mailaudit.templates.catalog import load_catalog
from mailaudit.templates.slots import check_slot


@pytest.mark.parametrize(("template_id", "slot", "value"), [
    ("entra.email-verification-code", "tenant", "St. Mary's Hospital"),
    ("entra.email-verification-code", "tenant", "Dr. Priya Raman Clinic"),
    ("billing.invoice-available", "org", "Müller & Söhne GmbH & Co. KG"),
    ("teams.guest-invitation", "team", "Sales – EMEA"),
    ("teams.guest-invitation", "team", "Design — Review"),
])
def test_ordinary_names_fit_their_slot(template_id: str, slot: str, value: str) -> None:
    spec = load_catalog().template(template_id).slots[slot]
    result = check_slot(spec.name, spec.type, value, spec.params, user_controlled=True)
    assert not result.hostile, result.problems


def test_two_real_sentences_are_still_seen() -> None:
    spec = load_catalog().template("entra.email-verification-code").slots["tenant"]
    value = "Your order was completed through PayPal. Reach Support to cancel"
    result = check_slot(spec.name, spec.type, value, spec.params, user_controlled=True)
    assert "more than one sentence" in result.problems
