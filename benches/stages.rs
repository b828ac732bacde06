//! Each CPU twin on its own, on one 2048^2 tile of the generated scenes (the WebGPU-limit tile
//! the pipeline uses): mask, label (merge + compact, from the roots mask makes), measure, seam_export,
//! the CPU backend's fused run-based pass that does all four at once (`runs`, what `detect`
//! runs on the CPU), the histogram of the automatic thresholds, and the fused CFAR. The GPU's per-stage figures come from `vesselscan bench` (timestamp
//! queries), which runs the same stages on every adapter.
//!
//! ```text
//! cargo bench --bench stages
//! ```
//!
//! Ids: `stages/<stage>/<scene>` with scene `sea` (~1.4 % targets) or `random` (50 %). One
//! thread (a tile is the unit of parallelism). Throughput in pixels.

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use std::hint::black_box;
use std::time::Duration;
use vesselscan::cpu;
use vesselscan::engine::{pack, Plane};
use vesselscan::sample::threshold_key;
use vesselscan::synth::Scene;
use vesselscan::tiling::{
    batches, tile_grid, BatchLimits, Connectivity, Halo, Params, FLAG_CFAR, REC_WORDS,
};

const SIDE: u32 = 2048;

fn stages(c: &mut Criterion) {
    let mut g = c.benchmark_group("stages");
    g.sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(SIDE as u64 * SIDE as u64));
    for name in ["sea", "random"] {
        let scene = Scene::parse(name).unwrap();
        let r = scene.generate(SIDE, SIDE, 1);
        let p = Params {
            threshold_key: threshold_key(r.kind, scene.threshold()).unwrap(),
            kind: r.kind.code(),
            connectivity: 8,
            n_tiles: 1,
            ..Default::default()
        };
        let grid = tile_grid(SIDE, SIDE, SIDE);
        let b = &batches(&grid, Connectivity::Eight, &BatchLimits::default(), None)[0];
        let (samples, _) = pack(&Plane::of(&r), b);
        let t = &b.tiles;
        let mut mask = vec![0u32; b.blocks as usize];
        let mut parent = vec![0u32; b.nodes as usize];
        let mut remap = vec![0u32; b.nodes as usize];
        let mut records = vec![0u32; (b.max_components * REC_WORDS) as usize];
        let mut border = vec![0u32; b.border as usize];
        let mut counters = [0u32; 4];
        g.bench_function(format!("mask/{name}"), |x| {
            x.iter(|| {
                let s = black_box(&samples);
                cpu::mask::mask(&p, t, s, &mut mask, &mut parent, &[])
            })
        });
        g.bench_function(format!("label/{name}"), |x| {
            x.iter(|| {
                counters = [0; 4];
                // The roots are mask's work; made again here so each iteration starts afresh.
                cpu::init_roots(&p, t, &mask, &mut parent);
                cpu::label_merge::label_merge(&p, t, &mask, &mut parent);
                cpu::label_compact::label_compact(
                    &p,
                    t,
                    &mask,
                    &mut parent,
                    &mut remap,
                    &mut records,
                    &mut counters,
                );
                black_box(counters[0])
            })
        });
        g.bench_function(format!("measure/{name}"), |x| {
            x.iter(|| cpu::measure::measure(&p, t, &samples, &mask, &parent, &remap, &mut records))
        });
        g.bench_function(format!("seam_export/{name}"), |x| {
            x.iter(|| cpu::seam_export::seam_export(&p, t, &mask, &parent, &remap, &mut border))
        });
        // The histogram of an automatic threshold (u16: one bin per value, 65536 bins).
        let hp = vesselscan::threshold::fixed_binning(r.kind)
            .expect("u16 scene")
            .params(&p);
        let mut hist = vec![0u32; hp.hist_bins as usize];
        g.bench_function(format!("histogram/{name}"), |x| {
            x.iter(|| {
                hist.fill(0);
                cpu::histogram::histogram(&hp, t, black_box(&samples), &mut hist);
                black_box(hist[0])
            })
        });
        // mask + label + measure + seam_export in one pass over the rows (src/cpu/runs.rs).
        let mut scratch = cpu::runs::RunScratch::default();
        let targets = cpu::runs::Targets::Samples { water: &[] };
        let mut recs = Vec::new();
        g.bench_function(format!("runs/{name}"), |x| {
            x.iter(|| {
                recs.clear();
                cpu::runs::label_batch(
                    &p,
                    t,
                    black_box(&samples),
                    &targets,
                    &mut scratch,
                    &mut recs,
                    &mut border,
                );
                black_box(recs.len())
            })
        });
        // The fused CFAR (cfar_rows + cfar) of the CPU backend: k 5, guard 15, background 41.
        let rb = 20;
        let halo = Halo {
            r: rb,
            width: SIDE,
            rows: SIDE,
            top: 0,
        };
        let cb = &batches(
            &grid,
            Connectivity::Eight,
            &BatchLimits::default(),
            Some(&halo),
        )[0];
        let (cs, _) = pack(&Plane::of(&r), cb);
        let cp = Params {
            flags: FLAG_CFAR,
            cfar_rg: 7,
            cfar_rb: rb,
            cfar_k256: 5 * 256,
            cfar_min_n: 1,
            threshold_key: 0,
            ..p
        };
        let mut cmask = vec![0u32; cb.blocks as usize];
        g.bench_function(format!("cfar_fused/{name}"), |x| {
            x.iter(|| cpu::cfar::cfar_fused(&cp, &cb.tiles, &cs, &mut cmask, &cb.cfar, &[], &[]))
        });
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
