"""The sender and template catalog: YAML files, validated on load.

Every file is ``format: mailaudit-templates/1``; it may declare ``brands:`` (the brand's own
domains, the display names it uses, the labels a look-alike domain imitates) and ``senders:``
(addresses, DKIM expectations, templates). Built-in files live in ``templates/data/``; users
add packs with ``--templates DIR`` in the same format. Any mistake is a ``CatalogError`` naming
file, line and field, because a catalog that loads half-right would judge mail wrongly.

The YAML is composed into nodes (``yaml.compose``) rather than loaded, so that every value
still knows its line. A file that validated is kept in its compiled form (``templates.compiled``,
JSON by content hash): later starts read that and import neither PyYAML nor the validator's
work.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from mailaudit.errors import CatalogError, cut
from mailaudit.records import record
from mailaudit.templates import DATA_DIR
from mailaudit.templates.patterns import PatternError, Segment, parse_pattern

if TYPE_CHECKING:
    import yaml

FORMAT = "mailaudit-templates/1"
EVIDENCE = ("SAMPLE", "MS-DOC", "VENDOR", "INFERRED", "LEARNED")  # LEARNED: `templates learn`
WORDING = ("exact", "partial")


@record
class SlotSpec:
    name: str
    type: str
    user_controlled: bool
    params: Mapping[str, object]
    note: str = ""


@record
class BodyLine:
    segments: tuple[Segment, ...]
    optional: bool = False


@record
class AbuseReport:
    date: str
    summary: str
    source: str
    values: Mapping[str, str]  # lure slot values as reported (paraphrased where long)


@record
class Template:
    id: str
    sender_id: str
    subject: tuple[Segment, ...]
    body: tuple[BodyLine, ...]
    slots: Mapping[str, SlotSpec]
    language: str
    source: str
    evidence: str
    wording: str  # "exact": the body lists all its text; "partial": only the phrases known
    link_domains: tuple[str, ...]
    examples: tuple[Mapping[str, str], ...]
    abuse: tuple[AbuseReport, ...] = ()
    notes: str = ""
    origin: str = ""  # "file:line" of the template, for error messages and `templates show`

    @property
    def user_slots(self) -> tuple[SlotSpec, ...]:
        return tuple(s for s in self.slots.values() if s.user_controlled)

    def segments(self) -> Iterator[Segment]:
        for line in self.body:
            yield from line.segments


@record
class DkimExpectation:
    domain: str
    selectors: tuple[str, ...] = ()
    verified: bool = True
    note: str = ""


@record
class DisplayName:
    segments: tuple[Segment, ...]
    slots: Mapping[str, SlotSpec]


@record
class Sender:
    id: str
    family: str
    brand: str
    product: str
    addresses: tuple[str, ...]  # lower case
    display_names: tuple[DisplayName, ...]
    dkim: tuple[DkimExpectation, ...]
    envelope_domains: tuple[str, ...]
    link_domains: tuple[str, ...]
    templates: tuple[Template, ...]
    source: str
    evidence: str
    notes: str = ""
    origin: str = ""

    @property
    def dkim_domains(self) -> tuple[str, ...]:
        """Domains whose aligned DKIM signature a genuine message carries.

        Only the *verified* expectations: demanding a signature the research could not
        confirm would call genuine mail spoofed.
        """
        return tuple(d.domain for d in self.dkim if d.verified)

    @property
    def unverified_dkim_domains(self) -> tuple[str, ...]:
        return tuple(d.domain for d in self.dkim if not d.verified)


@record
class Brand:
    name: str
    domains: tuple[str, ...]  # registrable domains the brand sends from (lower case)
    display_names: tuple[str, ...]  # generic names the brand's mail uses ("Microsoft")
    lookalike_labels: tuple[str, ...]  # labels a look-alike domain imitates ("microsoft")
    tenant_domains: tuple[str, ...]  # shared customer domains: not a claim by themselves
    link_domains: tuple[str, ...]
    origin: str = ""


@record
class CatalogData:
    brands: tuple[Brand, ...] = ()
    senders: tuple[Sender, ...] = ()
    files: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------
# Node helpers: every error carries "file:line: context: field"



@record
class SenderClaim:
    """A catalogued sender a message claims to be, and how it claims it."""

    sender: Sender
    kind: str  # address, lookalike, display-name, header, brand-domain (see verdict.Claim)
    evidence: str
    domains: tuple[str, ...] = ()  # the domains a header claim names (Return-Path, d=)


_MAX_DIGITS = 9
# Compiled on first use (re's own cache): only a pack read from YAML needs it.
_DECIMAL = rf"0|[1-9][0-9]{{0,{_MAX_DIGITS - 1}}}"


class _Ctx:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: yaml.Node | None, what: str) -> CatalogError:
        line = node.start_mark.line + 1 if node is not None else 1
        return CatalogError(f"{self.file}:{line}: {what}")

    def mapping(self, node: yaml.Node, where: str, *, required: Sequence[str],
                optional: Sequence[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{where}: expected a mapping")
        out: dict[str, yaml.Node] = {}
        known = set(required) | set(optional)
        for knode, vnode in node.value:
            key = knode.value if isinstance(knode, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(knode, f"{where}: keys must be plain names")
            if key not in known:
                raise self.fail(knode, f"{where}: unknown field '{key}' "
                                       f"(known: {', '.join(sorted(known))})")
            if key in out:
                raise self.fail(knode, f"{where}: field '{key}' given twice")
            out[key] = vnode
        for key in required:
            if key not in out:
                raise self.fail(node, f"{where}: missing required field '{key}'")
        return out

    def text(self, node: yaml.Node, where: str, *, empty_ok: bool = False) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            raise self.fail(node, f"{where}: expected text")
        value = str(node.value)
        if not value.strip() and not empty_ok:
            raise self.fail(node, f"{where}: must not be empty")
        return value

    def boolean(self, node: yaml.Node, where: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            raise self.fail(node, f"{where}: expected true or false")
        return str(node.value).lower() in ("true", "yes", "on")

    def integer(self, node: yaml.Node, where: str) -> int:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:int":
            raise self.fail(node, f"{where}: expected a whole number")
        raw = str(node.value)
        if raw.startswith("-") and raw[1:].isdigit():
            raise self.fail(node, f"{where}: must not be negative")
        # YAML 1.1 also reads 0x40, 0o17, 0100 (octal), 1_000 and 1:30 (base 60) as numbers:
        # a pack says what it means in plain decimal, and no limit needs ten digits (Python
        # refuses to read more than 4,300).
        if not re.fullmatch(_DECIMAL, raw):
            shown = cut(raw, 20)
            raise self.fail(node, f"{where}: expected a whole number in plain decimal, at most "
                                  f"{_MAX_DIGITS} digits without leading zeros (got {shown!r})")
        return int(raw)

    def seq(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{where}: expected a list")
        return list(node.value)

    def texts(self, node: yaml.Node, where: str) -> tuple[str, ...]:
        return tuple(self.text(n, where) for n in self.seq(node, where))

    def choice(self, node: yaml.Node, where: str, options: Sequence[str]) -> str:
        value = self.text(node, where)
        if value not in options:
            raise self.fail(node, f"{where}: '{value}' is not one of {', '.join(options)}")
        return value


def _lower(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(i.strip().lower().rstrip(".") for i in items)


# ---------------------------------------------------------------------------------------------


def _slot_spec(ctx: _Ctx, name: str, node: yaml.Node, where: str) -> SlotSpec:
    # The slot checkers (and the signal finders under them) are only needed to validate YAML:
    # a compiled entry does not import them, nor does a message no sender is claimed for.
    from mailaudit.templates.slots import SIGNAL_KINDS, SLOT_TYPES, allowed_params

    if isinstance(node, yaml.ScalarNode):  # shorthand "tenant: org_name"
        stype = ctx.text(node, f"{where}: slot '{name}'")
        if stype not in SLOT_TYPES:
            raise ctx.fail(node, f"{where}: slot '{name}': unknown slot type '{stype}' "
                                 f"(known: {', '.join(sorted(SLOT_TYPES))})")
        return SlotSpec(name, stype, False, MappingProxyType({}))
    if not isinstance(node, yaml.MappingNode):
        raise ctx.fail(node, f"{where}: slot '{name}': expected a type or a mapping")
    type_node = next((v for k, v in node.value if getattr(k, "value", None) == "type"), None)
    if type_node is None:
        raise ctx.fail(node, f"{where}: slot '{name}': missing required field 'type'")
    stype = ctx.text(type_node, f"{where}: slot '{name}': type")
    if stype not in SLOT_TYPES:
        raise ctx.fail(type_node, f"{where}: slot '{name}': unknown slot type '{stype}' "
                                  f"(known: {', '.join(sorted(SLOT_TYPES))})")
    fields = ctx.mapping(node, f"{where}: slot '{name}'", required=["type"],
                         optional=sorted(allowed_params(stype) - {"type"}))
    params: dict[str, object] = {}
    user = False
    note = ""
    for key, vnode in fields.items():
        here = f"{where}: slot '{name}': {key}"
        if key == "type":
            continue
        if key == "user_controlled":
            user = ctx.boolean(vnode, here)
        elif key == "note":
            note = ctx.text(vnode, here)
        elif key in ("max_len", "suspicious_len"):
            params[key] = ctx.integer(vnode, here)
        elif key == "optional":
            params[key] = ctx.boolean(vnode, here)
        elif key == "digits":
            if isinstance(vnode, yaml.SequenceNode):
                lo, hi = (ctx.integer(n, here) for n in _exactly(ctx, vnode, 2, here))
                if lo > hi:
                    raise ctx.fail(vnode, f"{here}: minimum {lo} is above maximum {hi}")
                params[key] = [lo, hi]
            else:
                params[key] = ctx.integer(vnode, here)
        elif key == "allowed_domains":
            params[key] = list(_lower(ctx.texts(vnode, here)))
        elif key == "signals":
            kinds = list(ctx.texts(vnode, here)) if isinstance(vnode, yaml.SequenceNode) else []
            for k in kinds:
                if k not in SIGNAL_KINDS:
                    raise ctx.fail(vnode, f"{here}: unknown signal kind '{k}' "
                                          f"(known: {', '.join(SIGNAL_KINDS)})")
            params[key] = kinds
    return SlotSpec(name, stype, user, MappingProxyType(params), note)


def _exactly(ctx: _Ctx, node: yaml.SequenceNode, n: int, where: str) -> list[yaml.Node]:
    items = list(node.value)
    if len(items) != n:
        raise ctx.fail(node, f"{where}: expected {n} values")
    return items


def _pattern(ctx: _Ctx, node: yaml.Node, where: str, *, optional: bool = False
             ) -> tuple[Segment, ...]:
    text = ctx.text(node, where)
    try:
        return parse_pattern(text, optional=optional)
    except PatternError as exc:
        raise ctx.fail(node, f"{where}: {exc}") from None


def _check_refs(ctx: _Ctx, node: yaml.Node, where: str, segments: tuple[Segment, ...],
                slots: Mapping[str, SlotSpec]) -> None:
    for seg in segments:
        if not seg.is_slot:
            continue
        spec = slots.get(seg.slot)
        if spec is None:
            raise ctx.fail(node, f"{where}: slot '{seg.slot}' is used but not declared in "
                                 f"slots (declared: {', '.join(slots) or 'none'})")
        if seg.slot_type and seg.slot_type != spec.type:
            raise ctx.fail(node, f"{where}: slot '{seg.slot}' is written as "
                                 f"'{seg.slot_type}' but declared as '{spec.type}'")


def _body(ctx: _Ctx, node: yaml.Node, where: str, slots: Mapping[str, SlotSpec]
          ) -> tuple[BodyLine, ...]:
    lines: list[BodyLine] = []
    for i, item in enumerate(ctx.seq(node, where), 1):
        here = f"{where} line {i}"
        optional = False
        text_node = item
        if isinstance(item, yaml.MappingNode):
            fields = ctx.mapping(item, here, required=["text"], optional=["optional"])
            text_node = fields["text"]
            if "optional" in fields:
                optional = ctx.boolean(fields["optional"], f"{here}: optional")
        segments = _pattern(ctx, text_node, here, optional=optional)
        if optional and (not segments or segments[0].is_slot):
            raise ctx.fail(text_node, f"{here}: an optional line must start with fixed text "
                                      "(that is how the matcher finds it)")
        _check_refs(ctx, text_node, here, segments, slots)
        prev = lines[-1].segments[-1] if lines and lines[-1].segments else None
        if prev is not None and prev.is_slot and segments and segments[0].is_slot:
            raise ctx.fail(text_node, f"{here}: slot '{segments[0].slot}' follows slot "
                                      f"'{prev.slot}' with no fixed text between them")
        lines.append(BodyLine(segments, optional))
    return tuple(lines)


def _examples(ctx: _Ctx, node: yaml.Node, where: str, used: set[str],
              slots: Mapping[str, SlotSpec], brand: str, links: Sequence[str],
              *, genuine: bool) -> tuple[dict[str, str], ...]:
    from mailaudit.templates.slots import check_slot

    out: list[dict[str, str]] = []
    for i, item in enumerate(ctx.seq(node, where), 1):
        here = f"{where} {i}"
        fields = ctx.mapping(item, here, required=sorted(used) if genuine else [],
                             optional=[] if genuine else sorted(used))
        values = {k: ctx.text(v, f"{here}: {k}", empty_ok=True) for k, v in fields.items()}
        if genuine:
            for k, v in values.items():
                spec = slots[k]
                checked = check_slot(k, spec.type, v, spec.params, user_controlled=True,
                                     link_domains=links, sender_brand=brand)
                if checked.hostile:
                    why = "; ".join([*checked.problems,
                                     *(f"{s.kind} {s.value!r}" for s in checked.signals)])
                    raise ctx.fail(fields[k], f"{here}: slot '{k}': example value is not "
                                              f"genuine-looking ({why})")
        out.append(values)
    return tuple(out)


_TEMPLATE_FIELDS = ("id", "subject", "body", "slots", "language", "source", "evidence",
                    "examples")
_TEMPLATE_OPTIONAL = ("wording", "link_domains", "abuse", "notes")


def _template(ctx: _Ctx, node: yaml.Node, sender_id: str, brand: str,
              sender_links: Sequence[str]) -> Template:
    # Name the template in every error, even one about its own fields.
    pairs = node.value if isinstance(node, yaml.MappingNode) else []
    raw_id = next((getattr(v, "value", None) for k, v in pairs
                   if getattr(k, "value", None) == "id"), None)
    label = f"template '{raw_id}'" if isinstance(raw_id, str) else f"sender '{sender_id}': template"
    fields = ctx.mapping(node, label, required=_TEMPLATE_FIELDS, optional=_TEMPLATE_OPTIONAL)
    tid = ctx.text(fields["id"], "template id").strip()
    where = f"template '{tid}'"
    slots_node = fields["slots"]
    slots: dict[str, SlotSpec] = {}
    if not (isinstance(slots_node, yaml.ScalarNode) and slots_node.tag.endswith(":null")):
        if not isinstance(slots_node, yaml.MappingNode):
            raise ctx.fail(slots_node, f"{where}: slots: expected a mapping of name to type")
        for knode, vnode in slots_node.value:
            name = ctx.text(knode, f"{where}: slot name")
            if name in slots:
                raise ctx.fail(knode, f"{where}: slot '{name}' declared twice")
            slots[name] = _slot_spec(ctx, name, vnode, where)
    subject = _pattern(ctx, fields["subject"], f"{where}: subject")
    _check_refs(ctx, fields["subject"], f"{where}: subject", subject, slots)
    body = _body(ctx, fields["body"], f"{where}: body", slots)
    used = {s.slot for s in subject if s.is_slot} | {
        s.slot for ln in body for s in ln.segments if s.is_slot}
    for name in slots:
        if name not in used:
            raise ctx.fail(slots_node, f"{where}: slot '{name}' is declared but never used "
                                       "in subject or body")
    evidence = ctx.choice(fields["evidence"], f"{where}: evidence", EVIDENCE)
    wording = ctx.choice(fields["wording"], f"{where}: wording", WORDING) \
        if "wording" in fields else "partial"
    links = _lower(ctx.texts(fields["link_domains"], f"{where}: link_domains")) \
        if "link_domains" in fields else ()
    all_links = [*sender_links, *links]
    examples = _examples(ctx, fields["examples"], f"{where}: example", used, slots, brand,
                         all_links, genuine=True)
    if not examples:
        raise ctx.fail(fields["examples"], f"{where}: examples: give at least one")
    abuse: list[AbuseReport] = []
    if "abuse" in fields:
        for i, anode in enumerate(ctx.seq(fields["abuse"], f"{where}: abuse"), 1):
            here = f"{where}: abuse {i}"
            af = ctx.mapping(anode, here, required=["date", "summary", "source"],
                             optional=["values"])
            values: dict[str, str] = {}
            if "values" in af:
                values = _examples(ctx, _as_seq(af["values"]), f"{here}: values", used, slots,
                                   brand, all_links, genuine=False)[0]
            abuse.append(AbuseReport(ctx.text(af["date"], f"{here}: date"),
                                     ctx.text(af["summary"], f"{here}: summary"),
                                     ctx.text(af["source"], f"{here}: source"),
                                     MappingProxyType(values)))
    return Template(
        id=tid, sender_id=sender_id, subject=subject, body=body,
        slots=MappingProxyType(slots),
        language=ctx.text(fields["language"], f"{where}: language"),
        source=ctx.text(fields["source"], f"{where}: source"),
        evidence=evidence, wording=wording, link_domains=links,
        examples=tuple(MappingProxyType(e) for e in examples), abuse=tuple(abuse),
        notes=ctx.text(fields["notes"], f"{where}: notes") if "notes" in fields else "",
        origin=f"{ctx.file}:{node.start_mark.line + 1}",
    )


def _as_seq(node: yaml.Node) -> yaml.SequenceNode:
    return yaml.SequenceNode("tag:yaml.org,2002:seq", [node], node.start_mark, node.end_mark)


def _dkim(ctx: _Ctx, node: yaml.Node, where: str) -> tuple[DkimExpectation, ...]:
    out = []
    for item in ctx.seq(node, where):
        f = ctx.mapping(item, where, required=["domain"],
                        optional=["selectors", "verified", "note"])
        verified = ctx.boolean(f["verified"], f"{where}: verified") if "verified" in f else True
        note = ctx.text(f["note"], f"{where}: note") if "note" in f else ""
        if not verified and not note:
            raise ctx.fail(item, f"{where}: an unverified DKIM domain needs a note saying why")
        out.append(DkimExpectation(
            domain=_lower([ctx.text(f["domain"], f"{where}: domain")])[0],
            selectors=ctx.texts(f["selectors"], f"{where}: selectors") if "selectors" in f else (),
            verified=verified, note=note))
    return tuple(out)


_SENDER_FIELDS = ("id", "brand", "product", "addresses", "templates", "source", "evidence")
_SENDER_OPTIONAL = ("display_names", "dkim", "envelope_domains", "link_domains", "notes")


def _sender(ctx: _Ctx, node: yaml.Node, family: str) -> Sender:
    from mailaudit.templates.slots import SLOT_TYPES

    fields = ctx.mapping(node, "sender", required=_SENDER_FIELDS, optional=_SENDER_OPTIONAL)
    sid = ctx.text(fields["id"], "sender id").strip()
    where = f"sender '{sid}'"
    brand = ctx.text(fields["brand"], f"{where}: brand")
    links = _lower(ctx.texts(fields["link_domains"], f"{where}: link_domains")) \
        if "link_domains" in fields else ()
    addresses = _lower(ctx.texts(fields["addresses"], f"{where}: addresses"))
    for a, anode in zip(addresses, ctx.seq(fields["addresses"], where), strict=True):
        if a.count("@") != 1 or not a.split("@")[0] or "." not in a.split("@")[1]:
            raise ctx.fail(anode, f"{where}: addresses: '{a}' is not an email address")
    if not addresses:
        raise ctx.fail(fields["addresses"], f"{where}: addresses: give at least one")
    display: list[DisplayName] = []
    for dnode in ctx.seq(fields["display_names"], f"{where}: display_names") \
            if "display_names" in fields else []:
        segs = _pattern(ctx, dnode, f"{where}: display name")
        dslots: dict[str, SlotSpec] = {}
        for s in segs:
            if s.is_slot:
                if s.slot_type not in SLOT_TYPES:
                    raise ctx.fail(dnode, f"{where}: display name: slot '{s.slot}' needs a "
                                          f"known type, as {{{s.slot}:org_name}} (known: "
                                          f"{', '.join(sorted(SLOT_TYPES))})")
                dslots[s.slot] = SlotSpec(s.slot, s.slot_type, True, MappingProxyType({}))
        display.append(DisplayName(segs, MappingProxyType(dslots)))
    templates = tuple(_template(ctx, t, sid, brand, links)
                      for t in ctx.seq(fields["templates"], f"{where}: templates"))
    return Sender(
        id=sid, family=family, brand=brand,
        product=ctx.text(fields["product"], f"{where}: product"),
        addresses=addresses, display_names=tuple(display),
        dkim=_dkim(ctx, fields["dkim"], f"{where}: dkim") if "dkim" in fields else (),
        envelope_domains=_lower(ctx.texts(fields["envelope_domains"],
                                          f"{where}: envelope_domains"))
        if "envelope_domains" in fields else (),
        link_domains=links, templates=templates,
        source=ctx.text(fields["source"], f"{where}: source"),
        evidence=ctx.choice(fields["evidence"], f"{where}: evidence", EVIDENCE),
        notes=ctx.text(fields["notes"], f"{where}: notes") if "notes" in fields else "",
        origin=f"{ctx.file}:{node.start_mark.line + 1}",
    )


def _brand(ctx: _Ctx, node: yaml.Node) -> Brand:
    f = ctx.mapping(node, "brand", required=["name", "domains"],
                    optional=["display_names", "lookalike_labels", "tenant_domains",
                              "link_domains"])
    name = ctx.text(f["name"], "brand: name")

    def opt(key: str) -> tuple[str, ...]:
        return ctx.texts(f[key], f"brand '{name}': {key}") if key in f else ()

    return Brand(name=name, domains=_lower(ctx.texts(f["domains"], f"brand '{name}': domains")),
                 display_names=opt("display_names"), lookalike_labels=_lower(opt("lookalike_labels")),
                 tenant_domains=_lower(opt("tenant_domains")), link_domains=_lower(opt("link_domains")),
                 origin=f"{ctx.file}:{node.start_mark.line + 1}")


def _yaml() -> Any:
    """PyYAML, imported when a file is validated (a compiled entry needs none of it)."""
    global yaml
    import yaml

    return yaml


def _loader() -> Any:
    # libyaml's loader composes the same nodes, with the same line marks, several times
    # faster; it is there whenever PyYAML was built with libyaml (the wheels are).
    return getattr(_yaml(), "CSafeLoader", yaml.SafeLoader)


def _catalog_classes() -> dict[str, type]:
    """The dataclasses a compiled entry may hold: this module's and the patterns'."""
    from dataclasses import is_dataclass

    return {name: obj for name, obj in globals().items()
            if isinstance(obj, type) and is_dataclass(obj)}


def load_file(path: Path, label: str) -> CatalogData:
    from mailaudit.templates import compiled

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"{label}: cannot read template file ({exc}); check the path "
                           "and that it is UTF-8") from None
    classes = _catalog_classes()
    entry = compiled.entry_path(label, data)
    cached = compiled.lookup(entry, classes)
    if isinstance(cached, CatalogData):
        return cached
    result = _validate_file(data, label)
    try:
        plain = compiled.encode(result, classes)
    except compiled.NotPlain:
        return result
    # Only a form that decodes back to exactly what was validated is worth keeping.
    if compiled.loads(json.dumps(plain), classes) == result:
        compiled.store(entry, plain)
    return result


def _validate_file(data: bytes, label: str) -> CatalogData:
    ctx = _Ctx(label)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{label}: cannot read template file ({exc}); check the path "
                           "and that it is UTF-8") from None
    yaml = _yaml()
    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(f"{label}:{line}: not valid YAML: {problem}") from None
    if root is None:
        raise CatalogError(f"{label}:1: empty template file")
    f = ctx.mapping(root, "file", required=["format"], optional=["family", "brands", "senders"])
    fmt = ctx.text(f["format"], "format")
    if fmt != FORMAT:
        raise ctx.fail(f["format"], f"format: expected '{FORMAT}', got '{fmt}'")
    brands = tuple(_brand(ctx, b) for b in ctx.seq(f["brands"], "brands")) \
        if "brands" in f else ()
    senders: tuple[Sender, ...] = ()
    if "senders" in f:
        if "family" not in f:
            raise ctx.fail(root, "file: missing required field 'family' (needed with senders)")
        family = ctx.text(f["family"], "family")
        senders = tuple(_sender(ctx, s, family) for s in ctx.seq(f["senders"], "senders"))
    return CatalogData(brands, senders, (label,))


def merge(parts: Sequence[CatalogData]) -> CatalogData:
    """Join files and check what must be unique across all of them (user packs included)."""
    brands: dict[str, Brand] = {}
    senders: dict[str, Sender] = {}
    templates: dict[str, str] = {}
    addresses: dict[str, str] = {}
    for part in parts:
        for b in part.brands:
            if b.name.lower() in brands:
                raise CatalogError(f"{b.origin}: brand '{b.name}' is already declared at "
                                   f"{brands[b.name.lower()].origin}")
            brands[b.name.lower()] = b
        for s in part.senders:
            if s.id in senders:
                raise CatalogError(f"{s.origin}: sender id '{s.id}' is already used at "
                                   f"{senders[s.id].origin}")
            senders[s.id] = s
            for a in s.addresses:
                if a in addresses:
                    raise CatalogError(f"{s.origin}: sender '{s.id}': address '{a}' already "
                                       f"belongs to sender '{addresses[a]}'")
                addresses[a] = s.id
            for t in s.templates:
                if t.id in templates:
                    raise CatalogError(f"{t.origin}: template id '{t.id}' is already used at "
                                       f"{templates[t.id]}")
                templates[t.id] = t.origin
    for sid, s in senders.items():
        brand = brands.get(s.brand.lower())
        if brand is None:
            raise CatalogError(f"{s.origin}: sender '{s.id}': brand '{s.brand}' is not declared "
                               f"(declared: {', '.join(b.name for b in brands.values())})")
        # The brand's own domains and link domains hold for every sender of the brand, so the
        # matcher needs nothing but the sender.
        links = tuple(dict.fromkeys((*brand.domains, *brand.link_domains, *s.link_domains)))
        senders[sid] = replace(s, brand=brand.name, link_domains=links)
    files = tuple(f for p in parts for f in p.files)
    return CatalogData(tuple(brands.values()), tuple(senders.values()), files)


# ---------------------------------------------------------------------------------------------
# The catalog the pipeline uses, and how it is loaded


class Catalog:
    """All senders and brands, with the lookups the pipeline needs."""

    def __init__(self, data: CatalogData) -> None:
        self.senders: tuple[Sender, ...] = data.senders
        self.brands: tuple[Brand, ...] = data.brands
        self.files = data.files
        self._senders = {s.id: s for s in data.senders}
        self._templates = {t.id: t for s in data.senders for t in s.templates}
        self._by_address = {a: s for s in data.senders for a in s.addresses}
        self._brands = {b.name.lower(): b for b in data.brands}
        # claim_of depends only on (address, display name) and this catalog; mailboxes repeat
        # the same senders over and over, so the answer is kept (bounded).
        self._claims: dict[tuple[str, str], SenderClaim | None] = {}
        # lookalike() per (From domain, brand): addresses differ, domains repeat (bounded too).
        self._lookalikes: dict[tuple[str, str], str | None] = {}
        self._sender_domains: dict[str, Sender] | None = None

    def sender(self, id: str) -> Sender:
        try:
            return self._senders[id]
        except KeyError:
            raise KeyError(f"no sender '{id}' in the catalog") from None

    def template(self, id: str) -> Template:
        try:
            return self._templates[id]
        except KeyError:
            raise KeyError(f"no template '{id}' in the catalog") from None

    def brand(self, name: str) -> Brand:
        return self._brands[name.lower()]

    def sender_domains(self) -> dict[str, Sender]:
        """Domains that name one sender (its address and verified DKIM domains below the
        brand's registrable domain: accountprotection.microsoft.com, not microsoft.com)."""
        if self._sender_domains is None:
            roots = {d for b in self.brands for d in b.domains}
            found: dict[str, Sender] = {}
            for s in self.senders:
                for d in (*(a.rpartition("@")[2] for a in s.addresses), *s.dkim_domains):
                    d = d.lower()
                    if d and d not in roots:
                        found.setdefault(d, s)
            self._sender_domains = found
        return self._sender_domains

    def by_address(self, addr: str) -> Sender | None:
        return self._by_address.get(addr.strip().lower())

    @property
    def templates(self) -> tuple[Template, ...]:
        return tuple(self._templates.values())


def _builtin_files() -> list[tuple[Path, str]]:
    out = []
    for entry in sorted(DATA_DIR.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml") and not entry.name.startswith("_"):
            out.append((entry, entry.name))
    return out


def _pack_files(directory: str | Path) -> list[tuple[Path, str]]:
    path = Path(directory)
    if path.is_file():
        return [(path, str(path))]
    if not path.is_dir():
        raise CatalogError(f"{path}: template directory not found; give a folder of .yaml "
                           "template files (see examples/templates)")
    files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise CatalogError(f"{path}: no .yaml template files in this folder")
    return [(p, str(p)) for p in files]


@functools.cache
def _default_catalog() -> Catalog:
    return Catalog(merge([load_file(p, label) for p, label in _builtin_files()]))


def load_catalog(extra_dirs: Sequence[str | Path] = ()) -> Catalog:
    """The built-in catalog plus user packs. The built-in one alone is cached per process."""
    if not extra_dirs:
        return _default_catalog()
    files = _builtin_files() + [f for d in extra_dirs for f in _pack_files(d)]
    return Catalog(merge([load_file(p, label) for p, label in files]))
