//! `/accounts` (账号与设备): the coordinator's invite codes and devices,
//! and the switch for residents' help requests (求助, off by default).
//! The coordinator creates an invite (role, team, uses, hours, key-persons
//! grant) and shows its code and QR code to the new volunteer once; below,
//! the open invites, each with a button that cancels it, and every
//! signed-in device with its revoke button and,
//! for a volunteer, the key-persons grant. Everything here needs the server:
//! nothing is stored on the phone.
//!
//! The component only wires signals to the API; turning the form into an
//! [`InviteRequest`], naming teams, ordering devices, explaining failures and
//! wording times are plain functions with native tests below.

use doorstep_core::{
    access::Role,
    api::{DeviceInfo, DeviceUpdate, HelpSwitch, InviteRequest, NewInvite},
    ids::RecordId,
    invite::{MAX_HOURS, MAX_USES},
    schema::team,
};
use leptos::{prelude::*, task::spawn_local};
use leptos_router::components::A;

use crate::{
    api::{self, ApiFailure},
    device::{
        dialog::confirmed,
        local_time::{clock_time, today},
    },
    i18n::{I18n, Key, Locale, Msg, Texts, use_i18n},
    state::use_app_data,
};

/// The new-invite form as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteForm {
    pub role: Role,
    /// The chosen team's id; empty when none is chosen.
    pub team: String,
    pub uses: String,
    pub hours: String,
    /// Only meaningful for a volunteer.
    pub key_persons: bool,
}

impl Default for InviteForm {
    fn default() -> Self {
        Self {
            role: Role::Volunteer,
            team: String::new(),
            uses: "1".into(),
            hours: "72".into(),
            key_persons: false,
        }
    }
}

/// Why the form cannot be sent yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    Uses,
    Hours,
    Team,
}

impl FormError {
    pub fn key(self) -> Key {
        match self {
            FormError::Uses => Key::AccountsBadUses,
            FormError::Hours => Key::AccountsBadHours,
            FormError::Team => Key::AccountsBadTeam,
        }
    }
}

/// The request the form stands for, checked as the server will check it.
/// Only a volunteer carries a team and the key-persons grant.
pub fn invite_request(form: &InviteForm) -> Result<InviteRequest, FormError> {
    let within = |text: &str, max: u32| {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
    };
    let uses = within(&form.uses, MAX_USES).ok_or(FormError::Uses)?;
    let hours = within(&form.hours, MAX_HOURS).ok_or(FormError::Hours)?;
    let volunteer = form.role.needs_team();
    let team = if volunteer {
        Some(
            form.team
                .trim()
                .parse::<RecordId>()
                .map_err(|_| FormError::Team)?,
        )
    } else {
        None
    };
    Ok(InviteRequest {
        role: form.role,
        team,
        uses,
        hours,
        key_persons: volunteer && form.key_persons,
    })
}

/// What went wrong, to show in the warning banner, in the person's
/// language (never the server's English).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Problem(pub Key);

impl Problem {
    pub fn text(&self, i18n: I18n) -> String {
        i18n.t(self.0).to_owned()
    }
}

impl From<FormError> for Problem {
    fn from(error: FormError) -> Self {
        Problem(error.key())
    }
}

/// Sorts an API failure into something the coordinator can act on.
pub fn problem_of(failure: &ApiFailure) -> Problem {
    match failure {
        ApiFailure::Unreachable(_) => Problem(Key::AccountsOffline),
        ApiFailure::Refused { status, error } => match error.field.as_deref() {
            Some("uses") => FormError::Uses.into(),
            Some("hours") => FormError::Hours.into(),
            Some("team") => FormError::Team.into(),
            _ if matches!(status, 401 | 403) => Problem(Key::AccountsForbidden),
            _ => Problem(crate::errors::server(*status)),
        },
    }
}

/// A team's name for a list row: empty for none, the id when this phone
/// does not know the team (or it has no name).
pub fn team_label(teams: &[(RecordId, String)], team: Option<&RecordId>) -> String {
    let Some(team) = team else {
        return String::new();
    };
    teams
        .iter()
        .find(|(id, name)| id == team && !name.is_empty())
        .map_or_else(|| team.to_string(), |(_, name)| name.clone())
}

/// Devices in use first, the most recently seen first, then by label.
pub fn sort_devices(devices: &mut [DeviceInfo]) {
    devices.sort_by(|a, b| {
        (
            a.revoked_at_ms.is_some(),
            std::cmp::Reverse(a.last_seen_ms),
            &a.label,
            &a.id,
        )
            .cmp(&(
                b.revoked_at_ms.is_some(),
                std::cmp::Reverse(b.last_seen_ms),
                &b.label,
                &b.id,
            ))
    });
}

pub fn role_key(role: Role) -> Key {
    match role {
        Role::Coordinator => Key::RoleCoordinator,
        Role::Volunteer => Key::RoleVolunteer,
        Role::Stall => Key::RoleStall,
        Role::Official => Key::RoleOfficial,
    }
}

/// Which local day a moment falls on, relative to today.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Day {
    Today,
    Tomorrow,
    Yesterday,
    Later(u64),
    Ago(u64),
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// `ms` against today's local midnight (from [`today`]).
pub fn day_of(ms: u64, midnight_ms: u64) -> Day {
    let days = (ms as i64 - midnight_ms as i64).div_euclid(DAY_MS);
    match days {
        0 => Day::Today,
        1 => Day::Tomorrow,
        -1 => Day::Yesterday,
        n if n > 1 => Day::Later(n as u64),
        n => Day::Ago(n.unsigned_abs()),
    }
}

/// The day in words, in `locale`.
pub fn day_words(day: Day, locale: Locale) -> String {
    match day {
        Day::Today => locale.text(Key::AccountsToday).to_owned(),
        Day::Tomorrow => locale.text(Key::AccountsTomorrow).to_owned(),
        Day::Yesterday => locale.text(Key::AccountsYesterday).to_owned(),
        Day::Later(n) => locale.msg(Msg::AccountsDaysLater { n: &n }),
        Day::Ago(n) => locale.msg(Msg::AccountsDaysAgo { n: &n }),
    }
}

/// A moment as "明天 14:05", in the phone's time zone (reactive on the language).
fn when(i18n: I18n, ms: u64) -> String {
    let (midnight, _) = today();
    format!(
        "{} {}",
        day_words(day_of(ms, midnight), i18n.locale()),
        clock_time(ms)
    )
}

#[component]
pub fn AccountsPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    // Bumped after every change, so both lists load again.
    let reload = RwSignal::new(0_u32);
    let problem = RwSignal::new(None::<Problem>);
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Key::AccountsTitle)}</h1>
        <Show
            when=move || data.role() == Some(Role::Coordinator)
            fallback=move || view! { <p class="notice" data-testid="accounts-forbidden">{move || i18n.t(Key::AccountsCoordinatorsOnly)}</p> }
        >
            <p class="banner warning" role="alert" data-testid="accounts-error" hidden=move || problem.with(Option::is_none)>
                {move || problem.get().map(|p| p.text(i18n))}
            </p>
            <HelpRequestsSwitch problem/>
            <NewInviteForm reload problem/>
            <div class="section-head">
                <h2>{move || i18n.t(Key::AccountsOpenInvites)}</h2>
                <button class="link" data-testid="accounts-refresh" on:click=move |_| reload.update(|n| *n += 1)>
                    {move || i18n.t(Key::AccountsRefresh)}
                </button>
            </div>
            <OpenInvites reload problem/>
            <div class="section-head">
                <h2>{move || i18n.t(Key::AccountsDevices)}</h2>
                <A href="/manage/accounts/refused" attr:class="link" attr:data-testid="refused-link">
                    {move || i18n.t(Key::RefusedTitle)}
                </A>
            </div>
            <Devices reload problem/>
        </Show>
    }
}

/// Whether the building pages take residents' help requests: read from
/// the server, and turned on or off there.
#[component]
fn HelpRequestsSwitch(problem: RwSignal<Option<Problem>>) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let reload = RwSignal::new(0_u32);
    let switch = LocalResource::new(move || {
        let credentials = data.credentials();
        reload.track();
        async move {
            match credentials {
                Some(c) => api::help_switch(&c).await.map(Some),
                None => Ok(None),
            }
        }
    });
    let enabled = move || {
        switch
            .get()
            .and_then(|s| s.ok().flatten())
            .is_some_and(|s| s.enabled)
    };
    let toggle = move |on: bool| {
        let Some(credentials) = data.credentials_untracked() else {
            return;
        };
        spawn_local(async move {
            match api::set_help_switch(&credentials, HelpSwitch { enabled: on }).await {
                Ok(_) => problem.set(None),
                Err(failure) => problem.set(Some(problem_of(&failure))),
            }
            reload.update(|n| *n += 1);
        });
    };
    view! {
        <h2>{move || i18n.t(Key::HelpSwitchTitle)}</h2>
        <label class="check">
            <input type="checkbox" data-testid="help-switch"
                prop:checked=enabled
                disabled=move || !matches!(switch.get(), Some(Ok(Some(_))))
                on:change=move |ev| toggle(event_target_checked(&ev))/>
            <span>{move || i18n.t(Key::HelpSwitchLabel)}</span>
        </label>
        <p class="notice">{move || i18n.t(Key::HelpSwitchExplain)}</p>
        {move || match switch.get() {
            Some(Err(failure)) => Some(view! {
                <p class="banner warning">{problem_of(&failure).text(i18n)}</p>
            }),
            _ => None,
        }}
    }
}

#[component]
fn NewInviteForm(reload: RwSignal<u32>, problem: RwSignal<Option<Problem>>) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let form = RwSignal::new(InviteForm::default());
    let created = RwSignal::new(None::<NewInvite>);
    let busy = RwSignal::new(false);
    let teams = Memo::new(move |_| data.replica.with(|r| r.named(team::NAME)));
    let volunteer = move || form.with(|f| f.role.needs_team());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = match invite_request(&form.get_untracked()) {
            Ok(request) => request,
            Err(error) => return problem.set(Some(error.into())),
        };
        let Some(credentials) = data.credentials_untracked() else {
            return;
        };
        busy.set(true);
        problem.set(None);
        spawn_local(async move {
            match api::create_invite(&credentials, &request).await {
                Ok(new) => {
                    created.set(Some(new));
                    reload.update(|n| *n += 1);
                }
                Err(failure) => problem.set(Some(problem_of(&failure))),
            }
            busy.set(false);
        });
    };

    view! {
        <h2>{move || i18n.t(Key::AccountsNewInvite)}</h2>
        <form class="form" data-testid="invite-form" on:submit=submit>
            <div class="field">
                <span>{move || i18n.t(Key::AccountsRole)}</span>
                <div class="choices wide">
                    {Role::IN_COMPOUND.into_iter().map(|role| view! {
                        <label class="choice" class:chosen=move || form.with(|f| f.role == role)>
                            <input type="radio" name="invite-role" value=role.name()
                                data-testid=format!("invite-role-{}", role.name())
                                prop:checked=move || form.with(|f| f.role == role)
                                on:change=move |_| form.update(|f| f.role = role)/>
                            {move || i18n.t(role_key(role))}
                        </label>
                    }).collect_view()}
                </div>
            </div>
            <Show when=volunteer>
                <label class="field"><span>{move || i18n.t(Key::AccountsTeam)}</span>
                    <select data-testid="invite-team" on:change=move |ev| form.update(|f| f.team = event_target_value(&ev))>
                        <option value="" selected=move || form.with(|f| f.team.is_empty())>{move || i18n.t(Key::AccountsChooseTeam)}</option>
                        {move || teams.get().into_iter().map(|(id, name)| {
                            let id = id.to_string();
                            let selected = { let id = id.clone(); move || form.with(|f| f.team == id) };
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || teams.with(Vec::is_empty)>
                    <p class="notice" data-testid="invite-no-teams">{move || i18n.t(Key::AccountsNoTeams)}</p>
                </Show>
            </Show>
            <label class="field"><span>{move || i18n.t(Key::AccountsUses)}</span>
                <input type="number" min="1" max=MAX_USES inputmode="numeric" data-testid="invite-uses"
                    prop:value=move || form.with(|f| f.uses.clone())
                    on:input=move |ev| form.update(|f| f.uses = event_target_value(&ev))/>
            </label>
            <label class="field"><span>{move || i18n.t(Key::AccountsHours)}</span>
                <input type="number" min="1" max=MAX_HOURS inputmode="numeric" data-testid="invite-hours"
                    prop:value=move || form.with(|f| f.hours.clone())
                    on:input=move |ev| form.update(|f| f.hours = event_target_value(&ev))/>
            </label>
            <Show when=volunteer>
                <label class="check">
                    <input type="checkbox" data-testid="invite-key-persons"
                        prop:checked=move || form.with(|f| f.key_persons)
                        on:change=move |ev| form.update(|f| f.key_persons = event_target_checked(&ev))/>
                    {move || i18n.t(Key::AccountsKeyPersons)}
                </label>
            </Show>
            <button type="submit" class="button wide" data-testid="invite-create" disabled=move || busy.get()>
                {move || i18n.t(if busy.get() { Key::AccountsCreating } else { Key::AccountsInviteCreate })}
            </button>
        </form>
        {move || created.get().map(|new| view! {
            <section class="invite-result" data-testid="invite-result">
                <p class="row-title">{i18n.t(Key::AccountsCodeOnce)}</p>
                <p class="invite-code" data-testid="invite-code">{new.code.clone()}</p>
                <CopyInvite text=format!("{} {}", new.code, new.join_url)/>
                <div class="invite-qr" data-testid="invite-qr" inner_html=new.qr_svg></div>
                <p>{i18n.t(Key::AccountsHowTo)}</p>
                <p class="invite-link">{i18n.t(Key::AccountsJoinLink)}" "<span data-testid="invite-link">{new.join_url}</span></p>
                <p class="row-detail" data-testid="invite-terms">
                    {i18n.t(role_key(new.invite.role))}" · "{i18n.t(Key::AccountsUsesLeft)}" "{new.invite.uses_left}
                    " · "{i18n.t(Key::AccountsExpires)}" "{when(i18n, new.invite.expires_at_ms)}
                </p>
            </section>
        })}
    }
}

/// Copies the new code and its link, to paste into a chat; says whether it
/// worked (the clipboard needs a secure page and the person's consent).
#[component]
fn CopyInvite(text: String) -> impl IntoView {
    let i18n = use_i18n();
    let copied = RwSignal::new(None::<bool>);
    let copy = move |_| {
        let text = text.clone();
        spawn_local(async move {
            copied.set(Some(crate::device::files::copy_text(&text).await));
        });
    };
    view! {
        <button type="button" class="button secondary" data-testid="invite-copy" on:click=copy>
            {move || i18n.t(match copied.get() {
                None => Key::AccountsCopy,
                Some(true) => Key::AccountsCopied,
                Some(false) => Key::AccountsCopyFailed,
            })}
        </button>
    }
}

/// Invites that can still be redeemed (the server never lists their codes),
/// each with a button that cancels it (a leaked code).
#[component]
fn OpenInvites(reload: RwSignal<u32>, problem: RwSignal<Option<Problem>>) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let revoke = move |id: String| {
        if !confirmed(i18n.t(Key::AccountsInviteRevokeConfirm)) {
            return;
        }
        let Some(credentials) = data.credentials_untracked() else {
            return;
        };
        spawn_local(async move {
            match api::revoke_invite(&credentials, &id).await {
                Ok(()) => problem.set(None),
                Err(failure) => problem.set(Some(problem_of(&failure))),
            }
            reload.update(|n| *n += 1);
        });
    };
    let invites = LocalResource::new(move || {
        let credentials = data.credentials();
        reload.track();
        async move {
            match credentials {
                Some(c) => api::invites(&c).await,
                None => Ok(Vec::new()),
            }
        }
    });
    let teams = Memo::new(move |_| data.replica.with(|r| r.named(team::NAME)));
    view! {
        {move || match invites.get() {
            None => view! { <p class="updated">{i18n.t(Key::AccountsLoading)}</p> }.into_any(),
            Some(Err(failure)) => view! {
                <p class="banner warning">{problem_of(&failure).text(i18n)}</p>
            }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <p class="notice" data-testid="invite-list">{i18n.t(Key::AccountsNoInvites)}</p>
            }.into_any(),
            Some(Ok(list)) => view! {
                <ul class="rows" data-testid="invite-list">
                    {list.into_iter().map(|invite| {
                        let team = teams.with(|t| team_label(t, invite.team.as_ref()));
                        let id = invite.id.clone();
                        view! {
                            <li class="row device-row" data-testid="invite-row" data-invite=invite.id.clone()>
                                <div class="device-info">
                                <span class="row-title">
                                    {i18n.t(role_key(invite.role))}
                                    {(!team.is_empty()).then(|| format!(" · {team}"))}
                                    {invite.key_persons.then(|| view! { " "<span class="badge">{i18n.t(Key::AccountsKeyPersons)}</span> })}
                                </span>
                                <span class="row-detail">
                                    {i18n.t(Key::AccountsUsesLeft)}" "{invite.uses_left}" · "
                                    {i18n.t(Key::AccountsExpires)}" "{when(i18n, invite.expires_at_ms)}
                                </span>
                                </div>
                                <div class="device-actions">
                                    <button class="button secondary" data-testid=format!("invite-revoke-{}", invite.id)
                                        on:click=move |_| revoke(id.clone())>
                                        {i18n.t(Key::AccountsInviteRevoke)}
                                    </button>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}

/// Every device that redeemed an invite here, with revoke and grant.
#[component]
fn Devices(reload: RwSignal<u32>, problem: RwSignal<Option<Problem>>) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let devices = LocalResource::new(move || {
        let credentials = data.credentials();
        reload.track();
        async move {
            let mut list = match credentials {
                Some(c) => api::devices(&c).await?,
                None => Vec::new(),
            };
            sort_devices(&mut list);
            Ok::<_, ApiFailure>(list)
        }
    });
    let teams = Memo::new(move |_| data.replica.with(|r| r.named(team::NAME)));
    let change = move |id: String, update: DeviceUpdate| {
        let Some(credentials) = data.credentials_untracked() else {
            return;
        };
        spawn_local(async move {
            match api::update_device(&credentials, &id, &update).await {
                Ok(_) => problem.set(None),
                Err(failure) => problem.set(Some(problem_of(&failure))),
            }
            reload.update(|n| *n += 1);
        });
    };
    let row = move |device: DeviceInfo| {
        let team = teams.with(|t| team_label(t, device.team.as_ref()));
        let revoked = device.revoked_at_ms.is_some();
        let label = if device.label.trim().is_empty() {
            i18n.t(Key::AccountsUnnamed).to_owned()
        } else {
            device.label.clone()
        };
        let seen = device.last_seen_ms.map_or_else(
            || i18n.t(Key::AccountsNeverSeen).to_owned(),
            |ms| when(i18n, ms),
        );
        let grant = (device.role == Role::Volunteer).then(|| {
            let id = device.id.clone();
            view! {
                <label class="check">
                    <input type="checkbox" data-testid=format!("grant-{id}") disabled=revoked
                        prop:checked=device.key_persons
                        on:change=move |ev| change(id.clone(), DeviceUpdate {
                            revoke: false,
                            key_persons: Some(event_target_checked(&ev)),
                        })/>
                    {i18n.t(Key::AccountsKeyPersons)}
                </label>
            }
        });
        let revoke = (!revoked && !device.this_device).then(|| {
            let id = device.id.clone();
            view! {
                <button class="button secondary" data-testid=format!("revoke-{id}")
                    on:click=move |_| {
                        if confirmed(i18n.t(Key::AccountsRevokeConfirm)) {
                            change(id.clone(), DeviceUpdate { revoke: true, key_persons: None });
                        }
                    }>
                    {i18n.t(Key::AccountsRevoke)}
                </button>
            }
        });
        view! {
            <li class="row device-row" class:revoked=revoked data-testid="device-row"
                data-device=device.id.clone() data-revoked=revoked.to_string()>
                <div class="device-info">
                    <span class="row-title">{label}" "
                        <span class="badge" data-testid="device-state">
                            {i18n.t(if revoked { Key::AccountsRevoked } else { Key::AccountsActive })}
                        </span>
                        {device.this_device.then(|| view! {
                            " "<span class="badge" data-testid="this-device">{i18n.t(Key::AccountsThisDevice)}</span>
                        })}
                    </span>
                    <span class="row-detail">
                        {i18n.t(role_key(device.role))}
                        {(!team.is_empty()).then(|| format!(" · {team}"))}
                        " · "{i18n.t(Key::AccountsLastSeen)}" "{seen}
                    </span>
                </div>
                <div class="device-actions">{grant}{revoke}</div>
            </li>
        }
    };
    view! {
        {move || match devices.get() {
            None => view! { <p class="updated">{i18n.t(Key::AccountsLoading)}</p> }.into_any(),
            Some(Err(failure)) => view! {
                <p class="banner warning">{problem_of(&failure).text(i18n)}</p>
            }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <p class="notice" data-testid="device-list">{i18n.t(Key::AccountsNoDevices)}</p>
            }.into_any(),
            Some(Ok(list)) => view! {
                <ul class="rows" data-testid="device-list">{list.into_iter().map(row).collect_view()}</ul>
            }.into_any(),
        }}
    }
}

#[cfg(test)]
mod tests {
    use doorstep_core::{
        api::{ApiError, ErrorCode},
        hlc::Hlc,
        ids::ClientId,
        mutation::Mutation,
    };
    use serde_json::json;

    use super::*;
    use crate::state::replica::Replica;

    fn form(role: Role, team: &str, uses: &str, hours: &str, key_persons: bool) -> InviteForm {
        InviteForm {
            role,
            team: team.into(),
            uses: uses.into(),
            hours: hours.into(),
            key_persons,
        }
    }

    #[test]
    fn the_default_form_is_one_volunteer_for_three_days_and_needs_a_team() {
        let default = InviteForm::default();
        assert_eq!(
            (default.role, default.uses.as_str(), default.hours.as_str()),
            (Role::Volunteer, "1", "72")
        );
        assert_eq!(invite_request(&default), Err(FormError::Team));
    }

    #[test]
    fn a_volunteer_invite_carries_its_team_and_grant() {
        let request = invite_request(&form(Role::Volunteer, " t1 ", "3", "24", true)).unwrap();
        assert_eq!(
            request,
            InviteRequest {
                role: Role::Volunteer,
                team: Some("t1".parse().unwrap()),
                uses: 3,
                hours: 24,
                key_persons: true,
            }
        );
    }

    #[test]
    fn other_roles_drop_the_team_and_grant() {
        for role in [Role::Coordinator, Role::Stall] {
            let request = invite_request(&form(role, "t1", "1", "72", true)).unwrap();
            assert_eq!(request.team, None);
            assert!(!request.key_persons);
            assert_eq!(request.role, role);
        }
    }

    #[test]
    fn uses_and_hours_must_be_within_the_servers_limits() {
        let check = |uses: &str, hours: &str| {
            invite_request(&form(Role::Stall, "", uses, hours, false)).map(|r| (r.uses, r.hours))
        };
        assert_eq!(check("1", "1"), Ok((1, 1)));
        assert_eq!(check(" 500 ", "720"), Ok((500, 720)));
        for uses in ["0", "501", "", "x", "-1", "1.5"] {
            assert_eq!(check(uses, "72"), Err(FormError::Uses), "{uses:?}");
        }
        for hours in ["0", "721", "", "三"] {
            assert_eq!(check("1", hours), Err(FormError::Hours), "{hours:?}");
        }
        // A bad team id is no team.
        assert_eq!(
            invite_request(&form(Role::Volunteer, "a b", "1", "1", false)),
            Err(FormError::Team)
        );
    }

    #[test]
    fn failures_become_something_to_act_on() {
        let refused = |status: u16, field: Option<&str>, message: &str| ApiFailure::Refused {
            status,
            error: ApiError {
                code: ErrorCode::Invalid,
                message: message.into(),
                field: field.map(str::to_owned),
            },
        };
        assert_eq!(
            problem_of(&ApiFailure::Unreachable("dns".into())),
            Problem(Key::AccountsOffline)
        );
        assert_eq!(
            problem_of(&refused(422, Some("hours"), "must be from 1 to 720")),
            Problem(Key::AccountsBadHours)
        );
        assert_eq!(
            problem_of(&refused(422, Some("team"), "no such team")),
            Problem(Key::AccountsBadTeam)
        );
        assert_eq!(
            problem_of(&refused(403, None, "forbidden")),
            Problem(Key::AccountsForbidden)
        );
        assert_eq!(
            problem_of(&refused(404, None, "no such device in this compound")),
            Problem(Key::ErrorServerMissing)
        );
    }

    fn team(id: &str, name: &str, deleted: bool) -> doorstep_core::record::Record {
        let hlc = Hlc {
            wall_ms: 1,
            counter: 0,
            node: ClientId::from_u128(1),
        };
        let mut record = Mutation::Set {
            collection: doorstep_core::schema::Collection::Team,
            id: id.parse().unwrap(),
            compound: "c1".parse().unwrap(),
            fields: [("name".into(), json!(name))].into(),
        }
        .apply(None, &hlc)
        .unwrap()
        .0;
        if deleted {
            record.deleted = Some(hlc);
        }
        record
    }

    #[test]
    fn teams_are_the_live_ones_by_name() {
        let replica = Replica::new(
            vec![
                team("t2", "二队", false),
                team("t1", "一队", false),
                team("t3", "三队", true),
            ],
            vec![],
        );
        let teams = replica.named(team::NAME);
        let mut names: Vec<&str> = teams.iter().map(|(_, n)| n.as_str()).collect();
        names.sort();
        assert_eq!(names, ["一队", "二队"], "deleted teams are not offered");
        let t1: RecordId = "t1".parse().unwrap();
        let gone: RecordId = "t3".parse().unwrap();
        assert_eq!(team_label(&teams, Some(&t1)), "一队");
        assert_eq!(team_label(&teams, Some(&gone)), "t3");
        assert_eq!(team_label(&teams, None), "");
    }

    fn device(id: &str, label: &str, seen: Option<u64>, revoked: bool) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            label: label.into(),
            role: Role::Volunteer,
            team: None,
            key_persons: false,
            created_at_ms: 0,
            last_seen_ms: seen,
            revoked_at_ms: revoked.then_some(5),
            this_device: false,
        }
    }

    #[test]
    fn devices_in_use_come_first_most_recent_first() {
        let mut devices = vec![
            device("d1", "old", Some(10), false),
            device("d2", "revoked", Some(99), true),
            device("d3", "never", None, false),
            device("d4", "recent", Some(50), false),
        ];
        sort_devices(&mut devices);
        let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["d4", "d1", "d3", "d2"]);
    }

    #[test]
    fn days_are_counted_from_local_midnight() {
        let midnight = 10 * DAY_MS as u64;
        assert_eq!(day_of(midnight, midnight), Day::Today);
        assert_eq!(day_of(midnight + DAY_MS as u64 - 1, midnight), Day::Today);
        assert_eq!(day_of(midnight + DAY_MS as u64, midnight), Day::Tomorrow);
        assert_eq!(day_of(midnight - 1, midnight), Day::Yesterday);
        assert_eq!(
            day_of(midnight + 3 * DAY_MS as u64, midnight),
            Day::Later(3)
        );
        assert_eq!(day_of(midnight - 2 * DAY_MS as u64, midnight), Day::Ago(2));
    }

    #[test]
    fn days_read_naturally_in_both_languages() {
        let (zh, en) = (Locale::Zh, Locale::En);
        assert_eq!(day_words(Day::Today, zh), "今天");
        assert_eq!(day_words(Day::Later(3), zh), "3天后");
        assert_eq!(day_words(Day::Ago(2), zh), "2天前");
        assert_eq!(day_words(Day::Tomorrow, en), "tomorrow");
        assert_eq!(day_words(Day::Later(3), en), "in 3 days");
        assert_eq!(day_words(Day::Ago(2), en), "2 days ago");
    }

    #[test]
    fn every_role_has_a_name() {
        let names: std::collections::HashSet<_> = Role::ALL
            .iter()
            .map(|&r| Locale::Zh.text(role_key(r)))
            .collect();
        assert_eq!(names.len(), Role::ALL.len());
        assert_eq!(Locale::Zh.text(role_key(Role::Stall)), "菜车人员");
    }
}
