//! Stage **write**: detections as JSON or CSV, to stdout or to a file written atomically
//! (a temporary file in the same folder, renamed into place), so a killed run never leaves a
//! partial output. [`geotiff`]: rasters as tiled, compressed GeoTIFF (streamed, also atomic).

pub mod geojson;
pub mod geotiff;
pub mod pictures;
pub mod quicklook;

use crate::detect::ParamsReport;
use crate::detections::Detection;
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// One JSON document: the scene, the parameters and every detection.
    #[default]
    Json,
    /// One row per detection, with a header.
    Csv,
    /// RFC 7946 FeatureCollection in WGS 84 lon/lat (needs georeferencing).
    Geojson,
}

impl Format {
    /// The file extension of outputs in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Geojson => "geojson",
        }
    }
}

/// The geometry of GeoJSON features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Geometry {
    /// A Point at the centroid.
    #[default]
    Point,
    /// The oriented box (length x width along the axes) as a Polygon.
    Box,
}

/// The georeferencing of a scene as reported.
#[derive(Debug, Serialize)]
pub struct GeorefReport {
    pub crs: String,
    pub source: String,
}

/// The JSON document of one scene.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub input: String,
    pub width: u32,
    pub height: u32,
    pub band: u32,
    pub backend: &'a str,
    pub adapter: Option<String>,
    pub params: &'a ParamsReport,
    /// None: detections are in pixels only.
    pub georef: Option<GeorefReport>,
    /// Why the file's georeferencing could not be used, if it has some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub georef_warning: Option<String>,
    /// With `--ais`: what the matching did, and the AIS vessels in the footprint that no
    /// detection matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ais: Option<&'a crate::ais::AisSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ais_unmatched: Option<&'a [crate::ais::Unmatched]>,
    pub detections: &'a [Detection],
}

pub fn to_json(report: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(report).expect("report serialises");
    v.push(b'\n');
    v
}

pub const CSV_HEADER: &str = "id,x,y,x0,y0,x1,y1,area,sum,max,mean,length_px,width_px,\
orientation_deg,lon,lat,length_m,width_m,heading_deg,distance_to_land_m,scr,contrast,significance,score,\
ais_mmsi,ais_name,ais_distance_m,ais_length_m,dark";

/// A text as a CSV field: quoted (quotes doubled) when it holds a comma, quote or line break.
fn csv_text(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// An optional number as a CSV field (empty when absent).
fn opt(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub fn to_csv(dets: &[Detection]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * (dets.len() + 1));
    writeln!(out, "{CSV_HEADER}").unwrap();
    for d in dets {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            d.id,
            d.x,
            d.y,
            d.bbox[0],
            d.bbox[1],
            d.bbox[2],
            d.bbox[3],
            d.area,
            d.sum,
            d.max,
            d.mean,
            d.length_px,
            d.width_px,
            d.orientation_deg,
            opt(d.lon),
            opt(d.lat),
            opt(d.length_m),
            opt(d.width_m),
            opt(d.heading_deg),
            opt(d.distance_to_land_m),
            opt(d.scr),
            opt(d.contrast),
            opt(d.significance),
            opt(d.score),
            d.ais.ais_mmsi.map(|m| m.to_string()).unwrap_or_default(),
            d.ais.ais_name.as_deref().map(csv_text).unwrap_or_default(),
            opt(d.ais.ais_distance_m),
            opt(d.ais.ais_length_m),
            d.ais.dark.map(|b| b.to_string()).unwrap_or_default(),
        )
        .unwrap();
    }
    out
}

/// What a scene run renders.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub format: Format,
    /// GeoJSON feature geometry.
    pub geometry: Geometry,
    pub pictures: pictures::Pictures,
    /// Match the detections against AIS (`--ais`).
    pub ais: Option<std::sync::Arc<crate::ais::AisOptions>>,
}

/// One scene run: the bytes to write and a one-line summary for stderr.
pub struct SceneRun {
    pub bytes: Vec<u8>,
    pub detections: usize,
    /// With `--ais`: detections no AIS vessel matched.
    pub dark: Option<usize>,
    pub summary: String,
}

/// Detect on one scene (read window by window, `window_rows` at a time) and render the output.
pub fn run_scene(
    engine: &dyn crate::engine::Engine,
    input: &std::path::Path,
    src: &mut dyn crate::detect::RasterSource,
    window_rows: Option<u32>,
    opts: &crate::detect::DetectOptions,
    outputs: &Outputs,
) -> Result<SceneRun> {
    let Outputs {
        format,
        geometry,
        pictures: pics,
        ais,
    } = outputs;
    let (format, geometry) = (*format, *geometry);
    let resolved;
    let opts = match &opts.water {
        Some(w) => {
            resolved = crate::detect::DetectOptions {
                water: Some(w.for_input(input)?),
                ..opts.clone()
            };
            &resolved
        }
        None => opts,
    };
    let t0 = std::time::Instant::now();
    let raster = src.info();
    // Fail before the work when the output cannot be made.
    let geo = crate::detect::scene_georef(src, opts)?;
    if format == Format::Geojson && !geo.georef().is_some_and(|g| g.has_position()) {
        let why = match &geo {
            crate::geo::GeoStatus::Unusable(why) => {
                format!("its georeferencing is unusable ({why})")
            }
            _ => "it has no georeferencing".into(),
        };
        return Err(Error::NoGeoref {
            path: input.to_owned(),
            msg: format!(
                "GeoJSON needs positions on the Earth and {why}; use --format json or csv (pixel coordinates)"
            ),
        });
    }
    // AIS needs positions and a time: both are known before the work.
    let ais_time = match ais {
        Some(a) => {
            if !geo.georef().is_some_and(|g| g.has_position()) {
                return Err(Error::NoGeoref {
                    path: input.to_owned(),
                    msg: "AIS matching needs positions on the Earth and the scene has no usable georeferencing".into(),
                });
            }
            let time = crate::ais::acquisition_time(input, a, src.acquisition_time())?;
            let sar = crate::ais::sar_geometry(input, a, src.sar_geometry())?;
            Some((time, sar))
        }
        None => None,
    };
    let kind = raster.kind;
    let nodata_key = opts
        .nodata
        .or(raster.nodata)
        .and_then(|v| crate::sample::nodata_key(kind, v));
    let mut overview = pictures::overview_for(pics, raster.width, raster.height);
    // The AIS file is streamed on a thread of its own while the detector runs (the window
    // needs only the georeferencing, the time and the geometry, known now).
    let (out, ais_read) = std::thread::scope(|scope| -> Result<_> {
        let reader = match (ais, &ais_time, geo.georef()) {
            (Some(a), Some(((t, _), sar)), Some(g)) => {
                let (t, sar, g) = (*t, *sar, g.as_ref());
                let (w, h) = (raster.width, raster.height);
                Some(scope.spawn(move || crate::ais::read_near(g, w, h, t, sar.as_ref(), a)))
            }
            _ => None,
        };
        let out = {
            let mut feed = |keys: &[u32], _w: u32, y0: u32, rows: u32| {
                if let Some(o) = overview.as_mut() {
                    o.add_rows(kind, keys, y0, rows, nodata_key);
                }
            };
            let observe: Option<crate::detect::RowObserver> =
                if pics.wanted() { Some(&mut feed) } else { None };
            crate::detect::detect_source_observed(engine, src, opts, window_rows, observe)
        };
        let read = reader
            .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .transpose();
        Ok((out?, read?))
    })?;
    let mut out = out;
    let ais_result = match (ais, ais_time) {
        (Some(a), Some((time, sar))) => Some(crate::ais::annotate(
            input,
            &mut out.detections,
            out.geo.georef().map(|g| g.as_ref()),
            raster.width,
            raster.height,
            time,
            sar,
            a,
            ais_read,
        )?),
        _ => None,
    };
    let secs = t0.elapsed().as_secs_f64();
    let backend_desc = match engine.adapter() {
        Some(name) => format!("gpu ({name})"),
        None => "cpu".into(),
    };
    let mut summary = String::new();
    // Only worth a word when the clamp changes the tiling of this scene, and the size was
    // asked for (the default is clamped silently: 4-connectivity allows a little less).
    let halo = out.params.cfar.map_or(0, |c| c.background_px / 2);
    let allowed =
        crate::engine::effective_tile_size(engine, opts.tile_size, opts.connectivity, halo);
    if allowed < opts.tile_size
        && allowed < raster.width.max(raster.height)
        && opts.tile_size != crate::detect::DEFAULT_TILE_SIZE
    {
        summary += &format!(
            "tile size {} exceeds the backend's limits; using {allowed}\nvesselscan: ",
            opts.tile_size
        );
    }
    let georef = out.geo.georef();
    if let crate::geo::GeoStatus::Unusable(why) = &out.geo {
        summary += &format!(
            "warning: {}: georeferencing not used ({why}); positions are in pixels\nvesselscan: ",
            input.display()
        );
    }
    let mut thr = match &out.params.preset {
        Some(p) => format!("preset {} ({}), ", p.preset.name(), p.by),
        None => String::new(),
    };
    thr += &match (out.params.threshold_method, out.params.threshold) {
        ("none", _) => "no threshold".to_string(),
        (m, Some(t)) => format!("threshold {m} {t}"),
        (m, None) => format!("threshold {m} none (no value can reach it)"),
    };
    if let Some(c) = &out.params.cfar {
        thr += &format!(
            ", CFAR k {} guard {} px background {} px",
            c.k, c.guard_px, c.background_px
        );
        if let Some(k1) = c.censor_k {
            thr += &format!(" censored (first pass k {k1})");
        }
    }
    if let Some(w) = &out.params.water {
        thr += &format!(
            ", water mask {} ({:.1} % water)",
            w.source,
            100.0 * w.water_fraction
        );
    }
    summary += &format!(
        "{}: {}x{} {} band {}, backend {backend_desc}, {thr}, {} detections in {secs:.3} s",
        input.display(),
        raster.width,
        raster.height,
        raster.kind.name(),
        raster.band,
        out.detections.len(),
    );
    if let Some(r) = &ais_result {
        summary += &format!("\nvesselscan: {}: {}", input.display(), r.line());
    }
    let bytes = match format {
        Format::Json => to_json(&Report {
            input: input.display().to_string(),
            width: raster.width,
            height: raster.height,
            band: raster.band,
            backend: engine.backend(),
            adapter: engine.adapter(),
            params: &out.params,
            georef: georef.map(|g| GeorefReport {
                crs: g.crs_name(),
                source: g.source.clone(),
            }),
            georef_warning: match &out.geo {
                crate::geo::GeoStatus::Unusable(why) => Some(why.clone()),
                _ => None,
            },
            ais: ais_result.as_ref().map(|r| &r.summary),
            ais_unmatched: ais_result.as_ref().map(|r| &r.unmatched[..]),
            detections: &out.detections,
        }),
        Format::Csv => to_csv(&out.detections),
        Format::Geojson => geojson::to_geojson(
            &out.detections,
            geometry,
            ais_result.as_ref().map(|r| (&r.summary, &r.unmatched[..])),
        ),
    };
    if let Some(ov) = overview.map(|o| o.finish()) {
        if let Some(path) = &pics.quicklook {
            // AIS vessels no detection matched, where they were expected in the image.
            let ais_only: Vec<(f64, f64)> = match (&ais_result, out.geo.georef()) {
                (Some(r), Some(g)) => r
                    .unmatched
                    .iter()
                    .filter_map(|u| g.pixel_of(u.expected_lon, u.expected_lat))
                    .collect(),
                _ => Vec::new(),
            };
            pictures::write_quicklook(path, &ov, &out.detections, &ais_only)?;
            summary += &format!("; quicklook {}", path.display());
        }
        if let Some(dir) = &pics.chips {
            let rows = window_rows.unwrap_or(raster.height).max(1);
            let n = pictures::write_chips(
                dir,
                src,
                rows,
                kind,
                nodata_key,
                pictures::stretch_of(&ov),
                &out.detections,
            )?;
            summary += &format!("; {n} chips in {}", dir.display());
        }
    }
    Ok(SceneRun {
        bytes,
        detections: out.detections.len(),
        dark: ais_result.as_ref().map(|r| r.summary.dark),
        summary,
    })
}

/// Write `bytes` to `path` atomically: temp file in the same folder, then rename. A `path` that
/// exists and is not a regular file (`/dev/null`, `/dev/stdout`, a named pipe) is written in
/// place: renaming over it would replace the device or pipe with a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(err)?;
        return f.write_all(bytes).and_then(|_| f.flush()).map_err(err);
    }
    let mut tmp = temp_beside(path).map_err(err)?;
    // Through the inner file: NamedTempFile's own writes add the temporary path to errors.
    tmp.as_file_mut().write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Whether `output` names the same file as `input` (through links, `..`, relative paths or a
/// second hard link): writing it would destroy the input. An output that does not exist yet
/// cannot be an input.
pub fn same_file(input: &Path, output: &Path) -> bool {
    let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        matches!((input.canonicalize(), output.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// A temporary file in `path`'s folder, to be renamed over `path` once complete. On Unix it is
/// created with mode 0666 less the umask, the mode a plain `File::create` would give the output
/// (tempfile's default, 0600, would survive the rename).
pub(crate) fn temp_beside(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut b = tempfile::Builder::new();
    b.prefix(".vesselscan-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}
