//! Deterministic generated scenes for tests and benchmarks.
//!
//! Every pixel is a pure function of `(seed, pixel index)` through a counter-based hash
//! (splitmix64), so a scene is identical on every machine, whatever the number of threads, and
//! is generated in parallel by bands of rows (rayon).
//!
//! * [`sea_scene`]: SAR-like sea clutter (8-look gamma speckle, mean [`SEA_MEAN`]) with bright
//!   elongated vessels. Threshold it at [`SEA_THRESHOLD`]: about [`SEA_TARGET_FRACTION`] of the
//!   pixels are targets (the vessels, plus a few clutter spikes: about 7 per million pixels).
//! * [`random_scene`]: every pixel 0 or [`RANDOM_HIGH`] with probability 1/2. Threshold it at
//!   [`RANDOM_THRESHOLD`]: a 50% random mask, the worst case for labelling (percolating
//!   components, many tiny ones).
//!
//! Both return u16 rasters (band 1 of 1, no nodata); for u16 the order key is the value.
//! [`write_raw_u16`] dumps one as little-endian raw u16 for other tools (e.g. the OpenCV
//! baseline in `benches/opencv_baseline.py`).
//!
//! [`sar`]: a fuller SAR scene model for `vesselscan synth` (gamma or K-distributed speckle,
//! land with a coastline, vessels with sidelobes, georeferencing, ground truth), rendered tile
//! row by tile row for the streaming GeoTIFF writer ([`crate::write::geotiff`]).

use crate::error::{Error, Result};
use crate::read::Raster;
use crate::sample::SampleKind;
use rayon::prelude::*;
use std::path::Path;

pub mod sar;

/// Mean of the sea clutter.
pub const SEA_MEAN: f64 = 300.0;
/// Looks of the clutter's gamma speckle (more looks: thinner tail).
pub const SEA_LOOKS: u32 = 8;
/// Threshold for [`sea_scene`]: target when value >= 1000. Vessels are >= 1200 everywhere;
/// clutter exceeds it with probability ~7e-6 (gamma tail at 3.33 x the mean, 8 looks).
pub const SEA_THRESHOLD: f64 = 1000.0;
/// Expected fraction of target pixels of a [`sea_scene`] at [`SEA_THRESHOLD`] (about 1.4%;
/// tested to lie within 0.5%..2% on a 1024^2 scene).
pub const SEA_TARGET_FRACTION: f64 = 0.014;
/// Mean scene area per vessel, in pixels (one vessel per 64 x 64 px).
pub const SEA_AREA_PER_VESSEL: f64 = 64.0 * 64.0;

/// High value of [`random_scene`] (the low value is 0).
pub const RANDOM_HIGH: u16 = 1000;
/// Threshold for [`random_scene`]: half the pixels are targets.
pub const RANDOM_THRESHOLD: f64 = 500.0;

/// Rows per parallel band.
const BAND_ROWS: usize = 32;

pub(crate) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's finaliser.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A splitmix64 stream: element `i` of the stream keyed by `key`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stream(u64);

impl Stream {
    pub(crate) fn new(seed: u64, salt: u64) -> Stream {
        Stream(mix(seed ^ mix(salt)))
    }
    #[inline]
    pub(crate) fn at(self, i: u64) -> u64 {
        mix(self.0.wrapping_add(i.wrapping_add(1).wrapping_mul(GOLDEN)))
    }
    /// Uniform in [0, 1).
    #[inline]
    pub(crate) fn unit(self, i: u64) -> f64 {
        (self.at(i) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

fn u16_raster(width: u32, height: u32, keys: Vec<u32>) -> Raster {
    Raster {
        width,
        height,
        kind: SampleKind::U16,
        keys,
        band: 1,
        bands: 1,
        nodata: None,
    }
}

/// A vessel: a filled ellipse.
#[derive(Debug, Clone, Copy)]
struct Vessel {
    cx: f64,
    cy: f64,
    /// Semi-axes (along, across the heading).
    a: f64,
    b: f64,
    cos: f64,
    sin: f64,
    /// Peak brightness.
    peak: f64,
    /// Bounding rows, inclusive / exclusive, clipped to the scene.
    y0: usize,
    y1: usize,
    x0: usize,
    x1: usize,
}

fn vessels(width: u32, height: u32, seed: u64) -> Vec<Vessel> {
    let s = Stream::new(seed, 0x5645_5353_454C); // "VESSEL"
    let n = ((width as f64 * height as f64) / SEA_AREA_PER_VESSEL).round() as u64;
    (0..n)
        .map(|i| {
            let u = |k: u64| s.unit(i * 8 + k);
            let cx = u(0) * width as f64;
            let cy = u(1) * height as f64;
            // Lengths 6..60 px, most vessels small (6 + 54 u^4: median ~9 px, mean ~17 px).
            let len = 6.0 + 54.0 * u(2).powi(4);
            // Length / width 5..9, width clamped to 2..12 px.
            let wid = (len / (5.0 + 4.0 * u(3))).clamp(2.0, 12.0);
            let heading = u(4) * std::f64::consts::PI;
            let peak = 2000.0 + 6000.0 * u(5);
            let (a, b) = (len / 2.0, wid / 2.0);
            let r = a + 1.0;
            let clip = |lo: f64, hi: f64, max: u32| {
                (
                    lo.floor().clamp(0.0, max as f64) as usize,
                    hi.ceil().clamp(0.0, max as f64) as usize,
                )
            };
            let (x0, x1) = clip(cx - r, cx + r, width);
            let (y0, y1) = clip(cy - r, cy + r, height);
            Vessel {
                cx,
                cy,
                a,
                b,
                cos: heading.cos(),
                sin: heading.sin(),
                peak,
                y0,
                y1,
                x0,
                x1,
            }
        })
        .collect()
}

/// SAR-like sea scene: gamma speckle around [`SEA_MEAN`] plus one vessel per
/// [`SEA_AREA_PER_VESSEL`] pixels on average: filled ellipses 6..60 px long, 2..12 px wide,
/// random headings, peak 2000..8000, every pixel 0.6..1.0 x the peak (so >= 1200). Vessels may
/// touch or overlap (they then form one component) and are clipped at the scene's edges.
/// Threshold at [`SEA_THRESHOLD`].
pub fn sea_scene(width: u32, height: u32, seed: u64) -> Raster {
    let (w, h) = (width as usize, height as usize);
    let mut keys = vec![0u32; w * h];
    if w == 0 || h == 0 {
        return u16_raster(width, height, keys);
    }
    let ships = vessels(width, height, seed);
    let clutter_a = Stream::new(seed, 0x0043_4C55_5441); // "CLUTA"
    let clutter_b = Stream::new(seed, 0x0043_4C55_5442); // "CLUTB"
    let glint = Stream::new(seed, 0x0047_4C49_4E54); // "GLINT"
    let scale = SEA_MEAN / SEA_LOOKS as f64;
    keys.par_chunks_mut(w * BAND_ROWS)
        .enumerate()
        .for_each(|(band, out)| {
            let row0 = band * BAND_ROWS;
            // Clutter: sum of 8 unit exponentials = -ln(product of 8 uniforms), the uniforms
            // taken 16 bits at a time from two hashes (one ln a pixel).
            for (j, o) in out.iter_mut().enumerate() {
                let i = (row0 * w + j) as u64;
                let (ha, hb) = (clutter_a.at(i), clutter_b.at(i));
                let mut p = 1.0f64;
                for k in 0..4 {
                    p *= (((ha >> (16 * k)) & 0xFFFF) as f64 + 0.5) * (1.0 / 65536.0);
                    p *= (((hb >> (16 * k)) & 0xFFFF) as f64 + 0.5) * (1.0 / 65536.0);
                }
                *o = (-p.ln() * scale).round().min(u16::MAX as f64) as u32;
            }
            // Vessels overlapping this band (value = max, so the drawing order is irrelevant).
            let rows = out.len() / w;
            let row1 = row0 + rows;
            for v in &ships {
                if v.y1 <= row0 || v.y0 >= row1 {
                    continue;
                }
                for y in v.y0.max(row0)..v.y1.min(row1) {
                    let dy = y as f64 + 0.5 - v.cy;
                    for x in v.x0..v.x1 {
                        let dx = x as f64 + 0.5 - v.cx;
                        let along = (dx * v.cos + dy * v.sin) / v.a;
                        let across = (dy * v.cos - dx * v.sin) / v.b;
                        if along * along + across * across <= 1.0 {
                            let g = glint.unit((y * w + x) as u64);
                            let val = (v.peak * (0.6 + 0.4 * g)).round() as u32;
                            let o = &mut out[(y - row0) * w + x];
                            *o = (*o).max(val);
                        }
                    }
                }
            }
        });
    u16_raster(width, height, keys)
}

/// Random scene: every pixel 0 or [`RANDOM_HIGH`] with probability 1/2. Threshold at
/// [`RANDOM_THRESHOLD`] for a 50% random mask.
pub fn random_scene(width: u32, height: u32, seed: u64) -> Raster {
    let w = width as usize;
    let mut keys = vec![0u32; w * height as usize];
    let s = Stream::new(seed, 0x5241_4E44_4F4D); // "RANDOM"
    if w > 0 {
        keys.par_chunks_mut(w * BAND_ROWS)
            .enumerate()
            .for_each(|(band, out)| {
                let base = (band * BAND_ROWS * w) as u64;
                // One hash gives 64 pixels.
                for (c, chunk) in out.chunks_mut(64).enumerate() {
                    let bits = s.at((base >> 6) + c as u64);
                    for (k, o) in chunk.iter_mut().enumerate() {
                        *o = ((bits >> k) & 1) as u32 * RANDOM_HIGH as u32;
                    }
                }
            });
    }
    u16_raster(width, height, keys)
}

/// The generated scenes by name, for the example and the benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    Sea,
    Random,
}

impl Scene {
    pub fn parse(name: &str) -> Option<Scene> {
        match name {
            "sea" => Some(Scene::Sea),
            "random" => Some(Scene::Random),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Scene::Sea => "sea",
            Scene::Random => "random",
        }
    }
    /// The fixed threshold meant for this scene.
    pub fn threshold(self) -> f64 {
        match self {
            Scene::Sea => SEA_THRESHOLD,
            Scene::Random => RANDOM_THRESHOLD,
        }
    }
    pub fn generate(self, width: u32, height: u32, seed: u64) -> Raster {
        match self {
            Scene::Sea => sea_scene(width, height, seed),
            Scene::Random => random_scene(width, height, seed),
        }
    }
}

/// Write a u16 raster as raw little-endian u16, row-major, no header (keys above 65535, which
/// a u16 raster never has, are clamped).
pub fn write_raw_u16(raster: &Raster, path: &Path) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    if raster.kind != SampleKind::U16 {
        return Err(Error::Invalid(format!(
            "write_raw_u16 needs a u16 raster, not {:?}",
            raster.kind
        )));
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let mut buf = Vec::with_capacity(1 << 20);
    for chunk in raster.keys.chunks(1 << 19) {
        buf.clear();
        for &k in chunk {
            buf.extend_from_slice(&(k.min(u16::MAX as u32) as u16).to_le_bytes());
        }
        f.write_all(&buf).map_err(io)?;
    }
    f.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fraction(r: &Raster, t: f64) -> f64 {
        r.keys.iter().filter(|&&k| k as f64 >= t).count() as f64 / r.keys.len() as f64
    }

    #[test]
    fn sea_target_fraction() {
        let r = sea_scene(1024, 1024, 1);
        let f = fraction(&r, SEA_THRESHOLD);
        eprintln!("sea target fraction {f}");
        assert!((0.005..0.02).contains(&f), "target fraction {f}");
        assert!(r.keys.iter().all(|&k| k <= u16::MAX as u32));
        // Clutter mean near SEA_MEAN.
        let below: Vec<u32> = r.keys.iter().copied().filter(|&k| k < 1000).collect();
        let mean = below.iter().map(|&k| k as f64).sum::<f64>() / below.len() as f64;
        assert!((mean - SEA_MEAN).abs() < 10.0, "clutter mean {mean}");
    }

    #[test]
    fn deterministic_and_seeded() {
        let a = sea_scene(300, 200, 7);
        let b = sea_scene(300, 200, 7);
        let c = sea_scene(300, 200, 8);
        assert_eq!(a.keys, b.keys);
        assert_ne!(a.keys, c.keys);
        assert_eq!(a.keys.len(), 300 * 200);
        let a = random_scene(333, 77, 3);
        assert_eq!(a.keys, random_scene(333, 77, 3).keys);
        assert_ne!(a.keys, random_scene(333, 77, 4).keys);
    }

    #[test]
    fn random_is_half() {
        let r = random_scene(1000, 1000, 5);
        assert!(r.keys.iter().all(|&k| k == 0 || k == RANDOM_HIGH as u32));
        let f = fraction(&r, RANDOM_THRESHOLD);
        assert!((f - 0.5).abs() < 0.005, "fraction {f}");
    }

    #[test]
    fn empty_and_odd_sizes() {
        assert!(sea_scene(0, 10, 1).keys.is_empty());
        assert!(random_scene(10, 0, 1).keys.is_empty());
        assert_eq!(sea_scene(1, 1, 1).keys.len(), 1);
        assert_eq!(random_scene(65, 33, 1).keys.len(), 65 * 33);
    }

    #[test]
    fn raw_dump() {
        let r = random_scene(17, 5, 2);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.u16");
        write_raw_u16(&r, &p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), 17 * 5 * 2);
        let back: Vec<u32> = bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32)
            .collect();
        assert_eq!(back, r.keys);
    }
}
