'use strict'
// store.js carries inputs across napi as JSON and reads results in the
// binding's wire form (src/write.rs). Its encoder only ever takes a faster
// road to what the native reader decides, so every input here must end
// exactly as it would without it; and decoded results must have the
// documented shape (all 26 columns, Dates, bigint seeds) and exact values.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Store } = require('avatar-store')
const { fullAvatar } = require('./helpers.cjs')

const U = 'user-1'
const KEYS = ['id', 'projectId', 'userId', 'name', 'imageUrl', 'thumbnailUrl', 'personaName', 'personaAge',
  'personaPersonality', 'personaBackground', 'gender', 'ageRange', 'ethnicity', 'bodyType', 'hairStyle', 'hairColor',
  'eyeColor', 'skinTone', 'style', 'sourceType', 'generationPrompt', 'seedUsed', 'usageCount', 'lastUsedAt',
  'createdAt', 'updatedAt']

function setup() {
  const store = new Store(':memory:')
  const p = store.createProjectSync(U, { name: 'P' })
  return { store, p }
}

test('every result has all 26 columns in order, nulls included, with Dates', () => {
  const { store, p } = setup()
  const sparse = store.createAvatarSync(U, { projectId: p.id, name: 'Only a name' })
  assert.deepEqual(Object.keys(sparse), KEYS)
  assert.equal(sparse.imageUrl, null)
  assert.equal(sparse.seedUsed, null)
  assert.equal(sparse.lastUsedAt, null)
  const used = store.recordUsageSync(U, sparse.id)
  assert.ok(used.lastUsedAt instanceof Date && used.createdAt instanceof Date && used.updatedAt instanceof Date)
  assert.equal(used.createdAt.getTime(), sparse.createdAt.getTime())
  for (const result of [
    store.getAvatarSync(U, sparse.id),
    store.listAvatarsSync(U).items[0],
    store.listProjectsWithAvatarsSync(U).items[0].avatars[0],
    store.createAvatarsSync(U, [fullAvatar(p.id)])[0],
  ]) {
    assert.deepEqual(Object.keys(result), KEYS)
    assert.ok(result.createdAt instanceof Date)
  }
  const project = store.listProjectsSync(U).items[0]
  assert.deepEqual(Object.keys(project), ['id', 'userId', 'name', 'description', 'createdAt', 'updatedAt'])
  assert.ok(project.updatedAt instanceof Date)
})

test('seeds: numbers while safe, bigints beyond, exact at every edge', () => {
  const { store, p } = setup()
  for (const seed of [0, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]) {
    assert.equal(store.createAvatarSync(U, fullAvatar(p.id, { seedUsed: seed })).seedUsed, seed)
  }
  for (const seed of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
    const a = store.createAvatarSync(U, fullAvatar(p.id, { seedUsed: seed }))
    assert.equal(a.seedUsed, seed)
    assert.equal(store.getAvatarSync(U, a.id).seedUsed, seed)
  }
})

test('text round-trips exactly: unicode, quotes, escapes, NUL-free control characters', () => {
  const { store, p } = setup()
  const name = 'Zoë "Ω" \\ \n\t 👩🏽‍🚀 </script> \u2028'
  const a = store.createAvatarSync(U, fullAvatar(p.id, { name, generationPrompt: '{"json": [1, 2]}' }))
  assert.equal(a.name, name)
  assert.equal(store.getAvatarSync(U, a.id).name, name)
  assert.equal(a.generationPrompt, '{"json": [1, 2]}')
})

test('the wire form keeps every length, null, empty text and number exact, in every result', async () => {
  const { store, p } = setup()
  // Lengths that need each of the 4 length characters' low bytes, ASCII and
  // not (Latin-1 and UTF-16 records), and empty text beside null.
  const long = 'x'.repeat(300)
  const wide = 'é'.repeat(256) + '👩🏽‍🚀'
  const cases = [
    { name: 'a', personaBackground: long, personaName: '', style: null, personaAge: 0, seedUsed: -(2 ** 53 - 1) },
    { name: 'é', personaBackground: wide, personaName: '', style: 'Ω', personaAge: 1, seedUsed: 2n ** 63n - 1n },
    { name: 'c', generationPrompt: long.slice(0, 255), personaAge: null, seedUsed: null },
  ]
  for (const fields of cases) {
    const made = store.createAvatarSync(U, { projectId: p.id, ...fields })
    const used = store.recordUsageSync(U, made.id)
    for (const a of [
      made,
      used,
      store.getAvatarSync(U, made.id),
      await store.getAvatar(U, made.id),
      store.listAvatarsSync(U, { projectId: p.id, order: 'desc', limit: 1 }).items[0],
      (await store.listAvatars(U, { projectId: p.id, order: 'desc', limit: 1 })).items[0],
    ]) {
      for (const [key, value] of Object.entries(fields)) assert.equal(a[key], value, key)
      assert.equal(a.id, made.id)
      assert.equal(a.projectId, p.id)
      assert.equal(a.userId, U)
    }
    assert.equal(used.usageCount, 1)
    assert.ok(used.lastUsedAt.getTime() >= made.createdAt.getTime())
  }
  const page = store.listProjectsWithAvatarsSync(U)
  assert.equal(page.nextCursor, null)
  assert.deepEqual(page.items[0].avatars.map((a) => a.name), cases.map((c) => c.name))
  const described = store.createProjectSync(U, { name: 'Ω', description: wide })
  assert.equal(store.getProjectSync(U, described.id).description, wide)
  assert.equal((await store.getProject(U, described.id)).name, 'Ω')
  const projects = store.listProjectsSync(U, { limit: 1 })
  assert.equal(projects.items.length, 1)
  assert.equal(typeof projects.nextCursor, 'string')
})

test('a list sends a text equal to the previous avatar\'s once, and every avatar still reads back whole', async () => {
  const { store, p } = setup()
  const q = store.createProjectSync(U, { name: 'Q' })
  // Equal texts in a row, null after text and text after null, empty text
  // twice, a UTF-16 record after a Latin-1 one with the same text, and the
  // same run continued into the next project.
  const rows = [
    [p.id, { style: 'a', personaName: '', hairColor: 'red' }],
    [p.id, { style: 'a', personaName: '', hairColor: null }],
    [p.id, { style: null, personaName: 'é', hairColor: 'red' }],
    [p.id, { style: 'a', personaName: 'é', hairColor: 'red' }],
    [q.id, { style: 'a', personaName: 'é', hairColor: 'red' }],
    [q.id, { style: 'b', personaName: null, hairColor: 'red' }],
  ]
  for (const [i, [projectId, fields]] of rows.entries()) store.createAvatarSync(U, { ...fullAvatar(projectId), name: `n${i}`, ...fields })
  // A single record never refers to another, so getAvatarSync is the reference.
  const check = (list) => {
    assert.equal(list.length, rows.length)
    for (const a of list) assert.deepEqual(a, store.getAvatarSync(U, a.id))
  }
  check(store.listAvatarsSync(U).items)
  check((await store.listAvatars(U)).items)
  check(store.listAvatarsSync(U, { order: 'desc' }).items)
  for (const page of [store.listProjectsWithAvatarsSync(U), await store.listProjectsWithAvatars(U)]) {
    assert.equal(page.items.length, 2)
    check(page.items.flatMap((x) => x.avatars))
  }
  // The native side does send less: an avatar just like the one before it
  // (all but its id, name and times) is a fraction of the first one's length.
  const wire = store.inner.runSync('listAvatars', U, undefined, undefined, JSON.stringify({ projectId: q.id }))
  assert.equal(wire.length, 3)
  assert.ok(wire[2].length < wire[1].length / 2, `${wire[2].length} against ${wire[1].length}`)
  check(store.createAvatarsSync(U, rows.map(([projectId, fields]) => ({ ...fullAvatar(projectId), ...fields }))))
})

test('inputs the encoder declines still get the native reader\'s verdict', () => {
  const { store, p } = setup()
  const before = store.countSync(U).avatars
  const typeError = (argument) => (e) => e instanceof TypeError && e.argument === argument
  // JSON would turn these into null or drop them; the reader names them.
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { personaAge: NaN })), typeError('avatar.personaAge'))
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { personaAge: Infinity })), typeError('avatar.personaAge'))
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { seedUsed: 2 ** 53 })), typeError('avatar.seedUsed'))
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { name: () => 'x' })), typeError('avatar.name'))
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { style: new Date() })), typeError('avatar.style'))
  assert.throws(() => store.createAvatarsSync(U, [fullAvatar(p.id), , fullAvatar(p.id)]), typeError('avatars[1]'))
  // A toJSON would make JSON.stringify describe another object.
  const sneaky = fullAvatar(p.id)
  Object.defineProperty(sneaky, 'toJSON', { value: () => ({ projectId: p.id, name: 'Other' }), enumerable: false })
  assert.equal(store.createAvatarSync(U, sneaky).name, 'Nova')
  // Not plain objects: still accepted, through the reader.
  const bare = Object.assign(Object.create(null), { projectId: p.id, name: 'Bare' })
  assert.equal(store.createAvatarSync(U, bare).name, 'Bare')
  class Input {
    constructor() {
      this.projectId = p.id
      this.name = 'Classy'
    }
  }
  assert.equal(store.createAvatarsSync(U, [new Input()])[0].name, 'Classy')
  // A lone surrogate, which UTF-8 cannot hold, is refused naming the field.
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { name: 'a\uD800b' })), (e) => e.code === 'VALIDATION' && e.field === 'name')
  // A malformed id is the core's VALIDATION error either way.
  assert.throws(() => store.createAvatarSync(U, fullAvatar('not-a-uuid')), (e) => e.code === 'VALIDATION' && e.field === 'projectId')
  assert.equal(store.countSync(U).avatars, before + 3)
})

test('undefined is absent and null is empty, as for the reader', () => {
  const { store, p } = setup()
  const a = store.createAvatarSync(U, fullAvatar(p.id, { imageUrl: undefined, style: null, personaAge: null }))
  assert.equal(a.imageUrl, null)
  assert.equal(a.style, null)
  assert.equal(a.personaAge, null)
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { name: null })), (e) => e.argument === 'avatar.name')
  assert.throws(() => store.createAvatarSync(U, fullAvatar(p.id, { name: undefined })), (e) => e.argument === 'avatar.name')
})
