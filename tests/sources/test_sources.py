"""Input sources on real files written into tmp_path: mbox, Maildir, directories, stdin, errors."""

from __future__ import annotations

import io
import mailbox
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailaudit.model import MessageRef, RawMessage, SourceError
from mailaudit.options import Limits
from mailaudit.sources import count_hint, directory, eml, iter_messages, maildir, mbox, msg
from mailaudit.sources.mbox import split_mbox

LIMITS = Limits()
FROM_LINE = b"From sender@example.org Mon Jan  1 00:00:00 2024\n"


def message(n: int, body: bytes = b"hello\n") -> bytes:
    return (f"From: a{n}@example.org\nTo: b@example.org\nSubject: m{n}\n"
            f"Message-ID: <{n}@example.org>\n\n").encode() + body


def read(paths: list[str], limits: Limits = LIMITS, stdin: io.BytesIO | None = None
         ) -> list[RawMessage | SourceError]:
    return list(iter_messages(paths, limits=limits, stdin=stdin))


def messages(items: list[RawMessage | SourceError]) -> list[RawMessage]:
    assert all(isinstance(i, RawMessage) for i in items), items
    return [i for i in items if isinstance(i, RawMessage)]


def errors(items: list[RawMessage | SourceError]) -> list[SourceError]:
    return [i for i in items if isinstance(i, SourceError)]


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file under root, to prove reading changed nothing."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and os.access(path, os.R_OK):
            out[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return out


# --- single files ---------------------------------------------------------------------------

def test_eml_file_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(message(1))
    before = snapshot(tmp_path)
    [item] = read([str(path)])
    assert item == RawMessage(MessageRef(str(path)), message(1))
    assert snapshot(tmp_path) == before


def test_eml_with_envelope_line_stays_one_message(tmp_path: Path) -> None:
    # An attached git patch carries its own "From <sha> Mon Sep 17 00:00:00 2001" line after a
    # blank line; in a .eml that is body text, not a second message.
    body = b"see patch\n\nFrom fc88cba7 Mon Sep 17 00:00:00 2001\nFrom: x@example.org\n\npatch\n"
    path = tmp_path / "patch.eml"
    path.write_bytes(FROM_LINE + message(1, body))
    [item] = messages(read([str(path)]))
    assert item.data == message(1, body)
    assert item.ref.locator == ""


def test_message_over_limit_is_cut_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "big.eml"
    path.write_bytes(message(1, b"x" * 200_000))
    [item] = messages(read([str(path)], Limits(max_message_bytes=1000)))
    assert item.truncated and len(item.data) == 1000
    assert item.data == message(1, b"x" * 200_000)[:1000]


def test_message_exactly_at_limit_is_not_truncated(tmp_path: Path) -> None:
    data = message(1)
    path = tmp_path / "exact.eml"
    path.write_bytes(data)
    [item] = messages(read([str(path)], Limits(max_message_bytes=len(data))))
    assert not item.truncated and item.data == data


@pytest.mark.parametrize(("content", "name", "code"), [
    (b"", "empty.eml", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "image.png", "not-mail"),
    (b"just some text, no header\n", "notes.msg", "not-msg"),
    (b"\x00\x01binary" * 10, "bin.msg", "not-msg"),
], ids=["empty", "binary", "msg-name-text", "msg-name-binary"])
def test_bad_single_files(tmp_path: Path, content: bytes, name: str, code: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    [item] = read([str(path)])
    assert isinstance(item, SourceError)
    assert item.code == code
    assert item.message.startswith(str(path) + ": ")
    assert item.ref == MessageRef(str(path))


def test_msg_named_rfc5322_file_is_read_as_mail(tmp_path: Path) -> None:
    # dkimpy and others name raw RFC 5322 messages ".msg": content decides, not the name.
    path = tmp_path / "signed.msg"
    path.write_bytes(message(7))
    [item] = messages(read([str(path)]))
    assert item.data == message(7)


def test_text_file_named_directly_is_audited(tmp_path: Path) -> None:
    # A message with a mangled first line still gets audited when the user names it.
    path = tmp_path / "mangled"
    path.write_bytes(b" broken first line\nFrom: a@example.org\n\nbody\n")
    [item] = messages(read([str(path)]))
    assert item.data.startswith(b" broken")


def test_missing_path(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.eml")
    [item] = read([path])
    assert isinstance(item, SourceError) and item.code == "not-found"
    assert path in item.message


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.eml"
    path.write_bytes(message(1))
    path.chmod(0)
    try:
        items = read([str(path)])
    finally:
        path.chmod(0o644)
    if os.geteuid() == 0:
        # root bypasses file permission bits (CAP_DAC_OVERRIDE): the read succeeds.
        assert messages(items)[0].data == message(1)
    else:
        [item] = items
        assert isinstance(item, SourceError) and item.code == "unreadable"


def test_vanished_file_reported(tmp_path: Path) -> None:
    # What the directory walk does when a listed file is gone by the time it is opened.
    from mailaudit.sources.file import iter_file

    [item] = list(iter_file(str(tmp_path / "gone.eml"), limits=LIMITS, member=True))
    assert isinstance(item, SourceError) and item.code == "vanished"


def test_vanished_during_directory_walk(tmp_path: Path) -> None:
    for n in range(3):
        (tmp_path / f"{n}.eml").write_bytes(message(n))
    walk = iter_messages([str(tmp_path)], limits=LIMITS)
    first = next(walk)
    assert isinstance(first, RawMessage)
    (tmp_path / "1.eml").unlink()  # removed after the listing, before it is read
    rest = list(walk)
    assert [type(i) for i in rest] == [SourceError, RawMessage]
    assert isinstance(rest[0], SourceError) and rest[0].code == "vanished"
    assert rest[0].ref.path == str(tmp_path / "1.eml")


# --- stdin ----------------------------------------------------------------------------------

def test_stdin_single_message() -> None:
    [item] = messages(read(["-"], stdin=io.BytesIO(message(3))))
    assert item == RawMessage(MessageRef("-"), message(3))


def test_stdin_mbox_streams() -> None:
    data = b"".join(FROM_LINE + message(n) + b"\n" for n in range(3))
    items = messages(read(["-"], stdin=io.BytesIO(data)))
    assert [i.data for i in items] == [message(n) for n in range(3)]
    assert all(i.ref.path == "-" and i.ref.locator.startswith("mbox:offset=") for i in items)


def test_stdin_empty() -> None:
    [item] = read(["-"], stdin=io.BytesIO(b""))
    assert isinstance(item, SourceError) and item.code == "empty"


def test_stdin_not_ole_binary() -> None:
    [item] = read(["-"], stdin=io.BytesIO(bytes(100)))
    assert isinstance(item, SourceError) and item.code == "not-mail"


def test_named_pipe_on_command_line_is_refused_without_opening_it(tmp_path: Path) -> None:
    # Opening a FIFO blocks until a writer comes, outside any time budget: it is refused with
    # a sentence and never opened (a writer waiting on it would otherwise be released).
    pipe = tmp_path / "fifo"
    os.mkfifo(pipe)
    [item] = read([str(pipe)])
    assert isinstance(item, SourceError) and item.code == "not-a-file"
    assert "named pipe" in item.message and item.message.startswith(f"{pipe}: ")
    # Nobody opened it: a non-blocking open for writing finds no reader.
    with pytest.raises(OSError):
        os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)


def test_text_that_is_not_mail_named_directly_is_not_mail(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(b"# samples\n\nThe messages here are synthetic.\npurpose: demo\n")
    snapshot = tmp_path / "dns.json"
    snapshot.write_bytes(b'{\n  "format": "mailaudit-dns/1",\n  "records": {}\n}\n')
    for path in (readme, snapshot):
        [item] = read([str(path)])
        assert isinstance(item, SourceError) and item.code == "not-mail", path
        assert "text that is not an email message" in item.message


# --- mbox -----------------------------------------------------------------------------------

def write_mbox(path: Path, bodies: list[bytes]) -> list[bytes]:
    """Write with the stdlib writer (mboxo: it escapes body "From " lines as ">From ")."""
    box = mailbox.mbox(str(path), create=True)
    box.lock()
    try:
        for n, body in enumerate(bodies):
            box.add(message(n, body))
        box.flush()
    finally:
        box.unlock()
        box.close()
    return [message(n, body) for n, body in enumerate(bodies)]


def test_mbox_written_by_stdlib(tmp_path: Path) -> None:
    path = tmp_path / "archive"  # no extension: detected by content
    expected = write_mbox(tmp_path / "archive", [b"one\n", b"two\n\n", b"three\n"])
    before = snapshot(tmp_path)
    items = messages(read([str(path)]))
    assert [i.data for i in items] == expected
    starts = [int(i.ref.locator.split("=")[1]) for i in items]
    raw = path.read_bytes()
    assert all(raw[s:].startswith(b"From ") for s in starts)
    box = mailbox.mbox(str(path))
    assert [box.get_bytes(key) for key in box.iterkeys()] == expected
    assert starts == [s for s, _ in sorted(box._toc.values())]  # type: ignore[attr-defined]
    assert snapshot(tmp_path) == before
    assert read([str(path)]) == items  # same refs every run


def test_mbox_escaped_from_in_body_is_unquoted(tmp_path: Path) -> None:
    body = b"para\n\nFrom the top\n>From quoted\n"
    path = tmp_path / "box.mbox"
    write_mbox(path, [body, b"next\n"])
    assert b"\n>From the top\n" in path.read_bytes()  # the writer escaped it
    items = messages(read([str(path)]))
    assert len(items) == 2
    # mboxrd unquoting: one ">" off every ^>+From line.
    assert items[0].data == message(0, b"para\n\nFrom the top\nFrom quoted\n")


def test_mbox_unescaped_from_lines_do_not_split(tmp_path: Path) -> None:
    path = tmp_path / "mboxo"
    path.write_bytes(
        FROM_LINE + message(0, b"line\nFrom inside, no blank line before\n\n"
                               b"From here on, prose after a blank line\n")
        + b"\n" + FROM_LINE + message(1))
    items = messages(read([str(path)]))
    assert len(items) == 2
    assert b"From inside" in items[0].data and b"From here on" in items[0].data


def test_mbox_crlf(tmp_path: Path) -> None:
    crlf = [m.replace(b"\n", b"\r\n") for m in (message(0), message(1, b"a\r\nFrom x\r\n"))]
    line = FROM_LINE.replace(b"\n", b"\r\n")
    path = tmp_path / "crlf.mbox"
    path.write_bytes(line + crlf[0] + b"\r\n" + line + crlf[1] + b"\r\n")
    items = messages(read([str(path)]))
    assert [i.data for i in items] == crlf
    assert items[1].ref.locator == f"mbox:offset={len(line) + len(crlf[0]) + 2}"


def test_mbox_truncated_inside_headers(tmp_path: Path) -> None:
    path = tmp_path / "cut.mbox"
    path.write_bytes(FROM_LINE + message(0) + b"\n" + FROM_LINE + b"From: a@exa")
    items = read([str(path)])
    assert isinstance(items[0], RawMessage) and items[0].data == message(0)
    assert isinstance(items[1], SourceError) and items[1].code == "truncated"
    assert items[1].ref.locator == f"mbox:offset={len(FROM_LINE) + len(message(0)) + 1}"
    assert str(path) in items[1].message


def test_mbox_truncated_in_from_line(tmp_path: Path) -> None:
    path = tmp_path / "cut2.mbox"
    path.write_bytes(FROM_LINE + message(0) + b"\nFrom someone Mon Jan  1 00:00:0")
    items = read([str(path)])
    assert isinstance(items[1], SourceError) and items[1].code == "truncated"


def test_mbox_body_cut_without_final_newline_is_kept(tmp_path: Path) -> None:
    # Headers complete, body cut: the message is still audited (DKIM body hash will tell).
    path = tmp_path / "cut3.mbox"
    path.write_bytes(FROM_LINE + message(0, b"partial bo"))
    [item] = messages(read([str(path)]))
    assert item.data == message(0, b"partial bo")


def test_mbox_empty_message_between_from_lines(tmp_path: Path) -> None:
    path = tmp_path / "gap.mbox"
    path.write_bytes(FROM_LINE + b"\n" + FROM_LINE + message(1))
    items = read([str(path)])
    assert isinstance(items[0], SourceError) and items[0].code == "empty"
    assert isinstance(items[1], RawMessage) and items[1].data == message(1)


def test_mbox_oversized_message_is_cut_and_streaming_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    big = message(0, b"y" * 3_000_000 + b"\n")
    path.write_bytes(FROM_LINE + big + b"\n" + FROM_LINE + message(1))
    items = messages(read([str(path)], Limits(max_message_bytes=10_000)))
    assert items[0].truncated and items[0].data == big[:10_000]
    assert items[1].data == message(1) and not items[1].truncated


def test_mbox_line_without_newline_longer_than_a_chunk(tmp_path: Path) -> None:
    path = tmp_path / "longline.mbox"
    body = b"z" * (3 * mbox.CHUNK_BYTES) + b"\n"
    path.write_bytes(FROM_LINE + message(0, body) + b"\n" + FROM_LINE + message(1))
    items = messages(read([str(path)]))
    assert [i.data for i in items] == [message(0, body), message(1)]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 4096])
def test_mbox_split_independent_of_chunking(chunk: int) -> None:
    data = (FROM_LINE + message(0, b"a\n\nFrom here\n>From q\n") + b"\n"
            + FROM_LINE.replace(b"\n", b"\r\n") + message(1).replace(b"\n", b"\r\n") + b"\r\n"
            + FROM_LINE + message(2))
    whole = list(split_mbox([data], path="x", limits=LIMITS))
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    assert list(split_mbox(pieces, path="x", limits=LIMITS)) == whole
    assert len(whole) == 3


@pytest.mark.slow
def test_mbox_of_thousands_streams(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    body = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n" * 40
    with path.open("wb") as out:
        for n in range(4000):
            out.write(FROM_LINE + message(n, body + (b"\n>From q\n" if n % 10 == 0 else b""))
                      + b"\n")
    size = path.stat().st_size
    started = time.perf_counter()
    count = 0
    for item in iter_messages([str(path)], limits=LIMITS):
        assert isinstance(item, RawMessage)
        assert item.data.startswith(f"From: a{count}@".encode())
        assert not item.data.endswith(b"\n\n")
        count += 1
    seconds = time.perf_counter() - started
    assert count == 4000
    assert count_hint([str(path)]) == 4000
    print(f"mbox: {count} messages, {size / 1e6:.1f} MB in {seconds:.3f} s "
          f"= {size / 1e6 / seconds:.0f} MB/s")


@pytest.mark.parametrize(("data", "records"), [
    (b"From x 00:00\n" + b"\nFrom x 00:00\n" * 20_000, 20_001),  # all empty messages
    (b"From x 00:00\nA: b\n\n" + b"\nFrom " * 500_000, 1),  # no blank lines between
    (b"From x 00:00\nA: b\n\n" + b"\n" * 2_000_000, 1),  # nothing but line ends
    (b"From x 00:00\nA: b\n\n" + b">" * 3_000_000 + b"From \n", 1),  # long quote run
    (b"From x 00:00\nA: b\n\n" + b"\r" * 3_000_000, 1),  # no LF at all
], ids=["empty-messages", "from-without-blank", "newlines", "quote-run", "bare-cr"])
def test_mbox_hostile_shapes_stay_linear(data: bytes, records: int) -> None:
    started = time.perf_counter()
    items = list(split_mbox([data[i:i + 65536] for i in range(0, len(data), 65536)],
                            path="x", limits=LIMITS))
    assert len(items) == records
    assert time.perf_counter() - started < 10


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` in consecutive chunks of the given lengths, repeated until it is used up."""
    chunks, pos, i = [], 0, 0
    while pos < len(data):
        step = cuts[i % len(cuts)]
        chunks.append(data[pos:pos + step])
        pos, i = pos + step, i + 1
    return chunks


_PIECES = [b"From ", b"From a 00:00", b"\n", b"\r\n", b"\r", b">", b">>From ", b"A: b",
           b"x", b" ", b"\x00", b"\xff"]


@settings(max_examples=1000, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=60),
       cuts=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10),
       cap=st.integers(min_value=1, max_value=200))
def test_mbox_split_property(pieces: list[bytes], cuts: list[int], cap: int) -> None:
    """Any bytes at all, cut into any chunks, under any size limit: same records, no crash."""
    data = b"From x 00:00\n" + b"".join(pieces)
    chunks = _cut(data, cuts)
    limits = Limits(max_message_bytes=cap)
    whole = list(split_mbox([data], path="x", limits=limits))
    assert list(split_mbox(chunks, path="x", limits=limits)) == whole
    for item in whole:
        assert isinstance(item, SourceError) or len(item.data) <= cap
        offset = int(item.ref.locator.split("=")[1])
        assert data[offset:].startswith(b"From ")


def test_mbox_blank_line_past_the_cap_is_trimmed_whatever_the_reads() -> None:
    """Found by test_mbox_split_property: an 80-byte message under an 81-byte cap, whose
    blank CRLF line reached the splitter in one read and the next From_ line in the next, kept
    a stray CR and was called truncated; read whole, it was neither."""
    data = (b"From x 00:00\nx  From a 00:00>>From \r\n\x00\n>>From \xff>\r\n\r\nx>>From From "
            b"a 00:00>From From a 00:00x\r\n\r\nFrom a 00:00A: b >>>From \r\r\n")
    limits = Limits(max_message_bytes=81)
    whole = list(split_mbox([data], path="x", limits=limits))
    assert list(split_mbox(_cut(data, [35, 20]), path="x", limits=limits)) == whole
    first = whole[0]
    assert isinstance(first, RawMessage) and not first.truncated
    assert first.data.endswith(b"a 00:00x\r\n")
    # Past the cap for real: cut, flagged, and still the same whatever the reads.
    small = Limits(max_message_bytes=40)
    cut = list(split_mbox([data], path="x", limits=small))
    assert list(split_mbox(_cut(data, [35, 20]), path="x", limits=small)) == cut
    assert isinstance(cut[0], RawMessage) and cut[0].truncated and len(cut[0].data) <= 40


_QUOTE_PIECES = [b"From ", b"From a 00:00", b">From ", b">>From ", b">", b"From", b"\n", b"\r\n",
                 b"\n\n", b"x", b" "]


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(st.sampled_from(_QUOTE_PIECES), max_size=60),
       cuts=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=10),
       cap=st.integers(min_value=1, max_value=400))
def test_mbox_unquoting_matches_the_line_rule(pieces: list[bytes], cuts: list[int],
                                              cap: int) -> None:
    """The splitter finds quoted lines during its one search for "From "; what it unquotes
    must be what the plain rule gives: one ">" off every line matching ^>+From, in each
    message as split. The reference split is the same data with every ">" made another
    byte (so nothing is quoted; separators do not depend on ">"), turned back after."""
    data = b"From x 00:00\n" + b"".join(pieces)
    chunks = _cut(data, cuts)
    limits = Limits(max_message_bytes=cap)
    got = list(split_mbox(chunks, path="x", limits=limits))
    plain = list(split_mbox([data.replace(b">", b"\x01")], path="x", limits=limits))
    assert len(got) == len(plain)
    rule = re.compile(rb"^>(>*From )", re.MULTILINE)
    for item, reference in zip(got, plain, strict=True):
        assert item.ref == reference.ref
        if isinstance(reference, RawMessage):
            assert isinstance(item, RawMessage)
            raw = reference.data.replace(b"\x01", b">")
            assert item.data == rule.sub(rb"\1", raw)


# --- Maildir --------------------------------------------------------------------------------

def make_maildir(root: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / "1700000000.M1P1.host:2,S").write_bytes(message(1))
    (root / "cur" / "1700000001.M2P1.host:2,RS").write_bytes(message(2))
    (root / "new" / "1700000002.M3P1.host").write_bytes(message(3))
    (root / "tmp" / "1700000003.M4P1.host").write_bytes(message(4))  # delivery in progress
    (root / "cur" / ".hidden").write_bytes(message(5))
    (root / "dovecot-uidlist").write_bytes(b"3 V1 N4\n1 a\n")  # stray, not mail: skipped
    (root / "maildirfolder").write_bytes(b"")


def test_maildir(tmp_path: Path) -> None:
    box = tmp_path / "Mail"
    make_maildir(box)
    (box / "cur" / "empty:2,").write_bytes(b"")
    before = snapshot(tmp_path)
    items = read([str(box)])
    got = [(i.ref.locator, i.data if isinstance(i, RawMessage) else i.code) for i in items]
    assert got == [
        ("maildir:key=1700000000.M1P1.host", message(1)),
        ("maildir:key=1700000001.M2P1.host", message(2)),
        ("maildir:key=empty", "empty"),
        ("maildir:key=1700000002.M3P1.host", message(3)),
    ]
    assert items[0].ref.path == str(box / "cur" / "1700000000.M1P1.host:2,S")
    assert snapshot(tmp_path) == before  # nothing moved from new/ to cur/, no flag changed
    assert sorted(os.listdir(box / "new")) == ["1700000002.M3P1.host"]


def test_maildir_detect(tmp_path: Path) -> None:
    make_maildir(tmp_path / "m")
    assert maildir.detect(str(tmp_path / "m"))
    assert not maildir.detect(str(tmp_path))
    assert maildir.key_of("123.abc:2,FS") == "123.abc"


def test_maildir_plus_plus_folders(tmp_path: Path) -> None:
    make_maildir(tmp_path)
    make_maildir(tmp_path / ".Sent")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_bytes(message(9))
    items = messages(read([str(tmp_path)]))
    assert len(items) == 6
    assert {i.ref.path.split(os.sep)[-3] for i in items} == {tmp_path.name, ".Sent"}


# --- directories ----------------------------------------------------------------------------

def test_nested_directory_order_and_kinds(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "a" / "deep" / "x.eml").write_bytes(message(1))
    (tmp_path / "a" / "z.eml").write_bytes(message(2))
    (tmp_path / "b" / "inbox").write_bytes(FROM_LINE + message(3) + b"\n" + FROM_LINE
                                           + message(4))
    (tmp_path / "c.eml").write_bytes(message(5))
    (tmp_path / "README.txt").write_bytes(b"Not mail, skipped.\n")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (tmp_path / ".DS_Store").write_bytes(bytes(10))
    (tmp_path / "marker").write_bytes(b"")
    make_maildir(tmp_path / "d")
    os.mkfifo(tmp_path / "pipe")  # would block if opened: skipped
    items = messages(read([str(tmp_path)]))
    rel = [(os.path.relpath(i.ref.path, tmp_path), i.ref.locator) for i in items]
    assert rel == [
        ("a/deep/x.eml", ""), ("a/z.eml", ""),
        ("b/inbox", "mbox:offset=0"), ("b/inbox", f"mbox:offset={len(FROM_LINE) + len(message(3)) + 1}"),
        ("c.eml", ""),
        ("d/cur/1700000000.M1P1.host:2,S", "maildir:key=1700000000.M1P1.host"),
        ("d/cur/1700000001.M2P1.host:2,RS", "maildir:key=1700000001.M2P1.host"),
        ("d/new/1700000002.M3P1.host", "maildir:key=1700000002.M3P1.host"),
    ]
    assert read([str(tmp_path)]) == items


def test_symlink_loop_and_links(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.eml").write_bytes(message(1))
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)  # points back up: a loop
    (tmp_path / "link.eml").symlink_to(tmp_path / "sub" / "m.eml")  # a link to a file is fine
    (tmp_path / "dangling.eml").symlink_to(tmp_path / "missing.eml")
    items = read([str(tmp_path)])
    got = [(os.path.relpath(i.ref.path, tmp_path),
            "msg" if isinstance(i, RawMessage) else i.code) for i in items]
    assert got == [("dangling.eml", "not-found"), ("link.eml", "msg"), ("sub/m.eml", "msg")]


def test_directory_without_mail(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"nothing here\n")
    [item] = read([str(tmp_path)])
    assert isinstance(item, SourceError) and item.code == "no-mail"
    assert str(tmp_path) in item.message


def test_directory_with_bad_msg_file(tmp_path: Path) -> None:
    (tmp_path / "fake.msg").write_bytes(b"\x00garbage")
    (tmp_path / "ok.eml").write_bytes(message(1))
    items = read([str(tmp_path)])
    assert [i.code if isinstance(i, SourceError) else "ok" for i in items] == ["not-msg", "ok"]


def test_deep_directory_needs_no_recursion(tmp_path: Path) -> None:
    path = tmp_path
    for _ in range(300):
        path = path / "d"
    path.mkdir(parents=True)
    (path / "m.eml").write_bytes(message(1))
    assert len(messages(read([str(tmp_path)]))) == 1


# --- several paths, hints, plug-in shape ----------------------------------------------------

def test_several_paths_in_order(tmp_path: Path) -> None:
    (tmp_path / "1.eml").write_bytes(message(1))
    (tmp_path / "2.eml").write_bytes(message(2))
    items = read([str(tmp_path / "2.eml"), str(tmp_path / "missing"), str(tmp_path / "1.eml")])
    assert [type(i).__name__ for i in items] == ["RawMessage", "SourceError", "RawMessage"]


def test_count_hint(tmp_path: Path) -> None:
    box = tmp_path / "box"
    write_mbox(box, [b"a\n", b"b\n", b"c\n"])
    (tmp_path / "dir").mkdir()
    for n in range(4):
        (tmp_path / "dir" / f"{n}.eml").write_bytes(message(n))
    assert count_hint([str(box)]) == 3
    assert count_hint([str(tmp_path / "dir"), str(box)]) == 7
    assert count_hint(["-"]) is None
    assert count_hint([str(tmp_path / "missing")]) == 1


def test_detect_functions(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(message(1))
    (tmp_path / "b").write_bytes(FROM_LINE + message(1))
    (tmp_path / "c.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    assert eml.detect(str(tmp_path / "a.eml")) and not eml.detect(str(tmp_path / "c.msg"))
    assert mbox.detect(str(tmp_path / "b")) and not mbox.detect(str(tmp_path / "a.eml"))
    assert msg.detect(str(tmp_path / "c.msg")) and not msg.detect(str(tmp_path / "b"))
    assert directory.detect(str(tmp_path)) and not directory.detect(str(tmp_path / "b"))


def test_damaged_ole_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.msg"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    [item] = read([str(path)])
    assert isinstance(item, SourceError) and item.code == "bad-msg"
    assert str(path) in item.message


def test_msg_without_olefile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulates the optional extra not being installed (olefile is third-party, not ours).
    import sys

    monkeypatch.setitem(sys.modules, "olefile", None)
    path = tmp_path / "x.msg"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    [item] = read([str(path)])
    assert isinstance(item, SourceError) and item.code == "msg-extra-missing"
    assert item.message == (f"{path}: reading Outlook .msg files needs the optional extra: "
                            "pip install 'mailaudit[msg]'")
