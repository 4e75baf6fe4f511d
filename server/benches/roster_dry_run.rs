//! `cargo xtask bench roster`: a dry run of a compound's whole roster, the
//! size the articles describe: 9 buildings, 2,300 households, one sheet per
//! building with title rows, merged unit cells, 序号, 合计 and 填表人 rows, an
//! ID-number column and care marks (`tests/support/office_roster.rs`).
//! The figure is the time `roster::import` takes with `dry_run` on a fresh
//! SQLite store (reading the workbook, planning every row, checking doors
//! against the store), fastest of 5 rounds; the raw baseline is calamine
//! reading the same workbook's sheets and nothing else. Goal: ≤ 2 s.
//!
//! Prints one `doorstep-bench: {json}` line on stdout for `cargo xtask bench`.

use std::time::Instant;

use doorstep_server::{
    now_ms,
    roster::{self, Import},
    store::{Compound, Device, Store},
};
use serde_json::json;

#[path = "../tests/support/office_roster.rs"]
mod office_roster;

const ROUNDS: usize = 5;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("roster.sqlite").display());
        let store = Store::open(&url).await.unwrap();
        let compound: doorstep_core::ids::CompoundId = "c1".parse().unwrap();
        store
            .create_compound(
                &Compound {
                    id: compound.clone(),
                    name: "幸福里小区".into(),
                },
                now_ms(),
            )
            .await
            .unwrap();
        let device = Device::operator(compound);
        let file = office_roster::compound_of_2300();
        let how = Import {
            dry_run: true,
            accept_care: false,
        };
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        for n in 1..=ROUNDS {
            let start = Instant::now();
            let report = roster::import(
                &store,
                &device,
                "台账.xlsx",
                &file,
                &Default::default(),
                how,
                now_ms(),
            )
            .await
            .unwrap();
            ours.push(start.elapsed().as_secs_f64());
            assert_eq!((report.rows.len(), report.errors.len()), (2300, 0));
            assert_eq!(report.sheets.len(), 9);

            let start = Instant::now();
            let (sheets, _) = roster::read_sheets("台账.xlsx", &file).unwrap();
            raw.push(start.elapsed().as_secs_f64());
            assert_eq!(sheets.len(), 9);
            eprintln!(
                "round {n}: dry run {:.3} s, reading alone {:.3} s",
                ours[n - 1],
                raw[n - 1]
            );
        }
        let fastest = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let line = json!({
            "bench": "roster",
            "unit": "s",
            "value": fastest(&ours),
            "baseline": fastest(&raw),
            "households": 2300,
            "buildings": 9,
            "workbook_bytes": file.len(),
            "statistic": format!("fastest of {ROUNDS} rounds"),
            "summary": format!(
                "dry run of 9 sheets, 2,300 households ({} KB workbook) in {:.2} s; reading the sheets alone {:.2} s",
                file.len() / 1024,
                fastest(&ours),
                fastest(&raw)
            ),
        });
        println!("doorstep-bench: {line}");
    });
}
