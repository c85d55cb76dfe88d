"""Where the repository and the shared development corpora are, for every test and script."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
# Published suites and real-world mail live beside the checkout (../shared/corpora); tests that
# need them skip with a message when the folder is absent.
CORPORA = REPO.parent / "shared" / "corpora"
