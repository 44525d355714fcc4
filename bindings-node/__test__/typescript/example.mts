// Type-checked with `tsc --strict --noEmit`: the package's declarations in
// the way a TypeScript user writes against them.
import avatarStore, { Store } from 'avatar-store'
import type { Avatar, AvatarStoreError, Counts, NewAvatar, ProjectWithAvatars, SchemaReport } from 'avatar-store'

const store: Store = await Store.open('/tmp/example.db', { busyTimeoutMs: 1000 })
const same: Store = new avatarStore.Store(':memory:')
const project = await store.createProject('user-1', { name: 'Launch', description: null })
const input: NewAvatar = {
  projectId: project.id,
  name: 'Nova',
  personaAge: 29,
  hairColor: 'silver',
  sourceType: 'generated',
  seedUsed: 2n ** 62n,
}
const avatar: Avatar = await store.createAvatar('user-1', input)
const created: Date = avatar.createdAt
const age: number | null = avatar.personaAge
const page = store.listAvatarsSync('user-1', { hairColor: 'silver', sort: 'usageCount', order: 'desc', limit: 10 })
const next: string | null = page.nextCursor
const projects: ProjectWithAvatars[] = (await store.listProjectsWithAvatars('user-1')).items
const report: SchemaReport = await store.checkSchema()
try {
  await store.getAvatar('user-2', avatar.id)
} catch (err) {
  const e = err as AvatarStoreError
  if (e.code === 'SCHEMA_DRIFT') console.log(e.report?.missingColumns.map((c) => c.column))
  if (e.code === 'VALIDATION') console.log(e.field)
}
const counts: Counts = await store.importFrom('user-1', 'export.jsonl').catch((err) => {
  const e = err as AvatarStoreError
  console.log(e.line, e.field)
  return store.countSync('user-1')
})
for await (const line of store.exportLines('user-1')) {
  const text: string = line
  console.log(text, counts.projects)
}
// @ts-expect-error: a misspelt property is a compile error too
await store.createAvatar('user-1', { projectId: project.id, name: 'x', hairColour: 'red' })
// @ts-expect-error: sort keys are checked
store.listAvatarsSync('user-1', { sort: 'name' })
console.log(same, created, age, next, projects, report)
