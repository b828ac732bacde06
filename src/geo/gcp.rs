//! Ground control point grids (work in progress).
