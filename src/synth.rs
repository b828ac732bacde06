//! Deterministic generated scenes for tests and benchmarks (being written).
