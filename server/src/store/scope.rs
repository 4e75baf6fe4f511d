//! Where records sit (their household and its building and unit) and what a
//! device's scope is: the lookups behind core's access rules.
//!
//! Each record row carries the household it belongs to (a household's own
//! id) and households carry their building and unit, all written with the
//! record in the push transaction, so a scoped pull is one indexed query.

use doorstep_core::{
    access::{Area, Hold, Place, Reach, Release, Role, Scope, team_places},
    home_visit::dispatched_to,
    ids::RecordId,
    schema::Collection,
    sync::PullRequest,
};
use sha2::{Digest, Sha256};
use sqlx::{Any, Executor};

use super::{Store, StoreError, accounts::Device, sync::decode};

/// A device's scope and its fingerprint: the fingerprint changes whenever
/// what the device may see changes, which makes its phone resync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceScope {
    pub scope: Scope,
    pub fingerprint: String,
}

impl DeviceScope {
    /// Refuses a pull of another compound than the device's.
    pub fn check_pull(&self, pull: &PullRequest) -> Result<(), StoreError> {
        if pull.compound == self.scope.compound {
            return Ok(());
        }
        Err(StoreError::Forbidden(format!(
            "this device works in compound {}, not {}",
            self.scope.compound, pull.compound
        )))
    }
}

impl Store {
    /// The scope a device has now: for a volunteer, the places (buildings,
    /// units) its team is assigned in the rounds under way, and those it no
    /// longer holds, and the home visits dispatched to its team.
    pub async fn scope_of(&self, device: &Device) -> Result<DeviceScope, StoreError> {
        let mut scope = Scope {
            compound: device.compound.clone(),
            role: device.role,
            team: device.team.clone(),
            buildings: Default::default(),
            units: Default::default(),
            ended: Default::default(),
            ended_units: Default::default(),
            key_persons: device.key_persons,
            home_visits: Default::default(),
            home_visits_ended: Default::default(),
        };
        if device.role == Role::Volunteer
            && let Some(team) = &device.team
        {
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT state FROM record WHERE compound = $1 \
                 AND collection IN ('round', 'assignment', 'home_visit')",
            )
            .bind(device.compound.as_str())
            .fetch_all(&self.reader)
            .await?;
            let plan = rows
                .iter()
                .map(|(state,)| decode(state))
                .collect::<Result<Vec<_>, _>>()?;
            let releases = releases_of(&self.reader, device.compound.as_str(), team).await?;
            scope.hold(team_places(team, &plan, &releases));
            scope.dispatch(dispatched_to(team, &plan));
        }
        let (epoch,): (i64,) = sqlx::query_as("SELECT scope_epoch FROM compound WHERE id = $1")
            .bind(device.compound.as_str())
            .fetch_one(&self.reader)
            .await?;
        let text = serde_json::to_string(&(&scope, epoch))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let fingerprint = Sha256::digest(text.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(DeviceScope { scope, fingerprint })
    }
}

/// Keeps `release` (made in `compound`), or a later one of the same hold.
pub(super) async fn record_release<'c, E>(
    executor: E,
    compound: &str,
    release: &Release,
) -> Result<(), StoreError>
where
    E: Executor<'c, Database = Any>,
{
    let Hold { team, place, round } = &release.hold;
    sqlx::query(
        "INSERT INTO team_release (compound, team, building, unit, round, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (compound, team, building, unit, round) DO UPDATE SET at_ms = \
         CASE WHEN excluded.at_ms > team_release.at_ms THEN excluded.at_ms ELSE team_release.at_ms END",
    )
    .bind(compound)
    .bind(team)
    .bind(&place.building)
    .bind(place.unit.as_deref().unwrap_or(""))
    .bind(round.as_deref().unwrap_or(""))
    .bind(release.at_ms as i64)
    .execute(executor)
    .await?;
    Ok(())
}

/// The places `team` has stopped holding in `compound`, with when.
async fn releases_of<'c, E>(
    executor: E,
    compound: &str,
    team: &RecordId,
) -> Result<Vec<Release>, StoreError>
where
    E: Executor<'c, Database = Any>,
{
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT building, unit, round, at_ms FROM team_release WHERE compound = $1 AND team = $2",
    )
    .bind(compound)
    .bind(team.as_str())
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(building, unit, round, at_ms)| Release {
            hold: Hold {
                team: team.to_string(),
                // Stored as `Place` holds it: no second normalising.
                place: Place {
                    building,
                    unit: (!unit.is_empty()).then_some(unit),
                },
                round: (!round.is_empty()).then_some(round),
            },
            at_ms: at_ms as u64,
        })
        .collect())
}

/// Where the household that `collection`/`id` belongs to lives, as stored
/// now.
pub(super) async fn place_of<'c, E>(
    executor: E,
    collection: Collection,
    id: &str,
) -> Result<Option<Place>, StoreError>
where
    E: Executor<'c, Database = Any>,
{
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT h.building, h.unit FROM record r JOIN record h \
         ON h.collection = 'household' AND h.id = r.household \
         WHERE r.collection = $1 AND r.id = $2",
    )
    .bind(collection.name())
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(row.and_then(|(building, unit)| {
        Some(Place {
            building: building?,
            unit,
        })
    }))
}

/// The SQL condition (on `record`, bound from parameter `$first`) that
/// limits a pull to `scope`, with its parameters.
pub(super) fn pull_filter(scope: &Scope, first: usize) -> (String, Vec<String>) {
    let quoted = |collections: Vec<Collection>| {
        collections
            .iter()
            .map(|c| format!("'{}'", c.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let whole: Vec<Collection> = Collection::ALL
        .into_iter()
        .filter(|&c| scope.reach(c) != Reach::None && !scope.by_building(c))
        .collect();
    if whole.len() == Collection::ALL.len() {
        return ("TRUE".into(), Vec::new());
    }
    let mut condition = format!("(collection IN ({})", quoted(whole));
    let placed: Vec<Collection> = Area::Household
        .collections()
        .filter(|&c| scope.by_building(c))
        .collect();
    // A household is in scope if its building is held whole, or its unit.
    let mut params: Vec<String> = Vec::new();
    let mut param = |value: &str| {
        params.push(value.to_owned());
        format!("${}", first + params.len() - 1)
    };
    let mut places: Vec<String> = Vec::new();
    if !scope.buildings.is_empty() {
        let whole: Vec<String> = scope.buildings.iter().map(|b| param(b)).collect();
        places.push(format!("h.building IN ({})", whole.join(", ")));
    }
    for (building, units) in &scope.units {
        let building = param(building);
        let units: Vec<String> = units.iter().map(|u| param(u)).collect();
        places.push(format!(
            "(h.building = {building} AND h.unit IN ({}))",
            units.join(", ")
        ));
    }
    if !placed.is_empty() && !places.is_empty() {
        condition.push_str(&format!(
            " OR (collection IN ({}) AND household IN (SELECT h.id FROM record h \
             WHERE h.compound = record.compound AND h.collection = 'household' AND ({})))",
            quoted(placed),
            places.join(" OR ")
        ));
    }
    // A home-visit team's dispatched households, wherever they are, and
    // its own entries.
    if !scope.home_visits.is_empty() {
        let households: std::collections::BTreeSet<&String> = scope.home_visits.values().collect();
        let households: Vec<String> = households.into_iter().map(|h| param(h)).collect();
        let dispatched: Vec<Collection> = Area::Household
            .collections()
            .filter(|&c| scope.by_building(c) && Scope::reads_dispatched(c))
            .collect();
        let entries: Vec<String> = scope.home_visits.keys().map(|id| param(id)).collect();
        condition.push_str(&format!(
            " OR (collection IN ({}) AND household IN ({})) \
             OR (collection = '{}' AND id IN ({}))",
            quoted(dispatched),
            households.join(", "),
            Collection::HomeVisit.name(),
            entries.join(", ")
        ));
    }
    condition.push(')');
    (condition, params)
}
