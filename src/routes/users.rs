//! User accounts of the caller's organization (admins only).

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{Admin, Role};
use crate::db::models::users::{self, NewUser, User, UserChanges, UserFilter};
use crate::db::models::{coach_profiles, refresh_tokens};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::state::AppState;
use crate::http::validation::{normalize_email, Checks};
use crate::http::{self, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound, PreconditionFailed,
    TooManyRequests,
};
use crate::routes::views::{email_taken, UserResponse};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_user)
        .service(list_users)
        .service(get_user)
        .service(update_user);
}

/// A new staff account. Participant logins are made with `POST /participants/{id}/portal-account`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Unique across Tandem.
    #[schema(value_type = limits::Email)]
    pub email: String,
    #[schema(value_type = limits::DisplayName)]
    pub display_name: String,
    /// `admin`, `supervisor` or `coach`.
    #[schema(value_type = StaffRole)]
    pub role: Role,
    #[schema(value_type = limits::Password)]
    pub password: String,
}

/// Changes to a user; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(value_type = Option<limits::DisplayName>)]
    pub display_name: Option<String>,
    /// `admin`, `supervisor` or `coach`. Takes effect on the user's next request.
    #[schema(value_type = Option<StaffRole>)]
    pub role: Option<Role>,
    /// `false` deactivates the account and ends its sessions at once.
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (`true`) or inactive (`false`) users.
    pub active: Option<bool>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The roles an account is created with or given here: participants' logins are made with
/// `POST /participants/{id}/portal-account`.
pub const STAFF_ROLES: &[Role] = &[Role::Admin, Role::Supervisor, Role::Coach];

limits::subset_schema!(
    /// The document's schema of a role in [`STAFF_ROLES`].
    StaffRole = STAFF_ROLES
);

fn check_staff_role(checks: &mut Checks, role: Role) {
    if !STAFF_ROLES.contains(&role) {
        checks.add(
            "role",
            "participant logins are created with POST /participants/{id}/portal-account",
        );
    }
}

/// Create a user.
///
/// Roles: admin. 409 when the email is already in use.
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the new user", body = UserResponse),
        Authenticated, JsonBody, Forbidden, Conflict, TooManyRequests,
    ),
    security(("bearer" = []))
)]
#[post("/users", wrap = "Operation(Action::Create, ResourceType::User)")]
pub async fn create_user(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    key: IdempotencyKey,
    Json(body): Json<CreateUserRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.email("email", &body.email);
    checks.text("display_name", &body.display_name, limits::DISPLAY_NAME);
    check_staff_role(&mut checks, body.role);
    checks.password("password", &body.password);
    checks.finish()?;
    let password_hash = state.hasher.hash(body.password.clone()).await?;
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, _: &mut Target| {
        let email = normalize_email(&body.email);
        if users::find_by_email(conn, &email).await?.is_some() {
            return Err(email_taken());
        }
        let new_user = NewUser {
            id: Uuid::now_v7(),
            organization_id: scope.organization_id,
            email: &email,
            display_name: body.display_name.trim(),
            role: body.role,
            password_hash: &password_hash,
        };
        let user = users::insert(conn, &new_user).await?;
        if user.role == Role::Coach {
            coach_profiles::ensure(conn, user.id, user.organization_id).await?;
        }
        Ok(UserResponse::created(user))
    };
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id: Uuid, _: &mut Target| {
        let user = users::find_in_org(conn, scope.organization_id, id).await?;
        Ok(UserResponse::created(user))
    };
    let target = admin.target();
    admin.create(target, &key, &body, make, show).await
}

/// List the organization's users, oldest first.
///
/// Roles: admin.
#[utoipa::path(
    tag = "users",
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users", body = Page<UserResponse>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get("/users", wrap = "Operation(Action::List, ResourceType::User)")]
pub async fn list_users(
    Admin(admin): Admin,
    Query(query): Query<ListUsersQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let filter = UserFilter {
        role: query.role,
        active: query.active,
    };
    let target = admin.target();
    let rows = admin
        .read(target, async |conn, scope, _| {
            Ok(users::list(conn, scope.organization_id, &filter, &page).await?)
        })
        .await?;
    let page = page.finish(rows, |user| Cursor::After(user.id), UserResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

/// Get one user.
///
/// Roles: admin. Users of other organizations are 404.
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user; `ETag` identifies this version", body = UserResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get("/users/{id}", wrap = "Operation(Action::Read, ResourceType::User)")]
pub async fn get_user(Admin(admin): Admin, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = admin.target().id(id);
    let user = admin
        .read(target, async |conn, scope, _| {
            Ok(users::find_in_org(conn, scope.organization_id, id).await?)
        })
        .await?;
    Ok(http::ok(&UserResponse::from(user)))
}

/// Change a user's name, role or active flag.
///
/// Roles: admin. A role change or deactivation takes effect on the user's next request.
/// Admins cannot change their own role or deactivate themselves (409). A coach with current
/// pairings keeps the coach role until their caseload is reassigned (409); deactivating them
/// is allowed (their caseload can still be reassigned afterwards). A participant's login keeps
/// its role (409).
#[utoipa::path(
    tag = "users",
    params(("id" = Uuid, Path, description = "User id"), IfMatch),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch("/users/{id}", wrap = "Operation(Action::Update, ResourceType::User)")]
pub async fn update_user(
    Admin(admin): Admin,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateUserRequest>,
) -> AppResult<HttpResponse> {
    let mut checks = Checks::new();
    checks.optional_text(
        "display_name",
        body.display_name.as_deref(),
        limits::DISPLAY_NAME,
    );
    if let Some(role) = body.role {
        check_staff_role(&mut checks, role);
    }
    checks.finish()?;
    let id = id.into_inner();
    let target = admin.target().id(id);
    let updated = admin
        .write(target, async |conn, scope, _| {
            let current = users::lock_in_org(conn, scope.organization_id, id).await?;
            if_match.check(&UserResponse::from(current.clone()))?;
            let changes = plan_changes(&scope.user_id, &current, &body)?;
            apply_changes(conn, &current, &changes).await
        })
        .await?;
    Ok(http::ok(&UserResponse::from(updated)))
}

/// Applies planned changes: a coach keeps the role while their caseload holds anyone, and a
/// deactivation ends every session.
async fn apply_changes(
    conn: &mut AsyncPgConnection,
    current: &User,
    changes: &UserChanges,
) -> AppResult<User> {
    let leaves_coaching =
        current.role == Role::Coach && changes.role.is_some_and(|role| role != Role::Coach);
    if leaves_coaching && coach_profiles::count_current(conn, current.id).await? > 0 {
        return Err(AppError::conflict(
            ProblemType::CaseloadNotEmpty,
            "This coach still has current pairings; reassign them \
                     (POST /pairings/reassign) before changing the role.",
        ));
    }
    if changes.active == Some(false) {
        refresh_tokens::revoke_all_for_user(conn, current.id).await?;
    }
    let updated = users::update(conn, current.id, changes).await?;
    if updated.role == Role::Coach {
        coach_profiles::ensure(conn, updated.id, updated.organization_id).await?;
    }
    Ok(updated)
}

/// Works out the row changes, bumping the token version when sessions must end.
fn plan_changes(caller: &Uuid, current: &User, body: &UpdateUserRequest) -> AppResult<UserChanges> {
    let role_changes = body.role.is_some_and(|role| role != current.role);
    let deactivates = body.active == Some(false) && current.active;
    if *caller == current.id && (role_changes || deactivates) {
        return Err(AppError::conflict(
            ProblemType::Conflict,
            "You cannot change your own role or deactivate yourself; ask another admin.",
        ));
    }
    if current.role == Role::Participant && role_changes {
        // The account's state, not the request, is what refuses it: the same body is fine for
        // a staff account.
        return Err(AppError::conflict(
            ProblemType::Conflict,
            "A participant's login cannot be given a staff role.",
        ));
    }
    Ok(UserChanges {
        display_name: body
            .display_name
            .as_ref()
            .map(|name| name.trim().to_owned()),
        role: body.role,
        active: body.active,
        token_version: (role_changes || deactivates).then_some(current.token_version + 1),
        updated_at: Some(Utc::now()),
        ..UserChanges::default()
    })
}
