//! Writes on single records as data ([`Write`]), so that several of them
//! can share one transaction and one commit ([`Store::write_together`]).
//!
//! A commit is most of what a write on one record costs on SQLite (the
//! log append, the writer's lock, the checkpoint bookkeeping). A caller with
//! several such writes in flight at once, such as the Node binding's
//! Promise methods, can have them committed together: each still succeeds
//! or fails as it would alone.

use rusqlite::Connection;
use uuid::Uuid;

use crate::error::Result;
use crate::model::{Avatar, AvatarPatch, NewAvatar, NewProject, Project, ProjectPatch};
use crate::repo;
use crate::store::Store;

/// One write on a single record, with its arguments: the store's method of
/// the same name, as data.
// Built once per write and moved, as the method's arguments would be.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Write {
    /// [`Store::create_project`].
    CreateProject {
        /// The owner.
        user_id: String,
        /// The new project.
        project: NewProject,
    },
    /// [`Store::update_project`].
    UpdateProject {
        /// The owner.
        user_id: String,
        /// The project.
        id: Uuid,
        /// The fields to change.
        patch: ProjectPatch,
    },
    /// [`Store::delete_project`].
    DeleteProject {
        /// The owner.
        user_id: String,
        /// The project.
        id: Uuid,
    },
    /// [`Store::create_avatar`].
    CreateAvatar {
        /// The owner.
        user_id: String,
        /// The new avatar.
        avatar: NewAvatar,
    },
    /// [`Store::update_avatar`].
    UpdateAvatar {
        /// The owner.
        user_id: String,
        /// The avatar.
        id: Uuid,
        /// The fields to change.
        patch: AvatarPatch,
    },
    /// [`Store::delete_avatar`].
    DeleteAvatar {
        /// The owner.
        user_id: String,
        /// The avatar.
        id: Uuid,
    },
    /// [`Store::record_usage`].
    RecordUsage {
        /// The owner.
        user_id: String,
        /// The avatar.
        id: Uuid,
    },
}

/// What a [`Write`] returns: what its method returns.
// Returned once and unpacked at once: boxing the avatar would cost an
// allocation per write and buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// A project created or updated.
    Project(Project),
    /// An avatar created, updated or used.
    Avatar(Avatar),
    /// A project or an avatar deleted.
    Deleted,
}

impl Write {
    /// Runs the write alone, through its method.
    pub(crate) fn run_alone(&self, store: &Store) -> Result<Written> {
        match self {
            Write::CreateProject { user_id, project } => store.create_project(user_id, project).map(Written::Project),
            Write::UpdateProject { user_id, id, patch } => {
                store.update_project(user_id, id, patch).map(Written::Project)
            }
            Write::DeleteProject { user_id, id } => store.delete_project(user_id, id).map(|()| Written::Deleted),
            Write::CreateAvatar { user_id, avatar } => store.create_avatar(user_id, avatar).map(Written::Avatar),
            Write::UpdateAvatar { user_id, id, patch } => store.update_avatar(user_id, id, patch).map(Written::Avatar),
            Write::DeleteAvatar { user_id, id } => store.delete_avatar(user_id, id).map(|()| Written::Deleted),
            Write::RecordUsage { user_id, id } => store.record_usage(user_id, id).map(Written::Avatar),
        }
    }

    /// Runs the write on the SQLite writer `conn`, inside a transaction of
    /// the caller's: the statements its method runs, without the commit.
    ///
    /// Each write changes the database with one statement at most, its
    /// last (the reads and checks come first), so a write that fails has
    /// changed nothing: SQLite undoes a failing statement by itself, and
    /// the transaction goes on. That is why writes run together need no
    /// savepoint each (two more statements per write).
    pub(crate) fn run_in(&self, conn: &Connection) -> Result<Written> {
        match self {
            Write::CreateProject { user_id, project } => {
                repo::create_project(conn, user_id, project).map(Written::Project)
            }
            Write::UpdateProject { user_id, id, patch } => {
                repo::update_project(conn, user_id, id, patch).map(Written::Project)
            }
            Write::DeleteProject { user_id, id } => repo::delete_project(conn, user_id, id).map(|()| Written::Deleted),
            Write::CreateAvatar { user_id, avatar } => {
                let a = repo::prepare_avatar(user_id, avatar)?;
                repo::insert_avatar(conn, &a)?;
                Ok(Written::Avatar(a))
            }
            Write::UpdateAvatar { user_id, id, patch } => {
                repo::update_avatar(conn, user_id, id, patch).map(Written::Avatar)
            }
            Write::DeleteAvatar { user_id, id } => repo::delete_avatar(conn, user_id, id).map(|()| Written::Deleted),
            Write::RecordUsage { user_id, id } => repo::record_usage(conn, user_id, id).map(Written::Avatar),
        }
    }
}
