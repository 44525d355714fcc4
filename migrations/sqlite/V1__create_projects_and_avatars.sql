-- The first release: projects and avatars with their base columns only.
-- Column names are camelCase, as in the Avatar Creator schema.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY NOT NULL,
    userId      TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT,
    createdAt   TEXT NOT NULL,
    updatedAt   TEXT NOT NULL
);

CREATE TABLE avatars (
    id           TEXT PRIMARY KEY NOT NULL,
    projectId    TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    userId       TEXT NOT NULL,
    name         TEXT NOT NULL,
    imageUrl     TEXT,
    thumbnailUrl TEXT,
    createdAt    TEXT NOT NULL,
    updatedAt    TEXT NOT NULL
);
