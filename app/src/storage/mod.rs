//! IndexedDB, and nothing else: records, the outbox, sync bookkeeping,
//! conflicts and drafts of unsaved forms. Every write batch is one transaction, committed explicitly
//! (indexed_db_futures rolls back a transaction that is dropped).
//!
//! Values are stored as JSON text: one encoding for phone and server, and
//! no surprises with JavaScript numbers or maps.
//!
//! The open connection closes itself when another page (or a test, or the
//! browser's "clear site data") deletes or upgrades the database, so it never
//! blocks that; [`Db::on_gone`] tells the app that storage is gone.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use doorstep_core::{
    access::Scope,
    api::{CompoundSummary, Redeemed},
    conflict::{Conflict, merge_pulled},
    district::{DistrictSummary, DistrictTotals},
    hlc::Clock,
    ids::ClientId,
    mutation::Mutation,
    record::Record,
    schema::Collection,
    sync::{OutboxEntry, PullPage, PushedMutation, Rejection, SCHEMA_VERSION},
};
use indexed_db_futures::{
    database::Database, internals::SystemRepr, object_store::ObjectStore, prelude::*,
    transaction::TransactionMode,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use wasm_bindgen::{JsCast, closure::Closure};

mod error;

pub use error::StorageError;

use crate::credentials::Credentials;

/// Bumped when stores change. An upgrade may add stores; it never drops the
/// outbox, which holds work the server has not seen.
pub const DB_VERSION: u32 = 1;
pub const DB_NAME: &str = "doorstep";

const RECORDS: &str = "records";
const OUTBOX: &str = "outbox";
const META: &str = "meta";
const CONFLICTS: &str = "conflicts";
const DEVICE_KEY: &str = "device";
/// An official's last district totals (`meta`).
const DISTRICT_TOTALS_KEY: &str = "district/totals";

/// This device's sync bookkeeping, kept in `meta` and updated in the same
/// transactions as the data it describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Made fresh with the database; lost data means a new id, never a reused one.
    pub client_id: ClientId,
    pub next_mid: u64,
    pub clock: Clock,
    /// The compound this phone works in, once signed in.
    pub compound: Option<CompoundSummary>,
    /// The last change sequence stored from the compound.
    pub cursor: u64,
    /// Edits the server refused for good, kept to show the volunteer.
    pub rejections: Vec<Rejection>,
    /// The bearer token an invite code was redeemed for.
    #[serde(default)]
    pub token: Option<String>,
    /// What this device may reach, as the server last said.
    #[serde(default)]
    pub access: Option<Scope>,
    /// The scope fingerprint the stored records were pulled under.
    #[serde(default)]
    pub pulled_scope: Option<String>,
    /// A coordinator revoked this device: nothing syncs; the outbox stays.
    #[serde(default)]
    pub revoked: bool,
    /// A district official's phone: the district whose totals it sees. It
    /// has no compound, so it never syncs records.
    #[serde(default)]
    pub district: Option<DistrictSummary>,
    /// Storage holds only what pages have brought since a reset page (and
    /// the outbox replayed onto it): no edit was committed since. While it
    /// holds, a [`PullRound`] knows every stored key and reads no others.
    #[serde(default)]
    pub fresh_pull: bool,
}

impl Device {
    pub fn new(client_id: ClientId) -> Self {
        Self {
            client_id,
            next_mid: 1,
            clock: Clock::new(client_id),
            compound: None,
            cursor: 0,
            rejections: Vec::new(),
            token: None,
            access: None,
            pulled_scope: None,
            revoked: false,
            district: None,
            fresh_pull: false,
        }
    }

    /// The token and compound API calls need, once signed in.
    pub fn credentials(&self) -> Option<Credentials> {
        Some(Credentials {
            token: self.token.clone()?,
            compound: self.compound.as_ref()?.id.clone(),
        })
    }
}

/// What applying a pull page did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub records: Vec<Record>,
    pub conflicts: Vec<Conflict>,
    /// The device's scope changed: every stored record was replaced.
    pub reset: bool,
}

/// One sync round's pull, across its pages: after a reset page, the keys
/// the round has stored, so later pages read only those (a record that
/// changed again during the pull comes twice) and skip the reads of ids the
/// phone never held. Only valid while [`Device::fresh_pull`] holds, which
/// any edit committed meanwhile (in any tab) clears.
#[derive(Debug, Default)]
pub struct PullRound {
    held: Option<std::collections::HashSet<String>>,
}

pub fn record_key(collection: Collection, id: &str) -> String {
    format!("{}/{id}", collection.name())
}

/// Drafts live in `meta` beside the device record, under their own prefix.
fn draft_key(name: &str) -> String {
    format!("draft/{name}")
}

pub struct Db {
    db: Database,
    watch: Watch,
}

/// Watches the open connection for the database being taken away: a
/// `versionchange` (another connection deletes or upgrades it) closes the
/// connection at once, so the deletion is not blocked; a `close` (the
/// browser closed it, e.g. site data was cleared) needs no closing. Either
/// way the connection is unusable from then on, and `on_gone` is told.
struct Watch {
    raw: web_sys::IdbDatabase,
    gone: Rc<Cell<bool>>,
    on_gone: Listener,
    _on_versionchange: Closure<dyn FnMut()>,
    _on_close: Closure<dyn FnMut()>,
}

/// Who to tell that storage is gone, once the app has said.
type Listener = Rc<RefCell<Option<Box<dyn Fn()>>>>;

impl Watch {
    fn new(raw: web_sys::IdbDatabase) -> Self {
        let gone = Rc::new(Cell::new(false));
        let on_gone = Listener::default();
        let lose = {
            let (gone, on_gone) = (gone.clone(), on_gone.clone());
            move || {
                if gone.replace(true) {
                    return;
                }
                // Told from a task of its own, not from inside this handler:
                // the app lets go of the Db, and so of this closure.
                let on_gone = on_gone.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(notify) = on_gone.borrow().as_ref() {
                        notify();
                    }
                });
            }
        };
        let on_versionchange = {
            let (raw, lose) = (raw.clone(), lose.clone());
            Closure::<dyn FnMut()>::new(move || {
                raw.close();
                lose();
            })
        };
        let on_close = Closure::<dyn FnMut()>::new(lose);
        raw.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Self {
            raw,
            gone,
            on_gone,
            _on_versionchange: on_versionchange,
            _on_close: on_close,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The closures go with the watch; the connection must not call them.
        self.raw.set_onversionchange(None);
        self.raw.set_onclose(None);
    }
}

impl Db {
    pub async fn open(name: &str) -> Result<Self, StorageError> {
        let db = Database::open(name)
            .with_version(DB_VERSION)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    for store in [RECORDS, OUTBOX, META, CONFLICTS] {
                        db.create_object_store(store).build()?;
                    }
                }
                Ok(())
            })
            .await?;
        let raw = db.as_sys().unchecked_ref::<web_sys::IdbDatabase>().clone();
        Ok(Self {
            db,
            watch: Watch::new(raw),
        })
    }

    pub fn close(self) {
        self.db.close();
    }

    /// Whether the connection was closed under us (the database was deleted,
    /// upgraded elsewhere, or cleared by the browser).
    pub fn is_gone(&self) -> bool {
        self.watch.gone.get()
    }

    /// Calls `notify` once, when the connection is closed under us (at once
    /// if it already was).
    pub fn on_gone(&self, notify: impl Fn() + 'static) {
        if self.is_gone() {
            notify();
        } else {
            *self.watch.on_gone.borrow_mut() = Some(Box::new(notify));
        }
    }

    /// The device record, created with a new client id on first use (a
    /// database the browser evicted comes back empty, so a new id).
    pub async fn device(&self) -> Result<Device, StorageError> {
        let tx = self
            .db
            .transaction(META)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let meta = tx.object_store(META)?;
        if let Some(device) = get::<Device>(&meta, DEVICE_KEY).await? {
            return Ok(device);
        }
        let device = Device::new(ClientId::from_uuid(uuid::Uuid::new_v4()));
        put(&meta, DEVICE_KEY, &device).await?;
        tx.commit().await?;
        Ok(device)
    }

    /// Keeps a redeemed invite's token and session (a compound's device)
    /// or district (an official's). Another compound starts its pull from
    /// scratch; an official keeps no compound.
    pub async fn sign_in(&self, redeemed: &Redeemed) -> Result<Device, StorageError> {
        self.update_device(|device| {
            match &redeemed.session {
                Some(session) => {
                    if device.compound.as_ref().map(|c| &c.id) != Some(&session.compound.id) {
                        device.cursor = 0;
                        device.pulled_scope = None;
                    }
                    device.compound = Some(session.compound.clone());
                    device.access = Some(session.scope.clone());
                    device.district = None;
                }
                None => {
                    device.compound = None;
                    device.access = None;
                    device.cursor = 0;
                    device.pulled_scope = None;
                    device.district = redeemed.district.clone();
                }
            }
            device.token = Some(redeemed.token.clone());
            device.revoked = false;
        })
        .await
    }

    /// Keeps the district totals an official's phone last fetched, to show
    /// when it is offline.
    pub async fn keep_district_totals(&self, totals: &DistrictTotals) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(META)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        put(&tx.object_store(META)?, DISTRICT_TOTALS_KEY, totals).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The district totals kept by [`Db::keep_district_totals`], if any.
    pub async fn kept_district_totals(&self) -> Result<Option<DistrictTotals>, StorageError> {
        let tx = self.db.transaction(META).build()?;
        get(&tx.object_store(META)?, DISTRICT_TOTALS_KEY).await
    }

    /// Signs a new database (the browser evicted the old one) back in with
    /// the token and compound the app remembered elsewhere. The pull starts
    /// from nothing, so the server's `reset` brings everything back.
    pub async fn restore_session(
        &self,
        compound: CompoundSummary,
        token: String,
        access: Option<Scope>,
    ) -> Result<Device, StorageError> {
        self.update_device(|device| {
            device.compound = Some(compound);
            device.token = Some(token);
            device.access = access;
            device.cursor = 0;
            device.pulled_scope = None;
        })
        .await
    }

    /// What the server says this device may reach now.
    pub async fn set_access(&self, access: Scope) -> Result<Device, StorageError> {
        self.update_device(|device| device.access = Some(access))
            .await
    }

    /// The server refused this device's token: stop syncing, keep the outbox.
    pub async fn mark_revoked(&self) -> Result<Device, StorageError> {
        self.update_device(|device| device.revoked = true).await
    }

    async fn update_device(
        &self,
        change: impl FnOnce(&mut Device),
    ) -> Result<Device, StorageError> {
        self.device().await?;
        let tx = self
            .db
            .transaction(META)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let meta = tx.object_store(META)?;
        let mut device = expect_device(&meta).await?;
        change(&mut device);
        put(&meta, DEVICE_KEY, &device).await?;
        tx.commit().await?;
        Ok(device)
    }

    /// One edit; see [`Db::commit_edits`].
    pub async fn commit_edit(
        &self,
        mutation: &Mutation,
        now_ms: u64,
    ) -> Result<Record, StorageError> {
        let mut records = self
            .commit_edits(std::slice::from_ref(mutation), now_ms, None)
            .await?;
        Ok(records.remove(0))
    }

    /// Stamps each mutation, applies it to the stored record and queues it
    /// for the server, all in one transaction: the batch and its outbox
    /// entries exist together or not at all. The draft the batch finishes,
    /// if any, goes in the same transaction. The mids and clock are read
    /// inside it, so two tabs never hand out the same mid.
    pub async fn commit_edits(
        &self,
        mutations: &[Mutation],
        now_ms: u64,
        finished_draft: Option<&str>,
    ) -> Result<Vec<Record>, StorageError> {
        for mutation in mutations {
            mutation
                .validate()
                .map_err(|invalid| StorageError::Invalid {
                    field: invalid.field,
                    message: invalid.message,
                })?;
        }
        self.device().await?;
        let tx = self
            .db
            .transaction([RECORDS, OUTBOX, META])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let (records, outbox, meta) = (
            tx.object_store(RECORDS)?,
            tx.object_store(OUTBOX)?,
            tx.object_store(META)?,
        );
        let mut device = expect_device(&meta).await?;
        // Storage now holds more than the pages brought.
        device.fresh_pull = false;
        let mut committed = Vec::with_capacity(mutations.len());
        for mutation in mutations {
            let hlc = device.clock.tick(now_ms);
            let mid = device.next_mid;
            device.next_mid += 1;
            let key = record_key(mutation.collection(), mutation.id().as_str());
            let existing = get::<Record>(&records, &key).await?;
            // Dropping the transaction on a refusal rolls back the batch.
            let (record, _) = mutation
                .apply(existing.as_ref(), &hlc)
                .map_err(|refusal| StorageError::Refused(refusal.message))?;
            let entry = OutboxEntry {
                client_id: device.client_id,
                schema_version: SCHEMA_VERSION,
                pushed: PushedMutation {
                    mid,
                    hlc,
                    mutation: mutation.clone(),
                },
            };
            put(&records, &key, &record).await?;
            put(&outbox, mid as f64, &entry).await?;
            committed.push(record);
        }
        put(&meta, DEVICE_KEY, &device).await?;
        if let Some(draft) = finished_draft {
            meta.delete(draft_key(draft).as_str()).primitive()?.await?;
        }
        tx.commit().await?;
        Ok(committed)
    }

    /// Keeps a form the volunteer has not saved yet, under `name`, until the
    /// edit that finishes it is committed ([`Db::commit_edits`]).
    pub async fn save_draft<T: Serialize>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(META)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        put(&tx.object_store(META)?, draft_key(name).as_str(), value).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unsaved form kept under `name`, if any.
    pub async fn draft<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StorageError> {
        let tx = self.db.transaction(META).build()?;
        get(&tx.object_store(META)?, &draft_key(name)).await
    }

    /// The oldest `limit` unacknowledged edits, in mid order.
    pub async fn outbox(&self, limit: u32) -> Result<Vec<OutboxEntry>, StorageError> {
        let tx = self.db.transaction(OUTBOX).build()?;
        let outbox = tx.object_store(OUTBOX)?;
        let texts = outbox
            .get_all::<String>()
            .with_limit(limit)
            .primitive()?
            .await?;
        texts
            .map(|text| Ok(serde_json::from_str(&text?)?))
            .collect()
    }

    pub async fn outbox_len(&self) -> Result<u32, StorageError> {
        let tx = self.db.transaction(OUTBOX).build()?;
        Ok(tx.object_store(OUTBOX)?.count().primitive()?.await?)
    }

    /// Drops what the server has processed and keeps its rejections. A
    /// refused edit stops showing as its record's value
    /// ([`Record::without_edit`]), and the next pull starts from 0 so the
    /// server's values come back: the records it changed are returned for
    /// the screens (an empty one has left storage).
    pub async fn acknowledge(
        &self,
        last_mid: u64,
        rejected: &[Rejection],
    ) -> Result<Vec<Record>, StorageError> {
        let tx = self
            .db
            .transaction([RECORDS, OUTBOX, META])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let (records, outbox, meta) = (
            tx.object_store(RECORDS)?,
            tx.object_store(OUTBOX)?,
            tx.object_store(META)?,
        );
        let mut undone = Vec::new();
        for rejection in rejected {
            // A retry brings earlier rejections again: their entry is gone.
            let text: Option<String> = outbox.get(rejection.mid as f64).primitive()?.await?;
            let Some(entry) = text
                .map(|text| serde_json::from_str::<OutboxEntry>(&text))
                .transpose()?
            else {
                continue;
            };
            let mutation = &entry.pushed.mutation;
            let key = record_key(mutation.collection(), mutation.id().as_str());
            let Some(record) = get::<Record>(&records, &key).await? else {
                continue;
            };
            let kept = record.without_edit(&entry.pushed.hlc);
            if kept == record {
                continue;
            }
            if kept.is_empty() {
                records.delete(key.as_str()).primitive()?.await?;
            } else {
                put(&records, key.as_str(), &kept).await?;
            }
            undone.push(kept);
        }
        // Spelled out: indexed_db_futures 0.6 maps `..=x` to an *open* bound.
        let up_to_last = indexed_db_futures::KeyRange::UpperBound(last_mid as f64, false);
        outbox.delete::<f64, _>(up_to_last).primitive()?.await?;
        if !rejected.is_empty() {
            let mut device = expect_device(&meta).await?;
            for rejection in rejected {
                if !device.rejections.contains(rejection) {
                    device.rejections.push(rejection.clone());
                }
            }
            if !undone.is_empty() {
                // A refused edit may have hidden an older value the server
                // still holds: pull everything again to get it back (rare:
                // refusals mean a permission problem).
                device.cursor = 0;
                device.fresh_pull = false;
            }
            put(&meta, DEVICE_KEY, &device).await?;
        }
        tx.commit().await?;
        Ok(undone)
    }

    /// Merges a pulled page and moves the cursor past it, in one transaction.
    /// A page that resets (the device's scope changed) first drops every
    /// stored record and conflict, then stores the page and replays the
    /// unsent outbox onto it, so nothing out of scope stays and no unsent
    /// edit disappears from the screen. `before_commit` runs last; an error
    /// from it (a crash, in tests) leaves records and cursor as they were.
    pub async fn apply_pull_page(
        &self,
        page: &PullPage,
        now_ms: u64,
        before_commit: impl FnOnce() -> Result<(), StorageError>,
    ) -> Result<Applied, StorageError> {
        self.apply_pull_page_in(&mut PullRound::default(), page, now_ms, before_commit)
            .await
    }

    /// [`Db::apply_pull_page`] as one page of `round`: a record is read
    /// only if storage may hold it. A reset page reads nothing (the store
    /// was just emptied); the pages after it in the same round read only
    /// the keys the round stored, as long as no edit was committed since.
    pub async fn apply_pull_page_in(
        &self,
        round: &mut PullRound,
        page: &PullPage,
        now_ms: u64,
        before_commit: impl FnOnce() -> Result<(), StorageError>,
    ) -> Result<Applied, StorageError> {
        let tx = self
            .db
            .transaction([RECORDS, CONFLICTS, META, OUTBOX])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let (records, conflicts, meta) = (
            tx.object_store(RECORDS)?,
            tx.object_store(CONFLICTS)?,
            tx.object_store(META)?,
        );
        let mut device = expect_device(&meta).await?;
        if page.reset {
            // Served before the puts below, in order: nothing to wait for.
            drop(records.clear()?);
            drop(conflicts.clear()?);
            round.held = Some(Default::default());
            device.fresh_pull = true;
        } else if !device.fresh_pull {
            round.held = None;
        }
        // Every read is issued before the first is awaited, and no write is
        // awaited at all: IndexedDB serves a transaction's requests in order,
        // so waking this task between them only adds round trips. A failed
        // write aborts the transaction, and the commit below reports it.
        // A reset page is stored into the emptied store: nothing to read.
        let keys: Vec<String> = page
            .changes
            .iter()
            .map(|c| record_key(c.record.collection, c.record.id.as_str()))
            .collect();
        let held = round.held.as_ref();
        let reads = keys
            .iter()
            .map(|key| match held {
                Some(held) if !held.contains(key) => Ok(None),
                _ => records
                    .get::<String, _, _>(key.as_str())
                    .primitive()
                    .map(Some),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut applied = Applied {
            reset: page.reset,
            ..Applied::default()
        };
        // A record that appears twice in one page merges with its first copy.
        let mut merged_here: std::collections::HashMap<String, usize> = Default::default();
        for ((change, key), read) in page.changes.iter().zip(&keys).zip(reads) {
            let pulled = &change.record;
            let stored = match read {
                Some(read) => read.await?,
                None => None,
            };
            let local = match merged_here.get(key) {
                Some(&earlier) => Some(applied.records[earlier].clone()),
                None => stored.map(|text| serde_json::from_str(&text)).transpose()?,
            };
            let (merged, found) = merge_pulled(local, pulled, device.client_id);
            if let Some(latest) = pulled.latest_hlc() {
                device.clock.observe(latest, now_ms);
            }
            issue_put(&records, key.as_str(), &merged)?;
            for conflict in &found {
                issue_put(&conflicts, conflict.key(), conflict)?;
            }
            merged_here.insert(key.clone(), applied.records.len());
            applied.records.push(merged);
            applied.conflicts.extend(found);
        }
        if page.reset {
            let outbox = tx.object_store(OUTBOX)?;
            let unsent: Vec<String> = outbox
                .get_all::<String>()
                .primitive()?
                .await?
                .collect::<Result<_, _>>()?;
            for text in unsent {
                let entry: OutboxEntry = serde_json::from_str(&text)?;
                let mutation = &entry.pushed.mutation;
                let key = record_key(mutation.collection(), mutation.id().as_str());
                let local = merged_here.get(&key).map(|&i| applied.records[i].clone());
                // An edit that no longer applies waits for the server's verdict.
                if let Ok((record, _)) = mutation.apply(local.as_ref(), &entry.pushed.hlc) {
                    issue_put(&records, key.as_str(), &record)?;
                    match merged_here.get(&key) {
                        Some(&i) => applied.records[i] = record,
                        None => {
                            merged_here.insert(key, applied.records.len());
                            applied.records.push(record);
                        }
                    }
                }
            }
        }
        device.cursor = page.cursor;
        device.pulled_scope = Some(page.scope.clone());
        issue_put(&meta, DEVICE_KEY, &device)?;
        before_commit()?;
        tx.commit().await?;
        if let Some(held) = &mut round.held {
            held.extend(merged_here.into_keys());
        }
        Ok(applied)
    }

    pub async fn records(&self) -> Result<Vec<Record>, StorageError> {
        self.all(RECORDS).await
    }

    pub async fn conflicts(&self) -> Result<Vec<Conflict>, StorageError> {
        self.all(CONFLICTS).await
    }

    /// The volunteer has seen a conflict; forget it.
    pub async fn dismiss_conflict(&self, key: &str) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(CONFLICTS)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        tx.object_store(CONFLICTS)?.delete(key).primitive()?.await?;
        tx.commit().await?;
        Ok(())
    }

    async fn all<T: DeserializeOwned>(&self, store: &str) -> Result<Vec<T>, StorageError> {
        let tx = self.db.transaction(store).build()?;
        let texts = tx
            .object_store(store)?
            .get_all::<String>()
            .primitive()?
            .await?;
        texts
            .map(|text| Ok(serde_json::from_str(&text?)?))
            .collect()
    }
}

async fn get<T: DeserializeOwned>(
    store: &ObjectStore<'_>,
    key: &str,
) -> Result<Option<T>, StorageError> {
    let text: Option<String> = store.get(key).primitive()?.await?;
    text.map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(Into::into)
}

async fn put<K, T>(store: &ObjectStore<'_>, key: K, value: &T) -> Result<(), StorageError>
where
    K: indexed_db_futures::primitive::TryToJs,
    T: Serialize,
{
    store
        .put(serde_json::to_string(value)?)
        .with_key(key)
        .without_key_type()
        .primitive()?
        .await?;
    Ok(())
}

/// Issues a put without waiting for it; a failure aborts the transaction.
fn issue_put<K, T>(store: &ObjectStore<'_>, key: K, value: &T) -> Result<(), StorageError>
where
    K: indexed_db_futures::primitive::TryToJs,
    T: Serialize,
{
    drop(
        store
            .put(serde_json::to_string(value)?)
            .with_key(key)
            .without_key_type()
            .primitive()?,
    );
    Ok(())
}

async fn expect_device(meta: &ObjectStore<'_>) -> Result<Device, StorageError> {
    get::<Device>(meta, DEVICE_KEY)
        .await?
        .ok_or_else(|| StorageError::Unreadable("device record missing".into()))
}
