//! App state: plain types that native tests reach ([`replica`],
//! [`household`], [`sync_status`], [`backup`], [`mirror`]) and [`AppData`],
//! the context that pages read and call. Pages go through `AppData` for
//! records and this phone's storage; it starts sync through a
//! [`SyncTrigger`] it is given, so state never depends on `sync`.

pub mod backup;
pub mod district;
#[cfg(test)]
mod fixtures;
pub mod home_visits;
pub mod household;
pub mod members;
pub mod mirror;
pub mod needs;
pub mod replica;
pub mod roster;
pub mod sync_status;
pub mod team;
pub mod truck;
pub mod visits;

use std::rc::Rc;

use doorstep_core::{
    access::{Role, Scope},
    conflict::Conflict,
    mutation::Mutation,
};
use leptos::{prelude::*, task::spawn_local};

use crate::{
    api,
    credentials::Credentials,
    storage::{DB_NAME, Db, Device, StorageError},
};
use backup::{Backup, BackupError};
use district::{DistrictLoad, LoadProblem};
use doorstep_core::district::DistrictSummary;
use mirror::{Loss, Mirror};
use replica::Replica;
use sync_status::SyncStatus;

/// Milliseconds since the epoch from the browser (std's clock panics in WASM).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// The round and team this phone is working in (a device setting).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Work {
    pub round: Option<doorstep_core::ids::RecordId>,
    pub team: Option<doorstep_core::ids::RecordId>,
}

const WORK_KEY: &str = "doorstep.work";

impl Work {
    fn load() -> Self {
        crate::device::settings::record(WORK_KEY).unwrap_or_default()
    }

    pub fn save(&self) {
        crate::device::settings::set_record(WORK_KEY, self);
    }
}

/// Why redeeming an invite code failed, as the join page explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInError {
    /// Wrong, used up or expired (the server does not say which).
    Invalid,
    /// Too many attempts from here: wait and try again.
    Throttled,
    Offline,
    /// A district official's code on a phone that works in a compound.
    CompoundPhone,
    Storage(StorageError),
}

/// What runs sync rounds when asked (the sync runner, `crate::sync::runner`).
/// `AppData` holds one once storage is open, without knowing what it does.
pub trait SyncTrigger {
    /// Syncs now (or right after the round in progress).
    fn now(&self);
    /// Syncs shortly, so a burst of edits goes in one push.
    fn soon(&self);
}

#[derive(Clone, Copy)]
pub struct AppData {
    db: StoredValue<Option<Rc<Db>>, LocalStorage>,
    sync_trigger: StoredValue<Option<Rc<dyn SyncTrigger>>, LocalStorage>,
    /// Records and conflicts as this device has them.
    pub replica: RwSignal<Replica>,
    /// The compound's rounds, in the order they started.
    pub rounds: Memo<Vec<visits::RoundChoice>>,
    pub device: RwSignal<Option<Device>>,
    pub sync: RwSignal<SyncStatus>,
    /// Set when local storage could not be opened or read back: nothing
    /// can be recorded.
    pub storage_error: RwSignal<Option<StorageError>>,
    /// The database was deleted or closed under the open app (by another
    /// tab, or the browser): nothing more can be recorded until a reload.
    pub storage_closed: RwSignal<bool>,
    /// The browser evicted this phone's data, with this many unsent edits.
    pub lost: RwSignal<Option<Loss>>,
    /// The last edit that did not reach local storage ([`AppData::edit`],
    /// [`AppData::save`], [`AppData::finish_draft`]): the shell says why
    /// until dismissed.
    pub save_failed: RwSignal<Option<StorageError>>,
    pub work: RwSignal<Work>,
}

/// What restoring a backup file did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// Edits recorded again on this phone, to be sent.
    pub restored: usize,
    /// Entries left out: this phone already had them, or something newer,
    /// or they belong to another compound, or they no longer apply.
    pub skipped: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreError {
    NotSignedIn,
    File(BackupError),
    Storage(StorageError),
}

/// Opens IndexedDB, loads this device's data and starts syncing with
/// `start_sync` (the shell passes the sync runner's start).
pub fn provide_app_data(
    start_sync: impl FnOnce(AppData) -> Rc<dyn SyncTrigger> + 'static,
) -> AppData {
    let replica = RwSignal::new(Replica::default());
    let data = AppData {
        db: StoredValue::new_local(None),
        sync_trigger: StoredValue::new_local(None),
        replica,
        rounds: Memo::new(move |_| replica.with(visits::rounds)),
        device: RwSignal::new(None),
        sync: RwSignal::new(SyncStatus::default()),
        storage_error: RwSignal::new(None),
        storage_closed: RwSignal::new(false),
        lost: RwSignal::new(None),
        save_failed: RwSignal::new(None),
        work: RwSignal::new(Work::load()),
    };
    provide_context(data);
    // The mirror follows the device, its unsent count and any loss; it is
    // first written after the start has compared the old one with the database.
    let pending = Memo::new(move |_| data.sync.with(|s| s.pending));
    let mirror = Memo::new(move |_| {
        data.device.with(|device| {
            device
                .as_ref()
                .map(|device| Mirror::of(device, pending.get(), data.lost.get()))
        })
    });
    Effect::new(move |_| {
        if let Some(mirror) = mirror.get() {
            mirror.save();
        }
    });
    keep_work_current(data);
    spawn_local(async move {
        match Db::open(DB_NAME).await {
            Ok(db) => {
                let db = Rc::new(db);
                db.on_gone(move || data.storage_gone());
                data.db.set_value(Some(db.clone()));
                let started = match data.notice_eviction(&db).await {
                    Ok(()) => data.reload().await,
                    Err(err) => Err(err),
                };
                if let Err(err) = started {
                    data.storage_error.set(Some(err));
                    return;
                }
                data.sync_trigger.set_value(Some(start_sync(data)));
            }
            Err(err) => data.storage_error.set(Some(err)),
        }
    });
    data
}

/// Keeps the round and team this phone works in to ones it may work in, on
/// every page: work goes on in an open round (only a coordinator stays in an
/// ended one), and a volunteer works for the team they were invited into.
fn keep_work_current(data: AppData) {
    Effect::new(move || {
        let Some(role) = data.role() else {
            return;
        };
        let chosen = data.work.with(|w| w.round.clone());
        let keep_ended = role == Role::Coordinator;
        let working = data
            .rounds
            .with(|r| visits::working_round(r, chosen.as_ref(), keep_ended));
        if working != chosen {
            data.work.update(|w| w.round = working);
            data.work.with_untracked(|w| w.save());
        }
    });
    Effect::new(move || {
        if let Some(team) = data.access().and_then(|a| a.team)
            && data.work.with_untracked(|w| w.team.as_ref() != Some(&team))
        {
            data.work.update(|w| w.team = Some(team));
            data.work.with_untracked(|w| w.save());
        }
    });
}

pub fn use_app_data() -> AppData {
    expect_context::<AppData>()
}

impl AppData {
    pub fn db(&self) -> Option<Rc<Db>> {
        self.db.get_value()
    }

    /// The database, or why there is none to write to.
    fn open_db(&self) -> Result<Rc<Db>, StorageError> {
        self.db().ok_or(StorageError::Closed)
    }

    /// Compares the mirror in localStorage with the device in IndexedDB; if
    /// the browser evicted the database, signs the new one back in and
    /// remembers what was lost (see [`mirror`]).
    async fn notice_eviction(&self, db: &Db) -> Result<(), StorageError> {
        let Some(mirror) = Mirror::load() else {
            return Ok(());
        };
        let device = db.device().await?;
        let mut lost = mirror.lost.clone();
        if let Some(eviction) = mirror.evicted(&device, now_ms()) {
            if let Some(session) = eviction.session {
                db.restore_session(session.compound, session.token, session.access)
                    .await?;
            }
            lost = Some(eviction.loss);
        }
        self.lost.set(lost);
        Ok(())
    }

    /// The database went away under the running app: stop using it.
    fn storage_gone(&self) {
        self.db.set_value(None);
        self.storage_closed.set(true);
    }

    /// Re-reads everything from IndexedDB (at start, and when another tab synced).
    pub async fn reload(&self) -> Result<(), StorageError> {
        let Some(db) = self.db() else { return Ok(()) };
        let device = db.device().await?;
        let replica = Replica::new(db.records().await?, db.conflicts().await?);
        let pending = db.outbox_len().await?;
        self.replica.set(replica);
        self.sync.update(|s| {
            s.pending = pending;
            s.rejections = device.rejections.len();
        });
        self.device.set(Some(device));
        Ok(())
    }

    /// Records an edit on this phone: IndexedDB and outbox first, then the
    /// screen, then a sync soon. A failure is also shown by the shell
    /// ([`AppData::save_failed`]); the page keeps what was entered.
    pub async fn edit(&self, mutation: Mutation) -> Result<(), StorageError> {
        let result = self.commit(vec![mutation], None).await;
        result.inspect_err(|err| self.show_failed(err))
    }

    /// Records `mutations` (one transaction) for a tap whose page has no
    /// form to keep: a failure is shown by the shell, never dropped.
    pub fn save(&self, mutations: Vec<Mutation>) {
        let data = *self;
        spawn_local(async move {
            if let Err(err) = data.commit(mutations, None).await {
                data.show_failed(&err);
            }
        });
    }

    /// Saves the form kept as draft `name`: its edits are committed and the
    /// draft discarded in one transaction. On failure the draft stays, and
    /// the shell shows why.
    pub async fn finish_draft(
        &self,
        name: &str,
        mutations: Vec<Mutation>,
    ) -> Result<(), StorageError> {
        let result = self.commit(mutations, Some(name)).await;
        result.inspect_err(|err| self.show_failed(err))
    }

    /// Shows a failed edit in the shell, in the person's language, until
    /// dismissed; the browser's own words go to the console.
    pub fn show_failed(&self, err: &StorageError) {
        web_sys::console::error_1(&err.to_string().into());
        self.save_failed.set(Some(err.clone()));
    }

    async fn commit(
        &self,
        mutations: Vec<Mutation>,
        finished_draft: Option<&str>,
    ) -> Result<(), StorageError> {
        let db = self.open_db()?;
        let records = db
            .commit_edits(&mutations, now_ms(), finished_draft)
            .await?;
        let added = records.len() as u32;
        self.replica.update(|r| {
            for record in records {
                r.upsert(record);
            }
        });
        self.sync.update(|s| s.pending += added);
        self.kick_sync_soon();
        Ok(())
    }

    /// Keeps an unsaved form (on every change), so closing the app or a
    /// flat battery loses nothing the volunteer entered.
    pub async fn save_draft<T: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        self.open_db()?.save_draft(name, value).await
    }

    /// The unsaved form kept as draft `name`, if any.
    pub async fn draft<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StorageError> {
        self.open_db()?.draft(name).await
    }

    /// Redeems an invite code: this phone joins the code's compound in its
    /// role, then syncs.
    pub async fn sign_in(&self, code: &str, label: &str) -> Result<(), SignInError> {
        let db = self.open_db().map_err(SignInError::Storage)?;
        let redeemed = api::redeem(code, label)
            .await
            .map_err(|failure| match failure {
                api::ApiFailure::Unreachable(_) => SignInError::Offline,
                api::ApiFailure::Refused { status: 429, .. } => SignInError::Throttled,
                api::ApiFailure::Refused { .. } => SignInError::Invalid,
            })?;
        // A district official's phone holds no compound's records: a phone
        // that works in a compound stays as it is.
        let holds_compound = self
            .device
            .with_untracked(|d| d.as_ref().is_some_and(|d| d.compound.is_some()));
        if redeemed.session.is_none() && holds_compound {
            return Err(SignInError::CompoundPhone);
        }
        let device = db.sign_in(&redeemed).await.map_err(SignInError::Storage)?;
        self.device.set(Some(device));
        self.kick_sync_now();
        Ok(())
    }

    /// Every unsent edit as a backup file's contents; `None` when there is
    /// nothing unsent (or no compound to name).
    pub async fn backup(&self) -> Result<Option<Backup>, StorageError> {
        let db = self.open_db()?;
        let Some(compound) = self.device.with_untracked(|d| {
            d.as_ref()
                .and_then(|d| d.compound.as_ref().map(|c| c.id.clone()))
        }) else {
            return Ok(None);
        };
        let entries = db.outbox(u32::MAX).await?;
        Ok((!entries.is_empty()).then(|| Backup::new(compound, now_ms(), entries)))
    }

    /// Records a backup file's edits again as this device's own (see
    /// [`backup`] for what is left out), then syncs. Restoring anything, or
    /// finding it all already here, settles an eviction notice.
    pub async fn restore(&self, text: &str) -> Result<Restored, RestoreError> {
        let backup = Backup::parse(text).map_err(RestoreError::File)?;
        let compound = self
            .device
            .with_untracked(|d| {
                d.as_ref()
                    .filter(|d| d.token.is_some())
                    .and_then(|d| d.compound.as_ref().map(|c| c.id.clone()))
            })
            .ok_or(RestoreError::NotSignedIn)?;
        let plan = self.replica.with_untracked(|r| backup.plan(&compound, r));
        let mut done = Restored {
            restored: 0,
            skipped: plan.already + plan.other_compound,
        };
        for mutation in plan.mutations {
            // Not `edit`: an entry that no longer applies is expected here.
            match self.commit(vec![mutation], None).await {
                Ok(()) => done.restored += 1,
                Err(err) if self.db().is_none() => return Err(RestoreError::Storage(err)),
                // An entry that no longer applies here (e.g. its ledger
                // entry exists in another form) is left out, not fatal.
                Err(_) => done.skipped += 1,
            }
        }
        if done.restored > 0 || plan.already > 0 {
            self.lost.set(None);
        }
        self.kick_sync_now();
        Ok(done)
    }

    /// The volunteer read the eviction notice and has no backup to restore.
    pub fn dismiss_loss(&self) {
        self.lost.set(None);
    }

    /// Edits not yet acknowledged by the server, oldest first (at most 500).
    pub async fn unsent(&self) -> Result<Vec<doorstep_core::sync::OutboxEntry>, StorageError> {
        self.open_db()?.outbox(500).await
    }

    /// The token and compound for API calls (tracked), once signed in.
    pub fn credentials(&self) -> Option<Credentials> {
        self.device
            .with(|d| d.as_ref().and_then(|d| d.credentials()))
    }

    pub fn credentials_untracked(&self) -> Option<Credentials> {
        self.device
            .with_untracked(|d| d.as_ref().and_then(|d| d.credentials()))
    }

    /// This device's role, once signed in (tracked). A phone signed in for
    /// a district is its official's.
    pub fn role(&self) -> Option<Role> {
        self.device.with(|d| {
            let d = d.as_ref().filter(|d| d.token.is_some())?;
            match &d.district {
                Some(_) => Some(Role::Official),
                None => d.access.as_ref().map(|a| a.role),
            }
        })
    }

    /// An official's district, once signed in (tracked).
    pub fn district(&self) -> Option<DistrictSummary> {
        self.device.with(|d| {
            d.as_ref()
                .filter(|d| d.token.is_some())
                .and_then(|d| d.district.clone())
        })
    }

    /// Where an official's phone posts its token for the district's
    /// workbook, and the token.
    pub fn district_download(&self) -> Option<(String, String)> {
        self.device.with(|d| {
            let d = d.as_ref()?;
            Some((
                api::district_xlsx_url(&d.district.as_ref()?.id),
                d.token.clone()?,
            ))
        })
    }

    /// The district's totals from the server, kept on the phone; when the
    /// server cannot be asked, the copy kept last time, with why.
    pub async fn district_totals(&self) -> DistrictLoad {
        let Some((token, district)) = self.device.with_untracked(|d| {
            let d = d.as_ref()?;
            Some((d.token.clone()?, d.district.as_ref()?.id.clone()))
        }) else {
            return DistrictLoad {
                totals: None,
                problem: Some(LoadProblem::SignedOut),
            };
        };
        let Ok(db) = self.open_db() else {
            return DistrictLoad {
                totals: None,
                problem: Some(LoadProblem::Storage),
            };
        };
        let problem = match api::district_totals(&token, &district).await {
            Ok(totals) => {
                let kept = db.keep_district_totals(&totals).await;
                return DistrictLoad {
                    problem: kept.err().map(|err| {
                        web_sys::console::error_1(&err.to_string().into());
                        LoadProblem::Storage
                    }),
                    totals: Some(totals),
                };
            }
            Err(api::ApiFailure::Unreachable(_)) => LoadProblem::Offline,
            Err(api::ApiFailure::Refused { status: 401, .. }) => LoadProblem::SignedOut,
            Err(api::ApiFailure::Refused { error, .. }) => LoadProblem::Refused(error.code),
        };
        match db.kept_district_totals().await {
            Ok(totals) => DistrictLoad {
                totals: totals.filter(|t| t.district.id == district),
                problem: Some(problem),
            },
            Err(err) => {
                web_sys::console::error_1(&err.to_string().into());
                DistrictLoad {
                    totals: None,
                    problem: Some(problem),
                }
            }
        }
    }

    /// What this device may reach, once signed in (tracked).
    pub fn access(&self) -> Option<Scope> {
        self.device
            .with(|d| d.as_ref().and_then(|d| d.access.clone()))
    }

    pub async fn dismiss_conflict(&self, conflict: &Conflict) -> Result<(), StorageError> {
        let db = self.open_db()?;
        db.dismiss_conflict(&conflict.key()).await?;
        self.replica.update(|r| r.remove_conflict(&conflict.key()));
        Ok(())
    }

    pub fn kick_sync_now(&self) {
        self.sync_trigger.with_value(|trigger| {
            if let Some(trigger) = trigger {
                trigger.now();
            }
        });
    }

    fn kick_sync_soon(&self) {
        self.sync_trigger.with_value(|trigger| {
            if let Some(trigger) = trigger {
                trigger.soon();
            }
        });
    }
}
