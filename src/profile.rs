//! Per-stage timing for `vesselscan bench`: the engines and the host add the time of each stage
//! here while profiling is on (one relaxed atomic load per stage otherwise).
//!
//! GPU stages come from timestamp queries (each stage in its own compute pass) on adapters with
//! `TIMESTAMP_QUERY`, else from the wall clock around a wait for the queue; CPU stages are the
//! sum over the worker threads of the time spent in each twin (thread-seconds: on N threads
//! the stages add up to about N times the wall time).

use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The stages of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Host to device: samples, tile descriptors, planes (GPU: buffer creation and writes).
    Upload,
    /// mask, or cfar_rows + cfar (both CFAR passes when censored).
    Mask,
    /// label_init, label_merge, label_compress, label_compact.
    Label,
    /// measure.
    Measure,
    /// seam_export (the per-tile border labels).
    SeamExport,
    /// Device to host: counts, border labels, records, masks.
    Readback,
    /// Host: seams merged across tiles (`seams::SeamMerger`).
    SeamMerge,
    /// Host: records to detections (`detections::detections`).
    Detections,
}

pub const STAGES: [Stage; 8] = [
    Stage::Upload,
    Stage::Mask,
    Stage::Label,
    Stage::Measure,
    Stage::SeamExport,
    Stage::Readback,
    Stage::SeamMerge,
    Stage::Detections,
];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Upload => "upload",
            Stage::Mask => "mask",
            Stage::Label => "label",
            Stage::Measure => "measure",
            Stage::SeamExport => "seam_export",
            Stage::Readback => "readback",
            Stage::SeamMerge => "seam_merge",
            Stage::Detections => "detections",
        }
    }
}

static ON: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
static TIMESTAMPS: AtomicBool = AtomicBool::new(false);

/// Whether stages are being timed.
#[inline]
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Add `d` to `stage` (when profiling).
#[inline]
pub fn add(stage: Stage, d: Duration) {
    if enabled() {
        NANOS[stage as usize].fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Time `f` as `stage` (when profiling).
#[inline]
pub fn time<T>(stage: Stage, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let t0 = std::time::Instant::now();
    let r = f();
    add(stage, t0.elapsed());
    r
}

/// Note that GPU stage times came from timestamp queries.
pub fn mark_timestamps() {
    TIMESTAMPS.store(true, Ordering::Relaxed);
}

/// The stage times of a run, in seconds, in [`STAGES`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimes {
    pub seconds: [f64; 8],
    /// GPU stages from timestamp queries (else the wall clock).
    pub timestamps: bool,
}

impl StageTimes {
    pub fn get(&self, s: Stage) -> f64 {
        self.seconds[s as usize]
    }
}

/// Turn profiling on (zeroing the counters) or off.
pub fn set(on: bool) {
    for n in &NANOS {
        n.store(0, Ordering::Relaxed);
    }
    TIMESTAMPS.store(false, Ordering::Relaxed);
    ON.store(on, Ordering::Relaxed);
}

/// The times so far, and zero the counters.
pub fn take() -> StageTimes {
    let mut t = StageTimes::default();
    for (s, n) in t.seconds.iter_mut().zip(&NANOS) {
        *s = n.swap(0, Ordering::Relaxed) as f64 * 1e-9;
    }
    t.timestamps = TIMESTAMPS.swap(false, Ordering::Relaxed);
    t
}
