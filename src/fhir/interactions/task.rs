//! Task interactions: read, search (the polling of the guide's Referral Recipient) and update
//! (the receiver moving the status). Integration clients only, as on the REST interface: a
//! client sees the Tasks of the referrals sent to resources linked to it and of those it sent.

use actix_web::{get, put, web, HttpRequest, HttpResponse};

use super::{base_url, read_referral, resource_id, respond};
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::scope::ApiScope;
use crate::auth::AuthClient;
use crate::db::models::referrals::{self, changes};
use crate::db::scope::Viewer;
use crate::domain::closed_loop::view::Shown;
use crate::domain::closed_loop::{self, Acting, Move};
use crate::fhir::body::FhirBody;
use crate::fhir::bundle;
use crate::fhir::task::{self, search, update, version_id, Task};
use crate::http::conventions::IfMatch;
use crate::http::error::{AppError, AppResult};

/// `GET /fhir/r4/Task/{id}`: 404 for an id the client cannot see, as for one that does not
/// exist.
#[get("/Task/{id}", wrap = "Operation(Action::Read, ResourceType::Referral)")]
pub async fn read_task(
    client: AuthClient,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    read_referral(client, &id, &req, task::task, version).await
}

/// `GET /fhir/r4/Task?…`: a searchset Bundle, oldest change first, with a `next` link while
/// more match. A Task that changes while a client pages moves to a later page, so paging
/// never skips one (it may show it again, at its new version).
#[get("/Task", wrap = "Operation(Action::List, ResourceType::Referral)")]
pub async fn search_tasks(client: AuthClient, req: HttpRequest) -> AppResult<HttpResponse> {
    let search = search::parse(req.query_string())?;
    let base = base_url(&req);
    let request_id = client.meta.request_id.clone();
    let target = client.target();
    let (shown, next) = client
        .write(target, async |conn, client, target| {
            client.require(ApiScope::ReferralsRead)?;
            let viewer = Viewer::Client(client.scope());
            let mut rows = changes::changed(conn, viewer, &search.filter).await?;
            let more = rows.len() as i64 > search.filter.limit;
            rows.truncate(search.filter.limit as usize);
            let next = rows
                .last()
                .filter(|_| more)
                .map(|last| search::next_cursor(last.updated_at, last.id));
            target.set_participants(rows.iter().map(|r| r.participant_id));
            let acting = Acting {
                viewer,
                request_id: &request_id,
            };
            Ok((task::shown(conn, acting, &base, rows).await?, next))
        })
        .await?;
    let page = bundle::searchset(&base, "Task", &search.kept, next, &shown.body);
    Ok(respond(&page, None, &shown.consent_ids))
}

/// `PUT /fhir/r4/Task/{id}`: moves the referral as `POST /referrals/{id}/status` does (same
/// machine, sides, history, disclosures and webhooks). `If-Match: W/"<versionId>"` makes it
/// 412 when the Task changed since; every element but status, statusReason, businessStatus
/// and output must be as read (422 naming each that is not). Sending the current status back
/// unchanged changes nothing.
#[put(
    "/Task/{id}",
    wrap = "Operation(Action::ChangeStatus, ResourceType::Referral)"
)]
pub async fn update_task(
    client: AuthClient,
    id: web::Path<String>,
    if_match: IfMatch,
    req: HttpRequest,
    FhirBody(sent): FhirBody<Task>,
) -> AppResult<HttpResponse> {
    let id = resource_id(&id)?;
    if sent.id.as_deref() != Some(id.to_string().as_str()) {
        return Err(AppError::invalid("Task.id", "must be the id the URL names"));
    }
    let base = base_url(&req);
    let request_id = client.meta.request_id.clone();
    let target = client.target().id(id);
    let shown = client
        .write(target, async |conn, client, target| {
            client.require(ApiScope::ReferralsWrite)?;
            let viewer = Viewer::Client(client.scope());
            let acting = Acting {
                viewer,
                request_id: &request_id,
            };
            let current = referrals::lock_visible(conn, viewer, id).await?;
            target.set_participant(current.participant_id);
            check_version(&if_match, &version_id(&current))?;
            let status = current.status;
            let read = task::shown(conn, acting, &base, vec![current]).await?;
            let current_task = read.body.first().ok_or(AppError::NotFound)?;
            let asked = update::asked(&base, current_task, &sent)?;
            if asked.to == status {
                return unchanged(read, &asked, &sent);
            }
            let change = Move {
                to: asked.to,
                reason: asked.reason.as_deref(),
                outcome: asked.outcome,
            };
            change.check("Task.statusReason", "Task.output")?;
            let moved = closed_loop::change_status(conn, acting, id, &change).await?;
            task::shown(conn, acting, &base, vec![moved]).await
        })
        .await?;
    let task = shown.body.first().ok_or(AppError::NotFound)?;
    Ok(respond(task, version(task), &shown.consent_ids))
}

/// The Task sent back at its current status: nothing to do, unless it changes the reason or
/// the outcome, which change only with the status (422).
fn unchanged(
    read: Shown<Vec<Task>>,
    asked: &update::Asked,
    sent: &Task,
) -> AppResult<Shown<Vec<Task>>> {
    let current = read.body.first().ok_or(AppError::NotFound)?;
    let reason = current.status_reason.as_ref().and_then(|r| r.words());
    let reason_kept = asked.reason.is_none() || asked.reason.as_deref() == reason;
    let outcome_kept = sent.output.is_none() || sent.output == current.output;
    if reason_kept && outcome_kept {
        return Ok(read);
    }
    Err(AppError::invalid(
        "Task.status",
        "is the current status: statusReason and output change only with a new status",
    ))
}

fn version(task: &Task) -> Option<&str> {
    task.meta.as_ref()?.version_id.as_deref()
}

/// 412 unless `If-Match` is absent or names `current` (`W/"<versionId>"`, or `*`).
fn check_version(if_match: &IfMatch, current: &str) -> AppResult<()> {
    let Some(header) = &if_match.0 else {
        return Ok(());
    };
    let named = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == current);
    match named {
        true => Ok(()),
        false => Err(AppError::PreconditionFailed),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn if_match_names_the_version_weakly_or_strongly() {
        let check = |header: Option<&str>| check_version(&IfMatch(header.map(Into::into)), "17");
        assert!(check(None).is_ok());
        assert!(check(Some("W/\"17\"")).is_ok());
        assert!(check(Some("\"17\"")).is_ok());
        assert!(check(Some("*")).is_ok());
        assert!(check(Some("W/\"16\", W/\"17\"")).is_ok());
        assert!(matches!(
            check(Some("W/\"16\"")),
            Err(AppError::PreconditionFailed)
        ));
    }

    #[test]
    fn ids_that_are_not_uuids_are_not_found() {
        assert!(matches!(resource_id("x"), Err(AppError::NotFound)));
        let id = Uuid::now_v7();
        assert_eq!(resource_id(&id.to_string()).unwrap(), id);
    }
}
