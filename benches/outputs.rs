//! The output stages: the quicklook overview of a scene (every pixel, streamed in windows),
//! georeferencing detections (lon/lat, ground Jacobian, oriented box through proj4rs) and
//! rendering GeoJSON.
//!
//! ```text
//! cargo bench --bench outputs
//! ```
//!
//! Ids: `overview/<side>` (throughput in pixels), `locate/<crs>/<n>` and `geojson/<n>`
//! (throughput in detections).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use vesselscan::detect::{detect, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::geo::{Crs, Georef, Mapping};
use vesselscan::synth::Scene;
use vesselscan::write::quicklook::Overview;
use vesselscan::write::{geojson::to_geojson, Geometry};

fn outputs(cr: &mut Criterion) {
    let side = 8192u32;
    let sea = Scene::parse("sea").unwrap().generate(side, side, 1);
    let mut g = cr.benchmark_group("overview");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(side as u64 * side as u64));
    g.bench_function(BenchmarkId::from_parameter(side), |b| {
        b.iter(|| {
            let mut ov = Overview::new(side, side, 1024);
            for (i, rows) in sea.keys.chunks(side as usize * 1024).enumerate() {
                ov.add_rows(sea.kind, rows, i as u32 * 1024, 1024, None);
            }
            black_box(ov.finish())
        })
    });
    g.finish();

    // Detections of the sea scene (about 16k), georeferenced two ways.
    let dets = detect(
        &CpuEngine,
        &sea,
        &DetectOptions {
            threshold: ThresholdMode::Fixed(Scene::parse("sea").unwrap().threshold()),
            ..Default::default()
        },
    )
    .unwrap()
    .detections;
    let n = dets.len();
    let georefs = [
        (
            "epsg3857",
            Crs::from_epsg(3857).unwrap(),
            [-848_632.0, 10.0, 0.0, 3_978_375.0, 0.0, -10.0],
        ),
        (
            "epsg32631",
            Crs::from_epsg(32631).unwrap(),
            [500_000.0, 10.0, 0.0, 5_800_000.0, 0.0, -10.0],
        ),
    ];
    let mut g = cr.benchmark_group("locate");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(n as u64));
    let mut located = Vec::new();
    for (name, crs, gt) in georefs {
        let geo = Arc::new(Georef {
            mapping: Mapping::Affine {
                gt,
                crs: Box::new(crs),
            },
            source: String::new(),
        });
        g.bench_function(BenchmarkId::new(name, n), |b| {
            b.iter(|| {
                let mut d = dets.clone();
                d.iter_mut().for_each(|d| geo.locate(d));
                black_box(d)
            })
        });
        located = dets.clone();
        located.iter_mut().for_each(|d| geo.locate(d));
    }
    g.finish();
    let mut g = cr.benchmark_group("geojson");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter(|| black_box(to_geojson(&located, Geometry::Box, None)))
    });
    g.finish();
}

criterion_group!(benches, outputs);
criterion_main!(benches);
