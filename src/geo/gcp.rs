//! Ground control point grids (provisional: replaced by the full implementation).

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gcp {
    pub pixel: f64,
    pub line: f64,
    pub lon: f64,
    pub lat: f64,
}

#[derive(Debug, Clone)]
pub struct GcpGrid {
    points: Vec<Gcp>,
}

impl GcpGrid {
    pub fn new(points: Vec<Gcp>) -> Result<GcpGrid, String> {
        Ok(GcpGrid { points })
    }
    pub fn lonlat(&self, _x: f64, _y: f64) -> (f64, f64) {
        (self.points[0].lon, self.points[0].lat)
    }
    pub fn len(&self) -> usize {
        self.points.len()
    }
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}
