//! A household's people on the care and key-persons ledgers, and purchases
//! made on its behalf, in plain types with the edits that record them.

use doorstep_core::{
    ids::{CompoundId, RecordId},
    mutation::Mutation,
    record::Record,
    schema::{Collection, Field, person, purchase, settlement},
};
use serde_json::json;

use super::{household::FormError, replica::Replica, visits::short_id};

#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub id: RecordId,
    pub household: String,
    pub name: String,
    /// 关爱服务台账 group, if any.
    pub care: Option<String>,
    pub care_plan: String,
    /// 重点人员台账 status, if any (restricted).
    pub key_status: Option<String>,
    /// Cannot go out: on the home-visit list (`home_visits`).
    pub homebound: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Purchase {
    pub id: RecordId,
    pub household: String,
    pub items: String,
    pub amount_cents: i64,
    pub settled: bool,
}

fn text(record: &Record, field: Field) -> Option<String> {
    record
        .text(field)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub fn people(replica: &Replica) -> Vec<Person> {
    replica
        .all(Collection::Person)
        .into_iter()
        .filter(|p| !p.is_deleted())
        .map(|p| Person {
            household: text(&p, person::HOUSEHOLD).unwrap_or_default(),
            name: text(&p, person::NAME).unwrap_or_default(),
            care: text(&p, person::CARE),
            care_plan: text(&p, person::CARE_PLAN).unwrap_or_default(),
            key_status: text(&p, person::KEY_STATUS),
            homebound: super::home_visits::is_homebound(Some(&p)),
            id: p.id,
        })
        .collect()
}

/// Purchases, with whether a settlement entry exists for each.
pub fn purchases(replica: &Replica) -> Vec<Purchase> {
    let settled: Vec<String> = replica
        .all(Collection::Settlement)
        .iter()
        .filter_map(|s| text(s, settlement::PURCHASE))
        .collect();
    replica
        .all(Collection::Purchase)
        .into_iter()
        .map(|p| Purchase {
            household: text(&p, purchase::HOUSEHOLD).unwrap_or_default(),
            items: text(&p, purchase::ITEMS).unwrap_or_default(),
            amount_cents: p.int(purchase::AMOUNT_CENTS).unwrap_or_default(),
            settled: settled.iter().any(|s| s == p.id.as_str()),
            id: p.id,
        })
        .collect()
}

/// A new person for a household; care and key status may be empty.
pub fn add_person(
    compound: &CompoundId,
    household: &RecordId,
    name: &str,
    care: &str,
    care_plan: &str,
    key_status: &str,
    key_since_ms: Option<u64>,
) -> Result<Mutation, FormError> {
    if name.trim().is_empty() {
        return Err(FormError {
            field: person::NAME.into(),
            message: "is required".into(),
        });
    }
    let mut fields = vec![
        (person::HOUSEHOLD, json!(household)),
        (person::NAME, json!(name.trim())),
    ];
    for (field, value) in [
        (person::CARE, care),
        (person::CARE_PLAN, care_plan),
        (person::KEY_STATUS, key_status),
    ] {
        if !value.trim().is_empty() {
            fields.push((field, json!(value.trim())));
        }
    }
    if let Some(since) = key_since_ms.filter(|_| !key_status.trim().is_empty()) {
        fields.push((person::KEY_SINCE_MS, json!(since)));
    }
    let mutation = Mutation::Set {
        collection: Collection::Person,
        id: short_id("p"),
        compound: compound.clone(),
        fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
    };
    mutation.validate().map_err(|e| FormError {
        field: e.field.rsplit('.').next().unwrap_or_default().into(),
        message: e.message,
    })?;
    Ok(mutation)
}

/// A purchase entry; `amount` is in yuan as typed (e.g. `23.5`).
pub fn add_purchase(
    compound: &CompoundId,
    household: &RecordId,
    items: &str,
    amount: &str,
) -> Result<Mutation, FormError> {
    let yuan: f64 = amount.trim().parse().map_err(|_| FormError {
        field: purchase::AMOUNT_CENTS.into(),
        message: "must be an amount in yuan".into(),
    })?;
    let mutation = Mutation::Append {
        collection: Collection::Purchase,
        id: short_id("b"),
        compound: compound.clone(),
        fields: [
            purchase::HOUSEHOLD.set(json!(household)),
            purchase::ITEMS.set(items.trim()),
            purchase::AMOUNT_CENTS.set((yuan * 100.0).round() as i64),
        ]
        .into(),
    };
    mutation.validate().map_err(|e| FormError {
        field: e.field.rsplit('.').next().unwrap_or_default().into(),
        message: e.message,
    })?;
    Ok(mutation)
}

pub fn settle(compound: &CompoundId, purchase: &RecordId, now_ms: u64) -> Mutation {
    Mutation::Append {
        collection: Collection::Settlement,
        id: short_id("s"),
        compound: compound.clone(),
        fields: [
            settlement::PURCHASE.set(json!(purchase)),
            settlement::AT_MS.set(now_ms),
        ]
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::fixtures::stamp;

    #[test]
    fn people_purchases_and_settlements() {
        let compound: CompoundId = "c1".parse().unwrap();
        let h: RecordId = "h1".parse().unwrap();
        let mut replica = Replica::default();
        let record = |replica: &mut Replica, m: Mutation| {
            let n =
                replica.all(Collection::Person).len() + replica.all(Collection::Purchase).len() + 1;
            replica.upsert(m.apply(None, &stamp(n as u64)).unwrap().0);
        };
        record(
            &mut replica,
            add_person(
                &compound,
                &h,
                "王芳",
                "elderly_alone",
                "每日电话问候",
                "",
                None,
            )
            .unwrap(),
        );
        let purchase = add_purchase(&compound, &h, "降压药", "23.5").unwrap();
        let id = purchase.id().clone();
        record(&mut replica, purchase);
        assert_eq!(
            add_person(&compound, &h, " ", "", "", "", None)
                .unwrap_err()
                .field,
            "name"
        );
        assert_eq!(
            add_person(&compound, &h, "李", "astronaut", "", "", None)
                .unwrap_err()
                .field,
            "care"
        );
        assert_eq!(
            add_purchase(&compound, &h, "米", "很多").unwrap_err().field,
            "amount_cents"
        );
        assert_eq!(
            add_purchase(&compound, &h, "", "1").unwrap_err().field,
            "items"
        );
        let unsettled = purchases(&replica);
        assert_eq!(
            (unsettled[0].amount_cents, unsettled[0].settled),
            (2350, false)
        );
        record(&mut replica, settle(&compound, &id, 9));
        assert!(purchases(&replica)[0].settled);
        let person = &people(&replica)[0];
        assert_eq!(
            (person.care.as_deref(), person.key_status.as_deref()),
            (Some("elderly_alone"), None)
        );
    }
}
