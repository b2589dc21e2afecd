//! Creating organizations and their first admin, from the command line or on an empty database.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::distributions::Alphanumeric;
use rand::Rng;
use uuid::Uuid;

use crate::auth::password::hash_blocking;
use crate::auth::Role;
use crate::db::models::organizations::{self, Organization};
use crate::db::models::users::{self, NewUser, User};
use crate::http::limits;
use crate::http::validation::{normalize_email, Checks};
use crate::ops::config::{Environment, Settings};

pub const DEFAULT_ADMIN_EMAIL: &str = "admin@tandem.local";
pub const DEFAULT_ORGANIZATION_NAME: &str = "Tandem";

/// Creates an organization and its first admin in one transaction.
pub async fn create_organization(
    conn: &mut AsyncPgConnection,
    name: &str,
    admin_email: &str,
    admin_password: &str,
) -> Result<(Organization, User), String> {
    let mut checks = Checks::new();
    checks.text("name", name, limits::ORGANIZATION_NAME);
    checks.email("admin email", admin_email);
    checks.password("admin password", admin_password);
    checks.finish().map_err(|error| match error {
        crate::http::error::AppError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{} {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })?;
    let password = admin_password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| error.to_string())?;
    let email = normalize_email(admin_email);
    let name = name.trim().to_owned();
    conn.transaction(async move |conn| {
        if users::find_by_email(conn, &email).await?.is_some() {
            return Ok(Err(format!("a user with email {email} already exists")));
        }
        let organization = organizations::insert(conn, &name).await?;
        let admin = users::insert(
            conn,
            &NewUser {
                id: Uuid::now_v7(),
                organization_id: organization.id,
                email: &email,
                display_name: "Administrator",
                role: Role::Admin,
                password_hash: &hash,
            },
        )
        .await?;
        Ok::<_, diesel::result::Error>(Ok((organization, admin)))
    })
    .await
    .map_err(|error| format!("database error: {error}"))?
}

/// On an empty database, creates the first organization and admin. In development without
/// bootstrap variables the admin is `admin@tandem.local` with a random password, printed once.
/// Instances starting together on one database take turns, so only the first creates them.
pub async fn ensure_first_admin(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
) -> Result<(), String> {
    let result = conn
        .transaction(async |conn| {
            diesel::sql_query("SELECT pg_advisory_xact_lock(7405232817263612)")
                .execute(conn)
                .await?;
            Ok::<_, diesel::result::Error>(first_admin_unless_any(conn, settings).await)
        })
        .await;
    result.map_err(|error| format!("database error: {error}"))?
}

async fn first_admin_unless_any(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
) -> Result<(), String> {
    let existing = organizations::count(conn)
        .await
        .map_err(|error| format!("database error: {error}"))?;
    if existing > 0 {
        return Ok(());
    }
    let (email, password, generated) = match (
        &settings.bootstrap_admin_email,
        &settings.bootstrap_admin_password,
    ) {
        (Some(email), Some(password)) => (email.clone(), password.clone(), false),
        _ if settings.environment == Environment::Production => {
            log::warn!(
                "the database is empty; create an organization with `tandem create-organization` \
                 or set TANDEM_BOOTSTRAP_ADMIN_EMAIL and TANDEM_BOOTSTRAP_ADMIN_PASSWORD"
            );
            return Ok(());
        }
        _ => (DEFAULT_ADMIN_EMAIL.to_owned(), random_password(), true),
    };
    let (organization, admin) =
        create_organization(conn, DEFAULT_ORGANIZATION_NAME, &email, &password).await?;
    println!(
        "Created organization \"{}\" ({}) with admin {}",
        organization.name, organization.id, admin.email
    );
    if generated {
        println!("The admin's password is shown only now: {password}");
    }
    Ok(())
}

fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}
