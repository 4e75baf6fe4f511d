//! Doorstep's phone app. Pages stay thin: they read signals and call plain
//! types, so the logic is testable natively and the views stay small.

pub mod areas;
pub mod device;
pub mod i18n;
pub mod pages;
pub mod storage;
mod shell;

pub use shell::App;
