"""Exception classes and the schema report.

They are plain Python so that they pickle, print and subclass like any other
exception; the native module raises them with their attributes filled in.
There is one class per stable error code of the core library.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

__all__ = [
    "AvatarStoreError",
    "BusyError",
    "ConflictError",
    "InternalError",
    "MigrationError",
    "NewerSchemaError",
    "NotFoundError",
    "SchemaDriftError",
    "SchemaReport",
    "StoreIOError",
    "ValidationError",
]


class SchemaReport(Dict[str, Any]):
    """What ``Store.check_schema()`` found: a dict (the camelCase JSON form of
    the core's report, ready for ``json.dumps``) with a few conveniences.

    ``str(report)`` is the report written for people.
    """

    def __init__(self, data: Mapping[str, Any], *, ok: bool, text: str) -> None:
        super().__init__(data)
        self._ok = ok
        self._text = text

    @property
    def ok(self) -> bool:
        """True when the database matches the schema this build expects."""
        return self._ok

    @property
    def missing_column_names(self) -> List[str]:
        """Every missing column as ``"table.column"``."""
        return [f"{c['table']}.{c['column']}" for c in self.get("missingColumns", [])]

    def __str__(self) -> str:
        return self._text

    def __reduce__(self) -> Any:
        return (_rebuild_report, (dict(self), self._ok, self._text))


def _rebuild_report(data: Dict[str, Any], ok: bool, text: str) -> SchemaReport:
    return SchemaReport(data, ok=ok, text=text)


class AvatarStoreError(Exception):
    """Base class of every error avatar-store raises.

    ``code`` is the stable, machine-readable code of the core library
    (``"NOT_FOUND"``, ``"VALIDATION"``, ...); the message is for people, and
    ``detail`` holds the full text for operators.
    """

    code: str = "ERROR"
    #: The core's full text, for operators' logs: it may name files and
    #: quote SQLite. ``str()`` is the same, except for ``InternalError``,
    #: whose ``str()`` is a summary safe to show end users.
    detail: str = ""
    #: The line of an export file the error is about (``import_from()``),
    #: counting from 1, the header; ``None`` for every other error.
    line: Optional[int] = None


class NotFoundError(AvatarStoreError, LookupError):
    """The record does not exist, or belongs to another user."""

    code = "NOT_FOUND"
    #: ``"project"`` or ``"avatar"``.
    entity: str = ""
    #: The id that was looked up.
    id: str = ""


class ValidationError(AvatarStoreError, ValueError):
    """Input failed validation; nothing was written.

    ``field`` names the offending field in the data model's camelCase
    spelling (``"personaAge"``), the same in Python, Node and JSON. For a line
    of an export file that is not the format it names the part of the format
    at fault instead: ``"format"``, ``"version"``, ``"userId"``, ``"type"``,
    ``"end"`` or ``"line"`` (see ``line``).
    """

    code = "VALIDATION"
    field: str = ""


class ConflictError(AvatarStoreError):
    """The write collides with an existing record (for example an id owned by another user)."""

    code = "CONFLICT"


class SchemaDriftError(AvatarStoreError):
    """The live schema differs from the expected one; ``report`` names every difference."""

    code = "SCHEMA_DRIFT"
    report: SchemaReport = SchemaReport({}, ok=False, text="")


class MigrationError(AvatarStoreError):
    """A migration could not be applied, or an applied one was changed."""

    code = "MIGRATION"
    #: The migration concerned, when one is.
    version: Optional[int] = None


class NewerSchemaError(AvatarStoreError):
    """The database was written by a newer build; it was left untouched."""

    code = "NEWER_SCHEMA"
    #: Highest migration version recorded in the database.
    found: int = 0
    #: Highest migration version this build knows.
    known: int = 0


class BusyError(AvatarStoreError):
    """The database stayed locked by another connection past the busy timeout."""

    code = "BUSY"


class StoreIOError(AvatarStoreError):
    """A file could not be read or written (named so as not to shadow the builtin ``IOError``)."""

    code = "IO"
    #: The file concerned.
    path: str = ""


class InternalError(AvatarStoreError):
    """A bug or an unexpected SQLite failure (a Rust panic included).

    ``str()`` says only that an internal error happened; what SQLite or the
    panic said is in ``detail``.
    """

    code = "INTERNAL"
