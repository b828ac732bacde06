//! Paths that would lose data or hang: an output naming an input (through links and relative
//! paths), FIFOs in folders and on the command line, list files that name themselves or each
//! other. Each run is bounded in time: a hang fails the test instead of stalling the suite.

mod common;
use common::{data, err_lines as lines, run_in, stderr, summary};

use std::path::Path;
use std::process::Command;

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let o = Command::new("mkfifo").arg(p).output().expect("mkfifo");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn no_output_may_name_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    let scene = d.join("in.jpg");
    std::fs::copy(data("ssdd_001114.jpg"), &scene).unwrap();
    let before = std::fs::read(&scene).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&scene, d.join("link.jpg")).unwrap();
    std::fs::hard_link(&scene, d.join("hard.jpg")).unwrap();
    std::fs::copy(&scene, d.join("other.jpg")).unwrap();
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["detect", "in.jpg", "-o", "in.jpg"],
        vec![
            "detect",
            "in.jpg",
            "-o",
            "./sub/../in.jpg",
            "--format",
            "json",
        ],
        vec!["detect", "in.jpg", "-o", "hard.jpg", "--format", "csv"],
        vec!["detect", "in.jpg", "--quicklook", "in.jpg"],
        // The mask is an input too.
        vec![
            "detect",
            "sub/../other.jpg",
            "-o",
            "in.jpg",
            "--mask",
            "in.jpg",
        ],
    ];
    #[cfg(unix)]
    cases.push(vec!["detect", "link.jpg", "-o", "in.jpg"]);
    for args in cases {
        let mut args = args.clone();
        args.extend(["--backend", "cpu"]);
        let o = run_in(d, &args);
        let l = lines(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {l:?}");
        assert_eq!(l.len(), 1, "{args:?}: {l:?}");
        assert!(l[0].contains("would be overwritten"), "{args:?}: {l:?}");
        assert_eq!(
            std::fs::read(&scene).unwrap(),
            before,
            "{args:?} wrote over the input"
        );
    }
    // Chips named like an input in the chips folder.
    std::fs::copy(&scene, d.join("sub/1.png")).unwrap();
    let o = run_in(
        d,
        &["detect", "sub/1.png", "--chips", "sub", "--backend", "cpu"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--chips names the input"),
        "{}",
        stderr(&o)
    );
    // A different output next to the input is fine.
    let o = run_in(
        d,
        &["detect", "in.jpg", "-o", "in.json", "--backend", "cpu"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn fifos_in_folders_are_skipped_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = d.join("archive");
    std::fs::create_dir_all(a.join("x")).unwrap();
    std::fs::copy(data("ssdd_001114.jpg"), a.join("chip.jpg")).unwrap();
    mkfifo(&a.join("x/pipe.tif"));
    let o = run_in(d, &["batch", "archive", "-o", "out", "--backend", "cpu"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("pipe.tif: skipped: a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    assert!(d.join("out/chip.json").is_file());
    // A FIFO named on the command line is an input that fails, not a hang.
    let o = run_in(
        d,
        &[
            "batch",
            "archive/x/pipe.tif",
            "archive/chip.jpg",
            "-o",
            "out2",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("pipe.tif: a FIFO"), "{err}");
    assert!(d.join("out2/chip.json").is_file());

    // eval: a FIFO among the predictions is listed as skipped, never read.
    let preds = d.join("preds");
    std::fs::create_dir(&preds).unwrap();
    let o = run_in(
        d,
        &[
            "detect",
            data("ssdd_001114.jpg").to_str().unwrap(),
            "-o",
            "preds/001114.json",
            "--backend",
            "cpu",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    mkfifo(&preds.join("zz.json"));
    let truth = data("ssdd_001114.xml");
    let o = run_in(
        d,
        &[
            "eval",
            "--truth",
            truth.to_str().unwrap(),
            "--pred",
            "preds",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // And one given as the predictions is a one-line error.
    let o = run_in(
        d,
        &[
            "eval",
            "--truth",
            truth.to_str().unwrap(),
            "--pred",
            "preds/zz.json",
        ],
    );
    let l = lines(&o);
    assert_eq!(o.status.code(), Some(1), "{l:?}");
    assert_eq!(l.len(), 1, "{l:?}");
    assert!(l[0].contains("zz.json") && l[0].contains("FIFO"), "{l:?}");
}

#[cfg(unix)]
#[test]
fn a_link_up_the_tree_is_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("archive/deep")).unwrap();
    std::fs::copy(data("ssdd_001114.jpg"), d.join("archive/deep/chip.jpg")).unwrap();
    std::os::unix::fs::symlink(d.join("archive"), d.join("archive/deep/loop")).unwrap();
    let o = run_in(d, &["batch", "archive", "-o", "out", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&d.join("out"));
    assert_eq!(s["files"].as_array().unwrap().len(), 1, "{s}");
}

#[test]
fn list_files_that_name_themselves_or_each_other_are_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("l")).unwrap();
    std::fs::copy(data("ssdd_001114.jpg"), d.join("l/chip.jpg")).unwrap();
    std::fs::copy(data("sen2ships_casablanca_B08.tif"), d.join("l/port.tif")).unwrap();
    std::fs::write(d.join("l/list.lst"), "list.lst\nother.lst\nchip.jpg\n").unwrap();
    std::fs::write(d.join("l/other.lst"), "# back\nlist.lst\nport.tif\n").unwrap();
    let o = run_in(d, &["batch", "l/list.lst", "-o", "out", "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = summary(&d.join("out"));
    let inputs: Vec<&str> = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["input"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["l/chip.jpg", "l/port.tif"]);
}
