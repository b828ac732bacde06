//! CPU backend: runs the twins in `src/cpu/` on batches of one tile, tiles in parallel.

use super::{BatchLabels, Engine};
use crate::cpu;
use crate::error::Result;
use crate::tiling::{Batch, BatchLimits, Params, REC_WORDS};

/// The CPU backend. Its limits are WebGPU's (so tile sizes mean the same on both backends)
/// but it has no per-batch tile cap of its own: it runs one tile per batch.
#[derive(Debug, Default, Clone)]
pub struct CpuEngine;

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

    fn label(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<BatchLabels> {
        let tiles = &batch.tiles;
        let mut mask = vec![0u32; batch.blocks as usize];
        let mut parent = vec![0u32; batch.nodes as usize];
        let mut remap = vec![0u32; batch.nodes as usize];
        let mut records = vec![0u32; (batch.max_components * REC_WORDS) as usize];
        let mut counters = [0u32; 4];
        let mut border = vec![0u32; batch.border as usize];
        cpu::mask::mask(params, tiles, samples, &mut mask);
        cpu::label_init::label_init(params, tiles, &mut parent);
        cpu::label_merge::label_merge(params, tiles, &mask, &mut parent);
        cpu::label_compress::label_compress(params, tiles, &mut parent);
        cpu::label_compact::label_compact(
            params,
            tiles,
            &mask,
            &parent,
            &mut remap,
            &mut records,
            &mut counters,
        );
        cpu::measure::measure(params, tiles, samples, &mask, &parent, &remap, &mut records);
        cpu::seam_export::seam_export(params, tiles, &mask, &parent, &remap, &mut border);
        records.truncate((counters[0] * REC_WORDS) as usize);
        Ok(BatchLabels { records, border })
    }
}
