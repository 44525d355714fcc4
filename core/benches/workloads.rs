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
use std::time::Duration;

use avatar_store::{
    Avatar, AvatarQuery, AvatarSort, NewAvatar, NewProject, ProjectQuery, SortOrder, Store, Uuid, format_timestamp,
    parse_timestamp,
};
use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::{Connection, OptionalExtension, Row, params};

mod common;
use common::{USER, n, new_avatar, shuffled};

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

fn workloads(c: &mut Criterion) {
    let n = n();
    let dir = tempfile::tempdir().unwrap();

    for (group, batch) in [("W1_create_each", false), ("W2_create_batch", true)] {
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Elements(n as u64)).sample_size(10);
        g.bench_function("store", |b| {
            b.iter_with_setup(
                || {
                    let s = Store::open(dir.path().join(format!("w-{}", Uuid::now_v7()))).unwrap();
                    let p = s.create_project(USER, &NewProject { name: "P".into(), description: None }).unwrap();
                    let input: Vec<_> = (0..n).map(|i| new_avatar(p.id, i)).collect();
                    (s, input)
                },
                |(s, input)| {
                    if batch {
                        s.create_avatars(USER, &input).unwrap();
                    } else {
                        for a in &input {
                            s.create_avatar(USER, a).unwrap();
                        }
                    }
                },
            )
        });
        for schema in Schema::BOTH {
            g.bench_function(schema.label(), |b| {
                b.iter_with_setup(
                    || {
                        let c = baseline_conn(&schema.fresh(dir.path(), &format!("w-{}", Uuid::now_v7())));
                        let pid = baseline_project(&c);
                        (c, (0..n).map(|i| new_avatar(pid, i)).collect::<Vec<_>>())
                    },
                    |(mut c, input)| {
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
                    },
                )
            });
        }
        g.finish();
    }

    let (path, project_id, ids) = seeded(dir.path(), "read.db", n);
    let order = shuffled(&ids);
    let store = Store::open(&path).unwrap();
    let bases: Vec<(Schema, Connection)> =
        Schema::BOTH.into_iter().map(|s| (s, baseline_conn(&s.copy_of(dir.path(), &path, "read-hand.db")))).collect();

    let mut g = c.benchmark_group("W3_get_by_id");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("store", |b| {
        b.iter(|| {
            for id in &order {
                std::hint::black_box(store.get_avatar(USER, id).unwrap());
            }
        })
    });
    for (schema, base) in &bases {
        g.bench_function(schema.label(), |b| {
            b.iter(|| {
                for id in &order {
                    std::hint::black_box(baseline_get(base, id));
                }
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("W4_list_page");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("store", |b| b.iter(|| assert_eq!(store_pages(&store, project_id), n)));
    for (schema, base) in &bases {
        g.bench_function(schema.label(), |b| b.iter(|| assert_eq!(baseline_pages(base, &project_id), n)));
    }
    g.finish();

    let mut g = c.benchmark_group("W5_record_usage");
    g.throughput(Throughput::Elements(n as u64)).sample_size(10);
    g.bench_function("store", |b| {
        b.iter(|| {
            for id in &order {
                std::hint::black_box(store.record_usage(USER, id).unwrap());
            }
        })
    });
    for (schema, base) in &bases {
        g.bench_function(schema.label(), |b| {
            b.iter(|| {
                for id in &order {
                    baseline_record_usage(base, id);
                }
            })
        });
    }
    g.finish();
    drop(store);
    drop(bases);

    // W6: 100 projects x 20 avatars, list them all with their avatars.
    let path = fresh(dir.path(), "w6.db");
    let store = Store::open(&path).unwrap();
    for p in 0..100 {
        let proj = store.create_project(USER, &NewProject { name: format!("P{p}"), description: None }).unwrap();
        store.create_avatars(USER, &(0..20).map(|i| new_avatar(proj.id, i)).collect::<Vec<_>>()).unwrap();
    }
    let mut g = c.benchmark_group("W6_list_projects_with_avatars");
    g.throughput(Throughput::Elements(1));
    g.bench_function("store", |b| {
        b.iter(|| {
            let page =
                store.list_projects_with_avatars(USER, &ProjectQuery { limit: Some(100), cursor: None }).unwrap();
            assert_eq!(page.items.len(), 100);
            page
        })
    });
    for schema in Schema::BOTH {
        let base = baseline_conn(&schema.copy_of(dir.path(), &path, "w6-hand.db"));
        g.bench_function(schema.label(), |b| {
            b.iter(|| {
                let out = baseline_projects_with_avatars(&base);
                assert_eq!(out.len(), 100);
                out
            })
        });
    }
    g.finish();
    drop(store);

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

/// Listings sorted by usage and by last use, for a user with 10,000 avatars
/// (spread over 20 projects, used unevenly, some never): the first page of
/// 50, and a page 9,000 rows deep. Each iteration is one listing call.
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
    for sort in [AvatarSort::UsageCount, AvatarSort::LastUsedAt] {
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
