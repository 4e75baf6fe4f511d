//! What the phone's browser can tell us or do for us, outside our own data:
//! connectivity, local time, confirm dialogs, storage persistence,
//! the offline service worker, files saved and picked, localStorage.

pub mod connectivity;
pub mod dialog;
pub mod files;
pub mod local_time;
pub mod persistence;
pub mod service_worker;
pub mod settings;
