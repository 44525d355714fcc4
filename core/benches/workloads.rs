//! Workloads W1–W6 of benches/README.md, each timed for the store and for
//! hand-written rusqlite SQL (cached prepared statements) on the same schema
//! and pragmas in the same group, so one run shows the ratio; plus the cost of
//! opening an up-to-date database (migration check and schema verification).
//!
//! `cargo bench -p avatar-store --bench workloads`; `BENCH_N` sets the number
//! of avatars per iteration (default 1,000: criterion repeats each iteration).

use std::path::Path;
use std::time::Duration;

use avatar_store::{
    Avatar, AvatarQuery, NewAvatar, NewProject, ProjectQuery, Store, Uuid, format_timestamp, parse_timestamp,
};
use chrono::Utc;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::{Connection, OptionalExtension, Row, params};

const USER: &str = "bench-user";

fn n() -> usize {
    std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000)
}

fn new_avatar(project_id: Uuid, i: usize) -> NewAvatar {
    NewAvatar {
        project_id,
        name: format!("Avatar {i}"),
        image_url: Some(format!("https://cdn.example.com/avatars/{i}.png")),
        thumbnail_url: Some(format!("https://cdn.example.com/avatars/{i}_thumb.png")),
        persona_name: Some("Nova Reyes".into()),
        persona_age: Some(29),
        persona_personality: Some("curious, warm, direct".into()),
        persona_background: Some("grew up in a harbour town, now designs game worlds".into()),
        gender: Some("female".into()),
        age_range: Some("25-34".into()),
        ethnicity: Some("latina".into()),
        body_type: Some("athletic".into()),
        hair_style: Some("bob".into()),
        hair_color: Some("silver".into()),
        eye_color: Some("green".into()),
        skin_tone: Some("tan".into()),
        style: Some("cyberpunk".into()),
        source_type: Some("generated".into()),
        generation_prompt: Some(
            "portrait of a cyberpunk woman with a silver bob and green eyes, neon city at night, cinematic light"
                .into(),
        ),
        seed_used: Some(1_234_567_890_123),
    }
}

/// A fresh file with the store's schema; the baseline runs on a copy of it.
fn fresh(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    drop(Store::open(&path).unwrap());
    path
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

fn shuffled(ids: &[Uuid]) -> Vec<Uuid> {
    // A fixed-step permutation: random enough for the B-tree, same every run.
    let step = 7919 % ids.len().max(1);
    (0..ids.len()).map(|i| ids[(i * step.max(1) + i / ids.len().max(1)) % ids.len()]).collect()
}

fn workloads(c: &mut Criterion) {
    let n = n();
    let dir = tempfile::tempdir().unwrap();

    let mut g = c.benchmark_group("W1_create_each");
    g.throughput(Throughput::Elements(n as u64)).sample_size(10);
    g.bench_function("store", |b| {
        b.iter_with_setup(
            || {
                let path = dir.path().join(format!("w1s-{}", Uuid::now_v7()));
                let s = Store::open(&path).unwrap();
                let p = s.create_project(USER, &NewProject { name: "P".into(), description: None }).unwrap();
                let input: Vec<_> = (0..n).map(|i| new_avatar(p.id, i)).collect();
                (s, input)
            },
            |(s, input)| {
                for a in &input {
                    s.create_avatar(USER, a).unwrap();
                }
            },
        )
    });
    g.bench_function("rusqlite", |b| {
        b.iter_with_setup(
            || {
                let path = fresh(dir.path(), &format!("w1b-{}", Uuid::now_v7()));
                let c = baseline_conn(&path);
                let pid = Uuid::now_v7();
                let now = format_timestamp(&Utc::now());
                c.execute(
                    "INSERT INTO projects VALUES (?1, ?2, 'P', NULL, ?3, ?3)",
                    params![pid.to_string(), USER, now],
                )
                .unwrap();
                (c, (0..n).map(|i| new_avatar(pid, i)).collect::<Vec<_>>())
            },
            |(c, input)| {
                for a in &input {
                    baseline_insert(&c, a);
                }
            },
        )
    });
    g.finish();

    let mut g = c.benchmark_group("W2_create_batch");
    g.throughput(Throughput::Elements(n as u64)).sample_size(10);
    g.bench_function("store", |b| {
        b.iter_with_setup(
            || {
                let s = Store::open(dir.path().join(format!("w2s-{}", Uuid::now_v7()))).unwrap();
                let p = s.create_project(USER, &NewProject { name: "P".into(), description: None }).unwrap();
                let input: Vec<_> = (0..n).map(|i| new_avatar(p.id, i)).collect();
                (s, input)
            },
            |(s, input)| s.create_avatars(USER, &input).unwrap(),
        )
    });
    g.bench_function("rusqlite", |b| {
        b.iter_with_setup(
            || {
                let path = fresh(dir.path(), &format!("w2b-{}", Uuid::now_v7()));
                let c = baseline_conn(&path);
                let pid = Uuid::now_v7();
                let now = format_timestamp(&Utc::now());
                c.execute(
                    "INSERT INTO projects VALUES (?1, ?2, 'P', NULL, ?3, ?3)",
                    params![pid.to_string(), USER, now],
                )
                .unwrap();
                (c, (0..n).map(|i| new_avatar(pid, i)).collect::<Vec<_>>())
            },
            |(mut c, input)| {
                let tx = c.transaction().unwrap();
                for a in &input {
                    baseline_insert(&tx, a);
                }
                tx.commit().unwrap();
            },
        )
    });
    g.finish();

    let (path, project_id, ids) = seeded(dir.path(), "read.db", n);
    let order = shuffled(&ids);
    let store = Store::open(&path).unwrap();
    let base = baseline_conn(&path);

    let mut g = c.benchmark_group("W3_get_by_id");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("store", |b| {
        b.iter(|| {
            for id in &order {
                std::hint::black_box(store.get_avatar(USER, id).unwrap());
            }
        })
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            for id in &order {
                let a = base
                    .prepare_cached(&format!("SELECT {COLS} FROM avatars WHERE id = ?1 AND userId = ?2"))
                    .unwrap()
                    .query_row(params![id.to_string(), USER], baseline_row)
                    .optional()
                    .unwrap()
                    .unwrap();
                std::hint::black_box(a);
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("W4_list_page");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("store", |b| {
        b.iter(|| {
            let mut q = AvatarQuery { project_id: Some(project_id), limit: Some(50), ..Default::default() };
            let mut rows = 0;
            loop {
                let page = store.list_avatars(USER, &q).unwrap();
                rows += page.items.len();
                match page.next_cursor {
                    Some(c) => q.cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(rows, n);
        })
    });
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            let mut after: Option<(String, String)> = None;
            let mut rows = 0;
            loop {
                let page: Vec<Avatar> = match &after {
                    None => base
                        .prepare_cached(&format!(
                            "SELECT {COLS} FROM avatars WHERE userId = ?1 AND projectId = ?2 \
                             ORDER BY createdAt, id LIMIT 50"
                        ))
                        .unwrap()
                        .query_map(params![USER, project_id.to_string()], baseline_row)
                        .unwrap()
                        .map(Result::unwrap)
                        .collect(),
                    Some((t, id)) => base
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
                    Some(last) if page.len() == 50 => {
                        after = Some((format_timestamp(&last.created_at), last.id.to_string()))
                    }
                    _ => break,
                }
            }
            assert_eq!(rows, n);
        })
    });
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
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            for id in &order {
                let now = format_timestamp(&Utc::now());
                let changed = base
                    .prepare_cached(
                        "UPDATE avatars SET usageCount = usageCount + 1, lastUsedAt = ?1 WHERE id = ?2 AND userId = ?3",
                    )
                    .unwrap()
                    .execute(params![now, id.to_string(), USER])
                    .unwrap();
                assert_eq!(changed, 1);
            }
        })
    });
    g.finish();
    drop(store);
    drop(base);

    // W6: 100 projects x 20 avatars, list them all with their avatars.
    let path = fresh(dir.path(), "w6.db");
    let store = Store::open(&path).unwrap();
    for p in 0..100 {
        let proj = store.create_project(USER, &NewProject { name: format!("P{p}"), description: None }).unwrap();
        store.create_avatars(USER, &(0..20).map(|i| new_avatar(proj.id, i)).collect::<Vec<_>>()).unwrap();
    }
    let base = baseline_conn(&path);
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
    g.bench_function("rusqlite", |b| {
        b.iter(|| {
            let projects: Vec<(String, String, Option<String>, String, String)> = base
                .prepare_cached(
                    "SELECT id, name, description, createdAt, updatedAt FROM projects WHERE userId = ?1 \
                     ORDER BY createdAt DESC, id DESC LIMIT 100",
                )
                .unwrap()
                .query_map([USER], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let out: Vec<(avatar_store::Project, Vec<Avatar>)> = projects
                .into_iter()
                .map(|(id, name, description, c, u)| {
                    let avatars = base
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
                        created_at: parse_timestamp(&c).unwrap(),
                        updated_at: parse_timestamp(&u).unwrap(),
                    };
                    (p, avatars)
                })
                .collect();
            assert_eq!(out.len(), 100);
            out
        })
    });
    g.finish();
    drop(store);

    let mut g = c.benchmark_group("open_up_to_date");
    g.bench_function(BenchmarkId::new("store", "migrate_check+verify"), |b| b.iter(|| Store::open(&path).unwrap()));
    g.bench_function(BenchmarkId::new("rusqlite", "open+pragmas"), |b| b.iter(|| baseline_conn(&path)));
    g.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);
