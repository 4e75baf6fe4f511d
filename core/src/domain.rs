//! The domain rules a record's state must meet beyond its fields' types and
//! ranges (those are `schema.rs`, checked by `Mutation::validate`): a
//! visit's checklist (`visit.rs`), a need's lifecycle (`need.rs`) and a
//! home visit's result (`home_visit.rs`). The
//! phone checks them before it saves; the server checks them on the state
//! every pushed mutation produces (its fields merged onto the record as
//! stored), so a record no phone could have saved is never stored.

use crate::{
    mutation::Refusal,
    need::{self, steps_by_need},
    record::Record,
    schema::Collection,
    visit::Checklist,
};

/// Checks `record` (a state a mutation produced). For a need event,
/// `need_events` are the other events of its need as this replica holds
/// them; other collections ignore it.
pub fn check(record: &Record, need_events: &[Record]) -> Result<(), Refusal> {
    let invalid = |message: String| Refusal {
        code: crate::api::ErrorCode::Invalid,
        message,
    };
    if record.is_deleted() {
        return Ok(());
    }
    match record.collection {
        Collection::Visit => Checklist::of(record)
            .check()
            .map_err(|e| invalid(format!("visit.{}: {e}", e.field))),
        Collection::NeedEvent => {
            let Some((need, step)) = steps_by_need(std::slice::from_ref(record))
                .pop_first()
                .and_then(|(need, mut steps)| Some((need, steps.pop()?)))
            else {
                return Err(invalid("need_event: names no need or step".into()));
            };
            let others: Vec<Record> = need_events
                .iter()
                .filter(|r| r.id != record.id)
                .cloned()
                .collect();
            let known = steps_by_need(&others).remove(&need).unwrap_or_default();
            need::check_recorded(&step, known).map_err(|e| invalid(format!("need_event.step: {e}")))
        }
        Collection::HomeVisit => crate::home_visit::check(record)
            .map_err(|e| invalid(format!("home_visit.tube_no: {e}"))),
        _ => Ok(()),
    }
}

/// [`check`] for an edit that turns `before` (as stored; `None` for a new
/// record) into `after`: an edit may not break a sound record, but a record
/// stored before these rules that already breaks one stays editable, so it
/// can be put right rather than be frozen.
pub fn check_edit(
    before: Option<&Record>,
    after: &Record,
    need_events: &[Record],
) -> Result<(), Refusal> {
    match before {
        Some(before) if check(before, need_events).is_err() => Ok(()),
        _ => check(after, need_events),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::record;

    #[test]
    fn a_record_already_broken_stays_editable_and_a_sound_one_stays_sound() {
        let visit = |fields| record("visit", "v1", fields, 1);
        let sound = visit(json!({"outcome": "visited", "temperature_c": 36.6}));
        let broken = visit(json!({"outcome": "revisit"}));
        let fixed = visit(json!({"outcome": "revisit", "revisit_at_ms": 5}));
        assert!(check_edit(None, &broken, &[]).is_err());
        assert!(check_edit(Some(&sound), &broken, &[]).is_err());
        assert!(check_edit(Some(&broken), &fixed, &[]).is_ok());
        assert!(check_edit(Some(&broken), &broken, &[]).is_ok());
        assert!(check_edit(Some(&sound), &fixed, &[]).is_ok());
    }

    /// Issue 15, item 9: what the phone refuses to save, the server
    /// refuses to store. (record, the other events of its need, refused)
    #[test]
    fn records_are_held_to_the_phones_rules() {
        let visit = |fields| record("visit", "v1", fields, 1);
        let event = |id, step: serde_json::Value, at| {
            let mut fields = json!({"need": "n1", "at_ms": at});
            fields
                .as_object_mut()
                .unwrap()
                .extend(step.as_object().unwrap().clone());
            record("need_event", id, fields, at)
        };
        let collected = event("e1", json!({"step": "collected"}), 1);
        let assigned = event(
            "e2",
            json!({"step": "assigned", "team": "t1", "due_ms": 9}),
            2,
        );
        let resolved = event("e4", json!({"step": "resolved", "note": "送了"}), 3);
        let cases: Vec<(Record, Vec<Record>, bool)> = vec![
            (visit(json!({"outcome": "revisit"})), vec![], true),
            (
                visit(json!({"outcome": "revisit", "revisit_at_ms": 5})),
                vec![],
                false,
            ),
            (
                visit(json!({"outcome": "visited", "temperature_c": 36.6})),
                vec![],
                false,
            ),
            (visit(json!({"outcome": "visited"})), vec![], true),
            (
                visit(json!({"outcome": "visited", "swab": true})),
                vec![],
                true,
            ),
            (visit(json!({"household": "h1"})), vec![], true),
            (
                record("household", "h1", json!({"door": "1"}), 1),
                vec![],
                false,
            ),
            (
                event("e3", json!({"step": "closed"}), 5),
                vec![collected.clone()],
                true,
            ),
            (
                event("e3", json!({"step": "closed"}), 5),
                vec![collected.clone(), assigned, resolved],
                false,
            ),
            (event("e1", json!({"step": "collected"}), 1), vec![], false),
            (
                record("home_visit", "v1", json!({"result": "tested"}), 1),
                vec![],
                true,
            ),
            (
                record(
                    "home_visit",
                    "v1",
                    json!({"result": "tested", "tube_no": "A1"}),
                    1,
                ),
                vec![],
                false,
            ),
            (
                record("home_visit", "v1", json!({"result": "not_home"}), 1),
                vec![],
                false,
            ),
        ];
        for (record, events, refused) in cases {
            let got = check(&record, &events);
            assert_eq!(got.is_err(), refused, "{record:?}: {got:?}");
            if let Err(refusal) = got {
                assert_eq!(refusal.code, crate::api::ErrorCode::Invalid);
            }
        }
    }
}
