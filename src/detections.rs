//! Stage **measure** (host part, shared by both backends): combine the per-tile records of each
//! merged component into one detection in scene coordinates, sort detections in raster order
//! of their first pixel, filter by area, number them.
//!
//! Everything here is integer arithmetic on the records until the final division, so both
//! backends and every tile size give byte-identical output.

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
    let mut comps: Vec<Option<Comp>> = vec![None; scene.records.len()];
    for (i, r) in scene.records.iter().enumerate() {
        let t = &scene.tiles[r[R_TILE] as usize];
        let area = r[R_AREA] as u64;
        let (tx, ty) = (t.x0 as u64, t.y0 as u64);
        let first = r[R_FIRST];
        let c = Comp {
            area,
            x0: tx + r[R_X0] as u64,
            y0: ty + r[R_Y0] as u64,
            x1: tx + r[R_X1] as u64,
            y1: ty + r[R_Y1] as u64,
            first: (ty + (first / t.w) as u64) * width as u64 + tx + (first % t.w) as u64,
            max_key: r[R_MAX],
            sum: word64(r, R_SUM_LO) as i64 as i128,
            sx: word64(r, R_SX_LO) as u128 + area as u128 * tx as u128,
            sy: word64(r, R_SY_LO) as u128 + area as u128 * ty as u128,
        };
        let slot = &mut comps[roots[i] as usize];
        *slot = Some(match *slot {
            None => c,
            Some(a) => Comp {
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
            },
        });
    }
    let mut comps: Vec<Comp> = comps
        .into_iter()
        .flatten()
        .filter(|c| c.area >= min_area && c.area <= max_area)
        .collect();
    comps.sort_unstable_by_key(|c| c.first);
    comps
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let a = c.area as f64;
            let (sum, mean) = if kind.is_float() {
                let s = c.sum as f64 * (-f32_sum_exp as f64).exp2();
                (Value::Float(s), s / a)
            } else {
                (Value::Int(c.sum), c.sum as f64 / a)
            };
            Detection {
                id: i as u32 + 1,
                x: c.sx as f64 / a + 0.5,
                y: c.sy as f64 / a + 0.5,
                bbox: [c.x0, c.y0, c.x1 + 1, c.y1 + 1],
                area: c.area,
                sum,
                max: value_of(kind, c.max_key),
                mean,
            }
        })
        .collect()
}
