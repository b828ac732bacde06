//! Typed errors of the library. Every variant that concerns a file names it, so the CLI can print
//! one line (`vesselscan: <file>: <problem>`) and exit non-zero.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a raster we can read, or is damaged (truncated, corrupt chunk, ...).
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    /// The file is valid but uses a feature we do not support (sample format, compression, ...).
    #[error("{path}: unsupported: {msg}")]
    Unsupported { path: PathBuf, msg: String },
    /// `--band N` names a band the file does not have.
    #[error("{path}: band {band} out of range (the file has {bands} band{s})", s = if *bands == 1 { "" } else { "s" })]
    BandOutOfRange {
        path: PathBuf,
        band: u32,
        bands: u32,
    },
    /// The raster is larger than we are allowed to hold.
    #[error("{path}: {width}x{height} pixels is too large: {msg}")]
    TooLarge {
        path: PathBuf,
        width: u64,
        height: u64,
        msg: String,
    },
    /// The output asked for needs georeferencing the scene lacks.
    #[error("{path}: {msg}")]
    NoGeoref { path: PathBuf, msg: String },
    /// A bad combination of options (no file involved).
    #[error("{0}")]
    Invalid(String),
    /// No GPU adapter, or the one asked for is missing.
    #[error("gpu: {0}")]
    NoAdapter(String),
    /// wgpu reported an error (device lost, out of memory, validation).
    #[error("gpu: {0}")]
    Gpu(String),
    /// Writing an output failed.
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
