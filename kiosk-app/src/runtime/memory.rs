//! How much memory the kiosk keeps.
//!
//! glibc gives each thread that allocates its own malloc arena (up to eight per core), and an
//! arena keeps what was freed in it for reuse by that thread. The kiosk has a dozen threads, and
//! some of them handle large pictures now and then — the camera desk decodes photos and flattens
//! pages, certificate printing rasterises pages — so every such thread ends up holding tens of
//! megabytes it no longer uses. Two arenas for the whole process keep the peak of a journey
//! with document capture and a printed certificate well below the board's budget (measured in
//! docs/ARCHITECTURE.md) at no visible cost: the kiosk's threads rarely allocate at once.

/// Arenas glibc may create for the whole process.
pub const MALLOC_ARENAS: i32 = 2;

/// Limits glibc's malloc arenas to [`MALLOC_ARENAS`]. Call first thing in `main`, before any
/// thread starts. Elsewhere than glibc it does nothing.
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
        let accepted = unsafe { libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS) };
        if accepted != 1 {
            eprintln!("kiosk: the malloc arena limit was not accepted");
        }
    }
}
