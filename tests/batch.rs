//! `vesselscan batch`: inputs from folders, globs and list files; a bad file reported and
//! skipped; resume; --force; shards that partition the archive.

mod common;
use common::{data, run, summary};

use std::path::{Path, PathBuf};
use std::process::Command;

/// An archive: two good scenes in nested folders, a truncated TIFF, a text file (ignored in
/// folders), and a list file naming two of them.
fn archive(dir: &Path) -> PathBuf {
    let a = dir.join("archive");
    std::fs::create_dir_all(a.join("2024/02")).unwrap();
    std::fs::copy(data("ssdd_001114.jpg"), a.join("2024/chip.jpg")).unwrap();
    std::fs::copy(
        data("sen2ships_casablanca_B08.tif"),
        a.join("2024/02/port.tif"),
    )
    .unwrap();
    let tif = std::fs::read(data("sen2ships_casablanca_B08.tif")).unwrap();
    std::fs::write(a.join("2024/02/broken.tif"), &tif[..tif.len() / 4]).unwrap();
    std::fs::write(
        a.join("notes.txt"),
        "not a list of rasters, not in a folder scan",
    )
    .unwrap();
    std::fs::write(
        dir.join("list.txt"),
        "# two files\narchive/2024/chip.jpg\n\narchive/2024/02/port.tif\n",
    )
    .unwrap();
    a
}

fn status_of(s: &serde_json::Value, name: &str) -> String {
    s["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["input"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("{name} not in summary"))["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn folder_batch_reports_bad_files_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let a = archive(dir.path());
    let out = dir.path().join("out");
    let args = [
        "batch",
        a.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--min-area",
        "10",
    ];
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a failed file makes the exit code non-zero: {err}"
    );
    assert!(err.contains("broken.tif: TIFF:"), "{err}");
    let s = summary(&out);
    assert_eq!(
        (
            s["ok"].as_u64(),
            s["failed"].as_u64(),
            s["skipped"].as_u64()
        ),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(status_of(&s, "broken.tif"), "error");
    assert_eq!(status_of(&s, "chip.jpg"), "ok");
    assert!(s["files"][0]["error"].is_string() || s["files"][1]["error"].is_string());
    // One output per good input, named after it; nothing for the bad one, no temp files left.
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [".vesselscan", "chip.json", "port.json", "summary.json"]
    );
    // Each output's record of its input, and none for the failed file.
    let mut records: Vec<String> = std::fs::read_dir(out.join(".vesselscan"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    records.sort();
    assert_eq!(records, ["chip.json.json", "port.json.json"]);
    let chip: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("chip.json")).unwrap()).unwrap();
    assert_eq!(chip["detections"].as_array().unwrap().len(), 12);

    // Resume: done files are skipped, the bad one is tried again.
    let before = std::fs::metadata(out.join("chip.json"))
        .unwrap()
        .modified()
        .unwrap();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(1));
    let s = summary(&out);
    assert_eq!(status_of(&s, "chip.jpg"), "skipped");
    assert_eq!(status_of(&s, "broken.tif"), "error");
    assert_eq!(
        std::fs::metadata(out.join("chip.json"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
    // --force redoes them.
    let o = run(&[&args[..], &["--force"]].concat());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(status_of(&summary(&out), "chip.jpg"), "ok");
}

#[test]
fn list_files_globs_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path());
    let out = dir.path().join("out");
    let list = dir.path().join("list.txt");
    let o = run(&[
        "batch",
        list.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(summary(&out)["ok"], 2);
    assert!(std::fs::read_to_string(out.join("chip.csv"))
        .unwrap()
        .starts_with("id,x,y,"));
    let pattern = format!("{}/archive/*/*.jpg", dir.path().display());
    let out2 = dir.path().join("out2");
    let o = run(&[
        "batch",
        &pattern,
        "-o",
        out2.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(summary(&out2)["files"].as_array().unwrap().len(), 1);
    // A pattern or path that matches nothing is a clear error.
    let o = run(&[
        "batch",
        &format!("{}/nothing/*.tif", dir.path().display()),
        "-o",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "nothing to run");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no file matches"));
}

#[test]
fn shards_partition_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    let a = archive(dir.path());
    for i in 0..5 {
        std::fs::copy(data("ssdd_001114.jpg"), a.join(format!("extra_{i}.jpg"))).unwrap();
    }
    // All shards write into one folder, each with its own summary.
    let out = dir.path().join("out");
    let mut seen = Vec::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        run(&[
            "batch",
            a.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--backend",
            "cpu",
            "--shard",
            &shard,
        ]);
        let s: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("summary.shard-{i}-of-3.json"))).unwrap(),
        )
        .unwrap();
        for f in s["files"].as_array().unwrap() {
            seen.push(f["input"].as_str().unwrap().to_owned());
        }
    }
    assert!(!out.join("summary.json").exists());
    seen.sort();
    let n = seen.len();
    seen.dedup();
    assert_eq!(seen.len(), n, "a file in two shards");
    assert_eq!(n, 8, "every file in one shard: {seen:?}");
    let o = run(&["batch", a.to_str().unwrap(), "-o", "x", "--shard", "3/3"]);
    assert!(!o.status.success());
}

#[test]
fn parallel_jobs_write_the_same_outputs_as_one_job() {
    let dir = tempfile::tempdir().unwrap();
    let a = archive(dir.path());
    // More files than jobs: copies of the good scenes under other names.
    for i in 0..4 {
        std::fs::copy(data("ssdd_001114.jpg"), a.join(format!("chip{i}.jpg"))).unwrap();
    }
    let mut outs = Vec::new();
    // The GPU backend too: files in flight share one device.
    let mut runs = vec![("cpu", "1"), ("cpu", "3")];
    if common::gpu().is_some() {
        runs.push(("gpu", "3"));
    }
    for (backend, jobs) in runs {
        let out = dir.path().join(format!("out-{backend}-{jobs}"));
        let o = run(&[
            "batch",
            a.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--backend",
            backend,
            "--jobs",
            jobs,
            "--memory-mb",
            "256",
        ]);
        assert_eq!(o.status.code(), Some(1), "the broken file fails the run");
        let s = summary(&out);
        let inputs: Vec<&str> = s["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["input"].as_str().unwrap())
            .collect();
        let mut sorted = inputs.clone();
        sorted.sort();
        assert_eq!(inputs, sorted, "summary in input order");
        assert_eq!(inputs.len(), 7);
        assert_eq!((s["ok"].as_u64(), s["failed"].as_u64()), (Some(6), Some(1)));
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.file_name().unwrap() != "summary.json")
            .map(|p| {
                let text = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
                // Every line but the input path and the backend's provenance.
                let body: String = text
                    .lines()
                    .filter(|l| {
                        !["\"input\"", "\"backend\"", "\"adapter\""]
                            .iter()
                            .any(|k| l.contains(k))
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    body.into_bytes(),
                )
            })
            .collect();
        files.sort();
        assert_eq!(files.len(), 6);
        outs.push(files);
    }
    assert!(
        outs[0] == outs[1],
        "--jobs 3 wrote other outputs than --jobs 1"
    );
}

#[test]
fn an_empty_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("sub/readme.txt"), "no rasters here").unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "batch",
        empty.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(2), "nothing to run");
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(&*empty.to_string_lossy()) && lines[0].contains("no raster"),
        "{err}"
    );
    assert!(!out.exists(), "made the output folder for nothing");
}

/// Two synth SAR scenes in 512-row tiles, whose CFAR needs about 80 MiB for windows of a
/// whole row of tiles: in `-j 2 --memory-mb 128`, a file's share (64 MiB) would give windows
/// shorter than a tile row (and the note that says so). Each takes what it needs instead and
/// they run one after the other, with the results of a lone `detect`.
#[test]
fn a_scene_takes_the_memory_it_needs_and_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("in");
    std::fs::create_dir(&a).unwrap();
    let scene = a.join("one.tif");
    let o = run(&[
        "synth",
        "--width",
        "8192",
        "--height",
        "1024",
        "--seed",
        "3",
        scene.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_file(a.join("one.truth.geojson")).unwrap();
    std::fs::copy(&scene, a.join("two.tif")).unwrap();
    let alone = |mb: &str| {
        let o = run(&[
            "detect",
            scene.to_str().unwrap(),
            "--backend",
            "cpu",
            "--memory-mb",
            mb,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (
            serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap(),
            err,
        )
    };
    // The premise: 64 MiB is too little for this scene, 128 enough.
    assert!(alone("64").1.contains("note: within --memory-mb"));
    let (want, err) = alone("128");
    assert!(!err.contains("note: within --memory-mb"), "{err}");

    let out = dir.path().join("out");
    let o = run(&[
        "batch",
        a.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "-j",
        "2",
        "--memory-mb",
        "128",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("2 at a time, 64 MiB each"), "{err}");
    assert!(!err.contains("note: within --memory-mb"), "{err}");
    for name in ["one.json", "two.json"] {
        let got: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(name)).unwrap()).unwrap();
        assert_eq!(got["detections"], want["detections"], "{name}");
        assert!(!got["detections"].as_array().unwrap().is_empty());
    }
}

/// An archive laid out one folder per scene with files named by band: `item0/B08.tif` ...
/// `item6/B08.tif`, `a/B03.tif` and `b/B03.tif`, and `lonely.tif`; each a different small
/// synth scene, so an output holding another scene's detections shows.
fn band_archive(dir: &Path) -> PathBuf {
    let a = dir.join("archive");
    let mut files: Vec<PathBuf> = (0..7).map(|i| a.join(format!("item{i}/B08.tif"))).collect();
    files.push(a.join("a/B03.tif"));
    files.push(a.join("b/B03.tif"));
    files.push(a.join("lonely.tif"));
    for (seed, f) in files.iter().enumerate() {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        let truth = dir.join(format!("truth{seed}.geojson"));
        let o = run(&[
            "synth",
            "--width",
            "192",
            "--height",
            "160",
            "--vessels",
            &(2 + seed % 4).to_string(),
            "--seed",
            &(seed + 1).to_string(),
            "--truth",
            truth.to_str().unwrap(),
            f.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    a
}

/// The outputs in `out` (summaries and records aside), by name.
fn outputs(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("summary")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// `(input, output, status, detections)` of each file of a summary.
fn summary_rows(s: &serde_json::Value) -> Vec<(String, String, String, u64)> {
    s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["input"].as_str().unwrap().to_owned(),
                f["output"].as_str().unwrap().to_owned(),
                f["status"].as_str().unwrap().to_owned(),
                f["detections"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect()
}

#[test]
fn concurrent_shards_write_what_one_run_writes() {
    let dir = tempfile::tempdir().unwrap();
    let a = band_archive(dir.path());
    let batch = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "batch",
            a.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--backend",
            "cpu",
            "--min-area",
            "4",
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_vesselscan"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let whole = dir.path().join("whole");
    let o = batch(&whole, &[]).wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = outputs(&whole);
    assert_eq!(want.len(), 10, "one output per input: {:?}", want.keys());
    // Every scene's output holds its own detections: the ten differ.
    let distinct: std::collections::BTreeSet<&Vec<u8>> = want.values().collect();
    assert_eq!(distinct.len(), 10);
    let want_rows = summary_rows(&summary(&whole));
    assert!(want_rows.iter().all(|r| r.2 == "ok"), "{want_rows:?}");

    for n in 2..=5u32 {
        let out = dir.path().join(format!("shards-{n}"));
        // All shards at once, into one folder.
        let procs: Vec<_> = (0..n)
            .map(|i| batch(&out, &["--shard", &format!("{i}/{n}")]))
            .collect();
        for p in procs {
            let o = p.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        assert_eq!(outputs(&out), want, "{n} shards wrote other files");
        // Every input in exactly one shard's summary.
        let mut seen = Vec::new();
        for i in 0..n {
            let s: serde_json::Value = serde_json::from_slice(
                &std::fs::read(out.join(format!("summary.shard-{i}-of-{n}.json"))).unwrap(),
            )
            .unwrap();
            seen.extend(summary_rows(&s).into_iter().map(|r| r.0));
        }
        seen.sort();
        assert_eq!(seen.len(), 10, "{seen:?}");
        seen.dedup();
        assert_eq!(seen.len(), 10, "an input in two shards");
        // The merged summary is the unsharded run's.
        let o = run(&["batch", "--summarize", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(
            err.contains(&format!("{n} shards, 10 files: 10 ok")),
            "{err}"
        );
        let rows: Vec<_> = summary_rows(&summary(&out))
            .into_iter()
            .map(|mut r| {
                r.1 = r.1.replace(&format!("shards-{n}"), "whole");
                r
            })
            .collect();
        assert_eq!(rows, want_rows);
        // A shard run again skips its files: their outputs were made from them.
        let o = batch(&out, &["--shard", &format!("0/{n}")])
            .wait_with_output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert!(
            !err.contains(" detections"),
            "a done file was redone: {err}"
        );
    }

    // A missing shard, or shards of two runs mixed, is said; nothing is merged.
    let out = dir.path().join("shards-3");
    std::fs::remove_file(out.join("summary.json")).unwrap();
    std::fs::remove_file(out.join("summary.shard-1-of-3.json")).unwrap();
    let o = run(&["batch", "--summarize", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("shard 1 of 3 not found"), "{err}");
    std::fs::copy(
        dir.path().join("shards-2/summary.shard-0-of-2.json"),
        out.join("summary.shard-0-of-2.json"),
    )
    .unwrap();
    let o = run(&["batch", "--summarize", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("runs in 2 and 3 shards are mixed"), "{err}");
    assert!(!out.join("summary.json").exists());
}

#[test]
fn resume_redoes_an_output_not_made_from_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = band_archive(dir.path());
    let out = dir.path().join("out");
    let args = [
        "batch",
        a.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "-j",
        "1",
    ];
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = outputs(&out);
    let names = summary_rows(&summary(&out));
    let out_of = |input: &str| -> String {
        let r = names.iter().find(|r| r.0.ends_with(input)).unwrap();
        Path::new(&r.1)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    // One input replaced by another scene (new size and time); one output overwritten by
    // another scene's; one output left without its record (as a run killed between the two).
    let changed = a.join("item2/B08.tif");
    std::fs::copy(a.join("lonely.tif"), &changed).unwrap();
    let lonely = out_of("lonely.tif");
    let b03 = out_of("a/B03.tif");
    std::fs::copy(out.join(&lonely), out.join(&b03)).unwrap();
    std::fs::remove_file(out.join(".vesselscan").join(format!("{b03}.json"))).unwrap();
    let item5 = out_of("item5/B08.tif");
    std::fs::copy(
        out.join(".vesselscan").join(format!("{lonely}.json")),
        out.join(".vesselscan").join(format!("{item5}.json")),
    )
    .unwrap();
    let o = run(&args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let s = summary(&out);
    assert_eq!(
        (s["ok"].as_u64(), s["skipped"].as_u64()),
        (Some(3), Some(7)),
        "{err}"
    );
    assert_eq!(status_of(&s, "item2/B08.tif"), "ok");
    assert!(err.contains("the input changed since"), "{err}");
    assert!(err.contains("no record of the input"), "{err}");
    assert!(err.contains("it was made from lonely.tif"), "{err}");
    let now = outputs(&out);
    assert_eq!(
        now[&b03], first[&b03],
        "the overwritten output is made again"
    );
    assert_ne!(
        now[&out_of("item2/B08.tif")],
        first[&out_of("item2/B08.tif")]
    );
}
