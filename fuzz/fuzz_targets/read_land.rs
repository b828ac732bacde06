//! Fuzz the GeoJSON land reader (`--land`, src/water/geojson.rs): any input must give a clean
//! error or a mask of the scene's size, never a panic, a hang or an allocation beyond the
//! mask and the file. Each input is rasterized on a small scene in EPSG:4326, in a UTM zone
//! (coordinates projected by proj4rs), and across the antimeridian (no clipping window).
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run read_land fuzz/corpus/read_land -s none`
//! (see .ci/run for the bounded smoke run).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vesselscan::geo::{Crs, Georef, Mapping};
use vesselscan::water::WaterMask;

fn georef(gt: [f64; 6], epsg: u16) -> Georef {
    Georef {
        mapping: Mapping::Affine {
            gt,
            crs: Box::new(Crs::from_epsg(epsg).expect("known CRS")),
        },
        source: "fuzz".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    // The reader takes a path (as users give it), so the input goes through a file.
    let path = std::env::temp_dir().join(format!("vesselscan-fuzz-land-{}", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    let (w, h) = (64u32, 48u32);
    let scenes = [
        // 10.000..10.064 E, 49.952..50.000 N.
        georef([10.0, 0.001, 0.0, 50.0, 0.0, -0.001], 4326),
        // UTM 31N, 10 m pixels near 3 E, 50 N.
        georef([500_000.0, 10.0, 0.0, 5_540_000.0, 0.0, -10.0], 32631),
        // Across the antimeridian (179.968 E to 180.032 E).
        georef([179.968, 0.001, 0.0, -16.0, 0.0, -0.001], 4326),
    ];
    for g in &scenes {
        if let Ok(m) = WaterMask::from_land_geojson(&path, w, h, g) {
            assert_eq!((m.width(), m.height()), (w, h));
            assert!(m.count_water() <= u64::from(w) * u64::from(h));
        }
    }
});
