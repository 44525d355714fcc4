// The example server on 127.0.0.1 and a free port: every route, tenant
// isolation, error statuses, hostile requests, paging bounds, and the
// refusals to start (a drifted database, a non-loopback address).
import test from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { format } from 'node:util'
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Store } from 'avatar-store'
import { AVATARS_PER_PROJECT, BODY_LIMIT, PROJECTS_PER_PAGE, createServer, start } from './server.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
// The tests name each server's database themselves (AVATAR_DB); a
// DATABASE_URL of the caller's shell would conflict with it.
delete process.env.DATABASE_URL
const { driftedDatabase, INCIDENT_COLUMNS } = createRequire(import.meta.url)('../../bindings-node/__test__/helpers.cjs')

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'avatar-http-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function serve(t, server) {
  server ??= await start({ db: path.join(tempDir(t), 'api.db'), port: 0, host: '127.0.0.1' })
  if (!server.listening) await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise((resolve) => server.close(resolve)))
  const { port } = server.address()
  const base = `http://127.0.0.1:${port}/api/apps/avatar-creator`
  const api = async (method, route, { user = 'alice', body } = {}) => {
    const headers = { 'content-type': 'application/json' }
    if (user) headers['x-user-id'] = user
    const res = await fetch(base + route, { method, headers, body: typeof body === 'string' ? body : body && JSON.stringify(body) })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
  }
  api.port = port
  return api
}

/**
 * Writes `text` on a new connection and resolves with all the server
 * answers until it closes the connection (send `Connection: close`).
 */
function raw(port, text) {
  return new Promise((resolve, reject) => {
    const chunks = []
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    // Not a timing assertion: only what a hung server gets instead of hanging the suite.
    socket.setTimeout(30_000, () => socket.destroy(new Error(`no answer to ${JSON.stringify(text.slice(0, 60))}`)))
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
  })
}

/** Resolves with the output of `stream` once it matches `pattern`; rejects if the stream ends first. */
function waitFor(stream, pattern) {
  return new Promise((resolve, reject) => {
    let text = ''
    // Only for a server that never says it, instead of hanging the suite.
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in 30 s: ${text}`)), 30_000)
    stream.setEncoding('utf8')
    stream.on('data', (chunk) => {
      text += chunk
      if (pattern.test(text)) {
        clearTimeout(timer)
        resolve(text)
      }
    })
    stream.on('end', () => {
      clearTimeout(timer)
      reject(new Error(`output ended without ${pattern}: ${text}`))
    })
  })
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

test('a request target that is not a URL answers 400, and the server keeps serving', async (t) => {
  // In a process of its own, as deployed: `GET http://[/` used to reject the
  // request handler, and the unhandled rejection ended the process.
  const child = spawn(process.execPath, [path.join(here, 'server.mjs')], {
    env: { ...process.env, AVATAR_DB: path.join(tempDir(t), 'api.db'), PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  t.after(() => child.kill())
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const port = Number((await waitFor(child.stdout, /API on .*\n/)).match(/API on http:\/\/127\.0\.0\.1:(\d+)\//)[1])
  const request = (target) => `GET ${target} HTTP/1.1\r\nHost: x\r\nx-user-id: alice\r\nConnection: close\r\n\r\n`

  const bad = await raw(port, request('http://[/'))
  assert.match(bad, /^HTTP\/1\.1 400 /, stderr)
  assert.match(bad, /"code":"BAD_REQUEST"/)
  const odd = ['*', 'http://x:99999/', '//x/api/apps/avatar-creator/projects', '/api/apps/avatar-creator/avatars/%ff%00']
  for (const target of odd) {
    assert.match(await raw(port, request(target)), /^HTTP\/1\.1 4\d\d /, target)
  }
  const url = `http://127.0.0.1:${port}/api/apps/avatar-creator/projects`
  const res = await fetch(url, { headers: { 'x-user-id': 'alice' } })
  assert.equal(res.status, 200)
  assert.deepEqual(await res.json(), [])
  assert.equal(child.exitCode, null, stderr)
  child.kill()
  await exited
  assert.equal(stderr, '', 'a client error is not logged as a server error')
})

test('a 5xx answers a fixed message and an error id; the log has the detail', async (t) => {
  const detail = 'disk I/O error on /srv/secret/avatars.db: SQLITE_IOERR_WRITE; missing column avatars.hairColor'
  let failWith
  const store = {
    getProject: async () => {
      throw failWith
    },
  }
  const logged = []
  const api = await serve(t, createServer(store, { log: (...args) => logged.push(format(...args)) }))
  for (const [code, status, publicCode] of [
    ['INTERNAL', 500, 'INTERNAL'],
    ['IO', 500, 'INTERNAL'],
    ['SCHEMA_DRIFT', 500, 'INTERNAL'],
    ['ERR_STORE_CLOSED', 500, 'INTERNAL'],
    [undefined, 500, 'INTERNAL'],
    ['BUSY', 503, 'BUSY'],
    ['CONFLICT', 409, 'CONFLICT'],
  ]) {
    failWith = Object.assign(new Error(detail), { code, path: '/srv/secret/avatars.db', report: { detail } })
    logged.length = 0
    const r = await api('GET', '/projects/0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b')
    assert.equal(r.status, status, String(code))
    assert.equal(r.body.error.code, publicCode)
    assert.match(r.body.error.errorId, /^[0-9a-f-]{36}$/)
    assert.ok(r.body.error.message.includes(r.body.error.errorId))
    const body = JSON.stringify(r.body)
    for (const secret of ['/srv', 'SQLITE', 'hairColor', 'I/O']) {
      assert.ok(!body.includes(secret), `${code} leaks ${secret}: ${body}`)
    }
    assert.equal(logged.length, 1)
    assert.ok(logged[0].includes(r.body.error.errorId) && logged[0].includes(detail), logged[0])
  }
})

test('a real failure of the store answers 500 without its SQLite text', async (t) => {
  const dir = tempDir(t)
  const db = path.join(dir, 'api.db')
  const logged = []
  const server = await start({ db, port: 0, host: '127.0.0.1', log: (...args) => logged.push(format(...args)) })
  const api = await serve(t, server)
  assert.equal((await api('POST', '/projects', { body: { name: 'P' } })).status, 201)
  // An operator's mistake behind the server's back: the table is gone.
  const rename = 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("ALTER TABLE avatars RENAME TO gone"); c.commit()'
  execFileSync('python3', ['-c', rename, db])
  const r = await api('GET', '/avatars')
  assert.equal(r.status, 500)
  assert.equal(r.body.error.code, 'INTERNAL')
  assert.doesNotMatch(JSON.stringify(r.body), /avatars|sqlite|no such|tmp/i)
  assert.equal(logged.length, 1)
  assert.ok(logged[0].includes(r.body.error.errorId), logged[0])
  assert.match(logged[0], /no such table: avatars/, 'the operator gets the detail')
})

test('a body over the limit answers 413 and closes the connection', async (t) => {
  const api = await serve(t)
  const head =
    'POST /api/apps/avatar-creator/projects HTTP/1.1\r\nHost: x\r\nx-user-id: alice\r\ncontent-type: application/json\r\n'
  // Declared too large: refused before any of it is read (nothing sent here).
  const declared = await raw(api.port, `${head}Content-Length: ${BODY_LIMIT + 1}\r\n\r\n`)
  assert.match(declared, /^HTTP\/1\.1 413 /)
  assert.match(declared, /\r\nconnection: close\r\n/i)
  assert.match(declared, /"code":"BODY_TOO_LARGE"/)
  // Undeclared (chunked): refused once the limit is passed. The chunk's
  // closing CRLF is not sent, so the server has read all that was sent.
  const size = BODY_LIMIT + 1
  const chunked = `${head}Transfer-Encoding: chunked\r\n\r\n${size.toString(16)}\r\n${' '.repeat(size)}`
  const streamed = await raw(api.port, chunked)
  assert.match(streamed, /^HTTP\/1\.1 413 /)
  // Within the limit, the same route answers.
  const fits = await api('POST', '/projects', { body: JSON.stringify({ name: 'fits' }) + ' '.repeat(BODY_LIMIT - 100) })
  assert.equal(fits.status, 201)
  assert.equal((await api('POST', '/projects', { body: '[1]' })).body.error.code, 'BAD_JSON')
})

test('an unknown method on a known route answers 405 with Allow', async (t) => {
  const api = await serve(t)
  const pid = (await api('POST', '/projects', { body: { name: 'P' } })).body.id
  const aid = (await api('POST', '/avatars', { body: { projectId: pid, name: 'A' } })).body.id
  for (const [method, route, allow] of [
    ['PUT', '/projects', 'GET, HEAD, POST'],
    ['DELETE', '/projects', 'GET, HEAD, POST'],
    ['PUT', `/projects/${pid}`, 'GET, HEAD, PATCH, DELETE'],
    ['PATCH', `/projects/${pid}/avatars`, 'GET, HEAD, POST'],
    ['OPTIONS', '/avatars', 'GET, HEAD, POST'],
    ['POST', `/avatars/${aid}`, 'GET, HEAD, PATCH, DELETE'],
    ['GET', `/avatars/${aid}/usage`, 'POST'],
  ]) {
    const r = await api(method, route)
    assert.equal(r.status, 405, `${method} ${route}`)
    assert.equal(r.headers.get('allow'), allow, `${method} ${route}`)
    assert.equal(r.body.error.code, 'METHOD_NOT_ALLOWED')
  }
  const head = await api('HEAD', '/projects')
  assert.equal(head.status, 200)
  assert.equal(head.body, undefined)
  assert.equal((await api('GET', '/projects/x/avatars/y')).status, 404, 'unknown routes stay 404')
})

test('GET /projects pages projects and bounds the avatars listed with each', async (t) => {
  const api = await serve(t)
  const ids = []
  for (const name of ['one', 'two', 'three']) ids.push((await api('POST', '/projects', { body: { name } })).body.id)
  const big = ids[2]
  const names = Array.from({ length: AVATARS_PER_PROJECT + 5 }, (_, i) => `a${String(i).padStart(3, '0')}`)
  for (const name of names) {
    assert.equal((await api('POST', `/projects/${big}/avatars`, { body: { name } })).status, 201)
  }

  const first = await api('GET', '/projects?limit=2')
  assert.equal(first.status, 200)
  assert.deepEqual(first.body.map((p) => p.name), ['three', 'two'], 'newest first')
  const [three, two] = first.body
  assert.deepEqual(three.avatars.map((a) => a.name), names.slice(0, AVATARS_PER_PROJECT))
  assert.equal(typeof three.avatarsNextCursor, 'string')
  assert.deepEqual([two.avatars, two.avatarsNextCursor], [[], null])
  const rest = await api('GET', `/projects/${big}/avatars?cursor=${encodeURIComponent(three.avatarsNextCursor)}`)
  assert.deepEqual(rest.body.items.map((a) => a.name), names.slice(AVATARS_PER_PROJECT))

  const cursor = first.headers.get('x-next-cursor')
  assert.ok(cursor)
  const last = await api('GET', `/projects?limit=2&cursor=${encodeURIComponent(cursor)}`)
  assert.deepEqual(last.body.map((p) => p.name), ['one'])
  assert.equal(last.headers.get('x-next-cursor'), null)
  assert.equal((await api('GET', '/projects')).body.length, 3, `default page of ${PROJECTS_PER_PAGE.default}`)

  const bad = [`limit=${PROJECTS_PER_PAGE.max + 1}`, 'limit=0', 'limit=abc', 'limit=', 'limit=1e1', 'cursor=nonsense', 'avatars=all']
  for (const query of bad) {
    const r = await api('GET', `/projects?${query}`)
    assert.equal(r.status, 400, query)
    assert.equal(r.body.error.code, 'VALIDATION', query)
  }
  assert.equal((await api('GET', `/projects?limit=${PROJECTS_PER_PAGE.max}`)).status, 200)
})

test('two x-user-id headers are refused, not joined', async (t) => {
  const api = await serve(t)
  const answer = await raw(
    api.port,
    'GET /api/apps/avatar-creator/projects HTTP/1.1\r\nHost: x\r\nx-user-id: alice\r\nx-user-id: bob\r\nConnection: close\r\n\r\n',
  )
  assert.match(answer, /^HTTP\/1\.1 400 /)
})

test('the server refuses a non-loopback address unless told a proxy authenticates', async (t) => {
  const db = path.join(tempDir(t), 'never.db')
  const env = { ...process.env, AVATAR_DB: db, PORT: '0', HOST: '0.0.0.0' }
  delete env.AVATAR_BEHIND_AUTH_PROXY
  const r = spawnSync(process.execPath, [path.join(here, 'server.mjs')], { env, encoding: 'utf8', timeout: 30_000 })
  assert.equal(r.status, 1, r.stdout + r.stderr)
  assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0/)
  assert.match(r.stderr, /x-user-id/)
  assert.match(r.stderr, /--behind-auth-proxy or AVATAR_BEHIND_AUTH_PROXY=1/)
  assert.doesNotMatch(r.stdout, /API on/)
  assert.ok(!fs.existsSync(db), 'refused before opening the database')

  await assert.rejects(start({ db, port: 0, host: '::' }), /refusing to listen on ::/)
  await assert.rejects(start({ db, port: 0, host: '' }), /refusing to listen on every interface/)
  assert.ok(!fs.existsSync(db))

  const server = await start({ db, port: 0, host: '0.0.0.0', behindAuthProxy: true })
  t.after(() => new Promise((resolve) => server.close(resolve)))
  assert.equal(server.address().address, '0.0.0.0')
})

test('start-up says where the user id comes from', async (t) => {
  const dir = tempDir(t)
  for (const [args, env, host, says] of [
    [[], {}, '127.0.0.1', /x-user-id header, unauthenticated.*loopback only/],
    [['--behind-auth-proxy'], {}, '0.0.0.0', /x-user-id header, trusted as set by the authenticating proxy/],
    [[], { AVATAR_BEHIND_AUTH_PROXY: '1' }, '0.0.0.0', /x-user-id header, trusted/],
  ]) {
    const child = spawn(process.execPath, [path.join(here, 'server.mjs'), ...args], {
      env: { ...process.env, AVATAR_DB: path.join(dir, 'api.db'), PORT: '0', HOST: host, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const exited = new Promise((resolve) => child.on('exit', resolve))
    try {
      const out = await waitFor(child.stdout, /x-user-id.*\n/)
      assert.match(out, new RegExp(`API on http://${host.replaceAll('.', '\\.')}:\\d+/api/apps/avatar-creator`))
      assert.match(out, says)
    } finally {
      child.kill()
      await exited
    }
  }
})

// DATABASE_URL, and the incident on PostgreSQL (with AVATAR_STORE_TEST_PG_URL; see bindings-node/__test__/pg.cjs).

const pgHelpers = createRequire(import.meta.url)('../../bindings-node/__test__/pg.cjs')

/** The server's environment with `vars`, and without the database variables of the caller. */
function envWith(vars) {
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...vars }
  for (const k of ['AVATAR_DB', 'DATABASE_URL']) if (!(k in vars)) delete env[k]
  return env
}

test('DATABASE_URL names the database, a path as well as a URL; two different databases are refused', async (t) => {
  const dir = tempDir(t)
  const r = spawnSync(process.execPath, [path.join(here, 'server.mjs')], {
    env: envWith({ AVATAR_DB: path.join(dir, 'a.db'), DATABASE_URL: 'postgresql://app:hunter2-secret@db.invalid/avatars' }),
    encoding: 'utf8',
    timeout: 30_000,
  })
  assert.equal(r.status, 1, r.stdout + r.stderr)
  assert.match(r.stderr, /AVATAR_DB .* and DATABASE_URL \(postgresql:\/\/app@db\.invalid:5432\/avatars\) name different databases/)
  assert.doesNotMatch(r.stdout + r.stderr, /hunter2-secret/)
  assert.ok(!fs.existsSync(path.join(dir, 'a.db')), 'refused before opening either')

  const db = path.join(dir, 'b.db')
  const child = spawn(process.execPath, [path.join(here, 'server.mjs')], { env: envWith({ DATABASE_URL: db }), stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  try {
    assert.match(await waitFor(child.stdout, /API on .*\n/), new RegExp(`\\(database ${db.replaceAll('.', '\\.')}\\)`))
    assert.ok(fs.existsSync(db))
  } finally {
    child.kill()
    await exited
  }
})

test('on PostgreSQL: refuses the incident database naming the 18 columns, serves it once repaired, never logs the password', async (t) => {
  const url = await pgHelpers.database(t)
  if (!url) return
  const password = pgHelpers.passwordOf(url)
  await pgHelpers.incidentDatabase(url, async (u) => (await Store.open(u)).close())

  const refused = spawnSync(process.execPath, [path.join(here, 'server.mjs')], {
    env: envWith({ DATABASE_URL: url }),
    encoding: 'utf8',
    timeout: 30_000,
  })
  assert.equal(refused.status, 1, refused.stdout + refused.stderr)
  assert.match(refused.stderr, /refusing to start: the database postgresql:\/\/\S+ has drifted/)
  for (const c of INCIDENT_COLUMNS) assert.match(refused.stderr, new RegExp(`avatars\\.${c}\\b`))
  assert.doesNotMatch(refused.stdout, /API on/)
  assert.ok(!(refused.stdout + refused.stderr).includes(password), refused.stderr)

  // Repaired through the binding, the same database serves.
  const damaged = new Store(url, { verify: false })
  assert.equal((await damaged.repair()).after.missingColumns.length, 0)
  damaged.close()

  const child = spawn(process.execPath, [path.join(here, 'server.mjs')], { env: envWith({ DATABASE_URL: url }), stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  try {
    const out = await waitFor(child.stdout, /API on .*\n/)
    assert.match(out, /\(database postgresql:\/\/\S+\/avatar_store_test_\w+\)/)
    const port = Number(out.match(/API on http:\/\/127\.0\.0\.1:(\d+)\//)[1])
    const base = `http://127.0.0.1:${port}/api/apps/avatar-creator`
    const call = async (method, route, user, body) => {
      const res = await fetch(base + route, {
        method,
        headers: { 'x-user-id': user, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      })
      return { status: res.status, body: await res.json() }
    }
    const legacy = await call('GET', '/projects', pgHelpers.LEGACY.user)
    assert.equal(legacy.status, 200)
    assert.deepEqual(legacy.body.map((p) => [p.name, p.avatars.map((a) => a.name)]), [['Launch', ['Legacy']]], 'rows intact')
    const created = await call('POST', '/projects', 'alice', { name: 'Test Project' })
    assert.equal(created.status, 201)
    const avatar = await call('POST', `/projects/${created.body.id}/avatars`, 'alice', { name: 'Nova', personaAge: 29, hairColor: 'silver' })
    assert.equal(avatar.status, 201)
    assert.equal((await call('POST', `/avatars/${avatar.body.id}/usage`, 'alice')).body.usageCount, 1)
    assert.equal((await call('GET', `/avatars/${avatar.body.id}`, 'bob')).status, 404, 'tenants are isolated')
  } finally {
    child.kill()
    await exited
  }
  assert.equal(stderr, '', 'nothing went wrong')
  assert.ok(!stderr.includes(password))
})
