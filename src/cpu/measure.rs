//! CPU twin of `shaders/measure.wgsl`: per-component area, bounding box, first pixel, max key
//! and exact 64-bit sums of values, x, y, x*x, y*y and x*y, accumulated block by block.

use super::{node_of, NONE};
use crate::sample::SampleKind;
use crate::tiling::{Connectivity, Params, TileDesc, REC_WORDS};

// Record words. Keep in sync with `R_*` in `shaders/common.wgsl`.
pub const R_AREA: usize = 0;
pub const R_X0: usize = 1;
pub const R_Y0: usize = 2;
pub const R_X1: usize = 3;
pub const R_Y1: usize = 4;
pub const R_FIRST: usize = 5;
pub const R_MAX: usize = 6;
pub const R_SUM_LO: usize = 7;
pub const R_SX_LO: usize = 9;
pub const R_SY_LO: usize = 11;
pub const R_TILE: usize = 13;
pub const R_SXX_LO: usize = 14;
pub const R_SYY_LO: usize = 16;
pub const R_SXY_LO: usize = 18;

/// What a pixel adds to its component's sum (`addend` in the kernel), as an i64:
/// integer kinds their value, f32 `trunc(v * 2^s)` with `scale` the bits of the f32 2^s,
/// saturated at +-2147483520 (exactly as the kernel computes it).
#[inline]
pub fn addend(kind: u32, scale: u32, key: u32) -> i64 {
    const I16: u32 = 2;
    const F32: u32 = 4;
    debug_assert_eq!(SampleKind::I16.code(), I16);
    debug_assert_eq!(SampleKind::F32.code(), F32);
    match kind {
        I16 => (key ^ 0x8000_0000) as i32 as i64,
        F32 => {
            let bits = if key & 0x8000_0000 != 0 {
                key & 0x7FFF_FFFF
            } else {
                !key
            };
            let w = (f32::from_bits(bits) * f32::from_bits(scale))
                .clamp(-2_147_483_520.0, 2_147_483_520.0);
            w as i32 as i64
        }
        _ => key as i64,
    }
}

#[inline]
fn add64(rec: &mut [u32], i: usize, v: u64) {
    let old = rec[i] as u64 | (rec[i + 1] as u64) << 32;
    let new = old.wrapping_add(v);
    rec[i] = new as u32;
    rec[i + 1] = (new >> 32) as u32;
}

#[derive(Clone, Copy)]
pub(crate) struct Acc {
    pub(crate) cid: u32,
    pub(crate) area: u32,
    pub(crate) x0: u32,
    pub(crate) y0: u32,
    pub(crate) x1: u32,
    pub(crate) y1: u32,
    pub(crate) first: u32,
    pub(crate) max_key: u32,
    pub(crate) sum: i64,
    pub(crate) sx: u64,
    pub(crate) sy: u64,
    pub(crate) sxx: u64,
    pub(crate) syy: u64,
    pub(crate) sxy: u64,
}

impl Acc {
    pub(crate) fn new(cid: u32) -> Acc {
        Acc {
            cid,
            area: 0,
            x0: NONE,
            y0: NONE,
            x1: 0,
            y1: 0,
            first: NONE,
            max_key: 0,
            sum: 0,
            sx: 0,
            sy: 0,
            sxx: 0,
            syy: 0,
            sxy: 0,
        }
    }

    /// Add another partial record of the same component.
    pub(crate) fn absorb(&mut self, o: &Acc) {
        self.area += o.area;
        self.x0 = self.x0.min(o.x0);
        self.y0 = self.y0.min(o.y0);
        self.x1 = self.x1.max(o.x1);
        self.y1 = self.y1.max(o.y1);
        self.first = self.first.min(o.first);
        self.max_key = self.max_key.max(o.max_key);
        self.sum = self.sum.wrapping_add(o.sum);
        self.sx += o.sx;
        self.sy += o.sy;
        self.sxx += o.sxx;
        self.syy += o.syy;
        self.sxy += o.sxy;
    }

    /// Add pixel (x, y) (tile-local) to the sums of coordinates.
    #[inline(always)]
    fn add_xy(&mut self, x: u32, y: u32) {
        let (x, y) = (x as u64, y as u64);
        self.sx += x;
        self.sy += y;
        self.sxx += x * x;
        self.syy += y * y;
        self.sxy += x * y;
    }

    pub(crate) fn flush(&self, records: &mut [u32]) {
        let r = self.cid as usize * REC_WORDS as usize;
        // As the kernel: components past the records buffer are not measured.
        let Some(rec) = records.get_mut(r..r + REC_WORDS as usize) else {
            return;
        };
        if self.area == 0 {
            return;
        }
        rec[R_AREA] = rec[R_AREA].wrapping_add(self.area);
        rec[R_X0] = rec[R_X0].min(self.x0);
        rec[R_Y0] = rec[R_Y0].min(self.y0);
        rec[R_X1] = rec[R_X1].max(self.x1);
        rec[R_Y1] = rec[R_Y1].max(self.y1);
        rec[R_FIRST] = rec[R_FIRST].min(self.first);
        rec[R_MAX] = rec[R_MAX].max(self.max_key);
        add64(rec, R_SUM_LO, self.sum as u64);
        add64(rec, R_SX_LO, self.sx);
        add64(rec, R_SY_LO, self.sy);
        add64(rec, R_SXX_LO, self.sxx);
        add64(rec, R_SYY_LO, self.syy);
        add64(rec, R_SXY_LO, self.sxy);
    }
}

#[allow(clippy::too_many_arguments)]
pub fn measure(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    mask: &[u32],
    parent: &[u32],
    remap: &[u32],
    records: &mut [u32],
) {
    let samples = &*super::keys(params, samples);
    // The kind decides the addend: pick it once, outside the pixel loops.
    match params.kind {
        2 => measure_kind(params, tiles, samples, mask, parent, remap, records, |k| {
            addend(2, 0, k)
        }),
        4 => {
            let scale = params.sum_scale;
            measure_kind(params, tiles, samples, mask, parent, remap, records, |k| {
                addend(4, scale, k)
            })
        }
        _ => measure_kind(params, tiles, samples, mask, parent, remap, records, |k| {
            k as i64
        }),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn measure_kind(
    params: &Params,
    tiles: &[TileDesc],
    samples: &[u32],
    mask: &[u32],
    parent: &[u32],
    remap: &[u32],
    records: &mut [u32],
    add: impl Fn(u32) -> i64,
) {
    let c = super::conn(params);
    for t in tiles {
        let bw = t.blocks_w();
        let w = t.stride as usize;
        let px = &samples[t.pix_off as usize..];
        for by in 0..t.blocks_h() {
            let row = &mask[(t.blk_off + by * bw) as usize..(t.blk_off + (by + 1) * bw) as usize];
            let mut run = Acc::new(NONE);
            for (bx, &m) in (0..bw).zip(row) {
                if m == 0 {
                    continue;
                }
                if c == Connectivity::Eight {
                    // One node a block: the whole block is one component. Same totals as the
                    // kernel's pixel loop, from the mask bits directly; consecutive blocks of
                    // one component in a row are combined before they touch the record.
                    let cid = remap[parent[(t.node_off + by * bw + bx) as usize] as usize];
                    let (x, y) = (bx * 2, by * 2);
                    let i0 = y as usize * w + x as usize;
                    let mut sum = 0i64;
                    let mut max_key = 0u32;
                    for i in 0..4u32 {
                        if (m >> i) & 1 != 0 {
                            let k = px[i0 + (i >> 1) as usize * w + (i & 1) as usize];
                            sum = sum.wrapping_add(add(k));
                            max_key = max_key.max(k);
                        }
                    }
                    let area = m.count_ones();
                    let first = if m & 3 != 0 {
                        y * t.w + x + (m & 1 == 0) as u32
                    } else {
                        (y + 1) * t.w + x + (m & 4 == 0) as u32
                    };
                    let mut b = Acc {
                        cid,
                        area,
                        x0: x + (m & 5 == 0) as u32,
                        y0: y + (m & 3 == 0) as u32,
                        x1: x + (m & 10 != 0) as u32,
                        y1: y + (m & 12 != 0) as u32,
                        first,
                        max_key,
                        sum,
                        ..Acc::new(cid)
                    };
                    // Sums over the set bits of (x + dx, y + dy), dx, dy in {0, 1}, in closed
                    // form: cx bits have dx = 1, cy have dy = 1, c11 both.
                    let (n, x, y) = (area as u64, x as u64, y as u64);
                    let cx = (m & 10).count_ones() as u64;
                    let cy = (m & 12).count_ones() as u64;
                    let c11 = ((m >> 3) & 1) as u64;
                    b.sx = n * x + cx;
                    b.sy = n * y + cy;
                    b.sxx = n * x * x + (2 * x + 1) * cx;
                    b.syy = n * y * y + (2 * y + 1) * cy;
                    b.sxy = n * x * y + x * cy + y * cx + c11;
                    if run.cid == cid && run.area != 0 {
                        run.absorb(&b);
                    } else {
                        run.flush(records);
                        run = b;
                    }
                    continue;
                }
                let mut acc = Acc::new(NONE);
                for i in 0..4 {
                    if (m >> i) & 1 == 0 {
                        continue;
                    }
                    let x = bx * 2 + (i & 1);
                    let y = by * 2 + (i >> 1);
                    let node = node_of(t, c, x, y);
                    let cid = remap[parent[node as usize] as usize];
                    if cid != acc.cid {
                        acc.flush(records);
                        acc = Acc::new(cid);
                    }
                    let key = px[y as usize * w + x as usize];
                    acc.sum = acc.sum.wrapping_add(add(key));
                    acc.area += 1;
                    acc.x0 = acc.x0.min(x);
                    acc.y0 = acc.y0.min(y);
                    acc.x1 = acc.x1.max(x);
                    acc.y1 = acc.y1.max(y);
                    acc.first = acc.first.min(y * t.w + x);
                    acc.max_key = acc.max_key.max(key);
                    acc.add_xy(x, y);
                }
                acc.flush(records);
            }
            run.flush(records);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::key_f32;

    #[test]
    fn f32_addend_is_fixed_point() {
        let s16 = 65536f32.to_bits();
        assert_eq!(addend(4, s16, key_f32(1.5)), 98304);
        assert_eq!(addend(4, s16, key_f32(-1.5)), -98304);
        assert_eq!(addend(4, s16, key_f32(1e-9)), 0);
        assert_eq!(addend(4, s16, key_f32(30000.0)), 1_966_080_000);
        assert_eq!(addend(4, s16, key_f32(f32::INFINITY)), 2_147_483_520);
        assert_eq!(addend(4, s16, key_f32(f32::NEG_INFINITY)), -2_147_483_520);
        let tiny = (2f32).powi(-90).to_bits();
        assert_eq!(
            addend(4, tiny, key_f32(1e30)),
            (1e30f64 * 2f64.powi(-90)) as i64
        );
        assert_eq!(addend(2, 0, crate::sample::key_i16(-7)), -7);
        assert_eq!(addend(1, 0, 65535), 65535);
        assert_eq!(addend(3, 0, u32::MAX), u32::MAX as i64);
    }
}
