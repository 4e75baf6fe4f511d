//! A file or printable page the server makes for a signed-in device
//! (ledgers, posters). A plain link cannot carry the device token, and a
//! token in a URL would end up in history and logs, so this is a form that
//! posts it.

use leptos::prelude::*;

use crate::{
    api,
    i18n::{Key, use_i18n},
    state::use_app_data,
};

/// `path` is under the compound (`ledgers.xlsx`); `print` opens a page in a
/// new tab rather than downloading in place.
#[component]
pub fn Download(
    #[prop(into)] path: String,
    label: Key,
    print: bool,
    #[prop(into)] test_id: String,
) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    move || {
        data.credentials().map(|credentials| {
            view! {
                <form class="download" method="post" action=api::compound_url(&credentials, &path)
                    target=if print { "_blank" } else { "_self" }>
                    <input type="hidden" name="token" value=credentials.token.clone()/>
                    <button type="submit" class="link-button" data-testid=test_id.clone()>{move || i18n.t(label)}</button>
                </form>
            }
        })
    }
}
