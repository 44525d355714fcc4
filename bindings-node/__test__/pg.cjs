'use strict'
// The PostgreSQL server of the tests, as core/tests/common/pg.rs has it:
// scripts/test.sh starts a throwaway one and exports its URL in
// AVATAR_STORE_TEST_PG_URL (set it yourself to use your own server; the user
// needs CREATEDB). Every test gets a database of its own, dropped when the
// test ends. Without a URL the tests skip, saying why; with CI=true they
// fail. Fixtures and checks go through `pg` (node-postgres), a real client,
// so the store under test is not also the tool that builds its databases.

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const pg = require('pg')
const { INCIDENT_COLUMNS } = require('./helpers.cjs')

const URL_VAR = 'AVATAR_STORE_TEST_PG_URL'
const MIGRATIONS = path.resolve(__dirname, '..', '..', 'migrations', 'postgres')

/** The server's URL, or null after marking `t` skipped (under CI=true, a missing URL fails instead). */
function serverUrl(t) {
  const url = (process.env[URL_VAR] ?? '').trim()
  if (url) return url
  assert.notEqual(process.env.CI, 'true', `CI=true but ${URL_VAR} is not set: the PostgreSQL tests cannot be skipped in CI`)
  t.skip(`${URL_VAR} is not set (scripts/test.sh starts a throwaway PostgreSQL; see README)`)
  return null
}

/** `url` with its database replaced by `db`. */
function withDatabase(url, db) {
  const [base, query] = url.split(/\?(.*)/s)
  const authStart = base.indexOf('://') + 3
  const slash = base.indexOf('/', authStart)
  const root = slash === -1 ? base : base.slice(0, slash)
  return `${root}/${db}${query === undefined ? '' : `?${query}`}`
}

/**
 * `url` with `password` for its user, unless it has one already (a server
 * of your own needs its real one). The test server trusts local
 * connections, so any password opens it.
 */
function withPassword(url, password) {
  const authStart = url.indexOf('://') + 3
  const rest = url.slice(authStart)
  const at = rest.search(/@/)
  const end = rest.search(/[/?]/)
  const userinfo = at !== -1 && (end === -1 || at < end) ? rest.slice(0, at) : null
  if (userinfo !== null && userinfo.includes(':')) return url
  const host = userinfo === null ? rest : rest.slice(at + 1)
  return `${url.slice(0, authStart)}${userinfo || 'postgres'}:${encodeURIComponent(password)}@${host}`
}

/** The password in `url`. */
function passwordOf(url) {
  const userinfo = url.slice(url.indexOf('://') + 3).split('@')[0]
  return decodeURIComponent(userinfo.split(':')[1])
}

/** Runs `f` with a connected client on `url`, closing it afterwards. */
async function withClient(url, f) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/**
 * A fresh database on the test server, dropped when `t` ends (connections
 * of stores still open included); its URL holds `password`. Null when the
 * test was skipped.
 */
async function database(t, password = 'pw-never-shown-7f3a') {
  const server = serverUrl(t)
  if (!server) return null
  const name = `avatar_store_test_${crypto.randomUUID().replaceAll('-', '')}`
  await withClient(server, (c) => c.query(`CREATE DATABASE ${name}`))
  t.after(() => withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
  return withPassword(withDatabase(server, name), password)
}

/** The columns of public.avatars as the incident report's verification query lists them. */
async function listedAvatarColumns(url) {
  const { rows } = await withClient(url, (c) =>
    c.query(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'avatars'",
    ),
  )
  return rows.map((r) => r.column_name)
}

const LEGACY = { projectId: '0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b', avatarId: '0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6c', user: 'user-1' }

/**
 * The incident on PostgreSQL: the history says V5, but `avatars` has only
 * its first-release columns (and the indexes that need none of the 18), and
 * one project and avatar of LEGACY.user. `openOnce(url)` opens and closes a
 * store, which writes the real history (this build's checksums); the tables
 * are then made again from V1 alone, as core/tests/postgres_backend.rs does.
 */
async function incidentDatabase(url, openOnce) {
  await openOnce(url)
  const files = fs
    .readdirSync(MIGRATIONS)
    .filter((f) => /^V\d+__.*\.sql$/.test(f))
    .sort((a, b) => Number(a.match(/^V(\d+)/)[1]) - Number(b.match(/^V(\d+)/)[1]))
  const sql = (f) => fs.readFileSync(path.join(MIGRATIONS, f), 'utf8')
  const indexes = files
    .slice(1)
    .flatMap((f) => sql(f).replace(/--[^\n]*/g, '').split(';'))
    .map((s) => s.trim())
    .filter((s) => /^CREATE INDEX/i.test(s) && !INCIDENT_COLUMNS.some((c) => s.includes(`"${c}"`)))
  await withClient(url, async (c) => {
    await c.query('BEGIN')
    await c.query('DROP TABLE avatars; DROP TABLE projects')
    await c.query(sql(files[0]))
    for (const s of indexes) await c.query(s)
    await c.query(
      "INSERT INTO projects VALUES ($1, $2, 'Launch', 'from V1', '2025-10-01T00:00:00Z', '2025-10-01T00:00:00Z')",
      [LEGACY.projectId, LEGACY.user],
    )
    await c.query(
      "INSERT INTO avatars VALUES ($1, $2, $3, 'Legacy', 'https://cdn.example.com/l.png', NULL, '2025-10-01T00:00:01Z', '2025-10-01T00:00:01Z')",
      [LEGACY.avatarId, LEGACY.projectId, LEGACY.user],
    )
    const { rows } = await c.query('SELECT max(version) AS v FROM refinery_schema_history')
    assert.equal(rows[0].v, files.length, 'the history says every migration ran')
    await c.query('COMMIT')
  })
}

module.exports = { serverUrl, database, withClient, withPassword, passwordOf, listedAvatarColumns, incidentDatabase, LEGACY }
