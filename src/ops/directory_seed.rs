//! A small, realistic starting directory for one organization: the kinds of services peer
//! recovery coaches refer people to. Every name is invented.
//!
//! `tandem seed-directory --organization <uuid>` calls [`seed`]; running it again adds only
//! what is missing (matched by name).

use diesel_async::{AnsiTransactionManager, AsyncPgConnection, TransactionManager};
use uuid::Uuid;

use crate::db::models::organizations;
use crate::db::models::resources::{self, NewResource, ResourceCategory, ResourceStatus};

use ResourceCategory as C;

/// One seeded resource.
pub struct SeedResource {
    pub name: &'static str,
    pub organization_name: &'static str,
    pub description: &'static str,
    pub categories: &'static [ResourceCategory],
    pub phone: &'static str,
    pub address_1: &'static str,
    pub postal_code: &'static str,
    pub languages: &'static [&'static str],
    pub eligibility_description: &'static str,
    pub schedule_description: &'static str,
    pub accepts_referrals: bool,
}

const CITY: &str = "Port Alder";
const STATE: &str = "ME";

pub const RESOURCES: &[SeedResource] = &[
    SeedResource {
        name: "Tuesday Night All-Recovery Meeting",
        organization_name: "Port Alder Mutual Aid Fellowship",
        description: "Peer-led mutual aid meeting open to every pathway of recovery: twelve-step, SMART, faith-based, medication-assisted or none.",
        categories: &[C::MutualAid],
        phone: "555-010-1001",
        address_1: "18 Chapel Lane",
        postal_code: "04101",
        languages: &["en"],
        eligibility_description: "Anyone who wants to attend; no sign-up.",
        schedule_description: "Tuesdays 7-8pm",
        accepts_referrals: false,
    },
    SeedResource {
        name: "Lighthouse Recovery Community Center",
        organization_name: "Lighthouse Recovery Collective",
        description: "Drop-in recovery community center with peer recovery coaching, all-recovery meetings, a computer lab and a quiet room.",
        categories: &[C::RecoveryCommunityCenter, C::MutualAid],
        phone: "555-010-1002",
        address_1: "240 Harbor Street",
        postal_code: "04101",
        languages: &["en", "es"],
        eligibility_description: "Adults in or seeking recovery, and their families.",
        schedule_description: "Monday to Saturday 9am-6pm",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Bayview Medication Clinic",
        organization_name: "Bayview Community Health",
        description: "Medications for opioid use disorder: buprenorphine same-day starts and methadone, with counseling on site.",
        categories: &[C::Moud, C::MentalHealth],
        phone: "555-010-1003",
        address_1: "75 Tidewater Road",
        postal_code: "04102",
        languages: &["en", "es"],
        eligibility_description: "Adults 18 and over; insurance not required.",
        schedule_description: "Weekdays 7am-3pm; walk-ins until noon",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Safe Passage Harm Reduction Program",
        organization_name: "Safe Passage Outreach",
        description: "Syringe services, naloxone kits and training, fentanyl test strips and wound care, no questions asked.",
        categories: &[C::HarmReduction],
        phone: "555-010-1004",
        address_1: "9 Depot Square",
        postal_code: "04103",
        languages: &["en"],
        eligibility_description: "Anyone who uses drugs, and the people around them.",
        schedule_description: "Daily 10am-4pm; mobile van evenings",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Rapid HIV and Hepatitis C Testing",
        organization_name: "Coastal Wellness Partners",
        description: "Free rapid HIV and hepatitis C testing with results in 20 minutes and linkage to treatment.",
        categories: &[C::HivHcvTesting, C::HarmReduction],
        phone: "555-010-1005",
        address_1: "310 Mill Street",
        postal_code: "04102",
        languages: &["en", "fr"],
        eligibility_description: "Anyone; confidential.",
        schedule_description: "Tuesdays and Thursdays 12-6pm",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Second Wind Recovery Residences",
        organization_name: "Second Wind Housing",
        description: "Certified recovery housing: peer-run homes with house meetings and support for people in early recovery.",
        categories: &[C::Housing],
        phone: "555-010-1006",
        address_1: "52 Orchard Avenue",
        postal_code: "04104",
        languages: &["en"],
        eligibility_description: "Adults with 7 or more days of abstinence or stable on medication.",
        schedule_description: "Intake calls weekdays 9am-5pm",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Fresh Start Employment Services",
        organization_name: "Fresh Start Workforce Alliance",
        description: "Job coaching, résumé help and recovery-friendly employers, including help with record questions.",
        categories: &[C::Employment],
        phone: "555-010-1007",
        address_1: "88 Commerce Way",
        postal_code: "04101",
        languages: &["en", "es"],
        eligibility_description: "Adults in recovery looking for work or training.",
        schedule_description: "Weekdays 8:30am-4:30pm",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Neighbors Table Food Pantry",
        organization_name: "Neighbors Table",
        description: "Weekly groceries and hot community meals; no proof of income needed.",
        categories: &[C::Food],
        phone: "555-010-1008",
        address_1: "4 Elm Court",
        postal_code: "04103",
        languages: &["en"],
        eligibility_description: "Anyone in the county.",
        schedule_description: "Wednesdays 3-7pm, Saturdays 9am-12pm",
        accepts_referrals: false,
    },
    SeedResource {
        name: "Second Chance Legal Clinic",
        organization_name: "Harborside Legal Aid",
        description: "Free legal help with record expungement, fines, driver's license restoration and housing court.",
        categories: &[C::Legal],
        phone: "555-010-1009",
        address_1: "120 Court Street",
        postal_code: "04101",
        languages: &["en"],
        eligibility_description: "Low-income adults; call for a screening.",
        schedule_description: "Walk-in clinic first Monday of the month 1-5pm",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Recovery Rides",
        organization_name: "Port Alder Transit Volunteers",
        description: "Free rides to treatment, recovery meetings, court dates and job interviews.",
        categories: &[C::Transportation],
        phone: "555-010-1010",
        address_1: "66 Station Road",
        postal_code: "04104",
        languages: &["en"],
        eligibility_description: "People in recovery without a car; book a day ahead.",
        schedule_description: "Every day 6am-9pm",
        accepts_referrals: true,
    },
    SeedResource {
        name: "Centro Camino de Recuperación",
        organization_name: "Asociación Camino",
        description: "Grupos de apoyo entre pares, consejería y acompañamiento en español para personas en recuperación y sus familias.",
        categories: &[C::RecoveryCommunityCenter, C::MentalHealth],
        phone: "555-010-1011",
        address_1: "201 Calle Marina",
        postal_code: "04102",
        languages: &["es"],
        eligibility_description: "Adultos y familias; no se requiere seguro médico.",
        schedule_description: "Lunes a viernes 10am-7pm",
        accepts_referrals: true,
    },
];

fn new_resource(organization_id: Uuid, seed: &SeedResource) -> NewResource {
    NewResource {
        id: Uuid::now_v7(),
        organization_id,
        name: seed.name.to_owned(),
        organization_name: seed.organization_name.to_owned(),
        description: seed.description.to_owned(),
        status: ResourceStatus::Active,
        categories: seed.categories.to_vec(),
        email: None,
        phone: Some(seed.phone.to_owned()),
        url: None,
        address_1: Some(seed.address_1.to_owned()),
        address_2: None,
        city: Some(CITY.to_owned()),
        state_province: Some(STATE.to_owned()),
        postal_code: Some(seed.postal_code.to_owned()),
        country: Some("US".to_owned()),
        languages: seed.languages.iter().map(|l| (*l).to_owned()).collect(),
        eligibility_description: Some(seed.eligibility_description.to_owned()),
        schedule_description: Some(seed.schedule_description.to_owned()),
        accepts_referrals: seed.accepts_referrals,
        verified_at: None,
        created_by: None,
    }
}

/// Adds the seed resources the organization does not have yet (by name), in one
/// transaction; returns how many were added. `NotFound` when there is no such organization.
pub async fn seed(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> diesel::QueryResult<usize> {
    AnsiTransactionManager::begin_transaction(conn).await?;
    match insert_missing(conn, organization_id).await {
        Ok(added) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(added)
        }
        Err(error) => {
            AnsiTransactionManager::rollback_transaction(conn).await?;
            Err(error)
        }
    }
}

async fn insert_missing(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> diesel::QueryResult<usize> {
    organizations::lock(conn, organization_id).await?;
    let names: Vec<&str> = RESOURCES.iter().map(|r| r.name).collect();
    let existing = resources::existing_names(conn, organization_id, &names).await?;
    let mut added = 0;
    for seed in RESOURCES
        .iter()
        .filter(|r| !existing.iter().any(|name| name == r.name))
    {
        resources::insert(conn, &new_resource(organization_id, seed)).await?;
        added += 1;
    }
    Ok(added)
}
