//! vesselscan: find ships in satellite images, on any GPU (wgpu/WGSL) or the CPU, with
//! bit-identical results.
//!
//! The pipeline, a module per stage:
//! [`read`] -> mask -> label -> merge seams ([`seams`]) -> measure ([`detections`]) -> [`write`](mod@write).
//! The mask, label and measure kernels live in `shaders/<stage>.wgsl`, run by
//! [`engine::gpu`]; their CPU twins of the same names live in [`cpu`], run by [`engine::cpu`].
//! [`detect::detect`] drives a scene through either.

pub mod ais;
pub mod batch;
pub mod bench;
pub mod cfar;
pub mod cli;
pub mod confidence;
pub mod cpu;
pub mod detect;
pub mod detections;
pub mod engine;
pub mod error;
pub mod eval;
pub mod geo;
pub mod gpu;
pub mod preset;
pub mod profile;
pub mod read;
pub mod sample;
pub mod seams;
pub mod synth;
pub mod threshold;
pub mod tiling;
pub mod union_find;
pub mod water;
pub mod write;

pub use error::{Error, Result};
