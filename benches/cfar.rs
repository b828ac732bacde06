//! The CFAR stages (cfar_rows + cfar instead of mask, then label and measure) and the
//! confidence pass, as whole `detect()` calls on the generated sea scene.
//!
//! ```text
//! cargo bench --bench cfar
//! ```
//!
//! Ids: `cfar/<backend>/<guard>-<background>[-censored]/<side>` (CFAR detect, no threshold;
//! `-censored`: the two-pass censored CFAR, first pass k 3),
//! `threshold/<backend>/<side>` (the same scene with the fixed threshold, for the cost of CFAR
//! over it) and `confidence/cpu/<side>` (fixed threshold plus the scr/score pass). Throughput in
//! pixels. `VESSELSCAN_BENCH_GPU=0` skips the GPU (it is skipped, with a message, without an
//! adapter); `VESSELSCAN_BENCH_SIZES` sets the sides (default 4096).

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::hint::black_box;
use std::time::Duration;
use vesselscan::cfar::{CfarOptions, Extent};
use vesselscan::detect::{detect, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::engine::gpu::GpuEngine;
use vesselscan::engine::Engine;
use vesselscan::synth::Scene;

fn cfar(cr: &mut Criterion) {
    let sizes: Vec<u32> = std::env::var("VESSELSCAN_BENCH_SIZES")
        .ok()
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().parse().expect("size"))
                .collect()
        })
        .unwrap_or(vec![4096]);
    let gpu = if std::env::var("VESSELSCAN_BENCH_GPU").as_deref() == Ok("0") {
        None
    } else {
        match GpuEngine::new(None) {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!("GPU skipped: {e}");
                None
            }
        }
    };
    let mut engines: Vec<(&str, &dyn Engine)> = vec![("cpu", &CpuEngine)];
    if let Some(g) = &gpu {
        engines.push(("gpu", g));
    }
    let scene = Scene::parse("sea").unwrap();
    let mut g = cr.benchmark_group("cfar");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for &side in &sizes {
        let r = scene.generate(side, side, 1);
        g.throughput(Throughput::Elements(side as u64 * side as u64));
        let thr = DetectOptions {
            threshold: ThresholdMode::Fixed(scene.threshold()),
            ..Default::default()
        };
        for (name, e) in &engines {
            for (gd, bg, censor) in [
                (15.0, 41.0, None),
                (9.0, 81.0, None),
                (15.0, 41.0, Some(3.0)),
            ] {
                let o = DetectOptions {
                    threshold: ThresholdMode::None,
                    cfar: Some(CfarOptions {
                        k: 5.0,
                        guard: Extent::Px(gd),
                        background: Extent::Px(bg),
                        min_ring_fraction: 0.25,
                        censor_k: censor,
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let c = if censor.is_some() { "-censored" } else { "" };
                let id = format!("{name}/{gd}-{bg}{c}");
                g.bench_function(BenchmarkId::new(id, side), |b| {
                    b.iter(|| black_box(detect(*e, &r, &o).unwrap().detections.len()))
                });
            }
            g.bench_function(BenchmarkId::new(format!("threshold/{name}"), side), |b| {
                b.iter(|| black_box(detect(*e, &r, &thr).unwrap().detections.len()))
            });
        }
        let conf = DetectOptions {
            confidence: true,
            ..thr.clone()
        };
        g.bench_function(BenchmarkId::new("confidence/cpu", side), |b| {
            b.iter(|| black_box(detect(&CpuEngine, &r, &conf).unwrap().detections.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, cfar);
criterion_main!(benches);
