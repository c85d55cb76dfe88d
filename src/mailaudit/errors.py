"""One error base. The CLI catches ``MailauditError`` in one place and prints its sentence."""

from __future__ import annotations

from mailaudit.model import ExitCode


def cut(text: str, limit: int) -> str:
    """``text`` for a sentence: at most ``limit`` characters and an ellipsis, so a hostile
    message, record or file cannot fill the report or the terminal."""
    return text if len(text) <= limit else text[:limit] + "…"


def exception_words(exc: BaseException, limit: int = 200) -> str:
    """What a library's exception says, on one line and cut ("" when it says nothing)."""
    return cut(" ".join(str(exc).split()), limit)


def exception_text(exc: BaseException, limit: int = 200) -> str:
    """``exception_words``, or the exception type's name when it says nothing."""
    return exception_words(exc, limit) or type(exc).__name__


class MailauditError(Exception):
    """An error a user can cause, with a sentence that says what to do next."""

    exit_code: ExitCode = ExitCode.INPUT

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(MailauditError):
    exit_code = ExitCode.INPUT


class CatalogError(MailauditError):
    """A template file is invalid. The message names file, line and field."""

    exit_code = ExitCode.INPUT


class SnapshotError(MailauditError):
    """A DNS snapshot file is unreadable, not JSON, or has the wrong format tag."""

    exit_code = ExitCode.INPUT


class DnsUnusableError(MailauditError):
    exit_code = ExitCode.DNS
