//! `vesselscan bench`: the pipeline on every adapter wgpu finds and on the CPU backend, with
//! per-stage times, throughput, the share of the memory bandwidth where it is known, and a
//! check that every adapter's detections equal the CPU's.
//!
//! Each backend runs the scene once to warm up (pipelines, allocations), then `repeat` times
//! with profiling off for the wall-clock figures (median, min, max), then `repeat` times with
//! profiling on for the stage breakdown (medians): profiled GPU runs put each stage in its own
//! compute pass with timestamp queries (or wait for each stage without them), which adds a
//! little time, so the two are kept apart.

use crate::detect::{detect, DetectOptions, ThresholdMode};
use crate::detections::Detection;
use crate::engine::{cpu::CpuEngine, gpu::GpuEngine, Engine};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::profile::{self, Stage, STAGES};
use crate::read::Raster;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// What to run on.
#[derive(Debug, Clone)]
pub enum BenchScene {
    /// A generated scene (`sea`: ~1.4 % targets; `random`: a 50 % random mask), `size` a side.
    Synth(crate::synth::Scene),
    /// A raster file (its band 1 or the luminance of a picture), whole.
    File(PathBuf),
}

/// Which adapters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterFilter {
    /// Every adapter found.
    All,
    /// Those whose name contains this (case-insensitive).
    Name(String),
    /// None: the CPU backend only.
    None,
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub scene: BenchScene,
    /// Side of a generated scene.
    pub size: u32,
    pub adapters: AdapterFilter,
    /// Timed runs per backend (after one warm-up run).
    pub repeat: u32,
    pub tile_size: u32,
}

/// One backend's figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// "cpu" or "gpu".
    pub backend: &'static str,
    /// The adapter (GPU) or the CPU model.
    pub device: String,
    /// The adapter's API (vulkan, metal, dx12, gl) and type (DiscreteGpu, Cpu ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// Worker threads of the CPU backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    /// Whole `detect()` wall time, seconds: median, min, max over the timed runs.
    pub seconds_median: f64,
    pub seconds_min: f64,
    pub seconds_max: f64,
    /// Pixels over the median time, in millions a second.
    pub mpx_per_s: f64,
    /// The scene's keys (4 bytes a pixel, read once) over the median time, GB/s.
    pub effective_gb_per_s: f64,
    /// The device's memory bandwidth (GB/s) when known: a table of GPUs by name; for the CPU
    /// backend and CPU adapters, a measured host copy bandwidth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_gb_per_s: Option<f64>,
    /// effective_gb_per_s / memory_gb_per_s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth_share: Option<f64>,
    /// Median seconds per stage over the profiled runs (CPU stages: thread-seconds).
    pub stages: std::collections::BTreeMap<&'static str, f64>,
    /// GPU stage times from timestamp queries (else the wall clock around each stage).
    pub timestamps: bool,
    /// GPU rows with timestamps: pixels over the device time of mask + label + measure, in
    /// Gpx/s (the data resident on the device: the figure issue 6's 50 Gpx/s target is about).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_gpx_per_s: Option<f64>,
    pub detections: usize,
    /// The detections equal the CPU backend's (the reference; true for the CPU row).
    pub matches_cpu: bool,
    /// Why this adapter could not run, if it could not (the other figures are then 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The whole report (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub scene: String,
    pub width: u32,
    pub height: u32,
    pub megapixels: f64,
    pub repeat: u32,
    pub tile_size: u32,
    pub threshold: Option<f64>,
    /// Measured host memory copy bandwidth, GB/s (bytes read + written).
    pub host_copy_gb_per_s: f64,
    /// A raster file scene: seconds to read and decode it into keys, once, before the timed
    /// runs (which start from the keys in memory). Set against the rows' medians, it says
    /// whether reading the file or the pipeline bounds an end-to-end `detect`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_seconds: Option<f64>,
    pub cpu_model: String,
    pub rows: Vec<BenchRow>,
}

/// Memory bandwidth of GPUs by name (vendor data sheets, GB/s), for the share of it a run
/// reaches. The first entry whose key the adapter name contains wins (longer keys first).
const GPU_BANDWIDTH: &[(&str, f64)] = &[
    ("h200", 4800.0),
    ("h100 nvl", 3900.0),
    ("h100 pcie", 2000.0),
    ("h100", 3350.0),
    ("gh200", 4000.0),
    ("a100-sxm4-80gb", 2039.0),
    ("a100 80gb pcie", 1935.0),
    ("a100", 1555.0),
    ("l40s", 864.0),
    ("l40", 864.0),
    ("l4", 300.0),
    ("a10g", 600.0),
    ("a10", 600.0),
    ("t4", 320.0),
    ("v100", 900.0),
    ("rtx 4090", 1008.0),
    ("rtx 4080", 717.0),
    ("rtx 3090", 936.0),
    ("rtx 3080", 760.0),
    ("rtx a6000", 768.0),
    ("mi300x", 5300.0),
    ("mi250", 3277.0),
    ("apple m1 max", 400.0),
    ("apple m1 pro", 200.0),
    ("apple m2 max", 400.0),
    ("apple m3 max", 400.0),
];

/// The table's bandwidth for an adapter name, if listed.
pub fn known_bandwidth(name: &str) -> Option<f64> {
    let n = name.to_lowercase();
    GPU_BANDWIDTH
        .iter()
        .find(|(k, _)| n.contains(k))
        .map(|&(_, b)| b)
}

/// Host memory copy bandwidth: the best of a few copies of 256 MiB, (read + write) bytes / s.
pub fn host_copy_bandwidth() -> f64 {
    let n = 32 << 20; // u64 words: 256 MiB
    let src: Vec<u64> = (0..n as u64).collect();
    let mut dst = vec![0u64; n];
    let mut best = f64::MAX;
    for _ in 0..4 {
        let t0 = Instant::now();
        dst.copy_from_slice(&src);
        best = best.min(t0.elapsed().as_secs_f64());
        std::hint::black_box(&dst);
    }
    2.0 * (n * 8) as f64 / best / 1e9
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Time `engine` on `r`: warm-up, `repeat` plain runs, `repeat` profiled runs.
fn time_engine(
    engine: &dyn Engine,
    r: &Raster,
    o: &DetectOptions,
    repeat: u32,
) -> Result<(Vec<f64>, crate::profile::StageTimes, bool, Vec<Detection>)> {
    profile::set(false);
    let dets = detect(engine, r, o)?.detections;
    let mut walls = Vec::new();
    for _ in 0..repeat {
        let t0 = Instant::now();
        std::hint::black_box(detect(engine, r, o)?);
        walls.push(t0.elapsed().as_secs_f64());
    }
    let mut per_stage: Vec<Vec<f64>> = vec![Vec::new(); STAGES.len()];
    let mut ts = false;
    for _ in 0..repeat {
        profile::set(true);
        let run = detect(engine, r, o);
        let t = profile::take();
        profile::set(false);
        run?;
        ts |= t.timestamps;
        for (v, s) in per_stage.iter_mut().zip(t.seconds) {
            v.push(s);
        }
    }
    let mut st = crate::profile::StageTimes::default();
    for (s, v) in st.seconds.iter_mut().zip(per_stage.iter_mut()) {
        *s = median(v);
    }
    Ok((walls, st, ts, dets))
}

/// Run the benchmark.
pub fn run(opts: &BenchOptions) -> Result<BenchReport> {
    if opts.repeat == 0 {
        return Err(Error::Invalid("--repeat 0: at least one timed run".into()));
    }
    let adapters = match &opts.adapters {
        AdapterFilter::None => Vec::new(),
        AdapterFilter::All => crate::gpu::adapters(None),
        AdapterFilter::Name(n) => {
            let a = crate::gpu::adapters(Some(n));
            if a.is_empty() {
                return Err(Error::NoAdapter(format!("no adapter name contains {n:?}")));
            }
            a
        }
    };
    let mut read_seconds = None;
    let (name, r, o) = match &opts.scene {
        BenchScene::Synth(s) => {
            if opts.size == 0 || opts.size > 65536 {
                return Err(Error::Invalid(format!(
                    "--size {}: a side of 1 to 65536 pixels",
                    opts.size
                )));
            }
            let r = s.generate(opts.size, opts.size, 1);
            let o = DetectOptions {
                threshold: ThresholdMode::Fixed(s.threshold()),
                tile_size: opts.tile_size,
                ..Default::default()
            };
            (s.name().to_string(), r, o)
        }
        BenchScene::File(p) => {
            let t0 = std::time::Instant::now();
            let r = crate::read::read_raster(p, &Default::default())?;
            read_seconds = Some(t0.elapsed().as_secs_f64());
            let o = DetectOptions {
                tile_size: opts.tile_size,
                ..Default::default()
            };
            (p.display().to_string(), r, o)
        }
    };
    let px = r.width as f64 * r.height as f64;
    let host_bw = host_copy_bandwidth();
    let cpu = cpu_model();
    let row = |backend: &'static str,
               device: String,
               (walls, st, ts, n): (Vec<f64>, crate::profile::StageTimes, bool, usize),
               bw: Option<f64>,
               matches: bool| {
        let mut w = walls.clone();
        let med = median(&mut w);
        let gbs = 4.0 * px / med / 1e9;
        BenchRow {
            backend,
            device,
            api: None,
            device_type: None,
            threads: None,
            seconds_median: med,
            seconds_min: walls.iter().cloned().fold(f64::MAX, f64::min),
            seconds_max: walls.iter().cloned().fold(0.0, f64::max),
            mpx_per_s: px / med / 1e6,
            effective_gb_per_s: gbs,
            memory_gb_per_s: bw,
            bandwidth_share: bw.map(|b| gbs / b),
            stages: STAGES.iter().map(|&s| (s.name(), st.get(s))).collect(),
            core_gpx_per_s: {
                let core = st.get(Stage::Mask) + st.get(Stage::Label) + st.get(Stage::Measure);
                (ts && backend == "gpu" && core > 0.0).then(|| px / core / 1e9)
            },
            timestamps: ts,
            detections: n,
            matches_cpu: matches,
            error: None,
        }
    };
    let mut rows = Vec::new();
    let (walls, st, ts, reference) = time_engine(&CpuEngine, &r, &o, opts.repeat)?;
    let mut c = row(
        "cpu",
        cpu.clone(),
        (walls, st, ts, reference.len()),
        Some(host_bw),
        true,
    );
    c.threads = Some(rayon::current_num_threads());
    rows.push(c);
    for a in adapters {
        let info = a.get_info();
        let cpu_like = info.device_type == wgpu::DeviceType::Cpu;
        let bw = known_bandwidth(&info.name).or(cpu_like.then_some(host_bw));
        let run = GpuContext::open(a).and_then(|ctx| {
            let g = GpuEngine::of(ctx);
            time_engine(&g, &r, &o, opts.repeat)
        });
        let mut out = match run {
            Ok((walls, st, ts, dets)) => {
                let m = dets == reference;
                row("gpu", info.name.clone(), (walls, st, ts, dets.len()), bw, m)
            }
            Err(e) => {
                let none = (vec![0.0], Default::default(), false, 0);
                let mut b = row("gpu", info.name.clone(), none, bw, false);
                b.error = Some(e.to_string());
                b
            }
        };
        out.api = Some(format!("{:?}", info.backend).to_lowercase());
        out.device_type = Some(format!("{:?}", info.device_type));
        rows.push(out);
    }
    Ok(BenchReport {
        scene: name,
        width: r.width,
        height: r.height,
        megapixels: px / 1e6,
        repeat: opts.repeat,
        tile_size: opts.tile_size,
        threshold: match o.threshold {
            ThresholdMode::Fixed(t) => Some(t),
            _ => None,
        },
        host_copy_gb_per_s: host_bw,
        read_seconds,
        cpu_model: cpu,
        rows,
    })
}

/// The report as a readable table (times in ms; stages: GPU from timestamps when `ts` says so,
/// CPU in thread-ms).
pub fn table(rep: &BenchReport) -> String {
    let mut s = format!(
        "scene {} {}x{} ({:.1} Mpx), {} timed runs each, tile {}; host copy {:.1} GB/s; CPU {}\n",
        rep.scene,
        rep.width,
        rep.height,
        rep.megapixels,
        rep.repeat,
        rep.tile_size,
        rep.host_copy_gb_per_s,
        rep.cpu_model
    );
    if let Some(t) = rep.read_seconds {
        s += &format!(
            "reading the file into keys: {:.1} ms ({:.1} Mpx/s), once, outside the timed runs\n",
            t * 1e3,
            rep.megapixels / t
        );
    }
    s += "stage columns: ms (GPU: timestamp queries when ts = yes; CPU: thread-ms over all \
          threads, with mask, label, measure and seam export run as one fused pass under label)\n";
    s += &format!(
        "{:<4} {:<44} {:>9} {:>9} {:>7} {:>6}",
        "", "device", "median ms", "Mpx/s", "GB/s", "bw %"
    );
    for st in STAGES {
        s += &format!(" {:>10}", st.name());
    }
    s += "  core Gpx/s  ts  match  detections\n";
    for r in &rep.rows {
        let dev: String = match (&r.api, r.threads) {
            (Some(api), _) => format!("{api}: {}", r.device),
            (None, Some(t)) => format!("{} x{t}", r.device),
            _ => r.device.clone(),
        };
        let dev: String = dev.chars().take(44).collect();
        if let Some(e) = &r.error {
            s += &format!("{:<4} {:<44} error: {e}\n", r.backend, dev);
            continue;
        }
        s += &format!(
            "{:<4} {:<44} {:>9.1} {:>9.1} {:>7.2} {:>6}",
            r.backend,
            dev,
            r.seconds_median * 1e3,
            r.mpx_per_s,
            r.effective_gb_per_s,
            r.bandwidth_share
                .map_or("-".to_string(), |b| format!("{:.1}", 100.0 * b)),
        );
        for st in STAGES {
            s += &format!(" {:>10.2}", r.stages[st.name()] * 1e3);
        }
        s += &format!(
            "  {:>10} {:<3} {:<6} {}\n",
            r.core_gpx_per_s
                .map_or("-".to_string(), |g| format!("{g:.3}")),
            if r.timestamps { "yes" } else { "no" },
            if r.matches_cpu { "yes" } else { "NO" },
            r.detections
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_table_and_medians() {
        assert_eq!(known_bandwidth("NVIDIA H100 80GB HBM3"), Some(3350.0));
        assert_eq!(known_bandwidth("NVIDIA H100 PCIe"), Some(2000.0));
        assert_eq!(known_bandwidth("NVIDIA H200"), Some(4800.0));
        assert_eq!(known_bandwidth("NVIDIA GeForce RTX 4090"), Some(1008.0));
        assert_eq!(known_bandwidth("llvmpipe (LLVM 15.0.6, 256 bits)"), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&mut []), 0.0);
    }
}
