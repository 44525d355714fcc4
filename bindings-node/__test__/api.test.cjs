'use strict'
// Every method of the Store, async and sync, against a real database file.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const avatarStore = require('avatar-store')
const { Store, embeddedMigrations, latestVersion, inspect, inspectSync, restore, restoreSync } = avatarStore
const { tempDir, fullAvatar } = require('./helpers.cjs')

const U = 'user-1'
const OTHER = 'user-2'

function openTemp(t, options) {
  const file = path.join(tempDir(t), 'app.db')
  const store = new Store(file, options)
  t.after(() => store.close())
  return { store, file }
}

test('projects: create, get, list with cursor, update, delete (async and sync)', async (t) => {
  const { store } = openTemp(t)
  const made = []
  for (let i = 0; i < 5; i++) {
    made.push(i % 2 ? store.createProjectSync(U, { name: `p${i}` }) : await store.createProject(U, { name: `p${i}`, description: 'd' }))
  }
  const p = made[0]
  assert.equal(typeof p.id, 'string')
  assert.equal(p.userId, U)
  assert.equal(p.description, 'd')
  assert.equal(made[1].description, null)
  assert.ok(p.createdAt instanceof Date && p.updatedAt instanceof Date)
  assert.deepEqual(await store.getProject(U, p.id), p)
  assert.deepEqual(store.getProjectSync(U, p.id), p)

  const first = await store.listProjects(U, { limit: 2 })
  assert.equal(first.items.length, 2)
  assert.equal(typeof first.nextCursor, 'string')
  const second = store.listProjectsSync(U, { limit: 2, cursor: first.nextCursor })
  const third = await store.listProjects(U, { limit: 2, cursor: second.nextCursor })
  assert.equal(third.nextCursor, null)
  const seen = [...first.items, ...second.items, ...third.items].map((x) => x.name)
  assert.deepEqual(seen, ['p4', 'p3', 'p2', 'p1', 'p0'], 'newest first, each once')

  const renamed = await store.updateProject(U, p.id, { name: 'renamed' })
  assert.equal(renamed.name, 'renamed')
  assert.equal(renamed.description, 'd', 'absent properties stay')
  const cleared = store.updateProjectSync(U, p.id, { description: null })
  assert.equal(cleared.description, null, 'null clears')
  assert.ok(cleared.updatedAt >= p.updatedAt)

  const a = await store.createAvatar(U, fullAvatar(p.id))
  assert.equal(await store.deleteProject(U, p.id), undefined)
  await assert.rejects(store.getProject(U, p.id), { code: 'NOT_FOUND' })
  await assert.rejects(store.getAvatar(U, a.id), { code: 'NOT_FOUND' }, 'avatars go with their project')
  assert.equal(store.deleteProjectSync(U, made[1].id), undefined)
  assert.deepEqual(await store.count(U), { projects: 3, avatars: 0 })
  assert.deepEqual(store.countAllUsersSync(), { projects: 3, avatars: 0 })
})

test('avatars: every field round-trips, with Dates, string ids and 64-bit seeds', async (t) => {
  const { store } = openTemp(t)
  const p = await store.createProject(U, { name: 'P' })
  const input = fullAvatar(p.id)
  const a = await store.createAvatar(U, input)
  for (const [k, v] of Object.entries(input)) assert.deepEqual(a[k], v, k)
  assert.equal(a.usageCount, 0)
  assert.equal(a.lastUsedAt, null)
  assert.ok(a.createdAt instanceof Date)
  assert.deepEqual(Object.keys(a).length, 26, 'every column, absent ones as null')
  assert.deepEqual(await store.getAvatar(U, a.id), a)

  const big = store.createAvatarSync(U, fullAvatar(p.id, { seedUsed: 2n ** 62n }))
  assert.equal(big.seedUsed, 2n ** 62n)
  const neg = store.createAvatarSync(U, fullAvatar(p.id, { seedUsed: -(2n ** 63n) }))
  assert.equal(neg.seedUsed, -(2n ** 63n))
  const small = store.createAvatarSync(U, fullAvatar(p.id, { seedUsed: 7n }))
  assert.equal(small.seedUsed, 7, 'safe values come back as numbers')

  const sql = "Robert'); DROP TABLE avatars; --"
  assert.equal((await store.createAvatar(U, { projectId: p.id, name: sql })).name, sql)
})

test('avatars: batch, patch, usage, delete, and another user sees nothing', async (t) => {
  const { store } = openTemp(t)
  const p = await store.createProject(U, { name: 'P' })
  const batch = await store.createAvatars(U, [fullAvatar(p.id, { name: 'a' }), { projectId: p.id, name: 'b' }])
  assert.deepEqual(batch.map((a) => a.name), ['a', 'b'])
  const syncBatch = store.createAvatarsSync(U, [{ projectId: p.id, name: 'c' }])
  assert.equal(syncBatch.length, 1)
  const [a] = batch

  const patched = await store.updateAvatar(U, a.id, { hairColor: null, eyeColor: 'blue', personaAge: 30 })
  assert.equal(patched.hairColor, null)
  assert.equal(patched.eyeColor, 'blue')
  assert.equal(patched.personaAge, 30)
  assert.equal(patched.gender, a.gender, 'absent properties stay')
  assert.equal(store.updateAvatarSync(U, a.id, { name: 'A2' }).name, 'A2')

  const used = await store.recordUsage(U, a.id)
  assert.equal(used.usageCount, 1)
  assert.ok(used.lastUsedAt instanceof Date)
  assert.equal(store.recordUsageSync(U, a.id).usageCount, 2)

  for (const call of [
    () => store.getAvatar(OTHER, a.id),
    () => store.updateAvatar(OTHER, a.id, { name: 'stolen' }),
    () => store.recordUsage(OTHER, a.id),
    () => store.deleteAvatar(OTHER, a.id),
    () => store.createAvatar(OTHER, { projectId: p.id, name: 'x' }),
    () => store.getProject(OTHER, p.id),
    () => store.updateProject(OTHER, p.id, { name: 'x' }),
    () => store.deleteProject(OTHER, p.id),
  ]) {
    await assert.rejects(call(), (e) => e.code === 'NOT_FOUND' && e instanceof Error)
  }
  assert.equal((await store.listAvatars(OTHER)).items.length, 0)
  assert.equal((await store.listProjectsWithAvatars(OTHER)).items.length, 0)
  assert.equal((await store.getAvatar(U, a.id)).name, 'A2', 'untouched by the other user')

  assert.equal(await store.deleteAvatar(U, a.id), undefined)
  assert.throws(() => store.getAvatarSync(U, a.id), { code: 'NOT_FOUND', entity: 'avatar', id: a.id })
  assert.equal(store.deleteAvatarSync(U, batch[1].id), undefined)
})

test('listAvatars: filters, sorts and keyset pages', async (t) => {
  const { store } = openTemp(t)
  const p = await store.createProject(U, { name: 'P' })
  const q = await store.createProject(U, { name: 'Q' })
  const hair = ['red', 'black', 'red', 'blond', 'red', 'black', 'red']
  const made = await store.createAvatars(U, hair.map((h, i) => fullAvatar(i < 5 ? p.id : q.id, { name: `Av${i}`, hairColor: h, sourceType: i % 2 ? 'uploaded' : 'generated' })))
  for (let i = 0; i < 3; i++) await store.recordUsage(U, made[2].id)
  await store.recordUsage(U, made[4].id)

  const red = await store.listAvatars(U, { hairColor: 'red' })
  assert.deepEqual(red.items.map((a) => a.name), ['Av0', 'Av2', 'Av4', 'Av6'])
  const redInP = store.listAvatarsSync(U, { hairColor: 'red', projectId: p.id, order: 'desc' })
  assert.deepEqual(redInP.items.map((a) => a.name), ['Av4', 'Av2', 'Av0'])
  assert.deepEqual((await store.listAvatars(U, { sourceType: 'uploaded', hairColor: 'black' })).items.map((a) => a.name), ['Av1', 'Av5'])
  assert.deepEqual((await store.listAvatars(U, { nameContains: 'av3' })).items.map((a) => a.name), ['Av3'])
  const byUsage = await store.listAvatars(U, { sort: 'usageCount', order: 'desc', limit: 2 })
  assert.deepEqual(byUsage.items.map((a) => a.name), ['Av2', 'Av4'])
  const byLastUse = await store.listAvatars(U, { sort: 'lastUsedAt', order: 'desc', limit: 1 })
  assert.equal(byLastUse.items[0].name, 'Av4')

  const ids = []
  let cursor = null
  do {
    const page = await store.listAvatars(U, { limit: 3, cursor, sort: 'usageCount' })
    ids.push(...page.items.map((a) => a.id))
    cursor = page.nextCursor
  } while (cursor)
  assert.deepEqual([...ids].sort(), made.map((a) => a.id).sort(), 'every avatar exactly once')

  const withAvatars = await store.listProjectsWithAvatars(U)
  assert.deepEqual(withAvatars.items.map((x) => [x.name, x.avatars.length]), [['Q', 2], ['P', 5]])
  assert.ok(withAvatars.items[1].avatars[0].createdAt instanceof Date)
  const syncWith = store.listProjectsWithAvatarsSync(U, { limit: 1 })
  assert.equal(syncWith.items.length, 1)
  assert.equal(typeof syncWith.nextCursor, 'string')
})

test('schema, migrations, backup, inspect and restore', async (t) => {
  const dir = tempDir(t)
  const { store, file } = openTemp(t)
  assert.equal(store.path, file)
  assert.equal(new Store(':memory:').path, null)
  const report = await store.checkSchema()
  assert.deepEqual(Object.keys(report).sort(), [
    'columnDifferences', 'currentVersion', 'expectedVersion', 'indexDifferences', 'missingColumns',
    'missingIndexes', 'missingTables', 'pendingMigrations', 'warnings',
  ])
  assert.equal(report.currentVersion, latestVersion())
  assert.deepEqual(store.checkSchemaSync(), report)
  const repaired = store.repairSync()
  assert.deepEqual(repaired.applied, [])
  assert.equal(repaired.backup, null, 'nothing to repair, no backup')
  assert.equal((await store.repair()).after.currentVersion, latestVersion())
  assert.deepEqual(store.migrationOutcome, { fromVersion: 0, toVersion: latestVersion(), applied: [1, 2, 3, 4, 5, 6, 7], backup: null })
  assert.deepEqual((await store.migrate()).applied, [])
  const status = await store.migrationStatus()
  assert.deepEqual(status.applied.map((m) => m.version), [1, 2, 3, 4, 5, 6, 7])
  assert.equal(status.newerThanBuild, false)

  const migrations = embeddedMigrations()
  assert.deepEqual(migrations.map((m) => m.version), [1, 2, 3, 4, 5, 6, 7])
  assert.match(migrations[0].sql, /CREATE TABLE projects/)
  assert.deepEqual(status.applied.map((m) => m.checksum), migrations.map((m) => m.checksum))

  const p = await store.createProject(U, { name: 'kept' })
  const copy = path.join(dir, 'copy.db')
  assert.equal(await store.backup(copy), undefined)
  await assert.rejects(store.backup(copy), { code: 'IO', path: copy }, 'never overwrites')
  store.backupSync(path.join(dir, 'copy2.db'))
  assert.equal((await inspect(copy)).currentVersion, latestVersion())
  assert.equal(inspectSync(copy).pending.length, 0)
  const fromCopy = new Store(copy)
  assert.equal(fromCopy.getProjectSync(U, p.id).name, 'kept')
  fromCopy.close()

  const target = path.join(dir, 'restored.db')
  const restored = await restore(copy, target)
  assert.equal(restored.version, latestVersion())
  assert.equal(restored.replacedCopy, null)
  await assert.rejects(restore(copy, target), { code: 'CONFLICT' }, 'an existing database needs force')
  const forced = restoreSync(copy, target, { force: true })
  assert.ok(forced.replacedCopy && fs.existsSync(forced.replacedCopy))
  assert.equal(new Store(target).getProjectSync(U, p.id).name, 'kept')
})

test('Store.open resolves to a Store; close() makes later calls fail with ERR_STORE_CLOSED', async (t) => {
  const file = path.join(tempDir(t), 'a.db')
  const store = await Store.open(file, { busyTimeoutMs: 2000, readers: 2, backup: true })
  assert.ok(store instanceof Store)
  assert.ok(store instanceof avatarStore.Store)
  const pending = store.createProject(U, { name: 'in flight' })
  store.close()
  assert.equal((await pending).name, 'in flight', 'operations already started finish')
  assert.throws(() => store.countSync(U), { code: 'ERR_STORE_CLOSED' })
  await assert.rejects(store.count(U), { code: 'ERR_STORE_CLOSED' })
  assert.throws(() => store.migrationOutcome, { code: 'ERR_STORE_CLOSED' })
  const again = new Store(file)
  assert.equal(again.countSync(U).projects, 1)
})

test('hundreds of concurrent promises on one store lose nothing', async (t) => {
  const { store } = openTemp(t)
  const p = await store.createProject(U, { name: 'P' })
  const target = await store.createAvatar(U, { projectId: p.id, name: 'popular' })
  const ops = []
  for (let i = 0; i < 200; i++) ops.push(store.recordUsage(U, target.id))
  for (let i = 0; i < 150; i++) ops.push(store.createAvatar(U, fullAvatar(p.id, { name: `c${i}` })))
  for (let i = 0; i < 150; i++) ops.push(store.getAvatar(U, target.id), store.listAvatars(U, { limit: 10 }))
  const results = await Promise.all(ops)
  assert.equal(results.length, 650)
  const counts = results.slice(0, 200).map((a) => a.usageCount).sort((x, y) => x - y)
  assert.deepEqual(counts, Array.from({ length: 200 }, (_, i) => i + 1), 'every increment seen once')
  assert.equal((await store.getAvatar(U, target.id)).usageCount, 200)
  assert.deepEqual(await store.count(U), { projects: 1, avatars: 151 })
})
