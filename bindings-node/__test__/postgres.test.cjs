'use strict'
// The package on PostgreSQL, from Node: `new Store(url)` with its options,
// every kind of operation with tenant isolation, the incident replayed on a
// server database (refused at open naming the 18 columns, repaired, rows
// intact), and passwords that never reach an error. The server comes from
// AVATAR_STORE_TEST_PG_URL (see pg.cjs).

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Store, displayDatabase, inspect, inspectSync, latestVersion, restore, restoreSync } = require('avatar-store')
const { fullAvatar, tempDir, INCIDENT_COLUMNS } = require('./helpers.cjs')
const { database, withClient, passwordOf, listedAvatarColumns, incidentDatabase, LEGACY } = require('./pg.cjs')

const USER = 'user-1'
const OTHER = 'user-2'

/** Every text an error carries: message, detail, stack, properties. */
function everythingShown(err) {
  return [String(err), err.stack, err.detail, err.path, JSON.stringify(err), JSON.stringify(err.report)].join('\n')
}

test('CRUD over a URL, with tenant isolation', async (t) => {
  const url = await database(t)
  if (!url) return
  const store = await Store.open(url, { readers: 2, busyTimeoutMs: 3000 })
  t.after(() => store.close())
  assert.equal(store.path, null)
  assert.deepEqual(store.migrationOutcome, { fromVersion: 0, toVersion: latestVersion(), applied: Array.from({ length: latestVersion() }, (_, i) => i + 1), backup: null })
  assert.equal((await store.checkSchema()).missingColumns.length, 0)

  const project = await store.createProject(USER, { name: 'Launch', description: 'spring campaign' })
  assert.equal((await store.getProject(USER, project.id)).name, 'Launch')
  const nova = await store.createAvatar(USER, fullAvatar(project.id, { seedUsed: 2n ** 63n - 1n }))
  const got = await store.getAvatar(USER, nova.id)
  assert.deepEqual(got, nova)
  assert.equal(got.seedUsed, 2n ** 63n - 1n, 'seedUsed is BIGINT')
  assert.ok(got.createdAt instanceof Date)
  const rex = store.createAvatarSync(USER, { projectId: project.id, name: 'Rex', hairColor: 'black' })

  const first = await store.listAvatars(USER, { limit: 1 })
  assert.deepEqual(first.items.map((a) => a.id), [nova.id])
  const rest = await store.listAvatars(USER, { limit: 1, cursor: first.nextCursor })
  assert.deepEqual(rest.items.map((a) => a.id), [rex.id])
  assert.equal(rest.nextCursor, null)
  assert.deepEqual((await store.listAvatars(USER, { hairColor: 'silver' })).items.map((a) => a.id), [nova.id])

  assert.equal((await store.recordUsage(USER, rex.id)).usageCount, 1)
  const used = store.recordUsageSync(USER, rex.id)
  assert.equal(used.usageCount, 2)
  assert.ok(used.lastUsedAt instanceof Date)
  const byUsage = await store.listAvatars(USER, { sort: 'usageCount', order: 'desc' })
  assert.deepEqual(byUsage.items.map((a) => a.id), [rex.id, nova.id])
  const page = await store.listProjectsWithAvatars(USER)
  assert.deepEqual(page.items.map((p) => p.avatars.map((a) => a.name)), [['Nova', 'Rex']])

  // Another user sees nothing and changes nothing.
  for (const call of [
    () => store.getAvatar(OTHER, nova.id),
    () => store.getProject(OTHER, project.id),
    () => store.recordUsage(OTHER, rex.id),
    () => store.updateAvatar(OTHER, nova.id, { name: 'Taken' }),
    () => store.deleteAvatar(OTHER, nova.id),
  ]) {
    await assert.rejects(call(), { code: 'NOT_FOUND' })
  }
  assert.deepEqual((await store.listAvatars(OTHER)).items, [])
  assert.deepEqual((await store.listProjects(OTHER)).items, [])
  assert.equal((await store.getAvatar(USER, nova.id)).name, 'Nova')
  assert.equal((await store.getAvatar(USER, rex.id)).usageCount, 2)
  await assert.rejects(store.createAvatar(OTHER, { projectId: project.id, name: 'Intruder' }), { code: 'NOT_FOUND' })
  assert.deepEqual(await store.count(USER), { projects: 1, avatars: 2 })
  assert.deepEqual(await store.count(OTHER), { projects: 0, avatars: 0 })

  // What the store wrote is plain rows on the server.
  const { rows } = await withClient(url, (c) => c.query('SELECT "usageCount", "userId" FROM avatars WHERE id = $1', [rex.id]))
  assert.deepEqual(rows, [{ usageCount: 2, userId: USER }])
})

test('the open options reach a PostgreSQL store', async (t) => {
  const url = await database(t)
  if (!url) return
  await assert.rejects(Store.open(url, { readers: 0 }), { code: 'VALIDATION', field: 'readers' })
  assert.throws(() => new Store(url, { busyTimeoutMs: 2 ** 31 }), { code: 'VALIDATION', field: 'busyTimeoutMs' })

  // The busy timeout bounds a wait on another connection's lock. A lock held
  // longer than the store's 300 ms (but released well within the default
  // 5 s, so that a store ignoring the option would succeed) is BUSY.
  const store = new Store(url, { busyTimeoutMs: 300 })
  t.after(() => store.close())
  const project = store.createProjectSync(USER, { name: 'P' })
  const avatar = store.createAvatarSync(USER, { projectId: project.id, name: 'A' })
  await withClient(url, async (c) => {
    await c.query('BEGIN')
    await c.query('LOCK TABLE avatars IN ACCESS EXCLUSIVE MODE')
    const release = setTimeout(() => c.query('ROLLBACK'), 3000)
    try {
      await assert.rejects(store.recordUsage(USER, avatar.id), { code: 'BUSY' })
    } finally {
      clearTimeout(release)
      await c.query('ROLLBACK')
    }
  })
  assert.equal((await store.getAvatar(USER, avatar.id)).usageCount, 0, 'the refused call changed nothing')
  assert.equal((await store.recordUsage(USER, avatar.id)).usageCount, 1)
})

test('the schema option keeps a store in its schema', async (t) => {
  const url = await database(t)
  if (!url) return
  const a = await Store.open(url, { schema: 'tenant_a' })
  const project = await a.createProject(USER, { name: 'In tenant_a' })
  assert.deepEqual(await a.count(USER), { projects: 1, avatars: 0 })
  a.close()
  const pub = await Store.open(url)
  t.after(() => pub.close())
  assert.deepEqual(await pub.count(USER), { projects: 0, avatars: 0 })
  await assert.rejects(pub.getProject(USER, project.id), { code: 'NOT_FOUND' })
  const { rows } = await withClient(url, (c) =>
    c.query("SELECT table_schema, table_name FROM information_schema.tables WHERE table_name IN ('projects', 'avatars') ORDER BY 1, 2"),
  )
  assert.deepEqual(rows.map((r) => `${r.table_schema}.${r.table_name}`), ['public.avatars', 'public.projects', 'tenant_a.avatars', 'tenant_a.projects'])
  await assert.rejects(Store.open(url, { schema: '' }), { code: 'VALIDATION', field: 'schema' })
  assert.throws(() => new Store(url, { schema: 7 }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('the incident on PostgreSQL: refused with SCHEMA_DRIFT naming all 18, repaired, rows intact', async (t) => {
  const url = await database(t)
  if (!url) return
  await incidentDatabase(url, async (u) => (await Store.open(u)).close())
  const before = await listedAvatarColumns(url)
  assert.ok(!INCIDENT_COLUMNS.some((c) => before.includes(c)), before.join())

  for (const open of [() => Store.open(url), async () => new Store(url)]) {
    await assert.rejects(open(), (e) => {
      assert.ok(e instanceof Error)
      assert.equal(e.code, 'SCHEMA_DRIFT')
      const missing = e.report.missingColumns.map((c) => `${c.table}.${c.column}`)
      assert.deepEqual(missing.sort(), INCIDENT_COLUMNS.map((c) => `avatars.${c}`).sort())
      for (const c of INCIDENT_COLUMNS) assert.match(e.message, new RegExp(`avatars\\.${c}\\b`))
      // V6 dropped the indexes on the incident's columns: only columns are missing.
      assert.deepEqual(e.report.missingIndexes, [])
      assert.ok(!everythingShown(e).includes(passwordOf(url)), 'no password in the error')
      return true
    })
  }

  // Repair through the binding: every missing column and index in one transaction, no backup file.
  const damaged = new Store(url, { verify: false })
  assert.equal((await damaged.checkSchema()).missingColumns.length, 18)
  const outcome = await damaged.repair()
  assert.deepEqual(outcome.notRepaired, [])
  assert.equal(outcome.applied.filter((s) => s.includes('ADD COLUMN')).length, 18)
  assert.equal(outcome.applied.length, 18)
  assert.equal(outcome.backup, null)
  assert.equal(outcome.after.missingColumns.length, 0)
  assert.equal(outcome.after.missingIndexes.length, 0)
  damaged.close()

  // The report's own verification query now lists all 18.
  const after = await listedAvatarColumns(url)
  for (const c of INCIDENT_COLUMNS) assert.ok(after.includes(c), c)

  const store = await Store.open(url)
  t.after(() => store.close())
  const avatar = await store.getAvatar(LEGACY.user, LEGACY.avatarId)
  assert.equal(avatar.name, 'Legacy')
  assert.equal(avatar.imageUrl, 'https://cdn.example.com/l.png')
  assert.equal(avatar.usageCount, 0)
  assert.equal(avatar.personaName, null)
  assert.equal(avatar.createdAt.toISOString(), '2025-10-01T00:00:01.000Z')
  assert.equal((await store.getProject(LEGACY.user, LEGACY.projectId)).description, 'from V1')
  const updated = await store.updateAvatar(LEGACY.user, LEGACY.avatarId, { personaName: 'Lee', hairColor: 'red' })
  assert.equal(updated.personaName, 'Lee')
  assert.equal((await store.recordUsage(LEGACY.user, LEGACY.avatarId)).usageCount, 1)
  assert.deepEqual((await store.repair()).applied, [], 'nothing left to repair')
})

test('a PostgreSQL database of a newer build is refused, untouched', async (t) => {
  const url = await database(t)
  if (!url) return
  ;(await Store.open(url)).close()
  await withClient(url, (c) => c.query("INSERT INTO refinery_schema_history VALUES (99, 'from_the_future', '', '0')"))
  await assert.rejects(Store.open(url), { code: 'NEWER_SCHEMA', foundVersion: 99, knownVersion: latestVersion() })
  const { rows } = await withClient(url, (c) => c.query('SELECT max(version) AS v FROM refinery_schema_history'))
  assert.equal(rows[0].v, 99)
})

// Without a server: what a wrong or unreachable URL gives away.

test('an unreachable server is IO, named without the password', async () => {
  await assert.rejects(Store.open('postgresql://app:hunter2-secret@127.0.0.1:1/avatars', { busyTimeoutMs: 2000 }), (e) => {
    assert.equal(e.code, 'IO')
    assert.equal(e.path, 'postgresql://app@127.0.0.1:1/avatars')
    assert.ok(!everythingShown(e).includes('hunter2-secret'), everythingShown(e))
    return true
  })
})

test('a malformed URL is VALIDATION naming url, without the password', () => {
  assert.throws(() => new Store('postgresql://app:hunter2-secret@db.example:notaport/avatars'), (e) => {
    assert.equal(e.code, 'VALIDATION')
    assert.equal(e.field, 'url')
    assert.ok(!everythingShown(e).includes('hunter2-secret'))
    return true
  })
})

test('a URL where a file is expected is named without its password', async (t) => {
  const url = 'postgresql://app:hunter2-secret@127.0.0.1:1/avatars'
  const restored = path.join(tempDir(t), 'restored.db')
  for (const call of [() => inspect(url), async () => inspectSync(url), () => restore(url, restored), async () => restoreSync(url, restored)]) {
    await assert.rejects(call(), (e) => {
      assert.equal(e.code, 'IO')
      assert.equal(e.path, 'postgresql://app@127.0.0.1:1/avatars')
      assert.ok(!everythingShown(e).includes('hunter2-secret'), everythingShown(e))
      return true
    })
  }
})

test('displayDatabase drops the password and the options', () => {
  assert.equal(
    displayDatabase('postgresql://app:hunter2-secret@db.example:5432/avatars?sslmode=require'),
    'postgresql://app@db.example:5432/avatars',
  )
  assert.equal(displayDatabase('data/avatars.db'), 'data/avatars.db')
})
