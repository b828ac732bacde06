//! Stage **write**: detections as JSON or CSV, to stdout or to a file written atomically
//! (a temporary file in the same folder, renamed into place), so a killed run never leaves a
//! partial output.

use crate::detect::ParamsReport;
use crate::detections::Detection;
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Csv,
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
    pub detections: &'a [Detection],
}

pub fn to_json(report: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(report).expect("report serialises");
    v.push(b'\n');
    v
}

pub const CSV_HEADER: &str = "id,x,y,x0,y0,x1,y1,area,sum,max,mean";

pub fn to_csv(dets: &[Detection]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * (dets.len() + 1));
    writeln!(out, "{CSV_HEADER}").unwrap();
    for d in dets {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
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
            d.mean
        )
        .unwrap();
    }
    out
}

/// Write `bytes` to `path` atomically: temp file in the same folder, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".vesselscan-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}
