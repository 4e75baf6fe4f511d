//! Unsent edits kept safe from the browser, under the sync bar: the warning
//! that the browser may clear them (it would not promise to keep this
//! site's data), the list of them on a device that can no longer sync, the
//! notice that the browser cleared this phone's data (and how many unsent
//! edits went with it), exporting the outbox as a backup file whenever
//! edits are unsent, and restoring such a file.

use leptos::{prelude::*, task::spawn_local};
use wasm_bindgen::JsCast;

use crate::{
    device::{
        files,
        local_time::{clock_time, file_stamp},
        persistence,
    },
    i18n::{Key, Locale, Msg, Texts, use_i18n},
    state::{RestoreError, Restored, backup::BackupError, sync_status::SyncProblem, use_app_data},
};

/// What the last export or restore came to, as the panel says it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Restored(Restored),
    Failed(String),
}

#[component]
pub fn BackupPanel() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let outcome = RwSignal::new(None::<Outcome>);
    let busy = RwSignal::new(false);
    let pending = move || data.sync.with(|s| s.pending);
    let lost = move || data.lost.with(|l| l.as_ref().map(|l| l.unsent));

    let export = move |_| {
        busy.set(true);
        spawn_local(async move {
            let saved = match data.backup().await {
                Ok(Some(backup)) => files::save_text(
                    &backup.file_name(&file_stamp(backup.exported_at_ms)),
                    "application/json",
                    &backup.to_json(),
                )
                .map_err(|err| {
                    web_sys::console::error_1(&err);
                    Key::BackupFileFailed
                }),
                Ok(None) => Ok(()),
                Err(err) => {
                    web_sys::console::error_1(&err.to_string().into());
                    Err(crate::errors::storage(&err))
                }
            };
            if let Err(reason) = saved {
                outcome.set(Some(Outcome::Failed(format!(
                    "{}{}",
                    i18n.t(Key::BackupFailed),
                    i18n.t(reason)
                ))));
            }
            busy.set(false);
        });
    };
    let restore = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev
            .target()
            .expect("a change event has a target")
            .unchecked_into();
        let Some(file) = input.files().and_then(|list| list.get(0)) else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            let result = match files::read_text(&file).await {
                Ok(text) => data.restore(&text).await,
                Err(_) => Err(RestoreError::File(BackupError::NotABackup)),
            };
            let locale = i18n.locale();
            outcome.set(Some(match result {
                Ok(restored) => Outcome::Restored(restored),
                Err(err) => Outcome::Failed(restore_error(locale, &err)),
            }));
            // The same file may be chosen again.
            input.set_value("");
            busy.set(false);
        });
    };
    let file_input = move || {
        view! {
            <label class="button secondary file-button" class:disabled=move || busy.get()>
                <input type="file" accept=".json,application/json" data-testid="backup-import"
                    disabled=move || busy.get() on:change=restore/>
                {move || i18n.t(Key::BackupImport)}
            </label>
        }
    };

    view! {
        <StorageWarning/>
        <Show when=move || data.sync.with(|s| s.problem == Some(SyncProblem::SignedOut) && s.pending > 0)>
            <Unsent/>
        </Show>
        <Show when=move || lost().is_some()>
            <section class="banner error storage-lost" role="alert" data-testid="storage-lost"
                data-unsent=move || lost().unwrap_or_default().to_string()>
                <strong>{move || i18n.t(Key::StorageLostTitle)}</strong>
                <p data-testid="storage-lost-text">{move || lost_message(i18n.locale(), lost().unwrap_or_default())}</p>
                <div class="button-row wrap">
                    {file_input}
                    <button class="button secondary" data-testid="storage-lost-dismiss"
                        on:click=move |_| data.dismiss_loss()>
                        {move || i18n.t(Key::StorageLostDismiss)}
                    </button>
                </div>
            </section>
        </Show>
        // A closed database can no longer be read: nothing to export then.
        <Show when=move || { pending() > 0 && !data.storage_closed.get() }>
            <div class="backup-row" data-testid="backup">
                <button class="button secondary" data-testid="backup-export"
                    disabled=move || busy.get() on:click=export>
                    {move || i18n.t(Key::BackupExport)}
                </button>
                // While the notice shows, its own restore button is the one.
                <Show when=move || lost().is_none()>{file_input}</Show>
            </div>
        </Show>
        {move || outcome.get().map(|said| {
            let (class, test_id, text) = match said {
                Outcome::Restored(restored) => (
                    "banner ok",
                    "backup-restored",
                    restored_message(i18n.locale(), &restored),
                ),
                Outcome::Failed(text) => ("banner error", "backup-error", text),
            };
            view! {
                <p class=class role="status" data-testid=test_id>
                    {text}" "
                    <button class="link" data-testid="backup-outcome-ok"
                        on:click=move |_| outcome.set(None)>{move || i18n.t(Key::BackupOk)}</button>
                </p>
            }
        })}
    }
}

/// The outbox of a device that can no longer sync: kept, and shown, so
/// nothing recorded is silently lost.
#[component]
fn Unsent() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let entries = LocalResource::new(move || async move { data.unsent().await });
    view! {
        <details class="banner warning" data-testid="unsent">
            <summary>{move || i18n.t(Key::UnsentTitle)}</summary>
            <ul>
                {move || match entries.get() {
                    Some(Err(err)) => {
                        web_sys::console::error_1(&err.to_string().into());
                        view! { <li>{i18n.t(crate::errors::storage(&err))}</li> }.into_any()
                    }
                    entries => entries.and_then(Result::ok).unwrap_or_default().into_iter().map(|entry| {
                        let m = &entry.pushed.mutation;
                        view! { <li>{format!("{} {} · {} · {}", m.collection().name(), m.id(), m.kind(), clock_time(entry.pushed.hlc.wall_ms))}</li> }
                    }).collect_view().into_any(),
                }}
            </ul>
        </details>
    }
}

/// Shown when the browser refuses to keep our data and there is unsent
/// work it could lose (so never before sign-in), until dismissed: once per
/// device.
#[component]
fn StorageWarning() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let grant = LocalResource::new(persistence::request);
    let dismissed = RwSignal::new(persistence::warning_dismissed());
    let at_risk = move || {
        !dismissed.get()
            && data.sync.with(|s| s.pending > 0)
            && grant.get().is_some_and(|p| !p.is_safe())
    };
    view! {
        <Show when=at_risk>
            <p class="banner warning compact" role="alert" data-testid="storage-warning">
                {move || i18n.t(Key::StorageNotPersistent)}" "
                <button class="link" data-testid="storage-warning-dismiss"
                    on:click=move |_| {
                        persistence::dismiss_warning();
                        dismissed.set(true);
                    }>
                    {move || i18n.t(Key::BackupOk)}
                </button>
            </p>
        </Show>
    }
}

fn lost_message(locale: Locale, unsent: u32) -> String {
    if unsent == 0 {
        locale.text(Key::StorageLostNone).to_owned()
    } else {
        locale.msg(Msg::StorageLostUnsent { n: &unsent })
    }
}

fn restored_message(locale: Locale, restored: &Restored) -> String {
    let mut text = locale.msg(Msg::BackupRestored {
        n: &restored.restored,
    });
    if restored.skipped > 0 {
        text.push(' ');
        text.push_str(&locale.msg(Msg::BackupSkipped {
            n: &restored.skipped,
        }));
    }
    text
}

fn restore_error(locale: Locale, err: &RestoreError) -> String {
    match err {
        RestoreError::NotSignedIn => locale.text(Key::BackupNotSignedIn).to_owned(),
        RestoreError::File(BackupError::NotABackup) => {
            locale.text(Key::BackupNotABackup).to_owned()
        }
        RestoreError::File(BackupError::TooNew(_)) => locale.text(Key::BackupTooNew).to_owned(),
        RestoreError::Storage(err) => format!(
            "{}{}",
            locale.text(Key::BackupFailed),
            locale.text(crate::errors::storage(err))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_counts_what_was_lost_or_says_nothing_was() {
        let two = lost_message(Locale::Zh, 2);
        assert!(two.starts_with("有 2 条记录还没上传就被清除了"), "{two}");
        assert!(lost_message(Locale::En, 2).starts_with("Unsent edits lost from this phone: 2."));
        assert_eq!(
            lost_message(Locale::Zh, 0),
            Locale::Zh.text(Key::StorageLostNone)
        );
    }

    #[test]
    fn a_restore_says_what_it_left_out_only_when_it_left_something_out() {
        let all = Restored {
            restored: 2,
            skipped: 0,
        };
        assert_eq!(
            restored_message(Locale::Zh, &all),
            "已从备份恢复 2 条记录，联网后会自动上传。"
        );
        let some = Restored {
            restored: 1,
            skipped: 3,
        };
        let text = restored_message(Locale::En, &some);
        assert!(
            text.starts_with("Edits restored from the backup: 1."),
            "{text}"
        );
        assert!(text.contains("Not restored: 3"), "{text}");
    }
}
