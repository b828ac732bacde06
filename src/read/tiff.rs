//! TIFF reader (being written).
use super::{Raster, ReadOptions};
use crate::error::{Error, Result};
use std::path::Path;

pub fn read_tiff(path: &Path, _opts: &ReadOptions) -> Result<Raster> {
    Err(Error::Unsupported {
        path: path.to_owned(),
        msg: "TIFF reader not written yet".into(),
    })
}
