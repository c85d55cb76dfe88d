"""The samples' README: what each file is and the verdict it should get."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mailaudit.dns.snapshot import Entry
from support.synth import world
from support.synth.layout import MAILDIR_NAME, MBOX_NAME
from support.synth.samples import Sample

_HEAD = """# mailaudit samples

**These messages are synthetic.** They were made by `scripts/make_samples.py` and signed with the
project's own **test keys** (`keys/*.pem`), which `dns.json` publishes under the real-looking
selectors (for example `s1024-meo._domainkey.microsoft.com`). They are **not** signed with
Microsoft's keys or anyone else's, and they authenticate only against `dns.json`, offline. Phone
numbers are in the fictional 555-01xx range; other parties use reserved `.example` names and
documentation IP addresses (RFC 5737), except the look-alike domain of sample 07.

Try them:

    mailaudit check samples/ --dns-snapshot samples/dns.json --offline

Rebuild them (identical bytes as long as `keys/` is kept):

    python scripts/make_samples.py --seed {seed} --out samples/

## The samples

| file | expected verdict | why |
|---|---|---|
"""

_TAIL = """
The same messages, in the same order, are in `{mbox}` (mbox, LF line ends) and
`{maildir}/` (Maildir; samples 15 and 16 are unread in `new/`). Sample 12 carries sample 02 as a
message/rfc822 attachment, which mailaudit audits as its own record.

## Receivers

- Samples delivered to Contoso carry `Authentication-Results: {contoso}; ...` written by its MX
  (trust it with `--trust-authserv-id {contoso}`).
- Samples delivered to Tailspin Toys went through Exchange Online, which writes
  Authentication-Results without an authserv-id, plus Received-SPF and
  X-Forefront-Antispam-Report.

Every recorded result was computed from the message when it was built (DKIM and ARC with dkimpy
against `dns.json`), so it is what a receiver would have written. Sample 10 is the exception on
purpose: its body was changed after the receiver recorded `dkim=pass`.

## Keys and DNS

`keys/` holds the test keys (test keys only; never use them for real mail):

{keys}

Selectors are the ones seen in real Microsoft mail where the research has them (`s1024-meo` on
microsoft.com; `selector1`, `selector2`, `arcselector9901` for Microsoft's own Exchange Online).
Where it does not (microsoftonline.com and the other notification domains), the samples assume
the same platform and selector `s1024-meo`: an inference, not an observation.

`dns.json` (`"complete": false`) publishes {count} names:

{names}
"""


def readme_text(samples: Sequence[Sample], records: Mapping[str, Entry], seed: int) -> str:
    rows = "".join(f"| `{s.filename}` | **{s.verdict}** | {s.why} |\n" for s in samples)
    keys = "\n".join(f"- `keys/{name}.pem` ({kind})" for name, kind in world.KEYS.items())
    names = "\n".join(f"- `{n}`" + (" (NXDOMAIN)" if records[n] == "NXDOMAIN" else
                                      f" ({', '.join(sorted(records[n]))})")
                      for n in sorted(records))
    return (_HEAD.format(seed=seed) + rows + _TAIL.format(
        mbox=f"../samples-mailboxes/{MBOX_NAME}", maildir=f"../samples-mailboxes/{MAILDIR_NAME}",
        contoso=world.CONTOSO_MX.authserv_id, keys=keys, count=len(records), names=names))
