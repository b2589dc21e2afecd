//! The OpenAPI 3.1 document, collected from the handlers' `#[utoipa::path]` annotations.

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDocument;
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::routes;

mod conditions;
mod list_items;
mod webhooks;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tandem",
        description = "Case management for peer recovery support: coach–participant pairings, \
recovery goals, session notes, recovery-capital check-ins, a community-resource directory and \
closed-loop referrals.\n\n\
**Authentication.** Sign in with `POST /api/v1/auth/login`, then send the `access_token` as \
`Authorization: Bearer <token>` (in this page: the *Authorize* button). Access tokens last 15 \
minutes; exchange the single-use `refresh_token` at `/api/v1/auth/refresh` for a new pair.\n\n\
**Roles.** Each operation's description names the roles that may call it; other roles get 403. \
Objects outside the caller's organization or caseload are 404, exactly as if they did not exist.\n\n\
**Errors.** Every error body is `application/problem+json` (RFC 9457) with `type`, `title`, \
`status`, `detail` and, for 422, `errors: [{field, message}]`.\n\n\
**Lists** return `{items, next_cursor}`; pass `next_cursor` back as `cursor`. `limit` sets the page \
size; each list's parameter states its bounds and default.\n\n\
**Updates** are `PATCH` with a partial object. Single-object responses carry an `ETag`; send it \
as `If-Match` to get 412 instead of overwriting someone else's change.\n\n\
**Creates** answer 201 with `Location`, and honour `Idempotency-Key`: repeating a request with \
the same key and body replays the first response (`Idempotent-Replayed: true`); the same key \
with another body is 422. Keys are kept at least 24 hours, per caller.\n\n\
**Clinic systems** can also speak FHIR R4 at `/fhir/r4` (HL7 SDOH Clinical Care referrals: \
Task, ServiceRequest, Patient, HealthcareService, transaction Bundles), signing in with SMART \
Backend Services. That interface is described by its CapabilityStatement at \
[`/fhir/r4/metadata`](/fhir/r4/metadata), not by this document.",
        version = env!("CARGO_PKG_VERSION"),
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "Tandem maintainers"),
    ),
    servers((url = "/", description = "The server that serves this document")),
    components(schemas(crate::http::error::Problem, crate::routes::follow_ups::FollowUpPoint)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in and tokens: staff and participants sign in with a password, integration clients with the OAuth 2.0 client-credentials grant"),
        (name = "me", description = "The caller's own account"),
        (name = "users", description = "User accounts and their roles (admins)"),
        (name = "coaches", description = "Peer recovery coaches: capacity and caseloads"),
        (name = "participants", description = "People in recovery: their profile, status, portal account and coach match suggestions"),
        (name = "episodes", description = "Episodes of care: each enrolment, its follow-up schedule (SUPRT/GPRA windows) and interviews"),
        (name = "pairings", description = "Coach–participant pairings and their lifecycle; the unassigned queue"),
        (name = "goals", description = "The recovery plan: goals, their action items and progress log"),
        (name = "session notes", description = "Session notes: visibility, signing and amendments"),
        (name = "group-sessions", description = "Group sessions and who attended them"),
        (name = "assessments", description = "Recovery-capital instruments (BARC-10) and participants' assessments"),
        (name = "resources", description = "The community-resource directory, also as Open Referral HSDS 3.0 services"),
        (name = "consents", description = "42 CFR part 2 consents to disclose, and the accounting of disclosures"),
        (name = "referrals", description = "Closed-loop referrals: outbound to the directory, inbound from clinics, their FHIR Task status"),
        (name = "integration-clients", description = "Integration clients (admins): secrets, scopes, webhook endpoints and deliveries; the events webhooks deliver"),
        (name = "organization", description = "The caller's organization and its settings (its time zone)"),
        (name = "audit", description = "The hash-chained audit log of every read and write of participant data (admins)"),
        (name = "operations", description = "Health, readiness and this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from `POST /api/v1/auth/login`."))
                    .build(),
            ),
        );
    }
}

/// Builds the document by mounting the routes on a throwaway app, the same way the server
/// mounts them, so a route cannot be served without being documented.
pub fn document() -> OpenApiDocument {
    let (_, mut document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure_documented)
        .split_for_parts();
    conditions::add(&mut document);
    list_items::refer(&mut document);
    webhooks::add(&mut document);
    document
}

/// The document as pretty JSON with a trailing newline, as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
