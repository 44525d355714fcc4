'use strict'
// Every error code of the core as a JavaScript error, wrong argument types as
// TypeErrors naming the argument, and bad input that writes nothing.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { Store } = require('avatar-store')
const { tempDir, fullAvatar, sql } = require('./helpers.cjs')

const U = 'user-1'
const sha = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex')

test('NEWER_SCHEMA: a database from a newer build is refused and left byte-identical', async (t) => {
  const file = path.join(tempDir(t), 'new.db')
  new Store(file).close()
  sql(file, ["INSERT INTO refinery_schema_history VALUES (99, 'future', '2030-01-01T00:00:00+00:00', '1')"])
  const before = sha(file)
  await assert.rejects(Store.open(file), (e) => {
    assert.equal(e.code, 'NEWER_SCHEMA')
    assert.equal(e.foundVersion, 99)
    assert.equal(e.knownVersion, 7)
    return true
  })
  assert.equal(sha(file), before)
})

test('MIGRATION: an edited applied migration is named', async (t) => {
  const file = path.join(tempDir(t), 'edited.db')
  new Store(file).close()
  sql(file, ["UPDATE refinery_schema_history SET checksum = '1' WHERE version = 3"])
  assert.throws(() => new Store(file), (e) => e.code === 'MIGRATION' && e.version === 3 && /V3/.test(e.message))
})

test('IO: a file that is not a database', async (t) => {
  const file = path.join(tempDir(t), 'notes.txt')
  fs.writeFileSync(file, 'not a database, just text that is long enough to have a header '.repeat(20))
  await assert.rejects(Store.open(file), { code: 'IO' })
  await assert.rejects(Store.open(path.join(tempDir(t), 'missing-dir', 'x.db')), { code: 'IO' })
})

test('BUSY: a write that waits past the busy timeout', async (t) => {
  const file = path.join(tempDir(t), 'busy.db')
  const store = new Store(file, { busyTimeoutMs: 50 })
  // Another process holds the write lock for two seconds.
  const holder = spawn('python3', ['-c', `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute('BEGIN IMMEDIATE')
print('locked', flush=True)
time.sleep(2)
db.execute('ROLLBACK')
`, file])
  t.after(() => holder.kill())
  await new Promise((resolve) => holder.stdout.once('data', resolve))
  await assert.rejects(store.createProject(U, { name: 'blocked' }), { code: 'BUSY' })
  await new Promise((resolve) => holder.once('exit', resolve))
  assert.equal((await store.createProject(U, { name: 'later' })).name, 'later')
})

test('INTERNAL: a panic becomes an error and the process survives', async () => {
  // The hooks are in the native binding, not in the package's exports.
  const binding = require('../binding.js')
  assert.throws(() => binding.__panicForTests(), (e) => e.code === 'INTERNAL' && /panicked/.test(e.detail) && !/panicked/.test(e.message))
  await assert.rejects(binding.__panicForTestsAsync(), { code: 'INTERNAL' })
  assert.equal(new Store(':memory:').countAllUsersSync().projects, 0, 'still working')
})

test('bad input of every kind is refused with a named field or argument, and nothing is written', async (t) => {
  const store = new Store(path.join(tempDir(t), 'bad.db'))
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  const snapshot = () => JSON.stringify([store.countAllUsersSync(), store.getAvatarSync(U, a.id), store.getProjectSync(U, p.id)])
  const before = snapshot()
  const V = (field) => ({ code: 'VALIDATION', field })
  const T = (argument, code = 'ERR_INVALID_ARG_TYPE') => ({ name: 'TypeError', code, argument })
  const cases = [
    // Wrong JavaScript types: TypeError naming the argument or property.
    [T('userId'), (s) => s.createProject(42, { name: 'x' })],
    [T('userId'), (s) => s.createProject(undefined, { name: 'x' })],
    [T('project'), (s) => s.createProject(U, 'x')],
    [T('project'), (s) => s.createProject(U, null)],
    [T('project'), (s) => s.createProject(U, [{ name: 'x' }])],
    [T('project.name'), (s) => s.createProject(U, {})],
    [T('project.name'), (s) => s.createProject(U, { name: 7 })],
    [T('project', 'ERR_INVALID_ARG_VALUE'), (s) => s.createProject(U, { name: 'x', title: 'typo' })],
    [T('id'), (s) => s.getAvatar(U, 12)],
    [T('avatar.personaAge'), (s) => s.createAvatar(U, fullAvatar(p.id, { personaAge: '29' }))],
    [T('avatar.personaAge'), (s) => s.createAvatar(U, fullAvatar(p.id, { personaAge: 29.5 }))],
    [T('avatar.seedUsed', 'ERR_INVALID_ARG_VALUE'), (s) => s.createAvatar(U, fullAvatar(p.id, { seedUsed: 2 ** 60 }))],
    [T('avatar.seedUsed', 'ERR_INVALID_ARG_VALUE'), (s) => s.createAvatar(U, fullAvatar(p.id, { seedUsed: 2n ** 64n }))],
    [T('avatar.hairColor'), (s) => s.createAvatar(U, fullAvatar(p.id, { hairColor: ['red'] }))],
    [T('avatar', 'ERR_INVALID_ARG_VALUE'), (s) => s.createAvatar(U, fullAvatar(p.id, { hairColour: 'red' }))],
    [T('avatar.projectId'), (s) => s.createAvatar(U, { name: 'x' })],
    [T('avatars'), (s) => s.createAvatars(U, fullAvatar(p.id))],
    [T('avatars[1].name'), (s) => s.createAvatars(U, [fullAvatar(p.id), { projectId: p.id }])],
    [T('patch', 'ERR_INVALID_ARG_VALUE'), (s) => s.updateAvatar(U, a.id, { usageCount: 5 })],
    [T('patch', 'ERR_INVALID_ARG_VALUE'), (s) => s.updateAvatar(U, a.id, { projectId: p.id })],
    [T('patch.name'), (s) => s.updateAvatar(U, a.id, { name: null })],
    [T('query', 'ERR_INVALID_ARG_VALUE'), (s) => s.listAvatars(U, { hair: 'red' })],
    [T('query.limit'), (s) => s.listAvatars(U, { limit: '10' })],
    [T('options.verify'), () => Store.open(':memory:', { verify: 'yes' })],
    [T('options', 'ERR_INVALID_ARG_VALUE'), () => Store.open(':memory:', { verfy: false })],
    [T('path'), () => Store.open(5)],
    // Right types, wrong values: the core's VALIDATION naming the field.
    [V('userId'), (s) => s.createProject('  ', { name: 'x' })],
    [V('userId'), (s) => s.createProject('u\0', { name: 'x' })],
    [V('name'), (s) => s.createProject(U, { name: '   ' })],
    [V('name'), (s) => s.createProject(U, { name: 'x'.repeat(201) })],
    [V('name'), (s) => s.updateProject(U, p.id, { name: '' })],
    [V('description'), (s) => s.createProject(U, { name: 'x', description: 'd'.repeat(2001) })],
    [V('id'), (s) => s.getAvatar(U, 'not-a-uuid')],
    [V('projectId'), (s) => s.createAvatar(U, { projectId: 'nope', name: 'x' })],
    [V('personaAge'), (s) => s.createAvatar(U, fullAvatar(p.id, { personaAge: 151 }))],
    [V('personaAge'), (s) => s.updateAvatar(U, a.id, { personaAge: -1 })],
    [V('sourceType'), (s) => s.createAvatar(U, fullAvatar(p.id, { sourceType: 'stolen' }))],
    [V('imageUrl'), (s) => s.createAvatar(U, fullAvatar(p.id, { imageUrl: 'javascript:alert(1)' }))],
    [V('thumbnailUrl'), (s) => s.updateAvatar(U, a.id, { thumbnailUrl: 'https://a b' })],
    [V('hairColor'), (s) => s.updateAvatar(U, a.id, { hairColor: 'x'.repeat(101) })],
    [V('generationPrompt'), (s) => s.createAvatar(U, fullAvatar(p.id, { generationPrompt: 'a\0b' }))],
    [V('personaAge'), (s) => s.createAvatars(U, [fullAvatar(p.id), fullAvatar(p.id, { personaAge: 200 })])],
    [V('limit'), (s) => s.listAvatars(U, { limit: 0 })],
    [V('limit'), (s) => s.listProjects(U, { limit: -1 })],
    [V('limit'), (s) => s.listProjects(U, { limit: 1001 })],
    [V('sort'), (s) => s.listAvatars(U, { sort: 'name' })],
    [V('order'), (s) => s.listAvatars(U, { order: 'up' })],
    [V('cursor'), (s) => s.listAvatars(U, { cursor: 'garbage' })],
  ]
  for (const [expected, call] of cases) {
    await assert.rejects(call(store), expected, `${call}`)
    // The synchronous variant throws the same error.
    const sync = (s) => new Proxy(s, { get: (o, k) => (typeof o[k] === 'function' ? (...args) => o[`${k}Sync`](...args) : o[k]) })
    if (!/Store\.open/.test(`${call}`)) assert.throws(() => call(sync(store)), expected, `${call} (sync)`)
  }
  assert.equal(snapshot(), before, 'nothing was written')
})

test('INTERNAL: the message says what failed; SQLite\'s words and paths are in detail only', async (t) => {
  const file = path.join(tempDir(t), 'corrupt.db')
  const store = new Store(file)
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  sql(file, [`UPDATE avatars SET createdAt = 'yesterday' WHERE id = '${a.id}'`])
  await assert.rejects(store.getAvatar(U, a.id), (e) => {
    assert.equal(e.code, 'INTERNAL')
    assert.equal(e.message, 'internal error in avatar-store')
    assert.match(e.detail, /timestamp/)
    return true
  })
})

test('out-of-range options, filters and counters answer VALIDATION or a TypeError naming the argument', async (t) => {
  const dir = tempDir(t)
  const file = path.join(dir, 'range.db')
  const store = new Store(file)
  const p = store.createProjectSync(U, { name: 'P' })
  for (const name of ['abc', 'zzz']) store.createAvatarSync(U, { projectId: p.id, name })
  const worn = store.createAvatarSync(U, { projectId: p.id, name: 'worn' })
  const V = (field) => ({ code: 'VALIDATION', field })
  const T = (argument, code = 'ERR_INVALID_ARG_TYPE') => ({ name: 'TypeError', code, argument })
  const fresh = path.join(dir, 'fresh.db')
  const cases = [
    [V('busyTimeoutMs'), () => Store.open(fresh, { busyTimeoutMs: 2 ** 31 })],
    [V('busyTimeoutMs'), () => Store.open(':memory:', { busyTimeoutMs: Number.MAX_SAFE_INTEGER })],
    [V('readers'), () => Store.open(fresh, { readers: 0 })],
    [T('options.readers', 'ERR_INVALID_ARG_VALUE'), () => Store.open(fresh, { readers: -1 })],
    [T('options.readers'), () => Store.open(fresh, { readers: true })],
    [T('options.busyTimeoutMs'), () => Store.open(fresh, { busyTimeoutMs: true })],
    [T('query.limit'), (s) => s.listAvatars(U, { limit: true })],
    [T('query.limit', 'ERR_INVALID_ARG_VALUE'), (s) => s.listAvatars(U, { limit: 2 ** 63 })],
    [V('limit'), (s) => s.listProjects(U, { limit: 2 ** 40 })],
    [V('nameContains'), (s) => s.listAvatars(U, { nameContains: '\0abc' })],
    [V('nameContains'), (s) => s.listAvatars(U, { nameContains: 'x'.repeat(50001) })],
    [V('hairColor'), (s) => s.listAvatars(U, { hairColor: 'red\0' })],
    [V('name'), (s) => s.createProject(U, { name: '\ud800' })],
    [V('userId'), (s) => s.createProject('\udfff', { name: 'x' })],
    [V('hairColor'), (s) => s.createAvatar(U, { projectId: p.id, name: 'x', hairColor: 'a\udfffb' })],
    [V('personaName'), (s) => s.createAvatars(U, [{ projectId: p.id, name: 'x', personaName: '\ud800' }])],
    [V('style'), (s) => s.updateAvatar(U, worn.id, { style: '\ud800' })],
    [V('nameContains'), (s) => s.listAvatars(U, { nameContains: '\ud800' })],
    [V('userId'), (s) => s.createAvatars('', [])],
    [V('userId'), (s) => s.listAvatars('')],
  ]
  for (const [expected, call] of cases) {
    await assert.rejects(call(store), expected, `${call}`)
  }
  assert.ok(!fs.existsSync(fresh), 'a refused open creates no file')
  // A real U+FFFD is text like any other.
  assert.equal(store.createProjectSync(U, { name: 'a\ufffdb' }).name, 'a\ufffdb')
  assert.deepEqual(store.listAvatarsSync(U, { nameContains: 'ab' }).items.map((a) => a.name), ['abc'])

  // A counter at its bound: CONFLICT, unchanged, never INTERNAL.
  sql(file, [`UPDATE avatars SET usageCount = 9223372036854775807 WHERE id = '${worn.id}'`])
  await assert.rejects(store.recordUsage(U, worn.id), (e) => e.code === 'CONFLICT' && /highest usage count/.test(e.message))
})

test('sort, order, limit and open options: the core checks them and its message reaches Node', async (t) => {
  const store = new Store(':memory:')
  t.after(() => store.close())
  assert.throws(() => store.listAvatarsSync(U, { sort: 'name' }), (e) => {
    assert.equal(e.code, 'VALIDATION')
    assert.equal(e.field, 'sort')
    assert.equal(e.message, 'invalid sort: must be one of createdAt, usageCount, lastUsedAt (or created_at, usage_count, last_used_at), got "name"')
    return true
  })
  await assert.rejects(store.listAvatars(U, { order: 'up' }), (e) => e.field === 'order' && e.message === 'invalid order: must be asc or desc, got "up"')
  for (const n of [0, -5, 1001, 2 ** 40]) {
    assert.throws(() => store.listProjectsSync(U, { limit: n }), (e) => e.code === 'VALIDATION' && e.field === 'limit' && e.message === `invalid limit: must be between 1 and 1000, got ${n}`)
  }
  assert.deepEqual(store.listAvatarsSync(U, { sort: 'last_used_at', order: 'desc' }).items, [])
  const dir = tempDir(t)
  assert.throws(() => new Store(path.join(dir, 'r.db'), { readers: 0 }), (e) => e.code === 'VALIDATION' && e.field === 'readers')
  await assert.rejects(Store.open(path.join(dir, 'b.db'), { busyTimeoutMs: 2 ** 31 }), (e) => e.code === 'VALIDATION' && e.field === 'busyTimeoutMs' && /at most 2147483647 ms/.test(e.message))
  assert.equal(fs.existsSync(path.join(dir, 'r.db')), false)
})
