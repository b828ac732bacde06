//! GCP grids (`vesselscan::geo::gcp`): the real Sentinel-1 annotation in `../shared/data`
//! (or `$VESSELSCAN_SHARED_DATA`; skipped when missing), bilinear interpolation against affine
//! maps, the antimeridian, bad input; GDAL's geolocation arrays (bilinear) and thin-plate spline
//! as independent oracles.

mod common;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use vesselscan::error::Error;
use vesselscan::geo::gcp::{find_s1_annotation, read_s1_annotation, Gcp, GcpGrid, S1Annotation};

fn only_file(dir: &Path, ext: &str) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    assert_eq!(v.len(), 1, "{}: expected one .{ext}", dir.display());
    v.pop().unwrap()
}

/// The real annotation, found from the measurement TIFF the way the CLI will.
fn real() -> Option<(S1Annotation, GcpGrid)> {
    let safe = common::shared_safe()?;
    let tiff = only_file(&safe.join("measurement"), "tiff");
    let xml = find_s1_annotation(&tiff).expect("annotation next to the measurement");
    assert_eq!(xml, only_file(&safe.join("annotation"), "xml"));
    let ann = read_s1_annotation(&xml).unwrap_or_else(|e| panic!("{e}"));
    let grid = GcpGrid::new(ann.gcps.clone()).unwrap();
    Some((ann, grid))
}

fn gcp(pixel: f64, line: f64, lon: f64, lat: f64) -> Gcp {
    Gcp {
        pixel,
        line,
        lon,
        lat,
    }
}

/// The distinct pixel and line positions of a straight grid, ascending.
fn axes(gcps: &[Gcp]) -> (Vec<f64>, Vec<f64>) {
    let mut px: Vec<f64> = gcps.iter().map(|g| g.pixel).collect();
    let mut ln: Vec<f64> = gcps.iter().map(|g| g.line).collect();
    for v in [&mut px, &mut ln] {
        v.sort_by(f64::total_cmp);
        v.dedup();
    }
    (px, ln)
}

/// Ground distance in metres between two lon/lat points (spherical, plenty for small offsets).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dlon = ((a.0 - b.0 + 540.0).rem_euclid(360.0) - 180.0).to_radians();
    let dlat = (a.1 - b.1).to_radians();
    6_371_000.0 * dlat.hypot(dlon * ((a.1 + b.1) / 2.0).to_radians().cos())
}

/// `|a - b|` for longitudes, across the antimeridian.
fn dlon(a: f64, b: f64) -> f64 {
    ((a - b + 540.0).rem_euclid(360.0) - 180.0).abs()
}

#[test]
fn real_annotation_parses_into_a_21_by_10_grid() {
    let Some((ann, grid)) = real() else { return };
    assert_eq!((ann.width, ann.height), (25788, 16685));
    assert_eq!((grid.len(), grid.dims()), (210, (21, 10)));
    // The first point, shifted half a pixel to the area convention; the last grid point is the
    // centre of the last pixel.
    let first = ann.gcps[0];
    assert_eq!((first.pixel, first.line), (0.5, 0.5));
    assert_eq!(
        (first.lon, first.lat),
        (12.43266946006738, 47.11702756724707)
    );
    let last = ann.gcps[209];
    assert_eq!((last.pixel, last.line), (25787.5, 16684.5));
}

#[test]
fn real_grid_is_exact_at_gcps_and_between_corners_at_midpoints() {
    let Some((ann, grid)) = real() else { return };
    for g in &ann.gcps {
        assert_eq!(grid.lonlat(g.pixel, g.line), (g.lon, g.lat), "at {g:?}");
    }
    let (px, ln) = axes(&ann.gcps);
    let at = |x, y| {
        *ann.gcps
            .iter()
            .find(|g| g.pixel == x && g.line == y)
            .unwrap()
    };
    let within = |v: f64, k: [f64; 4]| k.iter().any(|&c| c < v) && k.iter().any(|&c| c > v);
    for c in 0..px.len() - 1 {
        for r in 0..ln.len() - 1 {
            let (x, y) = ((px[c] + px[c + 1]) / 2.0, (ln[r] + ln[r + 1]) / 2.0);
            let k = [(c, r), (c + 1, r), (c, r + 1), (c + 1, r + 1)].map(|(i, j)| at(px[i], ln[j]));
            let (lon, lat) = grid.lonlat(x, y);
            assert!(
                within(lon, k.map(|g| g.lon)) && within(lat, k.map(|g| g.lat)),
                "{x},{y}"
            );
            // Bilinear at the midpoint is the mean of the corners.
            let mean = k.iter().map(|g| g.lat).sum::<f64>() / 4.0;
            assert!((lat - mean).abs() < 1e-12, "{x},{y}");
        }
    }
}

#[test]
fn real_grid_is_monotonic() {
    // Descending pass, right-looking: longitude falls across the swath (with x) and latitude
    // falls along the track (with y), over the whole image and a margin beyond it.
    let Some((ann, grid)) = real() else { return };
    let (w, h) = (ann.width as f64, ann.height as f64);
    let steps =
        |len: f64, n: usize| (0..=n).map(move |i| -500.0 + (len + 1000.0) * i as f64 / n as f64);
    for y in steps(h, 40) {
        let lons: Vec<f64> = steps(w, 400).map(|x| grid.lonlat(x, y).0).collect();
        assert!(
            lons.windows(2).all(|p| p[1] < p[0]),
            "lon not falling with x at y {y}"
        );
    }
    for x in steps(w, 40) {
        let lats: Vec<f64> = steps(h, 400).map(|y| grid.lonlat(x, y).1).collect();
        assert!(
            lats.windows(2).all(|p| p[1] < p[0]),
            "lat not falling with y at x {x}"
        );
    }
}

/// An irregular 6 x 4 grid; `jitter` (one per point, in units of the smallest row spacing,
/// |j| < 0.3) skews the rows without letting them overlap.
fn affine_grid(map: impl Fn(f64, f64) -> (f64, f64), jitter: &[f64]) -> Vec<Gcp> {
    let px = [0.5, 1000.5, 2500.5, 3000.5, 5200.5, 8000.5];
    let ln = [0.5, 700.5, 2000.5, 4100.5];
    let mut v = Vec::new();
    for (c, &x) in px.iter().enumerate() {
        for (r, &y) in ln.iter().enumerate() {
            let y = y + 700.0 * jitter[c * ln.len() + r];
            let (lon, lat) = map(x, y);
            // As a product would store it: longitude in [-180, 180).
            let lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
            v.push(gcp(x, y, lon, lat));
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn bilinear_reproduces_an_affine_map(
        lon0 in -180.0f64..180.0, lat0 in -60.0f64..60.0,
        k in prop::array::uniform4(-1e-3f64..1e-3),
        jitter in prop::collection::vec(-0.3f64..0.3, 24),
        skew in any::<bool>(),
        order in Just((0..24usize).collect::<Vec<_>>()).prop_shuffle(),
        pts in prop::collection::vec((-8000.0f64..16000.0, -4000.0f64..8000.0), 50),
    ) {
        let map = |x: f64, y: f64| (lon0 + k[0] * x + k[1] * y, lat0 + k[2] * x + k[3] * y);
        let jitter = if skew { jitter } else { vec![0.0; 24] };
        let gcps = affine_grid(map, &jitter);
        let grid = GcpGrid::new(order.iter().map(|&i| gcps[i]).collect()).unwrap();
        prop_assert_eq!(grid.dims(), (6, 4));
        for g in &gcps {
            let (lon, lat) = grid.lonlat(g.pixel, g.line);
            prop_assert!(dlon(lon, g.lon) <= 1e-12 && (lat - g.lat).abs() <= 1e-12, "at {:?}", g);
        }
        for (x, y) in pts {
            let (lon, lat) = grid.lonlat(x, y);
            let want = map(x, y);
            prop_assert!((-180.0..180.0).contains(&lon), "lon {} at {},{}", lon, x, y);
            prop_assert!(dlon(lon, want.0) < 1e-9, "lon {} want {} at {},{}", lon, want.0, x, y);
            prop_assert!((lat - want.1).abs() < 1e-9, "lat {} want {} at {},{}", lat, want.1, x, y);
        }
    }
}

#[test]
fn antimeridian_interpolates_through_180() {
    for (west, east) in [(179.5, -179.5), (-179.5, 179.5)] {
        let g = gcp;
        let grid = GcpGrid::new(vec![
            g(0.0, 0.0, west, 10.0),
            g(10.0, 0.0, east, 10.0),
            g(0.0, 10.0, west, 9.0),
            g(10.0, 10.0, east, 9.0),
        ])
        .unwrap();
        let (lon, lat) = grid.lonlat(5.0, 5.0);
        assert!(
            dlon(lon, 180.0) < 1e-9 && (lat - 9.5).abs() < 1e-12,
            "{lon} {lat}"
        );
        assert!((grid.lonlat(10.0, 0.0).0 - east).abs() < 1e-12);
        let quarter = if west > 0.0 { 179.75 } else { -179.75 };
        assert!(dlon(grid.lonlat(2.5, 3.0).0, quarter) < 1e-9);
        let mut prev = grid.lonlat(-10.0, 5.0).0;
        for i in -39..=80 {
            let lon = grid.lonlat(i as f64 / 4.0, 5.0).0;
            assert!((-180.0..180.0).contains(&lon), "{lon}");
            assert!(dlon(lon, prev) < 0.03, "jump from {prev} to {lon}");
            prev = lon;
        }
    }
}

#[test]
fn bad_grids_are_errors() {
    let g = |x: f64, y: f64| gcp(x, y, x / 100.0, y / 100.0);
    let square = vec![g(0.0, 0.0), g(10.0, 0.0), g(0.0, 10.0), g(10.0, 10.0)];
    assert!(GcpGrid::new(square.clone()).is_ok());
    let cases: Vec<(Vec<Gcp>, &str)> = vec![
        (vec![], "2x2"),
        (square[..3].to_vec(), "2x2"),
        (
            vec![g(0.0, 0.0), g(0.0, 1.0), g(0.0, 2.0), g(0.0, 3.0)],
            "2x2",
        ),
        ([&square[..], &[g(5.0, 0.0)]].concat(), "grid"),
        ([&square[..], &[g(0.0, 5.0)]].concat(), "grid"),
        // Rows skewed so far that they overlap.
        (
            vec![g(0.0, 0.0), g(10.0, 6.0), g(0.0, 5.0), g(10.0, 10.0)],
            "grid",
        ),
        ([&square[..], &[g(10.0, 10.0)]].concat(), "duplicate"),
        ([&square[..], &[g(-0.0, 0.0)]].concat(), "duplicate"),
        ([&square[..3], &[g(10.0, f64::NAN)]].concat(), "non-finite"),
        (
            [&square[..3], &[gcp(10.0, 10.0, 0.0, 91.0)]].concat(),
            "latitude",
        ),
    ];
    for (points, want) in cases {
        let n = points.len();
        match GcpGrid::new(points) {
            Err(e) => assert!(
                e.contains(want) && !e.contains('\n'),
                "{n} points: {e:?}, want {want}"
            ),
            Ok(_) => panic!("{n} points: accepted, want an error about {want}"),
        }
    }
}

const POINT: &str = "<geolocationGridPoint><line>0</line><pixel>0</pixel>\
    <latitude>47</latitude><longitude>12</longitude></geolocationGridPoint>";

fn annotation(points: &str, count: usize) -> String {
    format!(
        "<?xml version=\"1.0\"?><product><imageAnnotation><imageInformation>\
         <numberOfSamples>100</numberOfSamples><numberOfLines>50</numberOfLines>\
         </imageInformation></imageAnnotation><geolocationGrid>\
         <geolocationGridPointList count=\"{count}\">{points}</geolocationGridPointList>\
         </geolocationGrid></product>"
    )
}

#[test]
fn annotation_reader_parses_a_minimal_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.xml");
    std::fs::write(&f, annotation(&POINT.repeat(2), 2)).unwrap();
    let a = read_s1_annotation(&f).unwrap();
    assert_eq!((a.width, a.height), (100, 50));
    assert_eq!(a.gcps, vec![gcp(0.5, 0.5, 12.0, 47.0); 2]);
}

#[test]
fn bad_annotations_are_errors_naming_file_and_element() {
    let dir = tempfile::tempdir().unwrap();
    let xml = |from: &str, to: &str| annotation(POINT, 1).replace(from, to).into_bytes();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"\x00\xffgarbage".to_vec(), "UTF-8"),
        (b"<product><unclosed></product>".to_vec(), "not XML"),
        (b"<other/>".to_vec(), "<other>"),
        (
            xml("<numberOfLines>50", "<numberOfLines>-5"),
            "numberOfLines",
        ),
        (
            xml("geolocationGrid>", "elsewhere>"),
            "geolocationGridPointList",
        ),
        (xml("<latitude>47</latitude>", ""), "<latitude>"),
        (xml(">47<", ">4x7<"), "<latitude> \"4x7\""),
        (xml(">12<", ">NaN<"), "<longitude>"),
        (annotation(POINT, 2).into_bytes(), "count"),
    ];
    for (i, (bytes, want)) in cases.into_iter().enumerate() {
        let f = dir.path().join(format!("case{i}.xml"));
        std::fs::write(&f, bytes).unwrap();
        let e = read_s1_annotation(&f).expect_err(want).to_string();
        assert!(
            e.contains(&format!("case{i}.xml")) && e.contains(want),
            "case {i}: {e}"
        );
    }
    // Too large: refused before reading (a sparse file, nothing on disk).
    let big = dir.path().join("big.xml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(65 << 20).unwrap();
    let e = read_s1_annotation(&big).unwrap_err().to_string();
    assert!(e.contains("big.xml") && e.contains("limit"), "{e}");
    // Missing file: an I/O error naming it.
    let gone = dir.path().join("gone.xml");
    assert!(matches!(read_s1_annotation(&gone), Err(Error::Io { path, .. }) if path == gone));
    // No annotation next to a TIFF outside a SAFE `measurement` folder, or without its XML.
    assert_eq!(find_s1_annotation(&dir.path().join("x.tiff")), None);
    let m = dir.path().join("P.SAFE/measurement");
    std::fs::create_dir_all(&m).unwrap();
    assert_eq!(find_s1_annotation(&m.join("x.tiff")), None);
}

const WGS84: &str = "GEOGCS[&quot;WGS 84&quot;,DATUM[&quot;WGS_1984&quot;,SPHEROID[&quot;WGS 84&quot;,\
    6378137,298.257223563]],PRIMEM[&quot;Greenwich&quot;,0],UNIT[&quot;degree&quot;,0.0174532925199433]]";

/// `gdaltransform <method> -output_xy <vrt>` at `pts`: (lon, lat) per point.
fn gdaltransform(method: &str, vrt: &Path, pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let input = vrt.with_extension("txt");
    let text: String = pts.iter().map(|(x, y)| format!("{x} {y}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let out = std::process::Command::new("gdaltransform")
        .args([method, "-output_xy"])
        .arg(vrt)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "gdaltransform {method} failed");
    let num = |t: Option<&str>| t.and_then(|t| t.parse::<f64>().ok()).expect("a number");
    let v: Vec<(f64, f64)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            (
                num(l.split_whitespace().next()),
                num(l.split_whitespace().nth(1)),
            )
        })
        .collect();
    assert_eq!(v.len(), pts.len());
    v
}

/// A `w` x `h` VRT carrying the GCPs as a GCP list (for `-tps`).
fn gcp_vrt(dir: &Path, gcps: &[Gcp], w: u32, h: u32) -> PathBuf {
    let mut s = format!(
        "<VRTDataset rasterXSize=\"{w}\" rasterYSize=\"{h}\">\n<GCPList Projection=\"{WGS84}\">\n"
    );
    for (i, g) in gcps.iter().enumerate() {
        s += &format!(
            "<GCP Id=\"{i}\" Pixel=\"{}\" Line=\"{}\" X=\"{}\" Y=\"{}\"/>\n",
            g.pixel, g.line, g.lon, g.lat
        );
    }
    s += "</GCPList>\n<VRTRasterBand dataType=\"Byte\" band=\"1\"/>\n</VRTDataset>\n";
    let vrt = dir.join("gcps.vrt");
    std::fs::write(&vrt, s).unwrap();
    vrt
}

/// A `w` x `h` VRT with `gcps` (a straight grid, rows of `cols` points `step` apart from
/// `origin`) as GDAL geolocation arrays, for `gdaltransform -geoloc` (bilinear between them).
fn geoloc_vrt(
    dir: &Path,
    gcps: &[Gcp],
    (w, h): (u32, u32),
    cols: usize,
    origin: (f64, f64),
    step: (f64, f64),
) -> PathBuf {
    let mut g = gcps.to_vec();
    g.sort_by(|a, b| a.line.total_cmp(&b.line).then(a.pixel.total_cmp(&b.pixel)));
    let rows = g.len() / cols;
    for (name, v) in [
        ("lon", g.iter().map(|g| g.lon).collect::<Vec<_>>()),
        ("lat", g.iter().map(|g| g.lat).collect()),
    ] {
        let bytes: Vec<u8> = v.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join(format!("{name}.bin")), bytes).unwrap();
        let band = format!(
            "<VRTDataset rasterXSize=\"{cols}\" rasterYSize=\"{rows}\"><VRTRasterBand dataType=\"Float64\" \
             band=\"1\" subClass=\"VRTRawRasterBand\"><SourceFilename relativeToVRT=\"1\">{name}.bin\
             </SourceFilename><PixelOffset>8</PixelOffset><LineOffset>{}</LineOffset>\
             <ByteOrder>LSB</ByteOrder></VRTRasterBand></VRTDataset>",
            cols * 8
        );
        std::fs::write(dir.join(format!("{name}.vrt")), band).unwrap();
    }
    let (d, (x0, y0), (sx, sy)) = (dir.display(), origin, step);
    let md = format!(
        "<MDI key=\"SRS\">{WGS84}</MDI><MDI key=\"X_DATASET\">{d}/lon.vrt</MDI><MDI key=\"X_BAND\">1</MDI>\
         <MDI key=\"Y_DATASET\">{d}/lat.vrt</MDI><MDI key=\"Y_BAND\">1</MDI>\
         <MDI key=\"PIXEL_OFFSET\">{x0}</MDI><MDI key=\"LINE_OFFSET\">{y0}</MDI>\
         <MDI key=\"PIXEL_STEP\">{sx}</MDI><MDI key=\"LINE_STEP\">{sy}</MDI>\
         <MDI key=\"GEOREFERENCING_CONVENTION\">TOP_LEFT_CORNER</MDI>"
    );
    let vrt = dir.join("geoloc.vrt");
    let s = format!(
        "<VRTDataset rasterXSize=\"{w}\" rasterYSize=\"{h}\"><Metadata domain=\"GEOLOCATION\">{md}\
         </Metadata><VRTRasterBand dataType=\"Byte\" band=\"1\"/></VRTDataset>"
    );
    std::fs::write(&vrt, s).unwrap();
    vrt
}

#[test]
fn real_grid_matches_gdal_geolocation_arrays() {
    // GDAL's geolocation-array transformer is bilinear too, but needs even spacing: this grid
    // steps 1290 px and 2003 lines except into its last column (1277) and row (660), so the
    // comparison covers the first 20 x 9 points, i.e. 19 x 8 cells, and nothing beyond them.
    let Some((ann, grid)) = real() else { return };
    if !common::have_gdal() {
        return;
    }
    let (x0, y0, sx, sy) = (0.5, 0.5, 1290.0, 2003.0);
    let (x1, y1) = (x0 + 19.0 * sx, y0 + 8.0 * sy);
    let part: Vec<Gcp> = ann
        .gcps
        .iter()
        .filter(|g| g.pixel <= x1 && g.line <= y1)
        .copied()
        .collect();
    assert_eq!(part.len(), 20 * 9);
    let dir = tempfile::tempdir().unwrap();
    let size = (ann.width, ann.height);
    let vrt = geoloc_vrt(dir.path(), &part, size, 20, (x0, y0), (sx, sy));
    let mut pts: Vec<(f64, f64)> = part.iter().map(|g| (g.pixel, g.line)).collect();
    // A 50 x 40 lattice at steps that share no factor with the grid's.
    pts.extend((0..2000).map(|i| (x0 + (i % 50) as f64 * 499.9, y0 + (i / 50) as f64 * 410.3)));
    let mut worst = 0.0f64;
    for (&(x, y), t) in pts.iter().zip(gdaltransform("-geoloc", &vrt, &pts)) {
        let (lon, lat) = grid.lonlat(x, y);
        worst = worst.max((lon - t.0).abs()).max((lat - t.1).abs());
        // GDAL prints 15 significant digits (1e-13 degrees here).
        assert!(worst < 1e-9, "at {x},{y}: {lon},{lat} vs GDAL {t:?}");
    }
    eprintln!(
        "bilinear vs GDAL geolocation arrays at {} points: max {worst:.1e} deg",
        pts.len()
    );
}

#[test]
fn real_grid_agrees_with_gdal_thin_plate_spline() {
    let Some((ann, grid)) = real() else { return };
    if !common::have_gdal() {
        return;
    }
    // Both sides get the same area-convention GCPs, so this compares interpolation only.
    let dir = tempfile::tempdir().unwrap();
    let vrt = gcp_vrt(dir.path(), &ann.gcps, ann.width, ann.height);
    let at_gcps: Vec<(f64, f64)> = ann.gcps.iter().map(|g| (g.pixel, g.line)).collect();
    for (g, t) in ann.gcps.iter().zip(gdaltransform("-tps", &vrt, &at_gcps)) {
        assert!(
            dlon(t.0, g.lon) < 1e-9 && (t.1 - g.lat).abs() < 1e-9,
            "{g:?}: GDAL {t:?}"
        );
    }
    let (px, ln) = axes(&ann.gcps);
    let mid = |v: &[f64]| (v[0] + v[1]) / 2.0;
    let mids: Vec<(f64, f64)> = px
        .windows(2)
        .flat_map(|x| ln.windows(2).map(move |y| (mid(x), mid(y))))
        .collect();
    let tps = gdaltransform("-tps", &vrt, &mids);
    let mut d: Vec<f64> = mids
        .iter()
        .zip(&tps)
        .map(|(&(x, y), &t)| metres(grid.lonlat(x, y), t))
        .collect();
    d.sort_by(f64::total_cmp);
    let (median, worst) = (d[d.len() / 2], d[d.len() - 1]);
    eprintln!(
        "bilinear vs GDAL TPS at {} cell midpoints: median {median:.1} m, max {worst:.1} m",
        d.len()
    );
    // Measured (GDAL 3.6): median 63 m, max 309 m. Not a fault on either side: this scene is in
    // the Alps and the grid points lie on the terrain (annotation heights 25-2818 m, changing by
    // up to ~1000 m from one point to the next), which shifts each point in ground range by
    // h / tan(incidence), so the grid is rough at its own spacing and two smooth interpolants
    // part by hundreds of metres between points. The bound still catches gross faults (a cell
    // is 13 x 20 km); agreement to 1e-9 degrees is the geolocation-array test's job.
    assert!(
        worst < 400.0,
        "bilinear and TPS differ by up to {worst:.1} m"
    );
}
