//! The app ships as two WASM bundles built from this one library, so a
//! volunteer's phone never downloads the coordinator's desk work: the field
//! bundle (`src/main.rs`, served at `/`) and the manage bundle
//! (`src/bin/manage.rs`, served under `/manage/`: accounts, refused edits,
//! roster upload, dashboard, district). Crossing from one to the other is a
//! full page load; both open the same IndexedDB and localStorage.

use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bundle {
    Field,
    Manage,
}

/// Where the manage bundle's pages live; its `index.html` is
/// `/manage/index.html` (the server and `sw.js` fall back to it there).
pub const MANAGE_PREFIX: &str = "/manage/";

impl Bundle {
    /// The bundle whose router owns `path`.
    pub fn of_path(path: &str) -> Bundle {
        if path.starts_with(MANAGE_PREFIX) {
            Bundle::Manage
        } else {
            Bundle::Field
        }
    }

    /// The bundle running on this page (the shell provides it).
    pub fn current() -> Bundle {
        expect_context::<Bundle>()
    }
}

/// When the router lands on a path the other bundle owns (a link or a
/// `navigate` across), loads that page for real; true if it did.
pub fn cross_to_other_bundle() -> bool {
    let location = leptos_router::hooks::use_location();
    let path = location.pathname.get_untracked();
    if Bundle::of_path(&path) == Bundle::current() {
        return false;
    }
    let (search, hash) = (
        location.search.get_untracked(),
        location.hash.get_untracked(),
    );
    let mut href = path;
    if !search.is_empty() {
        href += if search.starts_with('?') { "" } else { "?" };
        href += &search;
    }
    if !hash.is_empty() {
        href += if hash.starts_with('#') { "" } else { "#" };
        href += &hash;
    }
    // replace, not assign: the router already pushed this entry.
    window().location().replace(&href).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_manage_belong_to_the_manage_bundle() {
        assert_eq!(Bundle::of_path("/manage/accounts"), Bundle::Manage);
        assert_eq!(Bundle::of_path("/manage/visits/import"), Bundle::Manage);
        assert_eq!(Bundle::of_path("/"), Bundle::Field);
        assert_eq!(Bundle::of_path("/visits"), Bundle::Field);
        assert_eq!(Bundle::of_path("/managers"), Bundle::Field);
    }
}
