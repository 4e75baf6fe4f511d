//! `/ledgers`: the needs ledger (困难问题台账), residents' requests awaiting
//! a call back first, then open and overdue needs (spam left out);
//! the care, key-persons and purchase ledgers; export and print links.

use doorstep_core::{
    access::Role,
    schema::{need, person},
};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    areas::Area,
    i18n::{Key, use_i18n},
    pages::{download::Download, household_ledgers::yuan},
    state::{
        household::Household,
        members::{people, purchases},
        needs::ledger,
        now_ms, use_app_data,
    },
};

#[component]
pub fn LedgersPage() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let rows = Memo::new(move |_| data.replica.with(|r| ledger(r, now_ms())));
    view! {
        <h1 data-testid="page-title">{move || i18n.t(Area::Ledgers.title())}</h1>
        <h2>{move || i18n.t(Key::NeedsTitle)}</h2>
        <Show when=move || !rows.with(Vec::is_empty)
            fallback=move || view! { <p class="notice" data-testid="needs-empty">{i18n.t(Key::NeedsEmpty)}</p> }>
            <ul class="rows">
                {move || rows.get().into_iter().map(|row| {
                    let overdue = row.state.is_overdue(now_ms());
                    let (resident, awaits_call) = (row.request.is_some(), row.awaits_call);
                    let status = row.state.status;
                    let category = row.category.clone();
                    let place = row.household.as_ref().map(Household::title).unwrap_or_default();
                    view! {
                        <li>
                            <A href=format!("/ledgers/needs/{}", row.id) attr:class="row" attr:data-testid="need-row">
                                <span class="row-title">{move || i18n.choice(need::CATEGORY, &category)}" · "{place.clone()}</span>
                                <span class="row-detail">
                                    <span class="badge" data-testid="need-status">{move || i18n.status(status)}</span>
                                    <Show when=move || overdue><span class="badge refused">{move || i18n.t(Key::NeedsOverdue)}</span></Show>
                                    <Show when=move || resident><span class="badge" data-testid="need-resident">{move || i18n.t(Key::NeedsFromResident)}</span></Show>
                                    <Show when=move || awaits_call><span class="badge refused" data-testid="need-awaits-call">{move || i18n.t(Key::NeedsWaitingCall)}</span></Show>
                                </span>
                            </A>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Show>
        // Exports hold every ledger, key persons included: coordinators only.
        <Show when=move || data.role() == Some(Role::Coordinator)>
            <h2>{move || i18n.t(Key::LedgersExport)}</h2>
            <p><Download path="ledgers.xlsx" label=Key::LedgersExportXlsx print=false test_id="export-xlsx"/></p>
            <p class="links">
                {[("households", Key::LedgersPrintHouseholds), ("visits", Key::LedgersPrintVisits), ("needs", Key::NeedsTitle),
                  ("purchases", Key::LedgersPrintPurchases), ("care", Key::LedgersPrintCare), ("key-persons", Key::LedgersPrintKeyPersons)]
                    .into_iter()
                    .map(|(slug, label)| view! {
                        <Download path=format!("ledgers/{slug}.html") label=label print=true test_id=format!("print-{slug}")/>" "
                        <Download path=format!("ledgers/{slug}.csv") label=Key::LedgersCsv print=false test_id=format!("csv-{slug}")/>" · "
                    })
                    .collect_view()}
            </p>
        </Show>
        <PeopleAndPurchases/>
    }
}

/// The care, key-persons and purchase ledgers, each row linking to its household.
#[component]
fn PeopleAndPurchases() -> impl IntoView {
    let i18n = use_i18n();
    let data = use_app_data();
    let everyone = Memo::new(move |_| data.replica.with(people));
    let bought = Memo::new(move |_| data.replica.with(purchases));
    let address = move |household: &str| {
        data.replica.with(|r| {
            household
                .parse()
                .ok()
                .and_then(|id| r.record(doorstep_core::schema::Collection::Household, &id))
                .map(|h| Household::from_record(h).address())
                .unwrap_or_default()
        })
    };
    let link = |household: &str| format!("/households/{household}");
    view! {
        <h2>{move || i18n.t(Key::LedgersCare)}</h2>
        <ul class="rows" data-testid="care-ledger">
            {move || everyone.get().into_iter().filter(|p| p.care.is_some()).map(|p| view! {
                <li><A href=link(&p.household) attr:class="row">
                    <span class="row-title">{address(&p.household)}" "{p.name.clone()}</span>
                    <span class="row-detail">{i18n.choice(person::CARE, p.care.as_deref().unwrap_or_default())}" · "{p.care_plan.clone()}</span>
                </A></li>
            }).collect_view()}
        </ul>
        <h2>{move || i18n.t(Key::LedgersKeyPersons)}</h2>
        <ul class="rows" data-testid="key-ledger">
            {move || everyone.get().into_iter().filter(|p| p.key_status.is_some()).map(|p| view! {
                <li><A href=link(&p.household) attr:class="row">
                    <span class="row-title">{address(&p.household)}" "{p.name.clone()}</span>
                    <span class="badge refused">{i18n.choice(person::KEY_STATUS, p.key_status.as_deref().unwrap_or_default())}</span>
                </A></li>
            }).collect_view()}
        </ul>
        <h2>{move || i18n.t(Key::LedgersPurchases)}</h2>
        <ul class="rows" data-testid="purchase-ledger">
            {move || bought.get().into_iter().map(|p| view! {
                <li><A href=link(&p.household) attr:class="row">
                    <span class="row-title">{address(&p.household)}" "{p.items.clone()}" · ¥"{yuan(p.amount_cents)}</span>
                    <span class="badge">{i18n.t(if p.settled { Key::PurchasesSettled } else { Key::PurchasesUnsettled })}</span>
                </A></li>
            }).collect_view()}
        </ul>
    }
}
