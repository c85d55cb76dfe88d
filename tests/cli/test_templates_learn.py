"""`mailaudit templates learn` through the installed command, on generated mail of a fictional
sender (Northwind Pay): learn a pack, then `check --templates` judges held-out mail with it."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.cli import mailaudit_bin
from support.learn_mail import (
    APPENDED,
    LURE,
    deliver,
    payment_request,
    receipt,
    workshop,
    write_corpus,
    write_snapshot,
)
from support.paths import SAMPLES
from support.synth import world
from support.synth.notify import Workshop


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([mailaudit_bin(), *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False, cwd=cwd)


@pytest.fixture(scope="module")
def shop() -> Workshop:
    return workshop()


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory, shop: Workshop) -> Path:
    root = tmp_path_factory.mktemp("learn")
    write_snapshot(shop, root / "dns.json")
    write_corpus(root / "genuine", shop)
    return root


def _learn(root: Path, *paths: str | Path, out: str = "packs", extra: tuple[str, ...] = ()
           ) -> subprocess.CompletedProcess[str]:
    return run("templates", "learn", *paths, "-o", root / out, "--dns-snapshot",
               root / "dns.json", "--offline", *extra)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _verdicts(root: Path, packs: Path, folder: Path) -> dict[str, str]:
    res = run("check", folder, "--templates", packs, "--dns-snapshot", root / "dns.json",
              "--offline", "--format", "jsonl")
    assert res.returncode in (0, 1), res.stderr
    out = {}
    for line in res.stdout.splitlines():
        rec = json.loads(line)
        if "verdict" in rec and "ref" in rec:
            out[Path(rec["ref"]["path"]).stem] = rec["verdict"]
    return out


def test_learn_then_check(world_dir: Path, shop: Workshop) -> None:
    before = _digest(world_dir / "genuine")
    res = _learn(world_dir, world_dir / "genuine")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _digest(world_dir / "genuine") == before  # input files are only read
    packs = world_dir / "packs"
    files = sorted(p.name for p in packs.iterdir())
    assert files == ["northwind-traders.example.yaml"], files
    assert "2 templates of pay@northwind-traders.example" in res.stdout
    data = yaml.safe_load((packs / files[0]).read_text("utf-8"))
    sender = data["senders"][0]
    assert sender["evidence"] == "LEARNED" and sender["addresses"] == ["pay@northwind-traders.example"]
    assert {d["domain"] for d in sender["dkim"]} == {"northwind-traders.example"}
    assert set(sender["dkim"][0]["selectors"]) == {"rsa2026", "ed2026"}
    assert sender["envelope_domains"] == ["northwind-traders.example"]
    assert "Northwind Pay" in sender["display_names"]
    temps = {t["subject"]: t for t in sender["templates"]}
    assert len(temps) == 2
    for t in temps.values():
        assert t["evidence"] == "LEARNED" and t["source"].startswith("learned from ")
        assert 1 <= len(t["examples"]) <= 3
        types = {s["type"] for s in t["slots"].values()}
        assert {"amount", "code", "person_name"} <= types
    # The learned pack loads unchanged in `templates list` and `check --templates`.
    listed = run("templates", "list", "--templates", packs)
    assert listed.returncode == 0 and "pay@northwind-traders.example/" in listed.stdout

    rng = random.Random(2026)
    held = world_dir / "held"
    held.mkdir()
    cases = {
        "authentic-request": deliver(shop, payment_request(rng), rng, n=50),
        "authentic-receipt": deliver(shop, receipt(rng), rng, n=51),
        "abused-note": deliver(shop, payment_request(rng, note=LURE), rng, n=52),
        "abused-memo": deliver(shop, receipt(rng, memo=LURE), rng, n=53),
        "abused-appended": deliver(shop, receipt(rng), rng, n=54, extra_text=APPENDED,
                                   extra_html=APPENDED),
        "abused-appended-urgency": deliver(shop, payment_request(rng), rng, n=55,
                                           extra_text="Act now: verify your account today.",
                                           extra_html="Act now: verify your account today."),
        # The same signals as the built-in catalog: a wallet, an off-list link, another brand.
        "abused-wallet": deliver(shop, payment_request(
            rng, note="Send BTC to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"), rng, n=58),
        "abused-link": deliver(shop, receipt(
            rng, memo="Refund form at https://refunds-desk.example/claim"), rng, n=59),
        "abused-brand": deliver(shop, payment_request(rng, note="PayPal refund desk"), rng,
                                n=60),
        "spoofed-unsigned": deliver(shop, payment_request(rng), rng, n=56, signed=False),
        "spoofed-elsewhere": deliver(
            shop, receipt(rng), rng, n=57, signed=False,
            origin=world.Origin(world.MAIL_NOTIFY_OUT.helo, world.MAIL_NOTIFY_OUT.ip,
                                "pay@northwind-traders.example")),
    }
    for name, raw in cases.items():
        (held / f"{name}.eml").write_bytes(raw)
    got = _verdicts(world_dir, packs, held)
    want = {name: name.split("-")[0] for name in cases}
    assert got == want
    # Without the pack the same mail is just an uncatalogued sender.
    plain = run("check", held / "abused-note.eml", "--dns-snapshot", world_dir / "dns.json",
                "--offline", "--format", "jsonl")
    assert json.loads(plain.stdout.splitlines()[0])["verdict"] == "unknown-sender"


def test_existing_output_folder(world_dir: Path) -> None:
    out = world_dir / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine", "utf-8")
    res = _learn(world_dir, world_dir / "genuine", out="exists")
    assert res.returncode == 2
    assert "already exists" in res.stdout
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def _no_leftovers(root: Path) -> None:
    assert not [p for p in root.iterdir() if p.name.startswith(".")], "temporary folder left"


def test_unsigned_mail_teaches_nothing(world_dir: Path, shop: Workshop) -> None:
    rng = random.Random(5)
    folder = world_dir / "unsigned"
    folder.mkdir()
    for n in range(4):
        (folder / f"{n}.eml").write_bytes(deliver(
            shop, payment_request(rng), rng, n=n, signed=False,
            origin=world.Origin(world.MAIL_NOTIFY_OUT.helo, world.MAIL_NOTIFY_OUT.ip,
                                "pay@northwind-traders.example")))
    res = _learn(world_dir, folder, out="unsigned-out")
    assert res.returncode == 3
    assert "no genuine mail to learn from" in res.stdout and "nothing written" in res.stdout
    assert "does not authenticate" in res.stdout
    assert not (world_dir / "unsigned-out").exists()
    _no_leftovers(world_dir)


def test_one_sample_only(world_dir: Path) -> None:
    one = sorted((world_dir / "genuine").glob("*request.eml"))[0]
    res = _learn(world_dir, one, out="one-out")
    assert res.returncode == 3
    assert "too few samples: 1, need 3" in res.stdout
    assert not (world_dir / "one-out").exists()
    _no_leftovers(world_dir)


def test_mixed_senders_and_sender_filter(world_dir: Path) -> None:
    samples = SAMPLES
    mixed = [world_dir / "genuine", samples / "11-unrelated-sender-order-shipped.eml",
             samples / "01-entra-verification-code-genuine.eml"]
    res = _learn(world_dir, *mixed, out="mixed-out")
    assert res.returncode == 0, res.stdout
    # The lone order mail and the lone Microsoft mail are named, not learned.
    assert "orders@northwind-traders.example" in res.stdout
    assert "msonlineservicesteam@microsoftonline.com" in res.stdout
    assert "too few samples: 1" in res.stdout
    res = _learn(world_dir, *mixed, out="only-out",
                 extra=("--sender", "orders@northwind-traders.example"))
    assert res.returncode == 3 and "from other senders" in res.stdout


def test_hostile_text_never_reaches_the_terminal(world_dir: Path, shop: Workshop) -> None:
    rng = random.Random(7)
    folder = world_dir / "hostile"
    folder.mkdir()
    evil = "[bold red]\x1b]0;pwned\x07\u202egnp.exe " + "A" * 1_200_000
    for n in range(3):
        (folder / f"{n}.eml").write_bytes(deliver(shop, payment_request(rng, note=evil), rng, n=n))
    res = _learn(world_dir, folder, out="hostile-out")
    assert "\x1b" not in res.stdout + res.stderr and "\u202e" not in res.stdout + res.stderr
    assert res.returncode in (0, 3)
    if res.returncode == 3:
        assert not (world_dir / "hostile-out").exists()
    _no_leftovers(world_dir)


def test_diff_new_sender(world_dir: Path) -> None:
    packs = world_dir / "diff-packs"
    assert _learn(world_dir, world_dir / "genuine", out="diff-packs").returncode == 0
    res = run("templates", "diff", packs)
    assert res.returncode == 1
    assert "new-sender: the catalog has no sender pay@northwind-traders.example" in res.stdout


def test_microsoft_sender_learned_apart_and_diffed(world_dir: Path, shop: Workshop) -> None:
    """Genuine Entra mail (rendered from the catalog's own template) is learned into
    DIR/builtin/, and diff finds no false differences in its wording, only what the mail
    proves and the catalog does not say."""
    from datetime import UTC, datetime

    from support.synth.build import Mailbox
    from support.synth.notify import Notification, send_notification

    folder = world_dir / "entra"
    folder.mkdir()
    rng = random.Random(11)
    tenants = ["Contoso", "Fabrikam Ltd", "Tailspin Toys", "Northwind Traders"]
    for n, tenant in enumerate(tenants):
        values = {"tenant": tenant, "email": f"user{n}@contoso-mail.example",
                  "code": str(rng.randint(100_000, 999_999))}
        note = Notification("entra.email-verification-code", values,
                            Mailbox("Alice", "alice@contoso-mail.example"),
                            datetime(2026, 5, 2, 8, n, tzinfo=UTC))
        (folder / f"{n}.eml").write_bytes(send_notification(shop, note, rng))
    res = _learn(world_dir, folder, out="entra-packs")
    assert res.returncode == 0, res.stdout
    out = world_dir / "entra-packs"
    assert [p.name for p in out.iterdir()] == ["builtin"]
    assert "is in the built-in catalog" in res.stdout
    pack = next((out / "builtin").iterdir())
    data = yaml.safe_load(pack.read_text("utf-8"))
    assert "brands" not in data and data["senders"][0]["brand"] == "Microsoft"
    diff = run("templates", "diff", pack)
    assert diff.returncode in (0, 1), diff.stdout + diff.stderr
    assert "new-template" not in diff.stdout  # the mail is the catalog's own template
    assert "phrase-missing" not in diff.stdout and "phrase-new" not in diff.stdout
    # The catalog marks the microsoftonline.com signature unverified; every message had it.
    assert "d=microsoftonline.com signed every learned message" in diff.stdout


def test_diff_bad_pack(world_dir: Path) -> None:
    bad = world_dir / "bad.yaml"
    bad.write_text("format: nope\n\x1b[31m", "utf-8")
    res = run("templates", "diff", bad)
    assert res.returncode == 3 and "\x1b" not in res.stdout + res.stderr
    assert res.stderr.startswith(f"mailaudit: {bad}:") and "Traceback" not in res.stderr
    assert run("templates", "diff", world_dir / "missing.yaml").returncode == 3


def test_abused_mail_among_the_genuine_is_left_out(world_dir: Path, shop: Workshop) -> None:
    """Authenticated mail can still be abused: a lure in a note, or text appended to one
    message, must not become part of the learned template."""
    folder = world_dir / "with-abuse"
    shutil.copytree(world_dir / "genuine", folder)
    rng = random.Random(77)
    (folder / "90-lure-note.eml").write_bytes(
        deliver(shop, payment_request(rng, note=LURE), rng, n=90))
    (folder / "91-appended.eml").write_bytes(
        deliver(shop, receipt(rng), rng, n=91, extra_text=APPENDED, extra_html=APPENDED))
    res = _learn(world_dir, folder, out="with-abuse-packs")
    assert res.returncode == 0, res.stdout
    assert "90-lure-note.eml" in res.stdout and "91-appended.eml" in res.stdout
    text = next((world_dir / "with-abuse-packs").iterdir()).read_text("utf-8")
    assert "555-0142" not in text and "555-0199" not in text and "URGENT" not in text
