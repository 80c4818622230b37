//! Compiles the `.slint` screens, bundling the Chinese translation of the UI strings.
//!
//! Builds other than release keep the element debug info Slint's testing backend needs to walk
//! the screens (the accessibility check) and find controls by their accessible labels (the
//! interaction tests); release builds, which run on terminals and in the benchmarks, leave it
//! out.

fn main() {
    println!("cargo:rerun-if-env-changed=PROFILE");
    let debug_info = std::env::var("PROFILE").as_deref() != Ok("release");
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(debug_info)
        .with_style("fluent".into())
        .with_bundled_translations("translations")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
        eprintln!("cannot compile the UI: {e}");
        std::process::exit(1);
    }
}
