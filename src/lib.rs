//! vesselscan: find ships in satellite images, on any GPU (wgpu/WGSL) or the CPU, with
//! bit-identical results.
//!
//! The pipeline, one module per stage: [`read`] -> mask -> label -> merge seams -> measure -> write.

pub mod error;
pub mod read;
pub mod sample;

pub use error::{Error, Result};
