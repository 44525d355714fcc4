// The Avatar Creator API of the incident report, on node:http and
// avatar-store. Run: AVATAR_DB=./avatars.db PORT=3000 node server.mjs, or
// DATABASE_URL=postgresql://user:password@host/db node server.mjs for a
// PostgreSQL database shared by several instances.
// README.md beside this file documents the routes, pagination and errors.
//
// The user id is whatever the `x-user-id` header says, standing in for real
// authentication: anyone who can connect can act as any user. So the server
// listens on loopback only, unless the operator says (--behind-auth-proxy or
// AVATAR_BEHIND_AUTH_PROXY=1) that a proxy in front authenticates every
// request and sets the header itself.
//
// The server opens (and so verifies) the database before it listens: a
// database missing columns stops it at start, with the columns named,
// instead of every request answering 500.
import http from 'node:http'
import net from 'node:net'
import dns from 'node:dns/promises'
import { randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'
import { Store, displayDatabase } from 'avatar-store'

const BASE = '/api/apps/avatar-creator'

/** Largest request body read, in bytes; a larger one answers 413. */
export const BODY_LIMIT = 1 << 20
/** Projects per page of `GET /projects`. */
export const PROJECTS_PER_PAGE = { default: 20, max: 50 }
/**
 * Avatars listed with each project by `GET /projects`; the rest come from
 * `GET /projects/:id/avatars`. With PROJECTS_PER_PAGE.max, one page holds at
 * most 1,000 avatars, as many as the core's largest page of avatars.
 */
export const AVATARS_PER_PROJECT = 20

class HttpError extends Error {
  constructor(status, code, message, { field, headers } = {}) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
    this.headers = headers
  }
}

/**
 * Errors of avatar-store that are about the request itself, with their
 * status: their message and field are safe to show to whoever sent it.
 */
const CLIENT_ERRORS = { NOT_FOUND: 404, VALIDATION: 400, ERR_INVALID_ARG_TYPE: 400, ERR_INVALID_ARG_VALUE: 400 }

/**
 * Every other error answers a fixed message and an error id: their messages
 * carry SQLite's text, file paths and drift reports, which are for the
 * operator's log, not for clients.
 */
const SERVER_ERRORS = {
  CONFLICT: [409, 'CONFLICT', 'the request conflicts with stored data'],
  BUSY: [503, 'BUSY', 'the database is busy; retry shortly'],
}
const INTERNAL = [500, 'INTERNAL', 'internal error']

// 64-bit seeds beyond 2^53 arrive as bigint, which JSON has no form for.
const json = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v))

const tooLarge = () =>
  new HttpError(413, 'BODY_TOO_LARGE', `request body larger than ${BODY_LIMIT} bytes`, {
    // The rest of the body stays unread, so the connection cannot carry another request.
    headers: { connection: 'close' },
  })

const declaredTooLarge = (req) => Number(req.headers['content-length']) > BODY_LIMIT

/** The request body as a JSON object (`{}` when empty), read up to BODY_LIMIT bytes. */
async function readJson(req) {
  if (declaredTooLarge(req)) throw tooLarge()
  const body = await new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    const done = (settle, value) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
      settle(value)
    }
    const onData = (chunk) => {
      size += chunk.length
      if (size > BODY_LIMIT) done(reject, tooLarge())
      else chunks.push(chunk)
    }
    const onEnd = () => done(resolve, Buffer.concat(chunks))
    const onError = (err) => done(reject, err)
    const onClose = () => done(reject, new HttpError(400, 'BAD_REQUEST', 'request body cut short'))
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
  if (body.length === 0) return {}
  let value
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch {
    throw new HttpError(400, 'BAD_JSON', 'request body is not valid JSON')
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'BAD_JSON', 'request body must be a JSON object')
  }
  return value
}

/** Query-string filters of GET /avatars, typed the way listAvatars takes them. */
function avatarQuery(params) {
  const query = {}
  for (const [key, value] of params) query[key] = key === 'limit' ? Number(value) : value
  return query
}

/** GET /projects: one bounded page of projects, each with its first avatars. */
async function listProjects(store, user, params) {
  for (const key of params.keys()) {
    if (key !== 'limit' && key !== 'cursor') {
      throw new HttpError(400, 'VALIDATION', `unknown query parameter ${key}; use limit and cursor`, { field: key })
    }
  }
  let limit = PROJECTS_PER_PAGE.default
  if (params.has('limit')) {
    limit = /^\d{1,4}$/.test(params.get('limit')) ? Number(params.get('limit')) : 0
    if (limit < 1 || limit > PROJECTS_PER_PAGE.max) {
      throw new HttpError(400, 'VALIDATION', `invalid limit: must be an integer from 1 to ${PROJECTS_PER_PAGE.max}`, {
        field: 'limit',
      })
    }
  }
  const page = await store.listProjects(user, { limit, cursor: params.get('cursor') })
  // Not listProjectsWithAvatars: it returns every avatar of every project on
  // the page, so one project with a million avatars would build a response of
  // a million avatars. One bounded query per project instead.
  const items = await Promise.all(
    page.items.map(async (project) => {
      const avatars = await store.listAvatars(user, { projectId: project.id, limit: AVATARS_PER_PROJECT })
      return { ...project, avatars: avatars.items, avatarsNextCursor: avatars.nextCursor }
    }),
  )
  // The body keeps the incident's shape, a bare array; the cursor rides in a header.
  return [200, items, page.nextCursor ? { 'x-next-cursor': page.nextCursor } : {}]
}

const ID = Symbol('id')

/** Each route: its path below BASE (ID matches any segment) and its handlers by method. */
const ROUTES = [
  [
    ['projects'],
    {
      GET: ({ store, user, url }) => listProjects(store, user, url.searchParams),
      POST: async ({ store, user, req }) => [201, await store.createProject(user, await readJson(req))],
    },
  ],
  [
    ['projects', ID],
    {
      GET: async ({ store, user, id }) => [200, await store.getProject(user, id)],
      PATCH: async ({ store, user, id, req }) => [200, await store.updateProject(user, id, await readJson(req))],
      DELETE: async ({ store, user, id }) => [204, await store.deleteProject(user, id)],
    },
  ],
  [
    ['projects', ID, 'avatars'],
    {
      GET: async ({ store, user, id, url }) => [
        200,
        await store.listAvatars(user, { ...avatarQuery(url.searchParams), projectId: id }),
      ],
      POST: async ({ store, user, id, req }) => [
        201,
        await store.createAvatar(user, { ...(await readJson(req)), projectId: id }),
      ],
    },
  ],
  [
    ['avatars'],
    {
      GET: async ({ store, user, url }) => [200, await store.listAvatars(user, avatarQuery(url.searchParams))],
      POST: async ({ store, user, req }) => [201, await store.createAvatar(user, await readJson(req))],
    },
  ],
  [
    ['avatars', ID],
    {
      GET: async ({ store, user, id }) => [200, await store.getAvatar(user, id)],
      PATCH: async ({ store, user, id, req }) => [200, await store.updateAvatar(user, id, await readJson(req))],
      DELETE: async ({ store, user, id }) => [204, await store.deleteAvatar(user, id)],
    },
  ],
  [['avatars', ID, 'usage'], { POST: async ({ store, user, id }) => [200, await store.recordUsage(user, id)] }],
]

/** The request target as a URL; 400 when it is not one (`GET http://[/`). */
function requestUrl(req) {
  try {
    // An origin-form target is a path: resolved against a base, "//x/y"
    // would read as host x.
    return new URL(req.url.startsWith('/') ? `http://localhost${req.url}` : req.url)
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'the request target is not a valid URL')
  }
}

function userOf(req) {
  const values = req.headersDistinct['x-user-id'] ?? []
  // Node would join two headers into "a, b": refuse instead of guessing.
  if (values.length > 1) throw new HttpError(400, 'BAD_REQUEST', 'more than one x-user-id header')
  if (values.length === 0 || values[0].trim() === '') {
    throw new HttpError(401, 'UNAUTHENTICATED', 'missing x-user-id header')
  }
  return values[0]
}

/** Handles one request; returns [status, body, headers]. */
async function route(store, req) {
  const url = requestUrl(req)
  const parts = url.pathname.startsWith(`${BASE}/`) ? url.pathname.slice(BASE.length).split('/').filter(Boolean) : []
  const match = ROUTES.find(([path]) => path.length === parts.length && path.every((p, i) => p === ID || p === parts[i]))
  if (!match) throw new HttpError(404, 'NO_ROUTE', `no route for ${req.method} ${url.pathname}`)
  const [path, methods] = match
  // HEAD is GET without the body, which node:http leaves out by itself.
  const handler = Object.hasOwn(methods, req.method)
    ? methods[req.method]
    : req.method === 'HEAD'
      ? methods.GET
      : undefined
  if (!handler) {
    const allow = Object.keys(methods)
    if (allow.includes('GET')) allow.splice(allow.indexOf('GET') + 1, 0, 'HEAD')
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}`, {
      headers: { allow: allow.join(', ') },
    })
  }
  return handler({ store, req, url, user: userOf(req), id: parts[path.indexOf(ID)] })
}

/** The answer to a failed request; what a client must not see goes to the log under an error id. */
function failure(err, req, log) {
  if (err instanceof HttpError) {
    return [err.status, { error: { code: err.code, message: err.message, field: err.field } }, err.headers]
  }
  const status = CLIENT_ERRORS[err?.code]
  if (status) return [status, { error: { code: err.code, message: err.message, field: err.field } }]
  const [serverStatus, code, message] = SERVER_ERRORS[err?.code] ?? INTERNAL
  const errorId = randomUUID()
  log(`error ${errorId} on ${req.method} ${JSON.stringify(req.url)}:`, err)
  return [serverStatus, { error: { code, message: `${message} (error id ${errorId})`, errorId } }]
}

function send(res, [status, body, headers]) {
  if (status === 204) {
    res.writeHead(204, headers).end()
  } else {
    const text = json(body)
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(text)
  }
}

/** An http.Server answering the API from `store`; `log` receives the detail of every 5xx. */
export function createServer(store, { log = console.error } = {}) {
  const server = http.createServer((req, res) => {
    answer(store, req, res, log).catch((err) => {
      // Only a failure to answer (a header value node:http refuses, a
      // throwing log) gets here; a rejection here would stop the process.
      try {
        const reply = failure(err, req, log)
        if (res.headersSent) res.destroy()
        else send(res, reply)
      } catch {
        res.destroy()
      }
    })
  })
  // Without this listener node:http sends "100 Continue" by itself, and the
  // client sends a body only to be told it is too large.
  server.on('checkContinue', (req, res) => {
    if (!declaredTooLarge(req)) res.writeContinue()
    server.emit('request', req, res)
  })
  return server
}

async function answer(store, req, res, log) {
  let reply
  try {
    reply = await route(store, req)
  } catch (err) {
    reply = failure(err, req, log)
  }
  send(res, reply)
}

const LOOPBACK = new net.BlockList()
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4')
LOOPBACK.addAddress('::1', 'ipv6')

/**
 * The address to listen on for `host`: a loopback one, or any one when a
 * proxy in front authenticates requests. Resolved once, here, so that the
 * address checked is the address listened on.
 */
async function listenAddress(host, behindAuthProxy) {
  let address
  let loopback = false
  if (host) {
    ;({ address } = await dns.lookup(host.replace(/^\[(.*)\]$/, '$1')))
    loopback = LOOPBACK.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4')
  }
  if (loopback || behindAuthProxy) return address
  throw new Error(
    `refusing to listen on ${host ? `${host} (${address})` : 'every interface'}: this example takes the user id ` +
      'from the x-user-id header without checking it, so anyone who can connect could act as any user. ' +
      'Listen on 127.0.0.1, or put a proxy in front that authenticates every request and sets x-user-id itself ' +
      '(dropping any the client sent), and start with --behind-auth-proxy or AVATAR_BEHIND_AUTH_PROXY=1.',
  )
}

/**
 * Checks the address, opens the database (refusing a drifted one) and
 * starts listening. A non-loopback `host` needs `behindAuthProxy: true`.
 */
export async function start({ db, port = 3000, host = '127.0.0.1', behindAuthProxy = false, log = console.error }) {
  const address = await listenAddress(host, behindAuthProxy)
  let store
  try {
    store = await Store.open(db)
  } catch (err) {
    if (err.code === 'SCHEMA_DRIFT') {
      const columns = err.report.missingColumns.map((c) => `${c.table}.${c.column}`)
      const reason = columns.length ? `missing columns: ${columns.join(', ')}` : err.message
      // displayDatabase: a URL's password stays out of the message (and the log).
      throw new Error(
        `refusing to start: the database ${displayDatabase(db)} has drifted from the expected schema; ${reason}`,
      )
    }
    throw err
  }
  const server = createServer(store, { log })
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, address, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    store.close()
    throw err
  }
  server.on('close', () => store.close())
  return server
}

/**
 * The database to open: `AVATAR_DB` (a file path or URL) or `DATABASE_URL`
 * (the variable hosting platforms set; a URL or a path), `avatars.db` when
 * neither is set. Both set to different databases is refused rather than
 * guessed: serving from the wrong one would look like lost data.
 */
export function databaseOf(env) {
  const file = env.AVATAR_DB || undefined
  const url = env.DATABASE_URL || undefined
  if (file && url && file !== url) {
    throw new Error(
      `refusing to start: AVATAR_DB (${displayDatabase(file)}) and DATABASE_URL (${displayDatabase(url)}) ` +
        'name different databases; set only one',
    )
  }
  return file ?? url ?? 'avatars.db'
}

async function main(args, env) {
  const { values } = parseArgs({ args, options: { 'behind-auth-proxy': { type: 'boolean', default: false } } })
  const behindAuthProxy = values['behind-auth-proxy'] || env.AVATAR_BEHIND_AUTH_PROXY === '1'
  const db = databaseOf(env)
  const server = await start({ db, port: Number(env.PORT ?? 3000), host: env.HOST ?? '127.0.0.1', behindAuthProxy })
  const { address, port } = server.address()
  const origin = `http://${net.isIPv6(address) ? `[${address}]` : address}:${port}`
  console.log(`avatar-creator API on ${origin}${BASE} (database ${displayDatabase(db)})`)
  console.log(
    behindAuthProxy
      ? 'the user id is the x-user-id header, trusted as set by the authenticating proxy in front (--behind-auth-proxy)'
      : 'the user id is the x-user-id header, unauthenticated: any local process can act as any user; ' +
          'listening on loopback only (see README.md)',
  )
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2), process.env).catch((err) => {
    console.error(err.message)
    process.exit(1)
  })
}
