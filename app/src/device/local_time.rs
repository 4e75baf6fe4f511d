//! The phone's local time zone, through JavaScript's Date (std's clock
//! panics in WASM).

use wasm_bindgen::JsValue;

/// `HH:MM` of a Unix time in milliseconds, in local time.
pub fn clock_time(ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// `MM-DD HH:MM` of a Unix time in milliseconds, in local time.
pub fn day_time(ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:02}-{:02} {:02}:{:02}",
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// `YYYYMMDD-HHMM` of a Unix time in milliseconds, in local time: for file names.
pub fn file_stamp(ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    format!(
        "{:04}{:02}{:02}-{:02}{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// Today's local midnight in Unix milliseconds, and the date as `YYYY-MM-DD`.
pub fn today() -> (u64, String) {
    let now = js_sys::Date::new_0();
    let midnight = js_sys::Date::new_with_year_month_day(
        now.get_full_year(),
        now.get_month() as i32,
        now.get_date() as i32,
    );
    let date = format!(
        "{:04}-{:02}-{:02}",
        now.get_full_year(),
        now.get_month() + 1,
        now.get_date()
    );
    (midnight.get_time() as u64, date)
}
