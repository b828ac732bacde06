//! The whole detection pipeline on one raster, for either backend:
//! threshold choice -> mask + label + measure per tile (the engine) -> merge seams -> detections.

use crate::cfar::{censored_rings_rows, level_params, CfarOptions, CfarResolved};
use crate::confidence::{BackgroundFrame, Backgrounds};
use crate::detections::{detections, Detection};
use crate::engine::{
    cfar_mask_scene, effective_tile_size, histogram_scene, label_scene, minmax_scene, Engine,
    Plane, SceneLabels,
};
use crate::error::{Error, Result};
use crate::geo::{GeoStatus, Georef};
use crate::profile::{self, Stage};
use crate::read::window::for_each_window;
use crate::read::{Raster, WINDOW_BYTES_PER_PX};
use crate::sample::{f32_sum_exponent, key_to_value, nodata_key, threshold_key, SampleKind};
use crate::seams::SeamMerger;
use crate::threshold::{binning, mean_std, otsu_key, Binning};
use crate::tiling::{
    Connectivity, Params, FLAG_CFAR, FLAG_NAN, FLAG_NODATA, FLAG_NONE, FLAG_WATER,
};
use crate::water::WaterMask;
use serde::Serialize;

/// Default tile side: the largest square tile that fits WebGPU's default limits.
pub const DEFAULT_TILE_SIZE: u32 = 2048;

/// Smallest tile a tight memory cap shrinks tiles to (below it seams cost more than memory).
pub const MIN_WINDOW_TILE: u32 = 64;

/// How the target threshold is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdMode {
    /// Target when value >= V.
    Fixed(f64),
    /// Otsu's method on the scene histogram.
    Otsu,
    /// Mean + k standard deviations of the scene's valid values: a global constant false-alarm
    /// rule, the default (k = [`DEFAULT_SIGMAS`]). Bright targets on a darker background.
    MeanStd(f64),
    /// No threshold: every valid pixel passes (with CFAR, which then decides alone).
    None,
}

/// k of the default threshold, mean + k sigma.
pub const DEFAULT_SIGMAS: f64 = 5.0;

#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// The preset these options came from, and how it was chosen (reported only).
    pub preset: Option<crate::preset::Choice>,
    pub threshold: ThresholdMode,
    /// Nodata value; overrides the file's. Never a target.
    pub nodata: Option<f64>,
    pub connectivity: Connectivity,
    pub tile_size: u32,
    pub min_area: u64,
    pub max_area: u64,
    /// Filters on the size on the ground (need georeferencing or a pixel size).
    pub ground: GroundFilter,
    /// Georeferencing to use instead of the source's (e.g. a SAFE annotation grid).
    pub georef: Option<std::sync::Arc<Georef>>,
    /// Ground size of a pixel, metres, for scenes without usable georeferencing (sizes in
    /// metres, no lon/lat).
    pub pixel_size_m: Option<f64>,
    /// Two-parameter CFAR: targets must also stand out of their local background (the
    /// threshold stays a floor).
    pub cfar: Option<CfarOptions>,
    /// Where the water is: land pixels are never targets and stay out of CFAR rings; each
    /// detection gets its distance to land.
    pub water: Option<WaterSpec>,
    /// Compute each detection's `scr`, `contrast` and `score` (one more read of the rows around
    /// the detections; see [`crate::confidence`]). The CLI always does; off by default here.
    pub confidence: bool,
    /// Keep detections whose `score` is at least this (implies `confidence`).
    pub min_score: Option<f64>,
    /// Drop objects at most 2 px thick that touch the scene's edge: bright edge columns and
    /// rows of JPEG chips and readout artefacts, never a vessel seen whole.
    pub drop_edge_lines: bool,
    /// Drop detections of less than a quarter of a larger detection's area whose centroid lies
    /// inside its box grown by this fraction of its longer side on every side (pieces of a ship
    /// split in two, bright points on a ship's sidelobes); see [`suppress_inside`].
    pub suppress_inside: Option<f64>,
}

/// A piece is at most this fraction of the area of the detection it belongs to.
pub const PIECE_AREA_RATIO: f64 = 0.25;

/// Drop the detections whose centroid lies inside the bounding box of a detection over
/// 1 / [`PIECE_AREA_RATIO`] times their area, that box grown by `margin` times its longer side
/// on every side; renumber the rest. (Ships side by side are of similar size and stay.) Boxes
/// are bucketed in cells of 64 px, so a scene of many detections costs about linear time.
pub fn suppress_inside(dets: &mut Vec<Detection>, margin: f64) {
    const CELL: f64 = 64.0;
    // Boxes over more cells than this are checked against every centroid instead.
    const MAX_CELLS: f64 = 1024.0;
    let grown: Vec<[f64; 4]> = dets
        .iter()
        .map(|d| {
            let b = d.bbox.map(|v| v as f64);
            let m = margin * (b[2] - b[0]).max(b[3] - b[1]);
            [b[0] - m, b[1] - m, b[2] + m, b[3] + m]
        })
        .collect();
    let cell = |v: f64| (v / CELL).floor() as i64;
    let mut cells: std::collections::HashMap<(i64, i64), Vec<usize>> = Default::default();
    let mut big = Vec::new();
    for (j, g) in grown.iter().enumerate() {
        // Counted in f64: a huge margin puts the cells far beyond i64, where the product of
        // the spans would overflow (and wrap to a small or negative count).
        let span = |a: f64, b: f64| (b / CELL).floor() - (a / CELL).floor() + 1.0;
        let n = span(g[0], g[2]) * span(g[1], g[3]);
        if n.is_nan() || n > MAX_CELLS {
            big.push(j);
            continue;
        }
        let (cx0, cy0, cx1, cy1) = (cell(g[0]), cell(g[1]), cell(g[2]), cell(g[3]));
        for cy in cy0..=cy1 {
            for cx in cx0..=cx1 {
                cells.entry((cx, cy)).or_default().push(j);
            }
        }
    }
    let none = Vec::new();
    let inside: Vec<bool> = dets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let near = cells.get(&(cell(a.x), cell(a.y))).unwrap_or(&none);
            near.iter().chain(&big).any(|&j| {
                let g = &grown[j];
                j != i
                    && (a.area as f64) < PIECE_AREA_RATIO * dets[j].area as f64
                    && (g[0]..=g[2]).contains(&a.x)
                    && (g[1]..=g[3]).contains(&a.y)
            })
        })
        .collect();
    // `retain` visits the detections once each, in order.
    let mut inside = inside.into_iter();
    retain_renumber(dets, |_| !inside.next().unwrap_or(false));
}

/// Keep the detections `keep` accepts, numbered again from 1 in order.
fn retain_renumber(dets: &mut Vec<Detection>, mut keep: impl FnMut(&Detection) -> bool) {
    dets.retain(|d| keep(d));
    for (i, d) in dets.iter_mut().enumerate() {
        d.id = i as u32 + 1;
    }
}

/// A detection is a line along the edge of a `width` x `height` scene (see
/// [`DetectOptions::drop_edge_lines`]).
pub fn is_edge_line(d: &Detection, width: u32, height: u32) -> bool {
    let b = d.bbox;
    let touches = b[0] == 0 || b[1] == 0 || b[2] == width as u64 || b[3] == height as u64;
    touches && (b[2] - b[0] <= 2 || b[3] - b[1] <= 2)
}

/// Where a water mask comes from (`--mask`, `--land`, `--ndwi`, `--water auto`).
#[derive(Debug, Clone)]
pub enum WaterSource {
    /// A raster on the scene grid, nonzero = water.
    Mask(std::path::PathBuf),
    /// Land polygons in lon/lat (GeoJSON), rasterized on the scene grid.
    Land(std::path::PathBuf),
    /// NDWI of a green and a near-infrared band (band numbers of the scene or files).
    Ndwi(crate::water::BandRef, crate::water::BandRef),
    /// `--ndwi GREEN,NIR` as typed: band numbers refer to the input, resolved per input by
    /// [`WaterSpec::for_input`].
    NdwiSpec(String),
    /// The scene itself is one near-infrared band: water is its large dark bodies.
    AutoNir,
    /// A mask already built (library use).
    Given(std::sync::Arc<crate::water::WaterMask>),
}

/// A water mask request: its source and the shore buffer.
#[derive(Debug, Clone)]
pub struct WaterSpec {
    pub source: WaterSource,
    /// Drop water within this many metres of land (needs the pixel size).
    pub shore_buffer_m: Option<f64>,
}

impl WaterSpec {
    /// This request for the scene file `input` (resolves `--ndwi` band numbers to it).
    pub fn for_input(&self, input: &std::path::Path) -> Result<WaterSpec> {
        let source = match &self.source {
            WaterSource::NdwiSpec(s) => {
                let (g, n) = crate::water::BandRef::parse_pair(s, input)?;
                WaterSource::Ndwi(g, n)
            }
            other => other.clone(),
        };
        Ok(WaterSpec {
            source,
            shore_buffer_m: self.shore_buffer_m,
        })
    }

    /// Build the mask of a `src` scene (the automatic mask reads the whole scene once).
    pub fn build(
        &self,
        src: &mut dyn RasterSource,
        geo: &GeoStatus,
    ) -> Result<std::sync::Arc<crate::water::WaterMask>> {
        use crate::water::WaterMask;
        let info = src.info();
        let (w, h) = (info.width, info.height);
        let px_m = centre_pixel_size_m(geo, w, h);
        let mut m = match &self.source {
            WaterSource::Mask(p) => WaterMask::from_raster(p, w, h)?,
            WaterSource::Land(p) => {
                let Some(g) = geo.georef() else {
                    return Err(Error::NoGeoref {
                        path: p.clone(),
                        msg: "land polygons need a georeferenced scene, and this one has none"
                            .into(),
                    });
                };
                WaterMask::from_land_geojson(p, w, h, g)?
            }
            WaterSource::Ndwi(g, n) => {
                // Moored and anchored ships are not water by NDWI: fill them back in, as the
                // automatic mask does.
                let mut m = WaterMask::from_ndwi_sources(g, n, w, h, 0.0)?;
                let a = crate::water::AutoParams::for_scene(w, h, px_m);
                m.fill_vessel_holes(a.max_vessel_px, a.max_vessel_side_px);
                m.grow_water_to_quays(a.quay_margin_px, a.max_vessel_px, a.thin_land_side_px);
                m
            }
            WaterSource::NdwiSpec(s) => {
                return Err(Error::Invalid(format!(
                    "--ndwi {s}: band numbers need the input's path (WaterSpec::for_input)"
                )))
            }
            WaterSource::AutoNir => {
                let a = crate::water::AutoParams::for_scene(w, h, px_m);
                WaterMask::auto_from_nir_source(src, &a)?.0
            }
            WaterSource::Given(m) => {
                if (m.width(), m.height()) != (w, h) {
                    return Err(Error::Invalid(format!(
                        "water mask of {}x{} pixels for a scene of {w}x{h}",
                        m.width(),
                        m.height()
                    )));
                }
                if self.shore_buffer_m.is_none() {
                    return Ok(m.clone());
                }
                (**m).clone()
            }
        };
        if let Some(b) = self.shore_buffer_m {
            let Some(pm) = px_m else {
                return Err(Error::Invalid(
                    "--shore-buffer-m needs the size of a pixel on the ground; give --pixel-size-m"
                        .into(),
                ));
            };
            if !(b.is_finite() && b >= 0.0) {
                return Err(Error::Invalid(format!(
                    "--shore-buffer-m {b}: a distance in metres, 0 or more"
                )));
            }
            m.buffer_shore(b / pm);
        }
        Ok(std::sync::Arc::new(m))
    }
}

/// The bits of mask `m` (water, or the rings of a censored CFAR) for scene rows `top..bottom`
/// as the kernels read them: bit `(row - top) * width + x`, 32 a word, LSB first.
pub fn water_plane(m: &crate::water::WaterMask, top: u32, bottom: u32) -> Vec<u32> {
    let w = m.width() as usize;
    let n = (bottom - top) as usize * w;
    let mut buf = vec![0u64; n.div_ceil(64) + 1];
    for (r, y) in (top..bottom).enumerate() {
        for (i, &word) in m.row_words(y).iter().enumerate() {
            let o = r * w + i * 64;
            let (q, s) = (o >> 6, o & 63);
            buf[q] |= word << s;
            if s != 0 {
                buf[q + 1] |= word >> (64 - s);
            }
        }
    }
    let mut out: Vec<u32> = buf
        .iter()
        .flat_map(|&v| [v as u32, (v >> 32) as u32])
        .collect();
    out.truncate(n.div_ceil(32));
    out
}

/// Keep objects whose size on the ground is within these bounds (metres; aspect = length /
/// width).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct GroundFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_length_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_width_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_aspect: Option<f64>,
}

impl GroundFilter {
    pub fn is_set(&self) -> bool {
        *self != GroundFilter::default()
    }

    /// The flag names that are set, for messages.
    fn names(&self) -> String {
        let mut v = Vec::new();
        for (set, n) in [
            (self.min_length_m.is_some(), "--min-length-m"),
            (self.max_length_m.is_some(), "--max-length-m"),
            (self.max_width_m.is_some(), "--max-width-m"),
            (self.min_aspect.is_some(), "--min-aspect"),
        ] {
            if set {
                v.push(n);
            }
        }
        v.join(", ")
    }

    fn keeps(&self, d: &Detection) -> bool {
        let (Some(l), Some(w)) = (d.length_m, d.width_m) else {
            return true;
        };
        self.min_length_m.is_none_or(|m| l >= m)
            && self.max_length_m.is_none_or(|m| l <= m)
            && self.max_width_m.is_none_or(|m| w <= m)
            && self.min_aspect.is_none_or(|a| l >= a * w)
    }
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            preset: None,
            threshold: ThresholdMode::MeanStd(DEFAULT_SIGMAS),
            nodata: None,
            connectivity: Connectivity::Eight,
            tile_size: DEFAULT_TILE_SIZE,
            min_area: 1,
            max_area: u64::MAX,
            ground: GroundFilter::default(),
            georef: None,
            pixel_size_m: None,
            cfar: None,
            water: None,
            confidence: false,
            min_score: None,
            drop_edge_lines: false,
            suppress_inside: None,
        }
    }
}

/// The parameters a run used, as reported in the output (no tile size or backend: those never
/// change the result).
#[derive(Debug, Clone, Serialize)]
pub struct ParamsReport {
    /// The preset the options came from, and how it was chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<crate::preset::Choice>,
    /// "fixed", "otsu" or "mean_std".
    pub threshold_method: &'static str,
    /// Target when value >= threshold (None: no pixel could be a target).
    pub threshold: Option<f64>,
    pub connectivity: Connectivity,
    pub nodata: Option<f64>,
    pub min_area: u64,
    pub max_area: Option<u64>,
    pub sample_type: SampleKind,
    /// Size filters on the ground, those set.
    #[serde(flatten)]
    pub ground: GroundFilter,
    /// f32 scenes: the resolution of `sum` (sums are exact multiples of it; see
    /// [`crate::sample::f32_sum_exponent`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum_step: Option<f64>,
    /// The CFAR used, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cfar: Option<CfarReport>,
    /// The water mask used, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub water: Option<WaterReport>,
}

/// The water mask of a run as reported.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WaterReport {
    /// "mask", "land", "ndwi", "auto" or "given".
    pub source: &'static str,
    /// Share of the scene's pixels that are water.
    pub water_fraction: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shore_buffer_m: Option<f64>,
}

impl WaterSource {
    /// Short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            WaterSource::Mask(_) => "mask",
            WaterSource::Land(_) => "land",
            WaterSource::Ndwi(..) | WaterSource::NdwiSpec(_) => "ndwi",
            WaterSource::AutoNir => "auto",
            WaterSource::Given(_) => "given",
        }
    }
}

/// The CFAR of a run as reported: k (as the kernels use it, to 1/256) and the windows.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CfarReport {
    pub k: f64,
    pub guard_px: u32,
    pub background_px: u32,
    pub min_ring_pixels: u32,
    /// Censored CFAR: the first pass's k, and the growth of its targets in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub censor_k: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub censor_grow_px: Option<u32>,
}

impl From<CfarResolved> for CfarReport {
    fn from(c: CfarResolved) -> Self {
        CfarReport {
            k: c.k(),
            guard_px: 2 * c.guard_radius_px + 1,
            background_px: 2 * c.background_radius_px + 1,
            min_ring_pixels: c.min_ring_pixels,
            censor_k: c.censor_k(),
            censor_grow_px: c.censor_k().map(|_| c.censor_grow_px),
        }
    }
}

/// Ground size of a pixel in metres at the scene centre (the square root of the area of the
/// pixel's footprint), when the georeferencing gives it.
pub fn centre_pixel_size_m(geo: &GeoStatus, width: u32, height: u32) -> Option<f64> {
    pixel_size_m(geo.georef()?, width as f64 / 2.0, height as f64 / 2.0)
}

/// Ground size of the pixel at (x, y) in metres: the square root of its footprint's area.
fn pixel_size_m(g: &Georef, x: f64, y: f64) -> Option<f64> {
    let j = g.ground_jacobian(x, y)?;
    let a = (j[0][0] * j[1][1] - j[0][1] * j[1][0]).abs().sqrt();
    (a.is_finite() && a > 0.0).then_some(a)
}

/// Result of [`detect`].
#[derive(Debug, Clone)]
pub struct DetectOutput {
    pub params: ParamsReport,
    pub detections: Vec<Detection>,
    /// Tile size actually used (after clamping to the backend's limits).
    pub tile_size: u32,
    /// The georeferencing used (lon/lat and metres of the detections).
    pub geo: GeoStatus,
}

pub use crate::read::window::{InMemory, Owned, RasterSource};

/// Run the pipeline on an in-memory `raster` with `engine`.
pub fn detect(engine: &dyn Engine, raster: &Raster, opts: &DetectOptions) -> Result<DetectOutput> {
    detect_source(engine, &mut InMemory(raster), opts, None)
}

/// Run the pipeline on a scene read in full-width windows of at most `window_rows` rows
/// (rounded down to whole tile rows, at least one; `None`: one window). Only one window of
/// samples is held at a time; each pass that needs the whole scene (the value range of u32/f32
/// scenes, the histogram of automatic thresholds, the labelling) reads the windows again.
/// Results are identical for every window size.
pub fn detect_source(
    engine: &dyn Engine,
    src: &mut dyn RasterSource,
    opts: &DetectOptions,
    window_rows: Option<u32>,
) -> Result<DetectOutput> {
    detect_source_observed(engine, src, opts, window_rows, None)
}

/// The georeferencing a run on `src` with `opts` uses: `opts.georef`, else the file's, else
/// `opts.pixel_size_m`; an error when ground filters are asked for and there is none.
pub fn scene_georef(src: &dyn RasterSource, opts: &DetectOptions) -> Result<GeoStatus> {
    let geo = match (&opts.georef, src.georef(), opts.pixel_size_m) {
        (Some(g), _, _) => GeoStatus::Some(g.clone()),
        (None, GeoStatus::Some(g), _) => GeoStatus::Some(g),
        (None, _, Some(m)) => {
            if !(m.is_finite() && m > 0.0) {
                return Err(Error::Invalid(format!(
                    "--pixel-size-m {m}: need a positive size in metres"
                )));
            }
            GeoStatus::Some(std::sync::Arc::new(Georef::pixel_size(m)))
        }
        (None, g, None) => g,
    };
    if opts.ground.is_set() && geo.georef().is_none() {
        let why = match &geo {
            GeoStatus::Unusable(why) => format!("its georeferencing is unusable: {why}"),
            _ => "it has no georeferencing".into(),
        };
        return Err(Error::Invalid(format!(
            "{} need the size of a pixel on the ground, and {why}; give --pixel-size-m, or filter with --min-area/--max-area",
            opts.ground.names()
        )));
    }
    Ok(geo)
}

/// Sees every row of the scene once, in order, during the labelling pass: `(keys, width, y0,
/// rows)` (the quicklook is built this way, without another read of the scene).
pub type RowObserver<'a> = &'a mut dyn FnMut(&[u32], u32, u32, u32);

/// [`detect_source`], with `observe` called on each window of the labelling pass.
pub fn detect_source_observed(
    engine: &dyn Engine,
    src: &mut dyn RasterSource,
    opts: &DetectOptions,
    window_rows: Option<u32>,
    observe: Option<RowObserver>,
) -> Result<DetectOutput> {
    if opts.min_area > opts.max_area {
        return Err(Error::Invalid(format!(
            "--min-area {} is larger than --max-area {}",
            opts.min_area, opts.max_area
        )));
    }
    let geo = scene_georef(src, opts)?;
    let info = src.info();
    let cfar = match resolve_cfar(opts, &geo, &info)? {
        Some((r, note)) => {
            if let Some(n) = note {
                eprintln!("vesselscan: {n}");
            }
            Some(r)
        }
        None => None,
    };
    let water = match &opts.water {
        Some(spec) => Some(spec.build(src, &geo)?),
        None => None,
    };
    let halo = cfar.map_or(0, |c| c.background_radius_px);
    let mut tile = effective_tile_size(engine, opts.tile_size, opts.connectivity, halo);
    let costs = MemoryCosts::new(&info, cfar.as_ref(), water.is_some(), src.row_granule());
    let rows = match window_rows {
        None => info.height.max(1),
        Some(r) => {
            let plan = WindowPlan::new(r, &costs, tile);
            // Once a process: a `batch` of such scenes would say it for every file.
            static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
            if let Some(note) = plan.note {
                if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!("vesselscan: note: {note}");
                }
            }
            tile = plan.tile;
            plan.rows
        }
    };
    if rows < info.height || src.in_memory().is_some() {
        return detect_windows(engine, src, opts, (rows, tile), (geo, water), cfar, observe);
    }
    // One window holds the scene, but the passes would each decode it again: read it once.
    let mut keys = crate::read::window::alloc_zeroed(info.width as usize * info.height as usize)?;
    src.read_rows_into(0, info.height, &mut keys)?;
    let mut whole = Owned(Raster {
        keys,
        ..info.clone_header()
    });
    detect_windows(
        engine,
        &mut whole,
        opts,
        (rows, tile),
        (geo, water),
        cfar,
        observe,
    )
}

/// The CFAR of `opts` in pixels for this scene, and a note on how its windows were sized.
fn resolve_cfar(
    opts: &DetectOptions,
    geo: &GeoStatus,
    info: &Raster,
) -> Result<Option<(CfarResolved, Option<String>)>> {
    opts.cfar
        .as_ref()
        .map(|c| c.resolve(centre_pixel_size_m(geo, info.width, info.height)))
        .transpose()
}

/// What a memory-capped run holds besides the core rows of its windows: the rows each window
/// reads above and below them (`detect_windows`), and the scene-sized bit planes held for the
/// whole run (the water mask; a censored CFAR's rings; its band of first-pass targets is about
/// 1 % of the windows' bytes and not counted). All in window rows of
/// [`WINDOW_BYTES_PER_PX`] bytes a pixel, as [`crate::read::window_rows_for`] counts them.
#[derive(Debug, Clone, Copy)]
struct MemoryCosts {
    height: u32,
    /// Bytes of a window row.
    row_bytes: u64,
    /// Rows read above and below each window's core.
    read_halo: u32,
    plane_bytes: u64,
    /// The source's chunk rows.
    granule: u32,
}

impl MemoryCosts {
    fn new(info: &Raster, cfar: Option<&CfarResolved>, water: bool, granule: u32) -> MemoryCosts {
        let read_halo = cfar.map_or(0, |c| match c.censor_k256 {
            Some(_) => 2 * c.background_radius_px + c.censor_grow_px,
            None => c.background_radius_px,
        });
        let planes = u64::from(water) + u64::from(cfar.is_some_and(|c| c.censor_k256.is_some()));
        MemoryCosts {
            height: info.height,
            row_bytes: WINDOW_BYTES_PER_PX * u64::from(info.width.max(1)),
            read_halo,
            plane_bytes: planes * u64::from(info.width).div_ceil(64) * 8 * u64::from(info.height),
            granule: granule.max(1),
        }
    }

    /// Window rows taken before any core row: the halo above and below, and the planes.
    fn fixed_rows(&self) -> u64 {
        2 * u64::from(self.read_halo) + self.plane_bytes.div_ceil(self.row_bytes)
    }

    /// The least `--memory-mb` whose windows hold a row of chunks (each chunk decoded once) and
    /// twice the halo (so that halos cost little), or the whole scene when it is shorter.
    fn wanted_mb(&self) -> u64 {
        let core = u64::from(self.granule)
            .max(2 * u64::from(self.read_halo))
            .min(u64::from(self.height.max(1)));
        (core + self.fixed_rows())
            .saturating_mul(self.row_bytes)
            .div_ceil(1 << 20)
    }
}

/// The `--memory-mb` with which a run of `opts` on `src` reads each chunk (strip, tile) of
/// the file once and spends little on halos: windows of at least a row of chunks and twice
/// the rows read around them, besides the scene-sized planes, or the whole scene when it is
/// smaller. A `batch` gives a file this much when its share of the cap is less, so that big
/// scenes wait for memory rather than run in windows so short that each chunk is decoded
/// many times (see [`WindowPlan`]).
pub fn memory_wanted_mb(src: &dyn RasterSource, opts: &DetectOptions) -> Result<u64> {
    let info = src.info();
    let geo = scene_georef(src, opts)?;
    // Its notes are said by the run itself.
    let cfar = resolve_cfar(opts, &geo, &info)?.map(|(c, _)| c);
    let costs = MemoryCosts::new(
        &info,
        cfar.as_ref(),
        opts.water.is_some(),
        src.row_granule(),
    );
    Ok(costs.wanted_mb())
}

/// Core rows and tile size of the windows of a memory-capped run.
#[derive(Debug, Clone, PartialEq)]
struct WindowPlan {
    rows: u32,
    tile: u32,
    /// Said to the user when the cap leaves windows shorter than the file's chunk rows.
    note: Option<String>,
}

impl WindowPlan {
    /// `r`: the window rows the memory cap allows ([`crate::read::window_rows_for`]); the
    /// halo rows and the planes of `costs` come out of it first.
    fn new(r: u32, costs: &MemoryCosts, mut tile: u32) -> WindowPlan {
        let fixed = costs.fixed_rows();
        let core = u64::from(r).saturating_sub(fixed).max(1);
        let g = costs.granule;
        let height = costs.height;
        // Windows shorter than a chunk row decode each chunk several times.
        let note = (core < u64::from(g.min(height))).then(|| {
            format!(
                "within --memory-mb, after the scene's masks ({} MiB) and the CFAR halo ({} \
                 MiB), windows hold {core} rows, fewer than the file's {g}-row chunks, which are \
                 then decoded several times: --memory-mb {} or more avoids it",
                costs.plane_bytes >> 20,
                (2 * u64::from(costs.read_halo) * costs.row_bytes) >> 20,
                costs.wanted_mb()
            )
        });
        let r = core as u32;
        // Windows are whole rows of tiles: when one row of tiles is more than the memory
        // allows, the tiles shrink instead (results never depend on the tile size).
        if r < tile && r < height {
            // Whole chunks of the source where they fit, so no chunk is decoded twice.
            let r = if r >= g { r / g * g } else { r };
            tile = r.max(MIN_WINDOW_TILE).min(tile);
        }
        WindowPlan {
            rows: (r / tile).max(1).saturating_mul(tile),
            tile,
            note,
        }
    }
}

fn detect_windows(
    engine: &dyn Engine,
    src: &mut dyn RasterSource,
    opts: &DetectOptions,
    (rows, tile): (u32, u32),
    (geo, water): (GeoStatus, Option<std::sync::Arc<crate::water::WaterMask>>),
    cfar: Option<CfarResolved>,
    mut observe: Option<RowObserver>,
) -> Result<DetectOutput> {
    let info = src.info();
    let kind = info.kind;
    // Every pass reads the scene window by window. The passes before the labelling (the valid
    // range, the histogram) need neither halo nor planes.
    let mut each = |f: &mut dyn FnMut(&Plane) -> Result<()>| {
        for_each_window(src, rows, 0, &mut |w| f(&Plane::rows(w.width, w.core())))
    };

    let nodata = opts.nodata.or(info.nodata);
    let mut p = Params {
        connectivity: opts.connectivity.code(),
        kind: kind.code(),
        ..Default::default()
    };
    if kind == SampleKind::F32 {
        p.flags |= FLAG_NAN;
    }
    if let Some(v) = nodata {
        if let Some(k) = nodata_key(kind, v) {
            p.flags |= FLAG_NODATA;
            p.nodata_key = k;
        }
    }
    // The valid finite range: binning of u32/f32 histograms, and the scale of f32 sums.
    let fixed = matches!(
        opts.threshold,
        ThresholdMode::Fixed(_) | ThresholdMode::None
    );
    let mut range: Option<(u32, u32)> = None;
    if kind == SampleKind::F32 || (kind == SampleKind::U32 && (!fixed || cfar.is_some())) {
        each(&mut |r| {
            if let Some((lo, hi)) = minmax_scene(engine, r, &p, tile)? {
                range = Some(range.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            }
            Ok(())
        })?;
    }
    let mut f32_sum_exp = 0;
    if kind == SampleKind::F32 {
        let max_abs = range.map_or(0.0, |(lo, hi)| {
            key_to_value(kind, lo)
                .abs()
                .max(key_to_value(kind, hi).abs())
        });
        f32_sum_exp = f32_sum_exponent(max_abs);
        p.sum_scale = (f32_sum_exp as f32).exp2().to_bits();
    }
    let mut hist = || -> Result<Option<(Binning, Vec<u64>)>> {
        let Some(bin) = binning(kind, range) else {
            return Ok(None);
        };
        let hp = bin.params(&p);
        let mut total = vec![0u64; bin.bins as usize];
        each(&mut |r| {
            for (t, c) in total.iter_mut().zip(histogram_scene(engine, r, &hp, tile)?) {
                *t += c;
            }
            Ok(())
        })?;
        Ok(total.iter().any(|&c| c > 0).then_some((bin, total)))
    };
    let (method, key) = match opts.threshold {
        ThresholdMode::None => ("none", Some(0)),
        ThresholdMode::Fixed(v) => ("fixed", threshold_key(kind, v)),
        ThresholdMode::Otsu => (
            "otsu",
            hist()?.and_then(|(bin, hist)| otsu_key(kind, &bin, &hist)),
        ),
        ThresholdMode::MeanStd(k) => (
            "mean_std",
            hist()?.map(|(bin, hist)| {
                let (mean, std) = mean_std(kind, &bin, &hist);
                // Above the brightest value (saturated scenes): the brightest bin is the target.
                let top = hist
                    .iter()
                    .rposition(|&c| c > 0)
                    .expect("non-empty histogram");
                let top_key = bin.key_of(top as u32) as u32;
                threshold_key(kind, mean + k * std).map_or(top_key, |t| t.min(top_key))
            }),
        ),
    };
    match key {
        Some(k) => p.threshold_key = k,
        None => p.flags |= FLAG_NONE,
    }
    let threshold = match opts.threshold {
        ThresholdMode::None => None,
        _ => key.map(|k| key_to_value(kind, k)),
    };
    if water.is_some() {
        p.flags |= FLAG_WATER;
    }
    if let Some(c) = cfar {
        p.flags |= FLAG_CFAR;
        (p.level_min, p.level_shift) = level_params(kind, range);
        p.cfar_rg = c.guard_radius_px;
        p.cfar_rb = c.background_radius_px;
        p.cfar_k256 = c.k256;
        p.cfar_min_n = c.min_ring_pixels;
    }
    // A censored CFAR: a first pass marks the bright pixels; grown, they leave the rings of the
    // second. Without a water mask, every pixel may be a target (a plane of ones). Both passes
    // run on one read of the scene: each window carries a halo of 2 rb + grow rows, enough for
    // the first pass to run `rb + grow` rows ahead of the second, whose rings need its targets
    // that far below the window's core.
    //
    // The first pass's targets are kept for the rows the rings still need only: a band of
    // `rows + rb + 2 grow` rows (scene rows `targets_top..`) that moves down with the windows.
    // The rings are kept for the whole scene, as the confidence pass reads them again.
    let censor = cfar.and_then(|c| Some((c, c.censor_k256?)));
    let mut p1 = p;
    let mut targets: Option<WaterMask> = None;
    let mut targets_top = 0u32;
    let mut rings: Option<WaterMask> = None;
    if let Some((c, k1)) = censor {
        p1.cfar_k256 = k1;
        let (mw, mh) = (info.width.max(1), info.height.max(1));
        let band = rows
            .saturating_add(c.background_radius_px + 2 * c.censor_grow_px)
            .min(mh);
        targets = Some(WaterMask::filled(mw, band, false)?);
        rings = Some(WaterMask::filled(mw, mh, false)?);
        p.flags |= FLAG_WATER;
    }
    let mut scene = SceneLabels {
        tiles_x: info.width.div_ceil(tile),
        ..Default::default()
    };
    // Seams are merged as windows arrive; only the last row of tiles' borders is kept.
    let mut seams = SeamMerger::new(scene.tiles_x, opts.connectivity);
    let rb = cfar.map_or(0, |c| c.background_radius_px);
    let halo = censor.map_or(rb, |(c, _)| 2 * rb + c.censor_grow_px);
    let height = info.height;
    // Rows whose first-pass targets, and whose rings, are known.
    let (mut first_done, mut rings_done) = (0u32, 0u32);
    for_each_window(src, rows, halo, &mut |w| {
        if let (Some((c, _)), Some(t), Some(rg)) = (censor, targets.as_mut(), rings.as_mut()) {
            let g = c.censor_grow_px;
            // Rows above the next rings' reach leave the band.
            let keep = rings_done.saturating_sub(g);
            if keep > targets_top {
                t.shift_up(keep - targets_top);
                targets_top = keep;
            }
            let end = w.y1.saturating_add(rb + g).min(height);
            if first_done < end {
                let top = first_done.saturating_sub(rb).max(w.top);
                let bottom = end.saturating_add(rb).min(w.bottom());
                let bits = water.as_deref().map(|m| water_plane(m, top, bottom));
                let plane = Plane {
                    width: w.width,
                    height: end - first_done,
                    keys: w.rows(first_done, end),
                    ext: w.rows(top, bottom),
                    top: first_done - top,
                    water: bits.as_deref(),
                    stats: None,
                };
                cfar_mask_scene(engine, &plane, &p1, tile, first_done - targets_top, t)?;
                first_done = end;
            }
            let ring_end = w.y1.saturating_add(rb).min(height);
            censored_rings_rows(
                (t, targets_top),
                g,
                water.as_deref(),
                rg,
                rings_done,
                ring_end,
            );
            rings_done = rings_done.max(ring_end);
        }
        // The labelling pass: the core rows, with the CFAR's halo.
        let top = w.y0.saturating_sub(rb);
        let bottom = w.y1.saturating_add(rb).min(height);
        let bits = match (water.as_deref(), censor) {
            (Some(m), _) => Some(water_plane(m, top, bottom)),
            // A censored CFAR binds planes: where there is no water mask, all ones.
            (None, Some(_)) => Some(vec![
                u32::MAX;
                ((bottom - top) as usize * w.width as usize)
                    .div_ceil(32)
            ]),
            (None, None) => None,
        };
        let ring_bits = rings.as_ref().map(|m| water_plane(m, top, bottom));
        let r = Plane {
            width: w.width,
            height: w.y1 - w.y0,
            keys: w.core(),
            ext: w.rows(top, bottom),
            top: w.y0 - top,
            water: bits.as_deref(),
            stats: ring_bits.as_deref(),
        };
        if let Some(o) = observe.as_mut() {
            o(r.keys, r.width, w.y0, r.height);
        }
        let part = label_scene(engine, &r, &p, tile)?;
        let first = scene.tiles.len();
        let borders = scene.append(part, w.y0);
        profile::time(Stage::SeamMerge, || {
            seams.push(scene.records.len(), &scene.tiles[first..], borders)
        });
        Ok(())
    })?;
    let roots = profile::time(Stage::SeamMerge, || seams.finish());
    let mut dets = profile::time(Stage::Detections, || {
        detections(
            &scene,
            &roots,
            info.width,
            kind,
            f32_sum_exp,
            opts.min_area,
            opts.max_area,
        )
    });
    if opts.drop_edge_lines {
        retain_renumber(&mut dets, |d| !is_edge_line(d, info.width, info.height));
    }
    if opts.confidence || opts.min_score.is_some() {
        // Each detection against its local background: one more read, of the rows the
        // backgrounds need only.
        let frame = cfar.map_or(BackgroundFrame::default(), |c| BackgroundFrame {
            guard_px: c.guard_radius_px,
            width_px: c.background_radius_px - c.guard_radius_px,
        });
        let nd = (p.flags & FLAG_NODATA != 0).then_some(p.nodata_key);
        let mut bg = Backgrounds::new(&dets, kind, nd, (info.width, info.height), frame);
        let w = info.width as usize;
        // Other targets stay out of the backgrounds too, when a censored CFAR found them.
        let bg_plane = rings.as_ref().or(water.as_deref());
        if let Some(all) = src.in_memory() {
            for (a, b) in bg.row_spans(rows) {
                let bits = bg_plane.map(|m| water_plane(m, a, b));
                bg.feed(&all[a as usize * w..b as usize * w], a, bits.as_deref());
            }
        } else {
            // Only the chunks (strips, tiles) that hold a background, each decoded once.
            let chunk = (src.row_granule(), src.col_granule());
            let mut keys = Vec::new();
            for reg in bg.regions(rows, chunk, info.height) {
                let (a, b) = (reg.y0, reg.y1);
                if keys.len() < (b - a) as usize * w {
                    keys = crate::read::window::alloc_zeroed((b - a) as usize * w)?;
                }
                let rows_keys = &mut keys[..(b - a) as usize * w];
                for &(x0, x1) in &reg.cols {
                    src.read_cols_into(a, b, x0, x1, rows_keys)?;
                }
                let bits = bg_plane.map(|m| water_plane(m, a, b));
                bg.feed(rows_keys, a, bits.as_deref());
            }
        }
        let conf = bg.finish();
        for (d, c) in dets.iter_mut().zip(conf) {
            d.scr = c.scr;
            d.contrast = c.contrast;
            d.significance = c.significance;
            d.score = c.score;
        }
    }
    if let Some(ms) = opts.min_score {
        retain_renumber(&mut dets, |d| d.score.is_some_and(|s| s >= ms));
    }
    if let Some(m) = opts.suppress_inside {
        suppress_inside(&mut dets, m);
    }
    if let Some(m) = &water {
        use rayon::prelude::*;
        let g = geo.georef();
        dets.par_iter_mut().for_each(|d| {
            d.distance_to_land_m = m
                .distance_to_land_px(d.x, d.y)
                .and_then(|px| Some(px * pixel_size_m(g?, d.x, d.y)?));
        });
    }
    if let Some(g) = geo.georef() {
        use rayon::prelude::*;
        dets.par_iter_mut().for_each(|d| g.locate(d));
        if opts.ground.is_set() {
            retain_renumber(&mut dets, |d| opts.ground.keeps(d));
        }
    }
    Ok(DetectOutput {
        params: ParamsReport {
            preset: opts.preset,
            threshold_method: method,
            threshold,
            connectivity: opts.connectivity,
            nodata,
            min_area: opts.min_area,
            max_area: (opts.max_area != u64::MAX).then_some(opts.max_area),
            sample_type: kind,
            ground: opts.ground,
            sum_step: (kind == SampleKind::F32).then(|| (-f32_sum_exp as f64).exp2()),
            cfar: cfar.map(CfarReport::from),
            water: water.as_ref().map(|m| WaterReport {
                source: opts.water.as_ref().map_or("", |w| w.source.name()),
                water_fraction: m.water_fraction(),
                shore_buffer_m: opts.water.as_ref().and_then(|w| w.shore_buffer_m),
            }),
        },
        detections: dets,
        tile_size: tile,
        geo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16384^2 scene read in 512-row tiles, with the `sar` preset's halo (2 x 75 + 3 rows)
    /// and `planes` scene-sized planes (a censored CFAR's rings, a water mask: 1 bit a pixel).
    const SIDE: u32 = 16384;
    const HALO: u32 = 153;
    const PLANE: u64 = (SIDE as u64 / 64) * 8 * SIDE as u64;

    fn costs(planes: u64, granule: u32) -> MemoryCosts {
        MemoryCosts {
            height: SIDE,
            row_bytes: WINDOW_BYTES_PER_PX * u64::from(SIDE),
            read_halo: HALO,
            plane_bytes: planes * PLANE,
            granule,
        }
    }

    fn plan(memory_mb: u64, planes: u64, granule: u32) -> WindowPlan {
        let r = crate::read::window_rows_for(SIDE, memory_mb);
        WindowPlan::new(r, &costs(planes, granule), 2048)
    }

    #[test]
    fn window_plan_counts_the_planes_and_the_halo() {
        // 512 MiB: 2730 rows, less 306 of halo and 171 of the rings: one row of 2048-px tiles.
        let p = plan(512, 1, 512);
        assert_eq!((p.rows, p.tile, p.note.is_some()), (2048, 2048, false));
        // 256 MiB: 1365 - 306 - 342 = 717 rows with a water mask too: tiles shrink to one
        // chunk row (512). Without the planes it would be 1059 rows, two chunk rows.
        let p = plan(256, 2, 512);
        assert_eq!((p.rows, p.tile, p.note.is_some()), (512, 512, false));
        let p = plan(256, 0, 512);
        assert_eq!((p.rows, p.tile), (1024, 1024));
    }

    #[test]
    fn window_plan_says_when_windows_are_shorter_than_a_chunk_row() {
        // 128 MiB: 682 - 306 - 171 = 205 rows.
        let p = plan(128, 1, 512);
        assert_eq!((p.rows, p.tile), (205, 205));
        let note = p.note.expect("a note");
        assert!(
            note.contains("windows hold 205 rows, fewer than the file's 512-row chunks"),
            "{note}"
        );
        // (512 + 306 + 171) rows of 12 x 16384 bytes = 185.4 MiB.
        assert!(note.contains("--memory-mb 186 or more avoids it"), "{note}");
        assert_eq!(costs(1, 512).wanted_mb(), 186);
        assert_eq!(plan(186, 1, 512).note, None);
        // With a water mask too: under the 64-row floor of the tiles.
        let p = plan(128, 2, 512);
        assert_eq!((p.rows, p.tile), (64, 64));
        // Strips of one row are never decoded twice.
        assert_eq!(plan(128, 1, 1).note, None);
        // A cap below the planes alone: still one window row at least.
        let p = plan(1, 2, 512);
        assert!(p.rows >= 1 && p.note.is_some());
    }

    /// A scene of this shape and chunk rows whose pixels are never read.
    struct Shape(u32, u32, u32);

    impl RasterSource for Shape {
        fn info(&self) -> Raster {
            Raster {
                width: self.0,
                height: self.1,
                kind: SampleKind::U16,
                keys: Vec::new(),
                band: 1,
                bands: 1,
                nodata: None,
            }
        }
        fn read_rows_into(&mut self, _: u32, _: u32, _: &mut [u32]) -> Result<()> {
            unreachable!("only the shape is asked for")
        }
        fn row_granule(&self) -> u32 {
            self.2
        }
    }

    #[test]
    fn the_memory_wanted_gives_windows_of_a_chunk_row_at_least() {
        // The `sar` preset's windows at 10 m: background 151 px (rb 75), censored, grown 3.
        let cfar = CfarOptions {
            background: crate::cfar::Extent::Px(151.0),
            censor_k: Some(3.0),
            censor_grow_px: 3,
            ..Default::default()
        };
        let opts = DetectOptions {
            cfar: Some(cfar),
            ..Default::default()
        };
        let mb = memory_wanted_mb(&Shape(SIDE, SIDE, 512), &opts).unwrap();
        // 512 core rows, 306 of halo and 171 of the rings, 12 x 16384 bytes each: 185.4 MiB.
        assert_eq!(mb, 186);
        assert_eq!(plan(mb, 1, 512).note, None);
        assert!(plan(mb - 1, 1, 512).note.is_some());
        for (w, h, g) in [(25_000, 16_700, 1), (25_000, 16_700, 256), (777, 333, 512)] {
            for opts in [opts.clone(), DetectOptions::default()] {
                let info = Shape(w, h, g).info();
                let c = opts.cfar.map(|c| c.resolve(None).unwrap().0);
                let costs = MemoryCosts::new(&info, c.as_ref(), false, g);
                let mb = memory_wanted_mb(&Shape(w, h, g), &opts).unwrap();
                assert_eq!(mb, costs.wanted_mb());
                let r = crate::read::window_rows_for(w, mb);
                let p = WindowPlan::new(r, &costs, 2048);
                assert_eq!(p.note, None, "{w}x{h} in {g}-row chunks: {mb} MiB");
                // Whole chunk rows, or the whole scene.
                assert!(p.rows >= g.min(h), "{w}x{h}: {} rows", p.rows);
                // And no more than that takes.
                let core = g.max(2 * costs.read_halo).min(h);
                let rows = u64::from(core) + costs.fixed_rows();
                assert!(
                    mb == 1 || u64::from(crate::read::window_rows_for(w, mb - 1)) < rows,
                    "{mb} MiB"
                );
            }
        }
    }
}
