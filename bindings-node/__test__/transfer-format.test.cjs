'use strict'
// The export format through Node: the core's fixture files
// (core/tests/fixtures/transfer) imported with importFrom give the counts,
// or the error code, line and field, that expected.json gives, as they do
// through Rust, Python and the CLI.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Store } = require('avatar-store')
const { tempDir } = require('./helpers.cjs')

const FIXTURES = path.join(__dirname, '..', '..', 'core', 'tests', 'fixtures', 'transfer')
const EXPECTED = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8'))
const USER = EXPECTED.user

for (const c of EXPECTED.cases) {
  test(`fixture ${c.file}`, async (t) => {
    const dir = tempDir(t)
    for (const sync of [false, true]) {
      const store = new Store(path.join(dir, `${sync}.db`))
      t.after(() => store.close())
      const file = path.join(FIXTURES, c.file)
      const run = () => (sync ? store.importFromSync(USER, file) : store.importFrom(USER, file))
      if (c.code === undefined) {
        assert.deepEqual(await run(), { projects: c.projects, avatars: c.avatars })
        assert.deepEqual(store.countSync(USER), { projects: c.projects, avatars: c.avatars })
      } else {
        await assert.rejects(async () => run(), (e) => {
          assert.deepEqual({ code: e.code, line: e.line, field: e.field }, { code: c.code, line: c.line, field: c.field })
          assert.ok(e.message.startsWith(`line ${c.line}: `), e.message)
          return true
        })
        assert.deepEqual(store.countAllUsersSync(), { projects: 0, avatars: 0 })
      }
    }
  })
}

test('exportTo writes the format, never over an existing file; importFrom reads it back', async (t) => {
  const dir = tempDir(t)
  const store = new Store(path.join(dir, 'a.db'))
  t.after(() => store.close())
  assert.deepEqual(await store.importFrom(USER, path.join(FIXTURES, 'valid.jsonl')), { projects: 2, avatars: 3 })
  const out = path.join(dir, 'out.jsonl')
  assert.deepEqual(await store.exportTo(USER, out), { projects: 2, avatars: 3 })
  const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n')
  assert.equal(JSON.parse(lines[0]).userId, USER)
  assert.deepEqual(lines.slice(1), fs.readFileSync(path.join(FIXTURES, 'valid.jsonl'), 'utf8').trimEnd().split('\n').slice(1))
  assert.throws(() => store.exportToSync(USER, out), { code: 'CONFLICT' })
  const all = path.join(dir, 'all.jsonl')
  assert.deepEqual(store.exportAllUsersToSync(all), { projects: 2, avatars: 3 })
  assert.equal(JSON.parse(fs.readFileSync(all, 'utf8').split('\n')[0]).userId, null)

  const copy = new Store(path.join(dir, 'b.db'))
  t.after(() => copy.close())
  await assert.rejects(copy.importFrom('bob', out), { code: 'VALIDATION', line: 1, field: 'userId' })
  assert.deepEqual(await copy.importAllUsersFrom(all), { projects: 2, avatars: 3 })
  assert.deepEqual(copy.importFromSync(USER, out), { projects: 2, avatars: 3 })
  await assert.rejects(copy.importFrom(USER, path.join(dir, 'absent.jsonl')), { code: 'IO' })
  assert.throws(() => copy.importFromSync(USER), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('exportLines is an async iterator of the file, line by line, that frees its reader when left early', async (t) => {
  const dir = tempDir(t)
  const store = new Store(path.join(dir, 'a.db'), { readers: 1 })
  t.after(() => store.close())
  store.importFromSync(USER, path.join(FIXTURES, 'valid.jsonl'))
  const p = store.createProjectSync(USER, { name: 'many' })
  store.createAvatarsSync(USER, Array.from({ length: 700 }, (_, i) => ({ projectId: p.id, name: `a${i}` })))

  const lines = []
  for await (const line of store.exportLines(USER)) lines.push(line)
  assert.equal(lines.length, 1 + 3 + 703 + 1)
  assert.ok(lines.every((l) => l.endsWith('\n') && l.indexOf('\n') === l.length - 1))
  assert.equal(JSON.parse(lines[0]).userId, USER)
  assert.deepEqual(JSON.parse(lines.at(-1)), { type: 'end', projects: 3, avatars: 703 })
  // The same text exportTo writes, header aside.
  const out = path.join(dir, 'out.jsonl')
  await store.exportTo(USER, out)
  assert.deepEqual(lines.slice(1).join(''), fs.readFileSync(out, 'utf8').split('\n').slice(1).join('\n'))

  // Left after one line, with the pool's only reader in use: it is given back.
  for await (const line of store.exportAllUsersLines()) {
    assert.equal(JSON.parse(line).userId, null)
    break
  }
  assert.deepEqual(await store.count(USER), { projects: 3, avatars: 703 })
  assert.throws(() => store.exportLines(''), { code: 'VALIDATION', field: 'userId' })
  assert.throws(() => store.exportLines(), { code: 'ERR_INVALID_ARG_TYPE' })
})
