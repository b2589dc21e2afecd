//! Status histories and state-machine checks shared by every resource with a status.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::status_changes::StatusChange;
use crate::error::{AppError, AppResult};

/// One status change.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// The status before; `null` for the first entry.
    pub from: Option<String>,
    pub to: String,
    pub reason: Option<String>,
    /// Who made the change.
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl From<StatusChange> for HistoryEntry {
    fn from(change: StatusChange) -> Self {
        Self {
            from: change.from_status,
            to: change.to_status,
            reason: change.reason,
            actor_id: change.actor_id,
            at: change.at,
        }
    }
}

/// 409 naming the current status and the allowed next ones unless the move is allowed.
pub fn check_transition<'a>(
    current: &str,
    next: &str,
    allowed: bool,
    allowed_next: impl Iterator<Item = &'a str>,
) -> AppResult<()> {
    if allowed {
        return Ok(());
    }
    let options: Vec<&str> = allowed_next.collect();
    let detail = if options.is_empty() {
        format!("The status is `{current}`, which is final; it cannot become `{next}`.")
    } else {
        format!(
            "The status is `{current}`; it cannot become `{next}`. Allowed next: {}.",
            options
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(AppError::Conflict {
        slug: "invalid-transition",
        detail,
    })
}
