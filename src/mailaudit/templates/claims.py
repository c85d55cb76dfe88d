"""Which catalogued sender a message's From claims to be, and how.

Three ways, strongest first: the exact address; a display name that reads like one of the
brand's notification names, on a domain that is not the brand's; a domain that imitates the
brand's (one or two edits away, look-alike letters, the brand name with extra words). A person
writing from the brand's own domain (jane.doe@microsoft.com) claims nothing: that is ordinary
mail from the brand, judged by authentication alone.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable

from mailaudit.model import Address
from mailaudit.parse.domains import org_domain_or_self
from mailaudit.parse.message import ParsedMessage
from mailaudit.templates.catalog import Brand, Catalog, Sender, SenderClaim
from mailaudit.templates.normalise import conf_key, normalise, word_key


@functools.lru_cache(maxsize=4096)
def _fold_catalog_text(text: str) -> str:
    """``fold_name`` for catalog strings (display names, brand words, labels): a small fixed
    set folded once per process instead of once per message."""
    return fold_name(text)


@functools.lru_cache(maxsize=4096)
def _fold_catalog_label(label: str) -> str:
    return fold_label(label)


def fold_name(text: str) -> str:
    """Letters and digits only, look-alikes and I/l/1, O/0 folded: "Micros0ft  Teams" → "mlcrosoftteams"."""
    key = word_key(conf_key(normalise(text)))
    return "".join(c for c in key if c.isalnum())


def fold_label(label: str) -> str:
    """A domain label folded the way a reader's eye folds it (rn→m, vv→w, 0→o, 1/i→l)."""
    # A DNS label is at most 63 octets; the idna codec's punycode decoder is quadratic in its
    # input (a 200,000-character "label" took 3.9 s), so nothing longer is decoded.
    if label.startswith("xn--") and len(label) <= 63:
        with contextlib.suppress(UnicodeError):
            label = label.encode("ascii").decode("idna")
    key = word_key(conf_key(normalise(label)))
    key = key.replace("rn", "m").replace("vv", "w").replace("cl", "d")
    return "".join(c for c in key if c.isalnum())


def edit_distance_at_most(a: str, b: str, limit: int) -> int | None:
    """Damerau–Levenshtein (adjacent transpositions) when it is at most ``limit``, else None."""
    if abs(len(a) - len(b)) > limit:
        return None
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return None
        prev2, prev = prev, cur
    return prev[-1] if prev[-1] <= limit else None


def on_domains(domain: str, domains: Iterable[str]) -> str | None:
    for d in domains:
        if domain == d or domain.endswith("." + d):
            return d
    return None


def lookalike(domain: str, brand: Brand) -> str | None:
    """Why ``domain`` imitates ``brand``, or None."""
    if on_domains(domain, brand.domains) or on_domains(domain, brand.tenant_domains):
        return None
    # The brand's own domain used as a subdomain: microsoft.com.account-verify.net
    for d in brand.domains:
        if domain.startswith(d + ".") or f".{d}." in domain:
            return f"{domain} starts with the brand's domain {d}"
    org = org_domain_or_self(domain)
    label = org.split(".")[0]
    folded = fold_label(label)
    if not folded:
        return None
    for want in brand.lookalike_labels:
        fwant = _fold_catalog_label(want)
        if label == want:
            return f"{org} uses the label '{want}' under another suffix"
        if folded == fwant:
            return f"{org} reads as '{want}' (look-alike letters)"
        if len(fwant) >= 6 and fwant in folded:
            return f"{org} contains '{want}' with extra words"
        if len(fwant) >= 6:
            dist = edit_distance_at_most(folded, fwant, 2)
            if dist is not None and dist > 0:
                return f"{org} is {dist} edit{'s' if dist > 1 else ''} from '{want}'"
    return None


def display_name_claim(name: str, brand: Brand, senders: Iterable[Sender]) -> Sender | None:
    """The sender whose notification name ``name`` imitates, if any.

    Exact (folded) match of a catalogued display name or its fixed prefix first; then any name
    that contains the brand's name as a word: people are not called "Microsoft".
    """
    folded = fold_name(name)
    if not folded:
        return None
    fallback: Sender | None = None
    for s in senders:
        for dn in s.display_names:
            fixed = [seg for seg in dn.segments if not seg.is_slot]
            if not fixed:
                continue
            head = _fold_catalog_text(fixed[0].text)
            if dn.segments[0].is_slot:
                continue
            whole = len(dn.segments) == 1
            if (whole and folded == head) or (not whole and folded.startswith(head)):
                return s
        if fallback is None and s.brand == brand.name:
            fallback = s
    for generic in (brand.name, *brand.display_names):
        g = _fold_catalog_text(generic)
        if g and (folded == g or (len(g) >= 5 and g in folded)):
            return fallback
    return None


def tenant_brand(display_name: str, domain: str, brands: Iterable[Brand]) -> str | None:
    """The brand a From display name names when the address is on a shared customer-tenant
    domain (``*.onmicrosoft.com``): anyone can open such a tenant in minutes, so "Ledger" or
    "Microsoft Security" there is a brand's name on a throw-away address. None otherwise."""
    domain = domain.lower().rstrip(".")
    brands = tuple(brands)
    if not display_name or not any(
            domain != t and on_domains(domain, (t,)) for b in brands for t in b.tenant_domains):
        return None
    from mailaudit.templates.signals import find_signals_normalised

    norm = normalise(display_name)
    for g in find_signals_normalised(norm, where="display-name", sender_brand="",
                                     skip=("phone", "money", "urgency", "wallet", "link",
                                           "confusable")):
        return g.value
    folded = fold_name(display_name)
    for b in brands:
        for name in (b.name, *b.display_names):
            key = _fold_catalog_text(name)
            if key and len(key) >= 5 and key in folded:
                return b.name
    return None


# ---------------------------------------------------------------------------------------------
# Which catalogued sender a message claims to be


def claim_of(msg: ParsedMessage, catalog: Catalog) -> SenderClaim | None:
    """Which catalogued sender the message claims to be, or None.

    The (first) From first: its address, a look-alike domain, a notification display name.
    Then the other headers a reader or a filter takes as the sender: ``Sender:`` (Outlook
    shows "X on behalf of Y"), Return-Path, DKIM-Signature d=, when they name a catalogued
    sender and the From is not at the brand's own domain. Last, a notification-style address
    at the brand's own domain that the catalog does not list (no-reply@microsoft.com).
    """
    claim: SenderClaim | None = None
    if msg.from_:
        frm = msg.from_[0]
        key = (frm.address, frm.display_name)
        cache = catalog._claims
        if key in cache:
            claim = cache[key]
        else:
            if len(cache) >= 20_000:
                cache.clear()
            claim = cache[key] = _claim_of(frm, catalog)
    if claim is not None:
        return claim
    from_domain = msg.from_[0].domain.lower().rstrip(".") if msg.from_ else ""
    if any(from_domain and on_domains(from_domain, b.domains) for b in catalog.brands):
        return _brand_domain_claim(msg, catalog)
    return _header_claim(msg, catalog)


_NOTIFY_LOCAL = ("noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply",
                 "alert", "alerts", "security", "notification", "notifications", "account",
                 "accountprotection", "account-security", "billing", "invites", "mailer")


def _notification_local(local: str) -> bool:
    local = local.lower()
    if local in _NOTIFY_LOCAL:
        return True
    return any(local.startswith(w + "-") or local.endswith("-" + w) or local.endswith("." + w)
               for w in ("noreply", "no-reply", "donotreply", "alerts", "security"))


def _brand_domain_claim(msg: ParsedMessage, catalog: Catalog) -> SenderClaim | None:
    """A notification-style From at the brand's own domain, not in the catalog: mail that must
    authenticate as the brand (a person's address claims nothing)."""
    frm = msg.from_[0]
    local, _, domain = frm.address.lower().rpartition("@")
    if not local or not _notification_local(local):
        return None
    for brand in catalog.brands:
        if on_domains(domain.rstrip("."), brand.domains):
            senders = _senders_of(catalog, brand)
            if senders:
                return SenderClaim(_closest_sender(catalog, brand, domain), "brand-domain",
                                   f"From {frm.address[:120]}")
    return None


def _header_claim(msg: ParsedMessage, catalog: Catalog) -> SenderClaim | None:
    frm = msg.from_[0].address.lower() if msg.from_ else ""
    if msg.sender is not None and msg.sender.address.lower() != frm:
        sender = catalog.by_address(msg.sender.address)
        if sender is not None:
            return SenderClaim(sender, "sender-header", f"Sender: {msg.sender.address[:120]}",
                               (msg.sender.domain,))
    specific = catalog.sender_domains()
    if msg.return_path is not None and msg.return_path.address:
        rp = msg.return_path
        sender = catalog.by_address(rp.address) or specific.get(rp.domain.lower().rstrip("."))
        if sender is not None:
            return SenderClaim(sender, "envelope", f"Return-Path {rp.address[:120]}",
                               (rp.domain.lower(),))
    for value in msg.get_all("dkim-signature")[:20]:
        d = _tag(value, "d").lower().rstrip(".")
        sender = specific.get(d) if d else None
        if sender is not None:
            return SenderClaim(sender, "dkim-domain", f"DKIM-Signature d={d[:120]}", (d,))
    return None


def _tag(value: str, name: str) -> str:
    for part in value[:8192].split(";"):
        k, eq, v = part.partition("=")
        if eq and k.strip().lower() == name:
            return "".join(v.split())
    return ""


def _claim_of(frm: Address, catalog: Catalog) -> SenderClaim | None:
    sender = catalog.by_address(frm.address)
    if sender is not None:
        return SenderClaim(sender, "address", frm.address.lower())
    domain = frm.domain.lower().rstrip(".")
    for brand in catalog.brands:
        if domain and on_domains(domain, brand.domains):
            continue  # the brand's own domain: a person or an uncatalogued sender, not a claim
        # A look-alike domain is the stronger evidence (it was registered to deceive), so it
        # is named first when a message uses both tricks.
        if domain:
            why = _lookalike_of(catalog, domain, brand)
            if why is not None:
                return SenderClaim(_closest_sender(catalog, brand, domain), "lookalike-domain",
                                   why)
        if frm.display_name:
            claimed = display_name_claim(frm.display_name, brand, _senders_of(catalog, brand))
            if claimed is not None:
                return SenderClaim(claimed, "display-name",
                                   f"display name {normalise(frm.display_name)[:120]!r} "
                                   f"on {domain or 'no domain'}")
    return None


def _lookalike_of(catalog: Catalog, domain: str, brand: Brand) -> str | None:
    if len(domain) > 253:  # not a DNS name: answered, never kept (the cache stays small)
        return lookalike(domain, brand)
    cache = catalog._lookalikes
    key = (domain, brand.name)
    if key not in cache:
        if len(cache) >= 20_000:
            cache.clear()
        cache[key] = lookalike(domain, brand)
    return cache[key]


def _senders_of(catalog: Catalog, brand: Brand) -> list[Sender]:
    return [s for s in catalog.senders if s.brand == brand.name]


def _closest_sender(catalog: Catalog, brand: Brand, domain: str) -> Sender:
    from mailaudit.templates.claims import fold_label

    folded = fold_label(domain.replace(".", ""))
    best: tuple[int, Sender] | None = None
    for s in _senders_of(catalog, brand):
        for a in s.addresses:
            label = fold_label(a.split("@")[1].split(".")[0])
            score = len(label) if label and label in folded else 0
            if best is None or score > best[0]:
                best = (score, s)
    assert best is not None, "a brand without senders makes no claims"
    return best[1]
