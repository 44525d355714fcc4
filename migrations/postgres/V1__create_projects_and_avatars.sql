-- The first release: projects and avatars with their base columns only.
-- Column names are camelCase, as in the Avatar Creator schema, so quoted.
-- Same version and name as migrations/sqlite/V1; the types are PostgreSQL's
-- (TEXT ids as in the incident's Prisma schema, TIMESTAMPTZ(3) for the
-- millisecond UTC timestamps the SQLite files hold as RFC 3339 text).
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
