"""The matcher: every template's genuine example is on template and clean; every lure in a
customer-controlled slot is caught, also when obfuscated; the matcher stays linear."""

from __future__ import annotations

import time

import pytest

from mailaudit.model import Address
from mailaudit.parse.message import Body, ParsedMessage
from mailaudit.templates.catalog import Template, load_catalog
from mailaudit.templates.matcher import example_values, match_message, render
from support.templates_msgs import from_rendered, message

CAT = load_catalog()
TEMPLATES = list(CAT.templates)
LURE = ("Your PayPal payment of USD 498.95 was approved. Call 802 538 3069 to cancel")


def _scanned_slots(t: Template) -> list[str]:
    return [n for n, s in t.slots.items() if s.user_controlled or "signals" in s.params]


CASES = [(t, slot) for t in TEMPLATES for slot in _scanned_slots(t)]


def _display(t: Template) -> str:
    sender = CAT.sender(t.sender_id)
    for dn in sender.display_names:
        if not any(s.is_slot for s in dn.segments):
            return dn.segments[0].text
    return "Microsoft"


def _send(t: Template, values: dict[str, str], **kw: bool) -> ParsedMessage:
    sender = CAT.sender(t.sender_id)
    return from_rendered(render(t, values), address=sender.addresses[0], display=_display(t), **kw)


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.id for t in TEMPLATES])
def test_genuine_examples_match_clean(template: Template) -> None:
    for values in template.examples:
        m = match_message(_send(template, dict(values)), CAT.sender(template.sender_id))
        assert m.template_id == template.id
        assert m.matched and m.score == 1.0
        assert not m.hostile, (m.slots, m.signals)
        assert m.off_template == ()
        assert m.source.endswith(f"[{template.evidence}]")


@pytest.mark.parametrize("template,slot", CASES, ids=[f"{t.id}:{s}" for t, s in CASES])
def test_lure_in_slot_is_hostile(template: Template, slot: str) -> None:
    m = match_message(_send(template, {slot: LURE}), CAT.sender(template.sender_id))
    assert m.template_id == template.id
    assert m.hostile
    assert any(s.kind == "phone" for s in m.signals)


ABUSE = [(t, a.values) for t in TEMPLATES for a in t.abuse if a.values]


@pytest.mark.parametrize("template,values", ABUSE, ids=[t.id for t, _ in ABUSE])
def test_reported_abuse_is_hostile(template: Template, values: dict[str, str]) -> None:
    m = match_message(_send(template, dict(values)), CAT.sender(template.sender_id))
    assert m.template_id == template.id and m.hostile
    bad = [s for s in m.slots if s.hostile]
    assert bad and all(s.name in values for s in bad)


OTP = CAT.template("entra.email-verification-code")
OBFUSCATED = {
    "zero-width": "Bitcoin purchase USD 498.95. Call 8\u200b0\u200b2 5\u200b38 30\u200b69",
    "homoglyph": "\u0420ay\u0420al order. Call +1 (8OO) 555-O199 to CanceI",
    "full-width": "Order total ＄４９８.９５ call ８０２ ５３８ ３０６９",
    "bidi": "\u202eCall 802 538 3069\u202c PayPal",
    "soft-hyphen": "Pay\u00adPal refund, call 802\u00ad538\u00ad3069",
}


@pytest.mark.parametrize("name", sorted(OBFUSCATED))
def test_obfuscated_tenant_is_caught(name: str) -> None:
    m = match_message(_send(OTP, {"tenant": OBFUSCATED[name]}), CAT.sender("entra-email-otp"))
    assert m.matched and m.hostile
    assert any(s.kind == "phone" for s in m.signals)


def test_html_only_message() -> None:
    m = match_message(_send(OTP, {"tenant": LURE}, text=False), CAT.sender("entra-email-otp"))
    assert m.matched and m.hostile


def test_text_only_message() -> None:
    m = match_message(_send(OTP, {"tenant": LURE}, html=False), CAT.sender("entra-email-otp"))
    assert m.matched and m.hostile


def test_lure_hidden_in_alt_text() -> None:
    r = render(OTP, {"tenant": "Contoso", "email": "a@contoso.example", "code": "123456"})
    html = r.html.replace(">Contoso<", '><img src="cid:logo" alt="Call 802 538 3069 PayPal"><')
    msg = message(from_="Microsoft <msonlineservicesteam@microsoftonline.com>",
                  subject=r.subject, html=html)
    m = match_message(msg, CAT.sender("entra-email-otp"))
    assert m.hostile


def test_lure_only_in_html_part_is_caught() -> None:
    genuine = render(OTP, {})
    abused = render(OTP, {"tenant": LURE})
    msg = message(from_="Microsoft <msonlineservicesteam@microsoftonline.com>",
                  subject=genuine.subject, text=genuine.text, html=abused.html)
    assert match_message(msg, CAT.sender("entra-email-otp")).hostile


def test_display_name_slot_is_checked() -> None:
    r = render(OTP, {})
    msg = message(from_=f'"Microsoft on behalf of {LURE}" <msonlineservicesteam@microsoftonline.com>',
                  subject=r.subject, text=r.text)
    m = match_message(msg, CAT.sender("entra-email-otp"))
    assert m.hostile and any(s.name == "tenant" and s.hostile for s in m.slots)


def test_off_template_text_in_exact_template() -> None:
    pack = load_catalog(["examples/templates"])
    t = pack.template("brightvest.deposit-received")
    r = render(t, {})
    text = r.text + "\nP.S. Double your money: reply with your password.\n"
    msg = message(from_="Brightvest <notify@mail.brightvest.example>", subject=r.subject,
                  text=text)
    m = match_message(msg, pack.sender("brightvest-notify"))
    assert m.matched and m.off_template
    assert "Double your money" in m.off_template[0]


def test_missing_phrase_is_off_template() -> None:
    r = render(OTP, {})
    m = match_message(message(from_="x <msonlineservicesteam@microsoftonline.com>",
                              subject=r.subject, text="Totally different body"),
                      CAT.sender("entra-email-otp"))
    assert not m.matched and m.score < 1.0


def test_body_links_off_allow_list() -> None:
    t = CAT.template("billing.invoice-available")
    r = render(t, {})
    html = r.html.replace("View your invoice &gt;&gt;",
                          '<a href="https://billing-microsoft.example.net/pay">View your '
                          'invoice &gt;&gt;</a><a href="tel:+18025383069">help</a>')
    msg = message(from_="Microsoft <microsoft-noreply@microsoft.com>", subject=r.subject,
                  text=r.text, html=html)
    m = match_message(msg, CAT.sender("m365-billing"))
    kinds = {(s.kind, s.where) for s in m.signals}
    assert ("link", "link") in kinds and ("phone", "link") in kinds


def test_filled_pieces() -> None:
    m = match_message(_send(OTP, {"tenant": "Contoso"}), CAT.sender("entra-email-otp"))
    assert ("tenant", "Contoso") in m.filled
    assert any(name == "" and "account email verification code" in text
               for name, text in m.filled)
    # Plain data: no presentation markers travel in the model.
    assert not any(ch in text for _, text in m.filled for ch in "\x02\x03\x1f")


def test_example_values_and_render() -> None:
    values = example_values(OTP)
    r = render(OTP, values)
    assert r.subject == f"{values['tenant']} account email verification code"
    assert values["code"] in r.text and "<table" in r.html


def test_render_escapes_html() -> None:
    r = render(OTP, {"tenant": "<script>x</script>"})
    assert "<script>" not in r.html


# --- linear time ------------------------------------------------------------------------------

def _big(size: int) -> ParsedMessage:
    r = render(OTP, {})
    filler = ("Lorem ipsum 12 dolor. a.b 8o0 $1 " * (size // 33 + 1))[:size]
    text = r.text.replace("Sincerely,", filler + " Sincerely,")
    body = Body(text=text, html_text="", links=(), attachments=(), messages=())
    return ParsedMessage(raw=b"", headers=(), subject=r.subject,
                         from_=(Address("Microsoft", "msonlineservicesteam@microsoftonline.com",
                                        "microsoftonline.com"),), _body=body)


def _time(msg: ParsedMessage) -> float:
    """Best of three, in CPU seconds of this process: other work on the machine does not count,
    so the ratio below holds under load and still fails on quadratic matching."""
    best = float("inf")
    for _ in range(3):
        msg._body = msg._body  # body already parsed; time the matcher only
        started = time.process_time()
        match_message(msg, CAT.sender("entra-email-otp"))
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.slow
def test_five_megabytes_is_linear() -> None:
    small = _time(_big(2_500_000))
    big = _time(_big(5_000_000))
    assert big < 5.0
    assert big < small * 3


@pytest.mark.slow
def test_many_phrase_lookalikes_stay_linear() -> None:
    # Every prefix of every phrase, repeated: the search must not restart from each one.
    r = render(OTP, {})
    junk = "Verify your email addres Thanks for verifying you Your code is" * 40_000
    msg = message(from_="x <msonlineservicesteam@microsoftonline.com>", subject=r.subject,
                  text=junk)
    started = time.perf_counter()
    match_message(msg, CAT.sender("entra-email-otp"))
    assert time.perf_counter() - started < 5.0
