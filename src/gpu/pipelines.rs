//! Every compute pipeline, registered in one place and labelled `vesselscan.<stage>`.
//!
//! Each kernel is `shaders/common.wgsl` followed by `shaders/<stage>.wgsl`, embedded at build
//! time. [`validate_all`] parses and validates each with naga, so a shader error fails the
//! tests on a machine without a GPU.

use crate::error::{Error, Result};

pub const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// (stage, source, entry points).
pub const STAGES: &[(&str, &str, &[&str])] = &[
    ("mask", include_str!("../../shaders/mask.wgsl"), &["main"]),
    (
        "cfar_rows",
        include_str!("../../shaders/cfar_rows.wgsl"),
        &["main"],
    ),
    ("cfar", include_str!("../../shaders/cfar.wgsl"), &["main"]),
    (
        "histogram",
        include_str!("../../shaders/histogram.wgsl"),
        &["minmax", "histogram"],
    ),
    (
        "label_merge",
        include_str!("../../shaders/label_merge.wgsl"),
        &["main"],
    ),
    (
        "label_compact",
        include_str!("../../shaders/label_compact.wgsl"),
        &["main"],
    ),
    (
        "measure",
        include_str!("../../shaders/measure.wgsl"),
        &["main"],
    ),
    (
        "seam_export",
        include_str!("../../shaders/seam_export.wgsl"),
        &["main"],
    ),
];

/// Full source of a stage: the common header, then the kernel.
pub fn source(stage_src: &str) -> String {
    format!("{COMMON}\n{stage_src}")
}

/// Parse and validate every kernel with naga; returns `(stage, error)` for the first failure.
pub fn validate_all() -> std::result::Result<(), (String, String)> {
    for (stage, src, entries) in STAGES {
        let full = source(src);
        let module = naga::front::wgsl::parse_str(&full)
            .map_err(|e| (stage.to_string(), e.emit_to_string(&full)))?;
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .map_err(|e| (stage.to_string(), format!("{e:?}")))?;
        for e in *entries {
            if !module.entry_points.iter().any(|ep| ep.name == *e) {
                return Err((stage.to_string(), format!("missing entry point {e}")));
            }
        }
    }
    Ok(())
}

pub struct Pipelines {
    pub mask: wgpu::ComputePipeline,
    pub cfar_rows: wgpu::ComputePipeline,
    pub cfar: wgpu::ComputePipeline,
    pub minmax: wgpu::ComputePipeline,
    pub histogram: wgpu::ComputePipeline,
    pub label_merge: wgpu::ComputePipeline,
    pub label_compact: wgpu::ComputePipeline,
    pub measure: wgpu::ComputePipeline,
    pub seam_export: wgpu::ComputePipeline,
}

impl Pipelines {
    pub fn new(device: &wgpu::Device) -> Result<Pipelines> {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut modules = std::collections::HashMap::new();
        for (stage, src, _) in STAGES {
            let m = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(&format!("vesselscan.{stage}")),
                source: wgpu::ShaderSource::Wgsl(source(src).into()),
            });
            modules.insert(*stage, m);
        }
        let mk = |stage: &str, entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&format!("vesselscan.{stage}.{entry}")),
                layout: None,
                module: &modules[stage],
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let p = Pipelines {
            mask: mk("mask", "main"),
            cfar_rows: mk("cfar_rows", "main"),
            cfar: mk("cfar", "main"),
            minmax: mk("histogram", "minmax"),
            histogram: mk("histogram", "histogram"),
            label_merge: mk("label_merge", "main"),
            label_compact: mk("label_compact", "main"),
            measure: mk("measure", "main"),
            seam_export: mk("seam_export", "main"),
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("shader compilation failed: {e}")));
        }
        Ok(p)
    }
}
