"""The one header builder for Outlook input (sources/mapi.py), used by the .msg and PST readers."""

from __future__ import annotations

from datetime import UTC, datetime

from mailaudit.sources import mapi


def _reader(values: dict[int, str]) -> mapi.StringReader:
    return values.get


def test_properties_head_is_one_header_section_from_the_properties() -> None:
    props = {mapi.SENDER_NAME: "Alice Example", mapi.SENDER_SMTP: "alice@example.com",
             mapi.MESSAGE_ID: "<id@example.com>"}
    recipients = [mapi.Recipient(1, "Bob", "bob@example.org"),
                  mapi.Recipient(2, "Carol", "/O=EXAMPLE/OU=EXCHANGE/CN=RECIPIENTS/CN=CAROL"),
                  mapi.Recipient(3, None, "dan@example.net")]
    head = mapi.properties_head(_reader(props), recipients, subject="Hello",
                                when=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
                                source="msg-properties")
    assert head == (b"From: Alice Example <alice@example.com>\r\n"
                    b"To: Bob <bob@example.org>\r\n"
                    b"Cc: Carol\r\n"  # an X.500 DN is not a mail address
                    b"Bcc: dan@example.net\r\n"
                    b"Subject: Hello\r\n"
                    b"Date: Tue, 02 Jan 2024 03:04:05 +0000\r\n"
                    b"Message-ID: <id@example.com>\r\n"
                    b"X-Mailaudit-Source: msg-properties\r\n")


def test_properties_head_keeps_hostile_text_inside_its_field() -> None:
    props = {mapi.SENDER_EMAIL: "/O=EX/CN=X", mapi.SENT_REP_NAME: "Eve\r\nBcc: x@evil.example",
             mapi.DISPLAY_TO: "Team\nX-Injected: 1"}
    head = mapi.properties_head(_reader(props), [], subject="Hi\r\nX-Evil: 1\x00",
                                when=None, source="pst-properties")
    lines = head.split(b"\r\n")
    assert [line.split(b":")[0] for line in lines if line] == [
        b"From", b"To", b"Subject", b"X-Mailaudit-Source"]
    assert b"Subject: Hi X-Evil: 1\r\n" in head


def test_filetime() -> None:
    assert mapi.filetime((116444736000000000).to_bytes(8, "little")) == datetime(
        1970, 1, 1, tzinfo=UTC)
    assert mapi.filetime(b"\x01") is None
    assert mapi.filetime(b"\xff" * 8) is None  # past datetime.max
