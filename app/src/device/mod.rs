//! What the phone's browser can tell us or do for us, outside our own data:
//! connectivity, storage persistence, the offline service worker.

pub mod connectivity;
pub mod persistence;
pub mod service_worker;
