//! What a signed-in device presents to the server: its token and compound.
//! Storage keeps them in the device record; the HTTP client ([`crate::api`])
//! and the sync engine send them. Both use this, neither owns it.

use doorstep_core::ids::CompoundId;

/// What an authenticated call needs: the device token and its compound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub token: String,
    pub compound: CompoundId,
}
