//! Georeferencing against GDAL: lon/lat of pixels and of detections agree with `gdaltransform`
//! within 1e-7 degrees on the Sentinel-2 scenes of ../shared/data/sen2ships (EPSG:3857), on
//! generated EPSG:4326, Web Mercator, UTM and Lambert-93 GeoTIFFs, and on GDAL-written files
//! with PixelIsPoint and rotated ModelTransformation; the reference centres of
//! ship_centers_latlon.csv; sizes and headings of ellipses of known ground size; GeoJSON read by
//! `ogrinfo`.

mod common;
use common::{have_gdal, shared_data};
use std::path::{Path, PathBuf};
use std::process::Command;
use vesselscan::detect::{detect_source, DetectOptions, ThresholdMode};
use vesselscan::engine::cpu::CpuEngine;
use vesselscan::geo::{GeoStatus, Georef};
use vesselscan::read::{open_source, ReadOptions};
use vesselscan::write::geotiff::{write_geotiff_image, Crs, GeoTiffOptions, Georef as WriteGeoref};

const TOL_DEG: f64 = 1e-7;

fn georef_of(path: &Path) -> GeoStatus {
    open_source(path, &ReadOptions::default()).unwrap().georef()
}

/// GDAL's WGS 84 (lon, lat) of pixel/line points of `file`.
fn gdal_lonlat(file: &Path, pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    use std::io::Write;
    let mut child = Command::new("gdaltransform")
        .args(["-t_srs", "EPSG:4326", "-output_xy"])
        .arg(file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("gdaltransform runs");
    let mut input = String::new();
    for (x, y) in pts {
        input += &format!("{x:.17} {y:.17}\n");
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "gdaltransform {file:?}");
    let v: Vec<(f64, f64)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|t| t.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect();
    assert_eq!(v.len(), pts.len(), "gdaltransform {file:?}");
    v
}

fn assert_close(file: &Path, g: &Georef, pts: &[(f64, f64)]) -> f64 {
    let want = gdal_lonlat(file, pts);
    let mut worst = 0.0f64;
    for (&(x, y), &(lon, lat)) in pts.iter().zip(&want) {
        let (glon, glat) = g.lonlat(x, y).expect("position");
        let d = (glon - lon).abs().max((glat - lat).abs());
        worst = worst.max(d);
        assert!(
            d < TOL_DEG,
            "{file:?} pixel ({x}, {y}): ours ({glon}, {glat}), GDAL ({lon}, {lat})"
        );
    }
    worst
}

/// A grid of points over a w x h scene, corners and fractions included.
fn sample_points(w: u32, h: u32) -> Vec<(f64, f64)> {
    let mut v = Vec::new();
    for fy in [0.0, 0.13, 0.5, 0.77, 1.0] {
        for fx in [0.0, 0.31, 0.5, 0.9, 1.0] {
            v.push((fx * w as f64, fy * h as f64));
        }
    }
    v.push((0.5, 0.5));
    v
}

fn sen2ships_scenes(shared: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared.join("sen2ships"))
        .unwrap()
        .filter_map(|e| {
            let d = e.unwrap().path();
            if !d.is_dir() {
                return None;
            }
            let city = d.file_name()?.to_string_lossy().into_owned();
            ["B08", "B03"]
                .iter()
                .map(|b| d.join(format!("{city}_{b}.tif")))
                .find(|p| p.exists())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn sen2ships_pixels_and_detections_agree_with_gdal() {
    let Some(shared) = shared_data() else { return };
    if !have_gdal() {
        return;
    }
    let scenes = sen2ships_scenes(&shared);
    assert_eq!(scenes.len(), 12, "{scenes:?}");
    let mut worst = 0.0f64;
    let mut dets = 0;
    for f in &scenes {
        let mut src = open_source(f, &ReadOptions::default()).unwrap();
        let info = src.info();
        let GeoStatus::Some(g) = src.georef() else {
            panic!("{f:?}: no georeferencing");
        };
        assert_eq!(g.crs_name(), "EPSG:3857");
        let mut pts = sample_points(info.width, info.height);
        let out = detect_source(
            &CpuEngine,
            src.as_mut(),
            &DetectOptions {
                threshold: ThresholdMode::MeanStd(3.0),
                min_area: 4,
                ..Default::default()
            },
            None,
        )
        .unwrap();
        for d in &out.detections {
            pts.push((d.x, d.y));
        }
        worst = worst.max(assert_close(f, &g, &pts));
        // Detections carry the same positions as the georeferencing gives their centroids.
        for d in &out.detections {
            assert_eq!(
                (d.lon, d.lat),
                g.lonlat(d.x, d.y).map(|(a, b)| (Some(a), Some(b))).unwrap()
            );
            // Ground sizes: Web Mercator 10 m pixels are cos(lat) * 10 m on the ground.
            assert!(d.length_m.unwrap() < d.length_px * 10.01);
        }
        dets += out.detections.len();
    }
    assert!(dets > 100, "{dets} detections");
    eprintln!(
        "sen2ships: worst difference from gdaltransform {worst:e} deg over {dets} detections"
    );
}

#[test]
fn reference_ship_centres() {
    let Some(shared) = shared_data() else { return };
    let csv = std::fs::read_to_string(shared.join("sen2ships/ship_centers_latlon.csv")).unwrap();
    let mut georefs: std::collections::HashMap<String, std::sync::Arc<Georef>> = Default::default();
    let mut n = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let city = f[0].to_string();
        let g = georefs.entry(city.clone()).or_insert_with(|| {
            let dir = shared.join("sen2ships").join(&city);
            let band = ["B08", "B03"]
                .iter()
                .map(|b| dir.join(format!("{city}_{b}.tif")))
                .find(|p| p.exists())
                .unwrap();
            georef_of(&band).georef().unwrap().clone()
        });
        let (col, row): (f64, f64) = (f[6].parse().unwrap(), f[7].parse().unwrap());
        let (lat, lon): (f64, f64) = (f[8].parse().unwrap(), f[9].parse().unwrap());
        let (glon, glat) = g.lonlat(col, row).unwrap();
        // The file gives 7 decimals: half a unit of the 7th decimal, plus our 1e-7 budget.
        assert!(
            (glon - lon).abs() <= 0.5e-7 + TOL_DEG && (glat - lat).abs() <= 0.5e-7 + TOL_DEG,
            "{line}: ours ({glon}, {glat})"
        );
        n += 1;
    }
    assert_eq!(n, 286);
}

/// WGS 84 metres per degree of latitude and of longitude at `lat` (written out here, not taken
/// from the library, so the test checks it).
fn metres_per_degree(lat: f64) -> (f64, f64) {
    let a = 6_378_137.0f64;
    let f = 1.0 / 298.257_223_563;
    let e2 = f * (2.0 - f);
    let s = lat.to_radians().sin();
    let w = (1.0 - e2 * s * s).sqrt();
    let m = a * (1.0 - e2) / (w * w * w);
    let n = a / w;
    (m.to_radians(), (n * lat.to_radians().cos()).to_radians())
}

struct Ship {
    x: f64,
    y: f64,
    length: f64,
    width: f64,
    heading: f64,
}

// 40 pixels long and more: the moments of a rasterised ellipse then give its axes within a
// pixel whatever its phase on the grid (shorter ones can miss by up to 2 pixels).
const SHIPS: [Ship; 3] = [
    Ship {
        x: 100.3,
        y: 110.6,
        length: 150.0,
        width: 30.0,
        heading: 30.0,
    },
    Ship {
        x: 290.5,
        y: 120.2,
        length: 120.0,
        width: 24.0,
        heading: 120.0,
    },
    Ship {
        x: 200.0,
        y: 290.0,
        length: 280.0,
        width: 45.0,
        heading: 75.0,
    },
];

/// Scenes of several CRSs with ships drawn as filled ellipses of known ground size and true
/// heading: each ship's local pixel -> ground map is measured with GDAL (gdaltransform of the
/// centre and one pixel east and south of it), so the drawing does not use our code.
#[test]
fn ellipses_of_known_ground_size_in_four_crs() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (400u32, 400u32);
    let cases = [
        // 1.7 m x 3.3 m pixels.
        ("wgs84_lat60", Crs::Geographic(4326), 10.0, 60.05, 3e-5),
        // 4 m of Web Mercator: 2 m on the ground at 60 N.
        (
            "webmerc_lat60",
            Crs::Projected(3857),
            1_113_194.9,
            8_399_737.9,
            4.0,
        ),
        // 2 degrees east of the central meridian: grid north is 1.6 degrees off true north.
        (
            "utm33n_off_meridian",
            Crs::Projected(32633),
            650_000.0,
            5_762_000.0,
            2.5,
        ),
        (
            "lambert93",
            Crs::Projected(2154),
            652_000.0,
            6_862_000.0,
            2.5,
        ),
    ];
    for (name, crs, x0, y0, px) in cases {
        let p = dir.path().join(format!("{name}.tif"));
        let geo = WriteGeoref {
            crs,
            origin_x: x0,
            origin_y: y0,
            pixel_x: px,
            pixel_y: px,
        };
        // An empty scene first, to measure the local ground map of each ship with GDAL.
        let opts = GeoTiffOptions {
            tile: 128,
            georef: Some(geo),
            ..Default::default()
        };
        write_geotiff_image(&p, w, h, &vec![0u16; (w * h) as usize], &opts).unwrap();
        let mut img = vec![0u16; (w * h) as usize];
        let mut jac = Vec::new();
        for s in &SHIPS {
            let ll = gdal_lonlat(&p, &[(s.x, s.y), (s.x + 1.0, s.y), (s.x, s.y + 1.0)]);
            let (mlat, mlon) = metres_per_degree(ll[0].1);
            // J: metres (east, north) per pixel (x, y).
            let j = [
                [(ll[1].0 - ll[0].0) * mlon, (ll[2].0 - ll[0].0) * mlon],
                [(ll[1].1 - ll[0].1) * mlat, (ll[2].1 - ll[0].1) * mlat],
            ];
            let (sh, ch) = s.heading.to_radians().sin_cos();
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = (x as f64 + 0.5 - s.x, y as f64 + 0.5 - s.y);
                    let (e, n) = (j[0][0] * dx + j[0][1] * dy, j[1][0] * dx + j[1][1] * dy);
                    let along = e * sh + n * ch;
                    let across = e * ch - n * sh;
                    if (along / (s.length / 2.0)).powi(2) + (across / (s.width / 2.0)).powi(2)
                        <= 1.0
                    {
                        img[(y * w + x) as usize] = 1000;
                    }
                }
            }
            // The coarsest ground size of a pixel here: the tolerance of a size.
            let gx = (j[0][0].powi(2) + j[1][0].powi(2)).sqrt();
            let gy = (j[0][1].powi(2) + j[1][1].powi(2)).sqrt();
            jac.push(gx.max(gy));
        }
        write_geotiff_image(&p, w, h, &img, &opts).unwrap();
        let mut src = open_source(&p, &ReadOptions::default()).unwrap();
        let g = src.georef().georef().unwrap().clone();
        assert_eq!(g.crs_name(), format!("EPSG:{}", crs.epsg()));
        let out = detect_source(
            &CpuEngine,
            src.as_mut(),
            &DetectOptions {
                threshold: ThresholdMode::Fixed(500.0),
                ..Default::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(out.detections.len(), 3, "{name}");
        let pts: Vec<(f64, f64)> = out.detections.iter().map(|d| (d.x, d.y)).collect();
        let want = gdal_lonlat(&p, &pts);
        for (d, (lon, lat)) in out.detections.iter().zip(want) {
            assert!(
                (d.lon.unwrap() - lon).abs() < TOL_DEG && (d.lat.unwrap() - lat).abs() < TOL_DEG,
                "{name}"
            );
            let (i, s) = SHIPS
                .iter()
                .enumerate()
                .min_by(|a, b| {
                    let da = (a.1.x - d.x).hypot(a.1.y - d.y);
                    let db = (b.1.x - d.x).hypot(b.1.y - d.y);
                    da.total_cmp(&db)
                })
                .unwrap();
            let pix = jac[i];
            let (l, wd, hd) = (
                d.length_m.unwrap(),
                d.width_m.unwrap(),
                d.heading_deg.unwrap(),
            );
            eprintln!("{name}: ship {i}: length {l:.2} (want {}), width {wd:.2} (want {}), heading {hd:.2} (want {}), pixel {pix:.2} m", s.length, s.width, s.heading);
            assert!(
                (l - s.length).abs() < pix,
                "{name} ship {i}: length {l} vs {}",
                s.length
            );
            assert!(
                (wd - s.width).abs() < pix,
                "{name} ship {i}: width {wd} vs {}",
                s.width
            );
            let dh = (hd - s.heading).rem_euclid(180.0);
            assert!(
                dh.min(180.0 - dh) < 1.5,
                "{name} ship {i}: heading {hd} vs {}",
                s.heading
            );
            // The oriented box is a rectangle of length x width on the ground.
            let c = d.obox_lonlat.unwrap();
            let (mlat, mlon) = metres_per_degree(c[0][1]);
            let side =
                |a: [f64; 2], b: [f64; 2]| ((b[0] - a[0]) * mlon).hypot((b[1] - a[1]) * mlat);
            let (s1, s2) = (side(c[0], c[1]), side(c[1], c[2]));
            assert!(
                (s1.max(s2) - l).abs() < 0.01 * l && (s1.min(s2) - wd).abs() < 0.02 * wd + 0.5,
                "{name}: box {s1} x {s2}"
            );
        }
    }
}

/// Files written by GDAL itself: PixelIsPoint, a rotated ModelTransformation, and a CRS only a
/// CRS library knows (EPSG:3035, LAEA Europe).
#[test]
fn gdal_written_point_rotated_and_laea() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.tif");
    let opts = GeoTiffOptions::default();
    write_geotiff_image(&base, 300, 200, &vec![7u16; 300 * 200], &opts).unwrap();
    let run = |args: &[&str]| {
        let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let b = base.to_str().unwrap();
    // PixelIsPoint, UTM 31N.
    let point = dir.path().join("point.tif");
    run(&[
        "gdal_translate",
        "-q",
        "-a_srs",
        "EPSG:32631",
        "-a_ullr",
        "500000",
        "5800000",
        "503000",
        "5798000",
        "-mo",
        "AREA_OR_POINT=Point",
        b,
        point.to_str().unwrap(),
    ]);
    // Rotated: a VRT with a rotated geotransform, translated to GeoTIFF (ModelTransformation).
    let vrt = dir.path().join("rot.vrt");
    run(&[
        "gdal_translate",
        "-q",
        "-of",
        "VRT",
        "-a_srs",
        "EPSG:32631",
        "-a_ullr",
        "0",
        "1",
        "1",
        "0",
        b,
        vrt.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&vrt).unwrap();
    let start = text.find("<GeoTransform>").expect("VRT has a geotransform");
    let end = text.find("</GeoTransform>").unwrap() + "</GeoTransform>".len();
    let text = format!(
        "{}<GeoTransform>500000, 8.660254, 5.0, 5800000, 5.0, -8.660254</GeoTransform>{}",
        &text[..start],
        &text[end..]
    );
    std::fs::write(&vrt, text).unwrap();
    let rot = dir.path().join("rot.tif");
    run(&[
        "gdal_translate",
        "-q",
        vrt.to_str().unwrap(),
        rot.to_str().unwrap(),
    ]);
    // LAEA Europe.
    let laea = dir.path().join("laea.tif");
    run(&[
        "gdal_translate",
        "-q",
        "-a_srs",
        "EPSG:3035",
        "-a_ullr",
        "4321000",
        "3210000",
        "4324000",
        "3208000",
        b,
        laea.to_str().unwrap(),
    ]);
    for (f, crs, source) in [
        (&point, "EPSG:32631", "ModelTiepoint+ModelPixelScale"),
        (&rot, "EPSG:32631", "ModelTransformation"),
        (&laea, "EPSG:3035", "ModelTiepoint+ModelPixelScale"),
    ] {
        let GeoStatus::Some(g) = georef_of(f) else {
            panic!("{f:?}: no georeferencing");
        };
        assert_eq!(g.crs_name(), crs);
        assert!(g.source.contains(source), "{f:?}: {}", g.source);
        assert_close(f, &g, &sample_points(300, 200));
    }
    // The file really is PixelIsPoint (its tiepoint is a pixel centre; GDAL and we both shift
    // it to the corner).
    let info = Command::new("gdalinfo").arg(&point).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("AREA_OR_POINT=Point"));
}

#[test]
fn unknown_crs_works_in_pixels_with_a_warning() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.tif");
    let mut img = vec![0u16; 64 * 64];
    img[20 * 64 + 20] = 1000;
    write_geotiff_image(&base, 64, 64, &img, &GeoTiffOptions::default()).unwrap();
    let odd = dir.path().join("odd.tif");
    let o = Command::new("gdal_translate")
        .args(["-q", "-a_srs", "+proj=tmerc +lat_0=0 +lon_0=13.3 +k=0.9999 +x_0=0 +y_0=0 +ellps=bessel +units=m +no_defs", "-a_ullr", "0", "1000", "640", "360"])
        .arg(&base)
        .arg(&odd)
        .output()
        .unwrap();
    assert!(o.status.success());
    let GeoStatus::Unusable(why) = georef_of(&odd) else {
        panic!("a user-defined CRS should be unusable");
    };
    assert!(why.contains("user-defined"), "{why}");
    let bin = env!("CARGO_BIN_EXE_vesselscan");
    let out = Command::new(bin)
        .args([
            "detect",
            "--backend",
            "cpu",
            "--threshold",
            "500",
            "--format",
            "csv",
        ])
        .arg(&odd)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("user-defined"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let out = Command::new(bin)
        .args([
            "detect",
            "--backend",
            "cpu",
            "--threshold",
            "500",
            "--format",
            "geojson",
        ])
        .arg(&odd)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("odd.tif") && err.contains("--format json or csv"),
        "{err}"
    );
    // A metre filter on a scene without ground size: a clear error too.
    let out = Command::new(bin)
        .args([
            "detect",
            "--backend",
            "cpu",
            "--threshold",
            "500",
            "--min-length-m",
            "20",
        ])
        .arg(&odd)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pixel-size-m"));
}

/// `detect --format geojson` on a Sentinel-2 port: GDAL reads every feature, at the positions
/// we wrote, and the detections inside a labelled ship's box lie inside that box on the map
/// (its corners taken to lon/lat by GDAL).
#[test]
fn geojson_opens_in_gdal_with_ships_where_the_labels_are() {
    let Some(shared) = shared_data() else { return };
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let city = "busan";
    let scene = shared.join(format!("sen2ships/{city}/{city}_B08.tif"));
    let out = dir.path().join("busan.geojson");
    let bin = env!("CARGO_BIN_EXE_vesselscan");
    let run = |format: &str, path: &Path, extra: &[&str]| {
        let o = Command::new(bin)
            .args(["detect", "--backend", "cpu", "--otsu", "--min-area", "3"])
            .args(["--format", format, "-o"])
            .arg(path)
            .args(extra)
            .arg(&scene)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run("geojson", &out, &[]);
    let json_out = dir.path().join("busan.json");
    run("json", &json_out, &[]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_out).unwrap()).unwrap();
    let dets = report["detections"].as_array().unwrap();
    assert_eq!(report["georef"]["crs"], "EPSG:3857");
    // ogrinfo: the feature count.
    let info = Command::new("ogrinfo")
        .args(["-ro", "-al", "-so"])
        .arg(&out)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains(&format!("Feature Count: {}", dets.len())),
        "{info}"
    );
    assert!(
        info.contains("Geometry: Point") && info.contains("EPSG\",4326"),
        "{info}"
    );
    // ogr2ogr: GDAL's reading of each point equals the lon/lat we report.
    let csv = Command::new("ogr2ogr")
        .args(["-f", "CSV", "/vsistdout/"])
        .arg(&out)
        .args(["-lco", "GEOMETRY=AS_XY"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&csv.stdout);
    let points: Vec<(f64, f64)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(points.len(), dets.len());
    for (p, d) in points.iter().zip(dets) {
        let (lon, lat) = (d["lon"].as_f64().unwrap(), d["lat"].as_f64().unwrap());
        assert!((p.0 - lon).abs() < 1e-9 && (p.1 - lat).abs() < 1e-9);
    }
    // Labelled ships: a detection whose centroid is in a label's box (pixels) is inside the
    // box's lon/lat extent too.
    let labels = std::fs::read_to_string(shared.join("sen2ships/ship_centers_latlon.csv")).unwrap();
    let mut matched = 0;
    for line in labels.lines().skip(1).filter(|l| l.starts_with("busan,")) {
        let f: Vec<f64> = line
            .split(',')
            .skip(2)
            .map(|v| v.parse().unwrap())
            .collect();
        let (bx, by, bw, bh) = (f[0], f[1], f[2], f[3]);
        let corners = gdal_lonlat(&scene, &[(bx, by), (bx + bw, by + bh)]);
        let (lon0, lon1) = (
            corners[0].0.min(corners[1].0),
            corners[0].0.max(corners[1].0),
        );
        let (lat0, lat1) = (
            corners[0].1.min(corners[1].1),
            corners[0].1.max(corners[1].1),
        );
        for (p, d) in points.iter().zip(dets) {
            let (x, y) = (d["x"].as_f64().unwrap(), d["y"].as_f64().unwrap());
            if x >= bx && x <= bx + bw && y >= by && y <= by + bh {
                assert!(
                    p.0 >= lon0 && p.0 <= lon1 && p.1 >= lat0 && p.1 <= lat1,
                    "{line}: detection at {p:?}"
                );
                matched += 1;
            }
        }
    }
    assert!(matched >= 20, "only {matched} labelled ships detected");
    // Boxes: closed counterclockwise rings of 5 positions, read by GDAL as polygons.
    let boxes = dir.path().join("boxes.geojson");
    run("geojson", &boxes, &["--geometry", "box"]);
    let info = Command::new("ogrinfo")
        .args(["-ro", "-al", "-so"])
        .arg(&boxes)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("Geometry: Polygon")
            && info.contains(&format!("Feature Count: {}", dets.len())),
        "{info}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&boxes).unwrap()).unwrap();
    for f in doc["features"].as_array().unwrap() {
        let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 5);
        assert_eq!(ring[0], ring[4]);
        let pts: Vec<(f64, f64)> = ring
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let area2: f64 = pts
            .windows(2)
            .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
            .sum();
        assert!(area2 > 0.0, "ring not counterclockwise: {ring:?}");
    }
}

/// A Sentinel-1 measurement TIFF inside its SAFE product is georeferenced by the annotation's
/// geolocation grid, not by the TIFF's placeholder tags; a grid of another size is refused.
#[test]
fn safe_measurement_uses_the_annotation_grid() {
    let Some(shared) = shared_data() else { return };
    let safe = std::fs::read_dir(shared.join("s1_grd_safe"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "SAFE"))
        .unwrap();
    let tiff = std::fs::read_dir(safe.join("measurement"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let GeoStatus::Some(g) = georef_of(&tiff) else {
        panic!("no georeferencing from the annotation");
    };
    assert!(
        g.source.starts_with("Sentinel-1 annotation"),
        "{}",
        g.source
    );
    // The first grid point: line 0, pixel 0 (the centre of the first pixel) in the XML.
    let (lon, lat) = g.lonlat(0.5, 0.5).unwrap();
    assert!((lat - 4.711702756724707e+01).abs() < 1e-12, "{lat}");
    assert!((lon - 1.243266946006738e+01).abs() < 1e-12, "{lon}");
    // Ground size of a pixel near the centre: 10 m GRD pixels, within 10 %: this grid lies on
    // the Alps, its points at heights of 25 to 2800 m, so lon/lat between them bend with the
    // terrain (at sea, height 0, the grid is smooth).
    let j = g.ground_jacobian(12894.0, 8342.0).unwrap();
    let (gx, gy) = (j[0][0].hypot(j[1][0]), j[0][1].hypot(j[1][1]));
    assert!(
        (gx - 10.0).abs() < 1.0 && (gy - 10.0).abs() < 1.0,
        "{gx} {gy}"
    );
    // The same product with an annotation for another image size: unusable, said why.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("X.SAFE");
    std::fs::create_dir_all(copy.join("measurement")).unwrap();
    std::fs::create_dir_all(copy.join("annotation")).unwrap();
    let name = tiff.file_stem().unwrap().to_string_lossy().into_owned();
    let m = copy.join("measurement").join(format!("{name}.tiff"));
    std::os::unix::fs::symlink(&tiff, &m).unwrap();
    let xml = std::fs::read_to_string(safe.join("annotation").join(format!("{name}.xml"))).unwrap();
    let xml = xml.replacen("<numberOfSamples>25788<", "<numberOfSamples>25787<", 1);
    std::fs::write(copy.join("annotation").join(format!("{name}.xml")), xml).unwrap();
    match georef_of(&m) {
        GeoStatus::Unusable(why) => assert!(why.contains("25787x16685"), "{why}"),
        s => panic!("{s:?}"),
    }
}

/// Many ModelTiepoints (ground control points, as Sentinel-1 GRD measurement TIFFs carry) are
/// interpolated over their grid: GDAL writes the GCPs, and on a GCP set taken from an affine
/// map both its polynomial fit and our bilinear grid reproduce the map.
#[test]
fn tiepoint_gcp_grid_agrees_with_gdal() {
    if !have_gdal() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.tif");
    write_geotiff_image(
        &base,
        300,
        200,
        &vec![3u16; 300 * 200],
        &GeoTiffOptions::default(),
    )
    .unwrap();
    let map = |px: f64, ln: f64| {
        (
            10.0 + 0.001 * px + 0.0002 * ln,
            55.0 - 0.0008 * ln + 0.0001 * px,
        )
    };
    let mut args: Vec<String> = vec!["-q".into(), "-a_srs".into(), "EPSG:4326".into()];
    for ln in [0.0, 80.0, 200.0] {
        for px in [0.0, 100.0, 170.0, 300.0] {
            let (lon, lat) = map(px, ln);
            args.extend(
                [
                    "-gcp",
                    &px.to_string(),
                    &ln.to_string(),
                    &lon.to_string(),
                    &lat.to_string(),
                ]
                .map(String::from),
            );
        }
    }
    let gcp = dir.path().join("gcp.tif");
    args.push(base.to_string_lossy().into_owned());
    args.push(gcp.to_string_lossy().into_owned());
    let o = Command::new("gdal_translate").args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let GeoStatus::Some(g) = georef_of(&gcp) else {
        panic!("GCP grid not read");
    };
    assert!(g.source.contains("12 GCPs"), "{}", g.source);
    let pts = sample_points(300, 200);
    assert_close(&gcp, &g, &pts);
    for (x, y) in pts {
        let (lon, lat) = g.lonlat(x, y).unwrap();
        let (wl, wt) = map(x, y);
        assert!((lon - wl).abs() < 1e-9 && (lat - wt).abs() < 1e-9);
    }
}
