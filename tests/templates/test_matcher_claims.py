"""claim_of: which catalogued sender a From claims to be, and the false positives to avoid."""

from __future__ import annotations

import pytest

from mailaudit.templates.catalog import load_catalog
from mailaudit.templates.claims import claim_of
from support.templates_msgs import message

CAT = load_catalog()


def claim(from_: str) -> tuple[str, str] | None:
    c = claim_of(message(from_=from_, subject="s", text="t"), CAT)
    return None if c is None else (c.sender.id, c.kind)


def test_exact_address_any_case() -> None:
    assert claim("Microsoft <MSOnlineServicesTeam@MicrosoftOnline.com>") == (
        "entra-email-otp", "address")


@pytest.mark.parametrize("from_", [
    "Jane Doe <jane.doe@microsoft.com>",
    "Microsoft Store <promo@microsoftstoreemail.com>",
    "Microsoft <someone@microsoft.com>",
    "Bob <bob@contoso.onmicrosoft.com>",
    "Alice <alice@example.org>",
    "Carol <carol@fabrikam.example>",
], ids=["person-at-microsoft", "store", "uncatalogued-ms-address", "tenant-domain",
        "ordinary", "ordinary-2"])
def test_not_claims(from_: str) -> None:
    assert claim(from_) is None


@pytest.mark.parametrize("from_, sender", [
    ("Microsoft on behalf of Contoso <otp@evil.example>", "entra-email-otp"),
    ("Microsoft <billing@contoso.onmicrosoft.com>", "m365-billing"),
    ("Microsoft Teams <noreply@teams-notify.example>", "teams-notifications"),
    ("Micros0ft Security <x@evil.example>", "entra-security"),
    ("M\u0456crosoft account team <x@evil.example>", "msa-account-security"),
    ("Microsoft 365 Billing Support <x@evil.example>", None),
], ids=["on-behalf-of", "onmicrosoft-tenant", "teams", "digit-swap", "homoglyph", "generic"])
def test_display_name_claims(from_: str, sender: str | None) -> None:
    got = claim(from_)
    assert got is not None and got[1] == "display-name"
    if sender is not None:
        assert got[0] == sender


@pytest.mark.parametrize("domain", [
    "rnicrosoft.com", "micros0ft.com", "microsfot.com", "mircosoft.com", "microsoft-support.com",
    "microsoftonline-security.net", "microsoft.com.account-check.net", "xn--mcrosoft-0ya.com",
    "microsoft.co", "windowsazure-alerts.net",
])
def test_lookalike_domains(domain: str) -> None:
    got = claim(f"Billing <noreply@{domain}>")
    assert got is not None and got[1] == "lookalike-domain", domain


def test_lookalike_picks_closest_sender() -> None:
    assert claim("x <a@microsoftonline-security.net>") == ("entra-email-otp", "lookalike-domain")


@pytest.mark.parametrize("domain", ["macro.example", "soft.example", "office-depot.example",
                                    "example.com", "microscope.example"])
def test_unrelated_domains(domain: str) -> None:
    assert claim(f"Someone <a@{domain}>") is None


def test_no_from() -> None:
    msg = message(from_="", subject="s", text="t")
    assert claim_of(msg, CAT) is None


def test_lookalike_answers_are_kept_per_domain_and_only_for_dns_names() -> None:
    from mailaudit.templates.catalog import Catalog, _builtin_files, load_file, merge

    fresh = Catalog(merge([load_file(path, label) for path, label in _builtin_files()]))
    for local in ("a", "b", "c"):  # three addresses, one domain: one look-alike answer kept
        c = claim_of(message(from_=f"x <{local}@micros0ft-billing.example>", subject="s",
                             text="t"), fresh)
        assert c is not None and c.kind == "lookalike-domain"
    assert {d for d, _ in fresh._lookalikes} == {"micros0ft-billing.example"}
    long_domain = "a" * 300 + ".example"
    assert claim_of(message(from_=f"x <a@{long_domain}>", subject="s", text="t"), fresh) is None
    assert all(len(d) <= 253 for d, _ in fresh._lookalikes)
