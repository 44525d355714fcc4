//! Creates (or reopens) a SQLite file, adds a project with avatars, and prints
//! the user's projects with their avatars as JSON: the incident's
//! `GET /projects` response.
//!
//! `cargo run --example quickstart [-- path/to/file.db]`

use avatar_store::{NewAvatar, NewProject, ProjectQuery, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "quickstart.db".into());
    // Opening migrates (after a backup) and verifies the schema: a drifted
    // file fails here, naming every missing column, not on the first request.
    let store = Store::open(&path)?;
    let user = "user-1";

    let project = store.create_project(
        user,
        &NewProject { name: "Spring campaign".into(), description: Some("Avatars for the launch".into()) },
    )?;
    let avatars = store.create_avatars(
        user,
        &[
            NewAvatar {
                project_id: project.id,
                name: "Nova".into(),
                persona_name: Some("Nova Reyes".into()),
                persona_age: Some(29),
                hair_color: Some("silver".into()),
                style: Some("cyberpunk".into()),
                source_type: Some("generated".into()),
                generation_prompt: Some("portrait of a cyberpunk woman with a silver bob".into()),
                seed_used: Some(42),
                ..Default::default()
            },
            NewAvatar {
                project_id: project.id,
                name: "Theo".into(),
                persona_name: Some("Theo Park".into()),
                hair_color: Some("black".into()),
                source_type: Some("uploaded".into()),
                image_url: Some("https://cdn.example.com/theo.png".into()),
                ..Default::default()
            },
        ],
    )?;
    store.record_usage(user, &avatars[0].id)?;

    let page = store.list_projects_with_avatars(user, &ProjectQuery::default())?;
    println!("{}", serde_json::to_string_pretty(&page.items)?);
    eprintln!("{} project(s) for {user} in {path}", page.items.len());
    Ok(())
}
