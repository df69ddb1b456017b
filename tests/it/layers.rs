//! The layers' import rules (docs/architecture.md), read off the sources: each layer
//! imports only the layers below it.

use crate::support::rust_sources as sources;
use std::path::Path;

/// The files of `layer` (a folder of src/) that name any of `forbidden` (`crate::web`…).
fn offenders(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(layer),
        &mut files,
    );
    assert!(!files.is_empty(), "src/{layer} has sources");
    let mut found = Vec::new();
    for (path, text) in files {
        for (n, line) in text.lines().enumerate() {
            // Doc comments may mention other layers; code may not use them.
            if line.trim_start().starts_with("//") {
                continue;
            }
            for f in forbidden {
                if line.contains(f) {
                    found.push(format!("{path}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn the_domain_imports_no_other_layer() {
    let found = offenders(
        "domain",
        &[
            "crate::store",
            "crate::service",
            "crate::web",
            "crate::render",
            "crate::config",
            "sea_orm",
            "rocket",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_store_and_the_renderers_import_only_the_domain() {
    let mut found = offenders(
        "store",
        &[
            "crate::service",
            "crate::web",
            "crate::render",
            "crate::config",
            "rocket",
        ],
    );
    found.extend(offenders(
        "render",
        &["crate::store", "crate::service", "crate::web", "sea_orm"],
    ));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_services_import_no_web_and_the_web_reads_no_store() {
    let mut found = offenders("service", &["crate::web", "rocket::"]);
    found.extend(offenders(
        "web",
        &["crate::store", "sea_orm::entity", "store::entities"],
    ));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_command_line_is_on_top() {
    let mut found = Vec::new();
    for layer in ["domain", "store", "render", "service", "web"] {
        found.extend(offenders(layer, &["crate::cli"]));
    }
    assert!(found.is_empty(), "{found:#?}");
}
