//! librime's C API as `rime_api.h` (librime 1.8) declares it: the version-controlled table of
//! function pointers from `rime_get_api()`. Several of the functions the composer needs
//! (choosing on the current page, the raw input) exist only in that table, not as exported C
//! symbols. The table is declared up to the last member used; members after it are never
//! reached, and each struct's `data_size` tells librime which members the caller knows.

#![allow(non_camel_case_types, dead_code)]

use std::ffi::{c_char, c_int, c_void};

pub type RimeSessionId = usize;
pub type Bool = c_int;

#[repr(C)]
pub struct RimeTraits {
    pub data_size: c_int,
    pub shared_data_dir: *const c_char,
    pub user_data_dir: *const c_char,
    pub distribution_name: *const c_char,
    pub distribution_code_name: *const c_char,
    pub distribution_version: *const c_char,
    pub app_name: *const c_char,
    pub modules: *const *const c_char,
    pub min_log_level: c_int,
    pub log_dir: *const c_char,
    pub prebuilt_data_dir: *const c_char,
    pub staging_dir: *const c_char,
}

#[repr(C)]
pub struct RimeComposition {
    pub length: c_int,
    pub cursor_pos: c_int,
    pub sel_start: c_int,
    pub sel_end: c_int,
    pub preedit: *mut c_char,
}

#[repr(C)]
pub struct RimeCandidate {
    pub text: *mut c_char,
    pub comment: *mut c_char,
    pub reserved: *mut c_void,
}

#[repr(C)]
pub struct RimeMenu {
    pub page_size: c_int,
    pub page_no: c_int,
    pub is_last_page: Bool,
    pub highlighted_candidate_index: c_int,
    pub num_candidates: c_int,
    pub candidates: *mut RimeCandidate,
    pub select_keys: *mut c_char,
}

#[repr(C)]
pub struct RimeCommit {
    pub data_size: c_int,
    pub text: *mut c_char,
}

#[repr(C)]
pub struct RimeContext {
    pub data_size: c_int,
    pub composition: RimeComposition,
    pub menu: RimeMenu,
    pub commit_text_preview: *mut c_char,
    pub select_labels: *mut *mut c_char,
}

/// `RIME_STRUCT_INIT`: the size of what follows `data_size`.
pub const fn data_size<T>() -> c_int {
    (std::mem::size_of::<T>() - std::mem::size_of::<c_int>()) as c_int
}

type Opaque = *const c_void;

#[repr(C)]
pub struct RimeApi {
    pub data_size: c_int,
    pub setup: unsafe extern "C" fn(*mut RimeTraits),
    pub set_notification_handler: Opaque,
    pub initialize: unsafe extern "C" fn(*mut RimeTraits),
    pub finalize: unsafe extern "C" fn(),
    pub start_maintenance: unsafe extern "C" fn(Bool) -> Bool,
    pub is_maintenance_mode: unsafe extern "C" fn() -> Bool,
    pub join_maintenance_thread: unsafe extern "C" fn(),
    pub deployer_initialize: unsafe extern "C" fn(*mut RimeTraits),
    pub prebuild: unsafe extern "C" fn() -> Bool,
    pub deploy: unsafe extern "C" fn() -> Bool,
    pub deploy_schema: unsafe extern "C" fn(*const c_char) -> Bool,
    pub deploy_config_file: unsafe extern "C" fn(*const c_char, *const c_char) -> Bool,
    pub sync_user_data: unsafe extern "C" fn() -> Bool,
    pub create_session: unsafe extern "C" fn() -> RimeSessionId,
    pub find_session: unsafe extern "C" fn(RimeSessionId) -> Bool,
    pub destroy_session: unsafe extern "C" fn(RimeSessionId) -> Bool,
    pub cleanup_stale_sessions: unsafe extern "C" fn(),
    pub cleanup_all_sessions: unsafe extern "C" fn(),
    pub process_key: unsafe extern "C" fn(RimeSessionId, c_int, c_int) -> Bool,
    pub commit_composition: unsafe extern "C" fn(RimeSessionId) -> Bool,
    pub clear_composition: unsafe extern "C" fn(RimeSessionId),
    pub get_commit: unsafe extern "C" fn(RimeSessionId, *mut RimeCommit) -> Bool,
    pub free_commit: unsafe extern "C" fn(*mut RimeCommit) -> Bool,
    pub get_context: unsafe extern "C" fn(RimeSessionId, *mut RimeContext) -> Bool,
    pub free_context: unsafe extern "C" fn(*mut RimeContext) -> Bool,
    pub get_status: Opaque,
    pub free_status: Opaque,
    pub set_option: unsafe extern "C" fn(RimeSessionId, *const c_char, Bool),
    pub get_option: unsafe extern "C" fn(RimeSessionId, *const c_char) -> Bool,
    pub set_property: Opaque,
    pub get_property: Opaque,
    pub get_schema_list: Opaque,
    pub free_schema_list: Opaque,
    pub get_current_schema: unsafe extern "C" fn(RimeSessionId, *mut c_char, usize) -> Bool,
    pub select_schema: unsafe extern "C" fn(RimeSessionId, *const c_char) -> Bool,
    pub schema_open: Opaque,
    pub config_open: Opaque,
    pub config_close: Opaque,
    pub config_get_bool: Opaque,
    pub config_get_int: Opaque,
    pub config_get_double: Opaque,
    pub config_get_string: Opaque,
    pub config_get_cstring: Opaque,
    pub config_update_signature: Opaque,
    pub config_begin_map: Opaque,
    pub config_next: Opaque,
    pub config_end: Opaque,
    pub simulate_key_sequence: Opaque,
    pub register_module: Opaque,
    pub find_module: Opaque,
    pub run_task: Opaque,
    pub get_shared_data_dir: Opaque,
    pub get_user_data_dir: Opaque,
    pub get_sync_dir: Opaque,
    pub get_user_id: Opaque,
    pub get_user_data_sync_dir: Opaque,
    pub config_init: Opaque,
    pub config_load_string: Opaque,
    pub config_set_bool: Opaque,
    pub config_set_int: Opaque,
    pub config_set_double: Opaque,
    pub config_set_string: Opaque,
    pub config_get_item: Opaque,
    pub config_set_item: Opaque,
    pub config_clear: Opaque,
    pub config_create_list: Opaque,
    pub config_create_map: Opaque,
    pub config_list_size: Opaque,
    pub config_begin_list: Opaque,
    pub get_input: unsafe extern "C" fn(RimeSessionId) -> *const c_char,
    pub get_caret_pos: unsafe extern "C" fn(RimeSessionId) -> usize,
    pub select_candidate: unsafe extern "C" fn(RimeSessionId, usize) -> Bool,
    pub get_version: unsafe extern "C" fn() -> *const c_char,
    pub set_caret_pos: unsafe extern "C" fn(RimeSessionId, usize),
    pub select_candidate_on_current_page: unsafe extern "C" fn(RimeSessionId, usize) -> Bool,
}

/// Byte offset just past the last member declared above: librime's table must be at least
/// this large (its `data_size` counts from after the `data_size` member itself).
pub const fn required_data_size() -> c_int {
    data_size::<RimeApi>()
}

#[link(name = "rime")]
unsafe extern "C" {
    pub fn rime_get_api() -> *const RimeApi;
}

/// X11 key symbols librime's key binder and editor understand (`rime/key_table.h`).
pub const XK_BACKSPACE: c_int = 0xff08;
pub const XK_PAGE_UP: c_int = 0xff55;
pub const XK_PAGE_DOWN: c_int = 0xff56;

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// The layouts agree with `rime_api.h` as a C compiler lays it out on a 64-bit target
    /// (offsets measured with gcc against librime-dev 1.8.5).
    #[test]
    fn layouts_match_the_c_header() {
        assert_eq!(
            std::mem::offset_of!(RimeApi, select_candidate_on_current_page),
            600
        );
        assert_eq!(std::mem::size_of::<RimeTraits>(), 96);
        assert_eq!(std::mem::size_of::<RimeContext>(), 88);
        assert_eq!(std::mem::size_of::<RimeCommit>(), 16);
    }
}
