//! Write a generated scene (see `vesselscan::synth`) as raw little-endian u16, for the OpenCV
//! baseline (`benches/opencv_baseline.py`) or any other tool.
//!
//! ```text
//! cargo run --release --example gen_scene -- sea|random SIZE OUT.u16 [SEED]
//! ```
//!
//! Writes `OUT.u16` (SIZE x SIZE pixels, row-major, no header) and `OUT.u16.json`: the scene,
//! size, seed, threshold, target pixel count and vesselscan's detection count (CPU backend,
//! fixed threshold, 8-connectivity), which the baseline checks its component count against.

use std::path::PathBuf;
use std::time::Instant;
use vesselscan::detect::{detect, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::synth::{write_raw_u16, Scene};

/// Default seed, also used by `benches/pipeline.rs`.
const SEED: u64 = 1;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 || args.len() > 4 {
        anyhow::bail!("usage: gen_scene sea|random SIZE OUT.u16 [SEED]");
    }
    let scene = Scene::parse(&args[0])
        .ok_or_else(|| anyhow::anyhow!("unknown scene {:?} (sea or random)", args[0]))?;
    let size: u32 = args[1].parse()?;
    let out = PathBuf::from(&args[2]);
    let seed: u64 = match args.get(3) {
        Some(s) => s.parse()?,
        None => SEED,
    };

    let t = Instant::now();
    let raster = scene.generate(size, size, seed);
    let gen_ms = t.elapsed().as_secs_f64() * 1e3;
    write_raw_u16(&raster, &out)?;

    let threshold = scene.threshold();
    let targets = raster
        .keys
        .iter()
        .filter(|&&k| k as f64 >= threshold)
        .count();
    let opts = DetectOptions {
        threshold: ThresholdMode::Fixed(threshold),
        ..Default::default()
    };
    let t = Instant::now();
    let det = detect(&CpuEngine, &raster, &opts)?;
    let detect_ms = t.elapsed().as_secs_f64() * 1e3;

    let meta = serde_json::json!({
        "scene": scene.name(),
        "width": size,
        "height": size,
        "seed": seed,
        "dtype": "<u2",
        "threshold": threshold,
        "target_pixels": targets,
        "vesselscan_count": det.detections.len(),
    });
    let mut meta_path = out.clone().into_os_string();
    meta_path.push(".json");
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta)? + "\n")?;
    eprintln!(
        "{} {size}x{size} seed {seed}: generated in {gen_ms:.0} ms, {:.3}% targets at >= {threshold}, \
         {} detections (cpu detect {detect_ms:.0} ms) -> {} (+ .json)",
        scene.name(),
        100.0 * targets as f64 / raster.keys.len().max(1) as f64,
        det.detections.len(),
        out.display()
    );
    Ok(())
}
