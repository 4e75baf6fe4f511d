//! Signing this phone in with an invite code: typed, or carried in the QR
//! code's link (`/join#code=…`; the fragment never reaches the server).
//! Shown by any work page until the phone has signed in, and at `/join`.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::components::A;

use crate::{
    i18n::{Key, use_i18n},
    state::{SignInError, use_app_data},
};

/// The code in the page's fragment, as a scanned QR link carries it.
fn code_from_fragment(fragment: &str) -> Option<String> {
    fragment
        .trim_start_matches('#')
        .split('&')
        .find_map(|pair| pair.strip_prefix("code="))
        .map(|code| code.replace("%20", " ").replace('+', " "))
        .filter(|code| !code.trim().is_empty())
}

#[component]
pub fn JoinCompound() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let fragment = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let code = RwSignal::new(code_from_fragment(&fragment).unwrap_or_default());
    let label = RwSignal::new(String::new());
    let error = RwSignal::new(None::<SignInError>);
    let busy = RwSignal::new(false);
    let submit = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let outcome = data
                .sign_in(&code.get_untracked(), &label.get_untracked())
                .await;
            busy.set(false);
            error.set(outcome.err());
        });
    };
    let message = move || {
        error.get().map(|err| match err {
            SignInError::Invalid => i18n.t(Key::JoinInvalid).to_owned(),
            SignInError::Throttled => i18n.t(Key::JoinThrottled).to_owned(),
            SignInError::Offline => i18n.t(Key::JoinOffline).to_owned(),
            SignInError::CompoundPhone => i18n.t(Key::JoinCompoundPhone).to_owned(),
            SignInError::Storage(err) => i18n.t(crate::errors::storage(&err)).to_owned(),
        })
    };
    view! {
        <h2>{move || i18n.t(Key::JoinTitle)}</h2>
        <p class="notice">{move || i18n.t(Key::JoinHelp)}</p>
        <label class="field">
            <span>{move || i18n.t(Key::JoinCode)}</span>
            <input class="code-input" data-testid="join-code" autocomplete="off" autocapitalize="characters"
                spellcheck="false" placeholder="XXXXX-XXXXX" prop:value=code
                on:input=move |ev| code.set(event_target_value(&ev))/>
        </label>
        <label class="field">
            <span>{move || i18n.t(Key::JoinLabel)}</span>
            <input data-testid="join-label" maxlength="64" prop:value=label
                on:input=move |ev| label.set(event_target_value(&ev))/>
        </label>
        <button class="button wide" data-testid="join-submit" disabled=move || busy.get() || code.with(|c| c.trim().is_empty())
            on:click=submit>
            {move || i18n.t(Key::JoinSubmit)}
        </button>
        <Show when=move || message().is_some()>
            <p class="banner warning" role="alert" data-testid="join-error">{message}</p>
        </Show>
    }
}

/// `/join`: where an invite's QR code leads.
#[component]
pub fn JoinPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    // A memo, so the form is rebuilt only when signing in completes.
    let joined = Memo::new(move |_| {
        data.device
            .with(|d| {
                d.as_ref().and_then(|d| {
                    d.compound
                        .as_ref()
                        .map(|c| c.name.clone())
                        .or_else(|| d.district.as_ref().map(|d| d.name.clone()))
                })
            })
            .filter(|_| data.role().is_some())
    });
    view! {
        {move || match joined.get() {
            Some(place) => view! {
                <p class="notice" data-testid="joined">{i18n.t(Key::JoinDone)}" "{place}</p>
                <p><A href="/" attr:class="button wide">{i18n.t(Key::JoinContinue)}</A></p>
            }.into_any(),
            None => view! { <JoinCompound/> }.into_any(),
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::code_from_fragment;

    #[test]
    fn the_code_comes_from_the_fragment() {
        for (fragment, code) in [
            ("#code=7K2QM-X9D4T", Some("7K2QM-X9D4T")),
            ("#x=1&code=7K2QM%20X9D4T", Some("7K2QM X9D4T")),
            ("#code=", None),
            ("", None),
            ("#other=1", None),
        ] {
            assert_eq!(code_from_fragment(fragment).as_deref(), code, "{fragment}");
        }
    }
}
