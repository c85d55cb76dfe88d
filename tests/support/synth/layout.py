"""Write the samples to disk: .eml files, the same messages as an mbox and a Maildir, the DNS
snapshot, the keys and a README. Names and bytes depend only on the inputs, never on the clock
or the host, so a rebuild gives identical files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mailaudit.dns.snapshot import Entry
from support.synth.dnssnap import write_dns_snapshot
from support.synth.samples import Sample

# The mailbox copies sit beside the samples folder, not inside it: `mailaudit check samples/`
# scans recursively and would otherwise audit every message three times.
MBOX_NAME = "samples.mbox"
MAILDIR_NAME = "maildir"


def mailbox_dir(out: Path) -> Path:
    """``samples/`` -> ``samples-mailboxes/``."""
    return out.parent / f"{out.name}-mailboxes"
# The fixed "From " separator date (asctime form, RFC 4155); mbox readers ignore it.
_MBOX_FROM = b"From MAILER-DAEMON Mon Jun  1 00:00:00 2026\n"


def unix_lines(raw: bytes) -> bytes:
    """Mailbox files on Unix hold LF line ends (as Python's mailbox module writes them)."""
    return raw.replace(b"\r\n", b"\n")


def mbox_bytes(samples: Sequence[Sample]) -> bytes:
    out = bytearray()
    for s in samples:
        body = unix_lines(s.raw)
        lines = body.split(b"\n")
        # mboxrd quoting (RFC 4155 section 2): a body line starting with ">*From " gains a ">".
        quoted = [b">" + ln if ln.lstrip(b">").startswith(b"From ") else ln for ln in lines]
        body = b"\n".join(quoted)
        out += _MBOX_FROM + body + (b"" if body.endswith(b"\n") else b"\n") + b"\n"
    return bytes(out)


def maildir_name(sample: Sample) -> tuple[str, str]:
    """(folder, file name). The last two samples are unseen mail in new/; the rest are in cur/
    with the Seen flag, as a mail client leaves them."""
    unique = f"1780272000.M{sample.number:02d}P0.samples.mailaudit.example"
    return ("new", unique) if sample.number >= 15 else ("cur", unique + ":2,S")


def write_samples(out: Path, samples: Sequence[Sample], records: Mapping[str, Entry],
                  readme: str) -> list[Path]:
    """Write everything under ``out``; returns the files written. Stale .eml files from an
    earlier build with other names are removed, so the folder always matches the story."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    wanted = {s.filename for s in samples}
    for old in out.glob("*.eml"):
        if old.name not in wanted:
            old.unlink()
    for s in samples:
        path = out / s.filename
        path.write_bytes(s.raw)
        written.append(path)
    boxes = mailbox_dir(out)
    mbox = boxes / MBOX_NAME
    mbox.parent.mkdir(parents=True, exist_ok=True)
    mbox.write_bytes(mbox_bytes(samples))
    written.append(mbox)
    maildir = boxes / MAILDIR_NAME
    for folder in ("cur", "new", "tmp"):
        (maildir / folder).mkdir(parents=True, exist_ok=True)
        for old in (maildir / folder).iterdir():
            old.unlink()
    for s in samples:
        folder, name = maildir_name(s)
        path = maildir / folder / name
        path.write_bytes(unix_lines(s.raw))
        written.append(path)
    dns = out / "dns.json"
    write_dns_snapshot(dns, records)
    written.append(dns)
    (out / "README.md").write_text(readme, encoding="utf-8")
    written.append(out / "README.md")
    return written
