// Types of the `avatar-store` package. The declarations themselves are
// generated into binding.d.ts from the Rust sources (and src/dts-header.d.ts);
// this file chooses what the package exports, like index.js and index.mjs.
import { Store, inspect, inspectSync, restore, restoreSync } from './store'
import { embeddedMigrations, latestVersion, displayDatabase } from './binding'

export { Store, embeddedMigrations, latestVersion, displayDatabase, inspect, inspectSync, restore, restoreSync }

export type {
  AvatarStoreError,
  ErrorCode,
  OpenOptions,
  NewProject,
  ProjectPatch,
  ProjectQuery,
  NewAvatar,
  AvatarPatch,
  AvatarQuery,
  SourceType,
  Project,
  ProjectPage,
  ProjectWithAvatars,
  ProjectWithAvatarsPage,
  Avatar,
  AvatarPage,
  Counts,
  ExportCursor,
  EmbeddedMigration,
  SchemaReport,
  MissingColumn,
  ColumnSpec,
  IndexSpec,
  SchemaDifference,
  RepairOutcome,
  MigrationOutcome,
  MigrationStatus,
  RestoreOutcome,
} from './binding'

/** The whole package as one object: `import avatarStore from 'avatar-store'`. */
declare const avatarStore: {
  readonly Store: typeof Store
  readonly embeddedMigrations: typeof embeddedMigrations
  readonly latestVersion: typeof latestVersion
  readonly displayDatabase: typeof displayDatabase
  readonly inspect: typeof inspect
  readonly inspectSync: typeof inspectSync
  readonly restore: typeof restore
  readonly restoreSync: typeof restoreSync
  readonly default: typeof avatarStore
}

export default avatarStore
