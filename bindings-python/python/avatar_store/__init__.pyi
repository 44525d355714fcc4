import os
from datetime import datetime
from typing import IO, Any, Dict, Generic, Iterable, Iterator, List, Literal, Mapping, Optional, Tuple, TypeVar, Union, final

from typing_extensions import Self, Unpack

from ._errors import AvatarStoreError as AvatarStoreError
from ._errors import BusyError as BusyError
from ._errors import ConflictError as ConflictError
from ._errors import InternalError as InternalError
from ._errors import MigrationError as MigrationError
from ._errors import NewerSchemaError as NewerSchemaError
from ._errors import NotFoundError as NotFoundError
from ._errors import SchemaDriftError as SchemaDriftError
from ._errors import SchemaReport as SchemaReport
from ._errors import StoreIOError as StoreIOError
from ._errors import ValidationError as ValidationError
from ._types import AvatarChanges as AvatarChanges
from ._types import AvatarFields as AvatarFields
from ._types import IdLike as IdLike
from ._types import ProjectChanges as ProjectChanges

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SOURCE_TYPES",
    "Avatar",
    "AvatarChanges",
    "AvatarFields",
    "AvatarStoreError",
    "BusyError",
    "ConflictError",
    "ExportIterator",
    "IdLike",
    "InternalError",
    "MigrationError",
    "MigrationOutcome",
    "NewerSchemaError",
    "NotFoundError",
    "Page",
    "Project",
    "ProjectChanges",
    "ProjectWithAvatars",
    "RepairOutcome",
    "SchemaDriftError",
    "SchemaReport",
    "Store",
    "StoreIOError",
    "ValidationError",
    "__version__",
    "display_database",
    "embedded_migrations",
    "inspect",
    "latest_version",
    "restore",
]

__version__: str
SOURCE_TYPES: Tuple[str, ...]
MAX_PAGE_SIZE: int
DEFAULT_PAGE_SIZE: int

_T = TypeVar("_T")
_PathLike = Union[str, os.PathLike[str]]
_Sort = Literal["created_at", "usage_count", "last_used_at"]
_Order = Literal["asc", "desc"]

@final
class Project:
    """A user's project: a named folder of avatars."""

    @property
    def id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> Optional[str]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class Avatar:
    """An avatar with persona, visual attributes and generation metadata."""

    @property
    def id(self) -> str: ...
    @property
    def project_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def image_url(self) -> Optional[str]: ...
    @property
    def thumbnail_url(self) -> Optional[str]: ...
    @property
    def persona_name(self) -> Optional[str]: ...
    @property
    def persona_age(self) -> Optional[int]: ...
    @property
    def persona_personality(self) -> Optional[str]: ...
    @property
    def persona_background(self) -> Optional[str]: ...
    @property
    def gender(self) -> Optional[str]: ...
    @property
    def age_range(self) -> Optional[str]: ...
    @property
    def ethnicity(self) -> Optional[str]: ...
    @property
    def body_type(self) -> Optional[str]: ...
    @property
    def hair_style(self) -> Optional[str]: ...
    @property
    def hair_color(self) -> Optional[str]: ...
    @property
    def eye_color(self) -> Optional[str]: ...
    @property
    def skin_tone(self) -> Optional[str]: ...
    @property
    def style(self) -> Optional[str]: ...
    @property
    def source_type(self) -> Optional[str]: ...
    @property
    def generation_prompt(self) -> Optional[str]: ...
    @property
    def seed_used(self) -> Optional[int]: ...
    @property
    def usage_count(self) -> int: ...
    @property
    def last_used_at(self) -> Optional[datetime]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class ProjectWithAvatars:
    """A project with its avatars, oldest first."""

    @property
    def id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> Optional[str]: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def avatars(self) -> List[Avatar]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
@final
class Page(Generic[_T]):
    """One page of a listing; pass `next_cursor` back as `cursor` for the next."""

    @property
    def items(self) -> List[_T]: ...
    @property
    def next_cursor(self) -> Optional[str]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[_T]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class MigrationOutcome:
    """What the migration step did."""

    @property
    def from_version(self) -> int: ...
    @property
    def to_version(self) -> int: ...
    @property
    def applied(self) -> List[int]: ...
    @property
    def backup(self) -> Optional[str]: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class RepairOutcome:
    """What `Store.repair()` did."""

    @property
    def applied(self) -> List[str]: ...
    @property
    def not_repaired(self) -> List[str]: ...
    @property
    def backup(self) -> Optional[str]: ...
    @property
    def after(self) -> SchemaReport: ...
    def to_dict(self) -> Dict[str, Any]: ...

@final
class ExportIterator(Iterator[Dict[str, Any]]):
    """The records of an export, as JSON-ready dicts tagged with ``"type"``,
    read lazily from one snapshot: every project, then every avatar.

    It holds a reader connection and its snapshot until exhausted or closed:
    ``close()`` it (or use ``with``) when stopping early.
    """

    def __iter__(self) -> Self: ...
    def __next__(self) -> Dict[str, Any]: ...
    def close(self) -> None:
        """Stops the export and releases its connection. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...

@final
class Store:
    """A handle on one avatar-store database, safe to share between threads."""

    def __new__(
        cls,
        path: _PathLike,
        *,
        migrate: bool = True,
        backup: bool = True,
        verify: bool = True,
        busy_timeout: float = 5.0,
        readers: int = 4,
        schema: Optional[str] = None,
    ) -> Self: ...
    @staticmethod
    def in_memory() -> Store: ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *_args: object) -> None: ...
    @property
    def migration_outcome(self) -> MigrationOutcome: ...
    def migration_status(self) -> Dict[str, Any]: ...
    def migrate(self) -> MigrationOutcome: ...
    def check_schema(self) -> SchemaReport: ...
    def repair(self) -> RepairOutcome: ...
    def backup(self, dest: _PathLike) -> None: ...
    def create_project(self, user_id: str, *, name: str, description: Optional[str] = None) -> Project: ...
    def get_project(self, user_id: str, project_id: IdLike) -> Project: ...
    def list_projects(
        self, user_id: str, *, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> Page[Project]: ...
    def list_projects_with_avatars(
        self, user_id: str, *, limit: Optional[int] = None, cursor: Optional[str] = None
    ) -> Page[ProjectWithAvatars]: ...
    def update_project(self, user_id: str, project_id: IdLike, **changes: Unpack[ProjectChanges]) -> Project: ...
    def delete_project(self, user_id: str, project_id: IdLike) -> None: ...
    def create_avatar(self, user_id: str, **fields: Unpack[AvatarFields]) -> Avatar: ...
    def create_avatars(self, user_id: str, avatars: Iterable[AvatarFields]) -> List[Avatar]: ...
    def get_avatar(self, user_id: str, avatar_id: IdLike) -> Avatar: ...
    def list_avatars(
        self,
        user_id: str,
        *,
        project_id: Optional[IdLike] = None,
        gender: Optional[str] = None,
        age_range: Optional[str] = None,
        ethnicity: Optional[str] = None,
        body_type: Optional[str] = None,
        hair_style: Optional[str] = None,
        hair_color: Optional[str] = None,
        eye_color: Optional[str] = None,
        skin_tone: Optional[str] = None,
        style: Optional[str] = None,
        source_type: Optional[str] = None,
        name_contains: Optional[str] = None,
        sort: _Sort = "created_at",
        order: _Order = "asc",
        limit: Optional[int] = None,
        cursor: Optional[str] = None,
    ) -> Page[Avatar]: ...
    def update_avatar(self, user_id: str, avatar_id: IdLike, **changes: Unpack[AvatarChanges]) -> Avatar: ...
    def delete_avatar(self, user_id: str, avatar_id: IdLike) -> None: ...
    def record_usage(self, user_id: str, avatar_id: IdLike) -> Avatar: ...
    def count(self, user_id: str) -> Tuple[int, int]:
        """`(projects, avatars)` of `user_id`."""
    def count_all_users(self) -> Tuple[int, int]:
        """`(projects, avatars)` of every user together: for operators only."""
    def export(self, user_id: str) -> ExportIterator:
        """Every project, then every avatar of `user_id`, as JSON-ready dicts tagged with `"type"`,
        read lazily from one snapshot (`list()` it for a list)."""
    def export_all_users(self) -> ExportIterator:
        """Like `export()` for every user: whole-database transfer, for operators only."""
    def export_to(self, user_id: str, dest: Union[_PathLike, IO[bytes], IO[str]]) -> Tuple[int, int]:
        """Writes the export of `user_id` in the export format (header, records, end line).

        `dest` is a path that must not exist (`ConflictError`; the file
        appears complete or not at all) or a file object open for writing,
        binary or text. Returns `(projects, avatars)` written.
        """
    def export_all_users_to(self, dest: Union[_PathLike, IO[bytes], IO[str]]) -> Tuple[int, int]:
        """Like `export_to()` for every user: whole-database transfer, for operators only."""
    def import_from(self, user_id: str, src: Union[_PathLike, IO[bytes], IO[str]]) -> Tuple[int, int]:
        """Imports a file in the export format for `user_id`, all or nothing.

        Every line is checked before anything is written. A bad line raises
        with `.line` set (and `.field` on a `ValidationError`); a file of
        another user is a `ValidationError` naming `userId`. Returns
        `(projects, avatars)` written.
        """
    def import_all_users_from(self, src: Union[_PathLike, IO[bytes], IO[str]]) -> Tuple[int, int]:
        """Like `import_from()` for records of any user: whole-database transfer, for operators only."""
    def import_records(self, user_id: str, records: Iterable[Mapping[str, Any]]) -> Tuple[int, int]:
        """Writes records of `user_id` in one transaction (all or none), upserting by id.

        A record of another user, or an avatar in a project that is not
        `user_id`'s, raises `ValidationError` naming `records[i]`; nothing is
        written.
        """
    def import_records_all_users(self, records: Iterable[Mapping[str, Any]]) -> Tuple[int, int]:
        """Like `import_records()` for records of any user: whole-database transfer, for operators only."""

def embedded_migrations() -> List[Dict[str, Any]]: ...
def latest_version() -> int: ...
def inspect(path: _PathLike) -> Dict[str, Any]: ...
def display_database(path: _PathLike) -> str: ...
def restore(backup_file: _PathLike, db: _PathLike, *, force: bool = False) -> Dict[str, Any]: ...
