//! The tiled GeoTIFF writer: round trips through our reader (`read_raster`) and, independently,
//! through GDAL (`gdalinfo`, `gdal_translate`) when it is installed.
//!
//! GDAL tests print `skipped` without `gdalinfo`, unless `VESSELSCAN_REQUIRE_GDAL` is set
//! (CI sets it), in which case they fail.

mod common;

use common::have_gdal;
use std::path::Path;
use std::process::Command;
use vesselscan::read::{read_raster, ReadOptions};
use vesselscan::sample::{key_to_value, SampleKind};
use vesselscan::write::geotiff::{
    write_geotiff, write_geotiff_image, BigTiff, Compression, Crs, GeoTiffOptions, Georef,
    TiffSample,
};

/// A deterministic test image: a gradient plus hashed noise (compressible but not trivially).
fn image_u16(w: u32, h: u32, salt: u64) -> Vec<u16> {
    (0..w as u64 * h as u64)
        .map(|i| {
            let (x, y) = (i % w as u64, i / w as u64);
            let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
            z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            ((x * 7 + y * 3) as u16).wrapping_add((z >> 52) as u16)
        })
        .collect()
}

fn read_back_u16(path: &Path) -> (u32, u32, Vec<u16>) {
    let r = read_raster(path, &ReadOptions::default()).unwrap();
    assert_eq!(r.kind, SampleKind::U16);
    (
        r.width,
        r.height,
        r.keys.iter().map(|&k| k as u16).collect(),
    )
}

fn wgs84(lon0: f64, lat0: f64, px: f64) -> Georef {
    Georef {
        crs: Crs::WGS84,
        origin_x: lon0,
        origin_y: lat0,
        pixel_x: px,
        pixel_y: px,
    }
}

#[test]
fn round_trip_sizes_tiles_compressions() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(u32, u32, u32)] = &[
        (1, 1, 16),
        (1, 1, 512),
        (1000, 700, 512), // tile does not divide the scene
        (513, 511, 512),
        (17, 33, 16),
        (777, 3, 64),
        (3, 777, 32),
        (1024, 1024, 256),
    ];
    for &(w, h, t) in cases {
        for compression in [Compression::None, Compression::Deflate { level: 6 }] {
            for bigtiff in [BigTiff::Auto, BigTiff::Always] {
                let px = image_u16(w, h, (w * 31 + h) as u64);
                let p = dir
                    .path()
                    .join(format!("{w}x{h}_{t}_{compression:?}_{bigtiff:?}.tif"));
                let opts = GeoTiffOptions {
                    tile: t,
                    compression,
                    bigtiff,
                    georef: Some(wgs84(3.0, 52.0, 1e-4)),
                    nodata: None,
                    description: None,
                };
                let s = write_geotiff_image(&p, w, h, &px, &opts).unwrap();
                assert_eq!(s.bigtiff, bigtiff == BigTiff::Always);
                assert_eq!(s.bytes, std::fs::metadata(&p).unwrap().len());
                let (rw, rh, back) = read_back_u16(&p);
                assert_eq!((rw, rh), (w, h), "{p:?}");
                assert!(back == px, "{p:?}: samples differ");
            }
        }
    }
    // Nothing but the outputs in the folder: no temporary files left.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(name.ends_with(".tif") && !name.starts_with('.'), "{name}");
    }
}

#[test]
fn nodata_and_other_sample_types() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (50, 37);
    let opts = GeoTiffOptions {
        tile: 16,
        nodata: Some(7.0),
        ..Default::default()
    };
    fn check<S: TiffSample + Into<f64>>(
        dir: &Path,
        name: &str,
        w: u32,
        h: u32,
        px: &[S],
        kind: SampleKind,
        opts: &GeoTiffOptions,
    ) {
        let p = dir.join(name);
        write_geotiff_image(&p, w, h, px, opts).unwrap();
        let r = read_raster(&p, &ReadOptions::default()).unwrap();
        assert_eq!((r.width, r.height, r.kind), (w, h, kind), "{name}");
        assert_eq!(r.nodata, opts.nodata, "{name}");
        let back: Vec<f64> = r.keys.iter().map(|&k| key_to_value(kind, k)).collect();
        let want: Vec<f64> = px.iter().map(|&v| v.into()).collect();
        assert!(back == want, "{name}: samples differ");
    }
    let n = (w * h) as usize;
    let u8s: Vec<u8> = (0..n).map(|i| (i * 37 % 251) as u8).collect();
    let i16s: Vec<i16> = (0..n).map(|i| (i as i16).wrapping_mul(977)).collect();
    let f32s: Vec<f32> = (0..n).map(|i| (i as f32 - 400.0) * 0.37).collect();
    let u16s = image_u16(w, h, 5);
    check(dir.path(), "u8.tif", w, h, &u8s, SampleKind::U8, &opts);
    check(dir.path(), "i16.tif", w, h, &i16s, SampleKind::I16, &opts);
    check(dir.path(), "f32.tif", w, h, &f32s, SampleKind::F32, &opts);
    check(dir.path(), "u16.tif", w, h, &u16s, SampleKind::U16, &opts);
}

#[test]
fn source_errors_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.tif");
    // A source that fails on the second tile row.
    let r = write_geotiff::<u16, _>(
        &p,
        40,
        40,
        &GeoTiffOptions {
            tile: 16,
            ..Default::default()
        },
        |y0, rows| {
            if y0 > 0 {
                Err(vesselscan::Error::Invalid("source failed".into()))
            } else {
                Ok(vec![1; rows as usize * 40])
            }
        },
    );
    assert!(r.is_err());
    // A source that gives the wrong number of samples.
    let r = write_geotiff::<u16, _>(&p, 40, 40, &GeoTiffOptions::default(), |_, _| {
        Ok(vec![1; 3])
    });
    assert!(r.unwrap_err().to_string().contains("samples"));
    // A missing folder: one line naming the file.
    let bad = dir.path().join("missing/x.tif");
    let e = write_geotiff_image::<u16>(&bad, 1, 1, &[0], &GeoTiffOptions::default()).unwrap_err();
    assert!(e.to_string().contains("missing/x.tif"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn deterministic_bytes_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (700, 300);
    let px = image_u16(w, h, 9);
    let opts = GeoTiffOptions {
        tile: 128,
        georef: Some(wgs84(3.0, 52.0, 1e-4)),
        ..Default::default()
    };
    let mut files = Vec::new();
    for threads in [1, 2, 5] {
        let p = dir.path().join(format!("t{threads}.tif"));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| write_geotiff_image(&p, w, h, &px, &opts))
            .unwrap();
        files.push(std::fs::read(&p).unwrap());
    }
    assert!(files.windows(2).all(|f| f[0] == f[1]));
}

// ---- GDAL ----

fn gdalinfo(path: &Path, json: bool) -> String {
    let mut c = Command::new("gdalinfo");
    if json {
        c.arg("-json");
    }
    let o = c.arg(path).output().unwrap();
    assert!(
        o.status.success(),
        "gdalinfo {path:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The samples as GDAL decodes them (gdal_translate to raw ENVI, little-endian on x86/ARM).
fn gdal_pixels_u16(path: &Path) -> Vec<u16> {
    let raw = path.with_extension("raw");
    let o = Command::new("gdal_translate")
        .args(["-q", "-of", "ENVI"])
        .arg(path)
        .arg(&raw)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "gdal_translate: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let hdr = std::fs::read_to_string(raw.with_extension("hdr")).unwrap();
    assert!(hdr.contains("byte order = 0"), "{hdr}");
    std::fs::read(&raw)
        .unwrap()
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn gdal_reads_geographic() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (1000, 700);
    let px = image_u16(w, h, 1);
    let g = wgs84(2.7, 52.2, 1e-4);
    for (name, compression, bigtiff) in [
        (
            "deflate.tif",
            Compression::Deflate { level: 6 },
            BigTiff::Auto,
        ),
        ("none.tif", Compression::None, BigTiff::Auto),
        (
            "big.tif",
            Compression::Deflate { level: 1 },
            BigTiff::Always,
        ),
    ] {
        let p = dir.path().join(name);
        let opts = GeoTiffOptions {
            tile: 512,
            compression,
            bigtiff,
            georef: Some(g),
            nodata: Some(0.0),
            description: None,
        };
        write_geotiff_image(&p, w, h, &px, &opts).unwrap();
        let text = gdalinfo(&p, false);
        assert!(text.contains("Size is 1000, 700"), "{text}");
        assert!(text.contains("Block=512x512 Type=UInt16"), "{text}");
        assert!(text.contains("ID[\"EPSG\",4326]"), "{text}");
        assert!(text.contains("NoData Value=0"), "{text}");
        if compression == Compression::None {
            assert!(!text.contains("COMPRESSION="), "{text}");
        } else {
            assert!(text.contains("COMPRESSION=DEFLATE"), "{text}");
            assert!(text.contains("PREDICTOR=2"), "{text}");
        }
        let j: serde_json::Value = serde_json::from_str(&gdalinfo(&p, true)).unwrap();
        let gt: Vec<f64> = j["geoTransform"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(gt, g.geo_transform().to_vec());
        let corner = |k: &str| {
            let c = j["cornerCoordinates"][k].as_array().unwrap();
            (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
        };
        let (ulx, uly) = corner("upperLeft");
        let (lrx, lry) = corner("lowerRight");
        assert!(
            close(ulx, 2.7, 1e-9) && close(uly, 52.2, 1e-9),
            "{ulx} {uly}"
        );
        assert!(
            close(lrx, 2.8, 1e-9) && close(lry, 52.13, 1e-9),
            "{lrx} {lry}"
        );
        let (cx, cy) = corner("center");
        assert!(
            close(cx, 2.75, 1e-9) && close(cy, 52.165, 1e-9),
            "{cx} {cy}"
        );
        assert_eq!(j["metadata"][""]["AREA_OR_POINT"], "Area");
        assert!(
            gdal_pixels_u16(&p) == px,
            "{name}: GDAL decodes other samples"
        );
    }
}

#[test]
fn gdal_reads_utm() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (300, 200);
    let px = image_u16(w, h, 2);
    let p = dir.path().join("utm.tif");
    let g = Georef {
        crs: Crs::utm(31, true).unwrap(),
        origin_x: 500_000.0,
        origin_y: 5_761_000.0,
        pixel_x: 10.0,
        pixel_y: 10.0,
    };
    let opts = GeoTiffOptions {
        tile: 256,
        georef: Some(g),
        ..Default::default()
    };
    write_geotiff_image(&p, w, h, &px, &opts).unwrap();
    let text = gdalinfo(&p, false);
    assert!(text.contains("WGS 84 / UTM zone 31N"), "{text}");
    assert!(text.contains("ID[\"EPSG\",32631]"), "{text}");
    assert!(text.contains("Block=256x256"), "{text}");
    assert!(
        text.contains("Pixel Size = (10.000000000000000,-10.000000000000000)"),
        "{text}"
    );
    assert!(
        text.contains("Upper Left  (  500000.000, 5761000.000)"),
        "{text}"
    );
    assert!(
        text.contains("Lower Right (  503000.000, 5759000.000)"),
        "{text}"
    );
    assert!(gdal_pixels_u16(&p) == px);
}

/// A file over 4 GiB: BigTIFF chosen automatically, 64-bit tile offsets past 4 GiB, read back
/// at both ends by our windowed reader (and by GDAL when present). Writes 4.4 GB to the
/// system temp folder: run it with `cargo test --release --test geotiff -- --ignored`.
#[test]
#[ignore = "writes a 4.4 GB file"]
fn bigtiff_over_4_gib() {
    use vesselscan::read::tiff::TiffBand;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.tif");
    let (w, h) = (47_000u32, 47_000u32);
    // A cheap pure function of (x, y).
    let px = |x: u32, y: u32| (x.wrapping_mul(31) ^ y.wrapping_mul(17)) as u16;
    let opts = GeoTiffOptions {
        compression: Compression::None,
        georef: Some(wgs84(3.0, 52.0, 1e-4)),
        ..Default::default()
    };
    let s = write_geotiff(&p, w, h, &opts, |y0, rows| {
        Ok((y0..y0 + rows)
            .flat_map(|y| (0..w).map(move |x| px(x, y)))
            .collect())
    })
    .unwrap();
    assert!(s.bigtiff);
    assert!(s.bytes > 1 << 32, "{}", s.bytes);
    let mut band = TiffBand::open(&p, &ReadOptions::default()).unwrap();
    for (y0, y1) in [(0, 3), (h - 600, h)] {
        let keys = band.read_rows(y0, y1).unwrap();
        let want: Vec<u32> = (y0..y1)
            .flat_map(|y| (0..w).map(move |x| px(x, y) as u32))
            .collect();
        assert!(keys == want, "rows {y0}..{y1} differ");
    }
    if have_gdal() {
        let j: serde_json::Value = serde_json::from_str(&gdalinfo(&p, true)).unwrap();
        assert_eq!(j["size"], serde_json::json!([w, h]));
        // The last pixel, through GDAL.
        let o = Command::new("gdallocationinfo")
            .args(["-valonly"])
            .arg(&p)
            .arg((w - 1).to_string())
            .arg((h - 1).to_string())
            .output()
            .unwrap();
        let v: u16 = String::from_utf8(o.stdout).unwrap().trim().parse().unwrap();
        assert_eq!(v, px(w - 1, h - 1));
    }
}
