//! Ground control point (GCP) grids: from pixel coordinates to WGS 84 longitude/latitude by
//! bilinear interpolation in a rectilinear grid of tie points, such as the geolocation grid of a
//! Sentinel-1 GRD product (read from its SAFE annotation XML by [`read_s1_annotation`]).
//!
//! **Pixel convention (area):** pixel `(col, row)` covers `[col, col+1) x [row, row+1)`, so the
//! top-left corner of the image is `(0, 0)` and the centre of the first pixel is `(0.5, 0.5)`.
//! This is GDAL's convention for GCPs and geotransforms, and that of [`crate::detections`].

use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One tie point: `pixel`/`line` in the area convention (module docs), `lon`/`lat` in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcp {
    pub pixel: f64,
    pub line: f64,
    pub lon: f64,
    pub lat: f64,
}

/// A rectilinear grid of GCPs: `cols` distinct pixel positions, each column holding `rows`
/// points. Points of one row should share one line, as in every Sentinel-1 grid; where they do
/// not (a skewed row), each column is interpolated along its own lines and the result is then
/// interpolated between the two columns, which is bilinear when the rows are straight.
#[derive(Debug, Clone)]
pub struct GcpGrid {
    /// Column pixel positions, strictly increasing.
    px: Vec<f64>,
    rows: usize,
    /// Column-major (`c * rows + r`): line, unwrapped longitude, latitude of each point.
    line: Vec<f64>,
    lon: Vec<f64>,
    lat: Vec<f64>,
}

impl GcpGrid {
    /// Builds the grid from GCPs in any order. Errors (one line each): fewer than 2x2 points,
    /// a non-finite value or a latitude outside [-90, 90], two points at the same pixel/line,
    /// columns of unequal length (not a grid), or rows that overlap in line.
    ///
    /// Longitudes are unwrapped (each point within 180 degrees of its neighbour along the first
    /// row, then down its column), so a grid across the antimeridian interpolates continuously.
    pub fn new(mut points: Vec<Gcp>) -> std::result::Result<GcpGrid, String> {
        if points.len() < 4 {
            return Err(format!("need at least 2x2 GCPs, got {}", points.len()));
        }
        for (i, p) in points.iter_mut().enumerate() {
            // -0.0 to 0.0, so that sorting and grouping agree.
            (p.pixel, p.line) = (p.pixel + 0.0, p.line + 0.0);
            if ![p.pixel, p.line, p.lon, p.lat]
                .iter()
                .all(|v| v.is_finite())
            {
                return Err(format!("GCP {i} has a non-finite value: {p:?}"));
            }
            if p.lat.abs() > 90.0 {
                return Err(format!("GCP {i} has latitude {} outside [-90, 90]", p.lat));
            }
        }
        points.sort_by(|a, b| a.pixel.total_cmp(&b.pixel).then(a.line.total_cmp(&b.line)));
        if let Some(w) = points
            .windows(2)
            .find(|w| w[0].pixel == w[1].pixel && w[0].line == w[1].line)
        {
            return Err(format!(
                "duplicate GCP at pixel {}, line {}",
                w[0].pixel, w[0].line
            ));
        }
        let cols: Vec<&[Gcp]> = points.chunk_by(|a, b| a.pixel == b.pixel).collect();
        let rows = cols[0].len();
        if cols.len() < 2 || rows < 2 {
            return Err(format!(
                "need at least 2x2 GCPs, got {} column(s) of {rows} point(s)",
                cols.len()
            ));
        }
        if let Some(c) = cols.iter().find(|c| c.len() != rows) {
            return Err(format!(
                "GCPs do not form a grid: the column at pixel {} has {} points, the one at pixel {} has {}",
                cols[0][0].pixel, rows, c[0].pixel, c.len()
            ));
        }
        for r in 0..rows - 1 {
            let last = cols.iter().map(|c| c[r].line).fold(f64::MIN, f64::max);
            let next = cols.iter().map(|c| c[r + 1].line).fold(f64::MAX, f64::min);
            if last >= next {
                return Err(format!(
                    "GCPs do not form a grid: row {r} reaches line {last}, row {} starts at line {next}",
                    r + 1
                ));
            }
        }
        let px = cols.iter().map(|c| c[0].pixel).collect();
        let line = points.iter().map(|p| p.line).collect();
        let lat = points.iter().map(|p| p.lat).collect();
        let mut lon: Vec<f64> = points.iter().map(|p| p.lon).collect();
        for i in 1..lon.len() {
            let prev = if i % rows == 0 {
                lon[i - rows]
            } else {
                lon[i - 1]
            };
            lon[i] -= 360.0 * ((lon[i] - prev) / 360.0).round();
        }
        Ok(GcpGrid {
            px,
            rows,
            line,
            lon,
            lat,
        })
    }

    /// Number of GCPs.
    pub fn len(&self) -> usize {
        self.lon.len()
    }

    /// Always false: a grid holds at least 2x2 points.
    pub fn is_empty(&self) -> bool {
        self.lon.is_empty()
    }

    /// `(columns, rows)` of the grid.
    pub fn dims(&self) -> (usize, usize) {
        (self.px.len(), self.rows)
    }

    /// Longitude in [-180, 180) and latitude of the area-convention point `(x, y)`: bilinear in
    /// the cell that holds it, linear extrapolation from the edge cell outside the grid (the
    /// latitude then clamped to [-90, 90]). Exact at the GCPs (to 1e-12 degrees where the
    /// longitude was unwrapped, bit for bit elsewhere). NaN in, NaN out.
    pub fn lonlat(&self, x: f64, y: f64) -> (f64, f64) {
        let (c, s) = segment(&self.px, x);
        let (lon0, lat0) = self.along_column(c, y);
        let (lon1, lat1) = self.along_column(c + 1, y);
        let lon = normalise_lon(lerp(lon0, lon1, s));
        (lon, lerp(lat0, lat1, s).clamp(-90.0, 90.0))
    }

    /// The area-convention point `(x, y)` that [`GcpGrid::lonlat`] maps to `(lon, lat)`: Newton's
    /// method on the interpolated map (Jacobian by central differences, steps halved while they
    /// do not reduce the residual), started at the grid point nearest in lon/lat. `None` when it
    /// does not converge to within 1e-9 px (outside the map's reach, or a folded grid).
    /// Outside the grid it inverts the linear extrapolation of [`GcpGrid::lonlat`].
    pub fn pixel_of(&self, lon: f64, lat: f64) -> Option<(f64, f64)> {
        if !lon.is_finite() || !lat.is_finite() {
            return None;
        }
        let wrap = |d: f64| (d + 540.0).rem_euclid(360.0) - 180.0;
        // Residual in (east-ish, north) degrees, longitude scaled by cos(lat).
        let k = lat.to_radians().cos().max(1e-6);
        let resid = |x: f64, y: f64| {
            let (l, t) = self.lonlat(x, y);
            (wrap(l - lon) * k, t - lat)
        };
        let (mut x, mut y, mut best) = (0.0, 0.0, f64::MAX);
        for (c, &px) in self.px.iter().enumerate() {
            for r in 0..self.rows {
                let i = c * self.rows + r;
                let (dl, dt) = (wrap(self.lon[i] - lon) * k, self.lat[i] - lat);
                let d = dl * dl + dt * dt;
                if d < best {
                    (x, y, best) = (px, self.line[i], d);
                }
            }
        }
        let (mut fx, mut fy) = resid(x, y);
        for _ in 0..100 {
            const H: f64 = 1e-3;
            let (ax, ay) = resid(x + H, y);
            let (bx, by) = resid(x - H, y);
            let (cx, cy) = resid(x, y + H);
            let (dx, dy) = resid(x, y - H);
            let j = [
                [(ax - bx) / (2.0 * H), (cx - dx) / (2.0 * H)],
                [(ay - by) / (2.0 * H), (cy - dy) / (2.0 * H)],
            ];
            let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
            if det == 0.0 || !det.is_finite() {
                return None;
            }
            let sx = (j[1][1] * fx - j[0][1] * fy) / det;
            let sy = (j[0][0] * fy - j[1][0] * fx) / det;
            if sx.abs().max(sy.abs()) < 1e-9 {
                return Some((x - sx, y - sy));
            }
            // Halve the step until the residual shrinks (bilinear cells meet at kinks).
            let norm = |a: f64, b: f64| a * a + b * b;
            let mut t = 1.0;
            loop {
                let (nx, ny) = (x - t * sx, y - t * sy);
                let (gx, gy) = resid(nx, ny);
                if norm(gx, gy) < norm(fx, fy) || t < 1e-6 {
                    (x, y, fx, fy) = (nx, ny, gx, gy);
                    break;
                }
                t *= 0.5;
            }
        }
        None
    }

    /// Linear interpolation down column `c` at line `y`.
    fn along_column(&self, c: usize, y: f64) -> (f64, f64) {
        let k = c * self.rows;
        let (r, t) = segment(&self.line[k..k + self.rows], y);
        let i = k + r;
        let lon = lerp(self.lon[i], self.lon[i + 1], t);
        (lon, lerp(self.lat[i], self.lat[i + 1], t))
    }
}

/// The segment `[v[i], v[i+1]]` of an increasing list (at least 2 long) to use for `x`: the one
/// holding it, else the first or last; and the fraction `t` of `x` along it (outside [0, 1] when
/// extrapolating; exactly 0 at `v[i]`, exactly 1 at `v[i+1]`).
fn segment(v: &[f64], x: f64) -> (usize, f64) {
    let i = v
        .partition_point(|&p| p <= x)
        .saturating_sub(1)
        .min(v.len() - 2);
    (i, (x - v[i]) / (v[i + 1] - v[i]))
}

/// `a` at `t = 0` and `b` at `t = 1`, both exactly.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    a * (1.0 - t) + b * t
}

/// Into [-180, 180); values already there are returned unchanged.
fn normalise_lon(lon: f64) -> f64 {
    if (-180.0..180.0).contains(&lon) || !lon.is_finite() {
        return lon;
    }
    let l = (lon + 180.0).rem_euclid(360.0) - 180.0;
    if l >= 180.0 {
        l - 360.0
    } else {
        l
    }
}

/// What [`read_s1_annotation`] takes from a Sentinel-1 annotation file.
#[derive(Debug, Clone, PartialEq)]
pub struct S1Annotation {
    /// `imageAnnotation/imageInformation/numberOfSamples`: image width in pixels.
    pub width: u32,
    /// `imageAnnotation/imageInformation/numberOfLines`: image height in pixels.
    pub height: u32,
    /// The geolocation grid, converted to the area convention (see [`read_s1_annotation`]).
    pub gcps: Vec<Gcp>,
    /// The middle of `adsHeader` `startTime` and `stopTime` (ISO 8601 UTC) and where it came
    /// from, when both are there: the acquisition time for AIS matching.
    pub time: Option<(String, String)>,
    /// The viewing geometry for the AIS azimuth-shift correction, when every part is there.
    pub sar: Option<crate::ais::matching::SarGeometry>,
}

/// Largest annotation file read (real ones are a few MiB).
pub const MAX_ANNOTATION_BYTES: u64 = 64 << 20;

/// Reads a Sentinel-1 SAFE annotation XML (`annotation/*.xml`): the image size and the
/// `geolocationGrid/geolocationGridPointList/geolocationGridPoint`s.
///
/// **Half-pixel shift:** the annotation's `pixel`/`line` are zero-based sample and line indices,
/// i.e. pixel centres, so 0.5 is added to both to get the area convention. Evidence: the grid
/// ends at `numberOfSamples - 1` and `numberOfLines - 1` (a corner convention would end at the
/// image size and leave the last column and row outside the grid; see "Row/column convention
/// for GCPs in Sentinel 1 GRD products", forum.step.esa.int/t/41051), and the `azimuthTime` of
/// the grid's first and last rows equal `productFirstLineUtcTime`/`productLastLineUtcTime` up to
/// the same range skew, i.e. they are the times of the first and last sample rows.
/// GDAL's SAFE driver (`frmts/safe/safedataset.cpp`) copies `pixel`/`line` into its GCPs
/// unchanged, and GDAL GCPs use the area convention, so GDAL places every S1 grid point half a
/// pixel (5 m in GRDH) up and left of where this function does.
///
/// Errors (naming the file, and the element where one is at fault): unreadable or over
/// [`MAX_ANNOTATION_BYTES`] (checked before reading), not UTF-8 or not XML, a missing element,
/// a value that is not a finite number, a grid point count that disagrees with the list's
/// `count` attribute.
pub fn read_s1_annotation(path: &Path) -> Result<S1Annotation> {
    let fail = |msg: String| Error::Format {
        path: path.to_path_buf(),
        msg,
    };
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    if size > MAX_ANNOTATION_BYTES {
        return Err(fail(format!(
            "annotation is {size} bytes, more than the {MAX_ANNOTATION_BYTES}-byte limit"
        )));
    }
    let mut bytes = Vec::new();
    f.take(MAX_ANNOTATION_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8 text: {e}")))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| fail(format!("not XML: {e}")))?;

    let find = |names: &[&str]| {
        let mut n = doc.root_element();
        if n.tag_name().name() != names[0] {
            return Err(fail(format!(
                "root element is <{}>, not <{}>",
                n.tag_name().name(),
                names[0]
            )));
        }
        for name in &names[1..] {
            n = child(n, name).ok_or_else(|| fail(format!("missing <{}>", names.join("/"))))?;
        }
        Ok(n)
    };
    let value = |n: roxmltree::Node<'_, '_>, name: &str, what: &str| -> Result<f64> {
        let t = child(n, name).and_then(|c| c.text()).map(str::trim);
        let t = t.ok_or_else(|| fail(format!("{what}: missing <{name}>")))?;
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(fail(format!(
                "{what}: <{name}> {t:?} is not a finite number"
            ))),
        }
    };
    let size_of = |name: &str| -> Result<u32> {
        let info = find(&["product", "imageAnnotation", "imageInformation"])?;
        let v = value(info, name, "imageInformation")?;
        if v >= 1.0 && v <= u32::MAX as f64 && v.fract() == 0.0 {
            Ok(v as u32)
        } else {
            Err(fail(format!(
                "imageInformation: <{name}> {v} is not a positive integer"
            )))
        }
    };
    let (width, height) = (size_of("numberOfSamples")?, size_of("numberOfLines")?);

    let list = find(&["product", "geolocationGrid", "geolocationGridPointList"])?;
    let mut gcps = Vec::new();
    for (i, p) in list
        .children()
        .filter(|c| c.tag_name().name() == "geolocationGridPoint")
        .enumerate()
    {
        let what = format!("geolocationGridPoint {}", i + 1);
        gcps.push(Gcp {
            pixel: value(p, "pixel", &what)? + 0.5,
            line: value(p, "line", &what)? + 0.5,
            lon: value(p, "longitude", &what)?,
            lat: value(p, "latitude", &what)?,
        });
    }
    if let Some(count) = list.attribute("count") {
        if count.trim().parse::<usize>().ok() != Some(gcps.len()) {
            return Err(fail(format!(
                "geolocationGridPointList: count=\"{count}\" but {} geolocationGridPoints",
                gcps.len()
            )));
        }
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    Ok(S1Annotation {
        width,
        height,
        gcps,
        time: mid_time(&doc, &name),
        sar: sar_geometry(&doc),
    })
}

/// For `X.SAFE/measurement/<name>.tiff`, the annotation `X.SAFE/annotation/<name>.xml` if that
/// file exists.
pub fn find_s1_annotation(measurement_tiff: &Path) -> Option<PathBuf> {
    let dir = measurement_tiff.parent()?;
    if dir.file_name()? != "measurement" {
        return None;
    }
    let mut name = measurement_tiff.file_stem()?.to_os_string();
    name.push(".xml");
    let xml = dir.parent()?.join("annotation").join(name);
    xml.is_file().then_some(xml)
}

/// The first child element of `n` called `name`.
fn child<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    n.children().find(|c| c.tag_name().name() == name)
}

/// The middle of a Sentinel-1 annotation's `adsHeader` `startTime` and `stopTime` (UTC), as an
/// ISO 8601 string, and where it came from; None when it lacks them (AIS matching then asks for
/// `--time`).
fn mid_time(doc: &roxmltree::Document, name: &str) -> Option<(String, String)> {
    let header = doc.descendants().find(|n| n.has_tag_name("adsHeader"))?;
    let time = |tag: &str| {
        child(header, tag)
            .and_then(|n| n.text())
            .and_then(|t| crate::ais::reports::parse_utc(t.trim()))
    };
    let (t0, t1) = (time("startTime")?, time("stopTime")?);
    Some((
        crate::ais::reports::format_utc((t0 + t1) / 2.0),
        format!("Sentinel-1 annotation {name} (middle of startTime and stopTime)"),
    ))
}

/// The viewing geometry of a Sentinel-1 annotation, for the AIS azimuth-shift correction:
/// `productInformation/platformHeading`, `imageInformation/incidenceAngleMidSwath`, the slant
/// range of the mean `slantRangeTime` of the geolocation grid (two-way time x c / 2), the
/// speed of the first orbit state vector, looking right (as Sentinel-1 does). None when it
/// lacks any of them.
fn sar_geometry(doc: &roxmltree::Document) -> Option<crate::ais::matching::SarGeometry> {
    let num = |n: roxmltree::Node| n.text().and_then(|t| t.trim().parse::<f64>().ok());
    let first = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(name))
            .and_then(num)
            .filter(|v| v.is_finite())
    };
    let heading_deg = first("platformHeading")?;
    let incidence_deg = first("incidenceAngleMidSwath")?;
    let times: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("geolocationGridPoint"))
        .filter_map(|p| child(p, "slantRangeTime"))
        .filter_map(num)
        .collect();
    if times.is_empty() {
        return None;
    }
    const C: f64 = 299_792_458.0;
    let slant_range_m = times.iter().sum::<f64>() / times.len() as f64 * C / 2.0;
    let v = doc.descendants().find(|n| n.has_tag_name("velocity"))?;
    let comp = |name: &str| child(v, name).and_then(num);
    let (vx, vy, vz) = (comp("x")?, comp("y")?, comp("z")?);
    let platform_speed_mps = (vx * vx + vy * vy + vz * vz).sqrt();
    let ok = |v: f64| v.is_finite() && v > 0.0;
    if !ok(slant_range_m) || !ok(platform_speed_mps) || !(0.0..90.0).contains(&incidence_deg) {
        return None;
    }
    Some(crate::ais::matching::SarGeometry {
        heading_deg,
        look: crate::ais::matching::Look::Right,
        incidence_deg,
        slant_range_m,
        platform_speed_mps,
    })
}
