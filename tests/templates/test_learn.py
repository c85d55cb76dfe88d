"""templates.learn as pure functions: alignment, slot types, optional lines, packs that the
catalog loader accepts, and the refusals (too few samples, too much variation)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.templates.catalog import Catalog, CatalogData, load_catalog, load_file, merge
from mailaudit.templates.learn import (
    MAX_TOKENS,
    LearnError,
    Sample,
    align,
    body_texts,
    consensus,
    infer_type,
    learn,
    learn_template,
    pack_yaml,
    tokens,
    too_long,
)
from mailaudit.templates.normalise import normalise


def _sample(n: int, subject: str, *texts: str, address: str = "pay@northwind-traders.example",
            name: str = "Northwind Pay") -> Sample:
    return Sample(ref=f"m{n}.eml", address=address, display_name=name, subject=subject,
                  texts=tuple(texts), link_hosts=("pay.northwind-traders.example",),
                  dkim=(("northwind-traders.example", "rsa2026"),),
                  envelope_domain="northwind-traders.example")


_PEOPLE = ["Jordan Lee", "Sam Ortiz", "Priya Raman", "Chen Wei", "Maria Gonzalez"]
_NOTES = ["Dinner on Friday", "Rent for April, thanks!", "Concert tickets", "Team lunch"]


def _requests(k: int, seed: int = 1) -> list[Sample]:
    rng = random.Random(seed)
    out = []
    for n in range(k):
        who, amount = rng.choice(_PEOPLE), f"${rng.randint(5, 400)}.{rng.randint(0, 99):02d}"
        code = str(rng.randint(10_000_000, 99_999_999))
        text = (f"Hi there, {who} has requested {amount} from you. Note: {rng.choice(_NOTES)} "
                f"Request ID: {code} Pay now: https://pay.northwind-traders.example/r/{code} "
                "Northwind Traders, 1 Example Way")
        out.append(_sample(n, f"{who} sent you a payment request for {amount}", text))
    return out


def test_tokens_split_punctuation_not_amounts() -> None:
    toks = [t.key for t in tokens("Hi Jordan, you owe $25.00. (See: https://x.example/a.)")]
    assert toks == ["hi", "jordan", ",", "you", "owe", "$25.00", ".", "(", "see", ":",
                    "https://x.example/a", ".", ")"]


def test_align_is_a_common_subsequence() -> None:
    a = ["the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"]
    b = ["a", "quick", "red", "fox", "jumps", "over", "one", "lazy", "cat"]
    pairs = align(a, b)
    assert [a[i] for i, _ in pairs] == ["quick", "fox", "jumps", "over", "lazy"]
    assert all(a[i] == b[j] for i, j in pairs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("abcde"), max_size=60), st.lists(st.sampled_from("abcde"),
                                                                  max_size=60))
def test_align_pairs_increase_and_match(a: list[str], b: list[str]) -> None:
    pairs = align(a, b)
    assert all(a[i] == b[j] for i, j in pairs)
    assert all(p[0] < q[0] and p[1] < q[1] for p, q in itertools.pairwise(pairs))


def test_align_hostile_repetition_is_bounded() -> None:
    # Thousands of equal tokens with no unique anchor: still a valid alignment, quickly.
    a = ["x"] * MAX_TOKENS
    b = ["x", "y"] * (MAX_TOKENS // 2)
    pairs = align(a, b)
    assert all(a[i] == b[j] for i, j in pairs)
    found = consensus([a, b, a[::2]])
    assert found is not None


def test_infer_types() -> None:
    assert infer_type(["123456", "0042"], []) == ("code", {"digits": [4, 6]})
    assert infer_type(["$25.00", "$3.10"], [])[0] == "amount"
    assert infer_type(["March 3, 2026", "June 1, 2026"], [])[0] == "date"
    assert infer_type(["a@b.example", "c@d.example"], [])[0] == "email"
    url = infer_type(["https://pay.example/r/1", "https://pay.example/r/2"], [])
    assert url == ("url", {"allowed_domains": ["pay.example"]})
    assert infer_type(["Jordan Lee", "Sam Ortiz"], [])[0] == "person_name"
    assert infer_type(["Contoso Coffee Inc.", "Fabrikam Books Ltd"], [])[0] == "org_name"
    assert infer_type(["Dinner on Friday", "Rent for April, thanks!"], [])[0] == "short_text"
    prose = "We will deliver on Monday. Please be home. The driver calls ahead. Thanks a lot."
    t, params = infer_type([prose, "Short note"], [])
    assert t == "free_text" and params["user_controlled"] is True
    assert int(str(params["max_len"])) >= 2 * len(prose)


def test_learn_one_template() -> None:
    t, dropped = learn_template(_requests(6), template_id="t", sender_links=["northwind-traders.example"],
                                brand="Northwind Pay")
    assert dropped == []
    assert t.subject == "{name} sent you a payment request for {amount}"
    body = " ".join(str(x) for x in t.body)
    assert "Hi there, {name} has requested {amount} from you." in body
    assert "Note: {note}" in body and "Request ID: {request_id}" in body
    assert t.slots["note"]["type"] == "short_text" and t.slots["note"]["user_controlled"]
    assert t.slots["request_id"] == {"type": "code", "digits": 8}
    assert t.slots["pay_now"]["type"] == "url"
    assert 1 <= len(t.examples) <= 3 and all(set(e) == set(t.slots) for e in t.examples)


def test_optional_lines_and_odd_sample() -> None:
    samples = _requests(6)
    # An optional line seen in two messages is the template's; one message alone carrying
    # text is left out (an appended lure looks like this).
    for i in (1, 3):
        s = samples[i]
        samples[i] = Sample(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                               "texts": (s.texts[0] + " Reminder: this request expires soon.",)})
    s = samples[4]
    samples[4] = Sample(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                           "texts": (s.texts[0] + " Call +1 (888) 555-0142 to cancel.",)})
    t, dropped = learn_template(samples, template_id="t", sender_links=[], brand="Northwind Pay")
    assert dropped == [4]
    assert {"text": "Reminder: this request expires soon.", "optional": True} in t.body


def test_text_and_html_alternatives() -> None:
    samples = []
    for n, who in enumerate(["Jordan Lee", "Sam Ortiz", "Priya Raman"]):
        text = f"Hi, {who} paid you. Open https://pay.northwind-traders.example/a Thanks"
        html = f"Northwind Pay Hi, {who} paid you. Open Thanks"
        samples.append(_sample(n, f"{who} paid you", *body_texts(f"{who} paid you", text, html)))
    t, _ = learn_template(samples, template_id="t", sender_links=[], brand="Northwind Pay")
    assert {"text": "Northwind Pay", "optional": True} in t.body
    assert any(isinstance(x, dict) and "https://pay.northwind-traders.example/a" in str(x["text"])
               for x in t.body)


def test_too_much_variation() -> None:
    samples = [_sample(n, f"Subject {n}", " ".join(random.Random(n).choice("abcdefgh") * 3
                                                  for _ in range(40))) for n in range(4)]
    with pytest.raises(LearnError, match=r"variation|different|align|some samples"):
        learn_template(samples, template_id="t", sender_links=[], brand="X")


def test_learn_packs_load_in_the_catalog(tmp_path: Path) -> None:
    samples = _requests(5)
    receipts = [_sample(10 + n, f"Receipt for your payment to {m}",
                        f"You paid $1{n}.00 to {m}. Memo: Order {n}{n} Keep this receipt.")
                for n, m in enumerate(["Contoso Coffee", "Fabrikam Books", "Tailspin Toys"])]
    lone = [_sample(20, "Your order has shipped", "Hello, your order shipped.",
                    address="orders@northwind-traders.example")]
    few = _requests(2, seed=9)
    few = [Sample(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                     "address": "billing@fabrikam.example", "display_name": "Fabrikam Billing"})
           for s in few]
    result = learn([*samples, *receipts, *lone, *few], min_samples=3)
    assert [p.filename for p in result.packs] == ["northwind-traders.example.yaml"]
    pack = result.packs[0]
    assert len(pack.templates) == 2
    reasons = {s.sender: s.reason for s in result.skipped}
    assert "too few samples: 1, need 3" in reasons["orders@northwind-traders.example"]
    assert "too few samples: 2, need 3" in reasons["billing@fabrikam.example"]
    path = tmp_path / pack.filename
    path.write_text(pack_yaml(pack), "utf-8")
    data = load_file(path, pack.filename)
    cat = Catalog(merge([CatalogData(brands=load_catalog().brands), data]))
    sender = cat.by_address("pay@northwind-traders.example")
    assert sender is not None and sender.evidence == "LEARNED"
    assert sender.dkim_domains == ("northwind-traders.example",)
    assert {t.evidence for t in sender.templates} == {"LEARNED"}
    assert load_catalog([tmp_path]).by_address("pay@northwind-traders.example") is not None


def test_microsoft_sender_is_filed_under_its_brand() -> None:
    cat = load_catalog()
    samples = [_sample(n, f"Your code is {1000 + n}", f"Use code {1000 + n} to sign in. Thanks",
                       address="account-security-noreply@accountprotection.microsoft.com",
                       name="Microsoft account team") for n in range(3)]
    result = learn(samples, builtin_brands={b.name: list(b.domains) for b in cat.brands},
                   builtin_addresses={a: s.id for s in cat.senders for a in s.addresses})
    pack = result.packs[0]
    assert "brands" not in pack.data
    assert pack.data["senders"][0]["brand"] == "Microsoft"


def test_hostile_samples() -> None:
    huge = _sample(1, "x", "A" * 300_000)
    assert too_long(huge) is not None and "characters" in str(too_long(huge))
    many = _sample(2, "x", "w " * (MAX_TOKENS + 10))
    assert "words" in str(too_long(many))
    # Markup and braces in samples become escaped pattern text or slot values, never syntax.
    samples = [_sample(n, "[bold]Hi {x}[/bold]", f"Hello {{name}} [link=x]{v}[/link] }}{{ end")
               for n, v in enumerate(["Jordan Lee", "Sam Ortiz", "Chen Wei"])]
    t, _ = learn_template(samples, template_id="t", sender_links=[], brand="X")
    assert t.subject == "[bold]Hi {{x}}[/bold]"
    body = " ".join(map(str, t.body))
    assert body.startswith("Hello {{name}} [") and body.endswith("] }}{{ end")
    assert body.count("{") - 2 * body.count("{{") == len(t.slots) == 1


def test_diff_names_changed_phrases_and_language(tmp_path: Path) -> None:
    from mailaudit.templates.learn import diff_senders

    cat = load_catalog()
    addr = "msonlineservicesteam@microsoftonline.com"
    samples = []
    for n, (tenant, code) in enumerate([("Contoso", "482913"), ("Fabrikam", "093117"),
                                        ("Litware", "771204")]):
        body = (f"Verify your email address Thanks for verifying your u{n}@contoso.example "
                f"account! Your one-time code is: {code} Sincerely, {tenant}")
        s = _sample(n, f"{tenant} account email verification code", body, address=addr,
                    name=f"Microsoft on behalf of {tenant}")
        samples.append(Sample(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                                 "language": "en-gb", "dkim": (("microsoftonline.com", "s2"),)}))
    result = learn(samples, builtin_brands={b.name: list(b.domains) for b in cat.brands},
                   builtin_addresses={a: s.id for s in cat.senders for a in s.addresses})
    pack = result.packs[0]
    assert pack.builtin_senders == (addr,)
    path = tmp_path / pack.filename
    path.write_text(pack_yaml(pack), "utf-8")
    diffs = diff_senders(load_file(path, pack.filename).senders, cat)
    kinds = {d.kind for d in diffs}
    text = "\n".join(d.message for d in diffs)
    assert "new-template" not in kinds
    assert "catalog phrase 'your code is:' is not in the learned mail" in text
    assert "your one-time code is:" in text and "phrase-new" in kinds
    assert "learned mail is in 'en-gb'" in text
    assert "selectors s2 seen" in text or "d=microsoftonline.com" in text


def test_display_name_patterns() -> None:
    from mailaudit.templates.learn import display_patterns

    assert display_patterns(["Northwind Pay"] * 4) == ["Northwind Pay"]
    people = ["Jordan Lee", "Sam Ortiz", "Priya Raman", "Chen Wei", "Maria Gonzalez"]
    assert display_patterns([f"{p} via Northwind Pay" for p in people]) == [
        "{name:person_name} via Northwind Pay"]
    odd = ["A {b}", "x y z", "q", "r s", "x y z"]
    assert display_patterns(odd) == ["x y z"]


def test_display_name_pattern_loads(tmp_path: Path) -> None:
    samples = [Sample(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                         "display_name": f"{s.subject.split(' sent')[0]} via Northwind Pay"})
               for s in _requests(6, seed=4)]
    pack = learn(samples).packs[0]
    path = tmp_path / pack.filename
    path.write_text(pack_yaml(pack), "utf-8")
    sender = load_file(path, pack.filename).senders[0]
    assert len(sender.display_names) == 1
    dn = sender.display_names[0]
    assert [s.slot_type for s in dn.segments if s.is_slot] == ["person_name"]


def test_lone_surrogates_make_a_pack_that_loads(tmp_path: Path) -> None:
    # A UTF-7 part's "+2AA-" decodes to U+D800; PyYAML wrote it as "\uD800", which its own
    # reader refused ("found invalid Unicode character escape code"): the pack did not load.
    samples = [Sample(**{**{f: getattr(s, f) for f in s.__dataclass_fields__},
                         "subject": s.subject + " \ud800",
                         "texts": tuple(t.replace("Hi there", "Hi \udc00there") for t in s.texts)})
               for s in _requests(5)]
    [pack] = learn(samples, min_samples=3).packs
    path = tmp_path / pack.filename
    text = pack_yaml(pack)
    path.write_text(text, "utf-8")
    assert "\ufffd" in text
    assert load_file(path, pack.filename).senders
    assert normalise("a\ud800b\udfff") == "a\ufffdb\ufffd"
