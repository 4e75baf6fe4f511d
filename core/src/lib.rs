//! Doorstep's shared vocabulary: the types that the app and the server both speak.
//!
//! This crate does no I/O and depends on no framework, so every rule in it is
//! tested natively and holds identically on the phone and on the server.

pub mod api;
