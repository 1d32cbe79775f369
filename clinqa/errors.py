"""Errors with messages meant for the person at the terminal or in the UI."""


class ClinqaError(Exception):
    """Base class: a clear, user-facing problem (the CLI prints it without a traceback)."""


class InputError(ClinqaError):
    """Bad input file or value; the message names the file and the problem."""


class UnknownPatientError(ClinqaError, KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown patient"


class UnknownNoteError(ClinqaError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown note"


class NotAvailableError(ClinqaError):
    """A capability whose layer is not installed or not built yet."""


class LLMUnavailableError(ClinqaError):
    """The LLM server cannot be reached or failed to start."""


class StorageError(ClinqaError):
    """The workspace cannot be written: disk full, read-only, or a damaged store."""


class WorkspaceBusyError(ClinqaError):
    """Another process holds the workspace's writer lock for longer than we wait."""


class DamagedIndexError(ClinqaError):
    """A persisted search index cannot be read back (truncated, overwritten); it is rebuilt from the store."""
