//! One module per route. Pages read state and render; they never touch
//! storage or the network themselves.

pub mod accounts;
pub mod dashboard;
pub mod district;
pub mod door;
pub mod download;
pub mod history;
pub mod home;
pub mod home_visits;
pub mod household;
pub mod household_ledgers;
pub mod join;
pub mod ledgers;
pub mod need;
pub mod not_found;
pub mod refused;
pub mod roster;
pub mod truck;
pub mod visits;
