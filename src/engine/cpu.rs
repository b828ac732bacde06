//! CPU backend: batches of one tile, tiles in parallel. [`CpuEngine`] runs the fused run-based
//! pass of `src/cpu/runs.rs` (the mask or CFAR kernels' twins, then labels and records in one
//! pass over the rows); [`CpuTwinEngine`] runs the kernels' twins one by one, exactly as the GPU
//! runs its kernels, and is what tests hold both the fused pass and the GPU to.

use super::{BatchLabels, Engine};
use crate::cpu;
use crate::error::Result;
use crate::profile::{time, Stage};
use crate::tiling::{Batch, BatchLimits, Params, FLAG_CFAR, REC_WORDS};

/// Per-thread buffers, reused from tile to tile (allocating and zeroing them per tile cost
/// about a tenth of the time on sparse scenes).
#[derive(Default)]
struct Scratch {
    mask: Vec<u32>,
    parent: Vec<u32>,
    remap: Vec<u32>,
    records: Vec<u32>,
    runs: cpu::runs::RunScratch,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Make `v` hold at least `n` elements (contents unspecified: every stage writes what it
/// reads). A new buffer comes from the allocator already zeroed (`calloc`: fresh pages of the
/// OS), so pages never written are never resident: the worst-case record buffer of a 2048^2
/// tile (64 MiB) costs only what the tile's components fill.
fn grow(v: &mut Vec<u32>, n: usize) {
    if v.len() < n {
        // Free the old buffer first, so the two are never resident together.
        *v = Vec::new();
        *v = vec![0; n];
    }
}

/// The CPU backend. Its limits are WebGPU's (so tile sizes mean the same on both backends)
/// but it has no per-batch tile cap of its own: it runs one tile per batch.
#[derive(Debug, Default, Clone)]
pub struct CpuEngine;

/// The CPU backend running every kernel's twin in turn (`mask`, `label_merge`,
/// `label_compact`, `measure`, `seam_export`) instead of the fused pass: slower, the reference for tests and benches.
#[derive(Debug, Default, Clone)]
pub struct CpuTwinEngine;

impl Engine for CpuEngine {
    fn backend(&self) -> &'static str {
        "cpu"
    }
    fn adapter(&self) -> Option<String> {
        None
    }
    fn batch_limits(&self) -> BatchLimits {
        BatchLimits::default()
    }
    fn parallel(&self) -> bool {
        true
    }
    fn reads_in_place(&self) -> bool {
        true
    }
    fn minmax(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<[u32; 2]> {
        CpuTwinEngine.minmax(params, batch, samples)
    }
    fn histogram(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<Vec<u32>> {
        CpuTwinEngine.histogram(params, batch, samples)
    }
    fn cfar_mask(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
    ) -> Result<Vec<u32>> {
        CpuTwinEngine.cfar_mask(params, batch, samples, water)
    }

    fn label(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
        stats: &[u32],
    ) -> Result<BatchLabels> {
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            let tiles = &batch.tiles;
            let mut records = Vec::new();
            let mut border = vec![0u32; batch.border as usize];
            if params.flags & FLAG_CFAR != 0 {
                grow(&mut s.mask, batch.blocks as usize);
                time(Stage::Mask, || {
                    let c = &batch.cfar;
                    cpu::cfar::cfar_fused(params, tiles, samples, &mut s.mask, c, water, stats);
                });
                time(Stage::Label, || {
                    let t = cpu::runs::Targets::Blocks(&s.mask);
                    let r = &mut s.runs;
                    cpu::runs::label_batch(params, tiles, samples, &t, r, &mut records, &mut border)
                });
            } else {
                // Mask, label, measure and seam export in one pass: all of it counts as label.
                time(Stage::Label, || {
                    let t = cpu::runs::Targets::Samples { water };
                    let r = &mut s.runs;
                    cpu::runs::label_batch(params, tiles, samples, &t, r, &mut records, &mut border)
                });
            }
            Ok(BatchLabels { records, border })
        })
    }
}

impl Engine for CpuTwinEngine {
    // The same backend as CpuEngine in everything but the labelling pass.
    fn backend(&self) -> &'static str {
        CpuEngine.backend()
    }
    fn adapter(&self) -> Option<String> {
        CpuEngine.adapter()
    }
    fn batch_limits(&self) -> BatchLimits {
        CpuEngine.batch_limits()
    }
    fn parallel(&self) -> bool {
        CpuEngine.parallel()
    }
    fn reads_in_place(&self) -> bool {
        CpuEngine.reads_in_place()
    }

    fn minmax(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<[u32; 2]> {
        let mut c = [u32::MAX, 0];
        cpu::histogram::minmax(params, &batch.tiles, samples, &mut c);
        Ok(c)
    }

    fn histogram(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<Vec<u32>> {
        let mut h = vec![0u32; params.hist_bins as usize];
        cpu::histogram::histogram(params, &batch.tiles, samples, &mut h);
        Ok(h)
    }

    fn label(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
        stats: &[u32],
    ) -> Result<BatchLabels> {
        SCRATCH.with(|s| {
            let s = &mut *s.borrow_mut();
            let tiles = &batch.tiles;
            // Every array is fully written by its stage before it is read (remap and records
            // only where read), so reused buffers need no clearing.
            grow(&mut s.mask, batch.blocks as usize);
            grow(&mut s.parent, batch.nodes as usize);
            grow(&mut s.remap, batch.nodes as usize);
            grow(&mut s.records, (batch.max_components * REC_WORDS) as usize);
            let mut counters = [0u32; 4];
            let mut border = vec![0u32; batch.border as usize];
            time(Stage::Mask, || {
                if params.flags & FLAG_CFAR != 0 {
                    // cfar_rows + cfar fused: only the rows the windows hold (same masks).
                    let c = &batch.cfar;
                    cpu::cfar::cfar_fused(params, tiles, samples, &mut s.mask, c, water, stats);
                    cpu::init_roots(params, tiles, &s.mask, &mut s.parent);
                } else {
                    cpu::mask::mask(params, tiles, samples, &mut s.mask, &mut s.parent, water);
                }
            });
            time(Stage::Label, || {
                cpu::label_merge::label_merge(params, tiles, &s.mask, &mut s.parent);
                cpu::label_compact::label_compact(
                    params,
                    tiles,
                    &s.mask,
                    &mut s.parent,
                    &mut s.remap,
                    &mut s.records,
                    &mut counters,
                );
            });
            time(Stage::Measure, || {
                cpu::measure::measure(
                    params,
                    tiles,
                    samples,
                    &s.mask,
                    &s.parent,
                    &s.remap,
                    &mut s.records,
                )
            });
            time(Stage::SeamExport, || {
                cpu::seam_export::seam_export(
                    params,
                    tiles,
                    &s.mask,
                    &s.parent,
                    &s.remap,
                    &mut border,
                )
            });
            let records = s.records[..(counters[0] * REC_WORDS) as usize].to_vec();
            Ok(BatchLabels { records, border })
        })
    }

    fn cfar_mask(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
    ) -> Result<Vec<u32>> {
        let mut mask = vec![0u32; batch.blocks as usize];
        let c = &batch.cfar;
        time(Stage::Mask, || {
            cpu::cfar::cfar_fused(params, &batch.tiles, samples, &mut mask, c, water, &[])
        });
        Ok(mask)
    }
}
