//! The audit trail (who changed which field, when, from which device),
//! per-team freshness (when a team's work last reached the server) and the
//! edits the server refused, all read from the mutation log.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, State},
};
use doorstep_core::{
    access::Role,
    api::{HistoryChange, RefusedEdit},
    mutation::Mutation,
    schema::{Collection, visit},
};
use serde_json::Value;

use crate::{AppState, auth::Caller, error::AppError};

/// `GET /api/compounds/{compound}/history/{collection}/{id}`: every change to
/// a record, oldest first; for a need, its lifecycle steps too. A volunteer
/// sees the records of their buildings and units, without key-persons fields unless
/// granted.
#[utoipa::path(get, path = "/compounds/{compound}/history/{collection}/{id}", security(("device" = [])),
    params(
        crate::api::CompoundPath,
        ("collection" = Collection, Path, description = "The record's collection."),
        ("id" = doorstep_core::ids::RecordId, Path, description = "The record's id."),
    ),
    responses(
        (status = 200, description = "The record's changes, oldest first.", body = Vec<HistoryChange>),
        (status = 404, description = "No such collection (`not_found`).", body = doorstep_core::api::ApiError),
        crate::api::DeviceRefusals,
    ))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    Path((compound_id, collection, id)): Path<(String, String, String)>,
) -> Result<Json<Vec<HistoryChange>>, AppError> {
    let compound = caller.in_compound(&compound_id, &[Role::Coordinator, Role::Volunteer])?;
    let collection = Collection::from_name(&collection)
        .ok_or_else(|| AppError::not_found("no such collection"))?;
    let scope = state.store.scope_of(&caller.0).await?.scope;
    let place = state.store.place_of(collection, &id).await?;
    if !scope.may_read(collection, place.as_ref()) {
        return Err(AppError::forbidden(format!(
            "{} {id} is outside this device's buildings and units",
            collection.name()
        )));
    }
    let quoted = Value::from(id.as_str()).to_string();
    let mut changes = Vec::new();
    // The record's own edits, and entries that point at it (a need's steps).
    for needle in [format!("\"id\":{quoted}"), format!(":{quoted}")] {
        for logged in state.store.mutation_log(&compound, &needle).await? {
            let concerns = match &logged.mutation {
                m if m.collection() == collection && m.id().as_str() == id => true,
                Mutation::Append {
                    collection: Collection::NeedEvent,
                    fields,
                    ..
                } => {
                    collection == Collection::Need
                        && fields.get("need").and_then(Value::as_str) == Some(id.as_str())
                }
                _ => false,
            };
            let change = HistoryChange {
                device: logged.client_id.clone(),
                kind: format!(
                    "{}.{}",
                    logged.mutation.collection().name(),
                    logged.mutation.kind()
                ),
                fields: logged
                    .mutation
                    .fields()
                    .into_iter()
                    .flatten()
                    .filter(|(name, _)| {
                        scope.sees_restricted()
                            || !logged
                                .mutation
                                .collection()
                                .field(name)
                                .is_some_and(|f| f.restricted)
                    })
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect(),
                made_at_ms: logged.hlc.wall_ms,
                received_at_ms: logged.received_at_ms,
                rejected: logged.rejection.as_ref().map(|r| r.code),
            };
            if concerns && !changes.contains(&change) {
                changes.push(change);
            }
        }
    }
    changes.sort_by_key(|c| (c.made_at_ms, c.received_at_ms));
    Ok(Json(changes))
}

/// `GET /api/compounds/{compound}/freshness`: for each team, when a visit it
/// recorded last reached the server.
#[utoipa::path(get, path = "/compounds/{compound}/freshness", security(("device" = [])),
    params(crate::api::CompoundPath),
    responses(
        (status = 200, description = "By team id, when a visit it recorded last reached the server (Unix ms).", body = BTreeMap<String, u64>),
        crate::api::DeviceRefusals,
    ))]
pub async fn freshness(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound_id): Path<String>,
) -> Result<Json<BTreeMap<String, u64>>, AppError> {
    let compound = caller.in_compound(&compound_id, &[Role::Coordinator])?;
    let mut latest: BTreeMap<String, u64> = BTreeMap::new();
    for logged in state
        .store
        .mutation_log(&compound, "\"collection\":\"visit\"")
        .await?
    {
        if let Mutation::Set { fields, .. } = &logged.mutation
            && let Some(team) = visit::TEAM.of(fields).and_then(Value::as_str)
        {
            let at = latest.entry(team.to_owned()).or_default();
            *at = (*at).max(logged.received_at_ms);
        }
    }
    Ok(Json(latest))
}

/// `GET /api/compounds/{compound}/refused`: the edits the server refused for
/// good, newest first, each with whether the record now holds what it said.
/// Coordinators only: it shows every field of every building.
#[utoipa::path(get, path = "/compounds/{compound}/refused", security(("device" = [])),
    params(crate::api::CompoundPath),
    responses(
        (status = 200, description = "Refused edits, newest first: at most 500, and at most 100 of one device.", body = Vec<RefusedEdit>),
        crate::api::DeviceRefusals,
    ))]
pub async fn refused(
    State(state): State<AppState>,
    caller: Caller,
    Path(compound_id): Path<String>,
) -> Result<Json<Vec<RefusedEdit>>, AppError> {
    let compound = caller.in_compound(&compound_id, &[Role::Coordinator])?;
    let refused = state.store.refused_log(&compound).await?;
    let mutations: Vec<&Mutation> = refused.iter().map(|l| &l.mutation).collect();
    let current = state.store.records_named(&compound, &mutations).await?;
    let edits = refused
        .into_iter()
        .zip(current)
        .filter_map(|(logged, current)| {
            Some(RefusedEdit {
                refusal: logged.rejection?,
                reflected: logged.mutation.is_reflected_in(current.as_ref()),
                device: logged.client_id,
                device_label: logged.device_label,
                mid: logged.mid,
                mutation: logged.mutation,
                made_at_ms: logged.hlc.wall_ms,
                received_at_ms: logged.received_at_ms,
            })
        })
        .collect();
    Ok(Json(edits))
}
