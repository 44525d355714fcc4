// W1-W6 of benches/README.md through avatar-store (its synchronous
// methods) and through better-sqlite3 with hand-written SQL and the same
// pragmas, in one process and one run, on two baseline schemas: the one a
// developer writes by hand for these workloads (two tables, their keys, the
// foreign key, one `avatars (projectId, createdAt, id)` index) and the
// store's own (the embedded migrations).
//
//   (cd ../../bindings-node && npm install)   # builds the addon
//   npm install && node bench.mjs [N] [--runs 3] [--r 200]
//
// Prints ops/s per workload (median of the runs), the ratio avatar-store /
// better-sqlite3 for each baseline schema (above 1: avatar-store is
// faster), and the size of each side's write-ahead log when its timed part
// ends. Then the Promise methods against their `*Sync` twins: awaited one at
// a time, and with 8 calls in flight. AVATAR_STORE_NODE=<path of an
// index.mjs> benches another build of the package (to compare two builds).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import Database from 'better-sqlite3'
// The package as built in ../../bindings-node (npm run build there first).
const { Store, embeddedMigrations } = await import(process.env.AVATAR_STORE_NODE ?? '../../bindings-node/index.mjs')

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : dflt
}
const N = Number(args.find((a, i) => /^\d+$/.test(a) && !/^--/.test(args[i - 1] ?? '')) ?? 10_000)
const RUNS = opt('--runs', 3)
const R = opt('--r', 200)
const USER = 'bench-user'
const PROMPT = 'portrait of a woman with a silver bob, green eyes, neon-lit cyberpunk street at night, 35mm film, shallow depth of field'

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'avatar-bench-'))
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }))
let fileNo = 0
const freshFile = () => path.join(root, `db${fileNo++}.db`)

function avatarInput(projectId, i) {
  return {
    projectId,
    name: `Avatar ${i}`,
    imageUrl: `https://cdn.example.com/a/${i}.png`,
    thumbnailUrl: `https://cdn.example.com/a/${i}-thumb.png`,
    personaName: `Persona ${i}`,
    personaAge: 20 + (i % 50),
    personaPersonality: 'curious, dry humour',
    personaBackground: 'grew up on a research station',
    gender: i % 2 ? 'female' : 'male',
    ageRange: '25-34',
    ethnicity: 'mixed',
    bodyType: 'athletic',
    hairStyle: 'bob',
    hairColor: ['silver', 'black', 'red'][i % 3],
    eyeColor: 'green',
    skinTone: 'medium',
    style: 'cyberpunk',
    sourceType: 'generated',
    generationPrompt: PROMPT,
    seedUsed: 1_000_003 * i,
  }
}

// ------------------------------------------------------- the baseline

// UUID v7, as avatar-store assigns: 48-bit milliseconds, then random bits.
function uuidv7() {
  const b = new Uint8Array(16)
  globalThis.crypto.getRandomValues(b)
  const ms = Date.now()
  b[0] = ms / 2 ** 40
  b[1] = ms / 2 ** 32
  b[2] = ms / 2 ** 24
  b[3] = ms / 2 ** 16
  b[4] = ms / 2 ** 8
  b[5] = ms
  b[6] = (b[6] & 0x0f) | 0x70
  b[8] = (b[8] & 0x3f) | 0x80
  const h = Buffer.from(b).toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const COLS = ['id', 'projectId', 'userId', 'name', 'imageUrl', 'thumbnailUrl', 'personaName', 'personaAge',
  'personaPersonality', 'personaBackground', 'gender', 'ageRange', 'ethnicity', 'bodyType', 'hairStyle', 'hairColor',
  'eyeColor', 'skinTone', 'style', 'sourceType', 'generationPrompt', 'seedUsed', 'usageCount', 'lastUsedAt',
  'createdAt', 'updatedAt']

/** A row as the application would use it: timestamps as Dates, like avatar-store returns. */
function materialize(row) {
  row.createdAt = new Date(row.createdAt)
  row.updatedAt = new Date(row.updatedAt)
  row.lastUsedAt = row.lastUsedAt === null ? null : new Date(row.lastUsedAt)
  return row
}

// The schema a developer writes by hand for W1-W6, shared with the other benches.
const HAND_SCHEMA = fs.readFileSync(new URL('../hand_schema.sql', import.meta.url), 'utf8')

class Baseline {
  /** `schema`: 'hand' (HAND_SCHEMA) or 'store' (the embedded migrations). */
  constructor(file, schema) {
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    this.db.pragma('foreign_keys = ON')
    this.db.pragma('busy_timeout = 5000')
    if (schema === 'hand') this.db.exec(HAND_SCHEMA)
    else for (const m of embeddedMigrations()) this.db.exec(m.sql)
    this.insertProject = this.db.prepare('INSERT INTO projects (id, userId, name, description, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)')
    // Scoped by owner like avatar-store: the insert happens only for the user's own project.
    this.insertAvatar = this.db.prepare(`INSERT INTO avatars (${COLS.join(', ')}) SELECT ${COLS.map(() => '?').join(', ')} WHERE EXISTS (SELECT 1 FROM projects WHERE id = ? AND userId = ?)`)
    this.getAvatar = this.db.prepare(`SELECT ${COLS.join(', ')} FROM avatars WHERE id = ? AND userId = ?`)
    this.firstPage = this.db.prepare(`SELECT ${COLS.join(', ')} FROM avatars WHERE projectId = ? AND userId = ? ORDER BY createdAt, id LIMIT 51`)
    this.nextPage = this.db.prepare(`SELECT ${COLS.join(', ')} FROM avatars WHERE projectId = ? AND userId = ? AND (createdAt, id) > (?, ?) ORDER BY createdAt, id LIMIT 51`)
    this.use = this.db.prepare(`UPDATE avatars SET usageCount = usageCount + 1, lastUsedAt = ? WHERE id = ? AND userId = ? RETURNING ${COLS.join(', ')}`)
    this.projects = this.db.prepare('SELECT id, userId, name, description, createdAt, updatedAt FROM projects WHERE userId = ? ORDER BY createdAt DESC, id DESC LIMIT 101')
    this.batch = this.db.transaction((user, inputs) => inputs.map((a) => this.createAvatar(user, a)))
  }

  createProject(user, name) {
    const id = uuidv7()
    const now = new Date().toISOString()
    this.insertProject.run(id, user, name, null, now, now)
    return id
  }

  createAvatar(user, a) {
    const id = uuidv7()
    const now = new Date().toISOString()
    const info = this.insertAvatar.run(id, a.projectId, user, a.name, a.imageUrl, a.thumbnailUrl, a.personaName, a.personaAge,
      a.personaPersonality, a.personaBackground, a.gender, a.ageRange, a.ethnicity, a.bodyType, a.hairStyle, a.hairColor,
      a.eyeColor, a.skinTone, a.style, a.sourceType, a.generationPrompt, a.seedUsed, 0, null, now, now, a.projectId, user)
    if (info.changes !== 1) throw new Error('project not found')
    return id
  }

  listPage(projectId, user, after) {
    const rows = after ? this.nextPage.all(projectId, user, after.createdAt, after.id) : this.firstPage.all(projectId, user)
    const more = rows.length > 50
    if (more) rows.pop()
    const last = rows[rows.length - 1]
    const cursor = more ? { createdAt: last.createdAt, id: last.id } : null
    return { items: rows.map(materialize), cursor }
  }

  projectsWithAvatars(user) {
    const projects = this.projects.all(user).slice(0, 100)
    const ids = projects.map((p) => p.id)
    const avatars = this.db
      .prepare(`SELECT ${COLS.join(', ')} FROM avatars WHERE userId = ? AND projectId IN (${ids.map(() => '?').join(',')}) ORDER BY createdAt, id`)
      .all(user, ...ids)
    const byProject = new Map(projects.map((p) => [p.id, { ...p, createdAt: new Date(p.createdAt), updatedAt: new Date(p.updatedAt), avatars: [] }]))
    for (const a of avatars) byProject.get(a.projectId).avatars.push(materialize(a))
    return [...byProject.values()]
  }
}

// ---------------------------------------------------------- workloads

/** Each workload: setup (untimed), then the timed part; returns the op count. */
const workloads = [
  ['W1 create_each', 'avatars/s', {
    store(s) { const p = s.createProjectSync(USER, { name: 'P' }).id; return () => { for (let i = 0; i < N; i++) s.createAvatarSync(USER, avatarInput(p, i)); return N } },
    base(b) { const p = b.createProject(USER, 'P'); return () => { for (let i = 0; i < N; i++) b.createAvatar(USER, avatarInput(p, i)); return N } },
  }],
  ['W2 create_batch', 'avatars/s', {
    store(s) { const p = s.createProjectSync(USER, { name: 'P' }).id; const inputs = Array.from({ length: N }, (_, i) => avatarInput(p, i)); return () => s.createAvatarsSync(USER, inputs).length },
    base(b) { const p = b.createProject(USER, 'P'); const inputs = Array.from({ length: N }, (_, i) => avatarInput(p, i)); return () => b.batch(USER, inputs).length },
  }],
  ['W3 get_by_id', 'reads/s', {
    store(s) { const p = s.createProjectSync(USER, { name: 'P' }).id; const ids = s.createAvatarsSync(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))).map((a) => a.id); const order = shuffled(ids); return () => { for (const id of order) s.getAvatarSync(USER, id); return N } },
    base(b) { const p = b.createProject(USER, 'P'); const ids = b.batch(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))); const order = shuffled(ids); return () => { for (const id of order) materialize(b.getAvatar.get(id, USER)); return N } },
  }],
  ['W4 list_page', 'rows/s', {
    store(s) { const p = s.createProjectSync(USER, { name: 'P' }).id; s.createAvatarsSync(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))); return () => { let n = 0, cursor = null; do { const page = s.listAvatarsSync(USER, { projectId: p, limit: 50, cursor }); n += page.items.length; cursor = page.nextCursor } while (cursor); return n } },
    base(b) { const p = b.createProject(USER, 'P'); b.batch(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))); return () => { let n = 0, after = null; do { const page = b.listPage(p, USER, after); n += page.items.length; after = page.cursor } while (after); return n } },
  }],
  ['W5 record_usage', 'updates/s', {
    store(s) { const p = s.createProjectSync(USER, { name: 'P' }).id; const ids = s.createAvatarsSync(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))).map((a) => a.id); const order = shuffled(ids); return () => { for (const id of order) s.recordUsageSync(USER, id); return N } },
    base(b) { const p = b.createProject(USER, 'P'); const ids = b.batch(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))); const order = shuffled(ids); return () => { for (const id of order) materialize(b.use.get(new Date().toISOString(), id, USER)); return N } },
  }],
  // `get()` resets the statement after its first row, before SQLITE_DONE,
  // and SQLite runs its automatic checkpoint only at SQLITE_DONE: the line
  // above never checkpoints and its WAL grows by every update (see the WAL
  // column). `all()` steps to the end, so this baseline checkpoints like
  // avatar-store does.
  ['W5 record_usage, baseline all()', 'updates/s', {
    store(s) { return workloads[4][2].store(s) },
    base(b) { const p = b.createProject(USER, 'P'); const ids = b.batch(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))); const order = shuffled(ids); return () => { for (const id of order) materialize(b.use.all(new Date().toISOString(), id, USER)[0]); return N } },
  }],
  ['W6 list_projects_with_avatars', 'calls/s', {
    store(s) { for (let j = 0; j < 100; j++) { const p = s.createProjectSync(USER, { name: `P${j}` }).id; s.createAvatarsSync(USER, Array.from({ length: 20 }, (_, i) => avatarInput(p, i))) } return () => { for (let r = 0; r < R; r++) if (s.listProjectsWithAvatarsSync(USER, { limit: 100 }).items.length !== 100) throw new Error('short'); return R } },
    base(b) { b.db.transaction(() => { for (let j = 0; j < 100; j++) { const p = b.createProject(USER, `P${j}`); for (let i = 0; i < 20; i++) b.createAvatar(USER, avatarInput(p, i)) } })(); return () => { for (let r = 0; r < R; r++) if (b.projectsWithAvatars(USER).length !== 100) throw new Error('short'); return R } },
  }],
]

function shuffled(xs) {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

function measure(make) {
  const timed = make()
  const t0 = performance.now()
  const ops = timed()
  return ops / ((performance.now() - t0) / 1000)
}

/** Size of a database's write-ahead log, in MB (0 when there is none). */
function walMb(file) {
  try {
    return fs.statSync(`${file}-wal`).size / 1e6
  } catch {
    return 0
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x) => Math.round(x).toLocaleString('en-US').padStart(10)

// ------------------------------------------------------- Promise methods

// Each: setup (untimed) returning [calls, ops per call, sync(i), promise(i)];
// the i-th call of a workload is the same call in every mode.
const promiseWorkloads = [
  ['W1 create_each', 'avatars/s', (s) => {
    const p = s.createProjectSync(USER, { name: 'P' }).id
    return [N, 1, (i) => s.createAvatarSync(USER, avatarInput(p, i)), (i) => s.createAvatar(USER, avatarInput(p, i))]
  }],
  ['W3 get_by_id', 'reads/s', (s) => {
    const p = s.createProjectSync(USER, { name: 'P' }).id
    const order = shuffled(s.createAvatarsSync(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))).map((a) => a.id))
    return [N, 1, (i) => s.getAvatarSync(USER, order[i]), (i) => s.getAvatar(USER, order[i])]
  }],
  ['W5 record_usage', 'updates/s', (s) => {
    const p = s.createProjectSync(USER, { name: 'P' }).id
    const order = shuffled(s.createAvatarsSync(USER, Array.from({ length: N }, (_, i) => avatarInput(p, i))).map((a) => a.id))
    return [N, 1, (i) => s.recordUsageSync(USER, order[i]), (i) => s.recordUsage(USER, order[i])]
  }],
  ['W6 list_projects_with_avatars', 'calls/s', (s) => {
    for (let j = 0; j < 100; j++) {
      const p = s.createProjectSync(USER, { name: `P${j}` }).id
      s.createAvatarsSync(USER, Array.from({ length: 20 }, (_, i) => avatarInput(p, i)))
    }
    return [R, 1, () => s.listProjectsWithAvatarsSync(USER, { limit: 100 }), () => s.listProjectsWithAvatars(USER, { limit: 100 })]
  }],
]

/** ops/s of one mode: 'sync', 'await' (one call at a time) or a number of calls in flight. */
async function measurePromise(setup, mode) {
  const file = freshFile()
  const s = new Store(file)
  try {
    const [calls, per, sync, promise] = setup(s)
    const t0 = performance.now()
    if (mode === 'sync') for (let i = 0; i < calls; i++) sync(i)
    else if (mode === 'await') for (let i = 0; i < calls; i++) await promise(i)
    else {
      let next = 0
      const worker = async () => {
        while (next < calls) await promise(next++)
      }
      await Promise.all(Array.from({ length: mode }, worker))
    }
    return (calls * per) / ((performance.now() - t0) / 1000)
  } finally {
    s.close()
  }
}

// ----------------------------------------------------------------- main

console.log(`avatar-store vs better-sqlite3: N=${N}, R=${R}, median of ${RUNS} runs, node ${process.version}`)
console.log('ratio: avatar-store / better-sqlite3 on the hand-written schema (hand) and on the store schema (store)')
console.log(
  `${'workload'.padEnd(34)}${'unit'.padEnd(11)}${'avatar-store'.padStart(13)}${'bs3 hand'.padStart(13)}${'ratio'.padStart(8)}` +
    `${'bs3 store'.padStart(13)}${'ratio'.padStart(8)}   WAL MB after (store / hand / store schema)`,
)
for (const [name, unit, w] of workloads) {
  const res = { store: [], hand: [], base: [] }
  const wal = { store: [], hand: [], base: [] }
  for (let run = 0; run < RUNS; run++) {
    // Rotate which goes first, so none always gets the warmer machine.
    const sides = ['store', 'hand', 'base']
    for (let k = 0; k < sides.length; k++) {
      const who = sides[(k + run) % sides.length]
      const file = freshFile()
      if (who === 'store') {
        const s = new Store(file)
        res.store.push(measure(() => w.store(s)))
        wal.store.push(walMb(file))
        s.close()
      } else {
        const b = new Baseline(file, who === 'hand' ? 'hand' : 'store')
        res[who].push(measure(() => w.base(b)))
        wal[who].push(walMb(file))
        b.db.close()
      }
    }
  }
  const [m, h, t] = [median(res.store), median(res.hand), median(res.base)]
  const walText = `${median(wal.store).toFixed(1)} / ${median(wal.hand).toFixed(1)} / ${median(wal.base).toFixed(1)}`
  console.log(
    `${name.padEnd(34)}${unit.padEnd(11)}${fmt(m)}   ${fmt(h)}   ${(m / h).toFixed(2)}x${fmt(t)}   ${(m / t).toFixed(2)}x   ${walText}`,
  )
}

console.log('')
console.log('Promise methods (on the addon\'s workers; reads by id may run at once) against their *Sync twins, same N and R:')
console.log(`${'workload'.padEnd(34)}${'unit'.padEnd(11)}${'*Sync'.padStart(11)}${'awaited'.padStart(11)}   ratio${'8 in flight'.padStart(13)}   ratio`)
for (const [name, unit, setup] of promiseWorkloads) {
  const res = { sync: [], await: [], 8: [] }
  for (let run = 0; run < RUNS; run++) {
    const modes = ['sync', 'await', 8]
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(k + run) % modes.length]
      res[mode].push(await measurePromise(setup, mode))
    }
  }
  const [sy, aw, fl] = [median(res.sync), median(res.await), median(res[8])]
  console.log(`${name.padEnd(34)}${unit.padEnd(11)}${fmt(sy)} ${fmt(aw)}   ${(aw / sy).toFixed(2)}x ${fmt(fl)}     ${(fl / sy).toFixed(2)}x`)
}
