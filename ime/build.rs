//! Links librime and zinnia as Debian installs them (`scripts/install-deps`), found through
//! pkg-config so a machine without the -dev packages fails here with the package to install,
//! not at link time with a missing symbol.

fn main() {
    for (library, package) in [("rime", "librime-dev"), ("zinnia", "libzinnia-dev")] {
        if let Err(e) = pkg_config::Config::new().probe(library) {
            eprintln!(
                "cannot find {library} through pkg-config ({e}); install {package} (scripts/install-deps)"
            );
            std::process::exit(1);
        }
    }
}
