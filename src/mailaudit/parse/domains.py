"""Domain names and organisational domains (RFC 7489 §3.2): the Public Suffix List, read once per
process, and the one organisational-domain function.

The list bundled with publicsuffixlist is used: offline and reproducible (no download).
Organisational domains (RFC 7489 §3.2), claimed brands and hostname signals all read the same
list, so they share one instance.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from itertools import repeat

_PSL_FORMAT = "mailaudit-psl-rules/2"


class SuffixList:
    """The Public Suffix List's rules as one set, looked up with the list's algorithm
    (https://publicsuffix.org/list/, "Formal algorithm"), answering as publicsuffixlist's
    ``PublicSuffixList`` does for ``str`` names.

    Why not the library's own object at start-up: ``PublicSuffixList`` re-reads every rule line
    (decode, lower-case, split) whenever it is built, about 40 ms per process even from the
    cached expanded rules, which is more than the rest of a one-message audit. The rule set it
    builds is what the cache holds already, so it is used as it is (a few ms to load); the
    lookup below is the list's published algorithm, checked against the library and the
    list's own test vectors (tests/parse/test_domains_psl.py, tests/checks/dmarc).
    """

    __slots__ = ("_maxlabel", "_rules")

    def __init__(self, rules: Iterable[str], maxlabel: int | None = None) -> None:
        """``maxlabel``: the most dots in a rule, plus one (computed when not given)."""
        self._rules = frozenset(rules)
        if maxlabel is None:
            # map() over C methods: a generator over ten thousand rules costs milliseconds.
            maxlabel = max(map(str.count, self._rules, repeat(".")), default=-1) + 1
        self._maxlabel = maxlabel

    def _count_public(self, labels: list[str], accept_unknown: bool) -> int:
        """How many trailing labels of ``labels`` are the public suffix (0: none known)."""
        count = len(labels)
        if count == 1 and accept_unknown:
            return 1  # a lone label is a TLD: public whether listed or not
        rules = self._rules
        # Longest candidate first. A wildcard (*.kobe.jp) makes its parent (kobe.jp) public
        # too; an exception (!city.kobe.jp) makes its own name registrable, one label
        # above the public part. Order per candidate: exception, wildcard, exact rule.
        for i in range(max(0, count - (self._maxlabel + 1)), count):
            depth = count - i
            name = ".".join(labels[i:])
            if "!" + name in rules:
                return depth - 1
            if "*." + name in rules:
                return depth + 1 if i > 0 else depth
            if name in rules:
                return depth
        return 1 if accept_unknown else 0

    @staticmethod
    def _labels(domain: str) -> list[str] | None:
        if domain.endswith("."):
            domain = domain[:-1]
        labels = domain.lower().split(".")
        return None if "" in labels else labels

    def privatesuffix(self, domain: str, accept_unknown: bool = True) -> str | None:
        """The registrable domain (public suffix plus one label), lower-case; None when
        ``domain`` is itself public, not a domain name, or (``accept_unknown=False``) under
        no listed suffix."""
        labels = self._labels(domain)
        if labels is None:
            return None
        public = self._count_public(labels, accept_unknown)
        if not public or len(labels) < public + 1:
            return None
        return ".".join(labels[-(public + 1):])

    def publicsuffix(self, domain: str, accept_unknown: bool = True) -> str | None:
        """The longest public suffix of ``domain``, lower-case; None when it is not a domain
        name or (``accept_unknown=False``) no listed suffix covers it."""
        labels = self._labels(domain)
        if labels is None:
            return None
        public = self._count_public(labels, accept_unknown)
        if not public or len(labels) < public:
            return None
        return ".".join(labels[-public:])


@functools.cache
def psl() -> SuffixList:
    """The bundled list.

    Most of reading it is turning its IDN rules into A-labels (the idna codec, in Python); that
    is done once per list and release and kept in the cache (``mailaudit.cache``) as the
    expanded rule lines: the rule set ``PublicSuffixList()`` builds, loaded in about 3 ms.
    """
    import publicsuffixlist

    from mailaudit import cache

    with open(publicsuffixlist.PSLFILE, "rb") as fh:  # part of the install: no fallback
        data = fh.read()
    entry = cache.entry_path("psl", _PSL_FORMAT, publicsuffixlist.__version__.encode(), data)
    found = cache.lookup(entry, _PSL_FORMAT, _suffix_list)
    if found is not None:
        return found
    made = SuffixList(expanded_rules(data))
    cache.store(entry, _PSL_FORMAT, {"maxlabel": made._maxlabel,
                                     "rules": "\n".join(sorted(made._rules))})
    return made


def _suffix_list(plain: object) -> SuffixList:
    """A cache entry: the rules as one text, a rule a line (one JSON string reads in a
    fraction of the time of ten thousand; no rule holds a line break, as the list is read by
    line), and ``maxlabel`` as computed from them (counting costs as much as the rest)."""
    if not isinstance(plain, dict):
        raise TypeError("not a rule list")
    rules, maxlabel = plain.get("rules"), plain.get("maxlabel")
    if not isinstance(rules, str) or type(maxlabel) is not int or maxlabel < 0:
        raise TypeError("not a rule list")
    return SuffixList(rules.split("\n") if rules else (), maxlabel)


def expanded_rules(data: bytes) -> list[str]:
    """Every rule of the list and, for IDN rules, its A-label form: the rule set
    publicsuffixlist builds with ``accept_encoded_idn=True``, as lines it reads unchanged."""
    from publicsuffixlist import encode_idn

    rules: dict[str, None] = {}
    for raw in data.split(b"\n"):  # as the library reads its file: by line, UTF-8
        rule = raw.decode("utf-8", "surrogateescape").lower().split(" ")[0].rstrip()
        if not rule or rule.startswith("//"):
            continue
        rules[rule] = None
        encoded = encode_idn(rule.lstrip("!"))
        rules["!" + encoded if rule.startswith("!") else encoded] = None
    return list(rules)


def normalise_domain(domain: str) -> str | None:
    """Lower-case, no trailing dot; None for what cannot be a domain name."""
    name = domain.strip().rstrip(".").lower()
    if not name or len(name) > 253 or name.startswith("."):
        return None
    if any(not label or len(label) > 63 for label in name.split(".")):
        return None
    return name


def org_domain_psl(domain: str) -> str | None:
    """RFC 7489 §3.2: the public suffix plus one label; None when ``domain`` is itself a public
    suffix (or no domain at all)."""
    if len(domain) > 260:  # never a valid name (253 at most, plus dot and spaces)
        return None
    return _org_domain_of(domain)


def org_domain_or_self(domain: str) -> str:
    """``org_domain_psl``, or the name itself (lower-cased) where the list gives none: a public
    suffix, a single label, something that is not a domain name."""
    name = domain.strip().rstrip(".").lower()
    return (org_domain_psl(name) if name else None) or name


# A batch sees the same few hundred From and d= domains again and again, and the answer is a
# pure function of the bundled list. Keys are at most 260 characters and the cache is bounded,
# so hostile names cannot make it grow.
@functools.lru_cache(maxsize=8192)
def _org_domain_of(domain: str) -> str | None:
    name = normalise_domain(domain)
    if name is None:
        return None
    result = psl().privatesuffix(name)
    return str(result) if result else None
