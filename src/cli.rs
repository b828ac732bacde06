//! The command line: `vesselscan detect` and `vesselscan adapters` (clap derive).

use crate::detect::{detect, DetectOptions, ThresholdMode, DEFAULT_SIGMAS, DEFAULT_TILE_SIZE};
use crate::engine::{cpu::CpuEngine, gpu::GpuEngine, Engine};
use crate::error::{Error, Result};
use crate::read::{read_raster, ReadOptions, DEFAULT_MAX_PIXELS};
use crate::tiling::Connectivity;
use crate::write::{to_csv, to_json, write_atomic, Format, Report};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "vesselscan",
    version,
    about = "Find ships in satellite images, on any GPU or the CPU"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect bright objects (vessels) in a raster and write one record per object.
    Detect(DetectArgs),
    /// List the GPU adapters wgpu finds, as JSON.
    Adapters,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// The GPU when an adapter exists, else the CPU.
    Auto,
    Gpu,
    Cpu,
}

#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// Input raster: GeoTIFF/TIFF/BigTIFF, PNG or JPEG.
    pub input: PathBuf,
    /// Output file (written atomically); stdout when absent.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format (default: from the output's extension, else json).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Band to read, 1-based as in GDAL (default: 1; RGB pictures: luminance).
    #[arg(long)]
    pub band: Option<u32>,
    /// Nodata value (never a target); overrides the file's GDAL_NODATA tag.
    #[arg(long, allow_negative_numbers = true)]
    pub nodata: Option<f64>,
    /// A pixel is a target when its value >= V.
    #[arg(
        long,
        value_name = "V",
        allow_negative_numbers = true,
        conflicts_with = "otsu"
    )]
    pub threshold: Option<f64>,
    /// Threshold by Otsu's method on the scene histogram.
    #[arg(long)]
    pub otsu: bool,
    /// Threshold at mean + K standard deviations of the scene (the default, K = 5, when
    /// neither --threshold nor --otsu is given).
    #[arg(long, value_name = "K", conflicts_with_all = ["threshold", "otsu"])]
    pub sigma: Option<f64>,
    /// Pixel connectivity of objects.
    #[arg(long, default_value = "8", value_parser = ["4", "8"])]
    pub connectivity: String,
    /// Tile side in pixels; results are identical for every tile size.
    #[arg(long, value_name = "PX", default_value_t = DEFAULT_TILE_SIZE, value_parser = clap::value_parser!(u32).range(1..))]
    pub tile_size: u32,
    /// Drop objects smaller than this many pixels.
    #[arg(long, value_name = "PX", default_value_t = 1)]
    pub min_area: u64,
    /// Drop objects larger than this many pixels.
    #[arg(long, value_name = "PX")]
    pub max_area: Option<u64>,
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Use the first GPU adapter whose name contains this (case-insensitive).
    #[arg(long, value_name = "SUBSTRING")]
    pub adapter: Option<String>,
    /// Refuse rasters with more pixels than this.
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS, hide = true)]
    pub max_pixels: u64,
}

/// Open the backend asked for; `auto` falls back to the CPU when no adapter exists.
pub fn open_engine(choice: BackendChoice, adapter: Option<&str>) -> Result<Box<dyn Engine>> {
    match choice {
        BackendChoice::Cpu => Ok(Box::new(CpuEngine)),
        BackendChoice::Gpu => Ok(Box::new(GpuEngine::new(adapter)?)),
        BackendChoice::Auto => match GpuEngine::new(adapter) {
            Ok(g) => Ok(Box::new(g)),
            Err(e) if adapter.is_some() => Err(e),
            Err(e) => {
                eprintln!("vesselscan: {e}; using the CPU backend");
                Ok(Box::new(CpuEngine))
            }
        },
    }
}

fn run_detect(a: &DetectArgs) -> Result<()> {
    let format = a.format.unwrap_or_else(|| match &a.output {
        Some(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) => Format::Csv,
        _ => Format::Json,
    });
    // A bad output path fails before the work, not after.
    if let Some(out) = &a.output {
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            return Err(Error::Write {
                path: out.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("output folder {} does not exist", dir.display()),
                ),
            });
        }
    }
    let raster = read_raster(
        &a.input,
        &ReadOptions {
            band: a.band,
            max_pixels: a.max_pixels,
        },
    )?;
    let engine = open_engine(a.backend, a.adapter.as_deref())?;
    let opts = DetectOptions {
        threshold: match (a.threshold, a.otsu) {
            (Some(v), _) => ThresholdMode::Fixed(v),
            (None, true) => ThresholdMode::Otsu,
            (None, false) => ThresholdMode::MeanStd(a.sigma.unwrap_or(DEFAULT_SIGMAS)),
        },
        nodata: a.nodata,
        connectivity: if a.connectivity == "4" {
            Connectivity::Four
        } else {
            Connectivity::Eight
        },
        tile_size: a.tile_size,
        min_area: a.min_area,
        max_area: a.max_area.unwrap_or(u64::MAX),
    };
    let t0 = std::time::Instant::now();
    let out = detect(engine.as_ref(), &raster, &opts)?;
    let secs = t0.elapsed().as_secs_f64();
    let backend_desc = match engine.adapter() {
        Some(name) => format!("gpu ({name})"),
        None => "cpu".into(),
    };
    // Only worth a word when the clamp changes the tiling of this scene.
    if out.tile_size < a.tile_size && out.tile_size < raster.width.max(raster.height) {
        eprintln!(
            "vesselscan: tile size {} exceeds the backend's limits; using {}",
            a.tile_size, out.tile_size
        );
    }
    let thr = match out.params.threshold {
        Some(t) => format!("{t}"),
        None => "none (no value can reach it)".into(),
    };
    eprintln!(
        "vesselscan: {}: {}x{} {} band {}, backend {backend_desc}, threshold {} {thr}, {} detections in {secs:.3} s",
        a.input.display(),
        raster.width,
        raster.height,
        raster.kind.name(),
        raster.band,
        out.params.threshold_method,
        out.detections.len(),
    );
    let bytes = match format {
        Format::Json => to_json(&Report {
            input: a.input.display().to_string(),
            width: raster.width,
            height: raster.height,
            band: raster.band,
            backend: engine.backend(),
            adapter: engine.adapter(),
            params: &out.params,
            detections: &out.detections,
        }),
        Format::Csv => to_csv(&out.detections),
    };
    match &a.output {
        Some(p) => write_atomic(p, &bytes)?,
        None => {
            let mut so = std::io::stdout().lock();
            if let Err(e) = so.write_all(&bytes).and_then(|_| so.flush()) {
                // A closed pipe (`| head`) is not an error.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(Error::Write {
                        path: "<stdout>".into(),
                        source: e,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Run the parsed command line.
pub fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Detect(a) => run_detect(a),
        Command::Adapters => {
            let list = crate::gpu::list_adapters();
            let mut s = serde_json::to_string_pretty(&list).expect("adapters serialise");
            s.push('\n');
            print!("{s}");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
