//! Compiles the `.slint` screens, bundling the Chinese translation of the UI strings.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        .with_style("fluent".into())
        .with_bundled_translations("translations")
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        // Element names in the compiled tree, so the accessibility test can walk every page
        // (static strings only: no cost at run time).
        .with_debug_info(true);
    if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
        eprintln!("cannot compile the UI: {e}");
        std::process::exit(1);
    }
}
