'use strict'
// Every object argument (new records, patches, queries) crosses to Rust as
// JSON (a new avatar: in the binding's wire form) when store.js can encode it
// exactly, and goes through the native property reader otherwise. The two roads must give the same result or the
// same error for the same input: a null-prototype copy of an object is never
// encoded, so it takes the reader's road.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Store } = require('avatar-store')
const { fullAvatar } = require('./helpers.cjs')

const U = 'user-1'

/** The native store's calls, recording the JSON store.js sent with each. */
function spy(store) {
  const sent = []
  const inner = store.inner
  const runSync = inner.runSync.bind(inner)
  const run = inner.run.bind(inner)
  inner.runSync = (op, a, b, c, json) => {
    sent.push([op, json])
    return runSync(op, a, b, c, json)
  }
  inner.run = (op, a, b, c, json) => {
    sent.push([op, json])
    return run(op, a, b, c, json)
  }
  return sent
}

test('plain patches, queries and new projects cross as JSON', async () => {
  const store = new Store(':memory:')
  const sent = spy(store)
  const p = store.createProjectSync(U, { name: 'P', description: 'd' })
  const a = await store.createAvatar(U, fullAvatar(p.id))
  store.updateProjectSync(U, p.id, { name: 'P2', description: null })
  await store.updateAvatar(U, a.id, { hairColor: null, personaAge: 30, name: 'N2' })
  store.listAvatarsSync(U, { projectId: p.id, hairColor: 'red', sort: 'usageCount', order: 'desc', limit: 5 })
  await store.listProjects(U, { limit: 2 })
  store.listProjectsWithAvatarsSync(U, { limit: 2, cursor: undefined })
  const encoded = Object.fromEntries(sent.map(([op, json]) => [op, json]))
  for (const op of ['createProject', 'createAvatar', 'updateProject', 'updateAvatar', 'listAvatars', 'listProjects', 'listProjectsWithAvatars']) {
    assert.equal(typeof encoded[op], 'string', `${op} sent its encoding`)
  }
  // A new avatar crosses in the wire form: its projectId first, after its length.
  assert.equal(encoded.createAvatar.slice(0, 40), `\0\0\0\x24${p.id}`)
  assert.deepEqual(JSON.parse(encoded.updateAvatar), { hairColor: null, personaAge: 30, name: 'N2' })
  // What the reader alone can judge is not encoded.
  sent.length = 0
  assert.throws(() => store.updateAvatarSync(U, a.id, { name: null }), { argument: 'patch.name' })
  assert.throws(() => store.updateProjectSync(U, p.id, { name: null }), { argument: 'patch.name' })
  assert.throws(() => store.listAvatarsSync(U, { limit: 2n }), { argument: 'query.limit' })
  store.updateAvatarSync(U, a.id, { seedUsed: 2n ** 60n })
  assert.deepEqual(sent.map(([, json]) => json), [undefined, undefined, undefined, undefined])
  store.close()
})

/** The outcome of `f`: its value, or the error's identifying properties. */
function outcome(f) {
  try {
    return { value: f() }
  } catch (e) {
    return { error: { type: e.constructor.name, code: e.code, field: e.field, argument: e.argument, message: e.message } }
  }
}

/** `o` copied onto a null prototype, so store.js leaves it to the reader. */
function bare(o) {
  return Object.assign(Object.create(null), o)
}

test('the encoded road and the reader give the same result or error for the same input', () => {
  const store = new Store(':memory:')
  const p = store.createProjectSync(U, { name: 'P' })
  const made = [store.createAvatarSync(U, fullAvatar(p.id, { name: 'one' })), store.createAvatarSync(U, fullAvatar(p.id, { name: 'two' }))]
  const queries = [
    {},
    { limit: 1 },
    { limit: 0 },
    { limit: -1 },
    { limit: 101 },
    { limit: 2 ** 32 },
    { limit: 1.5 },
    { limit: null },
    { projectId: p.id },
    { projectId: `{${p.id}}` },
    { projectId: p.id.replaceAll('-', '') },
    { projectId: 'nope' },
    { sort: 'usageCount', order: 'desc' },
    { sort: 'usage_count' },
    { sort: 'UsageCount' },
    { sort: null, order: null },
    { order: 'DESC' },
    { hairColor: 'silver', nameContains: 'ON' },
    { hairColor: 'a\ud800' },
    { nameContains: '\udc00' },
    { nameContains: 'x\0' },
    { cursor: 'garbage' },
    { cursor: null },
    { hairColor: 1 },
    { usageCount: 1 },
  ]
  const page = (r) => ({ names: r.items.map((a) => a.name), next: r.nextCursor !== null })
  for (const q of queries) {
    const json = outcome(() => page(store.listAvatarsSync(U, q)))
    const reader = outcome(() => page(store.listAvatarsSync(U, bare(q))))
    assert.deepEqual(json, reader, `listAvatars ${JSON.stringify(q)}`)
    const pj = outcome(() => store.listProjectsSync(U, q).items.length)
    const pr = outcome(() => store.listProjectsSync(U, bare(q)).items.length)
    assert.deepEqual(pj, pr, `listProjects ${JSON.stringify(q)}`)
  }
  const avatarPatches = [
    {},
    { name: 'N' },
    { name: '' },
    { name: undefined },
    { name: null },
    { hairColor: null },
    { hairColor: 'x\ud800' },
    { personaAge: null },
    { personaAge: -1 },
    { personaAge: 2 ** 31 },
    { seedUsed: 2 ** 53 - 1 },
    { seedUsed: -(2 ** 53) + 1 },
    { personaAge: '3' },
    { thumbnailUrl: 'ftp://x' },
    { usageCount: 1 },
    { projectId: p.id },
  ]
  const fields = (a) => ({ ...a, updatedAt: undefined })
  for (const [i, patch] of avatarPatches.entries()) {
    const target = made[i % 2]
    const json = outcome(() => fields(store.updateAvatarSync(U, target.id, patch)))
    const reader = outcome(() => fields(store.updateAvatarSync(U, target.id, bare(patch))))
    assert.deepEqual(json, reader, `updateAvatar ${JSON.stringify(patch)}`)
  }
  const newAvatars = [
    fullAvatar(p.id),
    { projectId: p.id, name: 'Only' },
    { projectId: p.id, name: '', personaName: '', style: null, imageUrl: undefined },
    { projectId: p.id, name: 'Zoë 👩🏽‍🚀', hairColor: 'é'.repeat(100), generationPrompt: 'x'.repeat(4000) },
    { projectId: p.id, name: 'n', generationPrompt: 'x'.repeat(4001) },
    { projectId: p.id, name: 'n', personaAge: -1, seedUsed: -(2 ** 53 - 1) },
    { projectId: p.id, name: 'n', personaAge: 0, seedUsed: 2 ** 53 - 1 },
    { projectId: p.id, name: 'n', personaAge: 2 ** 40 },
    { projectId: p.id, name: 'n', personaAge: '3' },
    { projectId: p.id, name: 'n', hairColor: 3 },
    { projectId: p.id, name: 'a\ud800' },
    { projectId: p.id, name: 'n', style: '\udc00x' },
    { projectId: p.id, name: 'n', style: '\ufffd' },
    { projectId: p.id.toUpperCase(), name: 'n' },
    { projectId: 'nope', name: 'n' },
    { projectId: p.id },
    { projectId: p.id, name: 'n', sourceType: 'stolen' },
    { projectId: p.id, name: 'n', thumbnailUrl: 'ftp://x' },
    { projectId: p.id, name: 'n', usageCount: 3 },
    { name: 'n' },
  ]
  const created = (a) => ({ ...a, id: undefined, createdAt: undefined, updatedAt: undefined })
  for (const avatar of newAvatars) {
    const wire = outcome(() => created(store.createAvatarSync(U, avatar)))
    const reader = outcome(() => created(store.createAvatarSync(U, bare(avatar))))
    assert.deepEqual(wire, reader, `createAvatar ${JSON.stringify(avatar)}`)
    const batch = outcome(() => store.createAvatarsSync(U, [fullAvatar(p.id), avatar]).map(created))
    const batchReader = outcome(() => store.createAvatarsSync(U, [fullAvatar(p.id), bare(avatar)]).map(created))
    assert.deepEqual(batch, batchReader, `createAvatars [_, ${JSON.stringify(avatar)}]`)
  }
  const projectPatches = [{}, { name: 'Q' }, { name: null }, { name: '' }, { description: null }, { description: 'd' }, { description: 5 }, { id: 'x' }]
  for (const patch of projectPatches) {
    const json = outcome(() => fields(store.updateProjectSync(U, p.id, patch)))
    const reader = outcome(() => fields(store.updateProjectSync(U, p.id, bare(patch))))
    assert.deepEqual(json, reader, `updateProject ${JSON.stringify(patch)}`)
  }
  const newProjects = [{ name: 'A' }, { name: 'B', description: null }, { description: 'x' }, { name: '' }, { name: 'C', extra: 1 }]
  const shape = (r) => ({ name: r.name, description: r.description })
  for (const project of newProjects) {
    const json = outcome(() => shape(store.createProjectSync(U, project)))
    const reader = outcome(() => shape(store.createProjectSync(U, bare(project))))
    assert.deepEqual(json, reader, `createProject ${JSON.stringify(project)}`)
  }
  store.close()
})

test('a property JSON would drop is still read: non-enumerable, or a patch that is not a plain object', () => {
  const store = new Store(':memory:')
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  const patch = { name: 'Renamed' }
  Object.defineProperty(patch, 'hairColor', { value: 'red', enumerable: false })
  const patched = store.updateAvatarSync(U, a.id, patch)
  assert.equal(patched.name, 'Renamed')
  assert.equal(patched.hairColor, 'red')
  const query = {}
  Object.defineProperty(query, 'hairColor', { value: 'blue', enumerable: false })
  assert.deepEqual(store.listAvatarsSync(U, query).items, [])
  store.close()
})
