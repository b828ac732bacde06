//! A SAR-like scene model with ground truth, for `vesselscan synth` (see `docs/SYNTH.md`).
//!
//! A scene is an amplitude image (u16 digital numbers, like a Sentinel-1 GRD VV band):
//!
//! * **Sea**: `A = sqrt(I_sea * tau * S)`, with speckle `S ~ Gamma(L, 1/L)` (L looks, unit
//!   mean) and texture `tau = 1` ([`Speckle::Gamma`]) or `tau ~ Gamma(nu, 1/nu)` independent per
//!   pixel ([`Speckle::K`]: the intensity is then K-distributed). `I_sea` is set so that the mean
//!   amplitude is [`SarParams::sea_mean`].
//! * **Land**: where a smooth fractal field (value-noise fBm) exceeds the quantile that leaves
//!   [`SarParams::land_fraction`] of the scene above it: a coastline. Land is brighter
//!   (`A = sqrt(I_land * m * S)`, median amplitude about [`SarParams::land_mean`]), textured by a
//!   second fBm field (`m = exp(1.2 f)`), and holds sparse strong point scatterers (buildings,
//!   pylons: 3 per 10 000 land pixels, 5..18 x brighter), the false alarms a vessel detector meets
//!   on land.
//! * **Vessels**: on water only (their hull's bounding box grown by 2 px holds no land), inside
//!   the scene, not overlapping. Each is a filled ellipse of the vessel's length and width (log-
//!   uniform length in [`SarParams::length_m`], width = length / 5..8, heading uniform in
//!   0..180 degrees unless given) dilated by [`HULL_DILATION_PX`] (the blur of the resolution
//!   cell; it also puts the pixel holding the centre in the hull), every hull pixel at
//!   0.3..0.7 x the peak, one pixel (the strongest scatterer, on the keel line) at the peak.
//! * **Sidelobes**: the cross of a strong point target. Along the row (range) and the column
//!   (azimuth) through the peak pixel, pixel `d != 0` away receives
//!   `s(d) = k * peak / sqrt(1 + (pi t)^2)`, `t = (d - delta) / rho`: the envelope of the
//!   impulse response's `|sinc(t)|` (1 at the peak, `1 / (pi |t|)` far out; multi-looking fills
//!   the sinc's zeros), where `delta` is the scatterer's sub-pixel offset and `rho` the
//!   resolution in pixels, out to where `k * peak * rho / (pi |d|)` falls below half the sea
//!   mean (at most [`MAX_SIDELOBE_PX`]); it adds in intensity: `A = sqrt(A_below^2 + s^2)`.
//!
//! Every pixel is a pure function of the seed and its position (counter-based hashing, see
//! [`super`]), the transcendental functions come from the `libm` crate (pure Rust, the same
//! results on every platform), and rows are rendered independently: the same seed gives the
//! same samples on any machine, for any number of threads and any tile size.

use super::{mix, Stream, GOLDEN};
use crate::error::{Error, Result};
use crate::read::Raster;
use crate::sample::SampleKind;
use crate::write::geotiff::{write_geotiff, Crs, GeoTiffOptions, GeoTiffSummary, Georef};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;
use std::f64::consts::PI;
use std::path::Path;

/// Hull dilation in pixels (the resolution cell's blur). At least `sqrt(2) / 2`, so the pixel
/// that holds a vessel's centre is always a hull pixel.
pub const HULL_DILATION_PX: f64 = 0.75;
/// Longest sidelobe arm, in pixels from the peak.
pub const MAX_SIDELOBE_PX: u32 = 64;
/// Hull pixels are at least this fraction of the vessel's peak.
pub const HULL_MIN_FRACTION: f64 = 0.3;
/// Clear water (pixels) kept around each hull's bounding box: no land, no other hull.
pub const VESSEL_MARGIN_PX: f64 = 2.0;
/// Land field node spacing (pixels): the fields are evaluated on this grid and interpolated.
const NODE: usize = 4;
/// Land point scatterers: probability per land pixel, and intensity gain range.
const LAND_POINT_RATE: f64 = 3e-4;
const LAND_POINT_GAIN: (f64, f64) = (30.0, 330.0);
/// Land texture strength: `m = exp(LAND_TEXTURE * f)`, f the texture field (about -1..1).
const LAND_TEXTURE: f64 = 1.2;

/// The sea clutter model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speckle {
    /// Fully developed speckle, gamma-distributed intensity (L looks).
    Gamma,
    /// K-distributed intensity: gamma speckle times a gamma texture of shape `nu` (smaller:
    /// spikier sea; large: close to [`Speckle::Gamma`]).
    K { nu: f64 },
}

/// The coordinate reference system of a generated scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SceneCrs {
    /// EPSG:4326 (longitude / latitude), the pixel size converted to degrees at the centre.
    #[default]
    Wgs84,
    /// WGS 84 / UTM, the standard zone of the centre (EPSG 326zz / 327zz), square pixels of
    /// the pixel size in metres.
    Utm,
}

/// What to generate. [`Default`] gives a 4096 x 4096 North Sea scene at 10 m.
#[derive(Debug, Clone, PartialEq)]
pub struct SarParams {
    pub width: u32,
    pub height: u32,
    pub seed: u64,
    /// Number of vessels.
    pub vessels: u32,
    pub speckle: Speckle,
    /// Looks L of the speckle (>= 1; need not be an integer: S1 IW GRDH has about 4.4).
    pub looks: f64,
    /// Mean amplitude of the sea (DN).
    pub sea_mean: f64,
    /// Fraction of the scene that is land, 0..=1.
    pub land_fraction: f64,
    /// Median amplitude of land, point scatterers aside (DN).
    pub land_mean: f64,
    /// Pixel size in metres (square pixels).
    pub pixel_size_m: f64,
    /// Longitude and latitude of the scene's centre (degrees, WGS 84).
    pub lon: f64,
    pub lat: f64,
    pub crs: SceneCrs,
    /// Range of vessel lengths in metres (log-uniform).
    pub length_m: (f64, f64),
    /// Range of vessel peak amplitudes (DN); longer vessels tend to be brighter.
    pub peak: (f64, f64),
    /// Fixed heading for every vessel (degrees clockwise from north), or random.
    pub heading_deg: Option<f64>,
    /// Sidelobe level k relative to the peak (0: no sidelobes).
    pub sidelobe_level: f64,
    /// Resolution in pixels (rho: the spacing of the sidelobes' zeros).
    pub resolution_px: f64,
}

impl Default for SarParams {
    fn default() -> Self {
        SarParams {
            width: 4096,
            height: 4096,
            seed: 1,
            vessels: 100,
            speckle: Speckle::Gamma,
            looks: 4.4,
            sea_mean: 150.0,
            land_fraction: 0.1,
            land_mean: 400.0,
            pixel_size_m: 10.0,
            lon: 3.0,
            lat: 52.0,
            crs: SceneCrs::Wgs84,
            length_m: (20.0, 350.0),
            peak: (1500.0, 20000.0),
            heading_deg: None,
            sidelobe_level: 0.4,
            resolution_px: 2.0,
        }
    }
}

/// The ground truth of one vessel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VesselTruth {
    /// 1-based.
    pub id: u32,
    /// Centre in pixel coordinates: pixel (col, row) covers [col, col+1) x [row, row+1), so the
    /// centre of pixel (col, row) is (col + 0.5, row + 0.5) (the convention of
    /// [`crate::detections::Detection`]).
    pub x: f64,
    pub y: f64,
    /// The centre in WGS 84 degrees (through the scene's geotransform, and for UTM scenes the
    /// inverse projection).
    pub lon: f64,
    pub lat: f64,
    pub length_m: f64,
    pub width_m: f64,
    /// Direction of the long axis, degrees clockwise from north (up in the image), in [0, 180).
    pub heading_deg: f64,
    /// The peak pixel's value (DN), before other vessels' sidelobes (which can only add).
    pub peak: u16,
    /// The peak pixel (col, row).
    pub peak_px: [u32; 2],
    /// Bounding box of the hull pixels, [x0, y0, x1, y1], half-open.
    pub bbox: [u32; 4],
    /// Hull pixels.
    pub pixels: u32,
}

/// A vessel as rendered.
#[derive(Debug, Clone, Copy)]
struct Ship {
    cx: f64,
    cy: f64,
    /// Unit vector of the long axis (image coordinates, y down).
    ex: f64,
    ey: f64,
    /// Dilated semi-axes, pixels.
    ha: f64,
    hb: f64,
    /// Hull pixel range to test (half-open), within the scene.
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    peak: f64,
    px: u32,
    py: u32,
    /// The peak scatterer's offset from the peak pixel's centre.
    dx: f64,
    dy: f64,
    lobe: u32,
}

impl Ship {
    #[inline]
    fn in_ellipse(&self, x: u32, y: u32) -> bool {
        let dx = x as f64 + 0.5 - self.cx;
        let dy = y as f64 + 0.5 - self.cy;
        let along = (dx * self.ex + dy * self.ey) / self.ha;
        let across = (dy * self.ex - dx * self.ey) / self.hb;
        along * along + across * across <= 1.0
    }
    /// Rows any of its pixels (hull or sidelobes) touch, half-open.
    fn rows(&self, height: u32) -> (u32, u32) {
        (
            self.y0.min(self.py.saturating_sub(self.lobe)),
            self.y1.max((self.py + self.lobe + 1).min(height)),
        )
    }
}

/// A per-pixel sequential generator (splitmix64 from a hashed seed).
struct Rng(u64);

impl Rng {
    /// Uniform in (0, 1), never 0 or 1.
    #[inline]
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        ((mix(self.0) >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal (Marsaglia's polar method).
    #[inline]
    fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let s = u * u + v * v;
            if s < 1.0 && s > 0.0 {
                return u * (-2.0 * libm::log(s) / s).sqrt();
            }
        }
    }
}

/// Unit-mean gamma variates of a given shape.
#[derive(Debug, Clone, Copy)]
struct Gamma {
    shape: f64,
    /// Integer shape up to 16: minus the log of a product of uniforms.
    int: Option<u32>,
    /// Marsaglia-Tsang constants (for shape, or shape + 1 when shape < 1).
    d: f64,
    c: f64,
}

impl Gamma {
    fn new(shape: f64) -> Gamma {
        let int = (shape.fract() == 0.0 && (1.0..=16.0).contains(&shape)).then_some(shape as u32);
        let k = if shape < 1.0 { shape + 1.0 } else { shape };
        let d = k - 1.0 / 3.0;
        Gamma {
            shape,
            int,
            d,
            c: 1.0 / (9.0 * d).sqrt(),
        }
    }
    /// E[sqrt(G)] for the unit-mean variate G.
    fn mean_sqrt(&self) -> f64 {
        let k = self.shape;
        libm::exp(libm::lgamma(k + 0.5) - libm::lgamma(k)) / k.sqrt()
    }
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        if let Some(n) = self.int {
            let mut p = 1.0;
            for _ in 0..n {
                p *= rng.unit();
            }
            return -libm::log(p) / self.shape;
        }
        let g = loop {
            let x = rng.normal();
            let v = 1.0 + self.c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = rng.unit();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2
                || libm::log(u) < 0.5 * x2 + self.d * (1.0 - v + libm::log(v))
            {
                break self.d * v;
            }
        };
        let g = if self.shape < 1.0 {
            g * libm::exp(libm::log(rng.unit()) / self.shape)
        } else {
            g
        };
        g / self.shape
    }
}

/// Fractal value noise: octaves of hashed lattice values, quintic interpolation, each octave
/// half the wavelength and half the amplitude of the previous one. About -1..1.
#[derive(Debug, Clone)]
struct Fbm {
    stream: Stream,
    /// (1 / wavelength in pixels, amplitude / sum of amplitudes) per octave.
    octaves: Vec<(f64, f64)>,
}

impl Fbm {
    fn new(seed: u64, salt: u64, longest: f64, shortest: f64) -> Fbm {
        let mut waves = Vec::new();
        let mut l = longest.max(shortest);
        while waves.len() < 16 {
            waves.push(l);
            l /= 2.0;
            if l < shortest {
                break;
            }
        }
        let mut amps: Vec<f64> = (0..waves.len()).map(|o| 1.0 / (1u64 << o) as f64).collect();
        let total: f64 = amps.iter().sum();
        amps.iter_mut().for_each(|a| *a /= total);
        Fbm {
            stream: Stream::new(seed, salt),
            octaves: waves.iter().map(|w| 1.0 / w).zip(amps).collect(),
        }
    }
    #[inline]
    fn lattice(&self, o: usize, ix: i64, iy: i64) -> f64 {
        let key =
            ((o as u64) << 58) ^ ((ix as u64 & 0x1FFF_FFFF) << 29) ^ (iy as u64 & 0x1FFF_FFFF);
        2.0 * self.stream.unit(key) - 1.0
    }
    fn at(&self, x: f64, y: f64) -> f64 {
        let fade = |t: f64| t * t * t * (t * (t * 6.0 - 15.0) + 10.0);
        let mut sum = 0.0;
        for (o, &(inv, amp)) in self.octaves.iter().enumerate() {
            let (u, v) = (x * inv, y * inv);
            let (iu, iv) = (u.floor(), v.floor());
            let (su, sv) = (fade(u - iu), fade(v - iv));
            let (ix, iy) = (iu as i64, iv as i64);
            let a = self.lattice(o, ix, iy);
            let b = self.lattice(o, ix + 1, iy);
            let c = self.lattice(o, ix, iy + 1);
            let d = self.lattice(o, ix + 1, iy + 1);
            let top = a + (b - a) * su;
            let bottom = c + (d - c) * su;
            sum += amp * (top + (bottom - top) * sv);
        }
        sum
    }
}

/// Land: the coastline field, its threshold, and the texture field.
#[derive(Debug, Clone)]
struct Land {
    coast: Fbm,
    texture: Fbm,
    /// Land where the interpolated coast field > threshold.
    threshold: f64,
}

impl Land {
    fn coast_node(&self, i: usize, j: usize) -> f64 {
        self.coast.at((i * NODE) as f64, (j * NODE) as f64)
    }
    fn texture_node(&self, i: usize, j: usize) -> f64 {
        libm::exp(LAND_TEXTURE * self.texture.at((i * NODE) as f64, (j * NODE) as f64))
    }
}

/// Interpolation weight of a pixel between its two nodes: pixel centres are at node
/// coordinates (p + 0.5) / NODE.
#[inline]
fn node_frac(p: usize) -> (usize, f64) {
    (p / NODE, ((p % NODE) as f64 + 0.5) / NODE as f64)
}

#[inline]
fn bilerp(n00: f64, n10: f64, n01: f64, n11: f64, fu: f64, fv: f64) -> f64 {
    let top = n00 * (1.0 - fu) + n10 * fu;
    let bottom = n01 * (1.0 - fu) + n11 * fu;
    top * (1.0 - fv) + bottom * fv
}

pub use crate::geo::metres_per_degree;

/// A generated scene: parameters, vessels, land, georeferencing. Render it with
/// [`SarScene::render_rows`] (a band of rows), [`SarScene::render`] (whole) or
/// [`SarScene::write_geotiff`] (streamed to a file).
#[derive(Debug, Clone)]
pub struct SarScene {
    params: SarParams,
    georef: Georef,
    ships: Vec<Ship>,
    truth: Vec<VesselTruth>,
    land: Option<Land>,
    speckle: Gamma,
    texture: Option<Gamma>,
    /// Intensity scales of sea and land.
    sea_i: f64,
    land_i: f64,
    s_speckle: Stream,
    s_glint: Stream,
    s_points: Stream,
}

fn invalid(msg: String) -> Error {
    Error::Invalid(msg)
}

impl SarScene {
    /// Check the parameters, draw the land threshold and place the vessels.
    pub fn new(params: &SarParams) -> Result<SarScene> {
        let p = params.clone();
        let (w, h) = (p.width, p.height);
        if w == 0 || h == 0 {
            return Err(invalid(format!(
                "scene size {w}x{h}: both sides must be >= 1"
            )));
        }
        let pos = |v: f64| v.is_finite() && v > 0.0;
        if !(pos(p.looks) && p.looks >= 1.0) {
            return Err(invalid(format!("looks {} must be >= 1", p.looks)));
        }
        if let Speckle::K { nu } = p.speckle {
            if !(pos(nu) && nu >= 0.1) {
                return Err(invalid(format!("K texture shape {nu} must be >= 0.1")));
            }
        }
        for (name, v) in [
            ("sea mean", p.sea_mean),
            ("land mean", p.land_mean),
            ("pixel size", p.pixel_size_m),
            ("resolution", p.resolution_px),
        ] {
            if !pos(v) {
                return Err(invalid(format!("{name} {v} must be > 0")));
            }
        }
        if !(0.0..=1.0).contains(&p.land_fraction) {
            return Err(invalid(format!(
                "land fraction {} must be in 0..=1",
                p.land_fraction
            )));
        }
        if !(p.sidelobe_level.is_finite() && p.sidelobe_level >= 0.0) {
            return Err(invalid(format!(
                "sidelobe level {} must be >= 0",
                p.sidelobe_level
            )));
        }
        let (lmin, lmax) = p.length_m;
        if !(pos(lmin) && lmax.is_finite() && lmax >= lmin) {
            return Err(invalid(format!(
                "vessel lengths {lmin}..{lmax} m: need 0 < min <= max"
            )));
        }
        let (pmin, pmax) = p.peak;
        if !(pmin >= 1.0 && pmax.is_finite() && pmax >= pmin && pmax <= 65535.0) {
            return Err(invalid(format!(
                "vessel peaks {pmin}..{pmax}: need 1 <= min <= max <= 65535"
            )));
        }
        if let Some(hd) = p.heading_deg {
            if !hd.is_finite() {
                return Err(invalid(format!("heading {hd} is not a number")));
            }
        }

        let georef = Self::georef_of(&p)?;
        let speckle = Gamma::new(p.looks);
        let texture = match p.speckle {
            Speckle::Gamma => None,
            Speckle::K { nu } => Some(Gamma::new(nu)),
        };
        let e_sqrt = speckle.mean_sqrt() * texture.map_or(1.0, |t| t.mean_sqrt());
        let sea_i = (p.sea_mean / e_sqrt) * (p.sea_mean / e_sqrt);
        let land_e = speckle.mean_sqrt();
        let land_i = (p.land_mean / land_e) * (p.land_mean / land_e);

        let land = Self::land(&p)?;
        let mut scene = SarScene {
            georef,
            ships: Vec::new(),
            truth: Vec::new(),
            land,
            speckle,
            texture,
            sea_i,
            land_i,
            s_speckle: Stream::new(p.seed, 0x5350_454B), // "SPEK"
            s_glint: Stream::new(p.seed, 0x474C_4E54),   // "GLNT"
            s_points: Stream::new(p.seed, 0x504F_4E54),  // "PONT"
            params: p,
        };
        scene.place_vessels()?;
        Ok(scene)
    }

    /// The georeferencing: the requested centre at the scene's centre.
    fn georef_of(p: &SarParams) -> Result<Georef> {
        let (w, h) = (p.width as f64, p.height as f64);
        if !(p.lon.is_finite() && p.lat.is_finite()) {
            return Err(invalid(format!(
                "centre lon {} lat {} is not a point",
                p.lon, p.lat
            )));
        }
        match p.crs {
            SceneCrs::Wgs84 => {
                let (m_lat, m_lon) = metres_per_degree(p.lat);
                let (dlat, dlon) = (p.pixel_size_m / m_lat, p.pixel_size_m / m_lon);
                let (half_w, half_h) = (w / 2.0 * dlon, h / 2.0 * dlat);
                if p.lat.abs() + half_h > 85.0 || p.lon.abs() + half_w > 180.0 {
                    return Err(invalid(format!(
                        "a {}x{} scene of {} m pixels centred at lon {} lat {} does not fit \
                         within longitudes -180..180 and latitudes -85..85",
                        p.width, p.height, p.pixel_size_m, p.lon, p.lat
                    )));
                }
                Ok(Georef {
                    crs: Crs::WGS84,
                    origin_x: p.lon - half_w,
                    origin_y: p.lat + half_h,
                    pixel_x: dlon,
                    pixel_y: dlat,
                })
            }
            SceneCrs::Utm => {
                let (half_w, half_h) = (w / 2.0 * p.pixel_size_m, h / 2.0 * p.pixel_size_m);
                if !(-80.0..=84.0).contains(&p.lat)
                    || p.lon.abs() > 180.0
                    || half_w > 1_000_000.0
                    || half_h > 1_000_000.0
                {
                    return Err(invalid(format!(
                        "UTM: a {}x{} scene of {} m pixels centred at lon {} lat {}: the centre \
                         must lie within latitudes -80..84 and the scene within 1000 km of it",
                        p.width, p.height, p.pixel_size_m, p.lon, p.lat
                    )));
                }
                let utm = crate::geo::Crs::utm_containing(p.lon, p.lat);
                let (e, n) = utm
                    .from_lonlat(p.lon, p.lat)
                    .ok_or_else(|| invalid(format!("lon {} lat {}: outside UTM", p.lon, p.lat)))?;
                Ok(Georef {
                    crs: Crs::Projected(utm.epsg),
                    origin_x: e - half_w,
                    origin_y: n + half_h,
                    pixel_x: p.pixel_size_m,
                    pixel_y: p.pixel_size_m,
                })
            }
        }
    }

    /// WGS 84 longitude and latitude (degrees) of continuous pixel coordinates `(x, y)` (the
    /// centre of pixel (col, row) is (col + 0.5, row + 0.5)).
    pub fn pixel_to_lonlat(&self, x: f64, y: f64) -> (f64, f64) {
        let (mx, my) = self.georef.pixel_to_model(x, y);
        match self.georef.crs {
            Crs::Geographic(_) => (mx, my),
            Crs::Projected(code) => crate::geo::Crs::from_epsg(code)
                .ok()
                .and_then(|c| c.to_lonlat(mx, my))
                .unwrap_or((f64::NAN, f64::NAN)),
        }
    }

    /// The coastline threshold: the (1 - fraction) quantile of the coast field over a grid of
    /// up to 512 x 512 pixels spread over the scene.
    fn land(p: &SarParams) -> Result<Option<Land>> {
        if p.land_fraction <= 0.0 {
            return Ok(None);
        }
        let longest = (p.width.max(p.height) as f64 / 2.0).max(32.0);
        let mut land = Land {
            coast: Fbm::new(p.seed, 0x0043_4F41_5354, longest, 4.0 * NODE as f64), // "COAST"
            texture: Fbm::new(p.seed, 0x5445_5854, 64.0, 4.0 * NODE as f64),       // "TEXT"
            threshold: f64::NEG_INFINITY,
        };
        if p.land_fraction < 1.0 {
            let nx = p.width.min(512) as usize;
            let ny = p.height.min(512) as usize;
            let mut v: Vec<f64> = (0..ny)
                .into_par_iter()
                .flat_map_iter(|j| {
                    let y = ((j as f64 + 0.5) * p.height as f64 / ny as f64) as usize;
                    let land = &land;
                    (0..nx).map(move |i| {
                        let x = ((i as f64 + 0.5) * p.width as f64 / nx as f64) as usize;
                        land_value(land, x, y)
                    })
                })
                .collect();
            v.sort_by(f64::total_cmp);
            let k = (((1.0 - p.land_fraction) * v.len() as f64) as usize).min(v.len() - 1);
            land.threshold = v[k];
        }
        Ok(Some(land))
    }

    /// Place the vessels by rejection: inside the scene, on water, apart.
    fn place_vessels(&mut self) -> Result<()> {
        let p = &self.params;
        let n = p.vessels as usize;
        let (w, h) = (p.width as f64, p.height as f64);
        let s = Stream::new(p.seed, 0x0053_4849_5053); // "SHIPS"
        let (lmin, lmax) = p.length_m;
        let (pmin, pmax) = p.peak;
        let len_ratio = libm::log(lmax / lmin);
        let peak_ratio = libm::log(pmax / pmin);
        let cell = (lmax / p.pixel_size_m + 2.0 * (HULL_DILATION_PX + VESSEL_MARGIN_PX)).max(1.0);
        let mut grid: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        let mut radii: Vec<f64> = Vec::new();
        let max_attempts = 1000 + 200 * n as u64;
        let mut k = 0u64;
        while self.ships.len() < n && k < max_attempts {
            let base = k * 16;
            k += 1;
            let u = |j: u64| s.unit(base + j);
            let len_m = lmin * libm::exp(u(0) * len_ratio);
            let wid_m = len_m / (5.0 + 3.0 * u(1));
            let heading = match p.heading_deg {
                Some(hd) => hd.rem_euclid(180.0),
                None => 180.0 * u(2),
            };
            let q = if len_ratio > 0.0 {
                libm::log(len_m / lmin) / len_ratio
            } else {
                0.5
            };
            let peak = (pmin * libm::exp((0.6 * q + 0.4 * u(3)).clamp(0.0, 1.0) * peak_ratio))
                .round()
                .clamp(pmin.ceil(), pmax.floor().max(pmin.ceil()));
            let th = heading * PI / 180.0;
            let (ex, ey) = (libm::sin(th), -libm::cos(th));
            let ha = len_m / 2.0 / p.pixel_size_m + HULL_DILATION_PX;
            let hb = wid_m / 2.0 / p.pixel_size_m + HULL_DILATION_PX;
            // Half extents of the ellipse's bounding box, and the clear margin.
            let hx = (ha * ha * ex * ex + hb * hb * ey * ey).sqrt() + VESSEL_MARGIN_PX + 1.0;
            let hy = (ha * ha * ey * ey + hb * hb * ex * ex).sqrt() + VESSEL_MARGIN_PX + 1.0;
            if w <= 2.0 * hx || h <= 2.0 * hy {
                continue;
            }
            let cx = hx + u(4) * (w - 2.0 * hx);
            let cy = hy + u(5) * (h - 2.0 * hy);
            let r = (hx * hx + hy * hy).sqrt();
            // Apart from the vessels placed.
            let (gx, gy) = ((cx / cell).floor() as i64, (cy / cell).floor() as i64);
            let clash = (-2..=2).any(|ox| {
                (-2..=2).any(|oy| {
                    grid.get(&(gx + ox, gy + oy)).is_some_and(|v| {
                        v.iter().any(|&i| {
                            let o = &self.ships[i];
                            let d2 = (o.cx - cx) * (o.cx - cx) + (o.cy - cy) * (o.cy - cy);
                            d2 < (r + radii[i]) * (r + radii[i])
                        })
                    })
                })
            });
            if clash {
                continue;
            }
            let mut ship = Ship {
                cx,
                cy,
                ex,
                ey,
                ha,
                hb,
                x0: (cx - hx).floor().max(0.0) as u32,
                y0: (cy - hy).floor().max(0.0) as u32,
                x1: ((cx + hx).ceil() as u32).min(p.width),
                y1: ((cy + hy).ceil() as u32).min(p.height),
                peak,
                px: 0,
                py: 0,
                dx: 0.0,
                dy: 0.0,
                lobe: 0,
            };
            // On water: every land node around the box (grown by the margin) is below the
            // threshold, so every interpolated value is too.
            if let Some(land) = &self.land {
                let (i0, _) = node_frac(ship.x0 as usize);
                let (i1, _) = node_frac(ship.x1 as usize - 1);
                let (j0, _) = node_frac(ship.y0 as usize);
                let (j1, _) = node_frac(ship.y1 as usize - 1);
                let wet = (j0..=j1 + 1)
                    .all(|j| (i0..=i1 + 1).all(|i| land.coast_node(i, j) < land.threshold - 1e-9));
                if !wet {
                    continue;
                }
            }
            // The strongest scatterer, on the keel line; its pixel must be a hull pixel.
            let along = (1.2 * u(6) - 0.6) * (ha - HULL_DILATION_PX);
            let (sx, sy) = (cx + along * ex, cy + along * ey);
            let (px, py) = (sx.floor() as u32, sy.floor() as u32);
            let (px, py, sx, sy) = if ship.in_ellipse(px, py) {
                (px, py, sx, sy)
            } else {
                (cx.floor() as u32, cy.floor() as u32, cx, cy)
            };
            ship.px = px;
            ship.py = py;
            ship.dx = sx - (px as f64 + 0.5);
            ship.dy = sy - (py as f64 + 0.5);
            let k_sl = p.sidelobe_level;
            ship.lobe = if k_sl > 0.0 {
                let reach = 2.0 * k_sl * peak * p.resolution_px / (PI * p.sea_mean);
                reach.ceil().min(MAX_SIDELOBE_PX as f64) as u32
            } else {
                0
            };
            // Tight hull box and pixel count.
            let (mut bx0, mut by0, mut bx1, mut by1, mut count) = (u32::MAX, u32::MAX, 0, 0, 0);
            for y in ship.y0..ship.y1 {
                for x in ship.x0..ship.x1 {
                    if ship.in_ellipse(x, y) {
                        bx0 = bx0.min(x);
                        by0 = by0.min(y);
                        bx1 = bx1.max(x + 1);
                        by1 = by1.max(y + 1);
                        count += 1;
                    }
                }
            }
            let id = self.ships.len() as u32 + 1;
            let (lon, lat) = self.pixel_to_lonlat(cx, cy);
            self.truth.push(VesselTruth {
                id,
                x: cx,
                y: cy,
                lon,
                lat,
                length_m: len_m,
                width_m: wid_m,
                heading_deg: heading,
                peak: peak as u16,
                peak_px: [px, py],
                bbox: [bx0, by0, bx1, by1],
                pixels: count,
            });
            grid.entry((gx, gy)).or_default().push(self.ships.len());
            radii.push(r);
            self.ships.push(ship);
        }
        if self.ships.len() < n {
            return Err(invalid(format!(
                "could place only {} of {n} vessels apart on the water of a {}x{} scene with \
                 {}% land: ask for fewer vessels, shorter ones, less land or a larger scene",
                self.ships.len(),
                p.width,
                p.height,
                p.land_fraction * 100.0
            )));
        }
        Ok(())
    }

    /// The parameters.
    pub fn params(&self) -> &SarParams {
        &self.params
    }

    /// The georeferencing (EPSG:4326 or UTM).
    pub fn georef(&self) -> Georef {
        self.georef
    }

    /// The vessels, in id order.
    pub fn truth(&self) -> &[VesselTruth] {
        &self.truth
    }

    /// Whether pixel (x, y) is land.
    pub fn is_land(&self, x: u32, y: u32) -> bool {
        self.land
            .as_ref()
            .is_some_and(|l| land_value(l, x as usize, y as usize) > l.threshold)
    }

    /// Rows `y0 .. y0 + rows` (full width), row-major: the [`write_geotiff`] source.
    pub fn render_rows(&self, y0: u32, rows: u32) -> Vec<u16> {
        let w = self.params.width as usize;
        let y1 = (y0 + rows).min(self.params.height);
        let mut out = vec![0u16; w * (y1 - y0) as usize];
        if out.is_empty() {
            return out;
        }
        // Land nodes of the band, computed once (a node's value depends on it alone).
        let nodes = self.land.as_ref().map(|land| {
            let (j0, _) = node_frac(y0 as usize);
            let (j1, _) = node_frac(y1 as usize - 1);
            let ni = node_frac(w - 1).0 + 2;
            let nj = j1 + 2 - j0;
            let mut coast = vec![0.0; ni * nj];
            let mut tex = vec![0.0; ni * nj];
            coast
                .par_chunks_mut(ni)
                .zip(tex.par_chunks_mut(ni))
                .enumerate()
                .for_each(|(r, (c, t))| {
                    for i in 0..ni {
                        c[i] = land.coast_node(i, j0 + r);
                        t[i] = land.texture_node(i, j0 + r);
                    }
                });
            BandNodes { j0, ni, coast, tex }
        });
        let ships: Vec<&Ship> = self
            .ships
            .iter()
            .filter(|s| {
                let (a, b) = s.rows(self.params.height);
                a < y1 && b > y0
            })
            .collect();
        out.par_chunks_mut(w).enumerate().for_each(|(r, row)| {
            self.render_row(y0 + r as u32, row, nodes.as_ref(), &ships);
        });
        out
    }

    fn render_row(&self, y: u32, out: &mut [u16], nodes: Option<&BandNodes>, ships: &[&Ship]) {
        let w = out.len();
        let p = &self.params;
        let mut amp = vec![0.0f64; w];
        let row_base = y as u64 * w as u64;
        // Sea and land.
        let (jy, fv) = node_frac(y as usize);
        for (x, a) in amp.iter_mut().enumerate() {
            let i = row_base + x as u64;
            let mut rng = Rng(self.s_speckle.at(i));
            let s = self.speckle.sample(&mut rng);
            let land = nodes.and_then(|n| {
                let (ix, fu) = node_frac(x);
                let at = |v: &[f64], di: usize, dj: usize| v[(jy - n.j0 + dj) * n.ni + ix + di];
                // The field `v` interpolated between the four nodes around the pixel.
                let interp =
                    |v: &[f64]| bilerp(at(v, 0, 0), at(v, 1, 0), at(v, 0, 1), at(v, 1, 1), fu, fv);
                let threshold = self.land.as_ref().map_or(f64::INFINITY, |l| l.threshold);
                (interp(&n.coast) > threshold).then(|| interp(&n.tex))
            });
            let intensity = match land {
                Some(m) => {
                    let mut v = self.land_i * m * s;
                    let u = self.s_points.unit(i);
                    if u < LAND_POINT_RATE {
                        let (g0, g1) = LAND_POINT_GAIN;
                        v *= g0 + (g1 - g0) * (u / LAND_POINT_RATE);
                    }
                    v
                }
                None => {
                    let t = self.texture.map_or(1.0, |t| t.sample(&mut rng));
                    self.sea_i * t * s
                }
            };
            *a = intensity.sqrt();
        }
        // Hulls (they hide what is below).
        for s in ships {
            if y < s.y0 || y >= s.y1 {
                continue;
            }
            for x in s.x0..s.x1 {
                if s.in_ellipse(x, y) {
                    amp[x as usize] = if (x, y) == (s.px, s.py) {
                        s.peak
                    } else {
                        let g = self.s_glint.unit(row_base + x as u64);
                        s.peak * (HULL_MIN_FRACTION + 0.4 * g)
                    };
                }
            }
        }
        // Sidelobes (they add, in intensity).
        let k = p.sidelobe_level;
        let rho = p.resolution_px;
        let lobe = |d: i64, delta: f64, peak: f64| {
            let t = PI * (d as f64 - delta) / rho;
            k * peak / (1.0 + t * t).sqrt()
        };
        for s in ships {
            if s.lobe == 0 {
                continue;
            }
            let l = s.lobe as i64;
            if y == s.py {
                let lo = (s.px as i64 - l).max(0);
                let hi = (s.px as i64 + l).min(w as i64 - 1);
                for x in lo..=hi {
                    let d = x - s.px as i64;
                    if d != 0 {
                        let v = lobe(d, s.dx, s.peak);
                        let a = &mut amp[x as usize];
                        *a = (*a * *a + v * v).sqrt();
                    }
                }
            } else {
                let d = y as i64 - s.py as i64;
                if d.abs() <= l {
                    let v = lobe(d, s.dy, s.peak);
                    let a = &mut amp[s.px as usize];
                    *a = (*a * *a + v * v).sqrt();
                }
            }
        }
        for (o, a) in out.iter_mut().zip(&amp) {
            *o = a.round().min(u16::MAX as f64) as u16;
        }
    }

    /// The whole scene as a u16 raster (for tests and small scenes).
    pub fn render(&self) -> Raster {
        let keys = self
            .render_rows(0, self.params.height)
            .into_iter()
            .map(u32::from)
            .collect();
        Raster {
            width: self.params.width,
            height: self.params.height,
            kind: SampleKind::U16,
            keys,
            band: 1,
            bands: 1,
            nodata: None,
        }
    }

    /// Stream the scene to `path` as a tiled GeoTIFF (its georeferencing replaces
    /// `opts.georef`), one tile row at a time.
    pub fn write_geotiff(&self, path: &Path, opts: &GeoTiffOptions) -> Result<GeoTiffSummary> {
        let opts = GeoTiffOptions {
            georef: Some(self.georef),
            description: opts.description.clone().or_else(|| {
                Some(format!(
                    "vesselscan synth: simulated SAR amplitude, {} looks",
                    self.params.looks
                ))
            }),
            ..opts.clone()
        };
        write_geotiff(
            path,
            self.params.width,
            self.params.height,
            &opts,
            |y0, rows| Ok(self.render_rows(y0, rows)),
        )
    }

    /// The ground truth as an RFC 7946 GeoJSON FeatureCollection: one Point (lon, lat) per
    /// vessel with the [`VesselTruth`] fields as properties, and the scene's parameters in a
    /// foreign member `vesselscan_synth`; pretty-printed, newline-terminated.
    pub fn truth_geojson(&self) -> String {
        let p = &self.params;
        let (speckle, k_shape) = match p.speckle {
            Speckle::Gamma => ("gamma", None),
            Speckle::K { nu } => ("k", Some(nu)),
        };
        let doc = GeoJson {
            kind: "FeatureCollection",
            vesselscan_synth: SceneInfo {
                width: p.width,
                height: p.height,
                seed: p.seed,
                crs: format!("EPSG:{}", self.georef.crs.epsg()),
                geo_transform: self.georef.geo_transform(),
                pixel_size_m: p.pixel_size_m,
                pixel_convention: "pixel (col, row) covers [col, col+1) x [row, row+1) in x, y",
                speckle,
                looks: p.looks,
                k_shape,
                sea_mean: p.sea_mean,
                land_fraction: p.land_fraction,
                land_mean: p.land_mean,
                sidelobe_level: p.sidelobe_level,
                resolution_px: p.resolution_px,
            },
            features: self
                .truth
                .iter()
                .map(|t| Feature {
                    kind: "Feature",
                    id: t.id,
                    geometry: Point {
                        kind: "Point",
                        coordinates: [t.lon, t.lat],
                    },
                    properties: t,
                })
                .collect(),
        };
        let mut s = serde_json::to_string_pretty(&doc).expect("truth serialises");
        s.push('\n');
        s
    }
}

#[derive(Serialize)]
struct GeoJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    vesselscan_synth: SceneInfo,
    features: Vec<Feature<'a>>,
}

#[derive(Serialize)]
struct SceneInfo {
    width: u32,
    height: u32,
    seed: u64,
    crs: String,
    geo_transform: [f64; 6],
    pixel_size_m: f64,
    pixel_convention: &'static str,
    speckle: &'static str,
    looks: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    k_shape: Option<f64>,
    sea_mean: f64,
    land_fraction: f64,
    land_mean: f64,
    sidelobe_level: f64,
    resolution_px: f64,
}

#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: u32,
    geometry: Point,
    properties: &'a VesselTruth,
}

#[derive(Serialize)]
struct Point {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

/// The land nodes of one band of rows.
struct BandNodes {
    j0: usize,
    ni: usize,
    coast: Vec<f64>,
    tex: Vec<f64>,
}

/// The interpolated coast field at pixel (x, y) (the same arithmetic as the band renderer).
fn land_value(land: &Land, x: usize, y: usize) -> f64 {
    let (i, fu) = node_frac(x);
    let (j, fv) = node_frac(y);
    bilerp(
        land.coast_node(i, j),
        land.coast_node(i + 1, j),
        land.coast_node(i, j + 1),
        land.coast_node(i + 1, j + 1),
        fu,
        fv,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_moments() {
        for shape in [0.5, 1.0, 3.0, 4.4, 10.0] {
            let g = Gamma::new(shape);
            let n = 200_000;
            let s = Stream::new(1, 2);
            let (mut m1, mut m2, mut ms) = (0.0, 0.0, 0.0);
            for i in 0..n {
                let v = g.sample(&mut Rng(s.at(i)));
                m1 += v;
                m2 += v * v;
                ms += v.sqrt();
            }
            let n = n as f64;
            let (mean, var) = (m1 / n, m2 / n - (m1 / n) * (m1 / n));
            assert!((mean - 1.0).abs() < 0.01, "shape {shape}: mean {mean}");
            // Var of a unit-mean gamma: 1 / shape.
            assert!((var * shape - 1.0).abs() < 0.05, "shape {shape}: var {var}");
            assert!((ms / n / g.mean_sqrt() - 1.0).abs() < 0.01, "shape {shape}");
        }
    }

    #[test]
    fn metres_per_degree_wgs84() {
        let (lat, lon) = metres_per_degree(0.0);
        assert!((lat - 110_574.3).abs() < 1.0 && (lon - 111_319.5).abs() < 1.0);
        let (lat, lon) = metres_per_degree(52.0);
        assert!(
            (lat - 111_267.0).abs() < 5.0 && (lon - 68_677.0).abs() < 5.0,
            "{lat} {lon}"
        );
    }

    #[test]
    fn land_decision_same_in_renderer_and_is_land() {
        // Land far brighter than the sea: the pixel value tells land from sea.
        let p = SarParams {
            width: 203,
            height: 130,
            vessels: 0,
            land_fraction: 0.4,
            looks: 16.0,
            sea_mean: 10.0,
            land_mean: 30000.0,
            ..Default::default()
        };
        let s = SarScene::new(&p).unwrap();
        let img = s.render_rows(37, 50);
        let mut n = 0;
        for y in 37..87u32 {
            for x in 0..203u32 {
                let v = img[(y as usize - 37) * 203 + x as usize];
                assert_eq!(v > 1000, s.is_land(x, y), "({x}, {y}) = {v}");
                n += s.is_land(x, y) as u32;
            }
        }
        assert!(n > 0 && n < 203 * 50, "{n}");
    }
}
