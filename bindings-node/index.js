'use strict'
// Entry point for `require('avatar-store')` (and, through index.mjs, for
// `import`). The exports are listed by name so that index.js, index.mjs and
// index.d.ts can be checked against each other by the tests, and a name this
// package does not export throws at once instead of reading as `undefined`:
// `const { store } = require('avatar-store')` is the incident's
// `import { prisma }` bug, and it must not survive until the first request.

const binding = require('./binding.js')
// The JavaScript class over the native store: it encodes arguments, decodes
// results and makes each operation's Promise and Sync methods.
const { Store, inspect, inspectSync, restore, restoreSync } = require('./store.js')

const api = {
  Store,
  embeddedMigrations: binding.embeddedMigrations,
  latestVersion: binding.latestVersion,
  displayDatabase: binding.displayDatabase,
  inspect,
  inspectSync,
  restore,
  restoreSync,
}

for (const [name, value] of Object.entries(api)) {
  if (typeof value !== 'function') {
    throw new Error(`avatar-store: the native addon does not provide ${name}; rebuild it with \`npm run build\``)
  }
}

const names = Object.keys(api)

// Loaders, test runners and inspectors look for these on any module and
// expect `undefined` when they are absent.
const PROBES = new Set([
  'then',
  'toJSON',
  'constructor',
  'inspect',
  'asymmetricMatch',
  'nodeType',
  'tagName',
  '$$typeof',
  'module.exports',
])

const exported = new Proxy(api, {
  get(target, key, receiver) {
    if (typeof key !== 'string' || key in target || PROBES.has(key) || key.startsWith('__') || key.startsWith('@@')) {
      return Reflect.get(target, key, receiver)
    }
    throw new TypeError(
      `avatar-store has no export named "${key}"; its exports are ${names.join(', ')}. ` +
        "Use `const { Store } = require('avatar-store')`, `import { Store } from 'avatar-store'` " +
        "or `import avatarStore from 'avatar-store'` and `new avatarStore.Store(path)`.",
    )
  },
})

// TypeScript or Babel output of `import avatarStore from 'avatar-store'`
// without interop helpers reads `.default`: it is the same object.
api.default = exported
Object.freeze(api)

module.exports = exported
