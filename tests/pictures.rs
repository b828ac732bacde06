//! `detect --quicklook` and `--chips` end to end: sizes, boxes where the detections are, one
//! chip per detection, the same pictures for every backend and every window size, clear errors.

mod common;
use common::run;
use std::path::{Path, PathBuf};

fn sample() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/ssdd_001114.jpg")
        .to_string_lossy()
        .into_owned()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn quicklook_and_chips_of_a_sar_chip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ql = d.join("ql.png");
    let chips = d.join("chips");
    let json = d.join("out.json");
    let o = run(&[
        "detect",
        &sample(),
        "--backend",
        "cpu",
        "--min-area",
        "10",
        "--quicklook",
        ql.to_str().unwrap(),
        "--quicklook-width",
        "200",
        "--chips",
        chips.to_str().unwrap(),
        "-o",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let dets = report["detections"].as_array().unwrap();
    assert!(dets.len() >= 10);
    // 501 px wide, at most 200: factor 3, 167 x 93.
    let img = image::open(&ql).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (167, 93));
    let red = |p: &image::Rgb<u8>| p.0 == [255, 40, 40];
    assert!(img.pixels().any(red));
    // Every detection has its box drawn around it on the overview.
    for det in dets {
        let (x, y) = (
            det["x"].as_f64().unwrap() / 3.0,
            det["y"].as_f64().unwrap() / 3.0,
        );
        let near = (-4i64..=4).any(|dy| {
            (-4i64..=4).any(|dx| {
                let (px, py) = (x as i64 + dx, y as i64 + dy);
                px >= 0
                    && py >= 0
                    && px < 167
                    && py < 93
                    && red(img.get_pixel(px as u32, py as u32))
            })
        });
        assert!(near, "no box drawn near detection {}", det["id"]);
    }
    // Grey elsewhere: the scene, stretched.
    let grey = img
        .pixels()
        .filter(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2])
        .count();
    assert!(grey > 167 * 93 * 9 / 10);
    let names = files(&chips);
    let want: Vec<String> = (1..=dets.len()).map(|i| format!("{i:05}.png")).collect();
    assert_eq!(names, want);
    for n in &names {
        let c = image::open(chips.join(n)).unwrap().to_rgb8();
        assert!(c.width().max(c.height()) >= 64, "{n}: {:?}", c.dimensions());
        assert!(c.pixels().any(red), "{n}: no outline");
    }
    // No temporary files left.
    assert_eq!(files(d), ["chips", "out.json", "ql.png"]);
}

/// A generated GeoTIFF, read in windows of very different sizes, on every backend: the same
/// quicklook and the same chips, byte for byte.
#[test]
fn pictures_do_not_depend_on_windows_or_backend() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scene = d.join("scene.tif");
    let o = run(&[
        "synth",
        scene.to_str().unwrap(),
        "--width",
        "700",
        "--height",
        "900",
        "--vessels",
        "12",
        "--tile",
        "128",
        "--seed",
        "5",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut backends = vec!["cpu"];
    if common::gpu().is_some() {
        backends.push("gpu");
    }
    type Pictures = (Vec<u8>, Vec<(String, Vec<u8>)>);
    let mut first: Option<Pictures> = None;
    for backend in backends {
        for memory in ["1", "512"] {
            let tag = format!("{backend}_{memory}");
            let ql = d.join(format!("{tag}.png"));
            let chips: PathBuf = d.join(format!("chips_{tag}"));
            let o = run(&[
                "detect",
                scene.to_str().unwrap(),
                "--backend",
                backend,
                "--memory-mb",
                memory,
                "--threshold",
                "600",
                "--min-area",
                "6",
                "--quicklook",
                ql.to_str().unwrap(),
                "--quicklook-width",
                "300",
                "--chips",
                chips.to_str().unwrap(),
                "-o",
                d.join(format!("{tag}.json")).to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let got = (
                std::fs::read(&ql).unwrap(),
                files(&chips)
                    .into_iter()
                    .map(|n| {
                        let b = std::fs::read(chips.join(&n)).unwrap();
                        (n, b)
                    })
                    .collect::<Vec<_>>(),
            );
            assert!(got.1.len() >= 5, "{tag}: {} chips", got.1.len());
            match &first {
                None => first = Some(got),
                Some(f) => assert!(*f == got, "{tag}: pictures differ"),
            }
        }
    }
}

#[test]
fn a_quicklook_in_a_missing_folder_fails_before_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let ql = dir.path().join("nope/ql.png");
    let out = dir.path().join("out.json");
    let o = run(&[
        "detect",
        &sample(),
        "--backend",
        "cpu",
        "--quicklook",
        ql.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("ql.png") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!out.exists());
}
