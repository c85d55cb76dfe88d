"""`mailaudit dns record` against a real DNS server on 127.0.0.1, then replay offline:
the same verdicts and results, live and replayed."""

from __future__ import annotations

import json
from pathlib import Path

from support.cli import SAMPLES, run
from support.dnsserver import loopback_dns


def _records(out: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def _essence(records: list[dict[str, object]]) -> list[tuple[object, ...]]:
    # The evaluation time differs by design: now when recording, captured_at when replaying.
    return [(r["ref"], r["verdict"], r["reason"],
             json.dumps({k: v for k, v in r["auth"].items()  # type: ignore[attr-defined]
                         if k not in ("evaluated_at", "clock")}, sort_keys=True))
            for r in records]


def test_record_then_replay_gives_identical_results(tmp_path: Path) -> None:
    zone = json.loads((SAMPLES / "dns.json").read_text())["records"]
    messages = sorted(SAMPLES.glob("*.eml"))
    snapshot = tmp_path / "case.json"
    with loopback_dns(zone) as server:
        ns = f"127.0.0.1:{server.port}"
        rec = run("dns", "record", *messages, "-o", snapshot, "--nameserver", ns)
        assert rec.returncode in (0, 1), rec.stderr
        assert b"saved" in rec.stderr
        live = run("check", *messages, "--nameserver", ns, "--format", "jsonl")
    doc = json.loads(snapshot.read_text())
    assert doc["format"] == "mailaudit-dns/1" and doc["records"]
    replay = run("check", *messages, "--dns-snapshot", snapshot, "--offline", "--format", "jsonl")
    assert _essence(_records(live.stdout)) == _essence(_records(replay.stdout))
    assert b"not captured" not in replay.stdout
    # and the same as replaying the generator's own snapshot
    bundled = run("check", *messages, "--dns-snapshot", SAMPLES / "dns.json", "--offline",
                  "--format", "jsonl")
    assert [r[1] for r in _essence(_records(bundled.stdout))] == \
        [r[1] for r in _essence(_records(replay.stdout))]


def test_snapshot_missing_a_name_is_unverifiable_not_fail(tmp_path: Path) -> None:
    doc = json.loads((SAMPLES / "dns.json").read_text())
    doc["records"] = {k: v for k, v in doc["records"].items() if "_domainkey" not in k}
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(doc))
    res = run("check", SAMPLES / "01-entra-verification-code-genuine.eml", "--dns-snapshot",
              partial, "--offline", "--format", "jsonl")
    rec = json.loads(res.stdout)
    dkim = [r for r in rec["auth"]["recomputed"] if r["method"] == "dkim"]
    assert dkim and all(r["result"] == "temperror" for r in dkim)
    assert all(r["props"].get("dkim.unverifiable") for r in dkim)
    assert rec["verdict"] != "spoofed"
