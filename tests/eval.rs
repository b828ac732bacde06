//! `vesselscan eval` end to end through the binary: on the real SSDD, HRSID and sen2ships
//! annotations in `../shared/data` (or `$VESSELSCAN_SHARED_DATA`; skipped when absent) against
//! the binary's own `detect` outputs, checking the counts add up; on hand-made truth and
//! predictions with known answers; on a `vesselscan synth` scene and its truth; and the
//! one-line errors.

use serde_json::Value;
mod common;
use common::{ok, run as vs};

use std::path::{Path, PathBuf};

/// `vesselscan eval --truth T --pred P [extra] -o dir/eval.json`: the report and stderr.
fn eval(dir: &Path, truth: &Path, pred: &Path, extra: &[&str]) -> (Value, String) {
    let out_path = dir.join("eval.json");
    let _ = std::fs::remove_file(&out_path);
    let mut args: Vec<std::ffi::OsString> = vec![
        "eval".into(),
        "--truth".into(),
        truth.into(),
        "--pred".into(),
        pred.into(),
        "-o".into(),
        out_path.clone().into(),
    ];
    args.extend(extra.iter().map(Into::into));
    let err = ok(&vs(&args));
    let v: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    (v, err)
}

/// An error run: nonzero exit, one line on stderr naming `names`, no output file.
fn fails(dir: &Path, args: &[&std::ffi::OsStr], names: &str) -> String {
    let out_path = dir.join("never.json");
    let mut a: Vec<&std::ffi::OsStr> = args.to_vec();
    a.extend(["-o".as_ref(), out_path.as_os_str()]);
    let out = vs(&a);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "should fail: {args:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("vesselscan: "), "{err}");
    assert!(err.contains(names), "{err} should name {names}");
    assert!(!out_path.exists(), "no output file on error");
    err
}

fn u(v: &Value) -> usize {
    v.as_u64().expect("a count") as usize
}

/// Per image: tp + fn = truth, tp + fp = pred, one match per TP, the lists of FP and FN;
/// overall: the sums.
fn check_counts(r: &Value) {
    let (mut tp, mut fp, mut fn_, mut truth, mut pred) = (0, 0, 0, 0, 0);
    for im in r["images"].as_array().unwrap() {
        assert_eq!(u(&im["tp"]) + u(&im["fn"]), u(&im["truth"]), "{im}");
        assert_eq!(u(&im["tp"]) + u(&im["fp"]), u(&im["pred"]), "{im}");
        assert_eq!(im["matches"].as_array().unwrap().len(), u(&im["tp"]));
        assert_eq!(
            im["false_positive_ids"].as_array().unwrap().len(),
            u(&im["fp"])
        );
        assert_eq!(
            im["missed_truth_indexes"].as_array().unwrap().len(),
            u(&im["fn"])
        );
        tp += u(&im["tp"]);
        fp += u(&im["fp"]);
        fn_ += u(&im["fn"]);
        truth += u(&im["truth"]);
        pred += u(&im["pred"]);
    }
    let o = &r["overall"];
    assert_eq!(
        (
            u(&o["tp"]),
            u(&o["fp"]),
            u(&o["fn"]),
            u(&o["truth"]),
            u(&o["pred"])
        ),
        (tp, fp, fn_, truth, pred)
    );
    assert_eq!(u(&o["images"]), r["images"].as_array().unwrap().len());
    let names: Vec<&str> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["image"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "images sorted by name");
}

fn detections_in(pred_file: &Path) -> usize {
    let v: Value = serde_json::from_slice(&std::fs::read(pred_file).unwrap()).unwrap();
    v.get("detections")
        .or_else(|| v.get("features"))
        .and_then(Value::as_array)
        .unwrap()
        .len()
}

fn voc_objects(xml: &Path) -> usize {
    let text = std::fs::read_to_string(xml).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants()
        .filter(|n| n.has_tag_name("object"))
        .count()
}

#[test]
fn ssdd_counts_add_up() {
    let Some(root) = common::shared_data() else {
        return;
    };
    let ann = root.join("ssdd/Annotations");
    let mut jpgs: Vec<PathBuf> = std::fs::read_dir(root.join("ssdd/JPEGImages"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    jpgs.sort();
    let picked: Vec<PathBuf> = jpgs.into_iter().step_by(40).take(5).collect();
    assert_eq!(picked.len(), 5);
    let dir = tempfile::tempdir().unwrap();
    let preds = dir.path().join("preds");
    std::fs::create_dir(&preds).unwrap();
    for j in &picked {
        let stem = j.file_stem().unwrap().to_string_lossy();
        let out = preds.join(format!("{stem}.json"));
        ok(&vs(&[
            "detect".as_ref(),
            j.as_os_str(),
            "--backend".as_ref(),
            "cpu".as_ref(),
            "--min-area".as_ref(),
            "10".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ]));
    }
    let (r, err) = eval(dir.path(), &ann, &preds, &[]);
    check_counts(&r);
    assert_eq!(r["truth_format"], "pascal-voc");
    assert_eq!(r["match"]["criterion"], "center-in-box");
    let images = r["images"].as_array().unwrap();
    assert_eq!(images.len(), 5);
    let total_xml = std::fs::read_dir(&ann).unwrap().count();
    assert_eq!(
        r["unmatched_truth_images"].as_array().unwrap().len(),
        total_xml - 5
    );
    assert!(r["unmatched_pred_files"].as_array().unwrap().is_empty());
    for (im, j) in images.iter().zip(&picked) {
        let stem = j.file_stem().unwrap().to_string_lossy();
        assert_eq!(im["image"], format!("{stem}.jpg"));
        assert_eq!(
            u(&im["truth"]),
            voc_objects(&ann.join(format!("{stem}.xml")))
        );
        let pf = preds.join(format!("{stem}.json"));
        assert_eq!(u(&im["pred"]), detections_in(&pf));
        assert_eq!(im["pred_file"], pf.display().to_string());
    }
    assert!(
        err.contains("vesselscan: eval: 5 images, TP "),
        "summary on stderr: {err}"
    );
    assert!(err.contains("left out of the totals"), "{err}");
    // The detector finds most SSDD ships at this setting: a sanity floor, not a benchmark.
    assert!(
        r["overall"]["recall"].as_f64().unwrap() > 0.3,
        "{}",
        r["overall"]
    );

    // --all-images: every annotation file counts, the unmatched ones as misses only.
    let (all, _) = eval(dir.path(), &ann, &preds, &["--all-images"]);
    check_counts(&all);
    assert_eq!(u(&all["overall"]["images"]), total_xml);
    let objects: usize = std::fs::read_dir(&ann)
        .unwrap()
        .map(|e| voc_objects(&e.unwrap().path()))
        .sum();
    assert_eq!(u(&all["overall"]["truth"]), objects);
    assert_eq!(all["overall"]["tp"], r["overall"]["tp"]);
    assert_eq!(all["overall"]["fp"], r["overall"]["fp"]);
}

#[test]
fn hrsid_boxes_and_sen2ships_coco_match_their_scenes() {
    let Some(root) = common::shared_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // HRSID: the boxes JSON names "images/P0094_....png".
    let png = root.join("hrsid/images/P0094_0_800_3000_3800.png");
    let pred = dir.path().join("P0094.json");
    ok(&vs(&[
        "detect".as_ref(),
        png.as_os_str(),
        "--backend".as_ref(),
        "cpu".as_ref(),
        "--min-area".as_ref(),
        "5".as_ref(),
        "-o".as_ref(),
        pred.as_os_str(),
    ]));
    let (r, _) = eval(dir.path(), &root.join("hrsid/boxes.json"), &pred, &[]);
    check_counts(&r);
    assert_eq!(r["truth_format"], "boxes-json");
    assert_eq!(r["images"][0]["image"], "images/P0094_0_800_3000_3800.png");
    assert_eq!(u(&r["images"][0]["truth"]), 10);
    assert!(u(&r["overall"]["tp"]) > 0);

    // sen2ships: COCO's "busan_rgb.tiff" is the scene busan/busan_B08.tif (its `files`).
    let preds = dir.path().join("s2");
    std::fs::create_dir(&preds).unwrap();
    let tif = root.join("sen2ships/busan/busan_B08.tif");
    let out = preds.join("busan_B08.geojson");
    ok(&vs(&[
        "detect".as_ref(),
        tif.as_os_str(),
        "--backend".as_ref(),
        "cpu".as_ref(),
        "--threshold".as_ref(),
        "2000".as_ref(),
        "--min-area".as_ref(),
        "4".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]));
    let coco = root.join("sen2ships/coco_annotations.json");
    let (r, _) = eval(dir.path(), &coco, &preds, &[]);
    check_counts(&r);
    assert_eq!(r["truth_format"], "coco");
    assert_eq!(r["images"][0]["image"], "busan_rgb.tiff");
    assert_eq!(u(&r["images"][0]["pred"]), detections_in(&out));
    assert_eq!(r["unmatched_truth_images"].as_array().unwrap().len(), 11);
    // COCO boxes have no lon/lat.
    fails(
        dir.path(),
        &[
            "eval".as_ref(),
            "--truth".as_ref(),
            coco.as_os_str(),
            "--pred".as_ref(),
            preds.as_os_str(),
            "--tolerance-m".as_ref(),
            "100".as_ref(),
        ],
        "no lon/lat",
    );
}

// ---- hand-made truth and predictions --------------------------------------------------------

fn voc(filename: &str, boxes: &[[i64; 4]]) -> String {
    let mut s = format!("<annotation><filename>{filename}</filename>");
    for b in boxes {
        s += &format!(
            "<object><name>ship</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>",
            b[0], b[1], b[2], b[3]
        );
    }
    s + "</annotation>"
}

/// A `detect --format json` document: (x, y) per detection, ids 1.., optional scores.
fn pred_json(input: &str, dets: &[(f64, f64)], scores: &[Option<f64>]) -> String {
    let dets: Vec<Value> = dets
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| {
            let mut d = serde_json::json!({"id": i + 1, "x": x, "y": y, "area": 4,
                                            "lon": null, "lat": null});
            if let Some(Some(s)) = scores.get(i) {
                d["score"] = (*s).into();
            }
            d
        })
        .collect();
    serde_json::json!({"input": input, "width": 100, "height": 100, "detections": dets}).to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn known_answers_on_boxes() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let truth = write(
        dir,
        "truth/a.xml",
        &voc("a.jpg", &[[10, 10, 20, 20], [40, 40, 60, 50]]),
    );

    // Perfect.
    let p = write(
        dir,
        "p1/a.json",
        &pred_json("scenes/a.jpg", &[(15.0, 15.0), (50.0, 45.0)], &[]),
    );
    let (r, err) = eval(dir, &truth, &p, &[]);
    check_counts(&r);
    assert_eq!(
        (
            u(&r["overall"]["tp"]),
            u(&r["overall"]["fp"]),
            u(&r["overall"]["fn"])
        ),
        (2, 0, 0)
    );
    assert_eq!(f(&r["overall"]["f1"]), 1.0);
    assert_eq!(f(&r["mean_image_f1"]), 1.0);
    assert_eq!(r["images"][0]["matches"][1]["pred_id"], 2);
    assert_eq!(r["images"][0]["matches"][1]["truth_index"], 1);
    assert_eq!(f(&r["images"][0]["matches"][0]["distance_px"]), 0.0);
    assert!(
        err.contains("eval: 1 image, TP 2 FP 0 FN 0, precision 1.0000"),
        "{err}"
    );

    // One false positive (a centroid on a box's far edge is outside: half-open).
    let p = write(
        dir,
        "p2/a.json",
        &pred_json("a.jpg", &[(15.0, 15.0), (20.0, 15.0), (50.0, 45.0)], &[]),
    );
    let (r, _) = eval(dir, &truth, &p, &[]);
    check_counts(&r);
    assert_eq!((u(&r["overall"]["tp"]), u(&r["overall"]["fp"])), (2, 1));
    assert_eq!(r["images"][0]["false_positive_ids"], serde_json::json!([2]));
    assert!((f(&r["overall"]["precision"]) - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(f(&r["overall"]["recall"]), 1.0);

    // One false negative.
    let p = write(dir, "p3/a.json", &pred_json("a.jpg", &[(41.0, 49.5)], &[]));
    let (r, _) = eval(dir, &truth, &p, &[]);
    assert_eq!((u(&r["overall"]["tp"]), u(&r["overall"]["fn"])), (1, 1));
    assert_eq!(
        r["images"][0]["missed_truth_indexes"],
        serde_json::json!([0])
    );
    assert_eq!(f(&r["overall"]["recall"]), 0.5);
    assert!((f(&r["overall"]["f1"]) - 2.0 / 3.0).abs() < 1e-12);

    // A detection inside two overlapping boxes: the optimal matching gives it to the box that
    // leaves the other detection a partner (greedy nearest-centre would find only one).
    let truth2 = write(
        dir,
        "t2/b.xml",
        &voc("b.png", &[[0, 0, 10, 10], [6, 0, 30, 10]]),
    );
    let p = write(
        dir,
        "p4/b.json",
        &pred_json("b.png", &[(7.0, 5.0), (2.0, 5.0)], &[]),
    );
    let (r, _) = eval(dir, &truth2, &p, &[]);
    assert_eq!(u(&r["overall"]["tp"]), 2);
    let m = &r["images"][0]["matches"];
    assert_eq!(
        (&m[0]["pred_id"], &m[0]["truth_index"]),
        (&1.into(), &1.into())
    );
    assert_eq!(
        (&m[1]["pred_id"], &m[1]["truth_index"]),
        (&2.into(), &0.into())
    );
    assert_eq!(f(&m[0]["distance_px"]), 11.0);

    // --tolerance-px: pixel distance to the box centres.
    let p = write(dir, "p5/a.json", &pred_json("a.jpg", &[(18.0, 19.0)], &[]));
    let (r, _) = eval(dir, &truth, &p, &["--tolerance-px", "5"]);
    assert_eq!(u(&r["overall"]["tp"]), 1);
    assert_eq!(r["match"]["criterion"], "distance");
    assert_eq!(f(&r["match"]["tolerance_px"]), 5.0);
    assert!((f(&r["images"][0]["matches"][0]["distance_px"]) - 5.0).abs() < 1e-12);
    let (r, _) = eval(dir, &truth, &p, &["--tolerance-px", "4.9"]);
    assert_eq!(u(&r["overall"]["tp"]), 0);
}

#[test]
fn boxes_json_is_inclusive_and_coco_is_half_open() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // Inclusive [10, 19] covers [10, 20): 19.5 is in, 20.0 is out.
    let truth = write(
        dir,
        "boxes.json",
        r#"{"images": {"images/s.png": [[10, 10, 19, 19], [50, 50, 59, 59]]}}"#,
    );
    let p = write(
        dir,
        "p/s.json",
        &pred_json("s.png", &[(19.5, 19.5), (60.0, 55.0)], &[]),
    );
    let (r, _) = eval(dir, &truth, &p, &[]);
    assert_eq!((u(&r["overall"]["tp"]), u(&r["overall"]["fp"])), (1, 1));
    // COCO [x, y, w, h] = [10, 10, 10, 10] covers [10, 20): 19.5 in, 20 out; the image
    // `busan_rgb.tiff` goes with a scene `busan_B08.tif` by the band-suffix rule.
    let coco = write(
        dir,
        "coco.json",
        r#"{"images": [{"id": 1, "file_name": "busan_rgb.tiff"}],
            "annotations": [{"image_id": 1, "bbox": [10, 10, 10, 10]},
                            {"image_id": 1, "bbox": [50, 50, 10, 10]}]}"#,
    );
    let p = write(
        dir,
        "q/busan_B08.json",
        &pred_json(
            "sen2ships/busan/busan_B08.tif",
            &[(19.5, 19.5), (60.0, 55.0)],
            &[],
        ),
    );
    let (r, _) = eval(dir, &coco, &p, &[]);
    assert_eq!(r["images"][0]["image"], "busan_rgb.tiff");
    assert_eq!((u(&r["overall"]["tp"]), u(&r["overall"]["fp"])), (1, 1));
}

#[test]
fn folders_unmatched_images_and_min_score() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let truth = dir.join("ann");
    write(
        dir,
        "ann/a.xml",
        &voc("a.jpg", &[[0, 0, 10, 10], [20, 20, 30, 30]]),
    );
    write(dir, "ann/b.xml", &voc("b.jpg", &[[0, 0, 10, 10]]));
    write(dir, "ann/c.xml", &voc("c.jpg", &[]));
    // Scores: 0.9 (a hit), 0.2 (a hit, dropped by --min-score 0.5), none (a miss, kept).
    write(
        dir,
        "preds/x/a.json",
        &pred_json(
            "a.jpg",
            &[(5.0, 5.0), (25.0, 25.0), (80.0, 80.0)],
            &[Some(0.9), Some(0.2), None],
        ),
    );
    write(dir, "preds/summary.json", r#"{"files": []}"#);
    write(
        dir,
        "preds/zzz.json",
        &pred_json("zzz.jpg", &[(1.0, 1.0)], &[]),
    );
    let preds = dir.join("preds");

    let (r, err) = eval(dir, &truth, &preds, &[]);
    check_counts(&r);
    assert_eq!(u(&r["overall"]["images"]), 1);
    assert_eq!(
        r["unmatched_truth_images"],
        serde_json::json!(["b.jpg", "c.jpg"])
    );
    assert_eq!(
        r["unmatched_pred_files"],
        serde_json::json!([preds.join("zzz.json").display().to_string()])
    );
    assert_eq!((u(&r["overall"]["tp"]), u(&r["overall"]["fp"])), (2, 1));
    assert!(err.contains("skipped 1 JSON file"), "{err}");
    assert!(
        err.contains("2 truth images have no prediction file"),
        "{err}"
    );

    let (r, _) = eval(dir, &truth, &preds, &["--min-score", "0.5"]);
    assert_eq!(
        (
            u(&r["overall"]["tp"]),
            u(&r["overall"]["fp"]),
            u(&r["overall"]["fn"])
        ),
        (1, 1, 1)
    );
    assert_eq!(f(&r["min_score"]), 0.5);

    // --all-images: b's box is a miss, c (no truth, no detections) scores 1.
    let (r, _) = eval(dir, &truth, &preds, &["--all-images"]);
    check_counts(&r);
    assert_eq!(u(&r["overall"]["images"]), 3);
    assert_eq!(u(&r["overall"]["fn"]), 1);
    let c = &r["images"][2];
    assert_eq!(c["image"], "c.jpg");
    assert_eq!(c["pred_file"], Value::Null);
    assert_eq!(
        (f(&c["precision"]), f(&c["recall"]), f(&c["f1"])),
        (1.0, 1.0, 1.0)
    );
    let b = &r["images"][1];
    assert_eq!(
        (f(&b["precision"]), f(&b["recall"]), f(&b["f1"])),
        (1.0, 0.0, 0.0)
    );
    let mean = (f(&r["images"][0]["f1"]) + 0.0 + 1.0) / 3.0;
    assert!((f(&r["mean_image_f1"]) - mean).abs() < 1e-12);

    // Without -o the report goes to stdout.
    let out = vs(&[
        "eval".as_ref(),
        "--truth".as_ref(),
        truth.as_os_str(),
        "--pred".as_ref(),
        preds.as_os_str(),
    ]);
    ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(u(&v["overall"]["images"]), 1);
}

/// A `detect --format geojson` document: [lon, lat] per detection.
fn pred_geojson(dets: &[[f64; 2]]) -> String {
    let features: Vec<Value> = dets
        .iter()
        .enumerate()
        .map(|(i, ll)| {
            serde_json::json!({"type": "Feature", "id": i + 1,
                "geometry": {"type": "Point", "coordinates": ll},
                "properties": {"id": i + 1, "x": 1.0, "y": 1.0, "lon": ll[0], "lat": ll[1]}})
        })
        .collect();
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

#[test]
fn distance_in_metres_on_lon_lat() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // Two ships; detections 0.001 deg of latitude (111.2 m) from the first, 300 m from the
    // second, and one near nothing.
    let truth = write(
        dir,
        "truth.geojson",
        r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.0, 52.0]},
             "properties": {"image": "s1_scene_vv.tif"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [3.1, 52.0]},
             "properties": {"image": "s1_scene_vv.tif"}}]}"#,
    );
    let lat300 = 52.0 + (300.0f64 / 6_371_008.8).to_degrees();
    let p = write(
        dir,
        "p/s1_scene_vv.geojson",
        &pred_geojson(&[[3.0, 52.001], [3.1, lat300], [4.0, 50.0]]),
    );
    let (r, err) = eval(dir, &truth, &p, &[]);
    check_counts(&r);
    assert_eq!(r["truth_format"], "geojson");
    assert_eq!(r["match"]["criterion"], "distance");
    assert_eq!(f(&r["match"]["tolerance_m"]), 200.0);
    assert_eq!(
        (
            u(&r["overall"]["tp"]),
            u(&r["overall"]["fp"]),
            u(&r["overall"]["fn"])
        ),
        (1, 2, 1)
    );
    let m = &r["images"][0]["matches"][0];
    let expected = 0.001f64.to_radians() * 6_371_008.8;
    assert!((f(&m["distance_m"]) - expected).abs() < 1e-6, "{m}");
    assert!(m.get("distance_px").is_none());
    assert!(err.contains("TP 1 FP 2 FN 1"), "{err}");
    // A wider tolerance takes the second ship too.
    let (r, _) = eval(dir, &truth, &p, &["--tolerance-m", "300.001"]);
    assert_eq!(u(&r["overall"]["tp"]), 2);
    let (r, _) = eval(
        dir,
        &truth,
        &p,
        &["--match", "distance", "--tolerance-m", "100"],
    );
    assert_eq!(u(&r["overall"]["tp"]), 0);
}

#[test]
fn synth_scene_against_its_truth() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let scene = dir.join("scene.tif");
    ok(&vs(&[
        "synth".as_ref(),
        scene.as_os_str(),
        "--width".as_ref(),
        "768".as_ref(),
        "--height".as_ref(),
        "768".as_ref(),
        "--vessels".as_ref(),
        "6".as_ref(),
        "--land".as_ref(),
        "0".as_ref(),
    ]));
    let det = dir.join("scene.json");
    ok(&vs(&[
        "detect".as_ref(),
        scene.as_os_str(),
        "--backend".as_ref(),
        "cpu".as_ref(),
        "--threshold".as_ref(),
        "400".as_ref(),
        "--min-area".as_ref(),
        "4".as_ref(),
        "-o".as_ref(),
        det.as_os_str(),
    ]));
    let truth = dir.join("scene.truth.geojson");
    // Points without image names go with the one prediction file; the truth file lying in the
    // prediction folder is not read as predictions.
    for pred in [det.as_path(), dir] {
        let (r, _) = eval(dir, &truth, pred, &[]);
        check_counts(&r);
        assert_eq!(u(&r["overall"]["truth"]), 6);
        assert_eq!(f(&r["overall"]["recall"]), 1.0, "{}", r["overall"]);
        assert_eq!(r["images"][0]["image"], scene.display().to_string());
    }
    // Synth truth has pixel centres and boxes too.
    let (r, _) = eval(dir, &truth, &det, &["--tolerance-px", "3"]);
    assert_eq!(f(&r["overall"]["recall"]), 1.0, "{}", r["overall"]);
    let (r, _) = eval(dir, &truth, &det, &["--match", "center-in-box"]);
    assert_eq!(f(&r["overall"]["recall"]), 1.0, "{}", r["overall"]);
}

#[test]
fn errors_are_one_line_and_leave_no_output() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let good_pred = write(dir, "a.json", &pred_json("a.jpg", &[(1.0, 1.0)], &[]));
    let good_truth = write(dir, "t/a.xml", &voc("a.jpg", &[[0, 0, 4, 4]]));
    let e = |truth: &Path, pred: &Path, extra: &[&str], names: &str| {
        let mut a: Vec<&std::ffi::OsStr> = vec![
            "eval".as_ref(),
            "--truth".as_ref(),
            truth.as_os_str(),
            "--pred".as_ref(),
            pred.as_os_str(),
        ];
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        fails(dir, &a, names)
    };
    // Missing files.
    let missing = dir.join("nope.xml");
    e(&missing, &good_pred, &[], "nope.xml");
    e(&good_truth, &dir.join("nope.json"), &[], "nope.json");
    // Malformed XML.
    let bad = write(dir, "bad.xml", "<annotation><object><bndbox><xmin>1</xmin>");
    let err = e(&bad, &good_pred, &[], "bad.xml");
    assert!(err.contains("malformed XML"), "{err}");
    // A box that is not numbers.
    let bad = write(
        dir,
        "nan.xml",
        "<annotation><object><bndbox><xmin>x</xmin></bndbox></object></annotation>",
    );
    e(
        &bad,
        &good_pred,
        &[],
        "nan.xml: object 1: <xmin> is not a number",
    );
    // A folder without annotations.
    std::fs::create_dir(dir.join("empty")).unwrap();
    let err = e(&dir.join("empty"), &good_pred, &[], "empty");
    assert!(err.contains("no PASCAL VOC annotations"), "{err}");
    // Malformed prediction JSON.
    let bad = write(dir, "p/bad.json", "{\"detections\": [");
    let err = e(&good_truth, &bad, &[], "bad.json");
    assert!(err.contains("malformed JSON"), "{err}");
    // Nothing matches by name.
    let other = write(dir, "q/other.json", &pred_json("other.jpg", &[], &[]));
    let err = e(&good_truth, &other, &[], "other.json");
    assert!(err.contains("no prediction file matches"), "{err}");
    // Metres need lon/lat.
    let err = e(&good_truth, &good_pred, &["--tolerance-m", "50"], "a.xml");
    assert!(
        err.contains("PASCAL VOC boxes are in pixels, with no lon/lat"),
        "{err}"
    );
    // Contradictory options.
    e(
        &good_truth,
        &good_pred,
        &["--match", "center-in-box", "--tolerance-px", "3"],
        "--match distance",
    );
    // Two prediction files for one image.
    write(dir, "two/a.json", &pred_json("a.jpg", &[], &[]));
    write(dir, "two/a.geojson", &pred_geojson(&[]));
    let err = e(&good_truth, &dir.join("two"), &[], "a.json");
    assert!(err.contains("give one prediction file per image"), "{err}");
}
