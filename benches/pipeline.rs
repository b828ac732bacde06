//! End-to-end pipeline benchmark: `detect()` (mask + label + measure per tile, seam merge,
//! detections) with a fixed threshold on generated scenes (`vesselscan::synth`), per backend.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo bench --bench pipeline
//! ```
//!
//! Benchmark ids: `cpu/<scene>/<size>/<threads>t` and `gpu/<scene>/<size>`, with scene `sea`
//! (about 1.4% targets, ~1 vessel per 64x64 px) or `random` (50% random mask) and size the side
//! of the square scene. The CPU backend runs in a dedicated rayon pool of each thread count, so
//! one run gives the equal-threads comparison with the OpenCV baseline
//! (`benches/opencv_baseline.py`). The scene is generated outside the timing; each iteration is
//! one whole `detect()`. Throughput is in pixels (criterion prints Mpx/s as Melem/s).
//!
//! Environment knobs (all optional):
//! * `VESSELSCAN_BENCH_SIZES`: comma-separated sides, default `4096,8192`.
//! * `VESSELSCAN_BENCH_SCENES`: default `sea,random`.
//! * `VESSELSCAN_BENCH_THREADS`: CPU thread counts, default `1,<available parallelism>`.
//! * `VESSELSCAN_BENCH_GPU`: `0` skips the GPU group (it is also skipped, with a message, when
//!   no adapter is found). `WGPU_ADAPTER_NAME` picks the adapter.
//! * `VESSELSCAN_BENCH_SAMPLES`: criterion sample size, default 10 (criterion's minimum).
//!
//! Criterion's usual filters work too: `cargo bench --bench pipeline -- cpu/sea`.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::hint::black_box;
use std::time::Duration;
use vesselscan::detect::{detect, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::engine::gpu::GpuEngine;
use vesselscan::engine::Engine;
use vesselscan::read::Raster;
use vesselscan::synth::Scene;

/// Same seed as `examples/gen_scene.rs`, so the OpenCV baseline sees the same scenes.
const SEED: u64 = 1;

fn env_list<T: std::str::FromStr>(name: &str, default: Vec<T>) -> Vec<T> {
    match std::env::var(name) {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: cannot parse {x:?}"))
            })
            .collect(),
        _ => default,
    }
}

struct Case {
    scene: Scene,
    size: u32,
    raster: Raster,
    opts: DetectOptions,
}

fn cases() -> Vec<Case> {
    let sizes: Vec<u32> = env_list("VESSELSCAN_BENCH_SIZES", vec![4096, 8192]);
    let scenes: Vec<String> = env_list(
        "VESSELSCAN_BENCH_SCENES",
        vec!["sea".to_string(), "random".to_string()],
    );
    let mut out = Vec::new();
    for name in &scenes {
        let scene = Scene::parse(name).unwrap_or_else(|| panic!("unknown scene {name:?}"));
        for &size in &sizes {
            out.push(Case {
                scene,
                size,
                raster: scene.generate(size, size, SEED),
                opts: DetectOptions {
                    threshold: ThresholdMode::Fixed(scene.threshold()),
                    ..Default::default()
                },
            });
        }
    }
    out
}

fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let samples = env_list("VESSELSCAN_BENCH_SAMPLES", vec![10usize])[0];
    g.sample_size(samples.max(10))
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
}

fn count(engine: &dyn Engine, c: &Case) -> usize {
    detect(engine, &c.raster, &c.opts)
        .expect("detect")
        .detections
        .len()
}

fn pipeline(cr: &mut Criterion) {
    let cases = cases();
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads: Vec<usize> = env_list("VESSELSCAN_BENCH_THREADS", vec![1, ncpu]);
    threads.dedup();

    // CPU, one rayon pool per thread count.
    let mut cpu_counts = Vec::new();
    {
        let mut g = cr.benchmark_group("cpu");
        configure(&mut g);
        for c in &cases {
            let n = count(&CpuEngine, c);
            eprintln!(
                "cpu: {} {}x{}: {n} detections",
                c.scene.name(),
                c.size,
                c.size
            );
            cpu_counts.push(n);
            g.throughput(Throughput::Elements(c.size as u64 * c.size as u64));
            for &t in &threads {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .expect("rayon pool");
                g.bench_with_input(
                    BenchmarkId::new(c.scene.name(), format!("{}/{t}t", c.size)),
                    c,
                    |b, c| {
                        pool.install(|| {
                            b.iter(|| black_box(detect(&CpuEngine, &c.raster, &c.opts).unwrap()))
                        })
                    },
                );
            }
        }
        g.finish();
    }

    // GPU (whatever adapter wgpu ranks first: on a machine without a GPU, lavapipe).
    if std::env::var("VESSELSCAN_BENCH_GPU").as_deref() == Ok("0") {
        eprintln!("gpu: skipped (VESSELSCAN_BENCH_GPU=0)");
        return;
    }
    let gpu = match GpuEngine::new(None) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("gpu: skipped, no adapter: {e}");
            return;
        }
    };
    eprintln!("gpu: adapter {}", gpu.adapter().unwrap_or_default());
    let mut g = cr.benchmark_group("gpu");
    configure(&mut g);
    for (c, &n_cpu) in cases.iter().zip(&cpu_counts) {
        let n = count(&gpu, c);
        eprintln!(
            "gpu: {} {}x{}: {n} detections (cpu {n_cpu})",
            c.scene.name(),
            c.size,
            c.size
        );
        assert_eq!(n, n_cpu, "GPU and CPU detection counts differ");
        g.throughput(Throughput::Elements(c.size as u64 * c.size as u64));
        g.bench_with_input(BenchmarkId::new(c.scene.name(), c.size), c, |b, c| {
            b.iter(|| black_box(detect(&gpu, &c.raster, &c.opts).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
