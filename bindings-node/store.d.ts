// Types of store.js, the JavaScript class over the native store: the
// method list there and the declarations here must agree, which
// __test__/store.test.cjs checks in both directions.
import type * as B from './binding'

/**
 * A handle on one avatar-store database.
 *
 * Opening runs the embedded migrations that are pending (after a backup of
 * a non-empty file) and verifies the live schema: a database missing
 * columns is refused with a `SCHEMA_DRIFT` error naming every one of them.
 */
export declare class Store {
  /**
   * Opens the database at `path`: a `postgresql://` (or `postgres://`) URL
   * opens that PostgreSQL database, `":memory:"` a private in-memory one,
   * anything else a SQLite file (created if needed). Blocks while
   * migrating; prefer `await Store.open(path)` in a server.
   */
  constructor(path: string, options?: B.OpenOptions)
  /** Opens a database like `new Store(path, options)`, off the event loop. */
  static open(path: string, options?: B.OpenOptions): Promise<Store>
  /** The database file, `null` in memory and on PostgreSQL. */
  get path(): string | null
  /** What the migration step did when this store was opened. */
  get migrationOutcome(): B.MigrationOutcome
  /**
   * Releases the database; later calls fail with `ERR_STORE_CLOSED`.
   * Operations already running finish first.
   */
  close(): void
  /** Compares the live schema with the one this build expects. */
  checkSchema(): Promise<B.SchemaReport>
  /** Synchronous `checkSchema()`. */
  checkSchemaSync(): B.SchemaReport
  /**
   * Repairs additive drift (missing nullable columns, missing indexes) in
   * one transaction after a backup; reports what it left alone.
   */
  repair(): Promise<B.RepairOutcome>
  /** Synchronous `repair()`. */
  repairSync(): B.RepairOutcome
  /** Applied and pending migrations of this database. */
  migrationStatus(): Promise<B.MigrationStatus>
  /** Synchronous `migrationStatus()`. */
  migrationStatusSync(): B.MigrationStatus
  /** Applies pending migrations now (for stores opened with `migrate: false`). */
  migrate(): Promise<B.MigrationOutcome>
  /** Synchronous `migrate()`. */
  migrateSync(): B.MigrationOutcome
  /** Writes a consistent copy of the database to `dest`, which must not exist. */
  backup(dest: string): Promise<void>
  /** Synchronous `backup(dest)`. */
  backupSync(dest: string): void
  /** Numbers of projects and avatars of `userId`. */
  count(userId: string): Promise<B.Counts>
  /** Synchronous `count(userId)`. */
  countSync(userId: string): B.Counts
  /**
   * Numbers of projects and avatars of every user together: for operators,
   * never for a request made on behalf of one user.
   */
  countAllUsers(): Promise<B.Counts>
  /** Synchronous `countAllUsers()`. */
  countAllUsersSync(): B.Counts
  /**
   * Writes the export of `userId` in the export format (versioned JSON
   * Lines: header, records from one snapshot, end line) to a new file at
   * `path`; a file already there is a `CONFLICT`, never replaced.
   */
  exportTo(userId: string, path: string): Promise<B.Counts>
  /** Synchronous `exportTo(userId, path)`. */
  exportToSync(userId: string, path: string): B.Counts
  /** Like `exportTo` for every user: whole-database transfer, for operators. */
  exportAllUsersTo(path: string): Promise<B.Counts>
  /** Synchronous `exportAllUsersTo(path)`. */
  exportAllUsersToSync(path: string): B.Counts
  /**
   * The export of `userId` in the export format, as an async iterator
   * of its lines (header, records from one snapshot, end line), each
   * ending in `
  `: `for await (const line of store.exportLines(userId))`,
   * or `stream.Readable.from(store.exportLines(userId))` to pipe it.
   * Leaving the loop early frees its reader connection.
   */
  exportLines(userId: string): B.ExportCursor
  /** Like `exportLines` for every user: whole-database transfer, for operators. */
  exportAllUsersLines(): B.ExportCursor
  /**
   * Imports a file in the export format for `userId`: every line is
   * checked before anything is written, then all records are written in
   * one transaction. A bad line rejects with `line` (and `field` for
   * `VALIDATION`) set, and nothing is written.
   */
  importFrom(userId: string, path: string): Promise<B.Counts>
  /** Synchronous `importFrom(userId, path)`. */
  importFromSync(userId: string, path: string): B.Counts
  /** Like `importFrom` for records of any user: whole-database transfer, for operators. */
  importAllUsersFrom(path: string): Promise<B.Counts>
  /** Synchronous `importAllUsersFrom(path)`. */
  importAllUsersFromSync(path: string): B.Counts
  /** Creates a project owned by `userId`. */
  createProject(userId: string, project: B.NewProject): Promise<B.Project>
  /** Synchronous `createProject(userId, project)`. */
  createProjectSync(userId: string, project: B.NewProject): B.Project
  /**
   * Reads a project of `userId`; another user's project is `NOT_FOUND`.
   * May run at once on the calling thread, as `getAvatar` does.
   */
  getProject(userId: string, id: string): Promise<B.Project>
  /** Synchronous `getProject(userId, id)`. */
  getProjectSync(userId: string, id: string): B.Project
  /** Lists the projects of `userId`, newest first, one page at a time. */
  listProjects(userId: string, query?: B.ProjectQuery): Promise<B.ProjectPage>
  /** Synchronous `listProjects(userId, query)`. */
  listProjectsSync(userId: string, query?: B.ProjectQuery): B.ProjectPage
  /**
   * Like `listProjects`, each project with its avatars (oldest first), in
   * two queries per page whatever its size.
   */
  listProjectsWithAvatars(userId: string, query?: B.ProjectQuery): Promise<B.ProjectWithAvatarsPage>
  /** Synchronous `listProjectsWithAvatars(userId, query)`. */
  listProjectsWithAvatarsSync(userId: string, query?: B.ProjectQuery): B.ProjectWithAvatarsPage
  /** Changes a project of `userId`: absent properties stay, `description: null` clears. */
  updateProject(userId: string, id: string, patch: B.ProjectPatch): Promise<B.Project>
  /** Synchronous `updateProject(userId, id, patch)`. */
  updateProjectSync(userId: string, id: string, patch: B.ProjectPatch): B.Project
  /** Deletes a project of `userId` and, by cascade, its avatars. */
  deleteProject(userId: string, id: string): Promise<void>
  /** Synchronous `deleteProject(userId, id)`. */
  deleteProjectSync(userId: string, id: string): void
  /** Creates an avatar in a project of `userId`. */
  createAvatar(userId: string, avatar: B.NewAvatar): Promise<B.Avatar>
  /** Synchronous `createAvatar(userId, avatar)`. */
  createAvatarSync(userId: string, avatar: B.NewAvatar): B.Avatar
  /**
   * Creates many avatars in one transaction: all or none, every item
   * validated before anything is written.
   */
  createAvatars(userId: string, avatars: B.NewAvatar[]): Promise<B.Avatar[]>
  /** Synchronous `createAvatars(userId, avatars)`. */
  createAvatarsSync(userId: string, avatars: B.NewAvatar[]): B.Avatar[]
  /**
   * Reads an avatar of `userId`; another user's avatar is `NOT_FOUND`.
   * On a SQLite file the read may run at once on the calling thread, and
   * the Promise is returned settled: when an idle reader is at hand (it
   * never waits for one, nor for a lock, there), no write of this thread
   * is pending, and either no other Promise of this thread is outstanding
   * or the addon's workers have calls waiting.
   */
  getAvatar(userId: string, id: string): Promise<B.Avatar>
  /** Synchronous `getAvatar(userId, id)`. */
  getAvatarSync(userId: string, id: string): B.Avatar
  /** Lists avatars of `userId` with filters, sort and keyset pagination. */
  listAvatars(userId: string, query?: B.AvatarQuery): Promise<B.AvatarPage>
  /** Synchronous `listAvatars(userId, query)`. */
  listAvatarsSync(userId: string, query?: B.AvatarQuery): B.AvatarPage
  /** Changes an avatar of `userId`: absent properties stay, `null` clears. */
  updateAvatar(userId: string, id: string, patch: B.AvatarPatch): Promise<B.Avatar>
  /** Synchronous `updateAvatar(userId, id, patch)`. */
  updateAvatarSync(userId: string, id: string, patch: B.AvatarPatch): B.Avatar
  /** Deletes an avatar of `userId`. */
  deleteAvatar(userId: string, id: string): Promise<void>
  /** Synchronous `deleteAvatar(userId, id)`. */
  deleteAvatarSync(userId: string, id: string): void
  /**
   * Counts one use: increments `usageCount` and sets `lastUsedAt`
   * atomically, so concurrent callers lose no increment. Like every write
   * on one record, it may be committed together with the writes queued
   * beside it on the addon's workers; its result and error are its own.
   */
  recordUsage(userId: string, id: string): Promise<B.Avatar>
  /** Synchronous `recordUsage(userId, id)`. */
  recordUsageSync(userId: string, id: string): B.Avatar
}

/**
 * Reads the migration status of a database file without changing it, so
 * that a newer or edited database can be inspected too.
 */
export declare function inspect(path: string): Promise<B.MigrationStatus>

/** Synchronous `inspect(path)`. */
export declare function inspectSync(path: string): B.MigrationStatus

/**
 * Replaces the database at `db` with a verified backup; an existing
 * database is replaced only with `force: true`, after a copy of it is kept.
 * No `Store` may have `db` open meanwhile.
 */
export declare function restore(backupFile: string, db: string, options?: { force?: boolean }): Promise<B.RestoreOutcome>

/** Synchronous `restore(backupFile, db, options)`. */
export declare function restoreSync(backupFile: string, db: string, options?: { force?: boolean }): B.RestoreOutcome
