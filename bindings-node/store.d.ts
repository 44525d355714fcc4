// Types of store.js, the JavaScript class over the native store: the
// method list there and the declarations here must agree, which
// __test__/store.test.cjs checks in both directions.
import type {
  OpenOptions,
  NewProject,
  ProjectPatch,
  ProjectQuery,
  NewAvatar,
  AvatarPatch,
  AvatarQuery,
  Project,
  ProjectPage,
  ProjectWithAvatarsPage,
  Avatar,
  AvatarPage,
  Counts,
  ExportCursor,
  SchemaReport,
  RepairOutcome,
  MigrationOutcome,
  MigrationStatus,
} from './binding'


/**
 * A handle on one avatar-store database.
 *
 * Opening runs the embedded migrations that are pending (after a backup of
 * a non-empty file) and verifies the live schema: a database missing
 * columns is refused with a `SCHEMA_DRIFT` error naming every one of them.
 */
export declare class Store {
  /**
   * Opens (creating if needed) the database file at `path`, or a private
   * in-memory database for `":memory:"`. Blocks while migrating; prefer
   * `await Store.open(path)` in a server.
   */
  constructor(path: string, options?: OpenOptions)
  /** Opens a database like `new Store(path, options)`, off the event loop. */
  static open(path: string, options?: OpenOptions): Promise<Store>
  /** The database file, `null` in memory. */
  get path(): string | null
  /** What the migration step did when this store was opened. */
  get migrationOutcome(): MigrationOutcome
  /**
   * Releases the database; later calls fail with `ERR_STORE_CLOSED`.
   * Operations already running finish first.
   */
  close(): void
  /** Compares the live schema with the one this build expects. */
  checkSchema(): Promise<SchemaReport>
  /** Synchronous `checkSchema()`. */
  checkSchemaSync(): SchemaReport
  /**
   * Repairs additive drift (missing nullable columns, missing indexes) in
   * one transaction after a backup; reports what it left alone.
   */
  repair(): Promise<RepairOutcome>
  /** Synchronous `repair()`. */
  repairSync(): RepairOutcome
  /** Applied and pending migrations of this database. */
  migrationStatus(): Promise<MigrationStatus>
  /** Synchronous `migrationStatus()`. */
  migrationStatusSync(): MigrationStatus
  /** Applies pending migrations now (for stores opened with `migrate: false`). */
  migrate(): Promise<MigrationOutcome>
  /** Synchronous `migrate()`. */
  migrateSync(): MigrationOutcome
  /** Writes a consistent copy of the database to `dest`, which must not exist. */
  backup(dest: string): Promise<void>
  /** Synchronous `backup(dest)`. */
  backupSync(dest: string): void
  /** Numbers of projects and avatars of `userId`. */
  count(userId: string): Promise<Counts>
  /** Synchronous `count(userId)`. */
  countSync(userId: string): Counts
  /**
   * Numbers of projects and avatars of every user together: for operators,
   * never for a request made on behalf of one user.
   */
  countAllUsers(): Promise<Counts>
  /** Synchronous `countAllUsers()`. */
  countAllUsersSync(): Counts
  /**
   * Writes the export of `userId` in the export format (versioned JSON
   * Lines: header, records from one snapshot, end line) to a new file at
   * `path`; a file already there is a `CONFLICT`, never replaced.
   */
  exportTo(userId: string, path: string): Promise<Counts>
  /** Synchronous `exportTo(userId, path)`. */
  exportToSync(userId: string, path: string): Counts
  /** Like `exportTo` for every user: whole-database transfer, for operators. */
  exportAllUsersTo(path: string): Promise<Counts>
  /** Synchronous `exportAllUsersTo(path)`. */
  exportAllUsersToSync(path: string): Counts
  /**
   * The export of `userId` in the export format, as an async iterator
   * of its lines (header, records from one snapshot, end line), each
   * ending in `
  `: `for await (const line of store.exportLines(userId))`,
   * or `stream.Readable.from(store.exportLines(userId))` to pipe it.
   * Leaving the loop early frees its reader connection.
   */
  exportLines(userId: string): ExportCursor
  /** Like `exportLines` for every user: whole-database transfer, for operators. */
  exportAllUsersLines(): ExportCursor
  /**
   * Imports a file in the export format for `userId`: every line is
   * checked before anything is written, then all records are written in
   * one transaction. A bad line rejects with `line` (and `field` for
   * `VALIDATION`) set, and nothing is written.
   */
  importFrom(userId: string, path: string): Promise<Counts>
  /** Synchronous `importFrom(userId, path)`. */
  importFromSync(userId: string, path: string): Counts
  /** Like `importFrom` for records of any user: whole-database transfer, for operators. */
  importAllUsersFrom(path: string): Promise<Counts>
  /** Synchronous `importAllUsersFrom(path)`. */
  importAllUsersFromSync(path: string): Counts
  /** Creates a project owned by `userId`. */
  createProject(userId: string, project: NewProject): Promise<Project>
  /** Synchronous `createProject(userId, project)`. */
  createProjectSync(userId: string, project: NewProject): Project
  /** Reads a project of `userId`; another user's project is `NOT_FOUND`. */
  getProject(userId: string, id: string): Promise<Project>
  /** Synchronous `getProject(userId, id)`. */
  getProjectSync(userId: string, id: string): Project
  /** Lists the projects of `userId`, newest first, one page at a time. */
  listProjects(userId: string, query?: ProjectQuery): Promise<ProjectPage>
  /** Synchronous `listProjects(userId, query)`. */
  listProjectsSync(userId: string, query?: ProjectQuery): ProjectPage
  /**
   * Like `listProjects`, each project with its avatars (oldest first), in
   * two queries per page whatever its size.
   */
  listProjectsWithAvatars(userId: string, query?: ProjectQuery): Promise<ProjectWithAvatarsPage>
  /** Synchronous `listProjectsWithAvatars(userId, query)`. */
  listProjectsWithAvatarsSync(userId: string, query?: ProjectQuery): ProjectWithAvatarsPage
  /** Changes a project of `userId`: absent properties stay, `description: null` clears. */
  updateProject(userId: string, id: string, patch: ProjectPatch): Promise<Project>
  /** Synchronous `updateProject(userId, id, patch)`. */
  updateProjectSync(userId: string, id: string, patch: ProjectPatch): Project
  /** Deletes a project of `userId` and, by cascade, its avatars. */
  deleteProject(userId: string, id: string): Promise<void>
  /** Synchronous `deleteProject(userId, id)`. */
  deleteProjectSync(userId: string, id: string): void
  /** Creates an avatar in a project of `userId`. */
  createAvatar(userId: string, avatar: NewAvatar): Promise<Avatar>
  /** Synchronous `createAvatar(userId, avatar)`. */
  createAvatarSync(userId: string, avatar: NewAvatar): Avatar
  /**
   * Creates many avatars in one transaction: all or none, every item
   * validated before anything is written.
   */
  createAvatars(userId: string, avatars: NewAvatar[]): Promise<Avatar[]>
  /** Synchronous `createAvatars(userId, avatars)`. */
  createAvatarsSync(userId: string, avatars: NewAvatar[]): Avatar[]
  /** Reads an avatar of `userId`; another user's avatar is `NOT_FOUND`. */
  getAvatar(userId: string, id: string): Promise<Avatar>
  /** Synchronous `getAvatar(userId, id)`. */
  getAvatarSync(userId: string, id: string): Avatar
  /** Lists avatars of `userId` with filters, sort and keyset pagination. */
  listAvatars(userId: string, query?: AvatarQuery): Promise<AvatarPage>
  /** Synchronous `listAvatars(userId, query)`. */
  listAvatarsSync(userId: string, query?: AvatarQuery): AvatarPage
  /** Changes an avatar of `userId`: absent properties stay, `null` clears. */
  updateAvatar(userId: string, id: string, patch: AvatarPatch): Promise<Avatar>
  /** Synchronous `updateAvatar(userId, id, patch)`. */
  updateAvatarSync(userId: string, id: string, patch: AvatarPatch): Avatar
  /** Deletes an avatar of `userId`. */
  deleteAvatar(userId: string, id: string): Promise<void>
  /** Synchronous `deleteAvatar(userId, id)`. */
  deleteAvatarSync(userId: string, id: string): void
  /**
   * Counts one use: increments `usageCount` and sets `lastUsedAt`
   * atomically, so concurrent callers lose no increment.
   */
  recordUsage(userId: string, id: string): Promise<Avatar>
  /** Synchronous `recordUsage(userId, id)`. */
  recordUsageSync(userId: string, id: string): Avatar
}
