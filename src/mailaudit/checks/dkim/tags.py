"""Tag=value lists (RFC 6376 section 3.2), as used by DKIM-Signature, key records and ARC.

The rules follow dkimpy's ``parse_tag_value`` exactly (the fast DKIM path must reach the same
verdict as dkimpy), but never raise: a malformed list comes back with ``error`` set.
"""

from __future__ import annotations

from dataclasses import field

from mailaudit.errors import cut
from mailaudit.records import record

_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@record
class TagList:
    tags: dict[bytes, bytes] = field(default_factory=dict)
    error: str = ""  # "" when the list parsed

    @property
    def ok(self) -> bool:
        return not self.error

    def text(self, tag: bytes) -> str | None:
        """A tag's value as text (bytes that are not UTF-8 shown as U+FFFD)."""
        value = self.tags.get(tag)
        return None if value is None else value.decode("utf-8", "replace")


def parse_tags(value: bytes) -> TagList:
    """Parse a tag-list. Whitespace around tags and values is dropped; a trailing ``;`` is
    allowed; a spec without ``=``, a name not starting with a letter, or a repeated name is an
    error (RFC 6376 section 3.2: "Tags with duplicate names MUST NOT occur")."""
    specs = value.strip().split(b";")
    if not specs[-1]:
        specs.pop()
    tags: dict[bytes, bytes] = {}
    for spec in specs:
        key, eq, val = spec.partition(b"=")
        if not eq:
            return TagList(tags, f"tag without '=': {_show(spec)}")
        key = key.strip()
        # dkimpy only checks that the name starts with a letter; so do we, to stay in step.
        if not key or key[0] not in _LETTERS:
            return TagList(tags, f"invalid tag name: {_show(key)}")
        if key in tags:
            return TagList(tags, f"duplicate tag {_show(key)}=")
        tags[key] = val.strip()
    return TagList(tags)


def _show(b: bytes) -> str:
    return repr(cut(b.decode("utf-8", "replace"), 40))
