//! AIS: ship transponder reports matched against detections, to flag the vessels that are not
//! broadcasting ("dark" vessels).
//!
//! * [`reports`]: AIS reports from CSV (MarineCadastre, Global Fishing Watch / BigQuery, or
//!   any header mapped with `--ais-columns`), plain or gzip, streamed.
//! * [`track`]: each vessel's position at the acquisition time (interpolated along the great
//!   circle between the reports that bracket it, or extrapolated with speed and course up to a
//!   gap limit).
//! * [`matching`]: the optional SAR azimuth-shift correction, and the one-to-one assignment of
//!   least cost within a gate.
//!
//! [`annotate`] runs all three for one scene's detections.
//!
//! Cost: [`annotate`] streams the AIS file once per scene and keeps only the reports that can
//! matter to it: within the gap limit of the acquisition time, and inside the scene's
//! footprint grown by what a vessel at [`MAX_SPEED_KN`] covers in the gap limit, plus the
//! gate and the largest azimuth shift. So its memory follows the reports near the scene (plus
//! a few bytes per distinct vessel of the file), not the file, and the matching runs on those
//! vessels only, per connected component of the gate graph. `write::run_scene` runs the
//! streaming ([`read_near`]) on a thread of its own while the detector works. A batch shares
//! the opened file (`AisOptions.file`, its header checked once) and reads it once per scene:
//! N scenes cost N passes over the file (each about 0.3-0.4 s of one core per million rows,
//! plus gunzip; see docs/BENCHMARKS.md), each in the same bounded memory, so a batch over many
//! scenes stays linear in scenes x rows and flat in memory.

pub mod matching;
pub mod reports;
pub mod track;

use crate::detections::Detection;
use crate::error::{Error, Result};
use crate::geo::Georef;
use matching::{Candidate, MatchRules, SarGeometry};
use reports::AisFile;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// The speed, knots, no vessel is taken to exceed when deciding which reports can reach a
/// scene: generous (the fastest ferries and patrol boats do about 40 kn). A vessel whose
/// reports imply more (or a bad position) may be left out where the old dense reading would
/// have moved it into the scene.
pub const MAX_SPEED_KN: f64 = 50.0;

/// Default gap limit: a track whose nearest report is further than this from the acquisition
/// time is stale and left out.
pub const DEFAULT_MAX_GAP_S: f64 = 30.0 * 60.0;

/// What `--ais` asks for.
#[derive(Debug, Clone)]
pub struct AisOptions {
    /// The AIS file, its header read once (shared by the scenes of a batch); each scene
    /// streams it with its own window (see the module's doc).
    pub file: Arc<AisFile>,
    /// Acquisition time given on the command line (seconds since 1970 UTC); else each scene's
    /// own (TIFF DateTime tag, or a Sentinel-1 annotation's start and stop times).
    pub time: Option<f64>,
    pub max_gap_s: f64,
    pub rules: MatchRules,
    /// Correct AIS positions for the SAR azimuth shift of moving ships, with this geometry.
    pub sar: Option<SarGeometry>,
    /// Correct them with each scene's own geometry (a Sentinel-1 SAFE annotation's).
    pub sar_from_product: bool,
}

/// A detection's AIS match. Serialised (flattened into the detection) only when AIS was used:
/// then all five fields, `null` where a dark detection has no vessel; without AIS none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AisFields {
    /// MMSI of the matched vessel.
    pub ais_mmsi: Option<u64>,
    pub ais_name: Option<String>,
    /// Metres from the centroid to the vessel's expected position.
    pub ais_distance_m: Option<f64>,
    /// The vessel's length as it reports it.
    pub ais_length_m: Option<f64>,
    /// True when no AIS vessel matched the detection, false when one did; absent without AIS.
    pub dark: Option<bool>,
}

impl Serialize for AisFields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.dark.is_none() {
            return s.serialize_map(Some(0))?.end();
        }
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("ais_mmsi", &self.ais_mmsi)?;
        m.serialize_entry("ais_name", &self.ais_name)?;
        m.serialize_entry("ais_distance_m", &self.ais_distance_m)?;
        m.serialize_entry("ais_length_m", &self.ais_length_m)?;
        m.serialize_entry("dark", &self.dark)?;
        m.end()
    }
}

/// An AIS vessel inside the scene footprint that no detection matched.
#[derive(Debug, Clone, Serialize)]
pub struct Unmatched {
    pub mmsi: u64,
    pub name: Option<String>,
    /// Its position at the acquisition time (before any azimuth shift).
    pub lon: f64,
    pub lat: f64,
    /// Where it was expected in the image (after the azimuth shift, if any).
    pub expected_lon: f64,
    pub expected_lat: f64,
    pub sog_kn: Option<f64>,
    pub cog_deg: Option<f64>,
    pub length_m: Option<f64>,
    pub method: track::Method,
    /// Seconds between the acquisition and the nearest report used.
    pub gap_s: f64,
}

/// What the AIS step did for one scene.
#[derive(Debug, Clone, Serialize)]
pub struct AisSummary {
    pub file: String,
    /// Acquisition time, ISO 8601 UTC, and where it came from.
    pub time: String,
    pub time_source: String,
    pub gate_m: f64,
    pub max_gap_s: f64,
    pub length_weight: f64,
    pub azimuth_correction: Option<SarGeometry>,
    /// Data rows of the file, and rows skipped as bad.
    pub rows: usize,
    /// Reports kept for this scene: within the gap limit of its time and near its footprint.
    pub reports_near: usize,
    pub skipped_rows: usize,
    /// "line N: why" of the first row skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_skipped: Option<String>,
    /// Distinct vessels in the file, those without a report within the gap limit, duplicate
    /// reports dropped (one MMSI twice at one time, among the reports near the scene).
    pub vessels: usize,
    pub stale: usize,
    pub duplicates: usize,
    /// Vessels expected inside the scene footprint.
    pub in_footprint: usize,
    /// Detections matched to a vessel, detections with no match (dark), and vessels in the
    /// footprint with no detection.
    pub matched: usize,
    pub dark: usize,
    pub unmatched_ais: usize,
}

/// The AIS result of one scene.
#[derive(Debug, Clone)]
pub struct AisResult {
    pub summary: AisSummary,
    pub unmatched: Vec<Unmatched>,
}

impl AisResult {
    /// One line for stderr.
    pub fn line(&self) -> String {
        let s = &self.summary;
        format!(
            "AIS at {} ({}): {} vessels in the footprint ({} in the file, {} stale), {} detections matched, {} dark, {} AIS vessels not detected{}",
            s.time,
            s.time_source,
            s.in_footprint,
            s.vessels,
            s.stale,
            s.matched,
            s.dark,
            s.unmatched_ais,
            if s.skipped_rows > 0 {
                format!(
                    "; {} bad rows skipped (first: {})",
                    s.skipped_rows,
                    s.first_skipped.as_deref().unwrap_or("?")
                )
            } else {
                String::new()
            }
        )
    }
}

/// The acquisition time of scene `input` for AIS matching: `--time` when given, else
/// `scene_time` (a date string and where it came from, e.g. the TIFF DateTime tag, taken as
/// UTC). Errors, naming the scene, when there is none or it is not a date.
pub fn acquisition_time(
    input: &Path,
    opts: &AisOptions,
    scene_time: Option<(String, String)>,
) -> Result<(f64, String)> {
    let fail = |msg: String| Error::Invalid(format!("{}: {msg}", input.display()));
    match (opts.time, scene_time) {
        (Some(t), _) => Ok((t, "--time".to_string())),
        (None, Some((text, source))) => match reports::parse_utc(&text) {
            Some(t) => Ok((t, source)),
            None => Err(fail(format!(
                "the {source} '{text}' is not a date and time; give --time"
            ))),
        },
        (None, None) => Err(fail(
            "no acquisition time for AIS matching: give --time (the file has no TIFF DateTime tag)"
                .into(),
        )),
    }
}

/// The SAR geometry to correct scene `input`'s AIS positions with: the options' own, or with
/// `sar_from_product` the scene's (`product`, from its Sentinel-1 annotation); an error naming
/// the scene when it has none.
pub fn sar_geometry(
    input: &Path,
    opts: &AisOptions,
    product: Option<SarGeometry>,
) -> Result<Option<SarGeometry>> {
    if !opts.sar_from_product {
        return Ok(opts.sar);
    }
    product.map(Some).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: --azimuth-correction needs the geometry of a Sentinel-1 SAFE product (the annotation next to its measurement TIFF); give --incidence-deg with --orbit or --sar-heading-deg instead",
            input.display()
        ))
    })
}

/// The reports the scene (`width` x `height` pixels placed by `georef`, acquired at `t`, with
/// the azimuth-shift geometry `sar`) can use: one pass over the AIS file keeping those within
/// the gap limit of `t` and inside the footprint grown by [`reach_m`]. `write::run_scene` calls
/// it on a thread of its own while the detector runs, and gives the result to [`annotate`].
pub fn read_near(
    georef: &Georef,
    width: u32,
    height: u32,
    t: f64,
    sar: Option<&SarGeometry>,
    opts: &AisOptions,
) -> Result<reports::AisReports> {
    let window = reports::Window {
        time: Some((t, opts.max_gap_s)),
        area: footprint_area(georef, width, height, reach_m(opts, sar)),
    };
    opts.file.read(&window)
}

/// Match `dets` of the scene `input` (`width` x `height` pixels, placed on the Earth by
/// `georef`) against the AIS vessels at acquisition time `time` (seconds since 1970 UTC, and
/// where it came from; see [`acquisition_time`]), AIS positions moved by the azimuth shift of
/// `sar` when given (see [`sar_geometry`]). `read`: the reports [`read_near`] kept for this
/// scene, time and geometry, when they were read already (else they are read here). Fills each
/// detection's [`AisFields`]. Errors, naming the scene, when it has no usable georeferencing.
#[allow(clippy::too_many_arguments)]
pub fn annotate(
    input: &Path,
    dets: &mut [Detection],
    georef: Option<&Georef>,
    width: u32,
    height: u32,
    time: (f64, String),
    sar: Option<SarGeometry>,
    opts: &AisOptions,
    read: Option<reports::AisReports>,
) -> Result<AisResult> {
    let georef = georef.filter(|g| g.has_position()).ok_or_else(|| {
        Error::Invalid(format!(
            "{}: AIS matching needs positions on the Earth and the scene has no usable georeferencing",
            input.display()
        ))
    })?;
    let (t, time_source) = time;
    let read = match read {
        Some(r) => r,
        None => read_near(georef, width, height, t, sar.as_ref(), opts)?,
    };
    let (mut vessels, stats) = track::positions_at(&read.reports, t, opts.max_gap_s);
    // Name and length: the latest of the whole file, not only of the reports kept.
    for v in &mut vessels {
        if let Some(info) = read.info.get(&v.mmsi) {
            v.name.clone_from(&info.name);
            v.length_m = info.length_m;
        }
    }
    let expected = matching::expected(vessels, sar.as_ref());
    let inside = |lon: f64, lat: f64| {
        georef
            .pixel_of(lon, lat)
            .is_some_and(|(x, y)| x >= 0.0 && y >= 0.0 && x <= width as f64 && y <= height as f64)
    };
    let cands: Vec<Candidate> = dets
        .iter()
        .map(|d| Candidate {
            lon: d.lon.unwrap_or(f64::NAN),
            lat: d.lat.unwrap_or(f64::NAN),
            length_m: d.length_m,
        })
        .collect();
    let pairs = matching::match_pairs(&cands, &expected, &opts.rules);
    for d in dets.iter_mut() {
        d.ais = AisFields {
            dark: Some(true),
            ..AisFields::default()
        };
    }
    let mut taken = vec![false; expected.len()];
    for &(i, j, m) in &pairs {
        let v = &expected[j].vessel;
        dets[i].ais = AisFields {
            ais_mmsi: Some(v.mmsi),
            ais_name: v.name.clone(),
            ais_distance_m: Some(m),
            ais_length_m: v.length_m,
            dark: Some(false),
        };
        taken[j] = true;
    }
    let in_fp: Vec<bool> = expected.iter().map(|e| inside(e.lon, e.lat)).collect();
    let unmatched: Vec<Unmatched> = expected
        .iter()
        .zip(&taken)
        .zip(&in_fp)
        .filter(|((_, &t), &f)| f && !t)
        .map(|((e, _), _)| Unmatched {
            mmsi: e.vessel.mmsi,
            name: e.vessel.name.clone(),
            lon: e.vessel.lon,
            lat: e.vessel.lat,
            expected_lon: e.lon,
            expected_lat: e.lat,
            sog_kn: e.vessel.sog_kn,
            cog_deg: e.vessel.cog_deg,
            length_m: e.vessel.length_m,
            method: e.vessel.method,
            gap_s: e.vessel.gap_s,
        })
        .collect();
    let f = &read;
    let summary = AisSummary {
        file: f.path.display().to_string(),
        time: reports::format_utc(t),
        time_source,
        gate_m: opts.rules.gate_m,
        max_gap_s: opts.max_gap_s,
        length_weight: opts.rules.length_weight,
        azimuth_correction: sar,
        rows: f.rows,
        reports_near: f.reports.len(),
        skipped_rows: f.skipped,
        first_skipped: f.first_skipped.clone(),
        vessels: f.vessels,
        stale: f.vessels - f.in_time,
        duplicates: stats.duplicates,
        in_footprint: in_fp.iter().filter(|&&b| b).count(),
        matched: pairs.len(),
        dark: dets.len() - pairs.len(),
        unmatched_ais: unmatched.len(),
    };
    Ok(AisResult { summary, unmatched })
}

/// How far from the footprint a report can be and still matter, metres: what a vessel at
/// [`MAX_SPEED_KN`] covers in the gap limit, the gate, the largest azimuth shift at that speed,
/// and a kilometre for the footprint's outline being sampled.
pub fn reach_m(opts: &AisOptions, sar: Option<&SarGeometry>) -> f64 {
    let v = MAX_SPEED_KN * matching::KNOT_MPS;
    let shift = sar.map_or(0.0, |g| {
        (g.slant_range_m / g.platform_speed_mps * v * g.incidence_deg.to_radians().sin()).abs()
    });
    let reach = v * opts.max_gap_s + opts.rules.gate_m + shift + 1000.0;
    if reach.is_finite() {
        reach
    } else {
        f64::INFINITY
    }
}

/// The lon/lat box of a `width` x `height` scene (its outline sampled, 16 points a side),
/// grown by `margin_m`; `None` (no box: every position) when the georeferencing places none
/// of those points or the margin is not finite.
pub fn footprint_area(
    georef: &Georef,
    width: u32,
    height: u32,
    margin_m: f64,
) -> Option<reports::Area> {
    if !margin_m.is_finite() {
        return None;
    }
    let (w, h) = (f64::from(width), f64::from(height));
    let mut points = Vec::with_capacity(70);
    for k in 0..=16 {
        let f = f64::from(k) / 16.0;
        for (x, y) in [(w * f, 0.0), (w * f, h), (0.0, h * f), (w, h * f)] {
            points.extend(georef.lonlat(x, y));
        }
    }
    // The centre first: the box's longitudes are taken around it.
    points.insert(0, georef.lonlat(w / 2.0, h / 2.0)?);
    reports::Area::around(&points, margin_m)
}
