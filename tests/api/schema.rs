//! `src/db/schema.rs` (with `src/db/schema/`) describes the migrated database exactly: every table, column, type and
//! nullability, in order.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::helpers::TestApp;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    udt_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    is_nullable: String,
}

fn diesel_type(udt: &str) -> String {
    let base = |name: &str| match name {
        "uuid" => "Uuid",
        "text" => "Text",
        "timestamptz" => "Timestamptz",
        "int4" => "Int4",
        "int8" => "Int8",
        "int2" => "Int2",
        "bool" => "Bool",
        "jsonb" => "Jsonb",
        "date" => "Date",
        other => panic!("no diesel type known for {other}"),
    };
    match udt.strip_prefix('_') {
        Some(element) => format!("Array<{}>", base(element)),
        None => base(udt).to_owned(),
    }
}

type Tables = BTreeMap<String, Vec<String>>;

fn parse_schema_rs() -> Tables {
    let text = [
        include_str!("../../src/db/schema.rs"),
        include_str!("../../src/db/schema/closed_loop.rs"),
    ]
    .concat();
    let mut tables = Tables::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = current.as_ref() {
            if line == "}" {
                current = None;
            } else if let Some((column, kind)) = line.split_once(" -> ") {
                tables
                    .get_mut(name)
                    .unwrap()
                    .push(format!("{column} -> {}", kind.trim_end_matches(',')));
            }
        } else if line.ends_with('{') && line.contains(" (") && !line.starts_with("diesel::") {
            let name = line.split_whitespace().next().unwrap().to_owned();
            tables.insert(name.clone(), Vec::new());
            current = Some(name);
        }
    }
    tables
}

#[tokio::test]
async fn schema_rs_matches_the_migrated_database() {
    let app = TestApp::spawn().await;
    let mut conn = app.conn().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'
         ORDER BY table_name, ordinal_position",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut database = Tables::new();
    for column in columns {
        let kind = diesel_type(&column.udt_name);
        let kind = if column.is_nullable == "YES" {
            format!("Nullable<{kind}>")
        } else {
            kind
        };
        database
            .entry(column.table_name)
            .or_default()
            .push(format!("{} -> {kind}", column.column_name));
    }
    assert_eq!(parse_schema_rs(), database);
}
