//! The household page's ledger sections: its people on the care and
//! key-persons ledgers, and purchases made on its behalf.

use doorstep_core::{
    ids::RecordId,
    schema::{Collection, Field, person, purchase},
};
use leptos::prelude::*;

use crate::{
    i18n::{Key, use_i18n},
    state::{
        home_visits::set_homebound,
        members::{add_person, add_purchase, people, purchases, settle},
        now_ms, use_app_data,
    },
};

pub fn yuan(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[component]
pub fn HouseholdLedgers(household: RecordId) -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let compound = move || {
        data.device
            .with_untracked(|d| d.as_ref().and_then(|d| d.compound.clone()).map(|c| c.id))
    };
    let members = {
        let id = household.to_string();
        Memo::new(move |_| {
            data.replica.with(|r| {
                people(r)
                    .into_iter()
                    .filter(|p| p.household == id)
                    .collect::<Vec<_>>()
            })
        })
    };
    let bought = {
        let id = household.to_string();
        Memo::new(move |_| {
            data.replica.with(|r| {
                purchases(r)
                    .into_iter()
                    .filter(|p| p.household == id)
                    .collect::<Vec<_>>()
            })
        })
    };
    let (name, care, plan, key) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let (items, amount) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    // 重点人员: since when (a date from the date picker, local midnight).
    let key_since = RwSignal::new(None::<u64>);
    let error = RwSignal::new(None::<String>);
    let record = move |mutation| {
        data.save(vec![mutation]);
    };
    let add_member = {
        let household = household.clone();
        move |_| {
            let Some(compound) = compound() else { return };
            match add_person(
                &compound,
                &household,
                &name.get_untracked(),
                &care.get_untracked(),
                &plan.get_untracked(),
                &key.get_untracked(),
                key_since.get_untracked(),
            ) {
                Ok(m) => {
                    error.set(None);
                    for field in [name, care, plan, key] {
                        field.set(String::new());
                    }
                    key_since.set(None);
                    record(m);
                }
                Err(e) => error.set(Some(crate::errors::field(
                    i18n.locale(),
                    Collection::Person,
                    &e.field,
                ))),
            }
        }
    };
    let add_bought = {
        let household = household.clone();
        move |_| {
            let Some(compound) = compound() else { return };
            match add_purchase(
                &compound,
                &household,
                &items.get_untracked(),
                &amount.get_untracked(),
            ) {
                Ok(m) => {
                    error.set(None);
                    items.set(String::new());
                    amount.set(String::new());
                    record(m);
                }
                Err(e) if e.field == purchase::AMOUNT_CENTS.name => {
                    error.set(Some(i18n.t(Key::ErrorFieldAmount).to_owned()))
                }
                Err(e) => error.set(Some(crate::errors::field(
                    i18n.locale(),
                    Collection::Purchase,
                    &e.field,
                ))),
            }
        }
    };
    // A person's vocabulary field, its options in the schema's order.
    let select = move |signal: RwSignal<String>, field: Field, test_id: &'static str| {
        view! {
            <select data-testid=test_id prop:value=move || signal.get() on:change=move |ev| signal.set(event_target_value(&ev))>
                <option value="">{move || i18n.t(Key::WorkNone)}</option>
                {field.choices().iter().map(|&value| view! {
                    <option value=value>{move || i18n.choice(field, value)}</option>
                }).collect_view()}
            </select>
        }
    };
    let input = |signal: RwSignal<String>, placeholder: Key, test_id: &'static str| {
        view! { <input data-testid=test_id placeholder=move || i18n.t(placeholder) prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/> }
    };

    view! {
        <section class="check-section">
            <h2>{move || i18n.t(Key::MembersTitle)}</h2>
            <ul class="rows">
                {move || members.get().into_iter().map(|p| {
                    // Someone on the care ledger who cannot go out goes on
                    // the home-visit list (上门专班).
                    let homebound = p.homebound;
                    let id = p.id.clone();
                    let toggle = move |_| {
                        if let Some(compound) = compound() { record(set_homebound(&compound, &id, !homebound)) }
                    };
                    view! {
                        <li class="row" data-testid="member-row">
                            <span class="row-title">{p.name.clone()}</span>
                            <span class="row-detail">
                                {p.care.as_deref().map(|c| i18n.choice(person::CARE, c))}" "
                                {p.key_status.as_deref().map(|k| i18n.choice(person::KEY_STATUS, k))}
                                {homebound.then(|| view! { <span class="badge no_answer" data-testid="member-homebound-badge">{i18n.t(Key::MembersHomebound)}</span> })}
                            </span>
                            {p.care.is_some().then(|| view! {
                                <button class="link" data-testid="member-homebound" on:click=toggle>
                                    {i18n.t(if homebound { Key::MembersHomeboundClear } else { Key::MembersHomeboundSet })}
                                </button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <div class="work">
                {input(name, Key::MembersName, "member-name")}
                {select(care, person::CARE, "member-care")}
                {input(plan, Key::MembersCarePlan, "member-plan")}
                // Key-persons fields are restricted: a device without the
                // grant is not offered them (the server would refuse them).
                <Show when=move || data.access().is_some_and(|s| s.sees_restricted())>
                    <label class="field"><span>{move || i18n.t(Key::MembersKeyStatus)}</span>
                        {select(key, person::KEY_STATUS, "member-key")}
                    </label>
                </Show>
                <Show when=move || key.with(|k| !k.is_empty())>
                    <label class="field"><span>{move || i18n.t(Key::MembersKeySince)}</span>
                        <input type="date" data-testid="member-key-since" on:input=move |ev| {
                            let ms = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!("{}T00:00", event_target_value(&ev)))).get_time();
                            key_since.set(ms.is_finite().then_some(ms as u64));
                        }/>
                    </label>
                </Show>
                <button class="button secondary" data-testid="add-member" on:click=add_member>{move || i18n.t(Key::MembersAdd)}</button>
            </div>
        </section>
        <section class="check-section">
            <h2>{move || i18n.t(Key::PurchasesTitle)}</h2>
            <ul class="rows">
                {move || bought.get().into_iter().map(|p| {
                    let id = p.id.clone();
                    view! {
                        <li class="row" data-testid="purchase-row">
                            <span class="row-title">{p.items.clone()}" · ¥"{yuan(p.amount_cents)}</span>
                            {if p.settled {
                                view! { <span class="badge visited">{i18n.t(Key::PurchasesSettled)}</span> }.into_any()
                            } else {
                                view! {
                                    <button class="link" data-testid="settle" on:click=move |_| {
                                        if let Some(compound) = compound() { record(settle(&compound, &id, now_ms())) }
                                    }>{i18n.t(Key::PurchasesSettle)}</button>
                                }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <div class="inline-form">
                {input(items, Key::PurchasesItems, "purchase-items")}
                {input(amount, Key::PurchasesAmount, "purchase-amount")}
                <button class="button secondary" data-testid="add-purchase" on:click=add_bought>{move || i18n.t(Key::PurchasesAdd)}</button>
            </div>
        </section>
        <p class="banner warning" hidden=move || error.with(Option::is_none)>{move || error.get()}</p>
    }
}
