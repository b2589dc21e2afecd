//! A referral as an SDOHCC *Task For Referral Management*: the Task the guide's referral
//! recipients poll and move. Its `id` is the referral's id; its version is the instant the
//! referral last changed.

pub mod search;
pub mod update;

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use super::datatypes::{CodeableConcept, Coding, Identifier, Meta, Reference};
use super::labels::{self, instant};
use crate::db::models::referrals::changes::{self, NamedResource};
use crate::db::models::referrals::{Referral, ReferralOutcome};
use crate::db::models::resources::ResourceCategory;
use crate::domain::closed_loop::view::{self, Shown};
use crate::domain::closed_loop::{Acting, REASON_REQUIRED};
use crate::http::error::AppResult;

crate::fhir_element! {
    /// FHIR R4 `Task`, with every element R4 defines.
    pub struct Task {
        resource_type: String,
        id: String,
        meta: Meta,
        implicit_rules: String,
        language: String,
        text: Value,
        contained: Vec<Value>,
        extension: Vec<Value>,
        modifier_extension: Vec<Value>,
        identifier: Vec<Identifier>,
        instantiates_canonical: String,
        instantiates_uri: String,
        based_on: Vec<Reference>,
        group_identifier: Identifier,
        part_of: Vec<Reference>,
        status: String,
        status_reason: CodeableConcept,
        business_status: CodeableConcept,
        intent: String,
        priority: String,
        code: CodeableConcept,
        description: String,
        focus: Reference,
        #[serde(rename = "for")]
        subject: Reference,
        encounter: Reference,
        execution_period: Value,
        authored_on: String,
        last_modified: String,
        requester: Reference,
        performer_type: Vec<CodeableConcept>,
        owner: Reference,
        location: Reference,
        reason_code: CodeableConcept,
        reason_reference: Reference,
        insurance: Vec<Reference>,
        note: Vec<Value>,
        relevant_history: Vec<Reference>,
        restriction: Value,
        input: Vec<Value>,
        output: Vec<Value>,
    }
}

/// The type of the Task output that says how the referral ended. Not the guide's
/// `resulting-activity`, whose value must be a procedure code: an outcome such as "could not
/// contact" is not a procedure, so it is an output of Tandem's own type beside the guide's.
pub fn output_system(base: &str) -> String {
    format!("{base}/fhir/r4/CodeSystem/task-output")
}
pub const OUTPUT_CODE: &str = "referral-outcome";

/// The version a referral is at: the instant it last changed, in microseconds.
pub fn version_id(referral: &Referral) -> String {
    referral.updated_at.timestamp_micros().to_string()
}

/// What Tasks name beside their referrals, read once for a page of them.
pub struct Names {
    base: String,
    organization: String,
    resources: HashMap<Uuid, NamedResource>,
    /// `(client_id, name)` of each client that sent an inbound referral.
    clients: HashMap<Uuid, (String, String)>,
    /// The reason of each referral's latest move, when one was given.
    reasons: HashMap<Uuid, String>,
}

impl Names {
    pub async fn load(
        conn: &mut AsyncPgConnection,
        base: &str,
        organization_id: Uuid,
        rows: &[Referral],
    ) -> AppResult<Self> {
        let resource_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.resource_id).collect();
        let client_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.source_client_id).collect();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        Ok(Self {
            base: base.to_owned(),
            organization: changes::organization_name(conn, organization_id).await?,
            resources: changes::resource_names(conn, &resource_ids).await?,
            clients: changes::client_names(conn, &client_ids).await?,
            reasons: changes::latest_reasons(conn, &ids).await?,
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The name of the service a referral asks for: the resource's, for one sent.
    pub fn service_name(&self, referral: &Referral) -> Option<String> {
        let resource = self.resources.get(&referral.resource_id?)?;
        Some(resource.name.clone())
    }

    /// The categories of the resource a referral goes to.
    pub fn categories(&self, referral: &Referral) -> &[ResourceCategory] {
        referral
            .resource_id
            .and_then(|id| self.resources.get(&id))
            .map_or(&[], |resource| resource.categories.as_slice())
    }

    /// The organization running Tandem, as a Task names it.
    fn organization(&self) -> Reference {
        Reference::named("Organization", self.organization.clone())
    }

    /// Who asked: the organization for a referral it sent, the clinic for one it received.
    pub fn requester(&self, referral: &Referral) -> Reference {
        match referral
            .source_client_id
            .and_then(|id| self.clients.get(&id))
        {
            Some((_, name)) => Reference::named("Organization", name.clone()),
            None => self.organization(),
        }
    }

    /// Who is to do it: the directory resource for a referral sent, the organization for one
    /// received.
    pub fn owner(&self, referral: &Referral) -> Reference {
        match referral.resource_id {
            Some(id) => {
                let display = self
                    .resources
                    .get(&id)
                    .map(|r| format!("{} ({})", r.name, r.organization_name));
                Reference::to("HealthcareService", id, display)
            }
            None => self.organization(),
        }
    }

    /// The clinic's own id of a referral it sent, in its namespace.
    pub fn identifier(&self, referral: &Referral) -> Option<Vec<Identifier>> {
        let external_id = referral.external_id.clone()?;
        let (client_id, _) = self.clients.get(&referral.source_client_id?)?;
        Some(vec![Identifier {
            system: Some(labels::client_namespace(&self.base, client_id)),
            value: Some(external_id),
            ..Identifier::default()
        }])
    }
}

/// `referral` as a Task; `patient` is the participant's name when the caller may see it.
pub fn task(referral: &Referral, names: &Names, patient: Option<String>) -> Task {
    let status_reason = REASON_REQUIRED
        .contains(&referral.status)
        .then(|| names.reasons.get(&referral.id))
        .flatten()
        .map(CodeableConcept::text);
    Task {
        resource_type: Some("Task".into()),
        id: Some(referral.id.to_string()),
        meta: Some(labels::labelled_meta(
            Some(labels::TASK_PROFILE),
            Some(version_id(referral)),
            Some(instant(referral.updated_at)),
        )),
        identifier: names.identifier(referral),
        status: Some(referral.status.as_str().to_owned()),
        status_reason,
        intent: Some("order".into()),
        priority: Some(referral.urgency.as_str().to_owned()),
        code: Some(CodeableConcept::coded(Coding::new(
            labels::TASK_CODE,
            "fulfill",
            "Fulfill the focal request",
        ))),
        focus: Some(Reference::to("ServiceRequest", referral.id, None)),
        subject: Some(Reference::to("Patient", referral.participant_id, patient)),
        authored_on: Some(instant(referral.created_at)),
        last_modified: Some(instant(referral.updated_at)),
        requester: Some(names.requester(referral)),
        owner: Some(names.owner(referral)),
        output: referral
            .outcome
            .map(|outcome| vec![output(&names.base, outcome)]),
        ..Task::default()
    }
}

/// The Task output that says how the referral ended.
fn output(base: &str, outcome: ReferralOutcome) -> Value {
    let value = Coding::new(
        &labels::referral_outcome_system(base),
        outcome.as_str(),
        outcome_display(outcome),
    );
    json!({
        "type": CodeableConcept::coded(Coding::new(&output_system(base), OUTPUT_CODE, "Referral outcome")),
        "valueCodeableConcept": CodeableConcept::coded(value),
    })
}

pub fn outcome_display(outcome: ReferralOutcome) -> &'static str {
    match outcome {
        ReferralOutcome::GotHelp => "Got help",
        ReferralOutcome::NotEligible => "Not eligible",
        ReferralOutcome::NoCapacity => "No capacity",
        ReferralOutcome::CouldNotContact => "Could not contact",
        ReferralOutcome::NoLongerInterested => "No longer interested",
        ReferralOutcome::ReferredElsewhere => "Referred elsewhere",
        ReferralOutcome::Other => "Other",
    }
}

/// `rows` as Tasks `acting` may see them (see [`shown_as`]).
pub async fn shown(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    base: &str,
    rows: Vec<Referral>,
) -> AppResult<Shown<Vec<Task>>> {
    shown_as(conn, acting, base, rows, task).await
}

/// `rows` as `make` renders referrals (a Task, a ServiceRequest), as `acting` may see them:
/// the same consent decision as the REST reads (see [`view::summaries`]), which names the
/// participant only under an active consent, records that showing as a disclosure, and
/// answers the consents it went under.
pub async fn shown_as<T>(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    base: &str,
    rows: Vec<Referral>,
    make: fn(&Referral, &Names, Option<String>) -> T,
) -> AppResult<Shown<Vec<T>>> {
    let Some(first) = rows.first() else {
        return Ok(Shown {
            body: Vec::new(),
            consent_ids: Vec::new(),
        });
    };
    let names = Names::load(conn, base, first.organization_id, &rows).await?;
    let summaries = view::summaries(conn, acting, rows.clone()).await?;
    let shown = rows
        .iter()
        .zip(summaries.body)
        .map(|(referral, summary)| {
            let name = summary
                .participant
                .map(|p| format!("{} {}", p.first_name, p.last_name));
            make(referral, &names, name)
        })
        .collect();
    Ok(Shown {
        body: shown,
        consent_ids: summaries.consent_ids,
    })
}
