//! Prediction readers: vesselscan's own outputs, `detect --format json` (a document with
//! `detections`, and `input` naming the scene) and `--format geojson` (a FeatureCollection
//! whose properties are the same detection fields), one file or a folder searched recursively
//! for `*.json` / `*.geojson`.
//!
//! Of each detection we read `id`, `x`, `y` (pixel centroid), `lon`, `lat` and, when present,
//! `score`; other fields are ignored, so outputs that gain fields still read. A GeoJSON feature
//! without `lon`/`lat` properties takes its Point's coordinates. In a folder, JSON files that
//! are not detection outputs (`batch`'s `summary.json`, a `vesselscan synth` truth file, the
//! truth file itself) are skipped and listed.

use super::names::key;
use crate::error::{Error, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One detection.
#[derive(Debug, Clone, PartialEq)]
pub struct PredDet {
    /// The detection's `id` (1-based position when the file has none).
    pub id: u64,
    /// Centroid in pixel coordinates.
    pub xy: Option<[f64; 2]>,
    /// `[lon, lat]`, WGS 84 degrees.
    pub lonlat: Option<[f64; 2]>,
    pub score: Option<f64>,
}

/// One prediction file.
#[derive(Debug, Clone, PartialEq)]
pub struct PredFile {
    pub path: PathBuf,
    /// The scene it was run on (JSON `input`), when the file says.
    pub input: Option<String>,
    pub dets: Vec<PredDet>,
}

impl PredFile {
    /// Matching keys in order of preference, see [`super::names`]: the scene's stem, then the
    /// file's own.
    pub fn keys(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(i) = &self.input {
            v.push(key(i));
        }
        let own = key(&self.path.to_string_lossy());
        if !v.contains(&own) {
            v.push(own);
        }
        v
    }
}

/// What a folder held.
#[derive(Debug, Default)]
pub struct PredSet {
    /// Sorted by path.
    pub files: Vec<PredFile>,
    /// JSON files in the folder that are not detection outputs.
    pub skipped: Vec<PathBuf>,
}

fn format_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_owned(),
        msg: msg.into(),
    }
}

/// The `*.json` / `*.geojson` regular files below `dir` (links followed, each folder once);
/// FIFOs, sockets and devices with such names go to `special`, never read (a FIFO would block).
fn pred_files(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    special: &mut Vec<PathBuf>,
    seen: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<()> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    if !seen.insert(dir.canonicalize().map_err(io)?) {
        return Ok(());
    }
    for e in std::fs::read_dir(dir).map_err(io)? {
        let p = e.map_err(io)?.path();
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            pred_files(&p, out, special, seen)?;
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json") || x.eq_ignore_ascii_case("geojson"))
        {
            if meta.is_file() {
                out.push(p);
            } else {
                special.push(p);
            }
        }
    }
    Ok(())
}

/// Read the predictions at `path`: one file, or every `*.json` / `*.geojson` under a folder.
/// `exclude`: a file never to read as predictions (the truth, when it lies in the folder).
pub fn read_preds(path: &Path, exclude: Option<&Path>) -> Result<PredSet> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        if let Some(what) = crate::read::not_regular(&meta.file_type()) {
            return Err(format_err(path, format!("{what}, not a regular file")));
        }
        return match parse_pred(path, &read(path)?)? {
            Some(f) => Ok(PredSet {
                files: vec![f],
                skipped: Vec::new(),
            }),
            None => Err(format_err(
                path,
                "not a vesselscan detection output (JSON with detections, or GeoJSON)",
            )),
        };
    }
    let mut list = Vec::new();
    let mut set = PredSet::default();
    pred_files(
        path,
        &mut list,
        &mut set.skipped,
        &mut std::collections::BTreeSet::new(),
    )?;
    list.sort();
    let exclude = exclude.and_then(|e| e.canonicalize().ok());
    for p in list {
        if exclude.is_some() && p.canonicalize().ok() == exclude {
            set.skipped.push(p);
            continue;
        }
        match parse_pred(&p, &read(&p)?)? {
            Some(f) => set.files.push(f),
            None => set.skipped.push(p),
        }
    }
    if set.files.is_empty() {
        return Err(format_err(
            path,
            if set.skipped.is_empty() {
                "no prediction files (*.json, *.geojson) in this folder".to_string()
            } else {
                format!(
                    "no detection outputs in this folder ({} other JSON file{} skipped)",
                    set.skipped.len(),
                    if set.skipped.len() == 1 { "" } else { "s" }
                )
            },
        ));
    }
    Ok(set)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64).filter(|x| x.is_finite())
}

/// Parse one file; `Ok(None)`: valid JSON but not a detection output.
pub fn parse_pred(path: &Path, bytes: &[u8]) -> Result<Option<PredFile>> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format_err(path, format!("malformed JSON: {e}")))?;
    if v.get("type").and_then(Value::as_str) == Some("FeatureCollection") {
        if v.get("vesselscan_synth").is_some() {
            return Ok(None);
        }
        let features = v
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| format_err(path, "FeatureCollection without a features list"))?;
        let mut dets = Vec::with_capacity(features.len());
        for (i, f) in features.iter().enumerate() {
            let props = f.get("properties").filter(|p| p.is_object());
            let mut d = detection(path, i, props.unwrap_or(&Value::Null), "features")?;
            if d.lonlat.is_none() {
                let g = f.get("geometry");
                if g.and_then(|g| g.get("type")).and_then(Value::as_str) == Some("Point") {
                    let c = g
                        .and_then(|g| g.get("coordinates"))
                        .and_then(Value::as_array);
                    if let Some(c) = c.filter(|c| c.len() >= 2) {
                        if let (Some(lon), Some(lat)) = (num(c.first()), num(c.get(1))) {
                            d.lonlat = Some([lon, lat]);
                        }
                    }
                }
            }
            if props.and_then(|p| p.get("id")).is_none() {
                if let Some(id) = f.get("id").and_then(Value::as_u64) {
                    d.id = id;
                }
            }
            dets.push(d);
        }
        return Ok(Some(PredFile {
            path: path.to_owned(),
            input: None,
            dets,
        }));
    }
    let Some(list) = v.get("detections") else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .ok_or_else(|| format_err(path, "detections is not a list"))?;
    let input = match v.get("input") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(format_err(path, "input is not a string")),
    };
    let dets = list
        .iter()
        .enumerate()
        .map(|(i, d)| detection(path, i, d, "detections"))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(PredFile {
        path: path.to_owned(),
        input,
        dets,
    }))
}

/// One detection's fields; a field that is there but not a number is an error, a missing or
/// null one is `None`.
fn detection(path: &Path, i: usize, d: &Value, list: &str) -> Result<PredDet> {
    let field = |k: &str| -> Result<Option<f64>> {
        match d.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => num(Some(x))
                .map(Some)
                .ok_or_else(|| format_err(path, format!("{list}[{i}]: {k} is not a number: {x}"))),
        }
    };
    if !d.is_object() && !d.is_null() {
        return Err(format_err(path, format!("{list}[{i}]: not an object")));
    }
    let id = match d.get("id") {
        None | Some(Value::Null) => i as u64 + 1,
        Some(x) => x.as_u64().ok_or_else(|| {
            format_err(path, format!("{list}[{i}]: id is not a whole number: {x}"))
        })?,
    };
    let xy = match (field("x")?, field("y")?) {
        (Some(x), Some(y)) => Some([x, y]),
        _ => None,
    };
    let lonlat = match (field("lon")?, field("lat")?) {
        (Some(lon), Some(lat)) => Some([lon, lat]),
        _ => None,
    };
    Ok(PredDet {
        id,
        xy,
        lonlat,
        score: field("score")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_output() {
        let p = Path::new("out/a.json");
        let f = parse_pred(
            p,
            br#"{"input": "data/ssdd_001114.jpg", "width": 5, "height": 5, "detections": [
                {"id": 1, "x": 1.5, "y": 2.5, "bbox": [1, 2, 2, 3], "lon": null, "lat": null},
                {"id": 7, "x": 3, "y": 4, "lon": 3.5, "lat": 52.0, "score": 0.25, "new": [1]}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(f.input.as_deref(), Some("data/ssdd_001114.jpg"));
        assert_eq!(f.keys(), vec!["ssdd_001114", "a"]);
        assert_eq!(
            f.dets,
            vec![
                PredDet {
                    id: 1,
                    xy: Some([1.5, 2.5]),
                    lonlat: None,
                    score: None
                },
                PredDet {
                    id: 7,
                    xy: Some([3.0, 4.0]),
                    lonlat: Some([3.5, 52.0]),
                    score: Some(0.25)
                }
            ]
        );
    }

    #[test]
    fn geojson_output() {
        let p = Path::new("out/busan_B08.geojson");
        let f = parse_pred(
            p,
            br#"{"type": "FeatureCollection", "features": [
                {"type": "Feature", "id": 3, "geometry": {"type": "Point", "coordinates": [129.0, 35.0]},
                 "properties": {"id": 3, "x": 10.5, "y": 20.5, "lon": 129.0, "lat": 35.0}},
                {"type": "Feature", "id": 4, "geometry": {"type": "Point", "coordinates": [129.1, 35.1]},
                 "properties": {}}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(f.keys(), vec!["busan_b08"]);
        assert_eq!(f.dets[0].xy, Some([10.5, 20.5]));
        assert_eq!(f.dets[1].id, 4);
        assert_eq!(f.dets[1].xy, None);
        assert_eq!(f.dets[1].lonlat, Some([129.1, 35.1]));
    }

    #[test]
    fn other_json_is_not_a_prediction() {
        let p = Path::new("summary.json");
        assert_eq!(parse_pred(p, br#"{"files": []}"#).unwrap(), None);
        assert_eq!(
            parse_pred(
                p,
                br#"{"type": "FeatureCollection", "vesselscan_synth": {}, "features": []}"#
            )
            .unwrap(),
            None
        );
        let e = parse_pred(p, br#"{"detections": [{"x": "a"}]}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "summary.json: detections[0]: x is not a number: \"a\"");
    }

    #[test]
    fn folders() {
        let d = tempfile::tempdir().unwrap();
        let e = read_preds(d.path(), None).unwrap_err().to_string();
        assert!(e.contains("no prediction files"), "{e}");
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/b.json"), r#"{"detections": []}"#).unwrap();
        std::fs::write(d.path().join("summary.json"), r#"{"files": []}"#).unwrap();
        std::fs::write(d.path().join("notes.txt"), "x").unwrap();
        let s = read_preds(d.path(), None).unwrap();
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.skipped, vec![d.path().join("summary.json")]);
        let s = read_preds(d.path(), Some(&d.path().join("sub/b.json")));
        assert!(s.unwrap_err().to_string().contains("no detection outputs"));
    }
}
