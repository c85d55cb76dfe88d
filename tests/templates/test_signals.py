"""Signals and the normaliser: what marks a scam inside customer-written text."""

from __future__ import annotations

import pytest

from mailaudit.templates.normalise import conf_key, digit_key, normalise, word_key
from mailaudit.templates.signals import find_signals
from support.scaling import assert_linear


def kinds(text: str, **kw: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in find_signals(text, where="slot:x", **kw):  # type: ignore[arg-type]
        out.setdefault(s.kind, []).append(s.value)
    return out


# --- normaliser -------------------------------------------------------------------------------

def test_normalise_removes_invisibles_and_collapses_space() -> None:
    raw = "Pay\u200bPal\u202e \u2066x\u2069\u00ad  \n\t y\ufeff"
    assert normalise(raw) == "PayPal x y"


def test_normalise_nfkc_full_width() -> None:
    assert normalise("８０２　５３８") == "802 538"


def test_normalise_strips_stray_combining_marks() -> None:
    assert normalise("PayPa\u0332l") == "PayPal"
    assert normalise("Café") == "Café"  # precomposed accents survive


def test_keys_keep_length() -> None:
    text = normalise("İstanbul ΡаyPal +1 (8OO) 555-0I99 CanceI")
    for key in (conf_key(text), word_key(conf_key(text)), digit_key(conf_key(text))):
        assert len(key) == len(text)


def test_word_key_folds_i_l_1_and_o_0() -> None:
    assert word_key(conf_key("CanceI c0ntact")) == word_key(conf_key("cancel contact"))


def test_digit_key_folds_letters_inside_numbers_only() -> None:
    assert digit_key(conf_key("+1 (8oo) 555-0l99 look")) == "+1 (800) 555-0199 look"


# --- phone ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Reach Support Desk at 802 538 3069 to cancel",
    "call 802.538.3069",
    "call (802) 538-3069",
    "+1 (8OO) 555-0199",
    "+1 (8OO) 555-O199",
    "８０２ ５３８ ３０６９",
    "8\u200b0\u200b2 5\u200b3\u200b8 3\u200b069",
    "1-888-555-0142",
    "+44 20 7946 0958",
], ids=["spaced", "dotted", "parens", "letter-O", "letter-O-late", "full-width", "zero-width",
        "toll-free", "uk"])
def test_phone_numbers(text: str) -> None:
    assert "phone" in kinds(text)


@pytest.mark.parametrize("text", ["2026-05-21", "USD 498.95", "REF 20931", "tenant 72f988bf-86f1",
                                  "Windows 10 version 22H2", "ZIP 98052"])
def test_not_phone_numbers(text: str) -> None:
    assert "phone" not in kinds(text)


# --- money ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["$389.90", "USD 498.95", "498.95 USD", "€ 12,50", "EUR 99",
                                  "0.05 BTC", "Amount 629.98", "$1,299"])
def test_money(text: str) -> None:
    assert "money" in kinds(text)


@pytest.mark.parametrize("text", ["version 1.25.212", "Contoso Ltd.", "Q3 2026"])
def test_not_money(text: str) -> None:
    assert "money" not in kinds(text)


# --- brands, urgency --------------------------------------------------------------------------

def test_brands_other_than_sender() -> None:
    found = kinds("PayPal, Geek Squad, Bank of America, Cash App and Microsoft")
    assert {"PayPal", "Geek Squad", "Bank of America", "Cash App"} <= set(found["brand"])
    assert "Microsoft" not in found["brand"]


def test_brand_homoglyph_and_digit_swap() -> None:
    assert kinds("Р\u0430yPal")["brand"]  # Cyrillic Er and a
    assert kinds("McAfee N0rton")["brand"] == ["McAfee", "N0rton"]


def test_brand_is_whole_word() -> None:
    assert "brand" not in kinds("Chaseview Apartments")
    assert "brand" not in kinds("Applewood Farms")


def test_urgency() -> None:
    found = kinds("If you did not authorize this, CanceI within 24 hours")
    assert {"If you did not authorize", "within 24 hours"} <= set(found["urgency"])
    assert kinds("to CanceI or Renew")["urgency"]


# --- links, wallets, confusables --------------------------------------------------------------

def test_links_off_allow_list() -> None:
    found = kinds("see https://login.microsoftonline.com/x and paypal-help.com or a@evil.net",
                  allowed_domains=["microsoftonline.com"])
    assert found["link"] == ["paypal-help.com"]
    assert found["email"] == ["a@evil.net"]


def test_link_with_scheme_is_whole_url() -> None:
    assert kinds("go to https://evil.example.com/pay?x=1 now")["link"] == [
        "https://evil.example.com/pay?x=1"]


def test_not_links() -> None:
    assert "link" not in kinds("Contoso Ltd.Australia e.g. 498.95 file.pdf")


@pytest.mark.parametrize("wallet", [
    "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
    "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "0x52908400098527886E0F7030069857D2E4169EE7",
])
def test_wallets(wallet: str) -> None:
    assert kinds(f"send to {wallet} today")["wallet"] == [wallet]


def test_mixed_script_word_is_confusable() -> None:
    assert kinds("Micr\u043esoft")["confusable"] == ["Micr\u043esoft"]
    assert "confusable" not in kinds("Москва")  # wholly Cyrillic: another language, not a trick


def test_skip_kinds() -> None:
    assert "money" not in kinds("$5.00", skip=["money"])


def test_clean_org_names_have_no_signals() -> None:
    for name in ("Contoso", "Fabrikam, Inc.", "US Visa & American Citizen Services",
                 "Prism Cyber Learning", "3M", "Müller & Söhne GmbH"):
        assert find_signals(name, where="slot:tenant") == (), name


# --- linear time ------------------------------------------------------------------------------

# (unit, repeats at n): the text is unit * n, then unit * 4n; CPU time in the same run.
_HOSTILE = {
    "dots": ("a.", 50_000),
    "digits": ("1 ", 50_000),
    "oil-runs": ("8o", 50_000),
    "money": ("$1", 50_000),
    "words": ("paypal refund ", 7_500),
    "hex": ("a", 100_000),  # after "0x"
    "base58": ("A", 100_000),  # after "1"
    "cyrillic": ("\u0430a", 50_000),
}
_PREFIX = {"hex": "0x", "base58": "1"}


@pytest.mark.parametrize("name", sorted(_HOSTILE))
def test_signals_linear_on_hostile_input(name: str) -> None:
    # 4x the input may take at most 10x the CPU time (support/scaling.py): a quadratic scan
    # is 16x; other processes' load is not counted.
    unit, n = _HOSTILE[name]
    prefix = _PREFIX.get(name, "")
    assert_linear(lambda text: find_signals(text, where="body"),
                  lambda size: prefix + unit * size, n, repeat=2, what=name)
