//! Confidence of each detection: its signal-to-clutter ratio against its local water background
//! (`scr`, dB) and a `score` in [0, 1].
//!
//! The background of a detection is the frame between its bounding box grown by `guard` pixels
//! and that box grown by `guard + width` more (clipped to the scene), counting the valid pixels
//! (not nodata, not NaN, water when a mask is given) that are not inside any detection's
//! bounding box: the ring a CFAR sees, around the whole object rather than one pixel. From its
//! mean `m` and standard deviation `s`:
//!
//! * `scr = 10 log10(mean / m)` dB, the object's mean value over the background's (None when
//!   either is not positive, e.g. signed data);
//! * `contrast = (max - m) / s`, the object's peak in background standard deviations;
//! * `significance = (mean - m) / s * sqrt(area)`: the z-score of the object's mean against the
//!   background (a matched filter's statistic: many moderately bright pixels count as much as a
//!   few very bright ones);
//! * `score = 1 / (1 + exp(-(significance - SCORE_MID) / SCORE_SCALE))`: 0.5 at a significance
//!   of `SCORE_MID`, near 1 far above it. Chosen on the SAR chips of `../shared/data`
//!   (docs/QUALITY.md).
//!
//! Computed on the host in one more pass over the scene's windows (sums in f64 of at most a few
//! thousand pixels per detection), after the kernels; identical for both backends since it
//! reads only the scene and the (identical) detections.

use crate::detections::Detection;
use crate::sample::{key_to_value, SampleKind, NAN_KEY};
use serde::Serialize;

/// Score midpoint: an object whose mean is this significant scores 0.5.
pub const SCORE_MID: f64 = 40.0;
/// Score slope: significance from 0.27 to 0.73.
pub const SCORE_SCALE: f64 = 10.0;

/// Frame of the local background.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackgroundFrame {
    /// Pixels between the bounding box and the frame.
    pub guard_px: u32,
    /// Width of the frame in pixels.
    pub width_px: u32,
}

impl Default for BackgroundFrame {
    fn default() -> Self {
        BackgroundFrame {
            guard_px: 3,
            width_px: 10,
        }
    }
}

/// The score of an object of `significance` (see the module docs).
pub fn score_of(significance: f64) -> f64 {
    1.0 / (1.0 + (-(significance - SCORE_MID) / SCORE_SCALE).exp())
}

/// Accumulates each detection's background as windows of the scene go by.
pub struct Backgrounds<'a> {
    kind: SampleKind,
    nodata: Option<u32>,
    width: u32,
    dets: &'a [Detection],
    /// Per detection: (outer box x0, y0, x1, y1), inner box, sums (n, sum, sum of squares).
    outer: Vec<[u64; 4]>,
    inner: Vec<[u64; 4]>,
    sums: Vec<(u64, f64, f64)>,
    /// Detections sorted by their outer box's first row.
    order: Vec<usize>,
    /// Bounding boxes of all detections by row band, to leave other objects out.
    grid: BoxGrid,
}

/// Detection boxes bucketed in cells of `CELL` x `CELL` pixels, for "is this pixel inside some
/// detection?" in time independent of the number of detections.
struct BoxGrid {
    cols: u64,
    cells: Vec<Vec<u32>>,
}

const CELL: u64 = 32;

impl BoxGrid {
    fn new(dets: &[Detection], width: u32, height: u32) -> BoxGrid {
        let cols = (width as u64).div_ceil(CELL).max(1);
        let rows = (height as u64).div_ceil(CELL).max(1);
        let mut cells = vec![Vec::new(); (cols * rows) as usize];
        for (i, d) in dets.iter().enumerate() {
            let b = d.bbox;
            for cy in b[1] / CELL..=(b[3].max(1) - 1) / CELL {
                for cx in b[0] / CELL..=(b[2].max(1) - 1) / CELL {
                    if let Some(c) = cells.get_mut((cy * cols + cx) as usize) {
                        c.push(i as u32);
                    }
                }
            }
        }
        BoxGrid { cols, cells }
    }

    fn inside_any(&self, dets: &[Detection], x: u64, y: u64) -> bool {
        self.cells[((y / CELL) * self.cols + x / CELL) as usize]
            .iter()
            .any(|&i| {
                let b = dets[i as usize].bbox;
                x >= b[0] && x < b[2] && y >= b[1] && y < b[3]
            })
    }
}

/// Rows `y0..y1` of a scene and the column spans `[x0, x1)` of them to read
/// ([`Backgrounds::regions`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub y0: u32,
    pub y1: u32,
    pub cols: Vec<(u32, u32)>,
}

impl<'a> Backgrounds<'a> {
    pub fn new(
        dets: &'a [Detection],
        kind: SampleKind,
        nodata: Option<u32>,
        (width, height): (u32, u32),
        frame: BackgroundFrame,
    ) -> Backgrounds<'a> {
        let (w, h) = (width as u64, height as u64);
        let grow = |b: [u64; 4], by: u64| {
            [
                b[0].saturating_sub(by),
                b[1].saturating_sub(by),
                (b[2] + by).min(w),
                (b[3] + by).min(h),
            ]
        };
        let g = frame.guard_px as u64;
        let inner: Vec<[u64; 4]> = dets.iter().map(|d| grow(d.bbox, g)).collect();
        let outer: Vec<[u64; 4]> = inner
            .iter()
            .map(|&b| grow(b, frame.width_px as u64))
            .collect();
        let mut order: Vec<usize> = (0..dets.len()).collect();
        order.sort_by_key(|&i| outer[i][1]);
        Backgrounds {
            kind,
            nodata,
            width,
            dets,
            sums: vec![(0, 0.0, 0.0); dets.len()],
            grid: BoxGrid::new(dets, width, height),
            outer,
            inner,
            order,
        }
    }

    /// The scene rows the backgrounds need, as spans of at most `max_rows` rows, in order.
    pub fn row_spans(&self, max_rows: u32) -> Vec<(u32, u32)> {
        let mut spans: Vec<(u32, u32)> = Vec::new();
        for &i in &self.order {
            let (a, b) = (self.outer[i][1] as u32, self.outer[i][3] as u32);
            match spans.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => spans.push((a, b)),
            }
        }
        let m = max_rows.max(1);
        spans
            .into_iter()
            .flat_map(|(a, b)| (a..b).step_by(m as usize).map(move |y| (y, (y + m).min(b))))
            .collect()
    }

    /// What to read for the backgrounds from a source that decodes chunks of `chunk` (rows,
    /// columns) pixels (a TIFF's strips or tiles): rows `y0..y1` and, within them, the column
    /// spans holding every background frame that meets those rows, widened to whole chunks,
    /// so no chunk is decoded twice and chunks no frame meets are not decoded at all. Rows go
    /// by whole rows of chunks, at most `max_rows` at a time (fewer when a row of chunks is
    /// taller), in order.
    pub fn regions(&self, max_rows: u32, chunk: (u32, u32), height: u32) -> Vec<Region> {
        let (gr, gc) = (u64::from(chunk.0.max(1)), u64::from(chunk.1.max(1)));
        let (w, h) = (u64::from(self.width), u64::from(height));
        // Each chunk row's column spans (in pixels, whole chunks, merged).
        let mut bands: std::collections::BTreeMap<u64, Vec<(u64, u64)>> = Default::default();
        for o in &self.outer {
            if o[0] >= o[2] || o[1] >= o[3] {
                continue;
            }
            let (x0, x1) = (o[0] / gc * gc, (o[2].div_ceil(gc) * gc).min(w));
            for band in o[1] / gr..o[3].div_ceil(gr) {
                bands.entry(band).or_default().push((x0, x1));
            }
        }
        let mut out: Vec<Region> = Vec::new();
        let max_rows = u64::from(max_rows.max(1));
        for (band, mut spans) in bands {
            spans.sort_unstable();
            let mut cols: Vec<(u32, u32)> = Vec::new();
            for (a, b) in spans {
                match cols.last_mut() {
                    Some(last) if a <= u64::from(last.1) => last.1 = last.1.max(b as u32),
                    _ => cols.push((a as u32, b as u32)),
                }
            }
            let (y0, y1) = (band * gr, ((band + 1) * gr).min(h));
            // Rows of chunks taller than `max_rows` are read in parts (each part decodes the
            // chunks again: only with a memory cap below one row of chunks).
            for a in (y0..y1).step_by(max_rows as usize) {
                let b = (a + max_rows).min(y1);
                match out.last_mut() {
                    Some(last)
                        if u64::from(last.y1) == a
                            && last.cols == cols
                            && u64::from(last.y1 - last.y0) + (b - a) <= max_rows =>
                    {
                        last.y1 = b as u32
                    }
                    _ => out.push(Region {
                        y0: a as u32,
                        y1: b as u32,
                        cols: cols.clone(),
                    }),
                }
            }
        }
        out
    }

    /// Add scene rows `y0..y0 + rows` (`keys`, full width; `water`: their bits as
    /// [`crate::detect::water_plane`] lays them out, if a mask is used).
    pub fn feed(&mut self, keys: &[u32], y0: u32, water: Option<&[u32]>) {
        let w = self.width as u64;
        let rows = (keys.len() as u64 / w.max(1)) as u32;
        let (a, b) = (y0 as u64, (y0 + rows) as u64);
        // Detections whose frame starts before the window's end (sorted), then by overlap.
        let end = self.order.partition_point(|&i| self.outer[i][1] < b);
        for &i in &self.order[..end] {
            let o = self.outer[i];
            if o[3] <= a {
                continue;
            }
            let inn = self.inner[i];
            let (mut n, mut s, mut q) = self.sums[i];
            for y in o[1].max(a)..o[3].min(b) {
                let row = (y - a) * w;
                for x in o[0]..o[2] {
                    if x >= inn[0] && x < inn[2] && y >= inn[1] && y < inn[3] {
                        continue;
                    }
                    let j = (row + x) as usize;
                    let key = keys[j];
                    if Some(key) == self.nodata || (self.kind.is_float() && key == NAN_KEY) {
                        continue;
                    }
                    if let Some(bits) = water {
                        if !crate::cpu::plane_bit(bits, j as u32) {
                            continue;
                        }
                    }
                    if self.grid.inside_any(self.dets, x, y) {
                        continue;
                    }
                    let v = key_to_value(self.kind, key);
                    if v.is_finite() {
                        n += 1;
                        s += v;
                        q += v * v;
                    }
                }
            }
            self.sums[i] = (n, s, q);
        }
    }

    /// Each detection's confidence, in order.
    pub fn finish(self) -> Vec<Confidence> {
        self.dets
            .iter()
            .zip(&self.sums)
            .map(|(d, &(n, s, q))| {
                if n < 2 {
                    return Confidence::default();
                }
                let m = s / n as f64;
                let sd = (q / n as f64 - m * m).max(0.0).sqrt();
                let scr = (m > 0.0 && d.mean > 0.0).then(|| 10.0 * (d.mean / m).log10());
                let z = |v: f64| {
                    if sd > 0.0 {
                        (v - m) / sd
                    } else if v > m {
                        f64::INFINITY
                    } else {
                        0.0
                    }
                };
                let contrast = z(d.max.as_f64());
                let significance = z(d.mean) * (d.area as f64).sqrt();
                Confidence {
                    scr,
                    contrast: Some(contrast),
                    significance: Some(significance),
                    score: Some(score_of(significance)),
                    background_mean: Some(m),
                    background_std: Some(sd),
                }
            })
            .collect()
    }
}

/// One detection's confidence (all None when its background has fewer than 2 pixels).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Confidence {
    pub scr: Option<f64>,
    pub contrast: Option<f64>,
    pub significance: Option<f64>,
    pub score: Option<f64>,
    pub background_mean: Option<f64>,
    pub background_std: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_a_logistic_of_the_contrast() {
        assert!((score_of(SCORE_MID) - 0.5).abs() < 1e-12);
        assert!(score_of(120.0) > 0.999 && score_of(10.0) < 0.05);
        assert!(score_of(41.0) > score_of(40.5));
    }

    #[test]
    fn regions_read_each_chunk_a_frame_meets_once_and_no_other() {
        let (w, h) = (1000u32, 700u32);
        let boxes = [
            [10u64, 10, 20, 14],
            [15, 12, 40, 30],
            [500, 5, 510, 9],
            [990, 690, 1000, 700],
            [300, 350, 330, 420],
            [600, 355, 620, 360],
        ];
        // A real detection (one bright pixel), its box moved.
        let one = crate::read::Raster {
            width: 3,
            height: 3,
            kind: SampleKind::U16,
            keys: vec![0, 0, 0, 0, 9, 0, 0, 0, 0],
            band: 1,
            bands: 1,
            nodata: None,
        };
        let opts = crate::detect::DetectOptions {
            threshold: crate::detect::ThresholdMode::Fixed(5.0),
            ..Default::default()
        };
        let d = crate::detect::detect(&crate::engine::cpu::CpuEngine, &one, &opts)
            .unwrap()
            .detections
            .remove(0);
        let dets: Vec<Detection> = boxes
            .iter()
            .map(|&bbox| Detection { bbox, ..d.clone() })
            .collect();
        let frame = BackgroundFrame::default();
        let bg = Backgrounds::new(&dets, SampleKind::U16, None, (w, h), frame);
        for (chunk, max_rows) in [
            ((64u32, 64u32), 1000u32),
            ((1, w), 50),
            ((16, 128), 16),
            ((100, 48), 30),
        ] {
            let regions = bg.regions(max_rows, chunk, h);
            // Chunks read, counted.
            let mut read = std::collections::HashMap::<(u32, u32), u32>::new();
            let mut last_y = 0;
            for r in &regions {
                assert!(
                    r.y0 >= last_y && r.y0 < r.y1 && r.y1 - r.y0 <= max_rows,
                    "{r:?}"
                );
                last_y = r.y1;
                for &(x0, x1) in &r.cols {
                    for cy in r.y0 / chunk.0..r.y1.div_ceil(chunk.0) {
                        for cx in x0 / chunk.1..x1.div_ceil(chunk.1) {
                            *read.entry((cx, cy)).or_default() += 1;
                        }
                    }
                }
            }
            // Every pixel of every frame is read; every chunk read meets a frame.
            let meets = |cx: u32, cy: u32| {
                bg.outer.iter().any(|o| {
                    let (x0, y0) = (u64::from(cx * chunk.1), u64::from(cy * chunk.0));
                    let (x1, y1) = (x0 + u64::from(chunk.1), y0 + u64::from(chunk.0));
                    o[0] < x1 && x0 < o[2] && o[1] < y1 && y0 < o[3]
                })
            };
            for o in &bg.outer {
                for y in o[1] as u32..o[3] as u32 {
                    let r = regions
                        .iter()
                        .find(|r| r.y0 <= y && y < r.y1)
                        .expect("row read");
                    for x in [o[0] as u32, o[2] as u32 - 1] {
                        assert!(
                            r.cols.iter().any(|&(a, b)| a <= x && x < b),
                            "({x},{y}) not read"
                        );
                    }
                }
            }
            for (&(cx, cy), &n) in &read {
                assert!(
                    meets(cx, cy),
                    "chunk ({cx},{cy}) read for nothing, {chunk:?}"
                );
                // Rows of chunks taller than max_rows are read in parts; otherwise once.
                if chunk.0 <= max_rows {
                    assert_eq!(n, 1, "chunk ({cx},{cy}) read {n} times, {chunk:?}");
                }
            }
        }
    }
}
