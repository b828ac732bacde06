//! Fuzz the raster readers (TIFF/BigTIFF/PNG/JPEG, chosen by magic bytes) and, when a file
//! reads, the CPU pipeline on it: any input must give a clean error or a result, never a
//! panic, a hang or an allocation the size checks should have refused. The TIFF reader's direct
//! chunk decoding must give what the `tiff` crate's decoding gives: the same keys, or the same
//! error.
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
            direct_decode: true,
        };
        let read = read_raster(&path, &opts);
        let by_crate = read_raster(
            &path,
            &ReadOptions {
                direct_decode: false,
                ..opts.clone()
            },
        );
        match (&read, &by_crate) {
            (Ok(a), Ok(b)) => assert!(a.keys == b.keys, "direct and crate keys differ"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!(
                "direct {:?} but crate {:?}",
                a.as_ref().map(|r| (r.width, r.height)),
                b.as_ref().map(|r| (r.width, r.height))
            ),
        }
        if let Ok(r) = read {
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
