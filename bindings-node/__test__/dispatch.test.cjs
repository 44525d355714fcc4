'use strict'
// How the Promise methods run (src/dispatch.rs): the addon's workers, the
// one threadsafe function per environment that settles their Promises, the
// reads run at once on the JavaScript thread, and a process that exits by
// itself when no call is pending.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { Store } = require('avatar-store')
const { tempDir, fullAvatar } = require('./helpers.cjs')

const U = 'user-1'
const MISSING = '01890a5d-ac96-774b-bcce-b302099a8057'
const PKG = path.join(__dirname, '..')

function openTemp(t) {
  const store = new Store(path.join(tempDir(t), 'app.db'))
  t.after(() => store.close())
  return store
}

/** Settles every promise, counting how often each one's handlers ran. */
async function settleAll(promises) {
  const seen = promises.map(() => 0)
  const outcomes = await Promise.all(
    promises.map((p, i) =>
      p.then(
        (value) => {
          seen[i]++
          return { value }
        },
        (error) => {
          seen[i]++
          return { error }
        },
      ),
    ),
  )
  return { outcomes, seen }
}

test('thousands of calls in flight, on both roads, each settle once with their own value or error', async (t) => {
  const store = openTemp(t)
  const p = store.createProjectSync(U, { name: 'P' })
  const ids = store.createAvatarsSync(U, Array.from({ length: 50 }, (_, i) => fullAvatar(p.id, { name: `a${i}` }))).map((a) => a.id)
  const calls = []
  const expect = []
  for (let i = 0; i < 3000; i++) {
    const id = ids[i % ids.length]
    switch (i % 6) {
      case 0: // the first of a burst may run on this thread, the rest queue
        calls.push(store.getAvatar(U, id))
        expect.push((o) => o.value.id === id && o.value.name === `a${i % ids.length}`)
        break
      case 1:
        calls.push(store.getAvatar(U, MISSING))
        expect.push((o) => o.error?.code === 'NOT_FOUND' && o.error.id === MISSING)
        break
      case 2:
        calls.push(store.recordUsage(U, id))
        expect.push((o) => o.value.id === id && o.value.usageCount >= 1)
        break
      case 3: // an argument error rejects, it does not throw
        calls.push(store.getAvatar(U, 42))
        expect.push((o) => o.error?.code === 'ERR_INVALID_ARG_TYPE')
        break
      case 4:
        calls.push(store.updateAvatar(U, id, { name: '' }))
        expect.push((o) => o.error?.code === 'VALIDATION' && o.error.field === 'name')
        break
      default:
        calls.push(store.getProject(U, p.id))
        expect.push((o) => o.value.id === p.id)
    }
  }
  const { outcomes, seen } = await settleAll(calls)
  assert.deepEqual(seen, calls.map(() => 1), 'every Promise settled exactly once')
  outcomes.forEach((o, i) => assert.ok(expect[i](o), `call ${i}: ${JSON.stringify(o.value ?? o.error?.code)}`))
  const total = ids.map((id) => store.getAvatarSync(U, id).usageCount).reduce((a, b) => a + b)
  assert.equal(total, 500, 'every recordUsage counted once')
})

/**
 * Whether `promise` settles within microtasks, that is without a turn of
 * the event loop (which a call run by a worker needs to settle): raced
 * against a value a few microtask hops away.
 */
async function settledAlready(promise) {
  const NOT_YET = Symbol('not yet')
  let later = Promise.resolve()
  for (let i = 0; i < 20; i++) later = later.then(() => {})
  const value = await Promise.race([promise.then(() => true, () => true), later.then(() => NOT_YET)])
  return value !== NOT_YET
}

test('a read runs at once only when it may: nothing pending, a file store', async (t) => {
  const store = openTemp(t)
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  store.getAvatarSync(U, a.id) // opens a reader, idle from now on
  assert.equal(await settledAlready(store.getAvatar(U, a.id)), true, 'nothing pending: read at once')
  assert.equal(await settledAlready(store.getProject(U, p.id)), true)
  assert.equal(await settledAlready(store.getAvatar(U, MISSING)), true, 'NOT_FOUND at once too')
  const write = store.recordUsage(U, a.id)
  const read = store.getAvatar(U, a.id)
  assert.equal(await settledAlready(read), false, 'a write pending: the read queues behind it')
  await Promise.all([write, read])
  assert.equal(await settledAlready(store.recordUsage(U, a.id)), false, 'writes never run on this thread')
  // In memory, reads share the writer, which a worker may hold.
  const mem = new Store(':memory:')
  const mp = mem.createProjectSync(U, { name: 'P' })
  assert.equal(await settledAlready(mem.getProject(U, mp.id)), false)
  assert.equal((await mem.getProject(U, mp.id)).id, mp.id)
})

test('with reads in flight, a read runs at once only while the workers have calls waiting, never past a write', async (t) => {
  const store = openTemp(t)
  const p = store.createProjectSync(U, { name: 'P' })
  const ids = store.createAvatarsSync(U, Array.from({ length: 50 }, () => fullAvatar(p.id))).map((a) => a.id)
  store.getAvatarSync(U, ids[0])
  const burst = () => Array.from({ length: 400 }, (_, i) => store.getAvatar(U, ids[i % ids.length]))

  // Every worker busy: the first reads wait in the queue, and once enough
  // wait, the next ones run here.
  const held = require('../binding.js').__holdWorkersForTests(300)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const reads = burst()
  const atOnce = await Promise.all(reads.map(settledAlready))
  assert.equal(atOnce[0], false, 'calls pending and none waiting: to a worker')
  const first = atOnce.indexOf(true)
  assert.ok(first > 1, `with calls waiting for the workers, reads run at once (first: ${first})`)
  const got = await Promise.all(reads)
  got.forEach((a, i) => assert.equal(a.id, ids[i % ids.length], `read ${i}`))
  await Promise.all(held)

  // Issued in one go with the workers idle: the first runs at once
  // (alone), the second goes to a worker (no call waits for one).
  const two = [store.getAvatar(U, ids[0]), store.getAvatar(U, ids[1])]
  assert.deepEqual(await Promise.all(two.map(settledAlready)), [true, false])
  assert.deepEqual((await Promise.all(two)).map((a) => a.id), ids.slice(0, 2))

  // A write pending: no read runs at once until it has settled.
  const write = store.recordUsage(U, ids[0])
  const after = burst()
  assert.deepEqual(
    (await Promise.all(after.map(settledAlready))).filter((x) => x),
    [],
    'no read overtakes a pending write',
  )
  assert.equal((await write).usageCount, 1)
  await Promise.all(after)
})

test('writes queued together commit together, and each Promise gets its own result or error', async (t) => {
  const store = openTemp(t)
  const p = store.createProjectSync(U, { name: 'P' })
  const theirs = store.createProjectSync('user-2', { name: 'Theirs' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  const b = store.createAvatarSync(U, fullAvatar(p.id))
  // The workers held, the writes wait in the queue, and a worker takes
  // them as one group when it is free.
  const held = require('../binding.js').__holdWorkersForTests(200)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const calls = [
    store.recordUsage(U, a.id),
    store.recordUsage(U, MISSING),
    store.createAvatar(U, { ...fullAvatar(theirs.id), name: 'not mine' }),
    store.updateAvatar(U, b.id, { name: 'renamed' }),
    store.recordUsage('user-2', a.id),
    store.createAvatar(U, { ...fullAvatar(p.id), name: 'new' }),
    store.deleteAvatar(U, b.id),
    store.recordUsage(U, a.id),
  ]
  const { outcomes: out } = await settleAll(calls)
  await Promise.all(held)
  const codes = out.map((o) => (o.error ? o.error.code : 'ok'))
  assert.deepEqual(codes, ['ok', 'NOT_FOUND', 'NOT_FOUND', 'ok', 'NOT_FOUND', 'ok', 'ok', 'ok'])
  assert.equal(out[0].value.usageCount, 1)
  assert.equal(out[7].value.usageCount, 2)
  assert.equal(out[3].value.name, 'renamed')
  assert.equal(out[5].value.name, 'new')
  assert.equal(out[6].value, undefined)
  assert.deepEqual(store.getAvatarSync(U, out[5].value.id), out[5].value)
  assert.equal(store.getAvatarSync(U, a.id).usageCount, 2)
  await assert.rejects(store.getAvatar(U, b.id), { code: 'NOT_FOUND' })
  assert.deepEqual(store.countSync(U), { projects: 1, avatars: 2 })

  // Ten usages of one avatar, queued together: fewer commits than writes,
  // each adding the avatar's page to the write-ahead log once.
  const fs = require('node:fs')
  const walSize = () => fs.statSync(`${store.path}-wal`).size
  const hold = require('../binding.js').__holdWorkersForTests(200)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const before = walSize()
  const used = await Promise.all(Array.from({ length: 10 }, () => store.recordUsage(U, a.id)))
  await Promise.all(hold)
  assert.deepEqual(used.map((x) => x.usageCount).sort((x, y) => x - y), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  const frames = (walSize() - before) / (4096 + 24)
  assert.ok(frames >= 1 && frames < 10, `${frames} commits for 10 writes`)
})

test('a read run at once and a read queued behind other calls resolve and reject alike', async (t) => {
  const store = openTemp(t)
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  store.getAvatarSync(U, a.id)
  // Nothing pending: these run on this thread.
  assert.deepEqual(await store.getAvatar(U, a.id), store.getAvatarSync(U, a.id))
  await assert.rejects(store.getAvatar(U, MISSING), { code: 'NOT_FOUND', entity: 'avatar', id: MISSING })
  await assert.rejects(store.getProject(U, 'not-a-uuid'), { code: 'VALIDATION' })
  await assert.rejects(store.getProject(U, null), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  // A write pending first: the reads go to a worker, after it.
  const write = store.recordUsage(U, a.id)
  const read = store.getAvatar(U, a.id)
  // Checked from the start: it may settle before the others.
  const missing = assert.rejects(store.getAvatar(U, MISSING), { code: 'NOT_FOUND', entity: 'avatar', id: MISSING })
  assert.equal((await write).usageCount, 1)
  assert.equal((await read).id, a.id)
  await missing
})

test('a loop awaiting reads lets the event loop turn', async (t) => {
  const store = openTemp(t)
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  let turns = 0
  let loopDone = false
  const tick = () => {
    if (loopDone) return
    turns++
    setImmediate(tick)
  }
  setImmediate(tick)
  // Reads that run on this thread resolve as microtasks, which run before
  // any immediate: without a turn of the loop among them, `tick` would not
  // run until the loop ends.
  for (let i = 0; i < 5000; i++) await store.getAvatar(U, a.id)
  loopDone = true
  assert.ok(turns > 0, 'setImmediate callbacks ran while the reads were awaited')
})

test('closing a store with calls pending lets them finish; later calls reject', async (t) => {
  const store = new Store(path.join(tempDir(t), 'close.db'))
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  const pending = []
  for (let i = 0; i < 100; i++) pending.push(store.recordUsage(U, a.id), store.getAvatar(U, a.id))
  store.close()
  const results = await Promise.all(pending)
  assert.equal(Math.max(...results.map((r) => r.usageCount)), 100)
  await assert.rejects(store.getAvatar(U, a.id), { code: 'ERR_STORE_CLOSED' })
})

test('a panic on either road rejects with INTERNAL and the process survives', async () => {
  // The hooks are in the native binding, not in the package's exports.
  const binding = require('../binding.js')
  await assert.rejects(binding.__panicForTestsAsync(), (e) => e.code === 'INTERNAL' && /panicked/.test(e.detail))
  await assert.rejects(binding.__panicForTestsPool(), (e) => e.code === 'INTERNAL' && /panicked/.test(e.detail))
  const store = new Store(':memory:')
  assert.deepEqual(await store.countAllUsers(), { projects: 0, avatars: 0 })
})

/** Runs `script` in a child node process; returns its result. */
function child(script, t) {
  const dir = tempDir(t)
  // A hang would make spawnSync kill the child at the timeout: the test
  // then fails on the signal, it does not hang.
  return spawnSync(process.execPath, ['-e', script], { cwd: PKG, encoding: 'utf8', timeout: 120_000, env: { ...process.env, DB: path.join(dir, 'a.db') } })
}

test('a process exits by itself once its calls have settled, with stores left open', (t) => {
  const r = child(
    `
    const { Store } = require('.')
    const store = new Store(process.env.DB)
    ;(async () => {
      const p = await store.createProject('u', { name: 'P' })
      const a = await store.createAvatar('u', { projectId: p.id, name: 'A' })
      for (let i = 0; i < 50; i++) await store.getAvatar('u', a.id)
      await Promise.all(Array.from({ length: 8 }, () => store.recordUsage('u', a.id)))
      await store.getAvatar('u', 'not-a-uuid').catch(() => {})
      console.log('done')
    })()
    `,
    t,
  )
  assert.equal(r.signal, null, `the child did not exit by itself: ${r.stderr}`)
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), 'done')
})

test('process.exit() with calls in flight ends the process cleanly', (t) => {
  const r = child(
    `
    const { Store } = require('.')
    const store = new Store(process.env.DB)
    const p = store.createProjectSync('u', { name: 'P' })
    const a = store.createAvatarSync('u', { projectId: p.id, name: 'A' })
    for (let i = 0; i < 2000; i++) store.recordUsage('u', a.id), store.getAvatar('u', a.id)
    setImmediate(() => process.exit(3))
    `,
    t,
  )
  assert.equal(r.signal, null, r.stderr)
  assert.equal(r.status, 3, r.stderr)
})

test('a pending call keeps the process alive until it settles', (t) => {
  const r = child(
    `
    const { Store } = require('.')
    const store = new Store(process.env.DB)
    const p = store.createProjectSync('u', { name: 'P' })
    const a = store.createAvatarSync('u', { projectId: p.id, name: 'A' })
    // Nothing else keeps the loop alive: only the pending calls do.
    store.recordUsage('u', a.id).then((x) => console.log('settled', x.usageCount))
    store.listAvatars('u', { limit: 5 }).then((page) => console.log('listed', page.items.length))
    `,
    t,
  )
  assert.equal(r.signal, null, r.stderr)
  assert.equal(r.status, 0, r.stderr)
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['listed 1', 'settled 1'])
})

test('worker threads make calls of their own, and one ended with calls pending harms no other', async (t) => {
  const file = path.join(tempDir(t), 'threads.db')
  const store = new Store(file)
  t.after(() => store.close())
  const p = store.createProjectSync(U, { name: 'P' })
  const a = store.createAvatarSync(U, fullAvatar(p.id))
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { Store } = require(workerData.pkg)
    const store = new Store(workerData.file)
    ;(async () => {
      // Lists settled together are external strings (src/external.rs): the
      // worker ends holding them, and the abandoned one with more coming.
      globalThis.kept = await Promise.all(Array.from({ length: 8 }, () => store.listAvatars(workerData.user)))
      const calls = Array.from({ length: 8 }, () => store.listAvatars(workerData.user))
      for (let i = 0; i < 200; i++) calls.push(store.recordUsage(workerData.user, workerData.id), store.getAvatar(workerData.user, workerData.id))
      if (workerData.abandon) {
        parentPort.postMessage('started')
        return // terminated by the parent with these still pending
      }
      const results = await Promise.all(calls)
      parentPort.postMessage(results.length)
    })()
  `
  const run = (abandon) =>
    new Promise((resolve, reject) => {
      const w = new Worker(source, { eval: true, workerData: { pkg: PKG, file, user: U, id: a.id, abandon } })
      w.once('message', async (m) => {
        if (abandon) await w.terminate()
        resolve(m)
      })
      w.once('error', reject)
    })
  const [abandoned, done, mine] = await Promise.all([run(true), run(false), Promise.all(Array.from({ length: 100 }, () => store.recordUsage(U, a.id)))])
  assert.equal(abandoned, 'started')
  assert.equal(done, 408)
  assert.equal(mine.length, 100)
  // This thread's store still works after the worker's environment is gone.
  const after = await store.getAvatar(U, a.id)
  assert.ok(after.usageCount >= 300, `usageCount ${after.usageCount}`)
  // (Calls the ended worker had queued may still land meanwhile: they had
  // started, as work on libuv's pool would have.)
  assert.ok((await store.recordUsage(U, a.id)).usageCount > after.usageCount)
})

test('large pages in flight are not kept alive together: each is decoded and handed over before the next', (t) => {
  // In a child with --expose-gc: the live heap after a full GC, probed in
  // the callers' continuations, with 8 pages of 2,000 avatars in flight
  // against the same pages read one after another. Node keeps the handles
  // of a threadsafe function's callback until its microtasks have run, and
  // those run only after every Promise settled in it: 18 MB against 3.6
  // before each page got a handle scope and a turn of its own.
  const dir = tempDir(t)
  const script = `
    const { Store } = require(${JSON.stringify(PKG)})
    const s = new Store(${JSON.stringify(path.join(dir, 'pages.db'))})
    for (let j = 0; j < 100; j++) {
      const p = s.createProjectSync('u', { name: 'P' + j }).id
      s.createAvatarsSync('u', Array.from({ length: 20 }, (_, i) => ({ projectId: p, name: 'A' + i, personaName: 'x'.repeat(40) })))
    }
    const live = () => { global.gc(); return process.memoryUsage().heapUsed }
    ;(async () => {
      let sync = 0
      for (let i = 0; i < 24; i++) { s.listProjectsWithAvatarsSync('u', { limit: 100 }); if (i % 4 === 3) sync = Math.max(sync, live()) }
      let inFlight = 0
      let next = 0
      const caller = async () => { while (next++ < 48) { await s.listProjectsWithAvatars('u', { limit: 100 }); if (next % 4 === 3) inFlight = Math.max(inFlight, live()) } }
      await Promise.all(Array.from({ length: 8 }, caller))
      console.log(JSON.stringify({ sync, inFlight }))
    })()
  `
  const out = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(out.status, 0, out.stderr)
  const { sync, inFlight } = JSON.parse(out.stdout)
  t.diagnostic(`${(inFlight / 1e6).toFixed(1)} MB / ${(sync / 1e6).toFixed(1)} MB`)
  assert.ok(inFlight < 2 * sync, `live heap with 8 pages in flight ${(inFlight / 1e6).toFixed(1)} MB, one after another ${(sync / 1e6).toFixed(1)} MB`)
})

test('lists settled while other calls wait keep their text outside V8, and read back exactly through collections', (t) => {
  // In a child with --expose-gc. Held workers make 8 lists wait together,
  // so all but the last settle while others are pending (src/external.rs);
  // a list awaited alone is copied into V8 as a *Sync one is. Latin-1 and
  // UTF-16 records, texts repeated from the previous avatar and not.
  const dir = tempDir(t)
  const script = `
    const binding = require(${JSON.stringify(path.join(PKG, 'binding.js'))})
    const { Store } = require(${JSON.stringify(PKG)})
    const s = new Store(${JSON.stringify(path.join(dir, 'lists.db'))})
    const p = s.createProjectSync('u', { name: 'P' }).id
    s.createAvatarsSync('u', Array.from({ length: 100 }, (_, i) => ({
      projectId: p, name: 'A' + i + (i % 3 ? '' : ' é👩🏽‍🚀'), personaBackground: 'x'.repeat(i * 7), style: i % 4 ? 'a' : 'b',
    })))
    const expected = JSON.stringify(s.listAvatarsSync('u', { limit: 100 }))
    ;(async () => {
      const before = binding.__externalStringsForTests()
      const held = binding.__holdWorkersForTests(100)
      const lists = await Promise.all(Array.from({ length: 8 }, () => s.listAvatars('u', { limit: 100 })))
      await Promise.all(held)
      const crowded = binding.__externalStringsForTests() - before
      // Garbage in between: strings freed too early would read as whatever reused their memory.
      let junk = []
      for (let k = 0; k < 5; k++) { global.gc(); junk = Array.from({ length: 20000 }, (_, i) => ({ s: 'g' + i })); s.listAvatarsSync('u', { limit: 100 }) }
      const same = lists.filter((l) => JSON.stringify(l) === expected).length
      const at = binding.__externalStringsForTests()
      const alone = JSON.stringify(await s.listAvatars('u', { limit: 100 })) === expected
      console.log(JSON.stringify({ crowded, same, alone, aloneMade: binding.__externalStringsForTests() - at, junk: junk.length }))
    })()
  `
  const out = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120_000 })
  assert.equal(out.status, 0, out.stderr)
  const r = JSON.parse(out.stdout)
  t.diagnostic(JSON.stringify(r))
  assert.equal(r.same, 8)
  assert.ok(r.crowded >= 7 * 100, `${r.crowded} external strings for 8 lists of 100 in flight`)
  assert.equal(r.alone, true)
  assert.equal(r.aloneMade, 0)
})
