//! The only part of the app that talks to the network: the outbox push and
//! changes pull against `/api/sync` ([`engine`]), the HTTP calls ([`api`]),
//! when to run them ([`runner`]), and the phone's live stream that makes it
//! pull at once when its compound changes ([`live`]). (The residents' page
//! is the server's own, `server/src/resident_page`.)

pub mod api;
pub mod engine;
pub mod live;
pub mod runner;
