//! Workloads W1–W6 of benches/README.md on PostgreSQL, each timed in one
//! group for the store and for hand-written `postgres`-crate SQL with
//! prepared statements (prepared once, before the timing) on two schemas:
//! the store's own (`postgres_store_schema`) and the one a developer writes
//! by hand for these workloads (`postgres_hand_schema`: the two tables with
//! the store's column types, their keys, the foreign key and one
//! `(projectId, createdAt, id)` index). The hand-written schema is the one
//! the targets count against.
//!
//! `AVATAR_STORE_BENCH_PG_URL` (or `AVATAR_STORE_TEST_PG_URL`) names the
//! server; the bench creates a database of its own there and drops it at the
//! end. Without either variable it says so and measures nothing.
//!
//! `cargo bench -p avatar-store --bench postgres`; `BENCH_N` sets the number
//! of avatars per iteration (default 1,000). Each workload starts from empty
//! tables (TRUNCATE, untimed) in one schema per contender: `store`, `base`
//! (the store's schema, migrated by the store) and `hand`.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

use avatar_store::{Avatar, AvatarQuery, NewAvatar, NewProject, Project, ProjectQuery, Store, Uuid};
use chrono::{DateTime, Utc};
use common::{USER, n, new_avatar, paired_header, paired_row, shuffled};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use postgres::{Client, NoTls, Row, Statement};

#[allow(dead_code)]
#[path = "../tests/common/pg.rs"]
mod pg;

const URL_VARS: [&str; 2] = ["AVATAR_STORE_BENCH_PG_URL", "AVATAR_STORE_TEST_PG_URL"];

/// The hand-written schema: the store's columns and types, keys, the
/// foreign key and the one index the project listing needs.
const HAND_SCHEMA: &str = r#"
CREATE SCHEMA hand;
CREATE TABLE hand.projects (
    "id" TEXT PRIMARY KEY, "userId" TEXT NOT NULL, "name" TEXT NOT NULL, "description" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL, "updatedAt" TIMESTAMPTZ(3) NOT NULL);
CREATE TABLE hand.avatars (
    "id" TEXT PRIMARY KEY,
    "projectId" TEXT NOT NULL REFERENCES hand.projects("id") ON DELETE CASCADE,
    "userId" TEXT NOT NULL, "name" TEXT NOT NULL, "imageUrl" TEXT, "thumbnailUrl" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL, "updatedAt" TIMESTAMPTZ(3) NOT NULL,
    "personaName" TEXT, "personaAge" INTEGER, "personaPersonality" TEXT, "personaBackground" TEXT,
    "gender" TEXT, "ageRange" TEXT, "ethnicity" TEXT, "bodyType" TEXT, "hairStyle" TEXT, "hairColor" TEXT,
    "eyeColor" TEXT, "skinTone" TEXT, "style" TEXT, "sourceType" TEXT, "generationPrompt" TEXT,
    "seedUsed" BIGINT, "usageCount" INTEGER NOT NULL DEFAULT 0, "lastUsedAt" TIMESTAMPTZ(3));
CREATE INDEX avatars_project_created ON hand.avatars ("projectId", "createdAt", "id");
"#;

const COLS: &str = r#""id", "projectId", "userId", "name", "imageUrl", "thumbnailUrl", "personaName", "personaAge",
    "personaPersonality", "personaBackground", "gender", "ageRange", "ethnicity", "bodyType", "hairStyle",
    "hairColor", "eyeColor", "skinTone", "style", "sourceType", "generationPrompt", "seedUsed", "usageCount",
    "lastUsedAt", "createdAt", "updatedAt""#;

/// The bench's own database on the server, dropped at the end.
struct BenchDb {
    server: String,
    name: String,
    url: String,
}

impl BenchDb {
    fn create() -> Option<BenchDb> {
        let Some(server) = URL_VARS.iter().find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty())) else {
            eprintln!(
                "postgres bench skipped: set {} (or {}) to a PostgreSQL server URL; \
                 `scripts/pg.sh start DIR` starts a throwaway one",
                URL_VARS[0], URL_VARS[1]
            );
            return None;
        };
        let name = format!("avatar_store_bench_{}", Uuid::new_v4().simple());
        pg::connect(&server).batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = pg::with_database(&server, &name);
        Some(BenchDb { server, name, url })
    }

    /// A client working in `schema`.
    fn client(&self, schema: &str) -> Client {
        let mut c = Client::connect(&self.url, NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO {schema}")).unwrap();
        c
    }

    fn store(&self) -> Store {
        Store::options().schema("store").open(&self.url).unwrap()
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.server, NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A hand-written client: its statements prepared once, on one connection.
struct Base {
    c: Client,
    insert: Statement,
    get: Statement,
    first_page: Statement,
    next_page: Statement,
    usage: Statement,
    projects: Statement,
    avatars_of: Statement,
}

impl Base {
    fn new(db: &BenchDb, schema: &str) -> Base {
        let mut c = db.client(schema);
        let insert = c
            .prepare(&format!(
                "INSERT INTO avatars ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $17, $18, $19, $20, $21, $22, 0, NULL, $23, $23)"
            ))
            .unwrap();
        let get = c.prepare(&format!(r#"SELECT {COLS} FROM avatars WHERE "id" = $1 AND "userId" = $2"#)).unwrap();
        let first_page = c
            .prepare(&format!(
                r#"SELECT {COLS} FROM avatars WHERE "userId" = $1 AND "projectId" = $2
                   ORDER BY "createdAt", "id" LIMIT 50"#
            ))
            .unwrap();
        let next_page = c
            .prepare(&format!(
                r#"SELECT {COLS} FROM avatars WHERE "userId" = $1 AND "projectId" = $2
                   AND ("createdAt", "id") > ($3, $4) ORDER BY "createdAt", "id" LIMIT 50"#
            ))
            .unwrap();
        let usage = c
            .prepare(
                r#"UPDATE avatars SET "usageCount" = "usageCount" + 1, "lastUsedAt" = $1
                   WHERE "id" = $2 AND "userId" = $3"#,
            )
            .unwrap();
        let projects = c
            .prepare(
                r#"SELECT "id", "userId", "name", "description", "createdAt", "updatedAt" FROM projects
                   WHERE "userId" = $1 ORDER BY "createdAt" DESC, "id" DESC LIMIT 100"#,
            )
            .unwrap();
        let avatars_of = c
            .prepare(&format!(
                r#"SELECT {COLS} FROM avatars WHERE "userId" = $1 AND "projectId" = ANY($2)
                   ORDER BY "projectId", "createdAt", "id""#
            ))
            .unwrap();
        Base { c, insert, get, first_page, next_page, usage, projects, avatars_of }
    }

    fn insert(c: &mut impl postgres::GenericClient, st: &Statement, a: &NewAvatar) {
        let id = Uuid::now_v7().to_string();
        let age = a.persona_age.map(|v| v as i32);
        c.execute(
            st,
            &[
                &id,
                &a.project_id.to_string(),
                &USER,
                &a.name,
                &a.image_url,
                &a.thumbnail_url,
                &a.persona_name,
                &age,
                &a.persona_personality,
                &a.persona_background,
                &a.gender,
                &a.age_range,
                &a.ethnicity,
                &a.body_type,
                &a.hair_style,
                &a.hair_color,
                &a.eye_color,
                &a.skin_tone,
                &a.style,
                &a.source_type,
                &a.generation_prompt,
                &a.seed_used,
                &Utc::now(),
            ],
        )
        .unwrap();
    }

    fn pages(&mut self, project_id: &Uuid) -> usize {
        let pid = project_id.to_string();
        let mut after: Option<(DateTime<Utc>, String)> = None;
        let mut rows = 0;
        loop {
            let page: Vec<Avatar> = match &after {
                None => self.c.query(&self.first_page, &[&USER, &pid]),
                Some((t, id)) => self.c.query(&self.next_page, &[&USER, &pid, t, id]),
            }
            .unwrap()
            .iter()
            .map(avatar)
            .collect();
            rows += page.len();
            match page.last() {
                Some(last) if page.len() == 50 => after = Some((last.created_at, last.id.to_string())),
                _ => break,
            }
        }
        rows
    }

    fn projects_with_avatars(&mut self) -> Vec<(Project, Vec<Avatar>)> {
        let projects: Vec<Project> = self.c.query(&self.projects, &[&USER]).unwrap().iter().map(project).collect();
        let ids: Vec<String> = projects.iter().map(|p| p.id.to_string()).collect();
        let mut by_project: HashMap<Uuid, Vec<Avatar>> = HashMap::with_capacity(projects.len());
        for r in self.c.query(&self.avatars_of, &[&USER, &ids]).unwrap() {
            let a = avatar(&r);
            by_project.entry(a.project_id).or_default().push(a);
        }
        projects
            .into_iter()
            .map(|p| {
                let avatars = by_project.remove(&p.id).unwrap_or_default();
                (p, avatars)
            })
            .collect()
    }
}

fn avatar(r: &Row) -> Avatar {
    let id = |i| Uuid::parse_str(r.get::<_, &str>(i)).unwrap();
    Avatar {
        id: id(0),
        project_id: id(1),
        user_id: r.get(2),
        name: r.get(3),
        image_url: r.get(4),
        thumbnail_url: r.get(5),
        persona_name: r.get(6),
        persona_age: r.get::<_, Option<i32>>(7).map(i64::from),
        persona_personality: r.get(8),
        persona_background: r.get(9),
        gender: r.get(10),
        age_range: r.get(11),
        ethnicity: r.get(12),
        body_type: r.get(13),
        hair_style: r.get(14),
        hair_color: r.get(15),
        eye_color: r.get(16),
        skin_tone: r.get(17),
        style: r.get(18),
        source_type: r.get(19),
        generation_prompt: r.get(20),
        seed_used: r.get(21),
        usage_count: i64::from(r.get::<_, i32>(22)),
        last_used_at: r.get(23),
        created_at: r.get(24),
        updated_at: r.get(25),
    }
}

fn project(r: &Row) -> Project {
    Project {
        id: Uuid::parse_str(r.get::<_, &str>(0)).unwrap(),
        user_id: r.get(1),
        name: r.get(2),
        description: r.get(3),
        created_at: r.get(4),
        updated_at: r.get(5),
    }
}

/// The contenders of every group, in the order they run.
#[derive(Clone, Copy)]
enum Who {
    Store,
    Base(&'static str, &'static str),
}

const WHO: [Who; 3] =
    [Who::Store, Who::Base("postgres_store_schema", "base"), Who::Base("postgres_hand_schema", "hand")];

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Store => "store",
            Who::Base(label, _) => label,
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Who::Store => "store",
            Who::Base(_, schema) => schema,
        }
    }
}

/// Empties `schema`'s tables, untimed.
fn truncate(admin: &mut Client, schema: &str) {
    admin.batch_execute(&format!("TRUNCATE {schema}.avatars, {schema}.projects")).unwrap();
}

/// A project of `USER` in `schema`, untimed; its id.
fn base_project(admin: &mut Client, schema: &str) -> Uuid {
    let id = Uuid::now_v7();
    admin
        .execute(
            &format!(
                r#"INSERT INTO {schema}.projects ("id", "userId", "name", "description", "createdAt", "updatedAt")
                   VALUES ($1, $2, 'P', NULL, $3, $3)"#
            ),
            &[&id.to_string(), &USER, &Utc::now()],
        )
        .unwrap();
    id
}

/// Fills every schema with the same rows: written by the store into its
/// own, copied into the others; then analyzed, so that every contender's
/// planner sees the table as it is.
fn seed(admin: &mut Client, store: &Store, projects: usize, avatars_each: usize) -> Vec<(Uuid, Vec<Uuid>)> {
    for who in WHO {
        truncate(admin, who.schema());
    }
    let mut out = Vec::new();
    for p in 0..projects {
        let proj = store.create_project(USER, &NewProject { name: format!("P{p}"), description: None }).unwrap();
        let made =
            store.create_avatars(USER, &(0..avatars_each).map(|i| new_avatar(proj.id, i)).collect::<Vec<_>>()).unwrap();
        out.push((proj.id, made.into_iter().map(|a| a.id).collect()));
    }
    for schema in ["base", "hand"] {
        admin
            .batch_execute(&format!(
                "INSERT INTO {schema}.projects SELECT * FROM store.projects; \
                 INSERT INTO {schema}.avatars ({COLS}) SELECT {COLS} FROM store.avatars;"
            ))
            .unwrap();
    }
    // Flushed now, so that writing these pages back does not land on
    // whichever contender happens to run first.
    admin.batch_execute("VACUUM ANALYZE").unwrap();
    admin.batch_execute("CHECKPOINT").unwrap();
    out
}

/// W1–W6.
#[derive(Clone, Copy, PartialEq)]
enum W {
    CreateEach,
    CreateBatch,
    GetById,
    ListPage,
    RecordUsage,
    ProjectsWithAvatars,
}

impl W {
    const ALL: [W; 6] =
        [W::CreateEach, W::CreateBatch, W::GetById, W::ListPage, W::RecordUsage, W::ProjectsWithAvatars];

    fn group(self) -> &'static str {
        match self {
            W::CreateEach => "pg_W1_create_each",
            W::CreateBatch => "pg_W2_create_batch",
            W::GetById => "pg_W3_get_by_id",
            W::ListPage => "pg_W4_list_page",
            W::RecordUsage => "pg_W5_record_usage",
            W::ProjectsWithAvatars => "pg_W6_list_projects_with_avatars",
        }
    }

    /// Operations per timed run, for ops/s.
    fn ops(self, n: usize) -> usize {
        if self == W::ProjectsWithAvatars { 1 } else { n }
    }
}

/// Everything the workloads run on.
struct Ctx {
    n: usize,
    store: Store,
    bases: Vec<RefCell<Base>>,
    admin: RefCell<Client>,
    project_id: Uuid,
    order: Vec<Uuid>,
    /// W6 calls per timed run: 1 under criterion (which repeats runs
    /// itself), `BENCH_R` in paired runs.
    reps: usize,
}

impl Ctx {
    fn reps_of(&self, w: W) -> usize {
        if w == W::ProjectsWithAvatars { self.reps } else { 1 }
    }

    /// The data a workload reads, in every schema: W3–W5 one project of
    /// `n` avatars, W6 a user with 100 projects x 20 avatars.
    fn seed_for(&mut self, w: W) {
        match w {
            W::GetById => {
                let seeded = seed(&mut self.admin.borrow_mut(), &self.store, 1, self.n);
                self.project_id = seeded[0].0;
                self.order = shuffled(&seeded[0].1);
            }
            W::ProjectsWithAvatars => {
                seed(&mut self.admin.borrow_mut(), &self.store, 100, 20);
            }
            _ => {}
        }
    }

    /// The untimed part of one run: the avatars W1 and W2 write, in a fresh
    /// project of emptied tables.
    fn setup(&self, w: W, who: Who) -> Vec<NewAvatar> {
        if !matches!(w, W::CreateEach | W::CreateBatch) {
            return Vec::new();
        }
        let admin = &mut self.admin.borrow_mut();
        truncate(admin, who.schema());
        let pid = match who {
            Who::Store => {
                self.store.create_project(USER, &NewProject { name: "P".into(), description: None }).unwrap().id
            }
            Who::Base(..) => base_project(admin, who.schema()),
        };
        (0..self.n).map(|i| new_avatar(pid, i)).collect()
    }

    /// The timed part of one run.
    fn run(&self, w: W, who: Who, input: &[NewAvatar]) {
        let store = &self.store;
        let mut base = match who {
            Who::Store => None,
            Who::Base(..) => Some(self.bases[if who.schema() == "base" { 0 } else { 1 }].borrow_mut()),
        };
        match (w, base.as_deref_mut()) {
            (W::CreateEach, None) => {
                for a in input {
                    std::hint::black_box(store.create_avatar(USER, a).unwrap());
                }
            }
            (W::CreateEach, Some(b)) => {
                for a in input {
                    Base::insert(&mut b.c, &b.insert, a);
                }
            }
            (W::CreateBatch, None) => {
                std::hint::black_box(store.create_avatars(USER, input).unwrap());
            }
            (W::CreateBatch, Some(b)) => {
                let mut tx = b.c.transaction().unwrap();
                for a in input {
                    Base::insert(&mut tx, &b.insert, a);
                }
                tx.commit().unwrap();
            }
            (W::GetById, None) => {
                for id in &self.order {
                    std::hint::black_box(store.get_avatar(USER, id).unwrap());
                }
            }
            (W::GetById, Some(b)) => {
                for id in &self.order {
                    let row = b.c.query_opt(&b.get, &[&id.to_string(), &USER]).unwrap().unwrap();
                    std::hint::black_box(avatar(&row));
                }
            }
            (W::ListPage, None) => {
                let mut q = AvatarQuery { project_id: Some(self.project_id), limit: Some(50), ..Default::default() };
                let mut rows = 0;
                loop {
                    let page = store.list_avatars(USER, &q).unwrap();
                    rows += page.items.len();
                    std::hint::black_box(page.items);
                    match page.next_cursor {
                        Some(c) => q.cursor = Some(c),
                        None => break,
                    }
                }
                assert_eq!(rows, self.n);
            }
            (W::ListPage, Some(b)) => assert_eq!(b.pages(&self.project_id), self.n),
            (W::RecordUsage, None) => {
                for id in &self.order {
                    std::hint::black_box(store.record_usage(USER, id).unwrap());
                }
            }
            (W::RecordUsage, Some(b)) => {
                for id in &self.order {
                    let n = b.c.execute(&b.usage, &[&Utc::now(), &id.to_string(), &USER]).unwrap();
                    assert_eq!(n, 1);
                }
            }
            (W::ProjectsWithAvatars, None) => {
                for _ in 0..self.reps {
                    let page = store
                        .list_projects_with_avatars(USER, &ProjectQuery { limit: Some(100), cursor: None })
                        .unwrap();
                    assert_eq!(page.items.len(), 100);
                    assert!(page.items.iter().all(|p| p.avatars.len() == 20));
                    std::hint::black_box(page);
                }
            }
            (W::ProjectsWithAvatars, Some(b)) => {
                for _ in 0..self.reps {
                    let out = b.projects_with_avatars();
                    assert_eq!(out.len(), 100);
                    assert!(out.iter().all(|(_, a)| a.len() == 20));
                    std::hint::black_box(out);
                }
            }
        }
    }
}

/// CPU seconds (user + system) of process `pid` so far, from /proc; None
/// where there is no /proc or the process is not ours to read (a server on
/// another machine).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU seconds of this process and of every server backend on the bench's
/// database (the store's pool, the baselines' clients), when readable.
fn cpu_now(admin: &mut Client) -> Option<f64> {
    let pids = admin.query("SELECT pid::text FROM pg_stat_activity WHERE datname = current_database()", &[]).ok()?;
    let server: Option<f64> = pids.iter().map(|r| cpu_seconds(r.get(0))).sum();
    Some(cpu_seconds("self")? + server?)
}

/// `BENCH_PAIRED=<rounds>`: instead of criterion's groups (each contender
/// timed in turn, seconds apart), runs every workload in rounds of one run
/// per contender, in rotating order, and prints the median of the per-round
/// ratios: on a shared, noisy machine the contenders of one round see the
/// same load, where criterion's see whatever each moment brings. Also the
/// CPU time the bench process and its server backends spent per run (when
/// the server is local), which other processes' load disturbs much less
/// than wall time. W6 lists `BENCH_R` times per run (default 200).
fn paired(ctx: &mut Ctx, rounds: usize) {
    println!(
        "paired runs: N = {}, R = {}, {rounds} rounds; ratio = baseline / store (>= 0.91: the store within 1.1x)",
        ctx.n, ctx.reps
    );
    paired_header();
    for w in W::ALL {
        ctx.seed_for(w);
        let mut wall = vec![Vec::new(); WHO.len()];
        let mut cpu = vec![Vec::new(); WHO.len()];
        for r in 0..rounds {
            for k in 0..WHO.len() {
                let i = (r + k) % WHO.len();
                let input = ctx.setup(w, WHO[i]);
                let c0 = cpu_now(&mut ctx.admin.borrow_mut());
                let t = Instant::now();
                ctx.run(w, WHO[i], &input);
                wall[i].push(t.elapsed().as_secs_f64());
                let c1 = cpu_now(&mut ctx.admin.borrow_mut());
                cpu[i].push(c0.zip(c1).map(|(a, b)| b - a).unwrap_or(f64::NAN));
            }
        }
        paired_row(w.group(), (w.ops(ctx.n) * ctx.reps_of(w)) as f64, &wall, &cpu);
    }
}

fn workloads(c: &mut Criterion) {
    let Some(db) = BenchDb::create() else { return };
    let store = db.store();
    // The store's schema for the baseline, made by the store's migrations.
    drop(Store::options().schema("base").open(&db.url).unwrap());
    let mut admin = db.client("public");
    admin.batch_execute(HAND_SCHEMA).unwrap();
    let bases = WHO[1..].iter().map(|w| RefCell::new(Base::new(&db, w.schema()))).collect();
    let mut ctx =
        Ctx { n: n(), store, bases, admin: RefCell::new(admin), project_id: Uuid::nil(), order: Vec::new(), reps: 1 };

    if let Some(rounds) = std::env::var("BENCH_PAIRED").ok().and_then(|v| v.parse().ok()) {
        ctx.reps = std::env::var("BENCH_R").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
        paired(&mut ctx, rounds);
        return;
    }
    for w in W::ALL {
        ctx.seed_for(w);
        let mut g = c.benchmark_group(w.group());
        g.throughput(Throughput::Elements(w.ops(ctx.n) as u64));
        if w != W::ProjectsWithAvatars {
            g.sample_size(10);
        }
        for who in WHO {
            g.bench_function(who.label(), |b| {
                b.iter_batched_ref(|| ctx.setup(w, who), |input| ctx.run(w, who, input), BatchSize::PerIteration)
            });
        }
        g.finish();
    }
}

criterion_group!(benches, workloads);
criterion_main!(benches);
