'use strict'
// The incident, replayed: an old database is upgraded at open, and a database
// whose history claims every migration while 18 columns are missing is
// refused with all of them named, then repaired without losing data.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Store, latestVersion } = require('avatar-store')
const { tempDir, v1Database, driftedDatabase, INCIDENT_COLUMNS, LEGACY } = require('./helpers.cjs')

test('a V1 database is backed up, migrated to the latest version and keeps its data', async (t) => {
  const file = v1Database(path.join(tempDir(t), 'v1.db'))
  const store = await Store.open(file)
  const outcome = store.migrationOutcome
  assert.equal(outcome.fromVersion, 1)
  assert.equal(outcome.toVersion, latestVersion())
  assert.deepEqual(outcome.applied, [2, 3, 4, 5, 6, 7])
  assert.ok(outcome.backup && fs.existsSync(outcome.backup), 'a backup was taken before migrating')
  const avatar = await store.getAvatar(LEGACY.user, LEGACY.avatarId)
  assert.equal(avatar.name, 'Legacy')
  assert.equal(avatar.usageCount, 0)
  assert.equal(avatar.personaName, null)
  assert.ok(avatar.createdAt instanceof Date)
  assert.equal(avatar.createdAt.toISOString(), '2025-10-01T00:00:01.000Z')
  const used = await store.recordUsage(LEGACY.user, LEGACY.avatarId)
  assert.equal(used.usageCount, 1)
  assert.ok((await store.checkSchema()).missingColumns.length === 0)
})

test('migrate: false is a verify-only open: pending migrations are SCHEMA_DRIFT, migrate() applies them', async (t) => {
  const file = v1Database(path.join(tempDir(t), 'v1.db'))
  await assert.rejects(Store.open(file, { migrate: false }), (e) => {
    assert.equal(e.code, 'SCHEMA_DRIFT')
    assert.deepEqual(e.report.pendingMigrations, [2, 3, 4, 5, 6, 7])
    return true
  })
  const store = new Store(file, { migrate: false, verify: false })
  assert.deepEqual((await store.migrationStatus()).pending.map((m) => m.version), [2, 3, 4, 5, 6, 7])
  const out = store.migrateSync()
  assert.deepEqual(out.applied, [2, 3, 4, 5, 6, 7])
  assert.equal(store.migrationStatusSync().pending.length, 0)
})

test('the incident database is refused with SCHEMA_DRIFT naming all 18 missing columns', async (t) => {
  const file = driftedDatabase(path.join(tempDir(t), 'prod.db'))
  for (const open of [() => Store.open(file), async () => new Store(file)]) {
    await assert.rejects(open(), (e) => {
      assert.ok(e instanceof Error)
      assert.equal(e.code, 'SCHEMA_DRIFT')
      const missing = e.report.missingColumns.map((c) => c.column)
      assert.deepEqual([...missing].sort(), [...INCIDENT_COLUMNS].sort())
      assert.ok(e.report.missingColumns.every((c) => c.table === 'avatars'))
      for (const c of INCIDENT_COLUMNS) assert.match(e.message, new RegExp(`avatars\\.${c}\\b`))
      // The indexes on the incident's columns went in V6 (record_usage's cost).
      assert.deepEqual(e.report.missingIndexes, [])
      return true
    })
  }
})

test('opened with verify: false, the drifted database is repaired in place with its data intact', async (t) => {
  const file = driftedDatabase(path.join(tempDir(t), 'prod.db'))
  const damaged = new Store(file, { verify: false })
  const before = await damaged.checkSchema()
  assert.equal(before.missingColumns.length, 18)
  const outcome = await damaged.repair()
  assert.equal(outcome.notRepaired.length, 0)
  assert.ok(outcome.applied.length >= 18, 'one statement per column')
  assert.ok(outcome.backup && fs.existsSync(outcome.backup))
  assert.equal(outcome.after.missingColumns.length, 0)
  assert.equal(outcome.after.missingIndexes.length, 0)
  damaged.close()

  const store = new Store(file)
  const avatar = store.getAvatarSync(LEGACY.user, LEGACY.avatarId)
  assert.equal(avatar.name, 'Legacy')
  assert.equal(avatar.imageUrl, 'https://cdn.example.com/l.png')
  assert.equal(avatar.usageCount, 0)
  const page = await store.listProjectsWithAvatars(LEGACY.user)
  assert.equal(page.items.length, 1)
  assert.deepEqual(page.items[0].avatars.map((a) => a.id), [LEGACY.avatarId])
  // The columns work: the incident's writes succeed.
  const updated = await store.updateAvatar(LEGACY.user, LEGACY.avatarId, { personaName: 'Lee', hairColor: 'red' })
  assert.equal(updated.personaName, 'Lee')
  assert.equal((await store.recordUsage(LEGACY.user, LEGACY.avatarId)).usageCount, 1)
})
