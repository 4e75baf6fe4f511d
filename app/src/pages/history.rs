//! A record's history (修改记录): who changed which field, when, from which
//! device, read from the server's change log on request (needs a network).

use doorstep_core::{api::HistoryChange, ids::RecordId, labels, schema::Collection};
use leptos::{prelude::*, task::spawn_local};

use crate::{
    api,
    device::local_time::clock_time,
    errors,
    i18n::{Key, use_i18n},
    state::use_app_data,
};

#[component]
pub fn RecordHistory(collection: Collection, id: RecordId) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let changes = RwSignal::new(None::<Result<Vec<HistoryChange>, ()>>);
    let load = move |_| {
        let Some(credentials) = data.credentials_untracked() else {
            return;
        };
        let id = id.clone();
        spawn_local(async move {
            let result = api::history(&credentials, collection.name(), id.as_str())
                .await
                .map_err(|_| ());
            changes.set(Some(result));
        });
    };
    let me = move || {
        data.device
            .with(|d| d.as_ref().map(|d| d.client_id.to_string()))
    };
    view! {
        <section class="check-section">
            <button class="button secondary" data-testid="show-history" on:click=load>{move || i18n.t(Key::HistoryShow)}</button>
            {move || changes.get().map(|result| match result {
                Err(()) => view! { <p class="notice">{i18n.t(Key::HistoryOffline)}</p> }.into_any(),
                Ok(list) => view! {
                    <ol class="rows" data-testid="history">
                        {list.into_iter().map(|change| {
                            let device = if Some(&change.device) == me().as_ref() {
                                i18n.t(Key::HistoryThisPhone).to_owned()
                            } else {
                                format!("{} {}", i18n.t(Key::HistoryDevice), &change.device[..8.min(change.device.len())])
                            };
                            let fields = labels::fields(collection, &change.fields, i18n.locale());
                            let refused = change.rejected.map(|code| format!(" ✗ {}", i18n.t(errors::refusal(code))));
                            view! {
                                <li class="row history-row">
                                    <span class="row-title">{clock_time(change.made_at_ms)}" · "{device}</span>
                                    <span class="row-detail">{fields}{refused}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any(),
            })}
        </section>
    }
}
