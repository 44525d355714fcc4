'use strict'
// The Node surface follows core's field table: the native key lists and the
// wire order are derived from it (src/read.rs, src/write.rs), store.js and
// the declarations are checked against it by core/tests/binding_field_lists.rs,
// and here every field goes through create, read, update and the filters on
// both input roads (store.js's JSON and the native property reader).

const test = require('node:test')
const assert = require('node:assert/strict')
const binding = require('../binding.js')
const { Store } = require('avatar-store')

const U = 'user-1'
const { known, required } = binding.__newAvatarFields()
const keys = binding.__avatarKeys()
const fields = binding.__avatarFields()

/** A valid value of any settable field, by its kind and rule. */
function sample(f) {
  if (f.kind === 'Integer' || f.kind === 'BigInteger') return 7
  if (f.check === 'Url') return 'https://cdn.example.com/a.png'
  if (f.check.OneOf) return f.check.OneOf[0]
  return `${f.jsonName} value`
}

test('the native lists are core\'s, in column order', () => {
  assert.deepEqual(keys, fields.map((f) => f.jsonName))
  assert.deepEqual(known, fields.filter((f) => ['Required', 'Optional'].includes(f.create)).map((f) => f.jsonName))
  assert.deepEqual(keys.slice(0, 4), ['id', 'projectId', 'userId', 'name'])
  assert.deepEqual(required, ['projectId', 'name'])
  for (const k of known) assert.ok(keys.includes(k), `${k} is settable but not a column`)
  assert.deepEqual(known, keys.filter((k) => known.includes(k)), 'settable fields keep the column order')
})

test('every settable field round-trips on both input roads', () => {
  const store = new Store(':memory:')
  const p = store.createProjectSync(U, { name: 'P' })
  const given = Object.fromEntries(fields.filter((f) => known.includes(f.jsonName)).map((f) => [f.jsonName, sample(f)]))
  given.projectId = p.id
  // A class instance is not a plain object, so store.js declines it and the
  // native reader takes it property by property.
  const viaNative = Object.assign(new (class Input {})(), given)
  for (const input of [given, viaNative]) {
    const a = store.createAvatarSync(U, input)
    assert.deepEqual(Object.keys(a), keys)
    for (const k of known) assert.equal(a[k], given[k], k)
    const filterable = fields.filter((f) => f.filterable).map((f) => f.jsonName)
    assert.ok(filterable.length > 0)
    for (const k of filterable) {
      const page = store.listAvatarsSync(U, { [k]: given[k], projectId: p.id })
      assert.ok(page.items.some((x) => x.id === a.id), k)
    }
    const patchable = fields.filter((f) => f.patch !== 'No')
    const patch = Object.fromEntries(patchable.map((f) => [f.jsonName, f.patch === 'Clear' ? null : 'N']))
    const cleared = store.updateAvatarSync(U, a.id, patch)
    for (const [k, v] of Object.entries(patch)) assert.equal(cleared[k], v, k)
  }
  store.close()
})

test('a property outside the table is refused, naming the known ones', () => {
  const store = new Store(':memory:')
  const p = store.createProjectSync(U, { name: 'P' })
  assert.throws(() => store.createAvatarSync(U, { projectId: p.id, name: 'A', moodColor: 'x' }), (e) => {
    assert.match(e.message, /unknown property "moodColor"/)
    for (const k of known) assert.ok(e.message.includes(k), k)
    return true
  })
  assert.throws(() => store.listAvatarsSync(U, { moodColor: 'x' }), /unknown property "moodColor"/)
  assert.throws(() => store.updateAvatarSync(U, p.id, { projectId: p.id }), /unknown property "projectId"/)
  store.close()
})
