'use strict'
// store.js is the package's Store: a JavaScript class over the native one,
// which takes arguments as JSON and returns records in its wire form
// (src/write.rs). Nothing is registered
// with the native side at load, so binding.js works on its own, and an
// exception thrown while encoding an argument reaches the caller.

const fs = require('node:fs')
const path = require('node:path')
const test = require('node:test')
const assert = require('node:assert/strict')

// Loaded before the package, on purpose: the native half needs nothing from
// the JavaScript half.
const binding = require('../binding.js')

test('the native store works without the JavaScript layer loaded, and nothing calls back into JavaScript', () => {
  assert.equal(binding.__setCodec, undefined)
  const inner = new binding.NativeStore(':memory:')
  // A record is one string: each text with its length in 4 characters first.
  const project = inner.runSync('createProject', 'u', { name: 'P' })
  assert.equal(project.slice(0, 4), '\0\0\0\x24')
  const id = project.slice(4, 40)
  assert.equal(project.slice(40, 50), '\0\0\0\x01u\0\0\0\x01P')
  const wire = inner.runSync('createAvatar', 'u', { projectId: id, name: 'A', seedUsed: 7 })
  assert.equal(wire.slice(40, 90), `\0\0\0\x24${id}\0\0\0\x01u\0\0\0\x01A`)
  assert.deepEqual(binding.__wireFields().avatar.map(([name]) => name), binding.__avatarKeys())
  // Without JSON the native reader takes the object; a wrong one is its TypeError.
  assert.throws(() => inner.runSync('createAvatar', 'u', { projectId: project.id, name: 1 }), TypeError)
  assert.throws(() => inner.runSync('noSuchOperation'), { code: 'INTERNAL' })
  inner.close()
})

const { Store, METHODS } = require('../store.js')

test('each operation has a Promise method and a Sync method, and store.d.ts declares exactly these', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', 'store.d.ts'), 'utf8')
  const body = dts.slice(dts.indexOf('export declare class Store {'))
  const declared = new Set([...body.matchAll(/^ {2}(?:static |get )?(\w+)\(/gm)].map((m) => m[1]))
  for (const name of METHODS) {
    assert.equal(typeof Store.prototype[name], 'function', name)
    assert.equal(typeof Store.prototype[`${name}Sync`], 'function', `${name}Sync`)
    assert.equal(Store.prototype[name].name, name)
    assert.match(body, new RegExp(`^ {2}${name}\\([^)]*\\): Promise<`, 'm'), `store.d.ts declares ${name}`)
    assert.ok(declared.has(`${name}Sync`), `store.d.ts declares ${name}Sync`)
  }
  const own = new Set([...Object.getOwnPropertyNames(Store.prototype), ...Object.getOwnPropertyNames(Store)])
  for (const name of declared) assert.ok(own.has(name), `store.d.ts declares ${name}, which Store lacks`)
})

test('an exception thrown while encoding an argument reaches the caller, and the argument is read once', async () => {
  const store = new Store(':memory:')
  const p = store.createProjectSync('u', { name: 'P' })
  let reads = 0
  const avatar = {
    projectId: p.id,
    name: 'A',
    get hairColor() {
      reads++
      throw new Error('boom from a getter')
    },
  }
  assert.throws(() => store.createAvatarSync('u', avatar), /boom from a getter/)
  assert.equal(reads, 1)
  await assert.rejects(store.createAvatar('u', avatar), /boom from a getter/)
  await assert.rejects(store.createAvatars('u', [avatar]), /boom from a getter/)
  assert.equal(reads, 3)
  assert.equal(store.countSync('u').avatars, 0)
  store.close()
})

test('Store.open and new Store give the same class', async () => {
  const opened = await Store.open(':memory:')
  assert.ok(opened instanceof Store)
  assert.ok(new Store(':memory:') instanceof Store)
  assert.equal(opened.path, null)
  assert.equal(opened.createProjectSync('u', { name: 'P' }).createdAt instanceof Date, true)
  opened.close()
  await assert.rejects(opened.getProject('u', '0190a5d2-3c4b-7def-8123-456789abcdef'), { code: 'ERR_STORE_CLOSED' })
})

test('counts, reports and outcomes cross as JSON and reach the caller as plain objects', async (t) => {
  const { tempDir } = require('./helpers.cjs')
  const { inspect, inspectSync, restoreSync } = require('avatar-store')
  const dir = tempDir(t)
  const db = path.join(dir, 'a.db')
  const store = new Store(db)
  store.createProjectSync('u', { name: 'P' })
  assert.equal(typeof store.inner.runSync('count', 'u'), 'string')
  assert.equal(typeof store.inner.migrationOutcome, 'string')
  assert.deepEqual(store.countSync('u'), { projects: 1, avatars: 0 })
  assert.deepEqual(await store.countAllUsers(), { projects: 1, avatars: 0 })
  assert.equal(store.migrationOutcome.toVersion, store.checkSchemaSync().expectedVersion)
  assert.deepEqual(store.checkSchemaSync().missingColumns, [])
  store.backupSync(path.join(dir, 'b.db'))
  store.close()
  assert.equal(typeof binding.inspectSync(db), 'string')
  const status = inspectSync(db)
  assert.equal(Object.getPrototypeOf(status), Object.prototype)
  assert.deepEqual(await inspect(db), status)
  assert.equal(status.newerThanBuild, false)
  const restored = restoreSync(path.join(dir, 'b.db'), path.join(dir, 'c.db'))
  assert.deepEqual(restored, { version: status.currentVersion, replacedCopy: null })
})
