'use strict'
// Shared fixtures of the tests: temporary directories, sample input, and
// databases in the states of the incident, written with Python's sqlite3
// module (Python 3 is on every machine of this project) so that the store
// under test is not also the tool that makes its fixtures.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { embeddedMigrations } = require('avatar-store')

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'avatar-store-node-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs a Python script with `input` as JSON on stdin; returns its stdout. */
function python(script, input) {
  return execFileSync('python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' })
}

/** Every field of a new avatar, filled. */
function fullAvatar(projectId, overrides = {}) {
  return {
    projectId,
    name: 'Nova',
    imageUrl: 'https://cdn.example.com/nova.png',
    thumbnailUrl: 'https://cdn.example.com/nova-thumb.png',
    personaName: 'Nova Reyes',
    personaAge: 29,
    personaPersonality: 'curious, dry humour',
    personaBackground: 'grew up on a research station',
    gender: 'female',
    ageRange: '25-34',
    ethnicity: 'latina',
    bodyType: 'athletic',
    hairStyle: 'bob',
    hairColor: 'silver',
    eyeColor: 'green',
    skinTone: 'medium',
    style: 'cyberpunk',
    sourceType: 'generated',
    generationPrompt: 'portrait of a woman with a silver bob, green eyes, neon-lit cyberpunk street, 35mm, shallow depth of field',
    seedUsed: 424242,
    ...overrides,
  }
}

/** The 18 columns the incident's production database lacked. */
const INCIDENT_COLUMNS = [
  'personaName', 'personaAge', 'personaPersonality', 'personaBackground',
  'gender', 'ageRange', 'ethnicity', 'bodyType', 'hairStyle', 'hairColor', 'eyeColor', 'skinTone', 'style',
  'sourceType', 'generationPrompt', 'seedUsed', 'usageCount', 'lastUsedAt',
]

const BUILD_DB = `
import json, sqlite3, sys
spec = json.load(sys.stdin)
db = sqlite3.connect(spec['path'])
db.executescript(spec['sql'])
db.execute('CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255), checksum VARCHAR(255))')
for m in spec['history']:
    db.execute('INSERT INTO refinery_schema_history VALUES (?, ?, ?, ?)', (m['version'], m['name'], '2025-10-01T00:00:00+00:00', m['checksum']))
db.execute("INSERT INTO projects VALUES ('0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b', 'user-1', 'Launch', NULL, '2025-10-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z')")
db.execute("INSERT INTO avatars (id, projectId, userId, name, imageUrl, thumbnailUrl, createdAt, updatedAt) VALUES ('0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6c', '0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b', 'user-1', 'Legacy', 'https://cdn.example.com/l.png', NULL, '2025-10-01T00:00:01.000Z', '2025-10-01T00:00:01.000Z')")
db.commit()
db.close()
`
const LEGACY = { projectId: '0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b', avatarId: '0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6c', user: 'user-1' }

/** A database as the first release left it: V1 applied and recorded, with one project and avatar. */
function v1Database(file) {
  const [v1] = embeddedMigrations()
  python(BUILD_DB, { path: file, sql: v1.sql, history: [v1] })
  return file
}

/**
 * The incident's database: its history records every migration, but the
 * avatars table only has the V1 columns, and only the indexes that do not
 * need the missing columns exist.
 */
function driftedDatabase(file) {
  const all = embeddedMigrations()
  const indexes = all
    .flatMap((m) => m.sql.split(';'))
    .map((s) => s.replace(/--[^\n]*/g, '').trim())
    .filter((s) => /^CREATE INDEX/i.test(s) && !INCIDENT_COLUMNS.some((c) => new RegExp(`\\b${c}\\b`).test(s)))
  python(BUILD_DB, { path: file, sql: [all[0].sql, ...indexes].join(';\n') + ';', history: all })
  return file
}

/** Runs SQL statements on a database file. */
function sql(file, statements) {
  python(`
import json, sqlite3, sys
spec = json.load(sys.stdin)
db = sqlite3.connect(spec['path'])
for s in spec['statements']:
    db.execute(s)
db.commit()
db.close()
`, { path: file, statements })
}

module.exports = { tempDir, python, fullAvatar, INCIDENT_COLUMNS, LEGACY, v1Database, driftedDatabase, sql }
