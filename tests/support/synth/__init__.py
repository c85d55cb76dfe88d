"""Synthetic mail for samples and tests: test keys, DKIM signing and ARC sealing, message
builders, the DNS snapshot that makes it all authenticate offline, and per-template cases.

Nothing here is needed to audit mail; it is imported only by scripts/make_samples.py and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def build_sample_set(out: Path, *, seed: int = 2026, key_dir: Path | None = None,
                     template_dirs: Sequence[Path] = ()) -> list[Path]:
    """Build the samples into ``out`` (keys from ``key_dir``, default ``out/keys``)."""
    from mailaudit.errors import MailauditError
    from mailaudit.templates.catalog import load_catalog
    from support.synth.layout import write_samples
    from support.synth.notify import open_workshop
    from support.synth.readme import readme_text
    from support.synth.samples import SampleError, build_samples

    keys = key_dir or out / "keys"
    shop = open_workshop(keys, load_catalog(list(template_dirs)))
    try:
        samples = build_samples(shop, seed)
    except SampleError as exc:
        raise MailauditError(str(exc)) from None
    written = write_samples(out, samples, shop.records, readme_text(samples, shop.records, seed))
    (keys / "README.md").write_text(KEYS_README, encoding="utf-8")
    return [*written, keys / "README.md"]


KEYS_README = """# Test keys

These are **test keys** for the synthetic samples, published in ../dns.json. They are not
Microsoft's or anyone else's keys. Never use them to sign real mail. Delete a file to have
scripts/make_samples.py generate a new key (the samples' signatures change with it).
"""
