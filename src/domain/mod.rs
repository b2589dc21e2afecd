//! Rules that span tables, kept out of the handlers: caseloads and their capacity, matching
//! coaches to participants, the state machines and their history, assessment instruments, the
//! closed loop of a referral, and the wording 42 CFR Part 2 prescribes.
//!
//! It may use `db`, `audit`, `http::error` and `webhooks`; never `routes`.

pub mod caseload;
pub mod closed_loop;
pub mod episodes;
pub mod follow_up;
pub mod instruments;
pub mod lifecycle;
pub mod matching;
pub mod part2;
