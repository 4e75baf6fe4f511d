//! The only part of the app that talks to the network: the outbox push and
//! changes pull against `/api/sync` ([`engine`]), the HTTP calls ([`api`]),
//! and when to run them ([`runner`]). (The residents' page is the server's
//! own, `server/src/resident_page`.)

pub mod api;
pub mod engine;
pub mod runner;
