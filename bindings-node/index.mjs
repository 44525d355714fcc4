// Entry point for `import ... from 'avatar-store'`. It re-exports the very
// objects `require('avatar-store')` returns, so a program that mixes both
// gets one `Store` class. Named imports are static: `import { store }` fails
// when the module is linked, before any code runs.
import { createRequire } from 'node:module'

const avatarStore = createRequire(import.meta.url)('./index.js')

export const { Store, embeddedMigrations, latestVersion, displayDatabase, inspect, inspectSync, restore, restoreSync } = avatarStore

export default avatarStore
