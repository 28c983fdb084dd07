//! The two migration folders stay in step, and migrating again is harmless.

use std::path::Path;

use crate::helpers::TestApp;

fn migration_names(backend: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn sqlite_and_postgres_have_migrations_of_the_same_names() {
    let sqlite = migration_names("sqlite");
    let postgres = migration_names("postgres");

    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

#[test]
fn migrations_are_numbered_one_after_another() {
    let names = migration_names("sqlite");

    for (index, name) in names.iter().enumerate() {
        let (number, rest) = name.split_once('_').unwrap_or_else(|| panic!("{name} is not NNNN_name.sql"));
        assert_eq!(number, format!("{:04}", index + 1), "{name} is out of sequence");
        assert!(rest.ends_with(".sql") && rest.len() > ".sql".len(), "{name} is not NNNN_name.sql");
    }
}

#[tokio::test]
async fn migrating_an_up_to_date_database_again_changes_nothing() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    app.store().migrate().await.expect("second migration");
    app.store().migrate().await.expect("third migration");

    app.get("/v2/integrations/customer", Some(&entity.customer.token)).await.data();
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data()["AppID"], entity.id.as_str());
    app.token(&entity.id, &entity.secret, "app").await;
}
