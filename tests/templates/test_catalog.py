"""The catalog loads, holds what the research supports, and rejects every kind of mistake
with an error that names file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mailaudit.errors import CatalogError
from mailaudit.templates.catalog import load_catalog
from mailaudit.templates.slots import SLOT_TYPES
from support.paths import REPO

EXAMPLES = REPO / "examples" / "templates"


def test_builtin_catalog_size_and_facts() -> None:
    cat = load_catalog()
    assert len(cat.senders) >= 20
    assert len({t.id for t in cat.templates}) == len(cat.templates)
    for s in cat.senders:
        assert s.brand == "Microsoft" and s.source and s.templates, s.id
        for t in s.templates:
            assert t.evidence in ("SAMPLE", "MS-DOC", "VENDOR", "INFERRED")
            assert t.source and t.examples, t.id


def test_known_abuse_is_catalogued() -> None:
    cat = load_catalog()
    otp = cat.template("entra.email-verification-code")
    assert cat.by_address("MSOnlineServicesTeam@microsoftonline.com") is cat.sender(otp.sender_id)
    assert otp.slots["tenant"].type == "org_name" and otp.slots["tenant"].user_controlled
    assert cat.template("teams.guest-invitation").slots["team"].type == "team_name"
    assert cat.template("billing.invoice-available").slots["org"].user_controlled
    assert cat.template("azure-monitor.alert").slots["description"].type == "free_text"
    assert cat.template("entra.b2b-invitation").slots["message"].type == "free_text"
    for tid in ("entra.email-verification-code", "teams.guest-invitation",
                "billing.invoice-available", "azure-monitor.alert", "entra.b2b-invitation"):
        assert any(a.values for a in cat.template(tid).abuse), tid


def test_unverified_dkim_is_not_demanded() -> None:
    otp = load_catalog().sender("entra-email-otp")
    assert otp.dkim_domains == ()
    assert otp.unverified_dkim_domains == ("microsoftonline.com",)
    assert load_catalog().sender("m365-billing").dkim_domains == ("microsoft.com",)


def test_default_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_user_pack_loads() -> None:
    cat = load_catalog([EXAMPLES])
    assert cat.template("brightvest.deposit-received").wording == "exact"
    assert cat.by_address("notify@mail.brightvest.example") is not None


# --- validation errors ------------------------------------------------------------------------

GOOD = """\
format: mailaudit-templates/1
family: acme
brands:
  - name: Acme
    domains: [acme.example]
senders:
  - id: acme-notify
    brand: Acme
    product: Acme notices
    addresses: [notify@acme.example]
    source: test
    evidence: SAMPLE
    templates:
      - id: acme.notice
        language: en
        source: test
        evidence: SAMPLE
        subject: "Hello {org}"
        slots:
          org: {type: org_name, user_controlled: true}
        body:
          - "Welcome to {org} on Acme"
        examples:
          - {org: Contoso}
"""


def write(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    d = tmp_path / "pack"
    d.mkdir(exist_ok=True)
    (d / name).write_text(textwrap.dedent(text), "utf-8")
    return d


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog([write(tmp_path, text)])
    return info.value.message


def test_good_pack(tmp_path: Path) -> None:
    assert load_catalog([write(tmp_path, GOOD)]).template("acme.notice")


@pytest.mark.parametrize("change, expected", [
    (("type: org_name", "type: foo"), ":20: template 'acme.notice': slot 'org': unknown slot type "
                                      "'foo' (known: "),
    (("        language: en\n", "        language: en\n        colour: red\n"),
     ":16: template 'acme.notice': unknown field 'colour'"),
    (("    product: Acme notices\n", ""), ":7: sender: missing required field 'product'"),
    (('"Welcome to {org} on Acme"', '"Welcome to {org} on {place}"'),
     "slot 'place' is used but not declared in slots"),
    (('subject: "Hello {org}"', 'subject: "Hello"'), ""),  # still used in body: fine
    (("user_controlled: true}\n", "user_controlled: true}\n          extra: code\n"),
     "slot 'extra' is declared but never used"),
    (('"Welcome to {org} on Acme"', '"Welcome to {org}{org} on Acme"'), "touch"),
    (('"Welcome to {org} on Acme"', '"Welcome to {org on Acme"'), "unclosed '{'"),
    (("evidence: SAMPLE\n    templates", "evidence: RUMOUR\n    templates"),
     "'RUMOUR' is not one of SAMPLE, MS-DOC, VENDOR, INFERRED"),
    (("- {org: Contoso}", "- {org: 'Call 802 538 3069 now'}"),
     "example value is not genuine-looking"),
    (("- {org: Contoso}", "- {}"), "missing required field 'org'"),
    (("format: mailaudit-templates/1", "format: other/2"), ":1: format: expected"),
    (("brand: Acme\n", "brand: Globex\n"), "brand 'Globex' is not declared"),
    (("user_controlled: true", "user_controlled: maybe"), "expected true or false"),
    (("subject: \"Hello {org}\"", "subject: [1, 2]"), "subject: expected text"),
    (("    addresses: [notify@acme.example]", "    addresses: [notify]"), "is not an email"),
], ids=["unknown-slot-type", "unknown-field", "missing-field", "undeclared-slot",
        "subject-without-slot", "unused-slot", "adjacent-slots", "bad-pattern", "bad-evidence",
        "hostile-example", "example-missing-slot", "bad-format", "unknown-brand",
        "bad-boolean", "wrong-type", "bad-address"])
def test_validation_errors(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    text = GOOD.replace(old, new)
    if not expected:
        load_catalog([write(tmp_path, text)])
        return
    message = error_of(tmp_path, text)
    assert "acme.yaml:" in message
    assert expected in message


def test_error_names_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("type: org_name", "type: foo"))
    assert message.split("acme.yaml:")[1].startswith("20:")
    assert all(t in message for t in SLOT_TYPES)


def test_duplicate_template_id_across_files(tmp_path: Path) -> None:
    d = write(tmp_path, GOOD)
    other = GOOD.replace("acme-notify", "acme-other").replace("notify@", "other@") \
        .replace("brands:\n  - name: Acme\n    domains: [acme.example]\n", "")
    (d / "other.yaml").write_text(other, "utf-8")
    with pytest.raises(CatalogError, match=r"template id 'acme\.notice' is already used at"):
        load_catalog([d])


def test_duplicate_with_builtin(tmp_path: Path) -> None:
    text = GOOD.replace("id: acme.notice", "id: entra.email-verification-code")
    with pytest.raises(CatalogError, match=r"already used at entra\.yaml:"):
        load_catalog([write(tmp_path, text)])


def test_duplicate_address(tmp_path: Path) -> None:
    text = GOOD.replace("notify@acme.example", "invites@microsoft.com")
    with pytest.raises(CatalogError, match=r"address 'invites@microsoft\.com' already belongs"):
        load_catalog([write(tmp_path, text)])


def test_bad_yaml(tmp_path: Path) -> None:
    message = error_of(tmp_path, "format: [unclosed\n")
    assert "not valid YAML" in message


def test_missing_pack_dir(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="template directory not found"):
        load_catalog([tmp_path / "nope"])


def test_unverified_dkim_needs_note(tmp_path: Path) -> None:
    text = GOOD.replace("    source: test\n    evidence: SAMPLE\n    templates",
                        "    dkim:\n      - {domain: acme.example, verified: false}\n"
                        "    source: test\n    evidence: SAMPLE\n    templates")
    assert "needs a note" in error_of(tmp_path, text)


@pytest.mark.parametrize("value", ["0x40", "0o17", "0100", "1:30", "1_000", "+5", "1" + "0" * 5000,
                                   "1234567890"],
                         ids=["hex", "octal-0o", "octal-yaml11", "base-60", "underscore", "plus",
                              "5001-digits", "10-digits"])
def test_numbers_are_plain_decimal(tmp_path: Path, value: str) -> None:
    # YAML 1.1 reads all of these as integers; int() then raised a bare ValueError (0x40,
    # 1:30, 5,001 digits) or read another number than YAML meant (0100 is octal 64 there).
    text = GOOD.replace("user_controlled: true}", f"user_controlled: true, max_len: {value}}}")
    message = error_of(tmp_path, text)
    assert "acme.yaml:20:" in message and "max_len: expected a whole number" in message
    assert len(message) < 400


def test_plain_numbers_still_load(tmp_path: Path) -> None:
    for value in ("7", "256", "999999999"):
        text = GOOD.replace("user_controlled: true}", f"user_controlled: true, max_len: {value}}}")
        template = load_catalog([write(tmp_path, text)]).template("acme.notice")
        assert template is not None and template.slots["org"].params["max_len"] == int(value)
