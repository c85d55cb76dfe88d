"""The one colour table: a verdict, a result keyword or a severity looks the same in every
view (``check``, ``dkim``, ``spf``, ``dmarc``, ``templates``).

Keys are the words themselves (``Verdict`` and ``Severity`` are string enums), so a word this
table does not know (an unrecognised result token) simply gets no colour.
"""

from __future__ import annotations

VERDICT_STYLE: dict[str, str] = {
    "authentic": "bold green",
    "abused": "bold white on red",
    "spoofed": "bold red",
    "unauthenticated": "bold yellow",
    "unknown-sender": "cyan",
    "unrecognized": "bold blue",
    "error": "bold magenta",
}

# RFC 8601 result keywords (and ARC's cv values). temperror is "could not tell now", not a
# failure: magenta, like an error record; permerror is a broken record: red, like fail.
RESULT_STYLE: dict[str, str] = {
    "pass": "green",
    "fail": "red",
    "hardfail": "red",
    "permerror": "red",
    "softfail": "yellow",
    "neutral": "yellow",
    "policy": "yellow",
    "temperror": "magenta",
    "none": "dim",
}

SEVERITY_STYLE: dict[str, str] = {"high": "red", "warning": "yellow", "info": "dim"}


def verdict_style(verdict: str) -> str:
    return VERDICT_STYLE.get(str(verdict), "bold")


def result_style(result: str) -> str:
    return RESULT_STYLE.get(str(result).lower(), "")


def severity_style(severity: str) -> str:
    return SEVERITY_STYLE.get(str(severity), "")
