'use strict'
// The package's `Store`: a JavaScript class over the native one (`this.inner`,
// a NativeStore of binding.js). Crossing napi costs per call, and an avatar
// has 26 properties, so a record crosses as one string each way and V8 does
// the object work here: inputs as their JSON (JSON.stringify), results in
// the binding's wire form (src/write.rs), read below with charCodeAt and
// slice. Nothing here decides what is valid: the native side checks every
// argument, and the encoder below only declines (leaves to the native
// property reader) anything whose JSON would not read back as the very same
// values.

const binding = require('./binding.js')

const { NativeStore, ExportCursor } = binding

// ------------------------------------------------------------- results

// The record being read and the position in it. Every read below runs to
// the end of its record before anything else runs, so one pair serves all.
let W = ''
let P = 0

/**
 * Text (or an id): its length in 4 characters of 8 bits, then the text; null
 * when all four are 0xFF, and `same` (this field of the list's previous
 * avatar) when they are 0xFF 0xFF 0xFF 0xFE.
 */
function text(same) {
  const n = ((W.charCodeAt(P) * 256 + W.charCodeAt(P + 1)) * 256 + W.charCodeAt(P + 2)) * 256 + W.charCodeAt(P + 3)
  P += 4
  if (n >= 0xfffffffe) return n === 0xffffffff ? null : same
  const s = W.slice(P, P + n)
  P += n
  return s
}

/** An integer: a tag (0 null, 1 positive, 2 negative, 3 decimal text), then 7 characters of 8 bits. */
function integer(big) {
  const tag = W.charCodeAt(P++)
  if (tag === 0) return null
  // Beyond 2^53 - 1: a bigint where the field holds 64 bits.
  if (tag === 3) return big ? BigInt(text()) : Number(text())
  let m = 0
  for (let k = 0; k < 7; k++) m = m * 256 + W.charCodeAt(P++)
  return tag === 2 ? -m : m
}

function int() {
  return integer(false)
}

function bigint() {
  return integer(true)
}

function time() {
  const t = integer(false)
  return t === null ? null : new Date(t)
}

/** A project from its wire string. */
function project(w) {
  W = w
  P = 0
  return {
    id: text(),
    userId: text(),
    name: text(),
    description: text(),
    createdAt: time(),
    updatedAt: time(),
  }
}

// Property order is the wire order (core's field table); object literals
// evaluate in order, and each reader moves past its field.
function avatar(w) {
  W = w
  P = 0
  return {
    id: text(),
    projectId: text(),
    userId: text(),
    name: text(),
    imageUrl: text(),
    thumbnailUrl: text(),
    personaName: text(),
    personaAge: int(),
    personaPersonality: text(),
    personaBackground: text(),
    gender: text(),
    ageRange: text(),
    ethnicity: text(),
    bodyType: text(),
    hairStyle: text(),
    hairColor: text(),
    eyeColor: text(),
    skinTone: text(),
    style: text(),
    sourceType: text(),
    generationPrompt: text(),
    seedUsed: bigint(),
    usageCount: int(),
    lastUsedAt: time(),
    createdAt: time(),
    updatedAt: time(),
  }
}

// An avatar of a list, after `prev`, whose texts its record may repeat.
// A literal of its own: reading `prev`'s fields in the one-record decoder
// above made getAvatarSync 14% slower (W3).
function avatarAfter(w, prev) {
  W = w
  P = 0
  return {
    id: text(prev.id),
    projectId: text(prev.projectId),
    userId: text(prev.userId),
    name: text(prev.name),
    imageUrl: text(prev.imageUrl),
    thumbnailUrl: text(prev.thumbnailUrl),
    personaName: text(prev.personaName),
    personaAge: int(),
    personaPersonality: text(prev.personaPersonality),
    personaBackground: text(prev.personaBackground),
    gender: text(prev.gender),
    ageRange: text(prev.ageRange),
    ethnicity: text(prev.ethnicity),
    bodyType: text(prev.bodyType),
    hairStyle: text(prev.hairStyle),
    hairColor: text(prev.hairColor),
    eyeColor: text(prev.eyeColor),
    skinTone: text(prev.skinTone),
    style: text(prev.style),
    sourceType: text(prev.sourceType),
    generationPrompt: text(prev.generationPrompt),
    seedUsed: bigint(),
    usageCount: int(),
    lastUsedAt: time(),
    createdAt: time(),
    updatedAt: time(),
  }
}

/**
 * Whether `decode` reads the fields `[name, reader][]` the native
 * `__wireFields()` lists, in that order: it decodes a record whose every
 * text is 'k' and every number 7, which a reader of the wrong kind would
 * misread. (Run on the functions themselves, so a minifier cannot fool it.)
 */
function agrees(decode, fields) {
  let w = ''
  for (const [, reader] of fields) w += reader === 'text' ? '\0\0\0\x01k' : '\x01\0\0\0\0\0\0\x07'
  const got = decode(w)
  const keys = Object.keys(got)
  return (
    P === w.length &&
    keys.length === fields.length &&
    fields.every(([name, reader], i) => {
      const v = got[keys[i]]
      if (keys[i] !== name) return false
      if (reader === 'text') return v === 'k'
      if (reader === 'time') return v instanceof Date && v.getTime() === 7
      return v === 7
    })
  )
}

const wire = binding.__wireFields()

/** The previous avatar of a list's first: it has only nulls, and the native side repeats none of them. */
const NO_AVATAR = avatar(wire.avatar.map(([, reader]) => (reader === 'text' ? '\xff\xff\xff\xff' : '\0')).join(''))

if (
  !agrees(avatar, wire.avatar) ||
  !agrees((w) => avatarAfter(w, NO_AVATAR), wire.avatar) ||
  !agrees(project, wire.project)
) {
  throw new Error('avatar-store: store.js and the native addon disagree on the record fields; rebuild with `npm run build`')
}

/** Avatars of a list result, from `from` on. */
function avatars(list, from = 0) {
  const out = new Array(list.length - from)
  let prev = NO_AVATAR
  for (let i = from; i < list.length; i++) prev = out[i - from] = avatarAfter(list[i], prev)
  return out
}

/** How a method's result becomes its documented value. */
const as = {
  is: (v) => v,
  json: (json) => JSON.parse(json),
  project,
  avatar,
  avatars: (list) => avatars(list),
  // A page: its cursor, then its items.
  projectPage(list) {
    const items = new Array(list.length - 1)
    for (let i = 1; i < list.length; i++) items[i - 1] = project(list[i])
    return { items, nextCursor: list[0] }
  },
  // The cursor, then each project, the number of its avatars, and its avatars.
  projectWithAvatarsPage(list) {
    const items = []
    // The native side compares each avatar with the one before it, across projects.
    let prev = NO_AVATAR
    for (let i = 1; i < list.length; ) {
      const p = project(list[i])
      const n = list[i + 1]
      const own = new Array(n)
      for (let k = 0; k < n; k++) prev = own[k] = avatarAfter(list[i + 2 + k], prev)
      p.avatars = own
      items.push(p)
      i += 2 + n
    }
    return { items, nextCursor: list[0] }
  },
  avatarPage(list) {
    return { items: avatars(list, 1), nextCursor: list[0] }
  },
}

// ------------------------------------------------------------- inputs

// Every object argument (new records, patches, queries) crosses as the JSON
// of its own properties (a new avatar: its wire form, below) when that
// reads back as exactly the values the native property reader would have
// taken; anything else is left to that
// reader, so its TypeError stays the only rule. User ids and record ids
// stay napi strings: one string is one napi call either way, and the reader
// already tells a lone surrogate from U+FFFD.

/** The native side's property lists, as Sets: `{ known, required, notNull }`. */
function shape({ known, required = [], notNull = [] }) {
  return { known: new Set(known), required, notNull: new Set(notNull) }
}

const shapes = binding.__inputFields()
const NEW_AVATAR = shape(shapes.newAvatar)
const AVATAR_PATCH = shape(shapes.avatarPatch)
const AVATAR_QUERY = shape(shapes.avatarQuery)
const NEW_PROJECT = shape(shapes.newProject)
const PROJECT_PATCH = shape(shapes.projectPatch)
const PROJECT_QUERY = shape(shapes.projectQuery)

/** True when JSON.stringify(a) reads back as exactly a's values. */
function plain(a, { known, required, notNull }) {
  if (typeof a !== 'object' || a === null || Object.getPrototypeOf(a) !== Object.prototype) return false
  if (a.toJSON !== undefined) return false
  // Serde would fill a missing required text with "" (NewAvatar defaults
  // every field); the reader's TypeError names it.
  for (let i = 0; i < required.length; i++) if (typeof a[required[i]] !== 'string') return false
  let keys = 0
  for (const key in a) {
    if (!known.has(key)) return false
    const v = a[key]
    // Other numbers (fractions, NaN, beyond 2^53) and bigints, booleans and
    // objects are for the native reader to judge; so is null where serde
    // would read it as "absent" but the reader refuses it (a patch's name).
    if (typeof v !== 'string' && v != null && !Number.isSafeInteger(v)) return false
    if (v === null && notNull.has(key)) return false
    keys++
  }
  // The reader also sees non-enumerable own properties, which JSON drops.
  return Object.getOwnPropertyNames(a).length === keys
}

/** An encoder of one object argument: its JSON, or `undefined` to leave it to the reader. */
function encoder(s) {
  return (value) => (plain(value, s) ? JSON.stringify(value) : undefined)
}

// A new avatar crosses in the wire form records come back in (src/read.rs,
// src/write.rs): JSON.stringify took about 3 µs of an avatar, this a third
// of that. Each property a new avatar may have, in core's column order, and
// whether it is text (else a number).
const readerOf = new Map(wire.avatar)
const NEW_AVATAR_WIRE = shapes.newAvatar.known.map((key) => [key, readerOf.get(key) === 'text'])
const NULL_TEXT = '\xff\xff\xff\xff'

/** The wire form of a plain new avatar; `undefined` when a value is not of its field's type. */
function newAvatarWire(a) {
  let out = ''
  for (let i = 0; i < NEW_AVATAR_WIRE.length; i++) {
    const [key, isText] = NEW_AVATAR_WIRE[i]
    const v = a[key]
    if (v === undefined || v === null) {
      out += isText ? NULL_TEXT : '\0'
    } else if (isText) {
      if (typeof v !== 'string') return undefined
      const n = v.length
      out += String.fromCharCode(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255) + v
    } else {
      // plain() let through only safe integers among the numbers.
      if (typeof v !== 'number') return undefined
      const m = Math.abs(v)
      const hi = Math.floor(m / 4294967296)
      out += String.fromCharCode(v < 0 ? 2 : 1, hi >>> 16, (hi >>> 8) & 255, hi & 255, m >>> 24, (m >>> 16) & 255, (m >>> 8) & 255, m & 255)
    }
  }
  return out
}

/** The wire form of one new avatar, or `undefined`. */
function newAvatar(value) {
  return plain(value, NEW_AVATAR) ? newAvatarWire(value) : undefined
}

/**
 * The JSON of an array of new avatars, or `undefined`: JSON.stringify writes
 * a whole array faster than the wire form is built piece by piece.
 */
function newAvatars(value) {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return undefined
  for (let i = 0; i < value.length; i++) if (!plain(value[i], NEW_AVATAR)) return undefined
  return JSON.stringify(value)
}

const encode = {
  newAvatar,
  newAvatars,
  avatarPatch: encoder(AVATAR_PATCH),
  avatarQuery: encoder(AVATAR_QUERY),
  newProject: encoder(NEW_PROJECT),
  projectPatch: encoder(PROJECT_PATCH),
  projectQuery: encoder(PROJECT_QUERY),
}

// ------------------------------------------------------------- methods

// Every operation, as [name, result decoder, encoder of its object argument,
// index of that argument].
// Each becomes `name()`, returning a Promise (the work runs on the addon's
// workers, or on libuv's pool for the long ones; see src/dispatch.rs), and
// `nameSync()`, running on the calling thread. The name is
// also the operation the native `run`/`runSync` dispatch on; store.d.ts
// declares the same methods (__test__/store.test.cjs compares them).
const METHODS = [
  ['checkSchema', as.json],
  ['repair', as.json],
  ['migrationStatus', as.json],
  ['migrate', as.json],
  ['backup', as.is],
  ['count', as.json],
  ['countAllUsers', as.json],
  ['exportTo', as.json],
  ['exportAllUsersTo', as.json],
  ['importFrom', as.json],
  ['importAllUsersFrom', as.json],
  ['createProject', as.project, encode.newProject, 1],
  ['getProject', as.project],
  ['listProjects', as.projectPage, encode.projectQuery, 1],
  ['listProjectsWithAvatars', as.projectWithAvatarsPage, encode.projectQuery, 1],
  ['updateProject', as.project, encode.projectPatch, 2],
  ['deleteProject', as.is],
  ['createAvatar', as.avatar, encode.newAvatar, 1],
  ['createAvatars', as.avatars, encode.newAvatars, 1],
  ['getAvatar', as.avatar],
  ['listAvatars', as.avatarPage, encode.avatarQuery, 1],
  ['updateAvatar', as.avatar, encode.avatarPatch, 2],
  ['deleteAvatar', as.is],
  ['recordUsage', as.avatar],
]

class Store {
  /**
   * Opens the database at `path`: a PostgreSQL URL, ":memory:" for a
   * private in-memory one, or a SQLite file (created if needed); blocks
   * while migrating.
   */
  constructor(path, options) {
    this.inner = new NativeStore(path, options)
  }

  /** Opens a database like `new Store(path, options)`, off the event loop. */
  static async open(path, options) {
    const store = Object.create(Store.prototype)
    store.inner = await NativeStore.open(path, options)
    return store
  }

  get path() {
    return this.inner.path
  }

  get migrationOutcome() {
    return JSON.parse(this.inner.migrationOutcome)
  }

  close() {
    this.inner.close()
  }

  exportLines(userId) {
    return this.inner.exportLines(userId)
  }

  exportAllUsersLines() {
    return this.inner.exportAllUsersLines()
  }
}

// Promises of this thread's Promise methods whose result has not been
// handed to the caller yet (their decoding reaction has not run). A read
// by id may run at once on this thread (native `runRead`, see
// src/dispatch.rs) only when there are none: a caller awaiting one call at
// a time then gets its read without a round trip through a worker, while
// callers with several calls in flight keep the workers busy and leave
// this thread, which decodes every result, to them.
let open = 0

// Named functions, so that stack traces and `store.getAvatar.name` read as
// the method, not as a closure of this loop.
for (const [name, decode, encodeArg, at] of METHODS) {
  const done = (w) => {
    open--
    return decode(w)
  }
  const fail = (e) => {
    open--
    throw e
  }
  const sent = (p) => {
    open++
    return p.then(done, fail)
  }
  const methods =
    name === 'getAvatar' || name === 'getProject'
      ? {
          [name](a, b) {
            return sent(this.inner.runRead(name, a, b, open === 0))
          },
          [`${name}Sync`](a, b, c) {
            return decode(this.inner.runSync(name, a, b, c))
          },
        }
      : encodeArg === undefined
      ? {
          [name](a, b, c) {
            return sent(this.inner.run(name, a, b, c))
          },
          [`${name}Sync`](a, b, c) {
            return decode(this.inner.runSync(name, a, b, c))
          },
        }
      : at === 1
        ? {
            [name](a, b) {
              // An encoder that throws (a throwing getter, say) rejects the
              // Promise like any other argument error.
              try {
                return sent(this.inner.run(name, a, b, undefined, encodeArg(b)))
              } catch (e) {
                return Promise.reject(e)
              }
            },
            [`${name}Sync`](a, b) {
              return decode(this.inner.runSync(name, a, b, undefined, encodeArg(b)))
            },
          }
        : {
            [name](a, b, c) {
              try {
                return sent(this.inner.run(name, a, b, c, encodeArg(c)))
              } catch (e) {
                return Promise.reject(e)
              }
            },
            [`${name}Sync`](a, b, c) {
              return decode(this.inner.runSync(name, a, b, c, encodeArg(c)))
            },
          }
  for (const [key, fn] of Object.entries(methods)) {
    Object.defineProperty(Store.prototype, key, { value: fn, writable: true, configurable: true, enumerable: false })
  }
}

// `store.exportLines(userId)` returns a native cursor that fetches lines in
// chunks on the thread pool; iterating gives one line at a time, and leaving
// the loop early (break, throw) closes the cursor, which frees its reader.
ExportCursor.prototype[Symbol.asyncIterator] = async function* exportLines() {
  try {
    for (let chunk = await this.next(); chunk !== null; chunk = await this.next()) {
      let start = 0
      for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
        yield chunk.slice(start, end + 1)
        start = end + 1
      }
    }
  } finally {
    this.close()
  }
}

// ------------------------------------------------------------- module

/** Reads a database file's migration status without changing it. */
function inspect(path) {
  return binding.inspect(path).then(as.json)
}

/** Synchronous `inspect(path)`. */
function inspectSync(path) {
  return as.json(binding.inspectSync(path))
}

/** Replaces the database at `db` with a verified backup (see index.d.ts). */
function restore(backupFile, db, options) {
  return binding.restore(backupFile, db, options).then(as.json)
}

/** Synchronous `restore(backupFile, db, options)`. */
function restoreSync(backupFile, db, options) {
  return as.json(binding.restoreSync(backupFile, db, options))
}

module.exports = { Store, METHODS: METHODS.map(([name]) => name), inspect, inspectSync, restore, restoreSync }
