//! The two backends behind one interface: [`Engine`] runs the kernels of one batch of tiles,
//! [`label_scene`] and [`histogram_scene`] drive a whole scene through either backend.
//!
//! * [`cpu::CpuEngine`]: batches of one tile in parallel (rayon), labelled by the fused run-based
//!   pass of `src/cpu/runs.rs`; [`cpu::CpuTwinEngine`] runs the twins of `src/cpu/` one by one.
//! * [`gpu::GpuEngine`]: the WGSL kernels of `shaders/` through wgpu.
//!
//! Both return the same compact per-component records and per-tile border labels; the host
//! then merges seams ([`crate::seams`]) and measures ([`crate::detections`]) identically.

pub mod cpu;
pub mod gpu;

use crate::error::Result;
use crate::tiling::{
    batches, tile_grid, Batch, BatchLimits, Connectivity, Halo, Params, TileDesc, FLAG_CFAR,
    FLAG_PACK16, PACK16_I16_BASE, REC_WORDS,
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
    /// Take the samples of 16-bit kinds (u8, u16, i16) two to a word when they are packed
    /// (`FLAG_PACK16`): half the bytes to upload and for the kernels to read.
    fn packs_16bit(&self) -> bool {
        false
    }
    /// `minmax` kernel: lowest and highest valid key of the batch (`[u32::MAX, 0]` if none).
    fn minmax(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<[u32; 2]>;
    /// `histogram` kernel: `params.hist_bins` counts.
    fn histogram(&self, params: &Params, batch: &Batch, samples: &[u32]) -> Result<Vec<u32>>;
    /// mask (or cfar_rows -> cfar when `params.flags & FLAG_CFAR`) -> label_init ->
    /// label_merge -> label_compress -> label_compact -> measure -> seam_export. `water` is the
    /// water bit plane aligned with `samples` when `params.flags & FLAG_WATER`, else empty:
    /// the pixels that may be targets. `stats` is the plane of the pixels that enter the CFAR
    /// rings (cfar_rows' binding 11) when it differs from `water` (a censored CFAR), else
    /// empty.
    fn label(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
        stats: &[u32],
    ) -> Result<BatchLabels>;
    /// cfar_rows -> cfar only (`params.flags & FLAG_CFAR`): the batch's 4-bit block masks
    /// (`batch.blocks` words, each tile's at its `blk_off`), for the first pass of a censored
    /// CFAR.
    fn cfar_mask(
        &self,
        params: &Params,
        batch: &Batch,
        samples: &[u32],
        water: &[u32],
    ) -> Result<Vec<u32>>;
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
/// scene, or the core rows of a window), with the rows around them that a CFAR halo reads.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub width: u32,
    pub height: u32,
    /// The core rows.
    pub keys: &'a [u32],
    /// The core rows and the halo rows above and below them (`keys` is a part of it).
    pub ext: &'a [u32],
    /// Row of `ext` where `keys` starts.
    pub top: u32,
    /// Water bit plane over `ext` (bit `row * width + x`, 32 a word, LSB first; 1 = water).
    pub water: Option<&'a [u32]>,
    /// The pixels that enter CFAR rings, over `ext` like `water`, when they are not the water
    /// pixels (a censored CFAR leaves out the first pass's targets). Needs `water`.
    pub stats: Option<&'a [u32]>,
}

impl<'a> Plane<'a> {
    /// The keys of a raster.
    pub fn of(r: &'a crate::read::Raster) -> Plane<'a> {
        Plane::rows(r.width, &r.keys)
    }

    /// Rows of `width` keys, no halo, no water plane.
    pub fn rows(width: u32, keys: &'a [u32]) -> Plane<'a> {
        Plane {
            width,
            height: (keys.len() / width.max(1) as usize) as u32,
            keys,
            ext: keys,
            top: 0,
            water: None,
            stats: None,
        }
    }

    /// Rows of `ext` (all of them, beginning with the halo above).
    fn ext_rows(&self) -> u32 {
        (self.ext.len() / self.width.max(1) as usize) as u32
    }
}

/// The rectangles of the plane a batch reads, in `ext` coordinates: each tile, or with CFAR
/// each tile's extended rectangle.
fn rects(raster: &Plane, batch: &Batch) -> Vec<(u32, u32, u32, u32)> {
    if batch.cfar.is_empty() {
        batch
            .tiles
            .iter()
            .map(|t| (t.x0, raster.top + t.y0, t.w, t.h))
            .collect()
    } else {
        batch
            .tiles
            .iter()
            .zip(&batch.cfar)
            .map(|(t, c)| (t.x0 - c.cx, raster.top + t.y0 - c.cy, c.ext_w, c.ext_h))
            .collect()
    }
}

/// The rows of `ext` a batch reads, in packing order (tile after tile, each row-major; CFAR
/// batches: each tile's extended rectangle), as index ranges, and how many samples they hold.
fn batch_rows(raster: &Plane, batch: &Batch) -> (usize, Vec<std::ops::Range<usize>>) {
    let w = raster.width as usize;
    let rects = rects(raster, batch);
    let n = rects.iter().map(|r| r.2 as usize * r.3 as usize).sum();
    let rows = rects
        .iter()
        .flat_map(|&(x0, y0, rw, rh)| {
            (y0..y0 + rh).map(move |y| {
                let s = y as usize * w + x0 as usize;
                s..s + rw as usize
            })
        })
        .collect();
    (n, rows)
}

/// The samples of a batch, tile after tile, each row-major (CFAR batches: each tile's extended
/// rectangle), and the water bits of those samples in the same order when the plane has them.
pub fn pack(raster: &Plane, batch: &Batch) -> (Vec<u32>, Vec<u32>) {
    (pack_samples(raster, batch), pack_water(raster, batch))
}

/// The samples [`pack`] packs.
fn pack_samples(raster: &Plane, batch: &Batch) -> Vec<u32> {
    let (n, rows) = batch_rows(raster, batch);
    let mut out = Vec::with_capacity(n);
    for r in rows {
        out.extend_from_slice(&raster.ext[r]);
    }
    out
}

/// The water bits [`pack`] packs (empty without a water plane).
fn pack_water(raster: &Plane, batch: &Batch) -> Vec<u32> {
    raster
        .water
        .map_or(Vec::new(), |p| pack_bits(raster, batch, p))
}

/// The samples [`pack`] packs, two to a word (`FLAG_PACK16`, for sample kinds of 16 bits or
/// fewer: `kind` is `Params::kind`): pixel `j` of the batch in the low half of word `j / 2`
/// when `j` is even, the high half when odd; i16 keys less `PACK16_I16_BASE`.
pub fn pack16(raster: &Plane, batch: &Batch, kind: u32) -> Vec<u32> {
    let (n, rows) = batch_rows(raster, batch);
    let base = if kind == crate::sample::SampleKind::I16.code() {
        PACK16_I16_BASE
    } else {
        0
    };
    let mut out = vec![0u32; n.div_ceil(2)];
    // Little-endian words (as the device reads them): half j of the u16 view is pixel j.
    let halves: &mut [u16] = &mut bytemuck::cast_slice_mut::<u32, u16>(&mut out)[..n];
    let mut j = 0usize;
    for r in rows {
        let row = &raster.ext[r];
        for (h, &k) in halves[j..j + row.len()].iter_mut().zip(row) {
            *h = k.wrapping_sub(base) as u16;
        }
        j += row.len();
    }
    out
}

/// Whether the keys of sample kind `kind` (`Params::kind`) fit 16 bits, the i16 ones less
/// `PACK16_I16_BASE`.
pub fn kind_packs_16(kind: u32) -> bool {
    use crate::sample::SampleKind;
    [SampleKind::U8, SampleKind::U16, SampleKind::I16]
        .iter()
        .any(|k| k.code() == kind)
}

/// The bits of `plane` (a bit plane over the raster's `ext`) for the samples [`pack`] packs,
/// in the same order.
pub fn pack_bits(raster: &Plane, batch: &Batch, plane: &[u32]) -> Vec<u32> {
    let (n, rows) = batch_rows(raster, batch);
    let mut bits = vec![0u32; n.div_ceil(32)];
    for (j, i) in rows.into_iter().flatten().enumerate() {
        if crate::cpu::plane_bit(plane, i as u32) {
            bits[j >> 5] |= 1 << (j & 31);
        }
    }
    bits
}

/// Cut the scene into batches for `engine` and run `f` on each (with `params.n_tiles` set and
/// the batch's samples and water bits packed, or the whole rows lent in place): in parallel on
/// the CPU, in order on the GPU. Returns the tile size used, the batches and the results in
/// batch order.
fn map_batches<T: Send>(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
    f: impl Fn(&Params, &Batch, &[u32], &[u32], &[u32]) -> Result<T> + Sync + Send,
) -> Result<(u32, Vec<Batch>, Vec<T>)> {
    let conn = crate::cpu::conn(params);
    let r = if params.flags & FLAG_CFAR != 0 {
        params.cfar_rb
    } else {
        0
    };
    let tile = effective_tile_size(engine, tile_size, conn, r);
    let grid = tile_grid(raster.width, raster.height, tile);
    let mut lim = engine.batch_limits();
    if engine.parallel() {
        // One tile a batch: tiles are the unit of host parallelism.
        lim.max_tiles = 1;
    }
    let halo = (params.flags & FLAG_CFAR != 0).then_some(Halo {
        r,
        width: raster.width,
        rows: raster.ext_rows(),
        top: raster.top,
    });
    let batches = batches(&grid, conn, &lim, halo.as_ref());
    let in_place = engine.reads_in_place() && raster.ext.len() <= u32::MAX as usize;
    let water = raster.water.unwrap_or(&[]);
    let stats = raster.stats.unwrap_or(&[]);
    // Packed copies of 16-bit samples go two to a word where the engine takes them so.
    let packed16 = !in_place && engine.packs_16bit() && kind_packs_16(params.kind);
    let mut params = *params;
    if packed16 {
        params.flags |= FLAG_PACK16;
    }
    let params = &params;
    let pack_batch = |b: &Batch| {
        let samples = if packed16 {
            pack16(raster, b, params.kind)
        } else {
            pack_samples(raster, b)
        };
        let ring = raster.stats.map_or(Vec::new(), |s| pack_bits(raster, b, s));
        (samples, pack_water(raster, b), ring)
    };
    let run = |b: &Batch| {
        let mut p = *params;
        p.n_tiles = b.tiles.len() as u32;
        if in_place {
            let mut b = b.clone();
            let w = raster.width;
            for (i, t) in b.tiles.iter_mut().enumerate() {
                t.pix_off = (raster.top + t.y0) * w + t.x0;
                t.stride = w;
                if let Some(c) = b.cfar.get_mut(i) {
                    c.ext_off = (raster.top + t.y0 - c.cy) * w + t.x0 - c.cx;
                    c.stride = w;
                }
            }
            f(&p, &b, raster.ext, water, stats)
        } else {
            let (samples, bits, ring) = pack_batch(b);
            f(&p, b, &samples, &bits, &ring)
        }
    };
    let outs = if engine.parallel() {
        batches.par_iter().map(run).collect::<Result<Vec<T>>>()?
    } else if in_place || batches.len() < 2 {
        batches.iter().map(run).collect::<Result<Vec<T>>>()?
    } else {
        // One batch after another on the device, the next one packed on a second thread
        // while the device works on this one (one packed batch waits at most).
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let batches = &batches;
            let pack_batch = &pack_batch;
            scope.spawn(move || {
                for b in batches {
                    if tx.send(pack_batch(b)).is_err() {
                        break; // the consumer stopped on an error
                    }
                }
            });
            let mut outs = Vec::with_capacity(batches.len());
            for (b, (samples, bits, ring)) in batches.iter().zip(rx) {
                let mut p = *params;
                p.n_tiles = b.tiles.len() as u32;
                outs.push(f(&p, b, &samples, &bits, &ring)?);
            }
            Ok::<_, crate::error::Error>(outs)
        })?
    };
    Ok((tile, batches, outs))
}

/// Effective tile size: the request, clamped to what one batch of the engine can hold (with
/// a CFAR halo of `halo` pixels around each tile; 0: none).
pub fn effective_tile_size(
    engine: &dyn Engine,
    requested: u32,
    conn: Connectivity,
    halo: u32,
) -> u32 {
    requested.clamp(
        1,
        crate::tiling::max_tile_side(&engine.batch_limits(), conn, halo),
    )
}

/// Label a whole scene: every tile's components and border labels.
pub fn label_scene(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
) -> Result<SceneLabels> {
    let (tile, batches, outs) =
        map_batches(engine, raster, params, tile_size, |p, b, s, wt, st| {
            engine.label(p, b, s, wt, st)
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

/// The CFAR targets (`params`, with `FLAG_CFAR`) of the core rows of `raster`, set in
/// `out` (a bit mask of the scene's width) at rows `y0 + row`: the first pass of a censored
/// CFAR.
pub fn cfar_mask_scene(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
    y0: u32,
    out: &mut crate::water::WaterMask,
) -> Result<()> {
    let (_, batches, masks) = map_batches(engine, raster, params, tile_size, |p, b, s, wt, _| {
        engine.cfar_mask(p, b, s, wt)
    })?;
    for (b, m) in batches.iter().zip(masks) {
        for t in &b.tiles {
            let bw = t.blocks_w();
            for y in 0..t.h {
                for x in 0..t.w {
                    let blk = m[(t.blk_off + (y / 2) * bw + x / 2) as usize];
                    if blk >> ((y & 1) * 2 + (x & 1)) & 1 != 0 {
                        out.set(t.x0 + x, y0 + t.y0 + y, true);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Histogram of the valid keys of a scene, with the binning in `params` (`hist_*`).
pub fn histogram_scene(
    engine: &dyn Engine,
    raster: &Plane,
    params: &Params,
    tile_size: u32,
) -> Result<Vec<u64>> {
    let (_, _, parts) = map_batches(engine, raster, params, tile_size, |p, b, s, _, _| {
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
    let (_, _, parts) = map_batches(engine, raster, params, tile_size, |p, b, s, _, _| {
        engine.minmax(p, b, s)
    })?;
    let lo = parts.iter().map(|m| m[0]).min().unwrap_or(u32::MAX);
    let hi = parts.iter().map(|m| m[1]).max().unwrap_or(0);
    // A scene of valid keys all equal to u32::MAX still has lo <= hi.
    let any = parts.iter().any(|m| m[0] <= m[1]);
    Ok(any.then_some((lo, hi)))
}
