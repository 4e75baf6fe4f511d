//! Properties of the merge rules that sync correctness rests on.

use std::collections::BTreeMap;

use doorstep_core::{
    hlc::{Clock, Hlc},
    ids::{ClientId, CompoundId, RecordId},
    mutation::Mutation,
    record::Record,
    schema::Collection,
    sync::{Change, PullPage, PushedMutation},
};
use proptest::prelude::*;
use serde_json::json;

type Replica = BTreeMap<(Collection, RecordId), Record>;

fn apply(replica: &mut Replica, mutation: &Mutation, hlc: &Hlc) {
    let key = (mutation.collection(), mutation.id().clone());
    if let Ok((record, _)) = mutation.apply(replica.get(&key), hlc) {
        replica.insert(key, record);
    }
}

fn merge_into(target: &mut Replica, source: &Replica) {
    for (key, record) in source {
        match target.get_mut(key) {
            Some(mine) => {
                mine.merge(record);
            }
            None => {
                target.insert(key.clone(), record.clone());
            }
        }
    }
}

fn compound() -> CompoundId {
    "c1".parse().unwrap()
}

/// One edit: which client, at which wall time, doing what.
fn edit() -> impl Strategy<Value = (u8, u64, Mutation)> {
    let node = 0u8..4;
    let wall = 0u64..6; // few distinct times, so ties are common
    let household = (0u8..3).prop_map(|n| format!("h{n}").parse::<RecordId>().unwrap());
    let field = prop_oneof![Just("head"), Just("phone"), Just("notes")];
    let set = (household.clone(), field, 0u8..3).prop_map(|(id, field, v)| Mutation::Set {
        collection: Collection::Household,
        id,
        compound: compound(),
        fields: [(field.to_owned(), json!(format!("v{v}")))].into(),
    });
    let delete = household.prop_map(|id| Mutation::Delete {
        collection: Collection::Household,
        id,
        compound: compound(),
    });
    // `stamp` gives each entry its own id, as real clients do (UUIDs).
    let append = Just(()).prop_map(|()| Mutation::Append {
        collection: Collection::Purchase,
        id: "p".parse().unwrap(),
        compound: compound(),
        fields: [
            ("household".to_owned(), json!("h0")),
            ("items".to_owned(), json!("米")),
            ("amount_cents".to_owned(), json!(100)),
        ]
        .into(),
    });
    (node, wall, prop_oneof![4 => set, 1 => delete, 1 => append])
}

/// Stamps edits as their clients would: each client's clock only moves
/// forward, and each ledger entry gets an id of its own.
fn stamp(edits: Vec<(u8, u64, Mutation)>) -> Vec<(Hlc, Mutation)> {
    let mut clocks: BTreeMap<u8, Clock> = BTreeMap::new();
    edits
        .into_iter()
        .enumerate()
        .map(|(i, (node, wall, mut mutation))| {
            if let Mutation::Append { id, .. } = &mut mutation {
                *id = format!("p{i}").parse().unwrap();
            }
            let clock = clocks
                .entry(node)
                .or_insert_with(|| Clock::new(ClientId::from_u128(node as u128 + 1)));
            (clock.tick(wall), mutation)
        })
        .collect()
}

fn page_of(replica: &Replica, reset: bool) -> PullPage {
    PullPage {
        compound: compound(),
        changes: replica
            .values()
            .enumerate()
            .map(|(i, record)| Change {
                seq: i as u64 + 1,
                record: record.clone(),
            })
            .collect(),
        cursor: replica.len() as u64,
        more: false,
        remaining: 0,
        scope: "s".into(),
        reset,
    }
}

proptest! {
    /// Any records sent as a compact page read back as they were.
    #[test]
    fn a_compact_page_reads_back_as_it_was_sent(edits in prop::collection::vec(edit(), 0..40)) {
        let mut replica = Replica::new();
        for (hlc, mutation) in &stamp(edits) {
            apply(&mut replica, mutation, hlc);
        }
        let page = page_of(&replica, false);
        let text = serde_json::to_string(&page).unwrap();
        prop_assert_eq!(serde_json::from_str::<PullPage>(&text).unwrap(), page);
    }

    /// A phone that made some of the edits and pulls the server's state
    /// without the echo of its own push ends up with the server's records.
    #[test]
    fn a_push_answer_without_its_echo_still_converges(
        edits in prop::collection::vec(edit(), 1..40),
        mine in 0u8..4,
    ) {
        let stamped = stamp(edits);
        let mut server = Replica::new();
        let mut phone = Replica::new();
        let mut pushed = Vec::new();
        for (i, (hlc, mutation)) in stamped.iter().enumerate() {
            apply(&mut server, mutation, hlc);
            if hlc.node == ClientId::from_u128(mine as u128 + 1) {
                // The phone applied its own edit when it made it.
                apply(&mut phone, mutation, hlc);
                pushed.push(PushedMutation { mid: i as u64 + 1, hlc: hlc.clone(), mutation: mutation.clone() });
            }
        }
        let answer = page_of(&server, false).without_echo(&pushed);
        let answer: PullPage = serde_json::from_str(&serde_json::to_string(&answer).unwrap()).unwrap();
        let mut pulled = Replica::new();
        for change in answer.changes {
            pulled.insert((change.record.collection, change.record.id.clone()), change.record);
        }
        merge_into(&mut phone, &pulled);
        prop_assert_eq!(phone, server);
    }

    /// Any order, with any repeats, of the same edits gives the same records.
    #[test]
    fn replicas_converge_whatever_the_order_and_duplicates(
        edits in prop::collection::vec(edit(), 1..40),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 0..80),
    ) {
        let stamped = stamp(edits);
        let mut in_order = Replica::new();
        for (hlc, mutation) in &stamped {
            apply(&mut in_order, mutation, hlc);
        }
        // Every edit at least once plus random repeats, then shuffled.
        let mut deliveries: Vec<usize> = (0..stamped.len()).collect();
        deliveries.extend(picks.iter().map(|i| i.index(stamped.len())));
        for (i, pick) in picks.iter().enumerate() {
            let len = deliveries.len();
            deliveries.swap(i % len, pick.index(len));
        }
        let mut reordered = Replica::new();
        for i in deliveries {
            apply(&mut reordered, &stamped[i].1, &stamped[i].0);
        }
        prop_assert_eq!(in_order, reordered);
    }

    /// Replicas that each saw part of the edits, merged in any grouping,
    /// equal one replica that saw them all.
    #[test]
    fn merging_partial_replicas_is_associative_and_commutative(
        edits in prop::collection::vec(edit(), 1..40),
        owners in prop::collection::vec(0usize..3, 40),
    ) {
        let stamped = stamp(edits);
        let mut parts = [Replica::new(), Replica::new(), Replica::new()];
        let mut whole = Replica::new();
        for (i, (hlc, mutation)) in stamped.iter().enumerate() {
            apply(&mut parts[owners[i]], mutation, hlc);
            apply(&mut whole, mutation, hlc);
        }
        let mut left = parts[0].clone();
        merge_into(&mut left, &parts[1]);
        merge_into(&mut left, &parts[2]);
        let mut middle = parts[1].clone();
        merge_into(&mut middle, &parts[0]);
        let mut right = parts[2].clone();
        merge_into(&mut right, &middle);
        merge_into(&mut right, &middle); // idempotent
        prop_assert_eq!(&left, &whole);
        prop_assert_eq!(&right, &whole);
    }

    /// A clock never hands out a stamp twice or goes back, whatever the wall
    /// clock does, and always moves past what it observed.
    #[test]
    fn hlc_is_strictly_monotonic(steps in prop::collection::vec((0u64..1_000, any::<bool>(), 0u64..1_000, 0u32..5), 1..100)) {
        let me = ClientId::from_u128(1);
        let other = ClientId::from_u128(2);
        let mut clock = Clock::new(me);
        let mut last = Hlc::zero(me);
        let mut seen_max = Hlc::zero(other);
        for (now, observe, remote_wall, remote_counter) in steps {
            if observe {
                let remote = Hlc { wall_ms: remote_wall, counter: remote_counter, node: other };
                clock.observe(&remote, now);
                seen_max = seen_max.max(remote);
            }
            let next = clock.tick(now);
            prop_assert!(next > last, "{} then {}", last, next);
            prop_assert!(next > seen_max, "{} not after observed {}", next, seen_max);
            prop_assert!(next.wall_ms >= now);
            last = next;
        }
    }

    /// Two clients writing one field at the same wall time and counter: the
    /// higher client id wins, in either order.
    #[test]
    fn lww_ties_break_on_client_id(wall in 0u64..1_000_000, counter in 0u32..10, a in any::<u128>(), b in any::<u128>()) {
        prop_assume!(a != b);
        let write = |node: u128, value: &str| {
            let hlc = Hlc { wall_ms: wall, counter, node: ClientId::from_u128(node) };
            let mutation = Mutation::Set {
                collection: Collection::Household,
                id: "h".parse().unwrap(),
                compound: compound(),
                fields: [("phone".to_owned(), json!(value))].into(),
            };
            (hlc, mutation)
        };
        let (ha, ma) = write(a, "from a");
        let (hb, mb) = write(b, "from b");
        let expected = if ClientId::from_u128(a) > ClientId::from_u128(b) { "from a" } else { "from b" };
        for (first, second) in [((&ha, &ma), (&hb, &mb)), ((&hb, &mb), (&ha, &ma))] {
            let mut replica = Replica::new();
            apply(&mut replica, first.1, first.0);
            apply(&mut replica, second.1, second.0);
            let record = replica.values().next().unwrap();
            prop_assert_eq!(record.named("phone"), Some(&json!(expected)));
        }
    }
}
