"""avatar-store: projects and avatars over embedded SQLite, with the schema
migrations compiled in and the live schema verified at every open.

>>> import avatar_store
>>> with avatar_store.Store.in_memory() as store:
...     project = store.create_project("user-1", name="Launch")
...     avatar = store.create_avatar("user-1", project_id=project.id, name="Nova", hair_color="silver")
...     [a.name for a in store.list_avatars("user-1", hair_color="silver")]
['Nova']

Every operation takes the caller's user id; another user's records read as
not found. Errors are subclasses of :class:`AvatarStoreError` with a stable
``code``. The work runs in Rust with the GIL released, so threads sharing one
``Store`` run concurrently.
"""

from ._avatar_store import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SOURCE_TYPES,
    Avatar,
    ExportIterator,
    MigrationOutcome,
    Page,
    Project,
    ProjectWithAvatars,
    RepairOutcome,
    Store,
    __version__,
    display_database,
    embedded_migrations,
    inspect,
    latest_version,
    restore,
)
from ._errors import (
    AvatarStoreError,
    BusyError,
    ConflictError,
    InternalError,
    MigrationError,
    NewerSchemaError,
    NotFoundError,
    SchemaDriftError,
    SchemaReport,
    StoreIOError,
    ValidationError,
)
from ._types import AvatarChanges, AvatarFields, IdLike, ProjectChanges

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
