//! Choosing the compound this phone works in; shown by any volunteer page
//! until the phone has joined one.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    i18n::{Key, use_i18n},
    state::use_app_data,
};

#[component]
pub fn JoinCompound() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let compounds = LocalResource::new(move || async move { data.compounds().await });
    view! {
        <h2>{move || i18n.t(Key::CompoundChoose)}</h2>
        {move || match compounds.get() {
            None => view! { <p>{i18n.t(Key::CompoundLoading)}</p> }.into_any(),
            Some(Err(_)) => view! { <p class="banner warning">{i18n.t(Key::CompoundUnreachable)}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p class="notice">{i18n.t(Key::CompoundNone)}</p> }.into_any(),
            Some(Ok(list)) => list
                .into_iter()
                .map(|compound| {
                    let test_id = format!("compound-{}", compound.id);
                    let name = compound.name.clone();
                    view! {
                        <button class="button wide" data-testid=test_id
                            on:click=move |_| {
                                let compound = compound.clone();
                                spawn_local(async move {
                                    let _ = data.choose_compound(compound).await;
                                });
                            }>
                            {name}
                        </button>
                    }
                })
                .collect_view()
                .into_any(),
        }}
    }
}
