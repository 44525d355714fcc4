// The example server on 127.0.0.1 and a free port: every route, tenant
// isolation, error statuses, and the refusal to start on a drifted database.
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { start } from './server.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const { driftedDatabase, INCIDENT_COLUMNS } = createRequire(import.meta.url)('../../bindings-node/__test__/helpers.cjs')

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'avatar-http-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function serve(t) {
  const server = await start({ db: path.join(tempDir(t), 'api.db'), port: 0, host: '127.0.0.1' })
  t.after(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address()
  const base = `http://127.0.0.1:${port}/api/apps/avatar-creator`
  return async (method, route, { user = 'alice', body } = {}) => {
    const headers = { 'content-type': 'application/json' }
    if (user) headers['x-user-id'] = user
    const res = await fetch(base + route, { method, headers, body: typeof body === 'string' ? body : body && JSON.stringify(body) })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
  }
}

test('the incident endpoints and every avatar route', async (t) => {
  const api = await serve(t)

  const created = await api('POST', '/projects', { body: { name: 'Test Project' } })
  assert.equal(created.status, 201)
  assert.equal(created.body.name, 'Test Project')
  assert.equal(created.body.userId, 'alice')
  const pid = created.body.id

  const empty = await api('GET', '/projects')
  assert.equal(empty.status, 200)
  assert.deepEqual(empty.body.map((p) => [p.name, p.avatars]), [['Test Project', []]], 'the incident shape')

  const a1 = await api('POST', `/projects/${pid}/avatars`, { body: { name: 'Nova', hairColor: 'silver', personaAge: 29, seedUsed: 7, sourceType: 'generated' } })
  assert.equal(a1.status, 201)
  assert.equal(a1.body.projectId, pid)
  assert.equal(a1.body.usageCount, 0)
  assert.equal(a1.body.lastUsedAt, null)
  const a2 = await api('POST', '/avatars', { body: { projectId: pid, name: 'Rex', hairColor: 'black' } })
  assert.equal(a2.status, 201)

  const listed = await api('GET', '/projects')
  assert.deepEqual(listed.body[0].avatars.map((a) => a.name), ['Nova', 'Rex'])
  assert.equal((await api('GET', `/projects/${pid}`)).body.name, 'Test Project')

  const silver = await api('GET', '/avatars?hairColor=silver')
  assert.equal(silver.status, 200)
  assert.deepEqual(silver.body.items.map((a) => a.name), ['Nova'])
  const paged = await api('GET', `/projects/${pid}/avatars?limit=1&order=desc`)
  assert.deepEqual(paged.body.items.map((a) => a.name), ['Rex'])
  const rest = await api('GET', `/avatars?limit=1&order=desc&cursor=${encodeURIComponent(paged.body.nextCursor)}`)
  assert.deepEqual(rest.body.items.map((a) => a.name), ['Nova'])

  const got = await api('GET', `/avatars/${a1.body.id}`)
  assert.equal(got.status, 200)
  assert.equal(got.body.personaAge, 29)
  const patched = await api('PATCH', `/avatars/${a1.body.id}`, { body: { hairColor: null, eyeColor: 'green' } })
  assert.equal(patched.status, 200)
  assert.equal(patched.body.hairColor, null)
  assert.equal(patched.body.eyeColor, 'green')
  const used = await api('POST', `/avatars/${a1.body.id}/usage`)
  assert.equal(used.status, 200)
  assert.equal(used.body.usageCount, 1)
  assert.match(used.body.lastUsedAt, /^\d{4}-\d\d-\d\dT.*Z$/)
  const byUsage = await api('GET', '/avatars?sort=usageCount&order=desc')
  assert.equal(byUsage.body.items[0].name, 'Nova')

  const renamed = await api('PATCH', `/projects/${pid}`, { body: { name: 'Renamed' } })
  assert.equal(renamed.body.name, 'Renamed')

  // Another user's id: every record reads as absent.
  for (const [method, route, body] of [
    ['GET', `/projects/${pid}`],
    ['PATCH', `/projects/${pid}`, { name: 'x' }],
    ['DELETE', `/projects/${pid}`],
    ['POST', `/projects/${pid}/avatars`, { name: 'x' }],
    ['GET', `/avatars/${a1.body.id}`],
    ['PATCH', `/avatars/${a1.body.id}`, { name: 'x' }],
    ['DELETE', `/avatars/${a1.body.id}`],
    ['POST', `/avatars/${a1.body.id}/usage`],
  ]) {
    const r = await api(method, route, { user: 'mallory', body })
    assert.equal(r.status, 404, `${method} ${route}`)
    assert.equal(r.body.error.code, 'NOT_FOUND')
  }
  assert.deepEqual((await api('GET', '/projects', { user: 'mallory' })).body, [])
  assert.deepEqual((await api('GET', '/avatars', { user: 'mallory' })).body.items, [])

  assert.equal((await api('DELETE', `/avatars/${a2.body.id}`)).status, 204)
  assert.equal((await api('GET', `/avatars/${a2.body.id}`)).status, 404)
  assert.equal((await api('DELETE', `/projects/${pid}`)).status, 204)
  assert.equal((await api('GET', `/avatars/${a1.body.id}`)).status, 404, 'deleted with its project')
})

test('errors map to HTTP statuses', async (t) => {
  const api = await serve(t)
  const pid = (await api('POST', '/projects', { body: { name: 'P' } })).body.id
  const invalid = await api('POST', `/projects/${pid}/avatars`, { body: { name: 'x', personaAge: 200 } })
  assert.equal(invalid.status, 400)
  assert.deepEqual([invalid.body.error.code, invalid.body.error.field], ['VALIDATION', 'personaAge'])
  assert.equal((await api('POST', '/projects', { body: { name: 42 } })).status, 400)
  assert.equal((await api('POST', '/projects', { body: { name: 'x', colour: 'red' } })).status, 400)
  assert.equal((await api('POST', '/projects', { body: '{not json' })).body.error.code, 'BAD_JSON')
  assert.equal((await api('GET', '/avatars/not-a-uuid')).body.error.field, 'id')
  assert.equal((await api('GET', '/avatars?limit=0')).status, 400)
  assert.equal((await api('GET', '/projects', { user: null })).status, 401)
  assert.equal((await api('GET', '/nothing-here')).status, 404)
  assert.equal((await api('GET', `/avatars/${'0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b'}`)).status, 404)
})

test('the server refuses to start on the incident database, naming the missing columns', (t) => {
  const db = driftedDatabase(path.join(tempDir(t), 'prod.db'))
  const r = spawnSync(process.execPath, [path.join(here, 'server.mjs')], {
    env: { ...process.env, AVATAR_DB: db, PORT: '0' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  assert.equal(r.status, 1, r.stdout + r.stderr)
  assert.match(r.stderr, /refusing to start/)
  for (const c of INCIDENT_COLUMNS) assert.match(r.stderr, new RegExp(`avatars\\.${c}\\b`))
  assert.doesNotMatch(r.stdout, /API on/)
})
