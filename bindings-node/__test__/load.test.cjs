'use strict'
// The package as users get it: `npm pack`, installed from the tarball into a
// fresh project, then loaded every way users try; the wrong ways fail at
// once. The exports of index.js, index.mjs and index.d.ts are one list.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync, spawnSync } = require('node:child_process')
const { tempDir } = require('./helpers.cjs')

const PKG = path.resolve(__dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** The value exports declared by index.d.ts (types aside). */
function declaredNames() {
  const dts = fs.readFileSync(path.join(PKG, 'index.d.ts'), 'utf8')
  const m = dts.match(/^export \{([^}]*)\}/m)
  return m[1].split(',').map((s) => s.trim()).filter(Boolean).sort()
}

test('every export declared in index.d.ts exists at run time, and nothing else', async () => {
  const cjs = require('avatar-store')
  const esm = await import('avatar-store')
  const names = declaredNames()
  assert.deepEqual(Object.keys(cjs).filter((k) => k !== 'default').sort(), names)
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), names)
  for (const n of names) {
    assert.equal(typeof cjs[n], 'function', n)
    assert.equal(esm[n], cjs[n], n)
  }
  assert.equal(cjs.default, cjs, 'require().default is the package itself')
  assert.equal(esm.default, cjs)
})

test('a name the package does not export throws instead of reading as undefined', () => {
  const pkg = require('avatar-store')
  assert.throws(() => pkg.store, { name: 'TypeError', message: /no export named "store".*Store/ })
  assert.throws(() => {
    const { prisma } = require('avatar-store')
    return prisma
  }, /no export named "prisma"/)
  // What loaders and test runners probe for stays harmless.
  assert.equal(pkg.__esModule, undefined)
  assert.equal(pkg.then, undefined)
  assert.equal(typeof pkg.toString, 'function')
})

test('installed from its npm pack tarball, it loads every way and refuses the wrong ones', (t) => {
  const dir = tempDir(t)
  const out = execFileSync(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: PKG, encoding: 'utf8' })
  const [info] = JSON.parse(out)
  const files = info.files.map((f) => f.path).sort()
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'store.js', 'store.d.ts', 'binding.js', 'binding.d.ts', 'package.json']) {
    assert.ok(files.includes(f), `${f} is in the tarball`)
  }
  assert.ok(files.some((f) => f.endsWith('.node')), 'the native addon is in the tarball')
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('__test__/')), 'sources and tests are not')

  const app = path.join(dir, 'app')
  fs.mkdirSync(app)
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }))
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--ignore-scripts', path.join(dir, info.filename)], { cwd: app, stdio: 'pipe' })

  const scripts = {
    'named.cjs': "const { Store } = require('avatar-store'); console.log(new Store(':memory:').createProjectSync('u', { name: 'ok' }).name)",
    'namespace.cjs': "const avatarStore = require('avatar-store'); console.log(new avatarStore.Store(':memory:').createProjectSync('u', { name: 'ok' }).name)",
    'named.mjs': "import { Store } from 'avatar-store'; console.log((await new Store(':memory:').createProject('u', { name: 'ok' })).name)",
    'default.mjs': "import avatarStore from 'avatar-store'; console.log(new avatarStore.Store(':memory:').createProjectSync('u', { name: 'ok' }).name)",
    'wrong-named.mjs': "import { store } from 'avatar-store'; console.log('reached', store)",
    'wrong-destructure.cjs': "const { store } = require('avatar-store'); console.log('reached', store)",
    'wrong-default.cjs': "const Store = require('avatar-store'); new Store(':memory:'); console.log('reached')",
  }
  for (const [name, code] of Object.entries(scripts)) fs.writeFileSync(path.join(app, name), code)
  for (const good of ['named.cjs', 'namespace.cjs', 'named.mjs', 'default.mjs']) {
    const r = spawnSync(process.execPath, [good], { cwd: app, encoding: 'utf8' })
    assert.equal(r.status, 0, `${good}: ${r.stderr}`)
    assert.equal(r.stdout.trim(), 'ok', good)
  }
  const expectations = {
    'wrong-named.mjs': /SyntaxError: .*does not provide an export named 'store'/,
    'wrong-destructure.cjs': /TypeError: avatar-store has no export named "store"/,
    'wrong-default.cjs': /TypeError: Store is not a constructor/,
  }
  for (const [bad, message] of Object.entries(expectations)) {
    const r = spawnSync(process.execPath, [bad], { cwd: app, encoding: 'utf8' })
    assert.notEqual(r.status, 0, bad)
    assert.doesNotMatch(r.stdout, /reached/, `${bad} must fail before running on`)
    assert.match(r.stderr, message, bad)
  }

  // TypeScript users get the declarations from the tarball, and the incident's
  // import mistake does not compile.
  fs.writeFileSync(path.join(app, 'good.mts'), "import avatarStore, { Store } from 'avatar-store'\nconst s: Store = new avatarStore.Store(':memory:')\nexport { s }\n")
  fs.writeFileSync(path.join(app, 'bad.mts'), "import { store } from 'avatar-store'\nexport { store }\n")
  const tsc = path.join(PKG, 'node_modules', 'typescript', 'bin', 'tsc')
  const flags = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', path.join(PKG, 'node_modules', '@types')]
  const good = spawnSync(process.execPath, [tsc, ...flags, 'good.mts'], { cwd: app, encoding: 'utf8' })
  assert.equal(good.status, 0, good.stdout)
  const bad = spawnSync(process.execPath, [tsc, ...flags, 'bad.mts'], { cwd: app, encoding: 'utf8' })
  assert.notEqual(bad.status, 0)
  assert.match(bad.stdout, /has no exported member named 'store'/)
})
