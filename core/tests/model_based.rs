//! Property tests: random operation sequences for two users run against the
//! store and against a plain in-memory model, every result compared; and
//! arbitrary valid values round-trip unchanged.

mod common;

use std::collections::BTreeMap;

use avatar_store::{AvatarPatch, AvatarQuery, NewAvatar, NewProject, ProjectQuery, Store, Uuid};
use proptest::prelude::*;

const USERS: [&str; 2] = ["alice", "bob"];

#[derive(Debug, Clone)]
enum Op {
    CreateProject { user: usize },
    CreateAvatar { user: usize, project: usize, hair: Option<u8> },
    GetAvatar { user: usize, avatar: usize },
    PatchHair { user: usize, avatar: usize, hair: Option<u8> },
    RecordUsage { user: usize, avatar: usize },
    DeleteAvatar { user: usize, avatar: usize },
    DeleteProject { user: usize, project: usize },
    ListByHair { user: usize, hair: Option<u8> },
}

fn op() -> impl Strategy<Value = Op> {
    let u = 0..2usize;
    let i = 0..6usize;
    let hair = proptest::option::of(0..3u8);
    prop_oneof![
        u.clone().prop_map(|user| Op::CreateProject { user }),
        (u.clone(), i.clone(), hair.clone()).prop_map(|(user, project, hair)| Op::CreateAvatar { user, project, hair }),
        (u.clone(), i.clone()).prop_map(|(user, avatar)| Op::GetAvatar { user, avatar }),
        (u.clone(), i.clone(), hair.clone()).prop_map(|(user, avatar, hair)| Op::PatchHair { user, avatar, hair }),
        (u.clone(), i.clone()).prop_map(|(user, avatar)| Op::RecordUsage { user, avatar }),
        (u.clone(), i.clone()).prop_map(|(user, avatar)| Op::DeleteAvatar { user, avatar }),
        (u.clone(), i.clone()).prop_map(|(user, project)| Op::DeleteProject { user, project }),
        (u, hair).prop_map(|(user, hair)| Op::ListByHair { user, hair }),
    ]
}

fn hair_name(h: Option<u8>) -> Option<String> {
    h.map(|h| ["red", "black", "silver"][h as usize].to_string())
}

#[derive(Debug, Clone, PartialEq)]
struct ModelAvatar {
    user: usize,
    project: Uuid,
    hair: Option<String>,
    usage: i64,
}

/// The reference: what each user should see, kept in plain collections.
#[derive(Default)]
struct Model {
    projects: Vec<(Uuid, usize)>, // every id ever created, with owner; deleted ones stay for lookups
    live_projects: BTreeMap<Uuid, usize>,
    avatars: Vec<Uuid>,
    live_avatars: BTreeMap<Uuid, ModelAvatar>,
}

fn pick<T: Copy>(v: &[T], i: usize) -> Option<T> {
    if v.is_empty() { None } else { Some(v[i % v.len()]) }
}

/// The model check itself, on a fresh store of either backend.
fn run_model(store: Store, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut m = Model::default();
    for op in ops {
        match op {
            Op::CreateProject { user } => {
                let p = store.create_project(USERS[user], &NewProject { name: "p".into(), description: None }).unwrap();
                m.projects.push((p.id, user));
                m.live_projects.insert(p.id, user);
            }
            Op::CreateAvatar { user, project, hair } => {
                let Some((pid, _)) = pick(&m.projects, project) else { continue };
                let new =
                    NewAvatar { project_id: pid, name: "a".into(), hair_color: hair_name(hair), ..Default::default() };
                let got = store.create_avatar(USERS[user], &new);
                if m.live_projects.get(&pid) == Some(&user) {
                    let a = got.unwrap();
                    m.avatars.push(a.id);
                    m.live_avatars.insert(a.id, ModelAvatar { user, project: pid, hair: hair_name(hair), usage: 0 });
                } else {
                    prop_assert_eq!(got.unwrap_err().code(), "NOT_FOUND");
                }
            }
            Op::GetAvatar { user, avatar } => {
                let Some(id) = pick(&m.avatars, avatar) else { continue };
                let got = store.get_avatar(USERS[user], &id);
                match m.live_avatars.get(&id).filter(|a| a.user == user) {
                    Some(want) => {
                        let a = got.unwrap();
                        prop_assert_eq!(
                            (&a.hair_color, a.usage_count, a.project_id),
                            (&want.hair, want.usage, want.project)
                        );
                    }
                    None => prop_assert_eq!(got.unwrap_err().code(), "NOT_FOUND"),
                }
            }
            Op::PatchHair { user, avatar, hair } => {
                let Some(id) = pick(&m.avatars, avatar) else { continue };
                let patch = AvatarPatch { hair_color: Some(hair_name(hair)), ..Default::default() };
                let got = store.update_avatar(USERS[user], &id, &patch);
                match m.live_avatars.get_mut(&id).filter(|a| a.user == user) {
                    Some(want) => {
                        want.hair = hair_name(hair);
                        prop_assert_eq!(got.unwrap().hair_color, want.hair.clone());
                    }
                    None => prop_assert_eq!(got.unwrap_err().code(), "NOT_FOUND"),
                }
            }
            Op::RecordUsage { user, avatar } => {
                let Some(id) = pick(&m.avatars, avatar) else { continue };
                let got = store.record_usage(USERS[user], &id);
                match m.live_avatars.get_mut(&id).filter(|a| a.user == user) {
                    Some(want) => {
                        want.usage += 1;
                        prop_assert_eq!(got.unwrap().usage_count, want.usage);
                    }
                    None => prop_assert_eq!(got.unwrap_err().code(), "NOT_FOUND"),
                }
            }
            Op::DeleteAvatar { user, avatar } => {
                let Some(id) = pick(&m.avatars, avatar) else { continue };
                let got = store.delete_avatar(USERS[user], &id);
                if m.live_avatars.get(&id).is_some_and(|a| a.user == user) {
                    got.unwrap();
                    m.live_avatars.remove(&id);
                } else {
                    prop_assert_eq!(got.unwrap_err().code(), "NOT_FOUND");
                }
            }
            Op::DeleteProject { user, project } => {
                let Some((pid, _)) = pick(&m.projects, project) else { continue };
                let got = store.delete_project(USERS[user], &pid);
                if m.live_projects.get(&pid) == Some(&user) {
                    got.unwrap();
                    m.live_projects.remove(&pid);
                    m.live_avatars.retain(|_, a| a.project != pid);
                } else {
                    prop_assert_eq!(got.unwrap_err().code(), "NOT_FOUND");
                }
            }
            Op::ListByHair { user, hair } => {
                let q = AvatarQuery { hair_color: hair_name(hair), limit: Some(1000), ..Default::default() };
                let got: Vec<Uuid> = store.list_avatars(USERS[user], &q).unwrap().items.iter().map(|a| a.id).collect();
                let want: Vec<Uuid> = m
                    .live_avatars
                    .iter()
                    .filter(|(_, a)| a.user == user && (hair.is_none() || a.hair == hair_name(hair)))
                    .map(|(id, _)| *id)
                    .collect();
                // Ids are UUID v7, so creation order is id order.
                prop_assert_eq!(got, want);
            }
        }
    }
    for (u, user) in USERS.iter().enumerate() {
        let listed = store.list_projects_with_avatars(user, &ProjectQuery { limit: Some(1000), cursor: None }).unwrap();
        let want_projects = m.live_projects.values().filter(|&&o| o == u).count();
        prop_assert_eq!(listed.items.len(), want_projects);
        let listed_avatars: usize = listed.items.iter().map(|p| p.avatars.len()).sum();
        prop_assert_eq!(listed_avatars, m.live_avatars.values().filter(|a| a.user == u).count());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run_model(Store::open_in_memory().unwrap(), ops)?;
    }


    #[test]
    fn arbitrary_valid_values_round_trip(
        name in "[^\u{0}]{0,199}[^\u{0}\\s]",
        text in proptest::option::of("[^\u{0}]{0,300}"),
        attr in proptest::option::of("[^\u{0}]{0,100}"),
        age in proptest::option::of(0i64..=150),
        seed in proptest::option::of(any::<i64>()),
        sql_like in prop_oneof![Just("'; DROP TABLE avatars; --".to_string()), Just("\" OR 1=1 --".to_string()), "[a-z%_\\\\']{0,20}"],
    ) {
        let store = Store::open_in_memory().unwrap();
        let p = store.create_project("u", &NewProject { name: name.clone(), description: text.clone() }).unwrap();
        prop_assert_eq!(&store.get_project("u", &p.id).unwrap(), &p);
        let new = NewAvatar {
            project_id: p.id,
            name: name.clone(),
            persona_background: text.clone(),
            hair_color: attr.clone(),
            style: attr.clone(),
            generation_prompt: Some(sql_like.clone()),
            persona_name: Some(sql_like),
            persona_age: age,
            seed_used: seed,
            ..Default::default()
        };
        let a = store.create_avatar("u", &new).unwrap();
        let back = store.get_avatar("u", &a.id).unwrap();
        prop_assert_eq!(&back, &a);
        let json = serde_json::to_string(&back).unwrap();
        let parsed: avatar_store::Avatar = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(parsed, back);
    }
}

crate::on_both_backends! {
fn maximum_lengths_round_trip() {
    let store = common::pg::store();
    let p = store.create_project(
        "u".repeat(avatar_store::MAX_USER_ID_LEN).as_str(),
        &NewProject {
            name: "名".repeat(avatar_store::MAX_NAME_LEN),
            description: Some("d".repeat(avatar_store::MAX_DESCRIPTION_LEN)),
        },
    );
    let p = p.unwrap();
    let user = "u".repeat(avatar_store::MAX_USER_ID_LEN);
    let new = NewAvatar {
        project_id: p.id,
        name: "é".repeat(avatar_store::MAX_NAME_LEN),
        image_url: Some(format!("https://x/{}", "a".repeat(avatar_store::MAX_URL_LEN - 10))),
        persona_background: Some("🚀".repeat(avatar_store::MAX_LONG_TEXT_LEN)),
        hair_color: Some("h".repeat(avatar_store::MAX_ATTRIBUTE_LEN)),
        generation_prompt: Some("p".repeat(avatar_store::MAX_PROMPT_LEN)),
        ..Default::default()
    };
    let a = store.create_avatar(&user, &new).unwrap();
    assert_eq!(store.get_avatar(&user, &a.id).unwrap(), a);
}
}

proptest! {
    // Each case gets a database of its own on the server: fewer cases, same model.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_the_model_on_postgres(ops in proptest::collection::vec(op(), 1..60)) {
        if common::pg::use_postgres() {
            run_model(common::pg::store(), ops)?;
        }
    }
}
