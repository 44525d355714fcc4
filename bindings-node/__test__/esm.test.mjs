// The package imported the ES module ways, by its name (self-reference
// through package.json "exports").
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import avatarStore from 'avatar-store'
import { Store, embeddedMigrations } from 'avatar-store'
import * as namespace from 'avatar-store'

test('import { Store } from "avatar-store"', () => {
  const store = new Store(':memory:')
  assert.equal(store.createProjectSync('u', { name: 'esm named' }).name, 'esm named')
  assert.equal(embeddedMigrations().length, 7)
})

test('import avatarStore from "avatar-store"; new avatarStore.Store(...)', async () => {
  const store = new avatarStore.Store(':memory:')
  assert.equal((await store.createProject('u', { name: 'esm default' })).name, 'esm default')
})

test('ESM and CommonJS share one Store class', () => {
  const cjs = createRequire(import.meta.url)('avatar-store')
  assert.equal(cjs.Store, Store)
  assert.equal(avatarStore, cjs)
  assert.equal(namespace.default, cjs)
  assert.ok(new cjs.Store(':memory:') instanceof Store)
})
