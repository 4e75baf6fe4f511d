//! Doorstep's shared vocabulary: the domain model, the change-set format and
//! the merge rules that the app and the server both speak.
//!
//! This crate does no I/O and depends on no framework, so every rule in it is
//! tested natively and holds identically on the phone and on the server.

pub mod access;
pub mod api;
pub mod building;
pub mod calendar;
pub mod conflict;
pub mod dashboard;
pub mod district;
pub mod domain;
pub mod eta;
#[cfg(test)]
mod fixtures;
pub mod help;
pub mod hlc;
pub mod home_visit;
pub mod ids;
pub mod invite;
pub mod labels;
pub mod mutation;
pub mod need;
pub mod number;
#[cfg(feature = "openapi")]
pub mod openapi;
mod page;
pub mod record;
pub mod roster;
pub mod schema;
pub mod spreadsheet;
pub mod sync;
pub mod truck;
pub mod visit;
