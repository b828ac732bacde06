//! The binary end to end: identical output across backends and tile sizes, one-line errors on
//! bad input with no partial output, stdout and file output, `adapters`.

mod common;
use common::{bin, data, run};
use std::path::Path;
use std::process::{Command, Output};

/// The JSON without the two provenance fields (`backend`, `adapter`), which name the backend.
fn strip_provenance(json: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(json).expect("valid JSON");
    let o = v.as_object_mut().unwrap();
    assert!(o.remove("backend").is_some());
    assert!(o.remove("adapter").is_some());
    v
}

fn backends() -> Vec<&'static str> {
    if common::gpu().is_some() {
        vec!["cpu", "gpu"]
    } else {
        vec!["cpu"]
    }
}

#[test]
fn identical_output_for_every_backend_and_tile_size() {
    let dir = tempfile::tempdir().unwrap();
    // Each with its automatic preset (SAR: the censored CFAR; optical: CFAR in the automatic
    // water mask), the optical one without its score cut so it has detections to compare.
    for (sample, extra) in [
        ("ssdd_001114.jpg", &[][..]),
        ("sen2ships_casablanca_B08.tif", &["--min-score", "0"][..]),
    ] {
        let input = data(sample);
        let mut first_json: Option<serde_json::Value> = None;
        let mut first_csv: Option<Vec<u8>> = None;
        for be in backends() {
            for tile in ["64", "257", "1024", "2048"] {
                let j = dir.path().join(format!("{be}-{tile}.json"));
                let c = dir.path().join(format!("{be}-{tile}.csv"));
                let args = [
                    &[
                        "detect",
                        input.to_str().unwrap(),
                        "--backend",
                        be,
                        "--tile-size",
                        tile,
                    ][..],
                    extra,
                ]
                .concat();
                let o = run(&[&args[..], &["-o", j.to_str().unwrap()]].concat());
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let o = run(&[&args[..], &["-o", c.to_str().unwrap()]].concat());
                assert!(o.status.success());
                let json = std::fs::read(&j).unwrap();
                let raw: serde_json::Value = serde_json::from_slice(&json).unwrap();
                assert_eq!(raw["backend"], be);
                let v = strip_provenance(&json);
                assert!(
                    !v["detections"].as_array().unwrap().is_empty(),
                    "{sample}: no detections"
                );
                let csv = std::fs::read(&c).unwrap();
                match (&first_json, &first_csv) {
                    (Some(fj), Some(fc)) => {
                        assert_eq!(&v, fj, "{sample} {be} tile {tile}");
                        assert_eq!(&csv, fc, "{sample} {be} tile {tile}: CSV differs");
                    }
                    _ => {
                        first_json = Some(v);
                        first_csv = Some(csv);
                    }
                }
            }
        }
    }
}

#[test]
fn json_to_stdout_has_the_documented_shape() {
    let o = run(&[
        "detect",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--backend",
        "cpu",
        "--threshold",
        "200",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in [
        "input",
        "width",
        "height",
        "band",
        "backend",
        "adapter",
        "params",
        "detections",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["width"], 501);
    assert_eq!(v["params"]["threshold"], 200.0);
    let d = &v["detections"][0];
    for k in ["id", "x", "y", "bbox", "area", "sum", "max", "mean"] {
        assert!(d.get(k).is_some(), "detection lacks {k}");
    }
    // Raster order of first pixels: bbox y0 never decreases by more than the object height.
    let ids: Vec<u64> = v["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    // Stderr names what was chosen.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("threshold fixed 200"), "{err}");
    // Area filters.
    let o2 = run(&[
        "detect",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--backend",
        "cpu",
        "--threshold",
        "200",
        "--min-area",
        "20",
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8(o2.stdout).unwrap();
    for line in csv.lines().skip(1) {
        let area: u64 = line.split(',').nth(7).unwrap().parse().unwrap();
        assert!(area >= 20);
    }
}

#[test]
fn without_flags_each_input_gets_its_preset() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = |input: &Path, extra: &[&str]| {
        let o = run(&[
            &["detect", input.to_str().unwrap(), "--backend", "cpu"][..],
            extra,
        ]
        .concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    // An 8-bit SAR chip: SAR.
    let err = stderr(&data("ssdd_001114.jpg"), &[]);
    assert!(err.contains("preset sar (auto: 8-bit samples)"), "{err}");
    assert!(err.contains("censored"), "{err}");
    // A Sentinel-2 near-infrared band: optical, by its name (B08) ...
    let s2 = data("sen2ships_casablanca_B08.tif");
    let err = stderr(&s2, &[]);
    assert!(err.contains("preset optical (auto: file name)"), "{err}");
    assert!(err.contains("water mask auto"), "{err}");
    // ... and by its smooth water when the name says nothing.
    let anon = dir.path().join("scene.tif");
    std::fs::copy(&s2, &anon).unwrap();
    let err = stderr(&anon, &[]);
    assert!(err.contains("preset optical (auto: speckle)"), "{err}");
    // A SAR amplitude scene whose name says nothing and whose speckle reads like smooth water
    // (4.4-look amplitude: coefficient of variation about 0.25): SAR, by the ImageDescription
    // `vesselscan synth` writes.
    let synth = dir.path().join("anything.tif");
    let o = run(&[
        "synth",
        "--width",
        "256",
        "--height",
        "256",
        synth.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = stderr(&synth, &[]);
    assert!(
        err.contains("preset sar (auto: image description)"),
        "{err}"
    );
    // A method flag: no preset, the flag's method.
    let err = stderr(&data("ssdd_001114.jpg"), &["--sigma", "5"]);
    assert!(
        err.contains("threshold mean_std") && !err.contains("preset"),
        "{err}"
    );
    // --preset auto with a method flag: the preset, the flag winning.
    let err = stderr(&anon, &["--preset", "auto", "--cfar", "4"]);
    assert!(
        err.contains("preset optical") && err.contains("CFAR k 4 "),
        "{err}"
    );
    // --preset none: the plain default threshold.
    let err = stderr(&data("ssdd_001114.jpg"), &["--preset", "none"]);
    assert!(
        err.contains("threshold mean_std") && !err.contains("preset"),
        "{err}"
    );
}

/// A bad input: non-zero exit, one line on stderr naming the file, no output file, no panic.
fn assert_clean_failure(input: &Path, extra: &[&str], expect: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let o = run(&[
        &[
            "detect",
            input.to_str().unwrap(),
            "--backend",
            "cpu",
            "-o",
            out.to_str().unwrap(),
        ],
        extra,
    ]
    .concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{input:?} should fail");
    assert_eq!(o.status.code(), Some(1));
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(
        lines[0].contains(&*input.to_string_lossy()),
        "names the file: {err}"
    );
    assert!(
        lines[0].to_lowercase().contains(expect),
        "says {expect:?}: {err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "left a file behind"
    );
}

#[test]
fn bad_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // Missing file.
    assert_clean_failure(&dir.path().join("nope.tif"), &[], "no such file");
    // Truncated TIFF.
    let tif = std::fs::read(data("sen2ships_casablanca_B08.tif")).unwrap();
    let cut = dir.path().join("cut.tif");
    std::fs::write(&cut, &tif[..tif.len() / 3]).unwrap();
    assert_clean_failure(&cut, &[], "");
    // Band out of range.
    assert_clean_failure(
        &data("sen2ships_casablanca_B08.tif"),
        &["--band", "2"],
        "band 2",
    );
    // Not an image.
    let txt = dir.path().join("notes.tif");
    std::fs::write(&txt, "hello").unwrap();
    assert_clean_failure(&txt, &[], "not a tiff");
    // Unsupported sample format: a 64-bit float TIFF made with the tiff crate.
    let f64tif = dir.path().join("f64.tif");
    {
        let f = std::fs::File::create(&f64tif).unwrap();
        let mut enc = tiff::encoder::TiffEncoder::new(f).unwrap();
        enc.write_image::<tiff::encoder::colortype::Gray64Float>(4, 3, &[0.5f64; 12])
            .unwrap();
    }
    assert_clean_failure(&f64tif, &[], "f64");
}

#[test]
fn missing_output_folder_fails_before_the_work() {
    let o = run(&[
        "detect",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--backend",
        "cpu",
        "-o",
        "/no/such/folder/out.json",
    ]);
    assert_eq!(o.status.code(), Some(2), "the run could not start");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("/no/such/folder/out.json: output folder /no/such/folder does not exist"),
        "{err}"
    );
    assert!(
        !err.contains("detections"),
        "ran the detection first: {err}"
    );
}

#[test]
fn bad_options_fail_cleanly() {
    let o = run(&[
        "detect",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--tile-size",
        "0",
    ]);
    assert!(!o.status.success());
    let o = run(&[
        "detect",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--backend",
        "cpu",
        "--min-area",
        "9",
        "--max-area",
        "3",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "bad options: the run could not start"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--min-area"));
    let o = run(&[
        "detect",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--backend",
        "gpu",
        "--adapter",
        "no-such-gpu-xyz",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "no adapter: the run could not start"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-gpu-xyz"));
}

/// Factors out of range are refused by the parser, before any work: a --suppress-inside of
/// 1e12 grew the suppression's buckets without bound (24 GB, killed).
#[test]
fn out_of_range_factors_are_refused() {
    for f in ["1e12", "-1", "nan", "inf"] {
        let o = run(&[
            "detect",
            data("ssdd_001114.jpg").to_str().unwrap(),
            "--backend",
            "cpu",
            &format!("--suppress-inside={f}"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{f}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--suppress-inside") && err.contains("not a factor in [0, 100]"),
            "{f}: {err}"
        );
    }
    // The same for fractions and sizes.
    for (flag, v, says) in [
        ("--min-score", "2", "not a fraction in [0, 1]"),
        ("--cfar-min-ring", "1.5", "not a fraction in [0, 1]"),
        ("--min-length-m", "-1", "not a number >= 0"),
        ("--max-width-m", "nan", "not a number >= 0"),
        ("--shore-buffer-m", "-inf", "not a number >= 0"),
        ("--min-aspect", "-2", "not a number >= 0"),
    ] {
        let o = run(&[
            "detect",
            data("ssdd_001114.jpg").to_str().unwrap(),
            "--backend",
            "cpu",
            &format!("{flag}={v}"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{flag} {v}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(flag) && err.contains(says),
            "{flag} {v}: {err}"
        );
    }
}

#[test]
fn adapters_lists_json() {
    let o = run(&["adapters"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let list = v.as_array().unwrap();
    if common::gpu().is_some() {
        assert!(!list.is_empty());
        for k in ["name", "backend", "device_type", "driver", "limits"] {
            assert!(list[0].get(k).is_some(), "adapter lacks {k}");
        }
        assert!(
            list[0]["limits"]["max_storage_buffer_binding_size"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
}

/// Stderr lines, without lavapipe's harmless XDG_RUNTIME_DIR notice.
fn err_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn unreadable_paths_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where a file is expected.
    let folder = dir.path().join("scene.tif");
    std::fs::create_dir(&folder).unwrap();
    assert_clean_failure(&folder, &[], "directory");
    // A dangling symbolic link.
    let link = dir.path().join("gone.tif");
    std::os::unix::fs::symlink(dir.path().join("deleted.tif"), &link).unwrap();
    assert_clean_failure(&link, &[], "no such file");
    // A file without read permission (root reads anything, so only as another user).
    let locked = dir.path().join("locked.tif");
    std::fs::copy(data("sen2ships_casablanca_B08.tif"), &locked).unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    if std::fs::File::open(&locked).is_err() {
        assert_clean_failure(&locked, &[], "permission denied");
    }
}

/// Special files as input: a FIFO (which blocked `detect` forever, waiting for a writer),
/// a character device and a socket each get a one-line error naming them, at once.
#[test]
fn special_files_fail_cleanly_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("scene.tif");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let sock = dir.path().join("scene.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let null = Path::new("/dev/null");
    for (input, says) in [
        (fifo.as_path(), "fifo"),
        (sock.as_path(), "socket"),
        (null, "character device"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let mut child = bin()
            .args(["detect", "--backend", "cpu", "-o"])
            .arg(out.path().join("out.json"))
            .arg(input)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > std::time::Duration::from_secs(30) {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("{input:?}: still running after 30 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{input:?}");
        let lines = err_lines(&o);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains(&*input.to_string_lossy())
                && lines[0].to_lowercase().contains(says)
                && lines[0].contains("not a regular file"),
            "{lines:?}"
        );
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
    // The shared check, for callers that list folders.
    let e = vesselscan::read::check_regular_file(&fifo).unwrap_err();
    assert!(e.to_string().contains("FIFO"), "{e}");
    assert!(vesselscan::read::check_regular_file(&data("ssdd_001114.jpg")).is_ok());
}

/// Blank scenes (constant, all NaN, all infinite, all nodata, one pixel) under the default
/// preset and the optical one (its automatic water mask): no detection and exit 0 (the mask
/// failed with "auto water mask: the 64x64 band has a single value", naming no file).
#[test]
fn blank_scenes_give_no_detections() {
    use vesselscan::write::geotiff::{write_geotiff_image, GeoTiffOptions};
    let dir = tempfile::tempdir().unwrap();
    let n = 64 * 64;
    let nodata = GeoTiffOptions {
        nodata: Some(0.0),
        ..Default::default()
    };
    let plain = GeoTiffOptions::default();
    let mut scenes = Vec::new();
    let mut add = |name: &str, f: &dyn Fn(&Path)| {
        let p = dir.path().join(name);
        f(&p);
        scenes.push(p);
    };
    add("constant_u16.tif", &|p| {
        write_geotiff_image(p, 64, 64, &vec![500u16; n], &plain).unwrap();
    });
    add("constant_f32.tif", &|p| {
        write_geotiff_image(p, 64, 64, &vec![0.25f32; n], &plain).unwrap();
    });
    add("nan.tif", &|p| {
        write_geotiff_image(p, 64, 64, &vec![f32::NAN; n], &plain).unwrap();
    });
    add("inf.tif", &|p| {
        write_geotiff_image(p, 64, 64, &vec![f32::INFINITY; n], &plain).unwrap();
    });
    add("minus_inf.tif", &|p| {
        write_geotiff_image(p, 64, 64, &vec![f32::NEG_INFINITY; n], &plain).unwrap();
    });
    add("nodata.tif", &|p| {
        write_geotiff_image(p, 64, 64, &vec![0u16; n], &nodata).unwrap();
    });
    add("one_pixel.tif", &|p| {
        write_geotiff_image(p, 1, 1, &[700u16], &plain).unwrap();
    });
    for scene in &scenes {
        for preset in [&[][..], &["--preset", "optical"][..]] {
            let o = run(&[
                &[
                    "detect",
                    scene.to_str().unwrap(),
                    "--backend",
                    "cpu",
                    "--format",
                    "csv",
                ][..],
                preset,
            ]
            .concat());
            assert!(
                o.status.success(),
                "{scene:?} {preset:?}: {:?}",
                err_lines(&o)
            );
            let out = String::from_utf8_lossy(&o.stdout);
            assert_eq!(out.lines().count(), 1, "{scene:?} {preset:?}: {out}");
        }
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_leaves_no_partial_file() {
    let input = data("ssdd_001114.jpg");
    // stdout on a full device (ENOSPC).
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {} detect {} --backend cpu > /dev/full",
            env!("CARGO_BIN_EXE_vesselscan"),
            input.display()
        ))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let lines = err_lines(&o);
    let last = lines.last().expect("an error line");
    assert!(
        last.contains("<stdout>") && last.contains("No space left"),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("panicked")), "{lines:?}");

    // A file system that takes no more bytes: a file size limit of 0 (EFBIG on the first
    // write, SIGXFSZ ignored), for detect -o and for batch.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let limited = |args: String| {
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "trap '' XFSZ; ulimit -f 0; exec {} {args}",
                env!("CARGO_BIN_EXE_vesselscan")
            ))
            .output()
            .unwrap()
    };
    let o = limited(format!(
        "detect {} --backend cpu -o {}",
        input.display(),
        out.display()
    ));
    assert_eq!(o.status.code(), Some(1));
    let lines = err_lines(&o);
    let last = lines.last().expect("an error line");
    assert!(
        last.contains(&*out.to_string_lossy()) && last.contains("File too large"),
        "{lines:?}"
    );
    assert!(
        !last.contains(".vesselscan-"),
        "names the temporary file: {last}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "left a file"
    );

    let outdir = dir.path().join("batch");
    std::fs::create_dir(&outdir).unwrap();
    let o = limited(format!(
        "batch {} -o {} --backend cpu",
        input.display(),
        outdir.display()
    ));
    assert_eq!(o.status.code(), Some(1));
    let lines = err_lines(&o);
    assert!(
        lines.iter().any(|l| l.contains("File too large")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("panicked")), "{lines:?}");
    assert_eq!(
        std::fs::read_dir(&outdir).unwrap().count(),
        0,
        "left a partial output or summary"
    );
}

/// `-o /dev/null`, `/dev/stdout` or a named pipe is written in place: the atomic rename would
/// replace the device or pipe with a file (as root it would replace /dev/null). Tested on a
/// FIFO in a temporary folder; `synth` refuses one.
#[cfg(unix)]
#[test]
fn output_to_a_pipe_is_written_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let ok = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success());
    let reader = {
        let f = fifo.clone();
        std::thread::spawn(move || std::fs::read(f).unwrap())
    };
    let ql = dir.path().join("ql.png");
    let o = run(&[
        "detect",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--backend",
        "cpu",
        "--format",
        "csv",
        "-o",
        fifo.to_str().unwrap(),
        "--quicklook",
        ql.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = reader.join().unwrap();
    assert!(String::from_utf8(got).unwrap().starts_with("id,x,y,"));
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    assert!(ql.is_file());
    // A GeoTIFF cannot be streamed into a pipe: a clear error, the pipe left alone.
    let o = run(&[
        "synth",
        fifo.to_str().unwrap(),
        "--width",
        "256",
        "--height",
        "256",
        "--vessels",
        "1",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a regular file"), "{err}");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn presets_set_defaults_that_explicit_flags_override() {
    let chip = data("ssdd_001114.jpg");
    let chip = chip.to_str().unwrap();
    // `detect CHIP --backend cpu` with `flags`, its JSON.
    let json = |flags: &[&str]| -> serde_json::Value {
        let o = run(&[&["detect", chip, "--backend", "cpu"][..], flags].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let sar = json(&["--preset", "sar"]);
    let p = &sar["params"];
    assert_eq!(p["threshold_method"], "none");
    assert_eq!(p["cfar"]["k"], 3.5);
    assert_eq!(p["cfar"]["censor_k"], 3.0);
    assert_eq!(p["cfar"]["censor_grow_px"], 2);
    assert_eq!(p["cfar"]["guard_px"], 21);
    assert_eq!(p["cfar"]["background_px"], 151);
    assert_eq!(p["min_area"], 20);
    assert_eq!(p["max_area"], 3000);
    assert_eq!(p["preset"]["preset"], "sar");
    assert_eq!(p["preset"]["by"], "--preset");
    let dets = sar["detections"].as_array().unwrap();
    assert!(!dets.is_empty());
    for d in dets {
        assert!(d["score"].as_f64().unwrap() >= 0.9, "{d}");
        let b: Vec<u64> = d["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        // The chip's bright right-edge column (x 500, one pixel wide) is an edge line.
        assert!(!(b[0] == 500 && b[2] == 501), "{d}");
    }
    // Explicit flags win over the preset.
    let own = json(&[
        "--preset",
        "sar",
        "--cfar",
        "4",
        "--background-px",
        "61",
        "--min-area",
        "5",
        "--min-score",
        "0",
    ]);
    let p = &own["params"];
    assert_eq!(
        (p["cfar"]["k"].as_f64(), p["cfar"]["background_px"].as_u64()),
        (Some(4.0), Some(61))
    );
    assert_eq!(p["min_area"], 5);
    assert!(own["detections"].as_array().unwrap().len() >= dets.len());
    // --cfar-censor 0: one pass.
    let one = json(&["--preset", "sar", "--cfar-censor", "0"]);
    assert!(one["params"]["cfar"].get("censor_k").is_none());
    // Without a preset the edge column is a detection; --drop-edge-lines drops it.
    let plain = json(&["--preset", "none", "--min-area", "10"]);
    let edge = |v: &serde_json::Value| {
        v["detections"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["bbox"][0] == 500 && d["bbox"][2] == 501)
            .count()
    };
    assert_eq!(edge(&plain), 1);
    let dropped = json(&["--preset", "none", "--min-area", "10", "--drop-edge-lines"]);
    assert_eq!(edge(&dropped), 0);
    assert_eq!(
        dropped["detections"].as_array().unwrap().len(),
        plain["detections"].as_array().unwrap().len() - 1
    );
}

#[test]
fn the_sar_preset_finds_the_eleven_ships_of_the_sample_chip() {
    // data/ssdd_001114.xml annotates 11 ships; the README's main command should find exactly
    // them (scored by `vesselscan eval`, one to one).
    let dir = tempfile::tempdir().unwrap();
    let pred = dir.path().join("001114.json");
    // Under the name the annotation gives it (<filename>001114.jpg</filename>).
    let chip = dir.path().join("001114.jpg");
    std::fs::copy(data("ssdd_001114.jpg"), &chip).unwrap();
    let o = run(&[
        "detect",
        chip.to_str().unwrap(),
        "--backend",
        "cpu",
        "--preset",
        "sar",
        "-o",
        pred.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let truth = data("ssdd_001114.xml");
    let o = run(&[
        "eval",
        "--truth",
        truth.to_str().unwrap(),
        "--pred",
        pred.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let all = &v["overall"];
    // All 11 found, at most one false alarm.
    assert_eq!(
        (all["tp"].as_u64(), all["fn"].as_u64()),
        (Some(11), Some(0)),
        "{all}"
    );
    assert!(all["fp"].as_u64().unwrap() <= 1, "{all}");
}

#[test]
fn bench_times_every_backend_and_checks_them_against_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench.json");
    let o = run(&[
        "bench",
        "--size",
        "300",
        "--repeat",
        "2",
        "--tile-size",
        "128",
        "--json",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("median ms") && table.contains("seam_merge"),
        "{table}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(300), Some(300))
    );
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows[0]["backend"], "cpu");
    let dets = rows[0]["detections"].as_u64().unwrap();
    assert!(dets > 0);
    for r in rows {
        assert!(r["error"].is_null(), "{r}");
        assert_eq!(r["matches_cpu"], true, "{r}");
        assert_eq!(r["detections"].as_u64(), Some(dets), "{r}");
        assert!(r["seconds_median"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["mpx_per_s"].as_f64().unwrap() > 0.0, "{r}");
        // Every stage is reported; the kernels' stages took time.
        for st in [
            "upload",
            "mask",
            "label",
            "measure",
            "seam_export",
            "readback",
        ] {
            assert!(r["stages"][st].as_f64().is_some(), "{st}: {r}");
        }
        assert!(r["stages"]["label"].as_f64().unwrap() > 0.0, "{r}");
        assert!(r["stages"]["seam_merge"].as_f64().unwrap() > 0.0, "{r}");
    }
    if std::env::var("VESSELSCAN_REQUIRE_GPU").is_ok_and(|v| v == "1") {
        assert!(rows.iter().any(|r| r["backend"] == "gpu"), "{v}");
    }
    // The CPU only, a picture as the scene.
    let o = run(&[
        "bench",
        "--scene",
        data("ssdd_001114.jpg").to_str().unwrap(),
        "--adapters",
        "none",
        "--repeat",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("501x279"), "{table}");
    // A file scene reports how long reading it took; a generated one does not.
    assert!(table.contains("reading the file into keys"), "{table}");
    assert!(v["read_seconds"].is_null(), "{v}");
    assert_eq!(
        table.lines().filter(|l| l.starts_with("gpu")).count(),
        0,
        "{table}"
    );
    // Bad requests: one-line errors.
    for (args, want) in [
        (
            &["bench", "--scene", "nowhere.tif"][..],
            "neither sea, random nor a file",
        ),
        (
            &["bench", "--adapters", "no-such-gpu-xyz"][..],
            "no adapter name contains",
        ),
        (
            &["bench", "--repeat", "0", "--adapters", "none"][..],
            "--repeat 0",
        ),
    ] {
        let o = run(args);
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{err}");
    }
}

/// A memory cap too small for a SAR scene's masks and CFAR halo: the same detections as with
/// room to spare, and a note saying which cap avoids decoding the file's tiles several times.
#[test]
fn a_tiny_memory_cap_gives_the_same_detections_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("scene.tif");
    let o = run(&[
        "synth",
        "--width",
        "1024",
        "--height",
        "1536",
        "--seed",
        "3",
        scene.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let detect = |mb: &str| {
        let o = run(&[
            "detect",
            scene.to_str().unwrap(),
            "--backend",
            "cpu",
            "--memory-mb",
            mb,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            strip_provenance(&o.stdout),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (roomy, err) = detect("512");
    assert!(!err.contains("note: within --memory-mb"), "{err}");
    let (tiny, err) = detect("1");
    assert!(
        err.contains("fewer than the file's 512-row chunks") && err.contains("or more avoids it"),
        "{err}"
    );
    assert!(roomy["detections"]
        .as_array()
        .is_some_and(|d| !d.is_empty()));
    assert_eq!(roomy, tiny);
}

/// `--backend auto` runs on a GPU when `vesselscan adapters` lists one; a software adapter
/// (lavapipe: device type `Cpu`) counts as none, as the CPU backend is faster, and `--backend
/// gpu` still runs on it. With no adapter at all, auto falls back to the CPU too.
#[test]
fn auto_backend_takes_a_gpu_but_not_a_software_adapter() {
    let o = run(&["adapters"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let types: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["device_type"].as_str().unwrap().to_owned())
        .collect();
    let chip = data("ssdd_001114.jpg");
    let detect = |extra: &[&str]| {
        let o = bin()
            .args([&["detect", chip.to_str().unwrap()][..], extra].concat())
            .env_remove("WGPU_ADAPTER_NAME")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (
            v["backend"].as_str().unwrap().to_owned(),
            v["adapter"].clone(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (backend, adapter, err) = detect(&[]);
    if types.iter().any(|t| t != "Cpu") {
        assert_eq!(backend, "gpu", "{types:?}: {err}");
        assert!(!err.contains("software"), "{err}");
    } else if !types.is_empty() {
        assert_eq!(backend, "cpu", "{types:?}: {err}");
        assert!(adapter.is_null(), "{adapter}");
        assert!(
            err.contains("no GPU adapter but a software one")
                && err.contains("--backend gpu uses the adapter"),
            "{err}"
        );
        let (backend, adapter, _) = detect(&["--backend", "gpu"]);
        assert_eq!(backend, "gpu");
        let names: Vec<&serde_json::Value> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["name"])
            .collect();
        assert!(names.contains(&&adapter), "{adapter} not in {names:?}");
    } else {
        assert_eq!(backend, "cpu", "{err}");
    }
    if std::env::var("VESSELSCAN_REQUIRE_GPU").is_ok_and(|v| v == "1") {
        assert!(!types.is_empty(), "no adapter listed");
    }
}

/// Exit codes as scripts expect: 0 every input processed, 1 some input failed (batch: the
/// others done), 2 the run could not start (usage, options, adapter, output folder).
#[test]
fn exit_codes_say_whether_inputs_failed_or_the_run_could_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let chip = data("ssdd_001114.jpg");
    let chip = chip.to_str().unwrap();
    let broken = dir.path().join("broken.tif");
    let tif = std::fs::read(data("sen2ships_casablanca_B08.tif")).unwrap();
    std::fs::write(&broken, &tif[..tif.len() / 3]).unwrap();
    let broken = broken.to_str().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("out");
    let under_file = under_file.to_str().unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["detect", chip, "--backend", "cpu"], 0),
        (&["detect", broken, "--backend", "cpu"], 1),
        (&["detect", "/no/such/scene.tif", "--backend", "cpu"], 1),
        (
            &[
                "batch",
                chip,
                broken,
                "-o",
                &format!("{}/b", dir.path().display()),
                "--backend",
                "cpu",
            ],
            1,
        ),
        (&["detect"], 2),
        (&["detect", chip, "--no-such-flag"], 2),
        (
            &[
                "detect",
                chip,
                "--backend",
                "cpu",
                "--min-area",
                "9",
                "--max-area",
                "3",
            ],
            2,
        ),
        (
            &[
                "detect",
                chip,
                "--backend",
                "gpu",
                "--adapter",
                "no-such-gpu-xyz",
            ],
            2,
        ),
        (
            &[
                "detect",
                chip,
                "--backend",
                "cpu",
                "-o",
                "/no/such/folder/o.json",
            ],
            2,
        ),
        (&["detect", chip, "--backend", "cpu", "-o", chip], 2),
        (&["batch", chip, "-o", under_file, "--backend", "cpu"], 2),
        (&["batch", "/no/such/archive/*.tif", "-o", under_file], 2),
    ];
    for (args, want) in cases {
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(*want),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
