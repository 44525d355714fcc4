//! Workloads W1–W6 of benches/README.md, each timed in one group for the
//! store and for hand-written rusqlite SQL (cached prepared statements, same
//! pragmas) on two schemas: the store's own (`rusqlite_store_schema`) and the
//! one a developer writes by hand for these workloads (`rusqlite_hand_schema`:
//! the two tables, their keys, the foreign key and one `(projectId,
//! createdAt, id)` index), so one run shows both ratios
//! (`benches/criterion_ratios.py` prints them). Also: sorted listings of a
//! user with 10,000 avatars, the cost of opening an up-to-date database, and,
//! with `BENCH_W4_SIZES` set, W4 page latency at several table sizes.
//!
//! `cargo bench -p avatar-store --bench workloads`; `BENCH_N` sets the number
//! of avatars per iteration (default 1,000: criterion repeats each iteration).

use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use avatar_store::{
    Avatar, AvatarQuery, AvatarSort, NewAvatar, NewProject, ProjectQuery, SortOrder, Store, Uuid, format_timestamp,
    parse_timestamp,
};
use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::{Connection, OptionalExtension, Row, params};

mod common;
use common::{USER, n, new_avatar, paired_header, paired_row, shuffled};

/// A fresh file with the store's schema.
fn fresh(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    drop(Store::open(&path).unwrap());
    path
}

/// The schema a developer writes by hand for W1–W6, shared with the binding
/// benches.
const HAND_SCHEMA: &str = include_str!("../../benches/hand_schema.sql");

/// The two baseline schemas: the store's own, and the hand-written one.
#[derive(Clone, Copy)]
enum Schema {
    Store,
    Hand,
}

impl Schema {
    const BOTH: [Schema; 2] = [Schema::Store, Schema::Hand];

    fn label(self) -> &'static str {
        match self {
            Schema::Store => "rusqlite_store_schema",
            Schema::Hand => "rusqlite_hand_schema",
        }
    }

    /// A fresh file with this schema.
    fn fresh(self, dir: &Path, name: &str) -> std::path::PathBuf {
        match self {
            Schema::Store => fresh(dir, name),
            Schema::Hand => {
                let path = dir.join(name);
                baseline_conn(&path).execute_batch(HAND_SCHEMA).unwrap();
                path
            }
        }
    }

    /// A file with this schema holding the rows of the store file `src`
    /// (inserted untimed, in one transaction), so both read the same data.
    fn copy_of(self, dir: &Path, src: &Path, name: &str) -> std::path::PathBuf {
        match self {
            Schema::Store => src.to_path_buf(),
            Schema::Hand => {
                let path = self.fresh(dir, name);
                let c = baseline_conn(&path);
                c.execute("ATTACH ?1 AS src", [src.to_str().unwrap()]).unwrap();
                c.execute_batch(&format!(
                    "BEGIN; \
                     INSERT INTO projects SELECT id, userId, name, description, createdAt, updatedAt FROM src.projects; \
                     INSERT INTO avatars ({COLS}) SELECT {COLS} FROM src.avatars; \
                     COMMIT; DETACH src;"
                ))
                .unwrap();
                path
            }
        }
    }
}

fn baseline_conn(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").unwrap();
    c.set_prepared_statement_cache_capacity(64);
    c
}

const COLS: &str = "id, projectId, userId, name, imageUrl, thumbnailUrl, personaName, personaAge, personaPersonality, \
    personaBackground, gender, ageRange, ethnicity, bodyType, hairStyle, hairColor, eyeColor, skinTone, style, \
    sourceType, generationPrompt, seedUsed, usageCount, lastUsedAt, createdAt, updatedAt";

fn baseline_insert(c: &Connection, a: &NewAvatar) {
    let id = Uuid::now_v7();
    let now = format_timestamp(&Utc::now());
    c.prepare_cached(&format!(
        "INSERT INTO avatars ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
         ?17, ?18, ?19, ?20, ?21, ?22, 0, NULL, ?23, ?23)"
    ))
    .unwrap()
    .execute(params![
        id.to_string(),
        a.project_id.to_string(),
        USER,
        a.name,
        a.image_url,
        a.thumbnail_url,
        a.persona_name,
        a.persona_age,
        a.persona_personality,
        a.persona_background,
        a.gender,
        a.age_range,
        a.ethnicity,
        a.body_type,
        a.hair_style,
        a.hair_color,
        a.eye_color,
        a.skin_tone,
        a.style,
        a.source_type,
        a.generation_prompt,
        a.seed_used,
        now
    ])
    .unwrap();
}

fn baseline_row(r: &Row<'_>) -> rusqlite::Result<Avatar> {
    let id = |i| r.get::<_, String>(i).map(|s| Uuid::parse_str(&s).unwrap());
    let t = |i| r.get::<_, Option<String>>(i).map(|s| s.map(|s| parse_timestamp(&s).unwrap()));
    Ok(Avatar {
        id: id(0)?,
        project_id: id(1)?,
        user_id: r.get(2)?,
        name: r.get(3)?,
        image_url: r.get(4)?,
        thumbnail_url: r.get(5)?,
        persona_name: r.get(6)?,
        persona_age: r.get(7)?,
        persona_personality: r.get(8)?,
        persona_background: r.get(9)?,
        gender: r.get(10)?,
        age_range: r.get(11)?,
        ethnicity: r.get(12)?,
        body_type: r.get(13)?,
        hair_style: r.get(14)?,
        hair_color: r.get(15)?,
        eye_color: r.get(16)?,
        skin_tone: r.get(17)?,
        style: r.get(18)?,
        source_type: r.get(19)?,
        generation_prompt: r.get(20)?,
        seed_used: r.get(21)?,
        usage_count: r.get(22)?,
        last_used_at: t(23)?,
        created_at: t(24)?.unwrap(),
        updated_at: t(25)?.unwrap(),
    })
}

/// One project with `n` avatars, inserted untimed in one transaction.
fn seeded(dir: &Path, name: &str, n: usize) -> (std::path::PathBuf, Uuid, Vec<Uuid>) {
    let path = fresh(dir, name);
    let store = Store::open(&path).unwrap();
    let p = store.create_project(USER, &NewProject { name: "P".into(), description: None }).unwrap();
    let made = store.create_avatars(USER, &(0..n).map(|i| new_avatar(p.id, i)).collect::<Vec<_>>()).unwrap();
    (path, p.id, made.into_iter().map(|a| a.id).collect())
}

/// A project of `USER` on a baseline connection; its id.
fn baseline_project(c: &Connection) -> Uuid {
    let pid = Uuid::now_v7();
    let now = format_timestamp(&Utc::now());
    c.execute("INSERT INTO projects VALUES (?1, ?2, 'P', NULL, ?3, ?3)", params![pid.to_string(), USER, now]).unwrap();
    pid
}

fn baseline_get(c: &Connection, id: &Uuid) -> Avatar {
    c.prepare_cached(&format!("SELECT {COLS} FROM avatars WHERE id = ?1 AND userId = ?2"))
        .unwrap()
        .query_row(params![id.to_string(), USER], baseline_row)
        .optional()
        .unwrap()
        .unwrap()
}

/// Pages through every avatar of `project_id`, 50 at a time; the row count.
fn baseline_pages(c: &Connection, project_id: &Uuid) -> usize {
    let mut after: Option<(String, String)> = None;
    let mut rows = 0;
    loop {
        let page: Vec<Avatar> = match &after {
            None => c
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM avatars WHERE userId = ?1 AND projectId = ?2 ORDER BY createdAt, id LIMIT 50"
                ))
                .unwrap()
                .query_map(params![USER, project_id.to_string()], baseline_row)
                .unwrap()
                .map(Result::unwrap)
                .collect(),
            Some((t, id)) => c
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM avatars WHERE userId = ?1 AND projectId = ?2 \
                     AND (createdAt, id) > (?3, ?4) ORDER BY createdAt, id LIMIT 50"
                ))
                .unwrap()
                .query_map(params![USER, project_id.to_string(), t, id], baseline_row)
                .unwrap()
                .map(Result::unwrap)
                .collect(),
        };
        rows += page.len();
        match page.last() {
            Some(last) if page.len() == 50 => after = Some((format_timestamp(&last.created_at), last.id.to_string())),
            _ => break,
        }
    }
    rows
}

fn baseline_record_usage(c: &Connection, id: &Uuid) {
    let now = format_timestamp(&Utc::now());
    let changed = c
        .prepare_cached("UPDATE avatars SET usageCount = usageCount + 1, lastUsedAt = ?1 WHERE id = ?2 AND userId = ?3")
        .unwrap()
        .execute(params![now, id.to_string(), USER])
        .unwrap();
    assert_eq!(changed, 1);
}

fn baseline_projects_with_avatars(c: &Connection) -> Vec<(avatar_store::Project, Vec<Avatar>)> {
    let projects: Vec<(String, String, Option<String>, String, String)> = c
        .prepare_cached(
            "SELECT id, name, description, createdAt, updatedAt FROM projects WHERE userId = ?1 \
             ORDER BY createdAt DESC, id DESC LIMIT 100",
        )
        .unwrap()
        .query_map([USER], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    projects
        .into_iter()
        .map(|(id, name, description, created, updated)| {
            let avatars = c
                .prepare_cached(&format!(
                    "SELECT {COLS} FROM avatars WHERE projectId = ?1 AND userId = ?2 ORDER BY createdAt, id"
                ))
                .unwrap()
                .query_map(params![id, USER], baseline_row)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let p = avatar_store::Project {
                id: Uuid::parse_str(&id).unwrap(),
                user_id: USER.into(),
                name,
                description,
                created_at: parse_timestamp(&created).unwrap(),
                updated_at: parse_timestamp(&updated).unwrap(),
            };
            (p, avatars)
        })
        .collect()
}

/// The timed part of one run of a workload by one contender; whatever it
/// owns (a fresh store or connection) is dropped inside the timing, as
/// criterion's `iter_with_setup` does with what its routine takes.
type Timed<'a> = Box<dyn FnOnce() + 'a>;

/// A contender's label and its untimed setup, which returns the timed run.
type Contender<'a> = (&'static str, Box<dyn FnMut() -> Timed<'a> + 'a>);

/// One workload: per contender (the store, then the baselines on the store's
/// schema and on the hand-written one), an untimed setup that returns the
/// timed run. Both modes, criterion's and `BENCH_PAIRED`, run these.
struct Workload<'a> {
    group: &'static str,
    /// Records per run (calls for W6), for ops/s.
    elements: u64,
    /// Criterion's sample size, for workloads whose runs take seconds.
    sample_size: Option<usize>,
    contenders: Vec<Contender<'a>>,
}

/// The data W3–W6 read: one project of `n` avatars (W3–W5) and a user with
/// 100 projects of 20 avatars (W6), for the store and as copies on both
/// baseline schemas.
struct Fixtures {
    project_id: Uuid,
    order: Vec<Uuid>,
    store: Store,
    bases: Vec<(Schema, Connection)>,
    w6_store: Store,
    w6_bases: Vec<(Schema, Connection)>,
}

impl Fixtures {
    fn new(dir: &Path, n: usize) -> Fixtures {
        let (path, project_id, ids) = seeded(dir, "read.db", n);
        let w6_path = fresh(dir, "w6.db");
        let w6 = Store::open(&w6_path).unwrap();
        for p in 0..100 {
            let proj = w6.create_project(USER, &NewProject { name: format!("P{p}"), description: None }).unwrap();
            w6.create_avatars(USER, &(0..20).map(|i| new_avatar(proj.id, i)).collect::<Vec<_>>()).unwrap();
        }
        // Closed and opened again, so that no background checkpoint of the
        // seeding runs during the timing.
        drop(w6);
        let copies = |src: &Path, name: &str| -> Vec<(Schema, Connection)> {
            Schema::BOTH.into_iter().map(|s| (s, baseline_conn(&s.copy_of(dir, src, name)))).collect()
        };
        Fixtures {
            project_id,
            order: shuffled(&ids),
            store: Store::open(&path).unwrap(),
            bases: copies(&path, "read-hand.db"),
            w6_store: Store::open(&w6_path).unwrap(),
            w6_bases: copies(&w6_path, "w6-hand.db"),
        }
    }
}

/// W1–W6 over `fx`, each run of W6 listing `w6_reps` times.
fn all_workloads<'a>(dir: &'a Path, n: usize, fx: &'a Fixtures, w6_reps: usize) -> Vec<Workload<'a>> {
    let mut out = Vec::new();
    for (group, batch) in [("W1_create_each", false), ("W2_create_batch", true)] {
        let mut contenders: Vec<Contender<'a>> = vec![(
            "store",
            Box::new(move || {
                let s = Store::open(dir.join(format!("w-{}", Uuid::now_v7()))).unwrap();
                let p = s.create_project(USER, &NewProject { name: "P".into(), description: None }).unwrap();
                let input: Vec<_> = (0..n).map(|i| new_avatar(p.id, i)).collect();
                Box::new(move || {
                    if batch {
                        s.create_avatars(USER, &input).unwrap();
                    } else {
                        for a in &input {
                            s.create_avatar(USER, a).unwrap();
                        }
                    }
                })
            }),
        )];
        for schema in Schema::BOTH {
            contenders.push((
                schema.label(),
                Box::new(move || {
                    let mut c = baseline_conn(&schema.fresh(dir, &format!("w-{}", Uuid::now_v7())));
                    let pid = baseline_project(&c);
                    let input: Vec<_> = (0..n).map(|i| new_avatar(pid, i)).collect();
                    Box::new(move || {
                        if batch {
                            let tx = c.transaction().unwrap();
                            for a in &input {
                                baseline_insert(&tx, a);
                            }
                            tx.commit().unwrap();
                        } else {
                            for a in &input {
                                baseline_insert(&c, a);
                            }
                        }
                    })
                }),
            ));
        }
        out.push(Workload { group, elements: n as u64, sample_size: Some(10), contenders });
    }

    type Read<'a> = Box<dyn Fn(&'a Store) + 'a>;
    type BaseRead<'a> = Box<dyn Fn(&'a Connection) + 'a>;
    let order = &fx.order;
    let pid = fx.project_id;
    let reads: [(&'static str, Option<usize>, Read<'a>, BaseRead<'a>); 3] = [
        (
            "W3_get_by_id",
            None,
            Box::new(move |s| order.iter().for_each(|id| drop(std::hint::black_box(s.get_avatar(USER, id).unwrap())))),
            Box::new(move |c| order.iter().for_each(|id| drop(std::hint::black_box(baseline_get(c, id))))),
        ),
        (
            "W4_list_page",
            None,
            Box::new(move |s| assert_eq!(store_pages(s, pid), n)),
            Box::new(move |c| assert_eq!(baseline_pages(c, &pid), n)),
        ),
        (
            "W5_record_usage",
            Some(10),
            Box::new(move |s| {
                order.iter().for_each(|id| drop(std::hint::black_box(s.record_usage(USER, id).unwrap())))
            }),
            Box::new(move |c| order.iter().for_each(|id| baseline_record_usage(c, id))),
        ),
    ];
    for (group, sample_size, store_run, base_run) in reads {
        let (store_run, base_run) = (Rc::new(store_run), Rc::new(base_run));
        let mut contenders: Vec<Contender<'a>> = vec![(
            "store",
            Box::new(move || {
                let run = Rc::clone(&store_run);
                Box::new(move || run(&fx.store))
            }),
        )];
        for (schema, base) in &fx.bases {
            let base_run = Rc::clone(&base_run);
            contenders.push((
                schema.label(),
                Box::new(move || {
                    let run = Rc::clone(&base_run);
                    Box::new(move || run(base))
                }),
            ));
        }
        out.push(Workload { group, elements: n as u64, sample_size, contenders });
    }

    let mut contenders: Vec<Contender<'a>> = vec![(
        "store",
        Box::new(move || {
            Box::new(move || {
                for _ in 0..w6_reps {
                    let q = ProjectQuery { limit: Some(100), cursor: None };
                    let page = fx.w6_store.list_projects_with_avatars(USER, &q).unwrap();
                    assert_eq!(std::hint::black_box(page).items.len(), 100);
                }
            })
        }),
    )];
    for (schema, base) in &fx.w6_bases {
        contenders.push((
            schema.label(),
            Box::new(move || {
                Box::new(move || {
                    for _ in 0..w6_reps {
                        assert_eq!(std::hint::black_box(baseline_projects_with_avatars(base)).len(), 100);
                    }
                })
            }),
        ));
    }
    out.push(Workload {
        group: "W6_list_projects_with_avatars",
        elements: w6_reps as u64,
        sample_size: None,
        contenders,
    });
    out
}

/// CPU seconds this process has used, all threads (the store's background
/// checkpoints included); NaN where the clock cannot be read.
fn cpu_now() -> f64 {
    #[cfg(unix)]
    {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `t` is a valid, writable timespec.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } == 0 {
            return t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9;
        }
    }
    f64::NAN
}

/// `BENCH_PAIRED=<rounds>`: instead of criterion's groups (each contender
/// timed in turn, seconds apart), runs every workload in rounds of one run
/// per contender, in rotating order, and prints the median of the per-round
/// ratios: on a shared, noisy machine the contenders of one round see the
/// same load, where criterion's see whatever each moment brings. Also the
/// ratio of the CPU time the process spent per run, which other processes'
/// load disturbs much less than wall time. W6 lists `BENCH_R` times per run
/// (default 200).
fn paired(workloads: Vec<Workload<'_>>, rounds: usize) {
    println!("paired runs: {rounds} rounds; ratio = baseline time / store time (>= 0.9: the store at 0.9x or better)");
    paired_header();
    for mut w in workloads {
        let k = w.contenders.len();
        let mut wall = vec![Vec::new(); k];
        let mut cpu = vec![Vec::new(); k];
        for r in 0..rounds {
            for j in 0..k {
                let i = (r + j) % k;
                let run = (w.contenders[i].1)();
                let (c0, t0) = (cpu_now(), Instant::now());
                run();
                wall[i].push(t0.elapsed().as_secs_f64());
                cpu[i].push(cpu_now() - c0);
            }
        }
        paired_row(w.group, w.elements as f64, &wall, &cpu);
    }
}

fn workloads(c: &mut Criterion) {
    let n = n();
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixtures::new(dir.path(), n);
    if let Some(rounds) = std::env::var("BENCH_PAIRED").ok().and_then(|v| v.parse().ok()) {
        let reps = std::env::var("BENCH_R").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
        paired(all_workloads(dir.path(), n, &fx, reps), rounds);
        return;
    }
    for mut w in all_workloads(dir.path(), n, &fx, 1) {
        let mut g = c.benchmark_group(w.group);
        g.throughput(Throughput::Elements(w.elements));
        if let Some(s) = w.sample_size {
            g.sample_size(s);
        }
        for (label, setup) in &mut w.contenders {
            g.bench_function(*label, |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let run = setup();
                            let t = Instant::now();
                            run();
                            t.elapsed()
                        })
                        .sum()
                })
            });
        }
        g.finish();
    }

    let path = fx.w6_store.path().unwrap().to_path_buf();
    let mut g = c.benchmark_group("open_up_to_date");
    g.bench_function(BenchmarkId::new("store", "migrate_check+verify"), |b| b.iter(|| Store::open(&path).unwrap()));
    g.bench_function(BenchmarkId::new("rusqlite", "open+pragmas"), |b| b.iter(|| baseline_conn(&path)));
    g.finish();
}

/// Pages through every avatar of `project_id` with the store; the row count.
fn store_pages(store: &Store, project_id: Uuid) -> usize {
    let mut q = AvatarQuery { project_id: Some(project_id), limit: Some(50), ..Default::default() };
    let mut rows = 0;
    loop {
        let page = store.list_avatars(USER, &q).unwrap();
        rows += page.items.len();
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return rows,
        }
    }
}

/// A user's listings across projects, in creation order, by usage and by
/// last use, for a user with 10,000 avatars (spread over 20 projects, used
/// unevenly, some never): the first page of 50, and a page 9,000 rows deep.
/// Each iteration is one listing call.
fn sorted_listings(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = fresh(dir.path(), "sorted.db");
    let store = Store::open(&path).unwrap();
    for p in 0..20 {
        let proj = store.create_project(USER, &NewProject { name: format!("P{p}"), description: None }).unwrap();
        store.create_avatars(USER, &(0..500).map(|i| new_avatar(proj.id, i)).collect::<Vec<_>>()).unwrap();
    }
    // Untimed: counts and times spread the way usage is (a few avatars used
    // a lot), a tenth never used.
    let c2 = baseline_conn(&path);
    c2.execute_batch(
        "UPDATE avatars SET usageCount = (abs(random()) % 100) * (abs(random()) % 100), \
         lastUsedAt = CASE WHEN abs(random()) % 10 = 0 THEN NULL \
         ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + abs(random()) % 30000000, 'unixepoch') END",
    )
    .unwrap();
    drop(c2);
    let mut g = c.benchmark_group("sorted_listing_10k");
    for sort in AvatarSort::ALL {
        let first = AvatarQuery { sort, order: SortOrder::Desc, limit: Some(50), ..Default::default() };
        // The cursor 9,000 rows in.
        let mut skip = AvatarQuery { limit: Some(1000), ..first.clone() };
        for _ in 0..9 {
            skip.cursor = store.list_avatars(USER, &skip).unwrap().next_cursor;
        }
        let deep = AvatarQuery { cursor: skip.cursor.clone(), ..first.clone() };
        for (name, q) in [("first_page", first), ("page_at_9000", deep)] {
            g.bench_function(format!("{sort}_desc_{name}"), |b| {
                b.iter(|| assert_eq!(store.list_avatars(USER, &q).unwrap().items.len(), 50))
            });
        }
    }
    g.finish();
}

/// W4 at several table sizes (`BENCH_W4_SIZES`, e.g. `10000,100000,1000000`;
/// skipped when unset, since seeding a million avatars takes minutes and a
/// gigabyte): one user whose avatars are spread over projects of 1,000,
/// created in turns of 50 per project (so a page's rows sit together in the
/// file at every size, while the user's index interleaves every project),
/// and one page of 50 read from the middle of the last project. The time
/// per page should not grow with the table.
fn w4_sizes(c: &mut Criterion) {
    let Ok(sizes) = std::env::var("BENCH_W4_SIZES") else { return };
    let sizes: Vec<usize> = sizes.split(',').map(|s| s.trim().parse().expect("BENCH_W4_SIZES: numbers")).collect();
    let mut g = c.benchmark_group("W4_page_by_size");
    g.throughput(Throughput::Elements(50));
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("size.db")).unwrap();
        let projects: Vec<Uuid> = (0..n.div_ceil(1000))
            .map(|p| store.create_project(USER, &NewProject { name: format!("P{p}"), description: None }).unwrap().id)
            .collect();
        for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
            let batch: Vec<_> = chunk.iter().map(|&i| new_avatar(projects[(i / 50) % projects.len()], i)).collect();
            store.create_avatars(USER, &batch).unwrap();
        }
        // Closed and opened again, so that the log is checkpointed and gone
        // and no background checkpoint of the seeding runs during the timing.
        let path = store.path().unwrap().to_path_buf();
        drop(store);
        let store = Store::open(&path).unwrap();
        let last = *projects.last().unwrap();
        let mut q = AvatarQuery { project_id: Some(last), limit: Some(500), ..Default::default() };
        q.cursor = store.list_avatars(USER, &q).unwrap().next_cursor;
        q.limit = Some(50);
        g.bench_function(BenchmarkId::new("store", n), |b| {
            b.iter(|| assert_eq!(store.list_avatars(USER, &q).unwrap().items.len(), 50))
        });
    }
    g.finish();
}

criterion_group!(benches, workloads, sorted_listings, w4_sizes);
criterion_main!(benches);
