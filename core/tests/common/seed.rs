//! A database avatar-store did not create, as the incident's team had it
//! (../shared/seeds/): Prisma Migrate's `_prisma_migrations` table, the base
//! `projects` and `avatars` tables, and then the report's own 18 hand-run
//! `ALTER TABLE ... ADD COLUMN` statements, verbatim. Shared by the core and
//! CLI tests (included by path), for both dialects.
#![allow(dead_code)]

/// Prisma Migrate's history table (its PostgreSQL DDL; SQLite takes it too).
pub const PRISMA_MIGRATIONS: &str = r#"
CREATE TABLE "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMP,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMP,
    "started_at"          TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);
INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name")
    VALUES ('5c6f0a52-2f53-4d43-9d8e-6a0d1f2b3c4d', 'e3b0c44298fc1c149afbf4c8996fb924', '20251001000000_init');
"#;

/// The base tables on PostgreSQL, the incident's columns before the 18.
pub const BASE_TABLES_POSTGRES: &str = r#"
CREATE TABLE projects (
    "id"          TEXT PRIMARY KEY NOT NULL,
    "userId"      TEXT NOT NULL,
    "name"        TEXT NOT NULL,
    "description" TEXT,
    "createdAt"   TIMESTAMPTZ(3) NOT NULL,
    "updatedAt"   TIMESTAMPTZ(3) NOT NULL
);
CREATE TABLE avatars (
    "id"           TEXT PRIMARY KEY NOT NULL,
    "projectId"    TEXT NOT NULL REFERENCES projects("id") ON DELETE CASCADE,
    "userId"       TEXT NOT NULL,
    "name"         TEXT NOT NULL,
    "imageUrl"     TEXT,
    "thumbnailUrl" TEXT,
    "createdAt"    TIMESTAMPTZ(3) NOT NULL,
    "updatedAt"    TIMESTAMPTZ(3) NOT NULL
);
"#;

/// The base tables of a hand-made SQLite file.
pub const BASE_TABLES_SQLITE: &str = r#"
CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL, userId TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    createdAt TEXT NOT NULL, updatedAt TEXT NOT NULL
);
CREATE TABLE avatars (
    id TEXT PRIMARY KEY NOT NULL, projectId TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    userId TEXT NOT NULL, name TEXT NOT NULL, imageUrl TEXT, thumbnailUrl TEXT,
    createdAt TEXT NOT NULL, updatedAt TEXT NOT NULL
);
"#;

/// One row each, valid in both dialects.
pub const ROWS: &str = r#"
INSERT INTO projects ("id", "userId", "name", "description", "createdAt", "updatedAt")
    VALUES ('01942f6a-5e00-7000-8000-0000000000aa', 'u1', 'Live', NULL,
            '2025-10-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z');
INSERT INTO avatars ("id", "projectId", "userId", "name", "imageUrl", "thumbnailUrl", "createdAt", "updatedAt")
    VALUES ('01942f6a-5e00-7000-8000-0000000000bb', '01942f6a-5e00-7000-8000-0000000000aa', 'u1', 'Survivor',
            'https://cdn.example/a.png', NULL, '2025-10-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z');
"#;

/// The surviving avatar of [`ROWS`].
pub const AVATAR_ID: &str = "01942f6a-5e00-7000-8000-0000000000bb";

/// The report's "Fix 2: Manual Database Migration", verbatim.
pub const INCIDENT_ALTERS: &str = r#"
-- Persona columns
ALTER TABLE avatars ADD COLUMN "personaName" TEXT;
ALTER TABLE avatars ADD COLUMN "personaAge" INTEGER;
ALTER TABLE avatars ADD COLUMN "personaPersonality" TEXT;
ALTER TABLE avatars ADD COLUMN "personaBackground" TEXT;

-- Visual attributes
ALTER TABLE avatars ADD COLUMN "gender" TEXT;
ALTER TABLE avatars ADD COLUMN "ageRange" TEXT;
ALTER TABLE avatars ADD COLUMN "ethnicity" TEXT;
ALTER TABLE avatars ADD COLUMN "bodyType" TEXT;
ALTER TABLE avatars ADD COLUMN "hairStyle" TEXT;
ALTER TABLE avatars ADD COLUMN "hairColor" TEXT;
ALTER TABLE avatars ADD COLUMN "eyeColor" TEXT;
ALTER TABLE avatars ADD COLUMN "skinTone" TEXT;
ALTER TABLE avatars ADD COLUMN "style" TEXT;

-- Generation info
ALTER TABLE avatars ADD COLUMN "sourceType" TEXT;
ALTER TABLE avatars ADD COLUMN "generationPrompt" TEXT;
ALTER TABLE avatars ADD COLUMN "seedUsed" INTEGER;
ALTER TABLE avatars ADD COLUMN "usageCount" INTEGER DEFAULT 0;
ALTER TABLE avatars ADD COLUMN "lastUsedAt" TIMESTAMP;
"#;

/// The columns the hand-typed statements got wrong on PostgreSQL (V4 makes
/// `seedUsed BIGINT`, `usageCount ... NOT NULL`, `lastUsedAt TIMESTAMPTZ(3)`).
pub const MISTYPED_POSTGRES: [&str; 3] = ["seedUsed", "usageCount", "lastUsedAt"];
/// On SQLite (whose INTEGER is already 64-bit).
pub const MISTYPED_SQLITE: [&str; 2] = ["usageCount", "lastUsedAt"];

/// What makes the columns exactly V4's on PostgreSQL.
pub const FIX_POSTGRES: &str = r#"
ALTER TABLE avatars ALTER COLUMN "seedUsed" TYPE BIGINT;
UPDATE avatars SET "usageCount" = 0 WHERE "usageCount" IS NULL;
ALTER TABLE avatars ALTER COLUMN "usageCount" SET NOT NULL;
ALTER TABLE avatars ALTER COLUMN "lastUsedAt" TYPE TIMESTAMPTZ(3);
"#;

/// What makes the columns exactly V4's on SQLite, which cannot change a
/// column's type in place (the two columns hold nothing yet).
pub const FIX_SQLITE: &str = r#"
ALTER TABLE avatars DROP COLUMN "usageCount";
ALTER TABLE avatars ADD COLUMN "usageCount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE avatars DROP COLUMN "lastUsedAt";
ALTER TABLE avatars ADD COLUMN "lastUsedAt" TEXT;
"#;

/// The version the fixed database is: the one that added the last of the 18.
pub const FIXED_VERSION: i32 = 4;
