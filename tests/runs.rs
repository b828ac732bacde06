//! The CPU backend's fused run-based pass (`src/cpu/runs.rs`) against the kernels' twins run one
//! by one, batch by batch: the same records (exact integers) and border labels, up to the
//! numbering of components. Random images, every tile size from 1 to past the scene, both
//! connectivities, nodata, water planes, and block masks as a CFAR pass hands them.

use proptest::prelude::*;
use vesselscan::cpu::{self, measure::R_FIRST, measure::R_TILE, runs, NONE};
use vesselscan::engine::cpu::{CpuEngine, CpuTwinEngine};
use vesselscan::engine::{pack, pack16, Engine, Plane};
use vesselscan::tiling::{
    batches, tile_grid, Batch, BatchLimits, Connectivity, Params, FLAG_NODATA, FLAG_PACK16,
    FLAG_WATER, REC_WORDS,
};

/// Records sorted by (tile, first pixel), and the border labels as those keys.
type Canonical = (Vec<Vec<u32>>, Vec<Option<(u32, u32)>>);

fn canonical(records: &[u32], border: &[u32]) -> Canonical {
    let recs: Vec<&[u32]> = records.chunks(REC_WORDS as usize).collect();
    let key = |c: u32| (recs[c as usize][R_TILE], recs[c as usize][R_FIRST]);
    let mut sorted: Vec<Vec<u32>> = recs.iter().map(|r| r.to_vec()).collect();
    sorted.sort_by_key(|r| (r[R_TILE], r[R_FIRST]));
    let b = border
        .iter()
        .map(|&c| (c != NONE).then(|| key(c)))
        .collect();
    (sorted, b)
}

fn params(threshold: u32, conn: Connectivity, flags: u32, n_tiles: usize) -> Params {
    Params {
        threshold_key: threshold,
        nodata_key: 7,
        flags,
        kind: 1,
        connectivity: if conn == Connectivity::Eight { 8 } else { 4 },
        n_tiles: n_tiles as u32,
        ..Default::default()
    }
}

/// Small batches (a few tiles each), so batch-local offsets are exercised.
fn small_batches(w: u32, h: u32, tile: u32, conn: Connectivity) -> Vec<Batch> {
    let lim = BatchLimits {
        max_pixels: 3 * tile as u64 * tile as u64,
        ..Default::default()
    };
    batches(&tile_grid(w, h, tile), conn, &lim, None)
}

#[allow(clippy::too_many_arguments)]
fn check(
    w: u32,
    h: u32,
    keys: &[u32],
    water: Option<&[u32]>,
    threshold: u32,
    nodata: bool,
    conn: Connectivity,
    tile: u32,
) {
    let mut plane = Plane::rows(w, keys);
    plane.water = water;
    let mut flags = 0;
    if nodata {
        flags |= FLAG_NODATA;
    }
    if water.is_some() {
        flags |= FLAG_WATER;
    }
    for batch in small_batches(w, h, tile, conn) {
        let (samples, bits) = pack(&plane, &batch);
        let p = params(threshold, conn, flags, batch.tiles.len());
        let fused = CpuEngine.label(&p, &batch, &samples, &bits, &[]).unwrap();
        let twins = CpuTwinEngine
            .label(&p, &batch, &samples, &bits, &[])
            .unwrap();
        assert_eq!(
            canonical(&fused.records, &fused.border),
            canonical(&twins.records, &twins.border),
            "{w}x{h} tile {tile} {conn:?} nodata {nodata} water {}",
            water.is_some()
        );
        assert!(!fused.records.is_empty() || fused.border.iter().all(|&c| c == NONE));
        // The twins on the samples two to a word, as the GPU takes 16-bit kinds.
        let mut p16 = p;
        p16.flags |= FLAG_PACK16;
        let packed = pack16(&plane, &batch, p.kind);
        let twins16 = CpuTwinEngine
            .label(&p16, &batch, &packed, &bits, &[])
            .unwrap();
        assert_eq!(
            canonical(&twins16.records, &twins16.border),
            canonical(&twins.records, &twins.border),
            "packed: {w}x{h} tile {tile} {conn:?} nodata {nodata}"
        );
    }
}

/// The twin chain on given block masks (what a CFAR pass writes).
fn twins_on_blocks(p: &Params, b: &Batch, samples: &[u32], mask: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut parent = vec![0; b.nodes as usize];
    let mut remap = vec![0; b.nodes as usize];
    let mut records = vec![0; (b.max_components * REC_WORDS) as usize];
    let mut border = vec![0; b.border as usize];
    let mut counters = [0u32; 4];
    let t = &b.tiles;
    cpu::init_roots(p, t, mask, &mut parent);
    cpu::label_merge::label_merge(p, t, mask, &mut parent);
    let c = &mut counters;
    cpu::label_compact::label_compact(p, t, mask, &mut parent, &mut remap, &mut records, c);
    cpu::measure::measure(p, t, samples, mask, &parent, &remap, &mut records);
    cpu::seam_export::seam_export(p, t, mask, &parent, &remap, &mut border);
    records.truncate((counters[0] * REC_WORDS) as usize);
    (records, border)
}

fn image() -> impl Strategy<Value = (u32, u32, Vec<u32>, u32, u32)> {
    (1u32..70, 1u32..70, 0u32..=100, any::<u64>(), 1u32..80).prop_map(
        |(w, h, density, seed, tile)| {
            // A small LCG: cheap, and the image follows from the shrinkable seed.
            let mut s = seed | 1;
            let keys = (0..w * h)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let r = (s >> 33) as u32 % 100;
                    if r < density {
                        500 + (s >> 20) as u32 % 1000
                    } else if r % 17 == 0 {
                        7 // nodata when the flag is on
                    } else {
                        (s >> 24) as u32 % 500
                    }
                })
                .collect();
            (w, h, keys, tile, (seed >> 7) as u32)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(6), ..ProptestConfig::default() })]

    #[test]
    fn fused_equals_twins((w, h, keys, tile, salt) in image(), eight in any::<bool>(), nodata in any::<bool>(), with_water in any::<bool>()) {
        let conn = if eight { Connectivity::Eight } else { Connectivity::Four };
        let water: Vec<u32> = (0..(w * h).div_ceil(32))
            .map(|i| (i.wrapping_mul(2654435761) ^ salt).rotate_left(i % 32) | 0x0101_0101)
            .collect();
        let water = with_water.then_some(&water[..]);
        check(w, h, &keys, water, 500, nodata, conn, tile);
    }

    #[test]
    fn fused_equals_twins_on_block_masks((w, h, keys, tile, salt) in image(), eight in any::<bool>()) {
        let conn = if eight { Connectivity::Eight } else { Connectivity::Four };
        for batch in small_batches(w, h, tile, conn) {
            let (samples, _) = pack(&Plane::rows(w, &keys), &batch);
            // Random 4-bit blocks with the bits outside each tile clear, as the CFAR kernel
            // writes them.
            let mut mask = vec![0u32; batch.blocks as usize];
            let mut s = salt as u64 | 1;
            for t in &batch.tiles {
                for by in 0..t.blocks_h() {
                    for bx in 0..t.blocks_w() {
                        s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                        let mut m = (s >> 40) as u32 & 15;
                        if bx * 2 + 1 >= t.w { m &= 5; }
                        if by * 2 + 1 >= t.h { m &= 3; }
                        mask[(t.blk_off + by * t.blocks_w() + bx) as usize] = m;
                    }
                }
            }
            let p = params(0, conn, 0, batch.tiles.len());
            let mut records = Vec::new();
            let mut border = vec![0u32; batch.border as usize];
            let mut scratch = runs::RunScratch::default();
            runs::label_batch(&p, &batch.tiles, &samples, &runs::Targets::Blocks(&mask), &mut scratch, &mut records, &mut border);
            let (tr, tb) = twins_on_blocks(&p, &batch, &samples, &mask);
            prop_assert_eq!(canonical(&records, &border), canonical(&tr, &tb));
        }
    }
}

#[test]
fn edge_cases() {
    use Connectivity::{Eight, Four};
    let (w, h) = (37, 29);
    let n = (w * h) as usize;
    let empty = vec![0u32; n];
    let full = vec![900u32; n];
    let chess: Vec<u32> = (0..n as u32)
        .map(|i| if (i % w + i / w) % 2 == 0 { 500 } else { 499 })
        .collect();
    let stripes: Vec<u32> = (0..n as u32)
        .map(|i| if (i % w) % 3 == 0 { 600 } else { 0 })
        .collect();
    for keys in [&empty, &full, &chess, &stripes] {
        for conn in [Eight, Four] {
            for tile in [1, 2, 3, 5, 8, 16, 36, 37, 64] {
                check(w, h, keys, None, 500, false, conn, tile);
            }
        }
    }
    // Runs across 64-bit words: a 200-wide row with runs ending at 63, 64, 127, 199.
    let (w, h) = (200u32, 3u32);
    let keys: Vec<u32> = (0..w * h)
        .map(|i| {
            let x = i % w;
            let hit = (10..=63).contains(&x) || x == 64 || (70..=127).contains(&x) || x >= 130;
            if hit {
                800
            } else {
                0
            }
        })
        .collect();
    for conn in [Eight, Four] {
        for tile in [1, 63, 64, 65, 128, 200] {
            check(w, h, &keys, None, 500, false, conn, tile);
        }
    }
}
