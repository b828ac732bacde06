//! Tiles and batches: how a scene is cut so every stage fits WebGPU's default limits.
//!
//! The scene is cut into a grid of `tile_size` x `tile_size` tiles (edge tiles smaller). Each tile
//! is labelled on its own; components that cross seams are joined afterwards by
//! [`crate::seams`], so results are identical for every tile size. Tiles are grouped into
//! **batches**: all buffers of one batch (samples, masks, union-find parents, records) fit the
//! storage-binding limit, and every kernel dispatch covers all tiles of a batch at once
//! (`workgroup_id.z` is the tile), so tiny tiles cost no more dispatches than big ones.
//!
//! [`TileDesc`] and [`Params`] are shared with WGSL: keep in sync with `shaders/common.wgsl`.

use bytemuck::{Pod, Zeroable};

/// One tile of a batch. Keep in sync with `struct TileDesc` in `shaders/common.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct TileDesc {
    /// Size in pixels.
    pub w: u32,
    pub h: u32,
    /// Offset of the tile's first sample in the batch's `samples` array.
    pub pix_off: u32,
    /// Offset of the tile's first 2x2 block in the batch's `mask` array.
    pub blk_off: u32,
    /// Offset of the tile's first union-find node in `parent` / `remap` (a node is a 2x2 block
    /// for 8-connectivity, a pixel for 4-connectivity).
    pub node_off: u32,
    /// Offset of the tile's border labels in `border` (2 * (w + h) entries: top row, bottom row,
    /// left column, right column).
    pub border_off: u32,
    /// Scene position of the tile's top-left pixel (used by the host only).
    pub x0: u32,
    pub y0: u32,
    /// Distance in `samples` between rows: `w` for packed batches (the GPU's), the scene width
    /// when a CPU tile reads the scene in place.
    pub stride: u32,
}

impl TileDesc {
    pub fn blocks_w(&self) -> u32 {
        self.w.div_ceil(2)
    }
    pub fn blocks_h(&self) -> u32 {
        self.h.div_ceil(2)
    }
    pub fn blocks(&self) -> u32 {
        self.blocks_w() * self.blocks_h()
    }
    pub fn pixels(&self) -> u32 {
        self.w * self.h
    }
    /// Union-find nodes per row.
    pub fn nodes_w(&self, conn: Connectivity) -> u32 {
        match conn {
            Connectivity::Eight => self.blocks_w(),
            Connectivity::Four => self.w,
        }
    }
    pub fn nodes_h(&self, conn: Connectivity) -> u32 {
        match conn {
            Connectivity::Eight => self.blocks_h(),
            Connectivity::Four => self.h,
        }
    }
    pub fn nodes(&self, conn: Connectivity) -> u32 {
        self.nodes_w(conn) * self.nodes_h(conn)
    }
    /// The most components this tile can hold: one per 2x2 block for 8-connectivity, a
    /// chessboard's ceil(w*h/2) for 4-connectivity.
    pub fn max_components(&self, conn: Connectivity) -> u32 {
        match conn {
            Connectivity::Eight => self.blocks(),
            Connectivity::Four => self.pixels().div_ceil(2),
        }
    }
    pub fn border_len(&self) -> u32 {
        2 * (self.w + self.h)
    }
}

/// Pixel connectivity of components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub enum Connectivity {
    #[serde(rename = "4")]
    Four,
    #[default]
    #[serde(rename = "8")]
    Eight,
}

impl Connectivity {
    pub fn code(self) -> u32 {
        match self {
            Connectivity::Four => 4,
            Connectivity::Eight => 8,
        }
    }
}

/// Uniform parameters of every kernel. Keep in sync with `struct Params` in
/// `shaders/common.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Params {
    /// A pixel is a target when `key >= threshold_key` (and it is not nodata).
    pub threshold_key: u32,
    /// Key of the nodata value, used when `flags & FLAG_NODATA`.
    pub nodata_key: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
    /// `SampleKind::code()`.
    pub kind: u32,
    /// 4 or 8.
    pub connectivity: u32,
    /// Tiles in this batch.
    pub n_tiles: u32,
    /// Histogram: lowest key binned, and right shift of `key - hist_min` to a bin.
    pub hist_min: u32,
    pub hist_shift: u32,
    /// Histogram bins (bins past it are clamped into the last).
    pub hist_bins: u32,
    /// f32 scenes: bits of the f32 2^s by which values are scaled into fixed-point sums
    /// (see [`crate::sample::f32_sum_exponent`]).
    pub sum_scale: u32,
    /// CFAR levels: `level = min((key - level_min) >> level_shift, 65535)` (0 below
    /// `level_min`). The identity for u8/u16/i16 keys; a 16-bit quantisation of the scene's
    /// range for u32/f32 (see `crate::cfar`).
    pub level_min: u32,
    pub level_shift: u32,
    /// CFAR (when `flags & FLAG_CFAR`): guard and background half-widths in pixels (windows of
    /// 2r+1 pixels a side, `cfar_rg < cfar_rb <= CFAR_MAX_RADIUS`).
    pub cfar_rg: u32,
    pub cfar_rb: u32,
    /// CFAR factor k in 1/256 (k = cfar_k256 / 256).
    pub cfar_k256: u32,
    /// CFAR: fewest background pixels (valid, water) the ring must hold for a decision.
    pub cfar_min_n: u32,
}

/// One tile's halo for the CFAR kernels: the tile's extended rectangle (the tile plus up to
/// `cfar_rb` pixels around it, clipped to the rows at hand) in the batch's `samples`. Keep in
/// sync with `struct CfarTile` in `shaders/common.wgsl`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct CfarTile {
    /// Offset of the extended rectangle's first sample in `samples`; its size; row pitch.
    pub ext_off: u32,
    pub ext_w: u32,
    pub ext_h: u32,
    pub stride: u32,
    /// Position of the tile's top-left pixel inside the extended rectangle.
    pub cx: u32,
    pub cy: u32,
    /// Offset (in entries of `CFAR_ROW_WORDS` u32) of the tile's row sums in `rowsums`:
    /// `ext_h` rows of `w` (the tile's width) entries.
    pub sum_off: u32,
    pub _pad: u32,
}

/// Words of one row-sum entry: count, sum, sum of squares (lo, hi) of the guard window's row
/// segment, then the same for the background window's.
pub const CFAR_ROW_WORDS: u32 = 8;

/// Largest CFAR background half-width: a 255 x 255 window keeps the ring's integer sums exact
/// in the kernels' words (sum < 2^32, count * sum of squares < 2^64).
pub const CFAR_MAX_RADIUS: u32 = 127;

/// `Params.flags`: targets are decided by the two-parameter CFAR (`cfar_*`), not (only) by the
/// threshold, which stays a floor.
pub const FLAG_CFAR: u32 = 8;
/// `Params.flags`: a water bit plane is bound; pixels whose bit is 0 (land) are never targets
/// and are left out of CFAR backgrounds.
pub const FLAG_WATER: u32 = 16;
/// `Params.flags`: `samples` holds two keys a word (16-bit kinds: u8, u16, i16), pixel `i` in
/// the low half of word `i / 2` when `i` is even; i16 keys less [`PACK16_I16_BASE`]. See
/// `sample_key` in `shaders/common.wgsl` and [`crate::engine::pack16`].
pub const FLAG_PACK16: u32 = 32;
/// What FLAG_PACK16 takes from i16 keys (the lowest: `key_i16(i16::MIN)`) to fit them in 16
/// bits.
pub const PACK16_I16_BASE: u32 = 0x7FFF_8000;

/// `Params.flags`: the scene has a nodata value (`nodata_key`).
pub const FLAG_NODATA: u32 = 1;
/// `Params.flags`: `NAN_KEY` is nodata (f32 scenes).
pub const FLAG_NAN: u32 = 2;
/// `Params.flags`: no pixel is a target (the threshold is above every possible value).
pub const FLAG_NONE: u32 = 4;

/// Grid of tiles over a `width` x `height` scene, in raster order.
pub fn tile_grid(width: u32, height: u32, tile_size: u32) -> Vec<(u32, u32, u32, u32)> {
    let t = tile_size.max(1);
    let mut v = Vec::new();
    let mut y = 0;
    while y < height {
        let h = t.min(height - y);
        let mut x = 0;
        while x < width {
            let w = t.min(width - x);
            v.push((x, y, w, h));
            x += w;
        }
        y += h;
    }
    v
}

/// Limits a batch must respect (bytes per binding, tiles per dispatch).
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// Largest storage binding in bytes (WebGPU default 128 MiB).
    pub max_binding: u64,
    /// Most tiles in one batch (workgroups per dimension: 65535).
    pub max_tiles: u32,
    /// Soft cap on pixels per batch (keeps batches a sensible size).
    pub max_pixels: u64,
    /// The engine sizes the records buffer by the components a batch has, not the most it
    /// could have (the GPU: see `engine::gpu`), so that worst case does not bound a batch.
    pub records_on_demand: bool,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_binding: 128 << 20,
            max_tiles: 65535,
            max_pixels: 1 << 22,
            records_on_demand: false,
        }
    }
}

/// Record words per component. Keep in sync with `REC_WORDS` in `shaders/common.wgsl`.
pub const REC_WORDS: u32 = 20;

/// Sizes of one batch's arrays, in elements.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub tiles: Vec<TileDesc>,
    /// Index in the scene's tile grid of `tiles[0]`.
    pub first_tile: usize,
    pub pixels: u32,
    pub blocks: u32,
    pub nodes: u32,
    pub border: u32,
    pub max_components: u32,
    /// CFAR batches: each tile's halo (same order as `tiles`), the samples of all extended
    /// rectangles (the batch's `samples` length) and the row-sum entries. Empty / 0 otherwise.
    pub cfar: Vec<CfarTile>,
    pub ext_pixels: u32,
    pub rowsums: u32,
}

/// Where the rows a batch is cut from sit, for the CFAR halo: the rows at hand are `rows`
/// rows of `width` pixels, the tile grid's row 0 is row `top` of them, and every tile reaches
/// `r` pixels beyond its edges (clipped to the rows at hand).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Halo {
    pub r: u32,
    pub width: u32,
    pub rows: u32,
    pub top: u32,
}

impl Halo {
    /// Extended rectangle `(x0, y0, w, h)` (in the rows at hand) of tile `(x, y, w, h)`.
    pub fn ext(&self, x: u32, y: u32, w: u32, h: u32) -> (u32, u32, u32, u32) {
        let ex0 = x.saturating_sub(self.r);
        let ex1 = (x + w).saturating_add(self.r).min(self.width);
        let ey0 = (self.top + y).saturating_sub(self.r);
        let ey1 = (self.top + y + h).saturating_add(self.r).min(self.rows);
        (ex0, ey0, ex1 - ex0, ey1 - ey0)
    }
}

/// What a tile adds to a batch.
fn tile_sizes(w: u32, h: u32, conn: Connectivity) -> (u64, u64, u64, u64, u64) {
    let t = TileDesc {
        w,
        h,
        ..Default::default()
    };
    (
        t.pixels() as u64,
        t.blocks() as u64,
        t.nodes(conn) as u64,
        t.border_len() as u64,
        t.max_components(conn) as u64,
    )
}

impl Batch {
    /// Would the batch still fit `lim` with one more tile of `w` x `h` (extended to `ext`
    /// `(w, h)` for CFAR)?
    fn fits_with(
        &self,
        w: u32,
        h: u32,
        ext: Option<(u32, u32)>,
        conn: Connectivity,
        lim: &BatchLimits,
    ) -> bool {
        let (p, b, n, bo, mc) = tile_sizes(w, h, conn);
        let bytes = lim.max_binding;
        let pixels = self.pixels as u64 + p;
        let cfar_fits = ext.is_none_or(|(ew, eh)| {
            (self.ext_pixels as u64 + ew as u64 * eh as u64) * 4 <= bytes
                && (self.rowsums as u64 + eh as u64 * w as u64) * CFAR_ROW_WORDS as u64 * 4 <= bytes
        });
        pixels * 4 <= bytes
            && cfar_fits
            && pixels <= lim.max_pixels.max(1)
            && (self.blocks as u64 + b) * 4 <= bytes
            && (self.nodes as u64 + n) * 4 <= bytes
            && (self.border as u64 + bo) * 4 <= bytes
            && (lim.records_on_demand
                || (self.max_components as u64 + mc) * (REC_WORDS as u64) * 4 <= bytes)
            && (self.tiles.len() as u64) < lim.max_tiles as u64
    }

    fn push(
        &mut self,
        (x0, y0, w, h): (u32, u32, u32, u32),
        halo: Option<&Halo>,
        conn: Connectivity,
    ) {
        let mut t = TileDesc {
            w,
            h,
            pix_off: self.pixels,
            blk_off: self.blocks,
            node_off: self.nodes,
            border_off: self.border,
            x0,
            y0,
            stride: w,
        };
        if let Some(halo) = halo {
            // Samples are the extended rectangles, packed; the tile reads its core in place.
            let (ex0, ey0, ew, eh) = halo.ext(x0, y0, w, h);
            let c = CfarTile {
                ext_off: self.ext_pixels,
                ext_w: ew,
                ext_h: eh,
                stride: ew,
                cx: x0 - ex0,
                cy: halo.top + y0 - ey0,
                sum_off: self.rowsums,
                _pad: 0,
            };
            t.pix_off = c.ext_off + c.cy * ew + c.cx;
            t.stride = ew;
            self.ext_pixels += ew * eh;
            self.rowsums += eh * w;
            self.cfar.push(c);
        }
        self.pixels += t.pixels();
        self.blocks += t.blocks();
        self.nodes += t.nodes(conn);
        self.border += t.border_len();
        self.max_components += t.max_components(conn);
        self.tiles.push(t);
    }
}

/// Largest square tile side whose one-tile batch fits `lim`, with a CFAR halo of `halo`
/// pixels around it (0: none).
pub fn max_tile_side(lim: &BatchLimits, conn: Connectivity, halo: u32) -> u32 {
    // One tile's worst case of records always fits a binding, records on demand or not.
    let lim = &BatchLimits {
        records_on_demand: false,
        ..*lim
    };
    let mut lo = 1u32;
    let mut hi = 1u32 << 16;
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let ext = (halo > 0).then(|| (mid + 2 * halo, mid + 2 * halo));
        if Batch::default().fits_with(mid, mid, ext, conn, lim) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Group a tile grid into batches that fit `lim`. Every tile must fit a batch on its own
/// (callers clamp the tile size with [`max_tile_side`]). With a `halo`, each tile also gets its
/// extended rectangle ([`Batch::cfar`]) and reads its samples from the packed rectangles.
pub fn batches(
    grid: &[(u32, u32, u32, u32)],
    conn: Connectivity,
    lim: &BatchLimits,
    halo: Option<&Halo>,
) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut cur = Batch::default();
    for (i, &(x, y, w, h)) in grid.iter().enumerate() {
        let ext = halo.map(|hl| {
            let e = hl.ext(x, y, w, h);
            (e.2, e.3)
        });
        if !cur.tiles.is_empty() && !cur.fits_with(w, h, ext, conn, lim) {
            out.push(std::mem::take(&mut cur));
        }
        if cur.tiles.is_empty() {
            cur.first_tile = i;
        }
        cur.push((x, y, w, h), halo, conn);
    }
    if !cur.tiles.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_wgsl() {
        assert_eq!(std::mem::size_of::<TileDesc>(), 36);
        assert_eq!(std::mem::size_of::<Params>(), 64);
        assert_eq!(std::mem::size_of::<CfarTile>(), 32);
    }

    #[test]
    fn grid_covers_scene() {
        for (w, h, t) in [(10, 7, 3), (1, 1, 1), (5, 5, 100), (64, 64, 64)] {
            let g = tile_grid(w, h, t);
            let area: u32 = g.iter().map(|t| t.2 * t.3).sum();
            assert_eq!(area, w * h);
        }
    }

    #[test]
    fn batching_a_million_tiny_tiles() {
        // Linear in tiles (this once cloned the batch per tile: 30 s here).
        let g = tile_grid(1024, 1024, 1);
        let b = batches(&g, Connectivity::Eight, &BatchLimits::default(), None);
        assert_eq!(b.len(), (1usize << 20).div_ceil(65535));
        assert_eq!(b.iter().map(|b| b.tiles.len()).sum::<usize>(), 1 << 20);
    }

    #[test]
    fn batches_respect_limits() {
        let lim = BatchLimits::default();
        assert_eq!(max_tile_side(&lim, Connectivity::Eight, 0), 2048);
        // 4-connectivity: up to w*h/2 components (a checkerboard) of 80-byte records.
        let four = max_tile_side(&lim, Connectivity::Four, 0);
        assert!((1800..2048).contains(&four), "{four}");
        let g = tile_grid(1000, 900, 7);
        let b = batches(&g, Connectivity::Eight, &lim, None);
        assert_eq!(b.iter().map(|b| b.tiles.len()).sum::<usize>(), g.len());
        let small = BatchLimits {
            max_binding: 4096,
            max_tiles: 10,
            max_pixels: 1 << 22,
            records_on_demand: false,
        };
        let b = batches(&g, Connectivity::Four, &small, None);
        assert!(b
            .iter()
            .all(|b| b.pixels * 4 <= 4096 && b.max_components * REC_WORDS * 4 <= 4096));
        assert!(b.iter().all(|b| b.tiles.len() <= 10));
        // Records on demand: the worst case of records no longer bounds a batch (fewer, larger
        // batches), but it still bounds the tile side (one tile's worst case must fit).
        let on_demand = BatchLimits {
            records_on_demand: true,
            ..small
        };
        let b2 = batches(&g, Connectivity::Four, &on_demand, None);
        assert!(b2.len() < b.len(), "{} vs {}", b2.len(), b.len());
        assert!(b2
            .iter()
            .all(|b| b.pixels * 4 <= 4096 && b.tiles.len() <= 10));
        assert!(b2.iter().any(|b| b.max_components * REC_WORDS * 4 > 4096));
        for conn in [Connectivity::Four, Connectivity::Eight] {
            assert_eq!(
                max_tile_side(&on_demand, conn, 0),
                max_tile_side(&small, conn, 0)
            );
        }
        assert_eq!(b.iter().map(|b| b.tiles.len()).sum::<usize>(), g.len());
    }
}
