-- The schema a developer writes by hand for W1-W6 (../shared/BENCHMARKS.md):
-- the store's columns in the same order, the primary keys, the foreign key,
-- and the one index the project listing needs. The SQLite baselines of all
-- three benches (core/benches/workloads.rs, benches/python, benches/node)
-- read this one file.
CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL, userId TEXT NOT NULL, name TEXT NOT NULL, description TEXT,
    createdAt TEXT NOT NULL, updatedAt TEXT NOT NULL);
CREATE TABLE avatars (
    id TEXT PRIMARY KEY NOT NULL,
    projectId TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    userId TEXT NOT NULL, name TEXT NOT NULL, imageUrl TEXT, thumbnailUrl TEXT,
    createdAt TEXT NOT NULL, updatedAt TEXT NOT NULL,
    personaName TEXT, personaAge INTEGER, personaPersonality TEXT, personaBackground TEXT,
    gender TEXT, ageRange TEXT, ethnicity TEXT, bodyType TEXT, hairStyle TEXT, hairColor TEXT,
    eyeColor TEXT, skinTone TEXT, style TEXT,
    sourceType TEXT, generationPrompt TEXT, seedUsed INTEGER,
    usageCount INTEGER NOT NULL DEFAULT 0, lastUsedAt TEXT);
CREATE INDEX avatars_project_created ON avatars (projectId, createdAt, id);
