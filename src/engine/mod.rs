//! The two backends behind one interface: [`Engine`] runs the kernels of one batch of tiles,
//! [`label_scene`] and [`histogram_scene`] drive a whole scene through either backend.
//!
//! * [`cpu::CpuEngine`]: the CPU twins of `src/cpu/`, batches of one tile in parallel (rayon).
//! * [`gpu::GpuEngine`]: the WGSL kernels of `shaders/` through wgpu.
//!
//! Both return the same compact per-component records and per-tile border labels; the host
//! then merges seams ([`crate::seams`]) and measures ([`crate::detections`]) identically.

pub mod cpu;
pub mod gpu;

use crate::error::Result;
use crate::tiling::{
    batches, tile_grid, Batch, BatchLimits, Connectivity, Params, TileDesc, REC_WORDS,
};
use rayon::prelude::*;

/// Records and border labels of one batch. Record ids (`cid`) index `records` in units of
/// `REC_WORDS`; border entries are a `cid` or `NONE`.
#[derive(Debug, Clone, Default)]
pub struct BatchLabels {
    pub records: Vec<u32>,
    pub border: Vec<u32>,
}

/// A backend: runs the kernels of one batch.
pub trait Engine: Sync {
    /// "cpu" or "gpu".
    fn backend(&self) -> &'static str;
    /// Adapter name, for the GPU.
    fn adapter(&self) -> Option<String>;
    /// Limits every batch must respect.
    fn batch_limits(&self) -> BatchLimits;
    /// Run batches in parallel on host threads (CPU) or one after another (GPU).
    fn parallel(&self) -> bool;
    /// Read tiles in place from the scene (`TileDesc::stride` = scene width) instead of from
    /// a packed copy. The GPU needs the copy to upload; the CPU does not.
    fn reads_in_place(&self) -> bool {
        false
    }
    /// `minmax` kernel: lowest and highest valid key of the batch (`[u32::MAX, 0]` if none).
    fn minmax(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<[u32; 2]>;
    /// `histogram` kernel: `params.hist_bins` counts.
    fn histogram(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<Vec<u32>>;
    /// mask -> label_init -> label_merge -> label_compress -> label_compact -> measure ->
    /// seam_export.
    fn label(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<BatchLabels>;
}

/// Every tile of a scene with its components, in scene coordinates.
#[derive(Debug, Clone, Default)]
pub struct SceneLabels {
    /// Tiles per row of the grid.
    pub tiles_x: u32,
    /// Tiles in raster order (`x0`, `y0`, `w`, `h` are meaningful; offsets are batch-local).
    pub tiles: Vec<TileDesc>,
    /// Records of all components; word `R_TILE` holds the scene tile index.
    pub records: Vec<[u32; REC_WORDS as usize]>,
    /// Per tile, its border labels as indices into `records` (or `NONE`). Empty in a scene
    /// accumulated window by window ([`SceneLabels::append`] hands them to the seam merger).
    pub borders: Vec<Vec<u32>>,
}

impl SceneLabels {
    /// Add the records and tiles of a window whose first row is scene row `y0` (same tile size
    /// and columns; windows in order of rows) and return its border labels as indices into
    /// the scene's records, for [`crate::seams::SeamMerger`] (they are not kept here).
    pub fn append(&mut self, part: SceneLabels, y0: u32) -> Vec<Vec<u32>> {
        let base_rec = self.records.len() as u32;
        let base_tile = self.tiles.len() as u32;
        for mut r in part.records {
            r[crate::cpu::measure::R_TILE] += base_tile;
            self.records.push(r);
        }
        let mut borders = Vec::with_capacity(part.borders.len());
        for (mut t, b) in part.tiles.into_iter().zip(part.borders) {
            t.y0 += y0;
            self.tiles.push(t);
            borders.push(
                b.into_iter()
                    .map(|c| {
                        if c == crate::cpu::NONE {
                            c
                        } else {
                            base_rec + c
                        }
                    })
                    .collect(),
            );
        }
        borders
    }
}

/// Rows of a scene as the kernels see them: `width * height` order keys, row-major (a whole
/// scene, or the core rows of a window).
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub width: u32,
    pub height: u32,
    pub keys: &'a [u32],
}

impl<'a> Plane<'a> {
    /// The keys of a raster.
    pub fn of(r: &'a crate::read::Raster) -> Plane<'a> {
        Plane {
            width: r.width,
            height: r.height,
            keys: &r.keys,
        }
    }
}

/// The samples of a batch, tile after tile, each row-major.
pub fn pack(raster: &Plane, batch: &Batch) -> Vec<u32> {
    let mut out = Vec::with_capacity(batch.pixels as usize);
    let w = raster.width as usize;
    for t in &batch.tiles {
        for y in t.y0..t.y0 + t.h {
            let s = y as usize * w + t.x0 as usize;
            out.extend_from_slice(&raster.keys[s..s + t.w as usize]);
        }
    }
    out
}

/// Cut the scene into batches for `engine` and run `f` on each (with `params.n_tiles` set and
/// the batch's samples packed): in parallel on the CPU, in order on the GPU. Returns the tile
/// size used, the batches and the results in batch order.
fn map_batches<T: Send>(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
    f: impl Fn(&Params, &Batch, &[u32]) -> Result<T> + Sync + Send,
) -> Result<(u32, Vec<Batch>, Vec<T>)> {
    let conn = crate::cpu::conn(params);
    let tile = effective_tile_size(engine, tile_size, conn);
    let grid = tile_grid(raster.width, raster.height, tile);
    let mut lim = engine.batch_limits();
    if engine.parallel() {
        // One tile a batch: tiles are the unit of host parallelism.
        lim.max_tiles = 1;
    }
    let batches = batches(&grid, conn, &lim);
    let in_place = engine.reads_in_place() && raster.keys.len() <= u32::MAX as usize;
    let run = |b: &Batch| {
        let mut p = *params;
        p.n_tiles = b.tiles.len() as u32;
        if in_place {
            let mut b = b.clone();
            for t in &mut b.tiles {
                t.pix_off = t.y0 * raster.width + t.x0;
                t.stride = raster.width;
            }
            f(&p, &b, raster.keys)
        } else {
            f(&p, b, &pack(raster, b))
        }
    };
    let outs = if engine.parallel() {
        batches.par_iter().map(run).collect::<Result<Vec<T>>>()?
    } else {
        batches.iter().map(run).collect::<Result<Vec<T>>>()?
    };
    Ok((tile, batches, outs))
}

/// Effective tile size: the request, clamped to what one batch of the engine can hold.
pub fn effective_tile_size(engine: &dyn Engine, requested: u32, conn: Connectivity) -> u32 {
    requested.clamp(
        1,
        crate::tiling::max_tile_side(&engine.batch_limits(), conn),
    )
}

/// Label a whole scene: every tile's components and border labels.
pub fn label_scene(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
) -> Result<SceneLabels> {
    let (tile, batches, outs) = map_batches(engine, raster, params, tile_size, |p, b, s| {
        engine.label(p, b, s)
    })?;
    let mut scene = SceneLabels {
        tiles_x: raster.width.div_ceil(tile),
        ..Default::default()
    };
    for (b, out) in batches.iter().zip(outs) {
        let base = scene.records.len() as u32;
        for rec in out.records.chunks_exact(REC_WORDS as usize) {
            let mut r: [u32; REC_WORDS as usize] = rec.try_into().expect("chunk size");
            r[crate::cpu::measure::R_TILE] += b.first_tile as u32;
            scene.records.push(r);
        }
        for t in &b.tiles {
            let s = t.border_off as usize;
            let border = out.border[s..s + t.border_len() as usize]
                .iter()
                .map(|&c| if c == crate::cpu::NONE { c } else { base + c })
                .collect();
            scene.borders.push(border);
            scene.tiles.push(*t);
        }
    }
    Ok(scene)
}

/// Histogram of the valid keys of a scene, with the binning in `params` (`hist_*`).
pub fn histogram_scene(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
) -> Result<Vec<u64>> {
    let (_, _, parts) = map_batches(engine, raster, params, tile_size, |p, b, s| {
        engine.histogram(p, b, s)
    })?;
    let mut hist = vec![0u64; params.hist_bins as usize];
    for part in parts {
        for (h, c) in hist.iter_mut().zip(part) {
            *h += c as u64;
        }
    }
    Ok(hist)
}

/// Lowest and highest valid key of a scene, or `None` when every pixel is nodata.
pub fn minmax_scene(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
) -> Result<Option<(u32, u32)>> {
    let (_, _, parts) = map_batches(engine, raster, params, tile_size, |p, b, s| {
        engine.minmax(p, b, s)
    })?;
    let lo = parts.iter().map(|m| m[0]).min().unwrap_or(u32::MAX);
    let hi = parts.iter().map(|m| m[1]).max().unwrap_or(0);
    // A scene of valid keys all equal to u32::MAX still has lo <= hi.
    let any = parts.iter().any(|m| m[0] <= m[1]);
    Ok(any.then_some((lo, hi)))
}
