//! Helpers shared by the integration tests: one GPU context per test binary, rasters from
//! literal arrays, an independent oracle for labels and statistics.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};
use vesselscan::detect::{detect, DetectOptions, ThresholdMode};
use vesselscan::detections::Detection;
use vesselscan::engine::{
    cpu::{CpuEngine, CpuTwinEngine},
    gpu::GpuEngine,
};
use vesselscan::read::Raster;
use vesselscan::sample::SampleKind;
use vesselscan::tiling::Connectivity;

/// The test GPU, or `None` (tests then say they were skipped). With
/// `VESSELSCAN_REQUIRE_GPU=1` a missing adapter is a failure.
pub fn gpu() -> Option<&'static Mutex<GpuEngine>> {
    static GPU: OnceLock<Option<Mutex<GpuEngine>>> = OnceLock::new();
    GPU.get_or_init(|| match GpuEngine::new(None) {
        Ok(g) => {
            eprintln!("GPU tests run on {}", g.ctx.adapter.name);
            Some(Mutex::new(g))
        }
        Err(e) => {
            if std::env::var("VESSELSCAN_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("VESSELSCAN_REQUIRE_GPU=1 but no GPU: {e}");
            }
            eprintln!("skipped: GPU tests need an adapter ({e})");
            None
        }
    })
    .as_ref()
}

pub fn raster_u16(w: u32, h: u32, px: Vec<u16>) -> Raster {
    assert_eq!(px.len(), (w * h) as usize);
    Raster {
        width: w,
        height: h,
        kind: SampleKind::U16,
        keys: px.into_iter().map(|v| v as u32).collect(),
        band: 1,
        bands: 1,
        nodata: None,
    }
}

/// A 0/1 picture from rows of '#' (target, value 200) and '.' (value 10).
pub fn picture(rows: &[&str]) -> Raster {
    let h = rows.len() as u32;
    let w = rows[0].len() as u32;
    let px = rows
        .iter()
        .flat_map(|r| r.bytes().map(|b| if b == b'#' { 200 } else { 10 }))
        .collect();
    raster_u16(w, h, px)
}

pub fn opts(threshold: f64, conn: Connectivity, tile: u32) -> DetectOptions {
    DetectOptions {
        threshold: ThresholdMode::Fixed(threshold),
        connectivity: conn,
        tile_size: tile,
        ..Default::default()
    }
}

/// The CPU backend's detections: its fused run-based pass, checked against the kernels' twins
/// run one by one.
pub fn run_cpu(r: &Raster, o: &DetectOptions) -> Vec<Detection> {
    let fused = detect(&CpuEngine, r, o).expect("cpu detect").detections;
    let twins = detect(&CpuTwinEngine, r, o)
        .expect("cpu twins detect")
        .detections;
    assert_eq!(fused, twins, "fused CPU pass != kernel twins");
    fused
}

pub fn run_gpu(r: &Raster, o: &DetectOptions) -> Option<Vec<Detection>> {
    let g = gpu()?;
    let g = g.lock().unwrap_or_else(|e| e.into_inner());
    Some(detect(&*g, r, o).expect("gpu detect").detections)
}

/// Independent oracle: imageproc's connected_components on the thresholded image, then the
/// statistics straight from the label image, in the same canonical order.
pub fn oracle(
    r: &Raster,
    threshold_key: u32,
    conn: Connectivity,
    nodata: Option<u32>,
) -> Vec<Detection> {
    oracle_of(r, conn, nodata, |x, y| {
        r.keys[(y * r.width + x) as usize] >= threshold_key
    })
}

/// [`oracle`] for any target rule: pixel (x, y) is a target when `target(x, y)` and it is not
/// `nodata`.
#[allow(dead_code)]
pub fn oracle_of(
    r: &Raster,
    conn: Connectivity,
    nodata: Option<u32>,
    target: impl Fn(u32, u32) -> bool,
) -> Vec<Detection> {
    use imageproc::region_labelling::{connected_components, Connectivity as C};
    let img = image::GrayImage::from_fn(r.width, r.height, |x, y| {
        let k = r.keys[(y * r.width + x) as usize];
        let t = target(x, y) && Some(k) != nodata;
        image::Luma([t as u8])
    });
    let c = if conn == Connectivity::Four {
        C::Four
    } else {
        C::Eight
    };
    let labels = connected_components(&img, c, image::Luma([0u8]));
    #[derive(Clone)]
    struct S {
        first: u64,
        area: u64,
        x0: u64,
        y0: u64,
        x1: u64,
        y1: u64,
        sum: i128,
        max: u32,
        sx: u128,
        sy: u128,
        sxx: u128,
        syy: u128,
        sxy: u128,
    }
    // f32 sums: fixed point at 2^s, s from the largest finite |value| of the valid pixels.
    let kind = r.kind;
    let exp = if kind.is_float() {
        let max_abs = r
            .keys
            .iter()
            .filter(|&&k| Some(k) != nodata && k != vesselscan::sample::NAN_KEY)
            .map(|&k| vesselscan::sample::key_to_value(kind, k).abs())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        vesselscan::sample::f32_sum_exponent(max_abs)
    } else {
        0
    };
    let scale = (exp as f32).exp2().to_bits();
    let step = (-exp as f64).exp2();
    let mut stats: std::collections::BTreeMap<u32, S> = Default::default();
    for y in 0..r.height {
        for x in 0..r.width {
            let l = labels.get_pixel(x, y)[0];
            if l == 0 {
                continue;
            }
            let k = r.keys[(y * r.width + x) as usize];
            let (x, y) = (x as u64, y as u64);
            let s = stats.entry(l).or_insert(S {
                first: y * r.width as u64 + x,
                area: 0,
                x0: x,
                y0: y,
                x1: x,
                y1: y,
                sum: 0,
                max: 0,
                sx: 0,
                sy: 0,
                sxx: 0,
                syy: 0,
                sxy: 0,
            });
            s.area += 1;
            s.x0 = s.x0.min(x);
            s.y0 = s.y0.min(y);
            s.x1 = s.x1.max(x);
            s.y1 = s.y1.max(y);
            s.sum += vesselscan::cpu::measure::addend(r.kind.code(), scale, k) as i128;
            s.max = s.max.max(k);
            s.sx += x as u128;
            s.sy += y as u128;
            s.sxx += (x * x) as u128;
            s.syy += (y * y) as u128;
            s.sxy += (x * y) as u128;
        }
    }
    let mut v: Vec<S> = stats.into_values().collect();
    v.sort_by_key(|s| s.first);
    v.iter()
        .enumerate()
        .map(|(i, s)| {
            let (n, a) = (s.area as i128, s.area as f64);
            let c =
                |s2: u128, p: u128, q: u128| (n * s2 as i128 - (p * q) as i128) as f64 / (a * a);
            let cov = [
                c(s.sxx, s.sx, s.sx) + 1.0 / 12.0,
                c(s.syy, s.sy, s.sy) + 1.0 / 12.0,
                c(s.sxy, s.sx, s.sy),
            ];
            let (x, y) = (s.sx as f64 / a + 0.5, s.sy as f64 / a + 0.5);
            let sh = vesselscan::detections::shape(cov, vesselscan::detections::PIXEL_FRAME);
            Detection {
                id: i as u32 + 1,
                x,
                y,
                bbox: [s.x0, s.y0, s.x1 + 1, s.y1 + 1],
                area: s.area,
                sum: if r.kind.is_float() {
                    vesselscan::detections::Value::Float(s.sum as f64 * step)
                } else {
                    vesselscan::detections::Value::Int(s.sum)
                },
                max: vesselscan::detections::value_of(r.kind, s.max),
                mean: if r.kind.is_float() {
                    s.sum as f64 * step / s.area as f64
                } else {
                    s.sum as f64 / s.area as f64
                },
                length_px: sh.length,
                width_px: sh.width,
                orientation_deg: sh.heading_deg,
                lon: None,
                lat: None,
                length_m: None,
                width_m: None,
                heading_deg: None,
                obox: vesselscan::detections::box_corners(
                    x,
                    y,
                    &sh,
                    vesselscan::detections::PIXEL_FRAME,
                ),
                obox_lonlat: None,
                distance_to_land_m: None,
                scr: None,
                contrast: None,
                significance: None,
                score: None,
                ais: Default::default(),
                cov,
            }
        })
        .collect()
}

/// Whether GDAL's command-line tools can be run; without them a GDAL test is skipped (it says
/// so), unless `VESSELSCAN_REQUIRE_GDAL` is set (CI), where it fails instead.
pub fn have_gdal() -> bool {
    let ok = std::process::Command::new("gdalinfo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("VESSELSCAN_REQUIRE_GDAL").is_some() {
            panic!("VESSELSCAN_REQUIRE_GDAL is set but gdalinfo cannot be run (apt-get install gdal-bin)");
        }
        eprintln!("skipped: gdalinfo not found (apt-get install gdal-bin)");
    }
    ok
}

/// A test cannot find the real data it needs (`what` says which): a `skipped` line, or, with
/// `VESSELSCAN_REQUIRE_DATA` set (CI), a failure, so CI never goes green without running it.
pub fn missing_data(what: &str) {
    if std::env::var_os("VESSELSCAN_REQUIRE_DATA").is_some() {
        panic!("VESSELSCAN_REQUIRE_DATA is set but {what} (see ../shared/data/README.md)");
    }
    eprintln!("skipped: {what}");
}

/// The real imagery of `../shared/data` (or `$VESSELSCAN_SHARED_DATA`); `None` where this
/// checkout has none (see [`missing_data`]).
pub fn shared_data() -> Option<std::path::PathBuf> {
    let p = std::env::var_os("VESSELSCAN_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"))
        });
    if p.is_dir() {
        Some(p)
    } else {
        missing_data(&format!("no shared data at {}", p.display()));
        None
    }
}

/// `sub` (a file or folder) below the shared data, or `None` where it is missing (see
/// [`missing_data`]).
pub fn shared_path(sub: &str) -> Option<std::path::PathBuf> {
    let p = shared_data()?.join(sub);
    if p.exists() {
        Some(p)
    } else {
        missing_data(&format!("no {} in the shared data", p.display()));
        None
    }
}

/// The Sentinel-1 `.SAFE` folder of the shared data (`s1_grd_safe/*.SAFE`), or `None` where it
/// is missing (see [`missing_data`]).
pub fn shared_safe() -> Option<std::path::PathBuf> {
    let dir = shared_path("s1_grd_safe")?;
    let safe = std::fs::read_dir(&dir).ok().and_then(|rd| {
        rd.filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|e| e == "SAFE"))
    });
    if safe.is_none() {
        missing_data(&format!("no *.SAFE in {}", dir.display()));
    }
    safe
}

/// The `vesselscan` binary of this build, as a command to add arguments to.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_vesselscan"))
}

/// How long one run of the binary may take in a test before it is killed and the test fails
/// (a hang fails instead of stalling the suite).
pub const RUN_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs the binary with `args` (stdin closed) and returns what it printed and its status.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    output(bin().args(args))
}

/// [`run`] in the folder `cwd`.
pub fn run_in<S: AsRef<std::ffi::OsStr>>(
    cwd: &std::path::Path,
    args: &[S],
) -> std::process::Output {
    output(bin().args(args).current_dir(cwd))
}

/// Runs `cmd` to the end, its output read as it comes (a large stdout cannot block it), killed
/// and the test failed after [`RUN_LIMIT`].
pub fn output(cmd: &mut std::process::Command) -> std::process::Output {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vesselscan");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).expect("read the child's output");
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let t0 = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for vesselscan") {
            break s;
        }
        if t0.elapsed() > RUN_LIMIT {
            child.kill().ok();
            child.wait().ok();
            let err = err.join().unwrap_or_default();
            panic!(
                "{cmd:?} ran over {} s (hung?): {}",
                RUN_LIMIT.as_secs(),
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    std::process::Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// The run's stderr, after checking it succeeded (else the test fails showing it).
pub fn ok(o: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status.success(),
        "vesselscan failed ({}): {err}",
        o.status
    );
    err
}

/// The lines of the run's stderr, Mesa's `XDG_RUNTIME_DIR` chatter left out.
pub fn err_lines(o: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .map(str::to_owned)
        .collect()
}

/// A sample file of the repository's `data/` folder.
pub fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// The run's stderr as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A batch's `summary.json` in output folder `out`.
pub fn summary(out: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}
