//! Fuzz the raster readers (TIFF/BigTIFF/PNG/JPEG, chosen by magic bytes) and, when a file
//! reads, the CPU pipeline on it: any input must give a clean error or a result, never a
//! panic, a hang or an allocation the size checks should have refused.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run read_raster fuzz/corpus/read_raster -s none`
//! (see .ci/run for the bounded smoke run).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vesselscan::detect::{detect, DetectOptions};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::read::{read_raster, ReadOptions};

fuzz_target!(|data: &[u8]| {
    // The readers take a path (as users give them), so the input goes through a file.
    let path = std::env::temp_dir().join(format!("vesselscan-fuzz-{}", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    for band in [None, Some(2)] {
        let opts = ReadOptions {
            band,
            // Small enough that a fuzzed header cannot make the run slow.
            max_pixels: 1 << 20,
        };
        if let Ok(r) = read_raster(&path, &opts) {
            assert_eq!(r.keys.len(), r.width as usize * r.height as usize);
            let o = DetectOptions {
                tile_size: 61,
                ..Default::default()
            };
            let d = detect(&CpuEngine, &r, &o).expect("detect on a readable raster");
            let area: u64 = d.detections.iter().map(|d| d.area).sum();
            assert!(area <= r.keys.len() as u64);
        }
    }
});
