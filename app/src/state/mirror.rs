//! A small copy of the device in localStorage (`doorstep.mirror`), so the
//! app notices when the browser evicted IndexedDB: the client id, sign-in
//! and the number of unsent edits, rewritten whenever they change.
//!
//! At start, a mirror that names another client id than the database holds
//! means the database was cleared under us. The new client id stays (ids
//! are never reused), the sign-in is restored so the next pull brings the
//! compound back, and the volunteer is told how many unsent edits were lost
//! (kept here as [`Loss`] until they restore a backup or dismiss it).
//!
//! When the browser clears localStorage too (as "clear site data" does),
//! there is nothing left to compare with: the phone simply looks new and
//! asks to sign in, and nothing can say what was lost. Only a backup file
//! helps then.

use doorstep_core::{access::Scope, api::CompoundSummary, ids::ClientId};
use serde::{Deserialize, Serialize};

use crate::storage::Device;

pub const MIRROR_KEY: &str = "doorstep.mirror";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mirror {
    pub client_id: ClientId,
    #[serde(default)]
    pub compound: Option<CompoundSummary>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access: Option<Scope>,
    /// Edits in the outbox, as last counted.
    #[serde(default)]
    pub unsent: u32,
    /// An eviction the volunteer has not dealt with yet.
    #[serde(default)]
    pub lost: Option<Loss>,
}

/// Unsent edits the browser took with the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loss {
    pub unsent: u32,
    pub noticed_ms: u64,
}

/// What the mirror says happened to the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eviction {
    pub loss: Loss,
    /// The sign-in to put back, when the new database has none.
    pub session: Option<Session>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub compound: CompoundSummary,
    pub token: String,
    pub access: Option<Scope>,
}

impl Mirror {
    pub fn of(device: &Device, unsent: u32, lost: Option<Loss>) -> Self {
        Self {
            client_id: device.client_id,
            compound: device.compound.clone(),
            token: device.token.clone(),
            access: device.access.clone(),
            unsent,
            lost,
        }
    }

    /// Compares the mirror with the device IndexedDB holds now. A phone
    /// that was never signed in and had nothing unsent lost nothing.
    pub fn evicted(&self, device: &Device, now_ms: u64) -> Option<Eviction> {
        if self.client_id == device.client_id || (self.token.is_none() && self.unsent == 0) {
            return None;
        }
        let earlier = self.lost.as_ref().map_or(0, |loss| loss.unsent);
        let session = match (&self.compound, &self.token, &device.token) {
            (Some(compound), Some(token), None) => Some(Session {
                compound: compound.clone(),
                token: token.clone(),
                access: self.access.clone(),
            }),
            _ => None,
        };
        Some(Eviction {
            loss: Loss {
                unsent: self.unsent + earlier,
                noticed_ms: now_ms,
            },
            session,
        })
    }

    pub fn load() -> Option<Self> {
        crate::device::settings::record(MIRROR_KEY)
    }

    /// Private modes may refuse; eviction then goes unnoticed.
    pub fn save(&self) {
        crate::device::settings::set_record(MIRROR_KEY, self);
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::access::Role;

    use super::*;

    fn signed_in(id: u128) -> Device {
        let mut device = Device::new(ClientId::from_u128(id));
        device.compound = Some(CompoundSummary {
            id: "yongan".parse().unwrap(),
            name: "永安社区".into(),
        });
        device.token = Some("secret".into());
        device.access = Some(Scope {
            compound: "yongan".parse().unwrap(),
            role: Role::Coordinator,
            team: None,
            buildings: Default::default(),
            units: Default::default(),
            ended: Default::default(),
            ended_units: Default::default(),
            key_persons: true,
            home_visits: Default::default(),
            home_visits_ended: Default::default(),
        });
        device
    }

    #[test]
    fn the_same_database_is_not_an_eviction() {
        let device = signed_in(1);
        assert_eq!(Mirror::of(&device, 3, None).evicted(&device, 10), None);
    }

    #[test]
    fn a_new_database_under_an_old_mirror_was_evicted() {
        let old = Mirror::of(&signed_in(1), 2, None);
        let fresh = Device::new(ClientId::from_u128(2));
        let eviction = old.evicted(&fresh, 10).expect("an eviction");
        assert_eq!(
            eviction.loss,
            Loss {
                unsent: 2,
                noticed_ms: 10
            }
        );
        let session = eviction.session.expect("the sign-in to restore");
        assert_eq!(session.token, "secret");
        assert_eq!(session.compound.id.as_str(), "yongan");
        assert_eq!(session.access.map(|a| a.role), Some(Role::Coordinator));
    }

    #[test]
    fn a_database_that_signed_in_again_keeps_its_own_sign_in() {
        let old = Mirror::of(&signed_in(1), 0, None);
        let eviction = old.evicted(&signed_in(2), 10).expect("an eviction");
        assert_eq!(eviction.loss.unsent, 0);
        assert_eq!(eviction.session, None);
    }

    #[test]
    fn a_phone_never_signed_in_with_nothing_unsent_lost_nothing() {
        let old = Mirror::of(&Device::new(ClientId::from_u128(1)), 0, None);
        assert_eq!(old.evicted(&Device::new(ClientId::from_u128(2)), 10), None);
    }

    #[test]
    fn a_second_eviction_adds_to_a_loss_not_yet_dealt_with() {
        let earlier = Loss {
            unsent: 3,
            noticed_ms: 5,
        };
        let old = Mirror::of(&signed_in(2), 1, Some(earlier));
        let eviction = old
            .evicted(&Device::new(ClientId::from_u128(3)), 10)
            .unwrap();
        assert_eq!(eviction.loss.unsent, 4);
    }

    #[test]
    fn older_mirrors_without_optional_fields_still_read() {
        let text = format!(r#"{{"client_id": "{}"}}"#, ClientId::from_u128(1));
        let mirror: Mirror = serde_json::from_str(&text).unwrap();
        assert_eq!((mirror.unsent, mirror.lost), (0, None));
    }
}
