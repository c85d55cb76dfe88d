"""Every file of ../shared/corpora/mail through the sources, and the Outlook .msg reader against
msgreader's expected parses (INVENTORY.md, "mail/")."""

from __future__ import annotations

import email
import email.policy
import json
import re
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest

from mailaudit.model import RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import count_hint, iter_messages
from mailaudit.sources.sniff import starts_like_header
from support.paths import CORPORA

CORPORA = CORPORA
MAIL = CORPORA / "mail"
MSGREADER = MAIL / "msgreader" / "test"
ABSENT = f"{CORPORA} not present; the corpus tests need the shared development corpora"
LIMITS = Limits()
_NOT_MAIL = re.compile(r"(^|/)(LICENSE[^/]*|COPYING[^/]*|index\.json)$|\.(json|rtf)$")

# Cases where msgreader's expectation and ours differ on purpose, with the reason.
DEVIATIONS = {
    # msgreader leaves PT_STRING8 subjects undecoded (its JSON holds the Shift_JIS bytes as
    # Latin-1). [MS-OXCMSG] 2.2.1.2 / [MS-OXMSG] 2.1.3: 8-bit strings are in the writer's code
    # page; the message locale (PR_MESSAGE_LOCALE_ID 1041, Japanese) gives cp932, and the same
    # message saved as Unicode (contactUnicode.json) has exactly the subject we produce.
    "contactAnsi.json:subject": "コム ドット イグザンプル 殿",
}

# Samples that are not RFC 5322 messages upstream either (read fine, checked by the parser).
NOT_RFC5322 = {
    "spamassassin/spam.mbox mbox:offset=71618": "an SMTP session transcript (HELO, MAIL FROM…)",
}


def _need_corpora() -> None:
    if not MAIL.is_dir():
        pytest.skip(ABSENT)


def _corpus_files() -> list[Any]:
    if not MAIL.is_dir():
        return [pytest.param(None, id="corpora-absent", marks=pytest.mark.skip(reason=ABSENT))]
    return [pytest.param(path, id=str(path.relative_to(MAIL)))
            for path in sorted(MAIL.rglob("*")) if path.is_file()]


def _read(path: Path | str) -> list[RawMessage | SourceError]:
    return list(iter_messages([str(path)], limits=LIMITS))


@pytest.mark.parametrize("path", _corpus_files())
def test_every_corpus_file_reads(path: Path) -> None:
    items = _read(path)
    assert items
    if _NOT_MAIL.search(path.as_posix()) or path.suffix == ".pst":
        return  # PST/OST files have their own tests (test_sources_pst.py)
    raws = [i for i in items if isinstance(i, RawMessage)]
    assert raws, items
    for raw in raws:
        assert raw.ref.path == str(path)
        if f"{path.relative_to(MAIL).as_posix()} {raw.ref.locator}" in NOT_RFC5322:
            continue
        assert starts_like_header(raw.data), raw.data[:80]
        # Outlook drafts, notes and meeting items have no sender; the .msg says so too.
        if b"X-Mailaudit-Source: msg-properties" not in raw.data:
            assert re.search(rb"(?im)^from:", raw.data), raw.data[:200]


def test_whole_mail_tree_in_one_walk() -> None:
    _need_corpora()
    items = _read(MAIL)
    raws = [i for i in items if isinstance(i, RawMessage)]
    # notmuch: 109 single-message files (default/ partly Maildir); spamassassin 61 + 73, one of
    # them empty; mail-parser 23; msgreader: .msg files plus their embedded messages.
    by_top: dict[str, int] = {}
    for raw in raws:
        top = Path(raw.ref.path).relative_to(MAIL).parts[0]
        by_top[top] = by_top.get(top, 0) + 1
    assert by_top["notmuch"] == 109
    assert by_top["spamassassin"] == 133
    assert by_top["mail-parser"] == 23
    assert [e.code for e in items if isinstance(e, SourceError)
            and not e.ref.path.endswith(".pst")] == ["empty"]
    maildir_refs = [r for r in raws if r.ref.locator.startswith("maildir:key=")]
    assert len(maildir_refs) == 46  # the cur/ and new/ files of notmuch's Maildir folders
    assert _read(MAIL) == items  # stable refs and bytes


def test_notmuch_default_maildir_keys() -> None:
    _need_corpora()
    items = _read(MAIL / "notmuch" / "default")
    keys = [i.ref.locator for i in items if i.ref.locator]
    assert "maildir:key=04" in keys and "maildir:key=41" in keys
    assert len(items) == 53


@pytest.mark.parametrize("name", ["nice.mbox", "spam.mbox"])
def test_spamassassin_mbox_counts(name: str) -> None:
    _need_corpora()
    index = json.loads((MAIL / "spamassassin" / "index.json").read_text())["messages"]
    expected = [m for m in index if m["mbox"] == name]
    items = _read(MAIL / "spamassassin" / name)
    assert len(items) == len(expected)
    assert count_hint([str(MAIL / "spamassassin" / name)]) == len(expected)
    for item, entry in zip(items, expected, strict=True):
        if entry["bytes"] <= 1:  # upstream file with no content: an "empty" record
            assert isinstance(item, SourceError) and item.code == "empty"
        else:
            assert isinstance(item, RawMessage) and item.data


# --- Outlook .msg -------------------------------------------------------------------------

def _msgreader_cases() -> list[Any]:
    if not MSGREADER.is_dir():
        return [pytest.param(None, id="corpora-absent", marks=pytest.mark.skip(reason=ABSENT))]
    cases = []
    for expected in sorted(MSGREADER.glob("*.json")):
        stem = expected.stem.partition("-attachments")[0]
        if (MSGREADER / f"{stem}.msg").exists():
            cases.append(pytest.param(expected, id=expected.name))
        else:  # INVENTORY.md: longerDifat.msg (over 4 MiB upstream) was not copied
            cases.append(pytest.param(expected, id=expected.name, marks=pytest.mark.skip(
                reason=f"{stem}.msg is not in the corpus, only its expected parse")))
    return cases


def _parsed(raw: RawMessage) -> EmailMessage:
    parsed = email.message_from_bytes(raw.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _emails(parsed: EmailMessage, *fields: str) -> set[str]:
    values = [str(parsed[f]) for f in fields if parsed[f] is not None]
    return {addr.lower() for _name, addr in getaddresses(values) if "@" in addr}


@pytest.mark.parametrize("expected_path", _msgreader_cases())
def test_msgreader_expectations(expected_path: Path) -> None:
    stem, _, nested = expected_path.stem.partition("-attachments")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    locator = ";".join(f"msg:attachment={n}" for n in nested.split("-attachments") if n)
    items = _read(MSGREADER / f"{stem}.msg")
    [raw] = [i for i in items if i.ref.locator == locator]
    assert isinstance(raw, RawMessage)
    if locator:
        assert raw.parent is not None and raw.parent.path == raw.ref.path
    parsed = _parsed(raw)
    assert parsed["X-Mailaudit-Source"] in ("msg-properties", "msg-transport-headers")

    subject = DEVIATIONS.get(f"{expected_path.name}:subject", expected.get("subject", ""))
    assert str(parsed["Subject"] or "") == subject
    if expected.get("senderEmail") and "@" in expected["senderEmail"]:
        assert expected["senderEmail"].lower() in _emails(parsed, "From", "Sender")
    recipients = {r["email"].lower() for r in expected.get("recipients", [])
                  if "@" in r.get("email", "")}
    if recipients and parsed["X-Mailaudit-Source"] == "msg-properties":
        assert _emails(parsed, "To", "Cc", "Bcc") == recipients
    elif recipients:  # transport headers say what the sender wrote; Bcc is not in them
        assert _emails(parsed, "To", "Cc") & recipients


def test_mail_parser_outlook_sample() -> None:
    _need_corpora()
    items = _read(MAIL / "mail-parser" / "mail_outlook_1")
    raw = items[0]
    assert isinstance(raw, RawMessage) and raw.ref.locator == ""
    parsed = _parsed(raw)
    assert parsed["X-Mailaudit-Source"] == "msg-transport-headers"
    assert "Newsletter" in str(parsed["Subject"])
    assert _emails(parsed, "From") == {"nueblingv@w-vwa.de"}
    assert parsed.get_body(("plain", "html")) is not None


def test_msg_in_msg_in_msg_refs() -> None:
    _need_corpora()
    items = _read(MSGREADER / "msgInMsgInMsg.msg")
    assert [i.ref.locator for i in items] == [
        "", "msg:attachment=0", "msg:attachment=0;msg:attachment=0"]
    assert [i.parent.locator if isinstance(i, RawMessage) and i.parent else None
            for i in items] == [None, "", "msg:attachment=0"]


def test_msg_bytes_are_deterministic() -> None:
    _need_corpora()
    path = MSGREADER / "attachAndInline.msg"
    assert _read(path) == _read(path)


def test_msg_from_stdin() -> None:
    _need_corpora()
    import io

    data = (MSGREADER / "msgInMsg.msg").read_bytes()
    items = list(iter_messages(["-"], limits=LIMITS, stdin=io.BytesIO(data)))
    file_items = _read(MSGREADER / "msgInMsg.msg")
    assert [i.data for i in items if isinstance(i, RawMessage)] == [
        i.data for i in file_items if isinstance(i, RawMessage)]
    assert [i.ref.locator for i in items] == ["", "msg:attachment=0"]


def test_msg_size_limit_cuts() -> None:
    _need_corpora()
    items = list(iter_messages([str(MSGREADER / "attachmentsOrder.msg")],
                               limits=Limits(max_message_bytes=2000)))
    [raw] = items
    assert isinstance(raw, RawMessage) and raw.truncated and len(raw.data) <= 2000


def test_damaged_msg_files_never_raise() -> None:
    """Byte flips and cuts of a real .msg give messages or errors, never an exception."""
    _need_corpora()
    import io
    import random

    original = (MSGREADER / "msgInMsg.msg").read_bytes()
    rng = random.Random(5322)
    codes: set[str] = set()
    for round_ in range(300):
        data = bytearray(original)
        if round_ % 3 == 0:
            data = data[: rng.randrange(8, len(data))]
        for _ in range(rng.randrange(1, 40)):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
        items = list(iter_messages(["-"], limits=LIMITS, stdin=io.BytesIO(bytes(data))))
        assert items
        codes.update(i.code for i in items if isinstance(i, SourceError))
    assert codes <= {"bad-msg", "not-msg"}
