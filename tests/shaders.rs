//! Every WGSL kernel parses and validates with naga: shader errors fail here, without a GPU.

use vesselscan::gpu::pipelines::{source, validate_all, STAGES};

#[test]
fn every_shader_validates() {
    if let Err((stage, e)) = validate_all() {
        panic!("shaders/{stage}.wgsl: {e}");
    }
    let names: Vec<&str> = STAGES.iter().map(|s| s.0).collect();
    for stage in [
        "mask",
        "label_merge",
        "label_compact",
        "measure",
        "seam_export",
        "histogram",
    ] {
        assert!(names.contains(&stage), "{stage} is not registered");
    }
}

#[test]
fn every_shader_file_is_registered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_str().unwrap().to_owned();
        if stem == "common" {
            continue;
        }
        assert!(
            STAGES.iter().any(|s| s.0 == stem),
            "shaders/{stem}.wgsl is not in STAGES"
        );
        // Each stage has its CPU twin of the same name.
        let twin =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/cpu/{stem}.rs"));
        assert!(
            twin.exists(),
            "no CPU twin src/cpu/{stem}.rs for shaders/{stem}.wgsl"
        );
    }
}

#[test]
fn validation_catches_errors() {
    // The check above can fail: a type error in a kernel is reported.
    let bad = source(STAGES[0].1).replace("var bits = 0u;", "var bits = 0.5;");
    let module = naga::front::wgsl::parse_str(&bad);
    let failed = match module {
        Err(_) => true,
        Ok(m) => naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&m)
        .is_err(),
    };
    assert!(failed);
}
