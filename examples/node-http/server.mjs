// The Avatar Creator API of the incident report, on node:http and
// avatar-store. Run: AVATAR_DB=./avatars.db PORT=3000 node server.mjs
//
// The user id comes from the `x-user-id` header, standing in for real
// authentication. The server opens (and so verifies) the database before it
// listens: a database missing columns stops it at start, with the columns
// named, instead of every request answering 500.
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { Store } from 'avatar-store'

const BASE = '/api/apps/avatar-creator'

/** HTTP status of each error code of avatar-store. */
const STATUS = {
  NOT_FOUND: 404,
  VALIDATION: 400,
  ERR_INVALID_ARG_TYPE: 400,
  ERR_INVALID_ARG_VALUE: 400,
  BAD_JSON: 400,
  UNAUTHENTICATED: 401,
  CONFLICT: 409,
  BUSY: 503,
}

class HttpError extends Error {
  constructor(code, message) {
    super(message)
    this.code = code
  }
}

// 64-bit seeds beyond 2^53 arrive as bigint, which JSON has no form for.
const json = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v))

async function readJson(req) {
  const chunks = []
  let size = 0
  for await (const chunk of req) {
    size += chunk.length
    if (size > 1 << 20) throw new HttpError('VALIDATION', 'request body larger than 1 MiB')
    chunks.push(chunk)
  }
  if (size === 0) return {}
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw new HttpError('BAD_JSON', 'request body is not valid JSON')
  }
}

/** Query-string filters of GET /avatars, typed the way listAvatars takes them. */
function avatarQuery(params) {
  const query = {}
  for (const [key, value] of params) query[key] = key === 'limit' ? Number(value) : value
  return query
}

/** Handles one request; returns [status, body]. */
async function route(store, req, url) {
  const user = req.headers['x-user-id']
  if (typeof user !== 'string' || user.trim() === '') {
    throw new HttpError('UNAUTHENTICATED', 'missing x-user-id header')
  }
  const parts = url.pathname.slice(BASE.length).split('/').filter(Boolean)
  const [collection, id, action] = parts
  const method = req.method

  if (collection === 'projects' && parts.length === 1) {
    if (method === 'POST') return [201, await store.createProject(user, await readJson(req))]
    if (method === 'GET') {
      // The incident's response shape: [{..., "avatars": [...]}], one page.
      const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : undefined
      const page = await store.listProjectsWithAvatars(user, { limit, cursor: url.searchParams.get('cursor') })
      return [200, page.items, page.nextCursor ? { 'x-next-cursor': page.nextCursor } : {}]
    }
  }
  if (collection === 'projects' && parts.length === 2) {
    if (method === 'GET') return [200, await store.getProject(user, id)]
    if (method === 'PATCH') return [200, await store.updateProject(user, id, await readJson(req))]
    if (method === 'DELETE') return [204, await store.deleteProject(user, id)]
  }
  if (collection === 'projects' && parts.length === 3 && action === 'avatars') {
    if (method === 'POST') return [201, await store.createAvatar(user, { ...(await readJson(req)), projectId: id })]
    if (method === 'GET') return [200, await store.listAvatars(user, { ...avatarQuery(url.searchParams), projectId: id })]
  }
  if (collection === 'avatars' && parts.length === 1) {
    if (method === 'POST') return [201, await store.createAvatar(user, await readJson(req))]
    if (method === 'GET') return [200, await store.listAvatars(user, avatarQuery(url.searchParams))]
  }
  if (collection === 'avatars' && parts.length === 2) {
    if (method === 'GET') return [200, await store.getAvatar(user, id)]
    if (method === 'PATCH') return [200, await store.updateAvatar(user, id, await readJson(req))]
    if (method === 'DELETE') return [204, await store.deleteAvatar(user, id)]
  }
  if (collection === 'avatars' && parts.length === 3 && action === 'usage' && method === 'POST') {
    return [200, await store.recordUsage(user, id)]
  }
  return [404, { error: { code: 'NO_ROUTE', message: `no route for ${method} ${url.pathname}` } }]
}

/** An http.Server answering the API from `store`. */
export function createServer(store, { log = console.error } = {}) {
  return http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost')
    let status, body, headers
    if (!url.pathname.startsWith(`${BASE}/`)) {
      ;[status, body] = [404, { error: { code: 'NO_ROUTE', message: 'not found' } }]
    } else {
      try {
        ;[status, body, headers] = await route(store, req, url)
      } catch (err) {
        status = STATUS[err.code] ?? 500
        const error = { code: err.code ?? 'INTERNAL', message: err.message }
        if (err.field) error.field = err.field
        if (status === 500) log(`${req.method} ${url.pathname}:`, err)
        body = { error }
      }
    }
    if (status === 204) {
      res.writeHead(204).end()
    } else {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(json(body))
    }
  })
}

/** Opens the database, refusing a drifted one, and starts listening. */
export async function start({ db, port = 3000, host = '127.0.0.1' }) {
  let store
  try {
    store = await Store.open(db)
  } catch (err) {
    if (err.code === 'SCHEMA_DRIFT') {
      const columns = err.report.missingColumns.map((c) => `${c.table}.${c.column}`)
      const reason = columns.length ? `missing columns: ${columns.join(', ')}` : err.message
      throw new Error(`refusing to start: the database ${db} has drifted from the expected schema; ${reason}`)
    }
    throw err
  }
  const server = createServer(store)
  await new Promise((resolve) => server.listen(port, host, resolve))
  server.on('close', () => store.close())
  return server
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const db = process.env.AVATAR_DB ?? 'avatars.db'
  start({ db, port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' }).then(
    (server) => {
      const { address, port } = server.address()
      console.log(`avatar-creator API on http://${address}:${port}${BASE} (database ${db})`)
    },
    (err) => {
      console.error(err.message)
      process.exit(1)
    },
  )
}
