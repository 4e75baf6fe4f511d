//! Household rosters shaped the way community offices keep them, generated
//! with rust_xlsxwriter: one sheet per building named "3号楼" (no building
//! column), a merged title row and a date row above the header, a blank
//! row, 序号, unit cells merged down each unit, synonyms (户主姓名, 联系方式,
//! 家庭人口), numbers as text, as numbers and full-width, an ID-number column,
//! care marks, and trailing 合计 and 填表人 rows. Used by the roster tests,
//! the `roster` benchmark and the end-to-end upload test (by path).

#![allow(dead_code)]

use rust_xlsxwriter::{Format, Workbook};

pub const HEADERS: [&str; 9] = [
    "序号",
    "单元",
    "门牌号",
    "户主姓名",
    "联系方式",
    "家庭人口",
    "身份证号",
    "是否独居老人",
    "备注",
];

/// The rows above the header (title, date, blank): rows 1–3, header on 4.
pub const HEADER_ROW: u32 = 4;

/// Household `i` of a building with `n`: its unit and door.
pub fn door_of(i: usize, n: usize) -> (usize, usize) {
    let half = n.div_ceil(2);
    let j = i % half;
    (1 + i / half, (1 + j / 4) * 100 + j % 4 + 1)
}

/// Whether household `i` is marked 独居老人 (care column).
pub fn alone(i: usize) -> bool {
    i.is_multiple_of(10)
}

/// Whether household `i`'s 备注 says 孕妇.
pub fn pregnant(i: usize) -> bool {
    i % 15 == 7
}

fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            c => c,
        })
        .collect()
}

/// A workbook with a sheet per `(building, households)`.
pub fn workbook(buildings: &[(&str, usize)]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let plain = Format::new();
    for &(building, n) in buildings {
        let sheet = workbook.add_worksheet();
        sheet.set_name(format!("{building}号楼")).unwrap();
        sheet
            .merge_range(
                0,
                0,
                0,
                8,
                &format!("幸福里小区{building}号楼住户台账（2022年4月）"),
                &plain,
            )
            .unwrap();
        sheet.write_string(1, 0, "填表日期：2022年4月1日").unwrap();
        for (c, header) in HEADERS.iter().enumerate() {
            sheet
                .write_string(HEADER_ROW - 1, c as u16, *header)
                .unwrap();
        }
        let first = HEADER_ROW;
        let half = n.div_ceil(2);
        for unit_start in (0..n).step_by(half) {
            let (unit, _) = door_of(unit_start, n);
            let last = (unit_start + half).min(n) - 1;
            let (top, bottom) = (first + unit_start as u32, first + last as u32);
            if top == bottom {
                sheet.write_string(top, 1, format!("{unit}单元")).unwrap();
            } else {
                sheet
                    .merge_range(top, 1, bottom, 1, &format!("{unit}单元"), &plain)
                    .unwrap();
            }
        }
        for i in 0..n {
            let r = first + i as u32;
            let (_, door) = door_of(i, n);
            sheet.write_number(r, 0, (i + 1) as f64).unwrap();
            match i % 3 {
                0 => sheet.write_string(r, 2, format!("{door}室")),
                1 => sheet.write_number(r, 2, door as f64),
                _ => sheet.write_string(r, 2, full_width(&door.to_string())),
            }
            .unwrap();
            sheet
                .write_string(r, 3, format!("户主{building}-{i}"))
                .unwrap();
            let phone = 13_800_000_000u64 + i as u64;
            if i.is_multiple_of(2) {
                let p = phone.to_string();
                sheet
                    .write_string(r, 4, format!("{} {} {}", &p[..3], &p[3..7], &p[7..]))
                    .unwrap();
            } else {
                sheet.write_number(r, 4, phone as f64).unwrap();
            }
            match i % 3 {
                0 => sheet.write_number(r, 5, 3.0),
                1 => sheet.write_string(r, 5, "2"),
                _ => sheet.write_string(r, 5, "４人"),
            }
            .unwrap();
            sheet
                .write_string(r, 6, format!("11010119400101{:04}", i % 10_000))
                .unwrap();
            if alone(i) {
                sheet.write_string(r, 7, "是").unwrap();
            } else {
                sheet.write_string(r, 7, "否").unwrap();
            }
            if pregnant(i) {
                sheet.write_string(r, 8, "家有孕妇").unwrap();
            }
        }
        let end = first + n as u32;
        sheet.write_string(end, 0, "合计").unwrap();
        sheet.write_number(end, 5, (3 * n) as f64).unwrap();
        sheet
            .write_string(end + 1, 0, "填表人：张三  审核人：李四")
            .unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

/// The benchmark's compound: 9 buildings, 2,300 households.
pub fn compound_of_2300() -> Vec<u8> {
    let mut buildings: Vec<(String, usize)> = (1..=9).map(|b| (b.to_string(), 256)).collect();
    buildings[8].1 = 2300 - 8 * 256;
    let borrowed: Vec<(&str, usize)> = buildings.iter().map(|(b, n)| (b.as_str(), *n)).collect();
    workbook(&borrowed)
}
