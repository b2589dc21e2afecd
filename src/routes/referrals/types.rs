//! Request types of the referral endpoints.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::referrals::{Direction, ReferralOutcome, ReferralStatus, Urgency};
use crate::http::limits;

/// A new outbound referral to a resource of the directory.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReferralRequest {
    pub participant_id: Uuid,
    /// A resource of the organization's directory that accepts referrals.
    pub resource_id: Uuid,
    /// Why the participant is referred.
    #[schema(value_type = limits::ReferralReason)]
    pub reason: String,
    pub urgency: Urgency,
    /// The consent to send it under; when omitted, the participant's most recent active
    /// consent that names the recipient and covers referral details.
    pub consent_id: Option<Uuid>,
    /// `draft` (the default: nothing is sent) or `requested` (sent now).
    #[schema(value_type = Option<CreateStatus>)]
    pub status: Option<ReferralStatus>,
}

/// The statuses a referral may be created in.
pub const CREATE_STATUSES: &[ReferralStatus] = &[ReferralStatus::Draft, ReferralStatus::Requested];

crate::http::limits::subset_schema!(
    /// The document's schema of a status in [`CREATE_STATUSES`].
    CreateStatus = CREATE_STATUSES
);

/// A status change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "accepted"}))]
pub struct ReferralStatusRequest {
    pub status: ReferralStatus,
    /// Why; required for `rejected`, `cancelled`, `on-hold` and `failed`.
    #[schema(value_type = Option<limits::Reason>)]
    pub reason: Option<String>,
    /// How it ended: required for `completed` and `failed`, refused otherwise.
    pub outcome: Option<ReferralOutcome>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListReferralsQuery {
    pub participant_id: Option<Uuid>,
    pub resource_id: Option<Uuid>,
    pub status: Option<ReferralStatus>,
    pub direction: Option<Direction>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
