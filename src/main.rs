//! The `tandem` command: parse the command line, load settings, call into the library.

use std::io::IsTerminal;
use std::process::ExitCode;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use embedded_pg::{EmbeddedPostgres, Purpose};
use tandem::http::openapi;
use tandem::ops::bootstrap;
use tandem::ops::config::{Environment, Settings};
use tandem::ops::local_db::{self, Database};
use tandem::ops::startup::Application;

const USAGE: &str = "\
Usage: tandem [COMMAND]

Commands:
  serve                                             Run the API server (the default)
  migrate                                           Apply pending database migrations
  create-organization --name NAME --admin-email EMAIL
                                                    Create an organization and its first admin;
                                                    the password comes from TANDEM_ADMIN_PASSWORD
                                                    or, on a terminal, a prompt
  seed-directory --organization UUID                Add the example community-resource directory
                                                    to an organization (skips names it has)
  seed-demo [--scale small|bench] [--seed N] [--organizations N] [--coaches N]
            [--participants N] [--notes-per-participant N]
                                                    Fill the database with demo data (demo only:
                                                    users of a role share one password)
  openapi                                           Print the OpenAPI document
  help                                              Show this message

Configuration comes from the environment; see README.md.";

enum Command {
    Serve,
    Migrate,
    CreateOrganization { name: String, admin_email: String },
    SeedDirectory { organization: uuid::Uuid },
    SeedDemo(tandem::ops::seed_demo::Options),
    OpenApi,
    Help,
}

fn parse(args: &[String]) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        None | Some("serve") => Ok(Command::Serve),
        Some("migrate") => Ok(Command::Migrate),
        Some("openapi") => Ok(Command::OpenApi),
        Some("help" | "--help" | "-h") => Ok(Command::Help),
        Some("create-organization") => {
            let (mut name, mut admin_email) = (None, None);
            let mut rest = args[1..].iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().cloned();
                match flag.as_str() {
                    "--name" => name = value,
                    "--admin-email" => admin_email = value,
                    other => return Err(format!("unknown option `{other}`")),
                }
            }
            match (name, admin_email) {
                (Some(name), Some(admin_email)) => {
                    Ok(Command::CreateOrganization { name, admin_email })
                }
                _ => Err("create-organization needs --name NAME and --admin-email EMAIL".into()),
            }
        }
        Some("seed-directory") => match &args[1..] {
            [flag, id] if flag == "--organization" => id
                .parse()
                .map(|organization| Command::SeedDirectory { organization })
                .map_err(|_| format!("`{id}` is not an organization id (a UUID)")),
            _ => Err("seed-directory needs --organization UUID".into()),
        },
        Some("seed-demo") => {
            tandem::ops::seed_demo::Options::parse(&args[1..]).map(Command::SeedDemo)
        }
        Some(other) => Err(format!("unknown command `{other}`")),
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::OpenApi => {
            print!("{}", openapi::document_json());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    if matches!(command, Command::SeedDemo(_)) && settings.environment == Environment::Production {
        eprintln!(
            "error: seed-demo creates logins whose passwords are published; it does not run \
             when TANDEM_ENV=production"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // The embedded cluster's lifetime is tied to this (main) thread, so it is started here.
    let purpose = match &command {
        Command::Migrate => Purpose::Command("migrate"),
        Command::CreateOrganization { .. } => Purpose::Command("create-organization"),
        Command::SeedDirectory { .. } => Purpose::Command("seed-directory"),
        Command::SeedDemo(_) => Purpose::Command("seed-demo"),
        _ => Purpose::Serve,
    };
    let database = match local_db::resolve(&settings, purpose) {
        Ok(database) => database,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(command, settings, &database));
    if let Some(cluster) = database.cluster.filter(EmbeddedPostgres::owns_server) {
        eprintln!("stopping PostgreSQL");
        if let Err(error) = cluster.stop() {
            eprintln!("warning: {error}");
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut settings: Settings, database: &Database) -> Result<(), String> {
    local_db::prepare(database).await?;
    local_db::migrate(database, &settings, matches!(command, Command::Migrate)).await?;
    match command {
        Command::Migrate => Ok(()),
        Command::CreateOrganization { name, admin_email } => {
            let password = admin_password()?;
            let mut conn = connect(&database.url).await?;
            let (organization, admin) =
                bootstrap::create_organization(&mut conn, &name, &admin_email, &password).await?;
            println!(
                "Created organization \"{}\" ({}) with admin {}",
                organization.name, organization.id, admin.email
            );
            Ok(())
        }
        Command::SeedDirectory { organization } => {
            let mut conn = connect(&database.url).await?;
            let added = tandem::ops::directory_seed::seed(&mut conn, organization)
                .await
                .map_err(|error| match error {
                    diesel::result::Error::NotFound => format!("no organization {organization}"),
                    other => format!("cannot seed the directory: {other}"),
                })?;
            println!("Added {added} resources to the directory of {organization}");
            Ok(())
        }
        Command::SeedDemo(options) => {
            let mut conn = connect(&database.url).await?;
            let report = tandem::ops::seed_demo::run(&mut conn, &options).await?;
            let login = tandem::ops::seed_demo::login_instructions(&report, settings.bind);
            print!("{login}");
            Ok(())
        }
        _ => {
            settings
                .resolve_jwt_secret()
                .map_err(|error| format!("invalid configuration: {error}"))?;
            settings
                .resolve_audit_key()
                .map_err(|error| format!("invalid configuration: {error}"))?;
            local_db::check_serving_role(database, &settings).await?;
            let mut conn = connect(&database.url).await?;
            bootstrap::ensure_first_admin(&mut conn, &settings).await?;
            drop(conn);
            let app = Application::build(&settings, &database.url)
                .await
                .map_err(|error| error.to_string())?;
            log::info!(
                "Tandem listening on http://{}:{}{}",
                settings.bind.ip(),
                app.port(),
                if settings.docs {
                    " (Swagger UI at /docs)"
                } else {
                    ""
                }
            );
            app.run_until_stopped()
                .await
                .map_err(|error| error.to_string())
        }
    }
}

async fn connect(url: &str) -> Result<AsyncPgConnection, String> {
    AsyncPgConnection::establish(url)
        .await
        .map_err(|error| format!("cannot connect to the database: {error}"))
}

fn admin_password() -> Result<String, String> {
    if let Ok(password) = std::env::var("TANDEM_ADMIN_PASSWORD") {
        return Ok(password);
    }
    if !std::io::stdin().is_terminal() {
        return Err("set TANDEM_ADMIN_PASSWORD (no terminal to prompt on)".into());
    }
    let prompt = format!(
        "Admin password ({}): ",
        tandem::http::limits::PASSWORD
            .describe()
            .trim_end_matches('.')
    );
    let password = rpassword::prompt_password(prompt).map_err(|error| error.to_string())?;
    let again =
        rpassword::prompt_password("Repeat the password: ").map_err(|error| error.to_string())?;
    if password != again {
        return Err("the passwords differ".into());
    }
    Ok(password)
}
