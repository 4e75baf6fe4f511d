//! Doorstep's phone app. Pages stay thin: they read signals and call plain
//! types, so the logic is testable natively and the views stay small.

pub mod api;
pub mod areas;
mod backup_panel;
pub mod bundle;
pub mod credentials;
pub mod device;
pub mod errors;
pub mod i18n;
pub mod pages;
mod shell;
mod split;
pub mod state;
mod status_bars;
pub mod storage;
pub mod sync;

pub use shell::{FieldApp, ManageApp, mount};
