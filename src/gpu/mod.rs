//! GPU runtime: adapters, the device, and the compute pipelines of `shaders/`.
//!
//! Getting a device ([`GpuContext::new`]) is separate from running kernels
//! ([`crate::engine::gpu`]), so one long-lived context serves a whole batch of scenes and tests
//! can share one. Adapters are listed with [`list_adapters`] (`vesselscan adapters`), picked by
//! a name substring (`--adapter`, or `WGPU_ADAPTER_NAME`), on the backends in `WGPU_BACKEND`
//! (default: all).

pub mod pipelines;

use crate::error::{Error, Result};
use serde::Serialize;

/// What `vesselscan adapters` prints for each adapter.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterReport {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub vendor: u32,
    pub device: u32,
    pub limits: LimitsReport,
}

/// The limits that decide tiling.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsReport {
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_storage_buffers_per_shader_stage: u32,
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    // Compute only: skip the GL backend unless asked for (it has no storage atomics on many
    // drivers and prints noise when no display exists).
    if std::env::var_os("WGPU_BACKEND").is_none() {
        desc.backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
    }
    wgpu::Instance::new(desc)
}

fn report(a: &wgpu::Adapter) -> AdapterReport {
    let i = a.get_info();
    let l = a.limits();
    AdapterReport {
        name: i.name,
        backend: format!("{:?}", i.backend).to_lowercase(),
        device_type: format!("{:?}", i.device_type),
        driver: i.driver,
        driver_info: i.driver_info,
        vendor: i.vendor,
        device: i.device,
        limits: LimitsReport {
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_buffer_size: l.max_buffer_size,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
            max_storage_buffers_per_shader_stage: l.max_storage_buffers_per_shader_stage,
        },
    }
}

/// Every adapter wgpu finds on this machine.
pub fn list_adapters() -> Vec<AdapterReport> {
    let inst = instance();
    pollster::block_on(inst.enumerate_adapters(inst_backends()))
        .iter()
        .map(report)
        .collect()
}

fn inst_backends() -> wgpu::Backends {
    wgpu::Backends::from_env()
        .unwrap_or(wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12)
}

/// A device ready to run the kernels: one per process is plenty.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterReport,
    pub pipelines: pipelines::Pipelines,
    /// Limits the device was created with (WebGPU defaults: the tiling respects them).
    pub limits: wgpu::Limits,
    /// The device has `TIMESTAMP_QUERY` (per-stage GPU times for `vesselscan bench`).
    pub timestamps: bool,
}

/// Every adapter wgpu finds, best first: discrete GPUs, then integrated, virtual, and CPU
/// (lavapipe) adapters; those whose name contains `name` (case-insensitive) when given.
pub fn adapters(name: Option<&str>) -> Vec<wgpu::Adapter> {
    let inst = instance();
    let mut adapters = pollster::block_on(inst.enumerate_adapters(inst_backends()));
    let rank = |t: wgpu::DeviceType| match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    adapters.sort_by_key(|a| rank(a.get_info().device_type));
    if let Some(w) = name {
        let wl = w.to_lowercase();
        adapters.retain(|a| a.get_info().name.to_lowercase().contains(&wl));
    }
    adapters
}

/// The adapter named by `WGPU_ADAPTER_NAME`, when set and not empty.
pub fn env_adapter_name() -> Option<String> {
    std::env::var("WGPU_ADAPTER_NAME")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The error when wgpu finds no adapter at all.
pub fn no_adapter() -> Error {
    Error::NoAdapter(
        "no GPU adapter found (on Linux without a GPU install the Vulkan software driver: apt-get install mesa-vulkan-drivers)".into(),
    )
}

impl GpuContext {
    /// Open the first adapter whose name contains `name` (case-insensitive), or the best one.
    /// Discrete GPUs come first, then integrated, virtual, and CPU (lavapipe) adapters.
    pub fn new(name: Option<&str>) -> Result<GpuContext> {
        let all = adapters(None);
        if all.is_empty() {
            return Err(no_adapter());
        }
        let want = name.map(str::to_owned).or_else(env_adapter_name);
        let adapter = match &want {
            Some(w) => {
                let wl = w.to_lowercase();
                let names: Vec<String> = all.iter().map(|a| a.get_info().name).collect();
                all.into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&wl))
                    .ok_or_else(|| {
                        Error::NoAdapter(format!(
                            "no adapter name contains {w:?}; found: {}",
                            names.join(", ")
                        ))
                    })?
            }
            None => all.into_iter().next().expect("checked non-empty"),
        };
        GpuContext::open(adapter)
    }

    /// Open a device on `adapter` with WebGPU's default limits (and timestamp queries when the
    /// adapter has them).
    pub fn open(adapter: wgpu::Adapter) -> Result<GpuContext> {
        let limits = wgpu::Limits::default();
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let required_features = if timestamps {
            wgpu::Features::TIMESTAMP_QUERY
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("vesselscan"),
            required_features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::Gpu(format!("cannot open {}: {e}", adapter.get_info().name)))?;
        let pipelines = pipelines::Pipelines::new(&device)?;
        Ok(GpuContext {
            adapter: report(&adapter),
            device,
            queue,
            pipelines,
            limits,
            timestamps,
        })
    }
}
