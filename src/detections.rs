//! Stage **measure** (host part, shared by both backends): combine the per-tile records of each
//! merged component into one detection in scene coordinates, sort detections in raster order
//! of their first pixel, filter by area, number them.
//!
//! Everything here is integer arithmetic on the records until the final division, so both
//! backends and every tile size give byte-identical output. Shape (length, width, heading)
//! comes from the exact second moments; [`crate::geo`] adds lon/lat and metres.

use crate::cpu::measure::*;
use crate::engine::SceneLabels;
use crate::sample::{key_to_value, SampleKind};
use serde::Serialize;

/// A sample value in the output: integers stay integers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Int(i128),
    Float(f64),
}

impl Value {
    pub fn as_f64(&self) -> f64 {
        match *self {
            Value::Int(i) => i as f64,
            Value::Float(f) => f,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
        }
    }
}

/// One detected object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// 1-based, in output order.
    pub id: u32,
    /// Centroid in pixel coordinates (pixel (col, row) covers [col, col+1) x [row, row+1)).
    pub x: f64,
    pub y: f64,
    /// Bounding box [x0, y0, x1, y1], half-open.
    pub bbox: [u64; 4],
    /// Pixels.
    pub area: u64,
    /// Sum of sample values (f32 scenes: sum of trunc(v * 2^s) / 2^s, see
    /// [`crate::sample::f32_sum_exponent`]).
    pub sum: Value,
    /// Largest sample value.
    pub max: Value,
    /// sum / area.
    pub mean: f64,
    /// Length and width in pixels: 4 standard deviations of the component along its major and
    /// minor axes (the axes of a filled ellipse), each pixel counted as a unit square.
    pub length_px: f64,
    pub width_px: f64,
    /// Direction of the major axis in the image, degrees clockwise from up (decreasing row),
    /// in [0, 180).
    pub orientation_deg: f64,
    /// Centroid in WGS 84 degrees (None without georeferencing).
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// Length and width in metres on the ground, from the same moments through the local
    /// ground size of the pixel.
    pub length_m: Option<f64>,
    pub width_m: Option<f64>,
    /// Direction of the major axis, degrees clockwise from true north, in [0, 180).
    pub heading_deg: Option<f64>,
    /// Oriented box (length x width about the centroid, along the axes), corners in pixel
    /// coordinates; a rectangle on the ground when the scene is georeferenced.
    pub obox: [[f64; 2]; 4],
    /// The same corners as [lon, lat].
    pub obox_lonlat: Option<[[f64; 2]; 4]>,
    /// Metres from the centroid to the nearest land pixel of the water mask (None without a
    /// mask, without land in it, or without the pixel size).
    pub distance_to_land_m: Option<f64>,
    /// Signal-to-clutter ratio, dB: the object's mean over its local background's (see
    /// [`crate::confidence`]).
    pub scr: Option<f64>,
    /// The object's peak above its local background, in background standard deviations.
    pub contrast: Option<f64>,
    /// The z-score of the object's mean against its local background: (mean - background
    /// mean) / background std * sqrt(area).
    pub significance: Option<f64>,
    /// Confidence in [0, 1], a logistic of `significance`.
    pub score: Option<f64>,
    /// The AIS vessel matched to this detection, and whether it is dark (with `--ais` only).
    #[serde(flatten)]
    pub ais: crate::ais::AisFields,
    /// Covariance of the component's pixel squares about the centroid, [xx, yy, xy], px^2.
    #[serde(skip)]
    pub cov: [f64; 3],
}

/// Size and direction of a component from its covariance, in a frame given by `j`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub length: f64,
    pub width: f64,
    /// Major axis, degrees clockwise from the frame's north, in [0, 180).
    pub heading_deg: f64,
    /// Half-axis vectors (major, minor) in the frame's (east, north) units.
    pub half_major: [f64; 2],
    pub half_minor: [f64; 2],
}

/// The pixel frame as (east, north): east = +x, north = -y (up).
pub const PIXEL_FRAME: [[f64; 2]; 2] = [[1.0, 0.0], [0.0, -1.0]];

/// Shape of a component of pixel covariance `cov` ([xx, yy, xy]) in the frame of Jacobian `j`
/// (rows: east, north; columns: per pixel x, per pixel y). Length and width are 4 standard
/// deviations along the principal axes: the axes of a filled ellipse of the same moments.
pub fn shape(cov: [f64; 3], j: [[f64; 2]; 2]) -> Shape {
    let [xx, yy, xy] = cov;
    // C' = J C J^T
    let c = [[xx, xy], [xy, yy]];
    let mut jc = [[0.0; 2]; 2];
    for r in 0..2 {
        for k in 0..2 {
            jc[r][k] = j[r][0] * c[0][k] + j[r][1] * c[1][k];
        }
    }
    let ee = jc[0][0] * j[0][0] + jc[0][1] * j[0][1];
    let nn = jc[1][0] * j[1][0] + jc[1][1] * j[1][1];
    let en = jc[0][0] * j[1][0] + jc[0][1] * j[1][1];
    let half = 0.5 * (ee + nn);
    let d = (0.25 * (ee - nn) * (ee - nn) + en * en).sqrt();
    let l1 = (half + d).max(0.0);
    let l2 = (half - d).max(0.0);
    // Major axis angle from east towards north.
    let phi = 0.5 * (2.0 * en).atan2(ee - nn);
    let (u_e, u_n) = (phi.cos(), phi.sin());
    let mut heading = u_e.atan2(u_n).to_degrees().rem_euclid(180.0);
    if heading >= 180.0 {
        heading = 0.0;
    }
    let (length, width) = (4.0 * l1.sqrt(), 4.0 * l2.sqrt());
    Shape {
        length,
        width,
        heading_deg: heading,
        half_major: [0.5 * length * u_e, 0.5 * length * u_n],
        half_minor: [-0.5 * width * u_n, 0.5 * width * u_e],
    }
}

/// Oriented box corners in pixel coordinates: the frame's half axes mapped back through `j`.
pub fn box_corners(x: f64, y: f64, s: &Shape, j: [[f64; 2]; 2]) -> [[f64; 2]; 4] {
    let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
    let inv = |v: [f64; 2]| -> [f64; 2] {
        if det == 0.0 || !det.is_finite() {
            return [0.0, 0.0];
        }
        [
            (j[1][1] * v[0] - j[0][1] * v[1]) / det,
            (-j[1][0] * v[0] + j[0][0] * v[1]) / det,
        ]
    };
    let a = inv(s.half_major);
    let b = inv(s.half_minor);
    [
        [x + a[0] + b[0], y + a[1] + b[1]],
        [x + a[0] - b[0], y + a[1] - b[1]],
        [x - a[0] - b[0], y - a[1] - b[1]],
        [x - a[0] + b[0], y - a[1] + b[1]],
    ]
}

/// A merged component before sorting and filtering.
#[derive(Debug, Clone, Copy)]
struct Comp {
    area: u64,
    x0: u64,
    y0: u64,
    x1: u64,
    y1: u64,
    /// Raster index of the first pixel (y * width + x).
    first: u64,
    max_key: u32,
    sum: i128,
    sx: u128,
    sy: u128,
    sxx: u128,
    syy: u128,
    sxy: u128,
}

/// A key's value, as an integer for integer kinds.
pub fn value_of(kind: SampleKind, key: u32) -> Value {
    let v = key_to_value(kind, key);
    if kind.is_float() {
        Value::Float(v)
    } else {
        Value::Int(v as i128)
    }
}

fn word64(r: &[u32], i: usize) -> u64 {
    r[i] as u64 | (r[i + 1] as u64) << 32
}

/// Detections of a labelled scene, given each record's merged root (from [`crate::seams`]).
/// `f32_sum_exp` is the `s` of f32 fixed-point sums (ignored for integer kinds).
pub fn detections(
    scene: &SceneLabels,
    roots: &[u32],
    width: u32,
    kind: SampleKind,
    f32_sum_exp: i32,
    min_area: u64,
    max_area: u64,
) -> Vec<Detection> {
    use rayon::prelude::*;
    // Each record in scene coordinates (the 128-bit products), in parallel.
    let mut local: Vec<Comp> = scene
        .records
        .par_iter()
        .map(|r| {
            let t = &scene.tiles[r[R_TILE] as usize];
            let area = r[R_AREA] as u64;
            let (tx, ty) = (t.x0 as u64, t.y0 as u64);
            let first = r[R_FIRST];
            // Tile-local sums to scene coordinates: sum (x + tx)^2 = sxx + 2 tx sx + n tx^2, ...
            let (lsx, lsy) = (word64(r, R_SX_LO) as u128, word64(r, R_SY_LO) as u128);
            let (n, tx2, ty2) = (area as u128, tx as u128, ty as u128);
            Comp {
                area,
                x0: tx + r[R_X0] as u64,
                y0: ty + r[R_Y0] as u64,
                x1: tx + r[R_X1] as u64,
                y1: ty + r[R_Y1] as u64,
                first: (ty + (first / t.w) as u64) * width as u64 + tx + (first % t.w) as u64,
                max_key: r[R_MAX],
                sum: word64(r, R_SUM_LO) as i64 as i128,
                sx: lsx + n * tx2,
                sy: lsy + n * ty2,
                sxx: word64(r, R_SXX_LO) as u128 + 2 * tx2 * lsx + n * tx2 * tx2,
                syy: word64(r, R_SYY_LO) as u128 + 2 * ty2 * lsy + n * ty2 * ty2,
                sxy: word64(r, R_SXY_LO) as u128 + ty2 * lsx + tx2 * lsy + n * tx2 * ty2,
            }
        })
        .collect();
    // Records of one component combined into its root's record (`roots[root] == root`):
    // exact integer sums, any order.
    for (i, &root) in roots.iter().enumerate() {
        let r = root as usize;
        if r == i {
            continue;
        }
        let (c, a) = (local[i], local[r]);
        local[r] = Comp {
            area: a.area + c.area,
            x0: a.x0.min(c.x0),
            y0: a.y0.min(c.y0),
            x1: a.x1.max(c.x1),
            y1: a.y1.max(c.y1),
            first: a.first.min(c.first),
            max_key: a.max_key.max(c.max_key),
            sum: a.sum + c.sum,
            sx: a.sx + c.sx,
            sy: a.sy + c.sy,
            sxx: a.sxx + c.sxx,
            syy: a.syy + c.syy,
            sxy: a.sxy + c.sxy,
        };
    }
    let comps: Vec<&Comp> = local
        .iter()
        .zip(roots)
        .enumerate()
        .filter(|&(i, (c, &r))| r as usize == i && c.area >= min_area && c.area <= max_area)
        .map(|(_, (c, _))| c)
        .collect();
    // Sort keys, not the large components (first pixels are distinct).
    let mut order: Vec<(u64, u32)> = comps
        .iter()
        .enumerate()
        .map(|(i, c)| (c.first, i as u32))
        .collect();
    order.sort_unstable();
    // Each detection on its own (indexed: the order, and so the output, stays the same).
    order
        .par_iter()
        .enumerate()
        .map(|(i, &(_, k))| {
            let c = comps[k as usize];
            let a = c.area as f64;
            let (sum, mean) = if kind.is_float() {
                let s = c.sum as f64 * (-f32_sum_exp as f64).exp2();
                (Value::Float(s), s / a)
            } else {
                (Value::Int(c.sum), c.sum as f64 / a)
            };
            // Central moments exactly, n^2 var = n sxx - sx^2 (fits i128 for any scene we
            // accept), then one rounding; each pixel adds a unit square's 1/12.
            let n = c.area as i128;
            let central = |s2: u128, p: u128, q: u128| {
                (n * s2 as i128 - p as i128 * q as i128) as f64 / (a * a)
            };
            let cov = [
                central(c.sxx, c.sx, c.sx) + 1.0 / 12.0,
                central(c.syy, c.sy, c.sy) + 1.0 / 12.0,
                central(c.sxy, c.sx, c.sy),
            ];
            let (x, y) = (c.sx as f64 / a + 0.5, c.sy as f64 / a + 0.5);
            let sh = shape(cov, PIXEL_FRAME);
            Detection {
                id: i as u32 + 1,
                x,
                y,
                bbox: [c.x0, c.y0, c.x1 + 1, c.y1 + 1],
                area: c.area,
                sum,
                max: value_of(kind, c.max_key),
                mean,
                length_px: sh.length,
                width_px: sh.width,
                orientation_deg: sh.heading_deg,
                lon: None,
                lat: None,
                length_m: None,
                width_m: None,
                heading_deg: None,
                obox: box_corners(x, y, &sh, PIXEL_FRAME),
                obox_lonlat: None,
                distance_to_land_m: None,
                scr: None,
                contrast: None,
                significance: None,
                score: None,
                ais: Default::default(),
                cov,
            }
        })
        .collect()
}
