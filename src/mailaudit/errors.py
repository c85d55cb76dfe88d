"""One error base. The CLI catches ``MailauditError`` in one place and prints its sentence."""

from __future__ import annotations

from mailaudit.model import ExitCode


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
