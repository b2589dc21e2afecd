//! Running Tandem: configuration, building and starting the server, choosing (or starting) the
//! database, creating the first organization, background upkeep and the seed data.
//!
//! The top of the stack: it may use every other module.

pub mod bootstrap;
pub mod config;
pub mod directory_seed;
pub mod local_db;
pub mod maintenance;
pub mod seed_demo;
pub mod startup;
