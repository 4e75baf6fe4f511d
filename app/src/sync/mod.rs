//! The only part of the app that talks to the network: the outbox push and
//! changes pull against `/api/sync` ([`engine`]), the HTTP calls ([`api`]),
//! when to run them ([`runner`]), the phone's live stream that makes it
//! pull at once when its compound changes ([`live`]), and the residents'
//! live truck status ([`public_feed`]).

pub mod api;
pub mod engine;
pub mod live;
pub mod public_feed;
pub mod runner;
