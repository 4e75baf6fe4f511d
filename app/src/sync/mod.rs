//! Sync: the outbox push and changes pull against `/api/sync` ([`engine`]),
//! when to run them ([`runner`]), and the phone's live stream that makes it
//! pull at once when its compound changes ([`live`]). Its requests go
//! through the app's HTTP client, [`crate::api`]. (The residents' page is
//! the server's own, `server/src/resident_page`.)

pub mod engine;
pub mod live;
pub mod runner;
