//! The command line: `vesselscan detect`, `batch`, `synth` and `adapters` (clap derive).

use crate::detect::{DetectOptions, ThresholdMode, DEFAULT_SIGMAS, DEFAULT_TILE_SIZE};
use crate::engine::{cpu::CpuEngine, gpu::GpuEngine, Engine};
use crate::error::{Error, Result};
use crate::preset::{DetectPlan, Preset};
use crate::read::{
    open_source, window_rows_for, ReadOptions, DEFAULT_MAX_PIXELS, DEFAULT_MEMORY_MB,
};
use crate::tiling::Connectivity;
use crate::write::{write_atomic, Format, Geometry};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "vesselscan",
    version,
    about = "Find ships in satellite images, on any GPU or the CPU",
    after_help = "Exit codes: 0 every input processed; 1 some input failed (batch: each reported, \
                  the others done); 2 the run could not start (usage, bad options, no adapter for \
                  --backend gpu, an output folder that cannot be made, nothing to read)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect bright objects (vessels) in a raster and write one record per object.
    Detect(DetectArgs),
    /// Detect in many rasters: folders, globs, list files; resumable, shardable.
    Batch(BatchArgs),
    /// List the GPU adapters wgpu finds, as JSON.
    Adapters,
    /// Generate a SAR-like test scene (sea, land, vessels with sidelobes) as a tiled GeoTIFF,
    /// with its ground truth as GeoJSON.
    Synth(SynthArgs),
    /// Score detections against ground truth (PASCAL VOC, COCO, boxes JSON, GeoJSON points):
    /// TP, FP, FN, precision, recall, F1 per image and overall.
    Eval(EvalArgs),
    /// Time the pipeline on every GPU adapter and on the CPU, per stage, and check that every
    /// adapter's detections equal the CPU's.
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Side of a generated scene, in pixels.
    #[arg(long, default_value_t = 4096)]
    pub size: u32,
    /// `sea` (about 1.4 % targets), `random` (a 50 % random mask), or a raster file.
    #[arg(long, default_value = "sea")]
    pub scene: String,
    /// `all` adapters, `none` (the CPU backend only), or those whose name contains this.
    #[arg(long, default_value = "all")]
    pub adapters: String,
    /// Timed runs per backend, after one warm-up run (medians are reported).
    #[arg(long, default_value_t = 5)]
    pub repeat: u32,
    /// Tile side in pixels.
    #[arg(long, value_name = "PX", default_value_t = DEFAULT_TILE_SIZE, value_parser = clap::value_parser!(u32).range(1..))]
    pub tile_size: u32,
    /// Also write the report as JSON here.
    #[arg(long, value_name = "OUT.json")]
    pub json: Option<PathBuf>,
}

/// `--preset`: a bundle of defaults, chosen per input (`auto`) or not at all (`none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetChoice {
    /// Per input: by its name, sample type and speckle (src/preset.rs).
    Auto,
    /// SAR intensity or amplitude: ships brighter than the sea clutter around them.
    Sar,
    /// One near-infrared optical band (Sentinel-2 B08): ships bright on dark water, land masked.
    Optical,
    /// No preset: the plain defaults (threshold at mean + 5 sigma).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaterChoice {
    /// An automatic water mask of a near-infrared band (dark, large, connected).
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpeckleChoice {
    /// Gamma-distributed intensity (fully developed speckle, L looks).
    Gamma,
    /// K-distributed intensity (gamma speckle times a gamma texture of shape --k-shape).
    K,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CrsChoice {
    /// EPSG:4326, longitude / latitude.
    Wgs84,
    /// WGS 84 / UTM, the zone of the centre (EPSG 326zz north, 327zz south).
    Utm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionChoice {
    /// Deflate with horizontal differencing (Predictor 2).
    Deflate,
    None,
}

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Output GeoTIFF (written atomically).
    pub output: PathBuf,
    /// Width in pixels.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub width: u32,
    /// Height in pixels.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub height: u32,
    /// Seed: the same seed gives the same file.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of vessels.
    #[arg(long, default_value_t = 100)]
    pub vessels: u32,
    /// Sea clutter model.
    #[arg(long, value_enum, default_value_t = SpeckleChoice::Gamma)]
    pub speckle: SpeckleChoice,
    /// Looks of the speckle (>= 1, need not be an integer).
    #[arg(long, value_name = "L", default_value_t = 4.4)]
    pub looks: f64,
    /// Shape of the K texture (--speckle k): smaller is spikier.
    #[arg(long, value_name = "NU", default_value_t = 4.0)]
    pub k_shape: f64,
    /// Mean amplitude of the sea (DN).
    #[arg(long, value_name = "DN", default_value_t = 150.0)]
    pub sea_mean: f64,
    /// Fraction of the scene that is land (0..1).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.1)]
    pub land: f64,
    /// Median amplitude of land (DN).
    #[arg(long, value_name = "DN", default_value_t = 400.0)]
    pub land_mean: f64,
    /// Pixel size in metres.
    #[arg(long, value_name = "M", default_value_t = 10.0)]
    pub pixel_size_m: f64,
    /// Longitude of the scene's centre (WGS 84 degrees).
    #[arg(long, default_value_t = 3.0, allow_negative_numbers = true)]
    pub lon: f64,
    /// Latitude of the scene's centre (WGS 84 degrees).
    #[arg(long, default_value_t = 52.0, allow_negative_numbers = true)]
    pub lat: f64,
    /// Coordinate reference system of the image.
    #[arg(long, value_enum, default_value_t = CrsChoice::Wgs84)]
    pub crs: CrsChoice,
    /// Shortest vessel, metres.
    #[arg(long, value_name = "M", default_value_t = 20.0)]
    pub min_length_m: f64,
    /// Longest vessel, metres.
    #[arg(long, value_name = "M", default_value_t = 350.0)]
    pub max_length_m: f64,
    /// Heading of every vessel, degrees clockwise from north (default: random).
    #[arg(long, value_name = "DEG")]
    pub heading: Option<f64>,
    /// Sidelobe level relative to the peak (0: none).
    #[arg(long, value_name = "K", default_value_t = 0.4)]
    pub sidelobes: f64,
    /// Tile side in pixels (a multiple of 16).
    #[arg(long, value_name = "PX", default_value_t = crate::write::geotiff::DEFAULT_TILE)]
    pub tile: u32,
    /// Tile compression.
    #[arg(long, value_enum, default_value_t = CompressionChoice::Deflate)]
    pub compression: CompressionChoice,
    /// Deflate level, 0..9.
    #[arg(long, default_value_t = crate::write::geotiff::DEFAULT_DEFLATE_LEVEL, value_parser = clap::value_parser!(u32).range(0..=9))]
    pub level: u32,
    /// Write a BigTIFF even when a classic TIFF would do (one is chosen anyway above 3.9 GiB).
    #[arg(long)]
    pub bigtiff: bool,
    /// Ground truth GeoJSON (default: `<stem>.truth.geojson` next to the output).
    #[arg(long, value_name = "FILE")]
    pub truth: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// A GPU when there is one, else the CPU (a software adapter counts as none).
    Auto,
    Gpu,
    Cpu,
}

#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// Input raster: GeoTIFF/TIFF/BigTIFF, PNG or JPEG.
    pub input: PathBuf,
    /// Output file (written atomically); stdout when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format (default: from the output's extension, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// GeoJSON feature geometry: the centroid, or the oriented box.
    #[arg(long, value_enum, default_value_t = Geometry::Point)]
    pub geometry: Geometry,
    /// Write a quicklook picture (PNG): the scene stretched to 8 bits (2-98 % percentiles),
    /// reduced to at most --quicklook-width pixels across, each detection's box drawn on it.
    #[arg(long, value_name = "PNG")]
    pub quicklook: Option<PathBuf>,
    /// Largest width of the quicklook, pixels.
    #[arg(long, value_name = "PX", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(16..))]
    pub quicklook_width: u32,
    /// Write a PNG crop around each detection into this folder (`<id>.png`).
    #[arg(long, value_name = "DIR")]
    pub chips: Option<PathBuf>,
    #[command(flatten)]
    pub flags: DetectFlags,
    #[command(flatten)]
    pub ais: AisFlags,
}

/// Orbit direction, for the SAR azimuth-shift correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Orbit {
    /// Northbound pass (platform heading -12 deg, Sentinel-1-like).
    Ascending,
    /// Southbound pass (platform heading -168 deg, Sentinel-1-like).
    Descending,
}

/// Matching against AIS (`--ais`), shared by detect and batch.
#[derive(Debug, Clone, clap::Args)]
pub struct AisFlags {
    /// AIS reports to match the detections against: CSV, plain or gzip, with a header;
    /// MarineCadastre (MMSI, BaseDateTime, LAT, LON, SOG, COG, ..., VesselName, Length, Width)
    /// and Global Fishing Watch / BigQuery (ssvid, timestamp, lat, lon, speed_knots, course,
    /// ..., shipname, length_m) columns are found by name; others with --ais-columns. Streamed:
    /// only reports near each scene's time and footprint are kept. Each detection gets
    /// ais_mmsi, ais_name, ais_distance_m, ais_length_m and dark; the AIS vessels in the
    /// footprint with no detection are listed.
    #[arg(long, value_name = "CSV", help_heading = "AIS")]
    pub ais: Option<PathBuf>,
    /// Acquisition time (e.g. 2024-02-09T02:13:00Z, 2024-02-09 02:13:00 UTC,
    /// 2024-02-09T04:13+02:00, Unix seconds; without an offset, UTC). Default: the TIFF
    /// DateTime tag, or the middle of a Sentinel-1 annotation's start and stop times.
    #[arg(long, value_name = "TIME", requires = "ais", value_parser = parse_time, help_heading = "AIS")]
    pub time: Option<f64>,
    /// The AIS file's column names, for a header the reader does not know:
    /// mmsi=NAME,time=NAME,lat=NAME,lon=NAME (required unless found by their usual names),
    /// sog=, cog=, name=, length=, width= (optional). Names are case-insensitive.
    #[arg(
        long,
        value_name = "KEY=COLUMN,...",
        requires = "ais",
        help_heading = "AIS"
    )]
    pub ais_columns: Option<String>,
    /// Largest distance between a detection and an AIS position that may match, metres.
    #[arg(long, value_name = "M", default_value_t = 500.0, value_parser = positive, help_heading = "AIS")]
    pub ais_gate_m: f64,
    /// Tracks whose nearest report is further than this from the acquisition time are stale
    /// and left out; nearer ones are interpolated or extrapolated (speed and course), minutes.
    #[arg(long, value_name = "MIN", default_value_t = 30.0, value_parser = positive, help_heading = "AIS")]
    pub ais_max_gap_min: f64,
    /// Weight of length disagreement in the matching cost when both lengths are known
    /// (0: distance only).
    #[arg(long, value_name = "W", default_value_t = 0.5, value_parser = non_negative, help_heading = "AIS")]
    pub ais_length_weight: f64,
    /// Rows with bad numbers: skip them (counted in the summary) or stop with an error naming
    /// the line.
    #[arg(long, value_enum, default_value_t = crate::ais::reports::BadRows::Skip, help_heading = "AIS")]
    pub ais_bad_rows: crate::ais::reports::BadRows,
    /// SAR azimuth-shift correction with the product's own geometry: a Sentinel-1 SAFE
    /// measurement's annotation gives the platform heading, the mid-swath incidence, the slant
    /// range and the platform speed.
    #[arg(
        long,
        requires = "ais",
        conflicts_with = "incidence_deg",
        help_heading = "AIS"
    )]
    pub azimuth_correction: bool,
    /// SAR azimuth-shift correction: the incidence angle at the scene, degrees. With
    /// --orbit or --sar-heading-deg, AIS positions are moved to where a moving ship appears in
    /// the SAR image before matching.
    #[arg(long, value_name = "DEG", requires = "ais", help_heading = "AIS")]
    pub incidence_deg: Option<f64>,
    /// SAR azimuth-shift correction: the orbit direction (sets the platform heading).
    #[arg(long, value_enum, requires = "incidence_deg", help_heading = "AIS")]
    pub orbit: Option<Orbit>,
    /// SAR azimuth-shift correction: the platform heading, degrees clockwise from north
    /// (overrides --orbit's).
    #[arg(
        long,
        value_name = "DEG",
        requires = "incidence_deg",
        help_heading = "AIS"
    )]
    pub sar_heading_deg: Option<f64>,
    /// SAR azimuth-shift correction: the side the radar looks to.
    #[arg(long, value_enum, default_value_t = crate::ais::matching::Look::Right, help_heading = "AIS")]
    pub look: crate::ais::matching::Look,
    /// SAR azimuth-shift correction: slant range to the scene, km (default: a 693 km orbit
    /// over a flat Earth, 693 / cos(incidence)).
    #[arg(long, value_name = "KM", requires = "incidence_deg", value_parser = positive, help_heading = "AIS")]
    pub slant_range_km: Option<f64>,
    /// SAR azimuth-shift correction: the platform's speed, m/s.
    #[arg(long, value_name = "M/S", default_value_t = 7600.0, value_parser = positive, help_heading = "AIS")]
    pub platform_speed: f64,
}

fn parse_time(s: &str) -> std::result::Result<f64, String> {
    crate::ais::reports::parse_utc(s)
        .ok_or_else(|| {
            format!("{s:?} is not a date and time (e.g. 2024-02-09T02:13:00Z, 2024-02-09 02:13:00 UTC, 2024-02-09T04:13:00+02:00, or Unix seconds)")
        })
}

fn positive(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn non_negative(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number >= 0")),
    }
}

/// Largest `--suppress-inside` factor: a box grown by 100 times its longer side already
/// covers any scene its detection fits in.
const MAX_MARGIN_FACTOR: f64 = 100.0;

fn fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a fraction in [0, 1]")),
    }
}

fn margin_factor(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=MAX_MARGIN_FACTOR).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a factor in [0, {MAX_MARGIN_FACTOR}]")),
    }
}

impl AisFlags {
    /// The AIS options, with the file's header read (once: a batch shares it; each scene
    /// streams the rows); None without `--ais`.
    pub fn options(&self) -> Result<Option<std::sync::Arc<crate::ais::AisOptions>>> {
        let Some(path) = &self.ais else {
            return Ok(None);
        };
        let sar = match self.incidence_deg {
            None => None,
            Some(inc) => {
                if !(0.0..90.0).contains(&inc) {
                    return Err(Error::Invalid(format!(
                        "--incidence-deg {inc}: the incidence angle must be in [0, 90)"
                    )));
                }
                let heading = match (self.sar_heading_deg, self.orbit) {
                    (Some(h), _) => h,
                    (None, Some(Orbit::Ascending)) => -12.0,
                    (None, Some(Orbit::Descending)) => -168.0,
                    (None, None) => {
                        return Err(Error::Invalid(
                            "--incidence-deg needs --orbit or --sar-heading-deg for the azimuth-shift correction".into(),
                        ))
                    }
                };
                let slant = self
                    .slant_range_km
                    .unwrap_or(693.0 / inc.to_radians().cos())
                    * 1000.0;
                Some(crate::ais::matching::SarGeometry {
                    heading_deg: heading,
                    look: self.look,
                    incidence_deg: inc,
                    slant_range_m: slant,
                    platform_speed_mps: self.platform_speed,
                })
            }
        };
        let columns = match &self.ais_columns {
            None => crate::ais::reports::ColumnNames::default(),
            Some(text) => crate::ais::reports::ColumnNames::parse(text).map_err(|why| {
                Error::Invalid(format!("{}: --ais-columns: {why}", path.display()))
            })?,
        };
        // The header is read (and its columns found) now; each scene streams the rows.
        let file = crate::ais::reports::AisFile::open(path, self.ais_bad_rows, &columns)?;
        Ok(Some(std::sync::Arc::new(crate::ais::AisOptions {
            file: std::sync::Arc::new(file),
            time: self.time,
            max_gap_s: self.ais_max_gap_min * 60.0,
            rules: crate::ais::matching::MatchRules {
                gate_m: self.ais_gate_m,
                length_weight: self.ais_length_weight,
            },
            sar,
            sar_from_product: self.azimuth_correction,
        })))
    }
}

#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Inputs: files, folders (searched recursively for .tif/.tiff/.png/.jpg/.jpeg), glob
    /// patterns (quoted, e.g. 'scenes/*.tif'), or list files (.txt/.lst, one path per line).
    #[arg(required_unless_present = "summarize")]
    pub inputs: Vec<PathBuf>,
    /// Output folder: one `<stem>.<format>` per input (`<stem>-<hash>.<format>` where inputs
    /// anywhere in the archive share a stem), and `summary.json`.
    #[arg(short, long, required_unless_present = "summarize")]
    pub output: Option<PathBuf>,
    /// Merge the shard summaries in OUTDIR (`summary.shard-I-of-N.json`, every shard of one
    /// run) into OUTDIR/summary.json, and do nothing else.
    #[arg(long, value_name = "OUTDIR", conflicts_with_all = ["inputs", "output", "shard", "force"])]
    pub summarize: Option<PathBuf>,
    /// Output format of the per-file results.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// GeoJSON feature geometry: the centroid, or the oriented box.
    #[arg(long, value_enum, default_value_t = Geometry::Point)]
    pub geometry: Geometry,
    /// Redo files whose output already exists (by default an output made from the same input,
    /// unchanged since, is skipped: resume).
    #[arg(long)]
    pub force: bool,
    /// Process only shard I of N (0 <= I < N), by a stable hash of each input's path within the
    /// archive: run one process per shard (Slurm array task, Kubernetes indexed job) over the
    /// same inputs. Outputs are named from the whole archive, as an unsharded run names them,
    /// so shards may share OUTDIR, even at once: each writes its own
    /// `summary.shard-I-of-N.json`, and `--summarize OUTDIR` merges them.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Files processed at once, sharing --memory-mb (default: up to 4, no more than the cores,
    /// and at least 64 MiB each). A scene whose share would give windows shorter than a row of
    /// its file's tiles (or than twice its CFAR halo) takes more and waits until it is free,
    /// rather than decode its tiles several times.
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    #[command(flatten)]
    pub flags: DetectFlags,
    #[command(flatten)]
    pub ais: AisFlags,
}

fn parse_shard(s: &str) -> std::result::Result<(u32, u32), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 0/4")?;
    let i: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("bad shard index {i:?}"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("bad shard count {n:?}"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// The options shared by `detect` and `batch`.
#[derive(Debug, clap::Args)]
pub struct DetectFlags {
    /// Band to read, 1-based as in GDAL (default: 1; RGB pictures: luminance).
    #[arg(long)]
    pub band: Option<u32>,
    /// Nodata value (never a target); overrides the file's GDAL_NODATA tag.
    #[arg(long, allow_negative_numbers = true)]
    pub nodata: Option<f64>,
    /// A pixel is a target when its value >= V.
    #[arg(
        long,
        value_name = "V",
        allow_negative_numbers = true,
        conflicts_with = "otsu"
    )]
    pub threshold: Option<f64>,
    /// Threshold by Otsu's method on the scene histogram.
    #[arg(long)]
    pub otsu: bool,
    /// Threshold at mean + K standard deviations of the scene (the default, K = 5, when
    /// neither --threshold nor --otsu is given).
    #[arg(long, value_name = "K", conflicts_with_all = ["threshold", "otsu"])]
    pub sigma: Option<f64>,
    /// Two-parameter CFAR: a pixel is a target when (x - mean) > K std over the ring between
    /// the guard and background windows around it (nodata and land left out). A threshold
    /// given with it stays a floor; without one, CFAR decides alone.
    #[arg(long, value_name = "K", conflicts_with = "pfa")]
    pub cfar: Option<f64>,
    /// CFAR with K for this false-alarm probability under a Gaussian clutter model
    /// (K = the normal quantile of 1 - P; heavier-tailed sea clutter alarms more often).
    #[arg(long, value_name = "P")]
    pub pfa: Option<f64>,
    /// CFAR guard window side in metres (needs georeferencing or --pixel-size-m).
    #[arg(long, value_name = "M", conflicts_with = "guard_px")]
    pub guard_m: Option<f64>,
    /// CFAR background window side in metres (at most 255 px; wider is clamped).
    #[arg(long, value_name = "M", conflicts_with = "background_px")]
    pub background_m: Option<f64>,
    /// CFAR guard window side in pixels (default 15).
    #[arg(long, value_name = "PX")]
    pub guard_px: Option<f64>,
    /// CFAR background window side in pixels (default 41, at most 255).
    #[arg(long, value_name = "PX")]
    pub background_px: Option<f64>,
    /// CFAR: the fewest valid water pixels the ring must hold, as a fraction of the full ring
    /// (fewer: no decision, not a target).
    #[arg(long, value_name = "FRACTION", default_value_t = crate::cfar::DEFAULT_MIN_RING_FRACTION, value_parser = fraction)]
    pub cfar_min_ring: f64,
    /// Censored CFAR: a first CFAR pass at K marks the bright pixels, and they (grown by
    /// --censor-grow-px) stay out of the rings of the second pass, so ships beside ships and
    /// bright clutter do not hide their neighbours. 0: one pass (the default without a preset).
    #[arg(long, value_name = "K")]
    pub cfar_censor: Option<f64>,
    /// Censored CFAR: pixels by which the first pass's targets grow before they leave the rings.
    #[arg(long, value_name = "PX", default_value_t = crate::cfar::DEFAULT_CENSOR_GROW_PX)]
    pub censor_grow_px: u32,
    /// Water mask: a raster on the scene grid, nonzero = water. Land is never a target and
    /// stays out of CFAR rings; detections get distance_to_land_m.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["land", "ndwi", "water"])]
    pub mask: Option<PathBuf>,
    /// Land polygons (GeoJSON, lon/lat) rasterized on the scene grid (needs georeferencing).
    #[arg(long, value_name = "FILE.geojson", conflicts_with_all = ["ndwi", "water"])]
    pub land: Option<PathBuf>,
    /// Water where NDWI = (G - NIR) / (G + NIR) > 0: each a band number of the input or a
    /// single-band file on the same grid (Sentinel-2: B03.tif,B08.tif).
    #[arg(long, value_name = "GREEN,NIR", conflicts_with = "water")]
    pub ndwi: Option<String>,
    /// `auto`: the input is one near-infrared band; water is its large dark connected bodies.
    #[arg(long, value_name = "auto")]
    pub water: Option<WaterChoice>,
    /// Drop water within this many metres of land (needs a water mask and the pixel size).
    #[arg(long, value_name = "M", value_parser = non_negative)]
    pub shore_buffer_m: Option<f64>,
    /// Keep detections whose score (0-1, a logistic of the significance of the object's mean
    /// over its local background) is at least S.
    #[arg(long, value_name = "S", value_parser = fraction)]
    pub min_score: Option<f64>,
    /// Drop objects at most 2 px thick touching the scene's edge (JPEG edge columns, readout
    /// artefacts).
    #[arg(long)]
    pub drop_edge_lines: bool,
    /// Drop detections of under a quarter of a larger detection's area whose centroid lies in
    /// its box grown by F times its longer side (pieces of a ship split in two, sidelobe
    /// points); the sar preset uses 0.25.
    #[arg(long, value_name = "F", value_parser = margin_factor)]
    pub suppress_inside: Option<f64>,
    /// A bundle of defaults chosen on ../shared/data (docs/QUALITY.md); flags given explicitly
    /// win. `sar`: censored CFAR k 3.5 (first pass k 3), guard 21 px, background 151 px,
    /// 20-3000 px objects, edge lines dropped, score >= 0.9. `optical` (one near-infrared
    /// band): CFAR k 5, guard 9 px, background 41 px, the automatic water mask, objects >= 3
    /// px, score >= 0.5. `auto` (the default when no --threshold, --otsu, --sigma, --cfar or
    /// --pfa is given) picks one per input: by its name (B08, s1a, grd, vv, ...), 8-bit images
    /// as SAR, else by the speckle of its darkest blocks.
    #[arg(long, value_enum)]
    pub preset: Option<PresetChoice>,
    /// Pixel connectivity of objects.
    #[arg(long, default_value = "8", value_parser = ["4", "8"])]
    pub connectivity: String,
    /// Tile side in pixels; results are identical for every tile size.
    #[arg(long, value_name = "PX", default_value_t = DEFAULT_TILE_SIZE, value_parser = clap::value_parser!(u32).range(1..))]
    pub tile_size: u32,
    /// Drop objects smaller than this many pixels (default 1, or the preset's).
    #[arg(long, value_name = "PX")]
    pub min_area: Option<u64>,
    /// Drop objects larger than this many pixels.
    #[arg(long, value_name = "PX")]
    pub max_area: Option<u64>,
    /// Drop objects shorter than this on the ground (metres; needs georeferencing or
    /// --pixel-size-m).
    #[arg(long, value_name = "M", value_parser = non_negative)]
    pub min_length_m: Option<f64>,
    /// Drop objects longer than this on the ground (metres).
    #[arg(long, value_name = "M", value_parser = non_negative)]
    pub max_length_m: Option<f64>,
    /// Drop objects wider than this on the ground (metres).
    #[arg(long, value_name = "M", value_parser = non_negative)]
    pub max_width_m: Option<f64>,
    /// Drop objects whose length / width is below this (ships are elongated: 2-3 is typical).
    #[arg(long, value_name = "RATIO", value_parser = non_negative)]
    pub min_aspect: Option<f64>,
    /// Ground size of a pixel in metres, for scenes without georeferencing (gives sizes in
    /// metres, not positions). Ignored when the file is georeferenced.
    #[arg(long, value_name = "M")]
    pub pixel_size_m: Option<f64>,
    /// Compute backend: `auto` runs on a GPU when there is one, else on the CPU (a software
    /// adapter such as lavapipe is slower than the CPU backend: `--backend gpu` to use it).
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Use the first GPU adapter whose name contains this (case-insensitive).
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
    /// Refuse rasters with more pixels than this.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS, hide = true)]
    pub max_pixels: u64,
    /// Working-set cap per scene in MiB: TIFF scenes are read in windows of whole tile rows
    /// that fit it, after the CFAR halo and the scene-sized masks (results never depend on it).
    #[arg(long, value_name = "MB", default_value_t = DEFAULT_MEMORY_MB, value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_mb: u64,
    /// Decode every TIFF chunk through the `tiff` crate, not the direct Deflate path (for
    /// comparisons; the results are the same).
    #[arg(long, hide = true)]
    pub tiff_crate_decode: bool,
}

impl DetectFlags {
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            band: self.band,
            max_pixels: self.max_pixels,
            direct_decode: !self.tiff_crate_decode,
        }
    }

    /// The CFAR asked for (`--cfar` or `--pfa`), if any.
    pub fn cfar_options(&self, preset: Option<Preset>) -> Result<Option<crate::cfar::CfarOptions>> {
        use crate::cfar::{CfarOptions, Extent, DEFAULT_BACKGROUND_PX, DEFAULT_GUARD_PX};
        let (pk, pg, pb, pc) = match preset {
            Some(Preset::Sar) => (Some(3.5), 21.0, 151.0, Some(3.0)),
            Some(Preset::Optical) => (Some(5.0), 9.0, 41.0, None),
            None => (None, DEFAULT_GUARD_PX, DEFAULT_BACKGROUND_PX, None),
        };
        let k = match (self.cfar, self.pfa, pk) {
            (Some(k), _, _) => k,
            (None, Some(p), _) => crate::cfar::k_for_pfa(p)?,
            (None, None, Some(k)) => k,
            (None, None, None) => {
                let set = self.guard_m.is_some()
                    || self.background_m.is_some()
                    || self.guard_px.is_some()
                    || self.background_px.is_some();
                if set {
                    return Err(Error::Invalid(
                        "CFAR window sizes given without --cfar K or --pfa P".into(),
                    ));
                }
                return Ok(None);
            }
        };
        let ext = |m: Option<f64>, px: Option<f64>, default: f64| match (m, px) {
            (Some(m), _) => Extent::M(m),
            (None, Some(p)) => Extent::Px(p),
            (None, None) => Extent::Px(default),
        };
        Ok(Some(CfarOptions {
            k,
            guard: ext(self.guard_m, self.guard_px, pg),
            background: ext(self.background_m, self.background_px, pb),
            min_ring_fraction: self.cfar_min_ring,
            censor_k: match self.cfar_censor.or(pc) {
                Some(0.0) => None,
                c => c,
            },
            censor_grow_px: self.censor_grow_px,
        }))
    }

    /// The water mask asked for, if any.
    pub fn water_spec(&self, preset: Option<Preset>) -> Result<Option<crate::detect::WaterSpec>> {
        use crate::detect::{WaterSource, WaterSpec};
        let source = match (&self.mask, &self.land, &self.ndwi, self.water) {
            (Some(p), _, _, _) => WaterSource::Mask(p.clone()),
            (_, Some(p), _, _) => WaterSource::Land(p.clone()),
            (_, _, Some(s), _) => WaterSource::NdwiSpec(s.clone()),
            (_, _, _, Some(WaterChoice::Auto)) => WaterSource::AutoNir,
            _ if preset == Some(Preset::Optical) => WaterSource::AutoNir,
            _ => {
                if self.shore_buffer_m.is_some() {
                    return Err(Error::Invalid(
                        "--shore-buffer-m needs a water mask (--mask, --land, --ndwi or --water auto)"
                            .into(),
                    ));
                }
                return Ok(None);
            }
        };
        Ok(Some(WaterSpec {
            source,
            shore_buffer_m: self.shore_buffer_m,
        }))
    }

    /// A detection method is given by flags (then no preset applies unless asked for).
    pub fn method_given(&self) -> bool {
        self.threshold.is_some()
            || self.otsu
            || self.sigma.is_some()
            || self.cfar.is_some()
            || self.pfa.is_some()
    }

    /// The preset when it does not depend on the input: `Some(p)` (a preset or none), or
    /// `None` when each input chooses (`auto`, the default without a method flag).
    pub fn fixed_preset(&self) -> Option<Option<Preset>> {
        match self.preset {
            Some(PresetChoice::Sar) => Some(Some(Preset::Sar)),
            Some(PresetChoice::Optical) => Some(Some(Preset::Optical)),
            Some(PresetChoice::None) => Some(None),
            Some(PresetChoice::Auto) => None,
            None if self.method_given() => Some(None),
            None => None,
        }
    }

    /// The options when they do not depend on the input ([`DetectFlags::fixed_preset`]), or
    /// those of each preset for [`DetectPlan::options_for`] to pick from.
    pub fn detect_plan(&self) -> Result<DetectPlan> {
        let plan = match self.fixed_preset() {
            Some(p) => DetectPlan::Fixed(Box::new(self.detect_options(p)?)),
            None => DetectPlan::Auto {
                sar: Box::new(self.detect_options(Some(Preset::Sar))?),
                optical: Box::new(self.detect_options(Some(Preset::Optical))?),
            },
        };
        // Said before any input is read when both are given (the detector says it too, for a
        // preset's value against a flag, and for library callers).
        if let (Some(min), Some(max)) = (self.min_area, self.max_area) {
            if min > max {
                return Err(Error::Invalid(format!(
                    "--min-area {min} is larger than --max-area {max}"
                )));
            }
        }
        Ok(plan)
    }

    /// The options with preset `preset` (flags given explicitly win over its values).
    pub fn detect_options(&self, preset: Option<Preset>) -> Result<DetectOptions> {
        let cfar = self.cfar_options(preset)?;
        let water = self.water_spec(preset)?;
        Ok(DetectOptions {
            threshold: match (self.threshold, self.otsu, self.sigma) {
                (Some(v), _, _) => ThresholdMode::Fixed(v),
                (None, true, _) => ThresholdMode::Otsu,
                (None, false, Some(k)) => ThresholdMode::MeanStd(k),
                (None, false, None) if cfar.is_some() => ThresholdMode::None,
                (None, false, None) => ThresholdMode::MeanStd(DEFAULT_SIGMAS),
            },
            nodata: self.nodata,
            connectivity: if self.connectivity == "4" {
                Connectivity::Four
            } else {
                Connectivity::Eight
            },
            tile_size: self.tile_size,
            min_area: self.min_area.unwrap_or(match preset {
                Some(Preset::Sar) => 20,
                Some(Preset::Optical) => 3,
                None => 1,
            }),
            max_area: self
                .max_area
                .or((preset == Some(Preset::Sar)).then_some(3000))
                .unwrap_or(u64::MAX),
            ground: crate::detect::GroundFilter {
                min_length_m: self.min_length_m,
                max_length_m: self.max_length_m,
                max_width_m: self.max_width_m,
                min_aspect: self.min_aspect,
            },
            georef: None,
            pixel_size_m: self.pixel_size_m,
            cfar,
            water,
            confidence: true,
            min_score: self.min_score.or(match preset {
                Some(Preset::Sar) => Some(0.9),
                Some(Preset::Optical) => Some(0.5),
                None => None,
            }),
            drop_edge_lines: self.drop_edge_lines || preset == Some(Preset::Sar),
            suppress_inside: self.suppress_inside.or(match preset {
                Some(Preset::Sar) => Some(0.25),
                _ => None,
            }),
            preset: preset.map(|p| crate::preset::Choice {
                preset: p,
                by: "--preset",
                sea_cv: None,
            }),
        })
    }
}

/// Open the backend asked for; `auto` falls back to the CPU when no adapter exists.
pub fn open_engine(choice: BackendChoice, adapter: Option<&str>) -> Result<Box<dyn Engine>> {
    match choice {
        BackendChoice::Cpu => Ok(Box::new(CpuEngine)),
        BackendChoice::Gpu => Ok(Box::new(GpuEngine::new(adapter)?)),
        BackendChoice::Auto => match auto_gpu(adapter) {
            Ok(Some(g)) => Ok(Box::new(g)),
            Ok(None) => Ok(Box::new(CpuEngine)),
            Err(e) if adapter.is_some() => Err(e),
            Err(e) => {
                eprintln!("vesselscan: {e}; using the CPU backend");
                Ok(Box::new(CpuEngine))
            }
        },
    }
}

/// The GPU engine `--backend auto` runs on: the named adapter (`--adapter`,
/// `WGPU_ADAPTER_NAME`), else the best that is not a software rasterizer (lavapipe, WARP: a
/// `Cpu` device type; an `Other` one counts as a GPU). `None` when a software one is all there
/// is: it runs the kernels far slower than the CPU backend (97 s against 5 s on a 16384^2 SAR
/// scene, see docs/BENCHMARKS.md); `--backend gpu` still uses it.
fn auto_gpu(adapter: Option<&str>) -> Result<Option<GpuEngine>> {
    if adapter.is_some() || crate::gpu::env_adapter_name().is_some() {
        return GpuEngine::new(adapter).map(Some);
    }
    let all = crate::gpu::adapters(None);
    let hardware = |a: &&wgpu::Adapter| a.get_info().device_type != wgpu::DeviceType::Cpu;
    if let Some(a) = all.iter().find(hardware) {
        return Ok(Some(GpuEngine::of(crate::gpu::GpuContext::open(
            a.clone(),
        )?)));
    }
    let soft = all.first().ok_or_else(crate::gpu::no_adapter)?;
    eprintln!(
        "vesselscan: no GPU adapter but a software one ({}): using the CPU backend, which is \
         faster (--backend gpu uses the adapter)",
        soft.get_info().name
    );
    Ok(None)
}

fn check_output_folder(out: &std::path::Path) -> Result<()> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if dir.is_dir() {
        return Ok(());
    }
    Err(Error::Write {
        path: out.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("output folder {} does not exist", dir.display()),
        ),
    })
}

/// Errors when an output of `detect` (`-o`, `--quicklook`, a chip) would overwrite one of its
/// inputs (the scene, `--mask`, `--land`, `--ndwi` files, `--ais`), through links, relative
/// paths or hard links alike.
fn check_outputs_spare_inputs(a: &DetectArgs) -> Result<()> {
    let f = &a.flags;
    let mut inputs: Vec<(PathBuf, &str)> = vec![(a.input.clone(), "the input")];
    for (p, what) in [
        (&f.mask, "the --mask"),
        (&f.land, "the --land"),
        (&a.ais.ais, "the --ais"),
    ] {
        if let Some(p) = p {
            inputs.push((p.clone(), what));
        }
    }
    // The band files of --ndwi, as the water mask reads the spec (a bad spec is said there).
    if let Some(Ok((green, nir))) = f
        .ndwi
        .as_deref()
        .map(|spec| crate::water::BandRef::parse_pair(spec, &a.input))
    {
        for b in [green, nir].into_iter().filter(|b| b.band.is_none()) {
            inputs.push((b.path, "an --ndwi band"));
        }
    }
    let clash = |out: &std::path::Path, flag: &str, input: &std::path::Path, what: &str| {
        Error::Invalid(format!(
            "{}: {flag} names {what} {}; it would be overwritten (choose another output)",
            out.display(),
            input.display()
        ))
    };
    for (out, flag) in [(&a.output, "-o"), (&a.quicklook, "--quicklook")] {
        let Some(out) = out else { continue };
        for (input, what) in &inputs {
            if crate::write::same_file(input, out) {
                return Err(clash(out, flag, input, what));
            }
        }
    }
    if let Some(dir) = &a.chips {
        // Chips are `<number>.png` in the folder.
        for (input, what) in &inputs {
            let chip_like = |n: &&std::ffi::OsStr| {
                n.to_str()
                    .and_then(|n| n.strip_suffix(".png"))
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            };
            if let Some(name) = input.file_name().filter(chip_like) {
                if crate::write::same_file(input, &dir.join(name)) {
                    return Err(clash(dir, "--chips", input, what));
                }
            }
        }
    }
    Ok(())
}

fn run_detect(a: &DetectArgs) -> std::result::Result<(), Failure> {
    let format = a.format.unwrap_or_else(|| match &a.output {
        Some(p) => match p.extension().map(|e| e.to_ascii_lowercase()) {
            Some(e) if e == "csv" => Format::Csv,
            Some(e) if e == "geojson" => Format::Geojson,
            _ => Format::Json,
        },
        None => Format::Json,
    });
    // Outputs and options are checked before any input is read, so a bad one fails before the
    // work: the run could not start (exit code 2).
    for out in [&a.output, &a.quicklook].into_iter().flatten() {
        check_output_folder(out).map_err(Failure::Start)?;
    }
    let f = &a.flags;
    check_outputs_spare_inputs(a).map_err(Failure::Start)?;
    let plan = f.detect_plan().map_err(Failure::Start)?;
    let mut src = open_source(&a.input, &f.read_options())?;
    // After the input opened: a bad scene fails before a large AIS file is read.
    let ais = a.ais.options().map_err(Failure::by_kind)?;
    let width = src.info().width;
    let engine = open_engine(f.backend, f.adapter.as_deref()).map_err(Failure::Start)?;
    let detect = plan.options_for(&a.input, src.as_mut())?;
    let scene = crate::write::run_scene(
        engine.as_ref(),
        &a.input,
        src.as_mut(),
        Some(window_rows_for(width, f.memory_mb)),
        &detect,
        &crate::write::Outputs {
            format,
            geometry: a.geometry,
            pictures: crate::write::pictures::Pictures {
                quicklook: a.quicklook.clone(),
                quicklook_width: a.quicklook_width,
                chips: a.chips.clone(),
            },
            ais,
        },
    )?;
    eprintln!("vesselscan: {}", scene.summary);
    match &a.output {
        Some(p) => write_atomic(p, &scene.bytes)?,
        None => {
            let mut so = std::io::stdout().lock();
            if let Err(e) = so.write_all(&scene.bytes).and_then(|_| so.flush()) {
                // A closed pipe (`| head`) is not an error.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(Failure::Input(Error::Write {
                        path: "<stdout>".into(),
                        source: e,
                    }));
                }
            }
        }
    }
    Ok(())
}

fn run_batch(a: &BatchArgs) -> std::result::Result<bool, Failure> {
    use std::io::IsTerminal;
    if let Some(dir) = &a.summarize {
        let (s, n) = crate::batch::merge_shard_summaries(dir).map_err(Failure::by_kind)?;
        eprintln!(
            "vesselscan: {n} shards, {} files: {} ok, {} skipped, {} failed; summary in {}",
            s.files.len(),
            s.ok,
            s.skipped,
            s.failed,
            dir.join(crate::batch::summary_name(None)).display()
        );
        return Ok(s.failed == 0);
    }
    let outdir = a
        .output
        .clone()
        .expect("clap requires -o without --summarize");
    let f = &a.flags;
    let expanded = crate::batch::expand_inputs(&a.inputs).map_err(Failure::Start)?;
    for (p, why) in &expanded.skipped {
        eprintln!("vesselscan: {}: skipped: {why}", p.display());
    }
    let inputs = expanded.inputs;
    if inputs.is_empty() {
        return Err(Failure::Start(Error::Invalid(
            "no input to read: every raster found was skipped".into(),
        )));
    }
    let in_shard = match a.shard {
        Some((i, n)) => crate::batch::shard(&inputs, i, n).len(),
        None => inputs.len(),
    };
    std::fs::create_dir_all(&outdir).map_err(|source| {
        Failure::Start(Error::Write {
            path: outdir.clone(),
            source,
        })
    })?;
    let engine = open_engine(f.backend, f.adapter.as_deref()).map_err(Failure::Start)?;
    let opts = crate::batch::BatchOptions {
        outdir: outdir.clone(),
        shard: a.shard,
        format: a.format,
        geometry: a.geometry,
        force: a.force,
        read: f.read_options(),
        memory_mb: f.memory_mb,
        jobs: crate::batch::jobs_for(a.jobs.map(|j| j as usize), in_shard, f.memory_mb),
        detect: f.detect_plan().map_err(Failure::Start)?,
        ais: a.ais.options().map_err(Failure::Start)?,
    };
    let each = (f.memory_mb / opts.jobs as u64).max(1);
    if opts.jobs > 1 {
        eprintln!(
            "vesselscan: {} files, {} at a time, {each} MiB each (more for a scene that needs \
             it, which then waits for memory)",
            in_shard, opts.jobs,
        );
    } else {
        eprintln!("vesselscan: {} files, one at a time, {each} MiB", in_shard);
    }
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(in_shard as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} files, {msg} [{elapsed_precise}, ETA {eta}]",
            )
            .expect("valid template"),
        );
        Some(b)
    } else {
        None
    };
    let t0 = std::time::Instant::now();
    let mpx = std::sync::Mutex::new(0.0f64);
    let summary = crate::batch::run_batch(engine.as_ref(), &inputs, &opts, &|r| {
        let rate = {
            let mut m = mpx.lock().expect("lock");
            *m += r.megapixels;
            *m / t0.elapsed().as_secs_f64().max(1e-9)
        };
        let line = match r.status {
            crate::batch::Status::Ok if r.redone.is_some() => format!(
                "{}: {} detections (output made again: {})",
                r.input,
                r.detections.unwrap_or(0),
                r.redone.as_deref().unwrap_or("")
            ),
            crate::batch::Status::Ok => match r.dark {
                Some(d) => format!(
                    "{}: {} detections, {d} dark (no AIS match)",
                    r.input,
                    r.detections.unwrap_or(0)
                ),
                None => format!("{}: {} detections", r.input, r.detections.unwrap_or(0)),
            },
            crate::batch::Status::Skipped => {
                format!("{}: skipped (output exists, made from it)", r.input)
            }
            // The error names the file already.
            crate::batch::Status::Error => r.error.clone().unwrap_or_default(),
        };
        match &bar {
            Some(b) => {
                b.set_message(format!("{rate:.1} Mpx/s"));
                if r.status == crate::batch::Status::Error {
                    b.println(format!("vesselscan: {line}"));
                }
                b.inc(1);
            }
            None => eprintln!("vesselscan: {line}"),
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "vesselscan: {} files: {} ok, {} skipped, {} failed; summary in {}",
        summary.files.len(),
        summary.ok,
        summary.skipped,
        summary.failed,
        outdir.join(crate::batch::summary_name(a.shard)).display()
    );
    Ok(summary.failed == 0)
}

fn run_synth(a: &SynthArgs) -> Result<()> {
    use crate::synth::sar::{SarParams, SarScene, SceneCrs, Speckle};
    use crate::write::geotiff::{BigTiff, Compression, GeoTiffOptions};
    let truth_path = a.truth.clone().unwrap_or_else(|| {
        let stem = a
            .output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "synth".into());
        a.output.with_file_name(format!("{stem}.truth.geojson"))
    });
    if truth_path == a.output {
        return Err(Error::Invalid(format!(
            "{}: the truth file would overwrite the image; give another --truth",
            a.output.display()
        )));
    }
    check_output_folder(&a.output)?;
    check_output_folder(&truth_path)?;
    let t0 = std::time::Instant::now();
    let params = SarParams {
        width: a.width,
        height: a.height,
        seed: a.seed,
        vessels: a.vessels,
        speckle: match a.speckle {
            SpeckleChoice::Gamma => Speckle::Gamma,
            SpeckleChoice::K => Speckle::K { nu: a.k_shape },
        },
        looks: a.looks,
        sea_mean: a.sea_mean,
        land_fraction: a.land,
        land_mean: a.land_mean,
        pixel_size_m: a.pixel_size_m,
        lon: a.lon,
        lat: a.lat,
        crs: match a.crs {
            CrsChoice::Wgs84 => SceneCrs::Wgs84,
            CrsChoice::Utm => SceneCrs::Utm,
        },
        length_m: (a.min_length_m, a.max_length_m),
        heading_deg: a.heading,
        sidelobe_level: a.sidelobes,
        ..SarParams::default()
    };
    let scene = SarScene::new(&params)?;
    let opts = GeoTiffOptions {
        tile: a.tile,
        compression: match a.compression {
            CompressionChoice::Deflate => Compression::Deflate { level: a.level },
            CompressionChoice::None => Compression::None,
        },
        bigtiff: if a.bigtiff {
            BigTiff::Always
        } else {
            BigTiff::Auto
        },
        georef: None,
        nodata: None,
        description: None,
    };
    let written = scene.write_geotiff(&a.output, &opts)?;
    write_atomic(&truth_path, scene.truth_geojson().as_bytes())?;
    eprintln!(
        "vesselscan: {}: {}x{} u16 {} EPSG:{}, {} vessels, land {}%, {} tiles {}, {:.1} MB in {:.2} s; truth in {}",
        a.output.display(),
        a.width,
        a.height,
        if written.bigtiff { "BigTIFF" } else { "GeoTIFF" },
        scene.georef().crs.epsg(),
        scene.truth().len(),
        a.land * 100.0,
        match a.compression {
            CompressionChoice::Deflate => "deflate",
            CompressionChoice::None => "uncompressed",
        },
        a.tile,
        written.bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64(),
        truth_path.display()
    );
    Ok(())
}

/// How a run ended badly, which sets the exit code: 1 when inputs failed, 2 when the run
/// could not start.
#[derive(Debug)]
pub enum Failure {
    /// An input could not be read or processed (the error names it): exit code 1.
    Input(Error),
    /// The run could not start: bad options, no adapter for `--backend gpu`, an output folder
    /// that cannot be made, nothing to read: exit code 2.
    Start(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Input(e)
    }
}

impl Failure {
    /// A failure by the kind of error: options and adapters stop a run before it starts,
    /// anything about a file is that input's.
    pub fn by_kind(e: Error) -> Failure {
        match e {
            Error::Invalid(_) | Error::NoAdapter(_) => Failure::Start(e),
            e => Failure::Input(e),
        }
    }

    /// The process exit code: 1 or 2.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Input(_) => 1,
            Failure::Start(_) => 2,
        }
    }
}

/// Run the parsed command line. `Ok(false)`: it ran, but some files failed (batch: each was
/// reported, the others done; exit code 1).
pub fn run(cli: &Cli) -> std::result::Result<bool, Failure> {
    match &cli.command {
        Command::Detect(a) => run_detect(a).map(|_| true),
        Command::Batch(a) => run_batch(a),
        Command::Synth(a) => run_synth(a).map(|_| true).map_err(Failure::by_kind),
        Command::Eval(a) => run_eval(a).map(|_| true).map_err(Failure::by_kind),
        Command::Bench(a) => run_bench(a).map_err(Failure::by_kind),
        Command::Adapters => {
            let list = crate::gpu::list_adapters();
            let mut s = serde_json::to_string_pretty(&list).expect("adapters serialise");
            s.push('\n');
            print!("{s}");
            Ok(true)
        }
    }
}

/// `vesselscan eval` match criteria.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchChoice {
    /// The detection's centroid lies inside the truth box (default for box truth).
    CenterInBox,
    /// Detection and truth within --tolerance-m metres (default 200, for point truth) or
    /// --tolerance-px pixels.
    Distance,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Ground truth: PASCAL VOC XML (a file or a folder), COCO JSON, boxes JSON
    /// ({"images": {name: [[x0, y0, x1, y1], ...]}}, inclusive) or GeoJSON points (lon/lat).
    #[arg(long, value_name = "FILE|DIR")]
    pub truth: PathBuf,
    /// Detections: a `detect` JSON or GeoJSON output, or a folder of them (searched
    /// recursively), paired with truth images by file stem.
    #[arg(long, value_name = "FILE|DIR")]
    pub pred: PathBuf,
    /// Match criterion (default: center-in-box for boxes, distance for points).
    #[arg(long = "match", value_enum, value_name = "CRITERION")]
    pub criterion: Option<MatchChoice>,
    /// Distance matching: greatest ground distance in metres between detection and truth
    /// lon/lat (haversine, mean Earth radius); default 200 (xView3).
    #[arg(long, value_name = "M", value_parser = parse_tolerance, conflicts_with = "tolerance_px")]
    pub tolerance_m: Option<f64>,
    /// Distance matching in pixels instead: greatest distance between the detection's
    /// centroid and the truth centre.
    #[arg(long, value_name = "PX", value_parser = parse_tolerance)]
    pub tolerance_px: Option<f64>,
    /// Count truth images that have no prediction file (all their objects missed); by
    /// default they are listed and left out of the totals.
    #[arg(long)]
    pub all_images: bool,
    /// Output JSON (written atomically); stdout when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Drop detections whose `score` is below S (detections without a score are kept).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    pub min_score: Option<f64>,
}

fn parse_tolerance(s: &str) -> std::result::Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?}: expected a distance > 0")),
    }
}

/// `Ok(false)`: it ran, but an adapter's detections differ from the CPU's.
fn run_bench(a: &BenchArgs) -> Result<bool> {
    use crate::bench::{AdapterFilter, BenchOptions, BenchScene};
    if let Some(p) = &a.json {
        check_output_folder(p)?;
    }
    let scene = match crate::synth::Scene::parse(&a.scene) {
        Some(s) => BenchScene::Synth(s),
        None => {
            let p = PathBuf::from(&a.scene);
            if !p.is_file() {
                return Err(Error::Invalid(format!(
                    "--scene {}: neither sea, random nor a file",
                    a.scene
                )));
            }
            BenchScene::File(p)
        }
    };
    let adapters = match a.adapters.as_str() {
        "all" => AdapterFilter::All,
        "none" => AdapterFilter::None,
        n => AdapterFilter::Name(n.to_string()),
    };
    let rep = crate::bench::run(&BenchOptions {
        scene,
        size: a.size,
        adapters,
        repeat: a.repeat,
        tile_size: a.tile_size,
    })?;
    print!("{}", crate::bench::table(&rep));
    if let Some(p) = &a.json {
        let mut bytes = serde_json::to_vec_pretty(&rep).expect("serializable");
        bytes.push(b'\n');
        write_atomic(p, &bytes)?;
    }
    if rep.rows.iter().any(|r| r.error.is_none() && !r.matches_cpu) {
        // It ran: a failed check, exit code 1.
        eprintln!(
            "vesselscan: an adapter's detections differ from the CPU backend's (see the match column)"
        );
        return Ok(false);
    }
    Ok(true)
}

fn run_eval(a: &EvalArgs) -> Result<()> {
    use crate::eval::{evaluate, EvalOptions, MatchRule, DEFAULT_TOLERANCE_M};
    let rule = match (a.criterion, a.tolerance_m, a.tolerance_px) {
        (Some(MatchChoice::CenterInBox), None, None) => Some(MatchRule::CenterInBox),
        (Some(MatchChoice::CenterInBox), _, _) => {
            return Err(Error::Invalid(
                "--tolerance-m / --tolerance-px go with --match distance, not center-in-box".into(),
            ))
        }
        (_, Some(m), _) => Some(MatchRule::DistanceM(m)),
        (_, None, Some(px)) => Some(MatchRule::DistancePx(px)),
        (Some(MatchChoice::Distance), None, None) => {
            Some(MatchRule::DistanceM(DEFAULT_TOLERANCE_M))
        }
        (None, None, None) => None,
    };
    if let Some(s) = a.min_score.filter(|s| !s.is_finite()) {
        return Err(Error::Invalid(format!(
            "--min-score {s}: expected a number"
        )));
    }
    if let Some(out) = &a.output {
        check_output_folder(out)?;
    }
    let report = evaluate(
        &a.truth,
        &a.pred,
        &EvalOptions {
            rule,
            all_images: a.all_images,
            min_score: a.min_score,
        },
    )?;
    for n in &report.notes {
        eprintln!("vesselscan: eval: {n}");
    }
    let bytes = report.to_json();
    match &a.output {
        Some(p) => write_atomic(p, &bytes)?,
        None => {
            let mut so = std::io::stdout().lock();
            if let Err(e) = so.write_all(&bytes).and_then(|_| so.flush()) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(Error::Write {
                        path: "<stdout>".into(),
                        source: e,
                    });
                }
            }
        }
    }
    eprintln!("vesselscan: {}", report.summary());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
