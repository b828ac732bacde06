//! The pictures of a run: `--quicklook` (the scene reduced to at most `--quicklook-width`
//! pixels across, stretched between its 2nd and 98th percentiles, every detection's oriented
//! box drawn) and `--chips DIR` (a PNG crop around each detection, `<id>.png` with the id
//! zero-padded to 5 digits). The overview is built while the scene is labelled (no extra
//! read); chips take one more pass over the windows, with a halo that holds every chip.

use super::quicklook::{
    chip_outlined, draw_cross, draw_outlines, draw_outlines_in, save_png, GreyOverview, Outline,
    Overview, AIS_ONLY, MATCHED,
};
use crate::detections::Detection;
use crate::error::{Error, Result};
use crate::read::window::{for_each_window, RasterSource};
use crate::sample::SampleKind;
use std::path::PathBuf;

/// Percentiles of the stretch.
pub const STRETCH_PERCENTILES: (f64, f64) = (2.0, 98.0);
/// Largest side of a chip, scene pixels (a larger object is cropped around its centre).
pub const CHIP_MAX_SIDE: u32 = 256;
/// Context around an object in a chip, pixels (at least; half the object's size if larger).
pub const CHIP_MARGIN: u32 = 16;

/// The pictures asked for.
#[derive(Debug, Clone, Default)]
pub struct Pictures {
    pub quicklook: Option<PathBuf>,
    pub quicklook_width: u32,
    pub chips: Option<PathBuf>,
}

impl Pictures {
    pub fn wanted(&self) -> bool {
        self.quicklook.is_some() || self.chips.is_some()
    }
}

fn outline(d: &Detection) -> Outline {
    Outline {
        id: d.id,
        corners: d.obox,
    }
}

/// The stretch of an overview (0..1 when it holds no valid value).
pub fn stretch_of(ov: &GreyOverview) -> (f64, f64) {
    ov.percentiles(STRETCH_PERCENTILES.0, STRETCH_PERCENTILES.1)
        .unwrap_or((0.0, 1.0))
}

/// Write the quicklook of `ov` with `dets` drawn on it: red boxes, or with AIS red for dark
/// detections and green for matched ones, and a cyan cross at each of `ais_only` (scene pixel
/// positions of AIS vessels no detection matched).
pub fn write_quicklook(
    path: &std::path::Path,
    ov: &GreyOverview,
    dets: &[Detection],
    ais_only: &[(f64, f64)],
) -> Result<()> {
    let (lo, hi) = stretch_of(ov);
    let mut img = ov.to_rgb(lo, hi);
    let (matched, rest): (Vec<&Detection>, Vec<&Detection>) =
        dets.iter().partition(|d| d.ais.dark == Some(false));
    let outlines: Vec<Outline> = rest.into_iter().map(outline).collect();
    draw_outlines(&mut img, ov.factor, &outlines);
    let outlines: Vec<Outline> = matched.into_iter().map(outline).collect();
    draw_outlines_in(&mut img, ov.factor, &outlines, MATCHED);
    for &(x, y) in ais_only {
        draw_cross(&mut img, ov.factor, x, y, AIS_ONLY);
    }
    save_png(path, &img)
}

/// Write one chip per detection into `dir` (created if missing), reading `src` again in
/// windows of `rows` rows. Returns the number written.
#[allow(clippy::too_many_arguments)]
pub fn write_chips(
    dir: &std::path::Path,
    src: &mut dyn RasterSource,
    rows: u32,
    kind: SampleKind,
    nodata_key: Option<u32>,
    stretch: (f64, f64),
    dets: &[Detection],
) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_owned(),
        source,
    })?;
    if dets.is_empty() {
        return Ok(0);
    }
    let width = src.info().width;
    // Each chip is cut from the window whose core holds the centre row of its (capped) box.
    let mut by_row: Vec<(u64, usize)> = dets
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.bbox[1] + d.bbox[3]) / 2, i))
        .collect();
    by_row.sort_unstable();
    let halo = CHIP_MAX_SIDE / 2 + CHIP_MARGIN + 1;
    let mut next = 0;
    let mut written = 0;
    for_each_window(src, rows, halo, &mut |w| {
        while next < by_row.len() && by_row[next].0 < w.y1 as u64 {
            let d = &dets[by_row[next].1];
            next += 1;
            // The box capped to CHIP_MAX_SIDE around its centre, so its rows are in the window.
            let cap = |a: u64, b: u64| {
                let c = (a + b) / 2;
                let h = (CHIP_MAX_SIDE / 2) as u64;
                (a.max(c.saturating_sub(h)), b.min(c + h))
            };
            let (x0, x1) = cap(d.bbox[0], d.bbox[2]);
            let (y0, y1) = cap(d.bbox[1], d.bbox[3]);
            let side = (x1 - x0).max(y1 - y0) as u32;
            let margin = CHIP_MARGIN.max(side / 2);
            let rows_held = w.bottom() - w.top;
            let Some(img) = chip_outlined(
                kind,
                w.keys,
                width,
                w.top,
                rows_held,
                [x0, y0, x1, y1],
                margin,
                CHIP_MAX_SIDE,
                stretch.0,
                stretch.1,
                nodata_key,
                Some(&outline(d)),
            ) else {
                continue;
            };
            save_png(&dir.join(format!("{:05}.png", d.id)), &img)?;
            written += 1;
        }
        Ok(())
    })?;
    Ok(written)
}

/// An overview accumulator for a `width` x `height` scene, if a quicklook or chips are wanted.
pub fn overview_for(p: &Pictures, width: u32, height: u32) -> Option<Overview> {
    p.wanted()
        .then(|| Overview::new(width, height, p.quicklook_width.max(1)))
}
