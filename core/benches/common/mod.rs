//! What every workload bench shares: the user, the scale, the avatars it
//! writes and the order it reads them in, so that the SQLite and PostgreSQL
//! benches (and their baselines) work on the same data. Included with
//! `mod common;` (a folder, so that cargo does not take it for a bench).
#![allow(dead_code)]

use avatar_store::{NewAvatar, Uuid};

pub const USER: &str = "bench-user";

/// `BENCH_N`: avatars per iteration (default 1,000: criterion repeats each
/// iteration; benches/README.md quotes figures at 10,000).
pub fn n() -> usize {
    std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000)
}

pub fn new_avatar(project_id: Uuid, i: usize) -> NewAvatar {
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

/// The ids in a fixed pseudo-random order.
pub fn shuffled(ids: &[Uuid]) -> Vec<Uuid> {
    // A fixed-step permutation: random enough for the B-tree, same every run.
    let step = 7919 % ids.len().max(1);
    (0..ids.len()).map(|i| ids[(i * step.max(1) + i / ids.len().max(1)) % ids.len()]).collect()
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Column titles of a `BENCH_PAIRED` table.
pub fn paired_header() {
    println!(
        "{:<34} {:>12} {:>12} {:>12} {:>9} {:>9} {:>9} {:>9}",
        "workload", "store ops/s", "store-sch", "hand-sch", "wall/ss", "wall/hs", "cpu/ss", "cpu/hs"
    );
}

/// One workload's line of a `BENCH_PAIRED` table from the times of its runs
/// (`wall[contender][round]`, the store first, then the baselines on the
/// store's schema and on the hand-written one): each contender's ops/s at
/// `ops_per_run`, and the median per-round ratio baseline time ÷ store time,
/// by wall and by CPU time.
pub fn paired_row(group: &str, ops_per_run: f64, wall: &[Vec<f64>], cpu: &[Vec<f64>]) {
    let rounds = wall[0].len();
    let ratio = |v: &[Vec<f64>], b: usize| median((0..rounds).map(|r| v[b][r] / v[0][r]).collect());
    let ops = |i: usize| ops_per_run / median(wall[i].clone());
    println!(
        "{:<34} {:>12.0} {:>12.0} {:>12.0} {:>8.2}x {:>8.2}x {:>8.2}x {:>8.2}x",
        group,
        ops(0),
        ops(1),
        ops(2),
        ratio(wall, 1),
        ratio(wall, 2),
        ratio(cpu, 1),
        ratio(cpu, 2)
    );
}
