'use strict'
// count takes the caller's user id like every other operation; the count of
// every user is a method of its own, so leaving the argument out is an
// error, never a count of everyone's records.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Store } = require('avatar-store')
const { tempDir, fullAvatar } = require('./helpers.cjs')

const VICTIM = 'user-a'
const OTHER = 'user-b'

function seeded(t) {
  const store = new Store(path.join(tempDir(t), 'app.db'))
  t.after(() => store.close())
  const p = store.createProjectSync(VICTIM, { name: 'victim' })
  store.createAvatarSync(VICTIM, fullAvatar(p.id))
  store.createAvatarSync(VICTIM, fullAvatar(p.id, { name: 'second' }))
  store.createProjectSync(OTHER, { name: 'own' })
  return store
}

test('count is of one user; countAllUsers is the only way to count everyone', async (t) => {
  const store = seeded(t)
  assert.deepEqual(await store.count(OTHER), { projects: 1, avatars: 0 })
  assert.deepEqual(store.countSync(OTHER), { projects: 1, avatars: 0 })
  assert.deepEqual(await store.count(VICTIM), { projects: 1, avatars: 2 })
  assert.deepEqual(await store.countAllUsers(), { projects: 2, avatars: 2 })
  assert.deepEqual(store.countAllUsersSync(), { projects: 2, avatars: 2 })
  assert.deepEqual(store.countSync('nobody'), { projects: 0, avatars: 0 })
})

test('count without a user id is a TypeError, and an empty one a VALIDATION error', async (t) => {
  const store = seeded(t)
  const T = { name: 'TypeError', argument: 'userId' }
  for (const missing of [undefined, null, 42, { userId: OTHER }]) {
    assert.throws(() => store.countSync(missing), T, String(missing))
    await assert.rejects(store.count(missing), T, String(missing))
  }
  assert.throws(() => store.countSync(), T)
  await assert.rejects(store.count(), T)
  for (const empty of ['', '   ', 'a\0b']) {
    assert.throws(() => store.countSync(empty), { code: 'VALIDATION', field: 'userId' })
    await assert.rejects(store.count(empty), { code: 'VALIDATION', field: 'userId' })
  }
})
