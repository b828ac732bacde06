//! Reading a TIFF band into order keys: a 4096^2 u16 GeoTIFF of the generated sea scene, tiled
//! 512 px, Deflate with horizontal differencing (what `vesselscan synth` and GDAL's
//! `COMPRESS=DEFLATE PREDICTOR=2` write) and uncompressed, each decoded by the direct path
//! (libdeflate, predictor fused into the keys) and through the `tiff` crate. The file sits in
//! the page cache after the first iteration, so this is decoding, not the disk.
//!
//! ```text
//! cargo bench --bench read
//! ```
//!
//! Ids: `read/<compression>/<decoder>/<threads>t`, throughput in pixels; `<threads>` is 1 and
//! the machine's parallelism (the reader decodes runs of chunk rows on rayon threads).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use vesselscan::read::{read_raster, ReadOptions};
use vesselscan::synth::Scene;
use vesselscan::write::geotiff::{write_geotiff_image, Compression, GeoTiffOptions};

const SIDE: u32 = 4096;

fn read(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let scene = Scene::parse("sea").unwrap().generate(SIDE, SIDE, 1);
    // u16 scene keys are the samples.
    let samples: Vec<u16> = scene.keys.iter().map(|&k| k as u16).collect();
    let mut g = c.benchmark_group("read");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(u64::from(SIDE) * u64::from(SIDE)));
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads = vec![1, ncpu];
    threads.dedup();
    for (name, compression) in [
        ("deflate", Compression::default()),
        ("none", Compression::None),
    ] {
        let path = dir.path().join(format!("{name}.tif"));
        let opts = GeoTiffOptions {
            compression,
            ..Default::default()
        };
        write_geotiff_image(&path, SIDE, SIDE, &samples, &opts).unwrap();
        for (decoder, direct_decode) in [("direct", true), ("crate", false)] {
            let ro = ReadOptions {
                direct_decode,
                ..Default::default()
            };
            assert_eq!(read_raster(&path, &ro).unwrap().keys, scene.keys);
            for &t in &threads {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                let id = BenchmarkId::new(format!("{name}/{decoder}"), format!("{t}t"));
                g.bench_function(id, |b| {
                    b.iter(|| pool.install(|| black_box(read_raster(&path, &ro).unwrap())))
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
