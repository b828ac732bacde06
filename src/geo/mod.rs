//! Georeferencing: from pixel coordinates to WGS 84 longitude/latitude and ground metres.
//!
//! * [`gcp`]: ground control point grids (Sentinel-1 GRD geolocation grids, from GeoTIFF
//!   tiepoints or from a SAFE product's annotation XML), interpolated bilinearly.

pub mod gcp;
