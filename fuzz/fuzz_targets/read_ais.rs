//! Fuzz the AIS reader (CSV, plain or gzip by magic bytes; columns by header name or by
//! `--ais-columns`; times in any accepted form): any input must give a clean error or
//! reports that hold what the reader promises, never a panic, a hang or an allocation that
//! follows what the file claims (a row is at most `MAX_ROW_BYTES`).
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run read_ais fuzz/corpus/read_ais -s none`
//! (see .ci/run for the bounded smoke run).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vesselscan::ais::reports::{
    format_utc, parse_utc, AisFile, Area, BadRows, ColumnNames, Window,
};

fuzz_target!(|data: &[u8]| {
    // A first line that is a column map (`mmsi=id,time=when,...`) maps the rest; it doubles
    // as a time for the time parser.
    let first_len = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let first = std::str::from_utf8(&data[..first_len]).unwrap_or_default();
    if let Some(t) = parse_utc(first) {
        assert!(t.is_finite());
        if t.abs() < 2.5e11 {
            let again = parse_utc(&format_utc(t)).expect("format_utc reads back");
            assert!((again - t).abs() <= 5e-4, "{first:?}: {t} -> {again}");
        }
    }
    let (map, body) = match ColumnNames::parse(first) {
        Ok(map) => (map, data.get(first_len + 1..).unwrap_or_default()),
        Err(_) => (ColumnNames::default(), data),
    };
    // The reader takes a path (as users give it), so the input goes through a file.
    let path = std::env::temp_dir().join(format!("vesselscan-fuzz-ais-{}", std::process::id()));
    std::fs::write(&path, body).expect("temp file");
    for k in 0..2 {
        for bad in [BadRows::Skip, BadRows::Error] {
            let Ok(file) = AisFile::open(&path, bad, &map) else {
                continue;
            };
            let area = Area::around(&[(10.0, 50.0), (10.5, 50.3)], 20_000.0 * k as f64);
            for window in [
                Window::default(),
                Window {
                    time: Some((1_707_444_780.0, 1800.0)),
                    area,
                },
            ] {
                let Ok(r) = file.read(&window) else {
                    continue;
                };
                assert!(r.skipped <= r.rows);
                assert!(r.reports.len() + r.skipped <= r.rows);
                assert!(r.in_time <= r.vessels);
                assert!(bad == BadRows::Skip || r.skipped == 0);
                for rep in &r.reports {
                    assert!(rep.lat.abs() <= 90.0 && rep.lon.abs() <= 180.0);
                    assert!(rep.t.is_finite() && rep.line >= 1);
                    if let Some(a) = &window.area {
                        assert!(a.contains(rep.lon, rep.lat));
                    }
                    assert!(r.info.contains_key(&rep.mmsi));
                }
            }
        }
    }
});
