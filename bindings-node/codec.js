'use strict'
// The JavaScript half of the binding's conversions (src/codec.rs explains
// why it exists). Records cross napi as one JSON string each way, so that V8
// builds and reads the 26-property avatars instead of one napi call per
// property. Nothing here decides what is valid: encodeNewAvatars only
// declines (returns undefined) anything whose JSON would not read back as the
// very same values, and the native reader then checks it property by property.

const binding = require('./binding.js')

// Kinds, as numbered by src/codec.rs.
const PROJECT = 0
const AVATAR = 1
const AVATARS = 2
const PROJECT_PAGE = 3
const PROJECT_WITH_AVATARS_PAGE = 4
const AVATAR_PAGE = 5

function project(p) {
  p.createdAt = new Date(p.createdAt)
  p.updatedAt = new Date(p.updatedAt)
  return p
}

// An avatar arrives as the array of its values, in this order (checked
// against the binding's own list below).
const AVATAR_KEYS = ['id', 'projectId', 'userId', 'name', 'imageUrl', 'thumbnailUrl', 'personaName', 'personaAge',
  'personaPersonality', 'personaBackground', 'gender', 'ageRange', 'ethnicity', 'bodyType', 'hairStyle', 'hairColor',
  'eyeColor', 'skinTone', 'style', 'sourceType', 'generationPrompt', 'seedUsed', 'usageCount', 'lastUsedAt',
  'createdAt', 'updatedAt']

function avatar(v) {
  return {
    id: v[0],
    projectId: v[1],
    userId: v[2],
    name: v[3],
    imageUrl: v[4],
    thumbnailUrl: v[5],
    personaName: v[6],
    personaAge: v[7],
    personaPersonality: v[8],
    personaBackground: v[9],
    gender: v[10],
    ageRange: v[11],
    ethnicity: v[12],
    bodyType: v[13],
    hairStyle: v[14],
    hairColor: v[15],
    eyeColor: v[16],
    skinTone: v[17],
    style: v[18],
    sourceType: v[19],
    generationPrompt: v[20],
    // Seeds beyond Number.MAX_SAFE_INTEGER arrive as decimal strings.
    seedUsed: typeof v[21] === 'string' ? BigInt(v[21]) : v[21],
    usageCount: v[22],
    lastUsedAt: v[23] === null ? null : new Date(v[23]),
    createdAt: new Date(v[24]),
    updatedAt: new Date(v[25]),
  }
}

/** Replaces each wire avatar of `list` by its object, in place. */
function avatars(list) {
  for (let i = 0; i < list.length; i++) list[i] = avatar(list[i])
  return list
}

function decode(kind, json) {
  const v = JSON.parse(json)
  switch (kind) {
    case PROJECT:
      return project(v)
    case AVATAR:
      return avatar(v)
    case AVATARS:
      return avatars(v)
    case PROJECT_PAGE:
      for (let i = 0; i < v.items.length; i++) project(v.items[i])
      return v
    case PROJECT_WITH_AVATARS_PAGE:
      for (let i = 0; i < v.items.length; i++) avatars(project(v.items[i]).avatars)
      return v
    case AVATAR_PAGE:
      avatars(v.items)
      return v
    default:
      throw new Error(`avatar-store: unknown result kind ${kind}`)
  }
}

const native = binding.__avatarKeys()
if (native.join() !== AVATAR_KEYS.join() || Object.keys(avatar(native.map(() => 0))).join() !== AVATAR_KEYS.join()) {
  throw new Error('avatar-store: codec.js and the native addon disagree on the avatar columns; rebuild with `npm run build`')
}

const fields = binding.__newAvatarFields()
const KNOWN = new Set(fields.known)
const REQUIRED = fields.required

/** True when JSON.stringify(a) reads back as exactly a's values. */
function plain(a) {
  if (typeof a !== 'object' || a === null || Object.getPrototypeOf(a) !== Object.prototype) return false
  if (a.toJSON !== undefined) return false
  for (let i = 0; i < REQUIRED.length; i++) if (typeof a[REQUIRED[i]] !== 'string') return false
  for (const key in a) {
    if (!KNOWN.has(key)) return false
    const v = a[key]
    // Other numbers (fractions, NaN, beyond 2^53) and bigints, booleans and
    // objects are for the native reader to judge.
    if (typeof v !== 'string' && v != null && !Number.isSafeInteger(v)) return false
  }
  return true
}

function encodeNewAvatars(value, many) {
  if (!many) return plain(value) ? JSON.stringify(value) : undefined
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype) return undefined
  for (let i = 0; i < value.length; i++) if (!plain(value[i])) return undefined
  return JSON.stringify(value)
}

binding.__setCodec(decode, encodeNewAvatars)

module.exports = binding
