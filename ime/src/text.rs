//! Text crossing from the C libraries into the terminal.

use std::ffi::{CStr, c_char};

/// Owned text from a C string, without control characters: whatever the libraries' data
/// holds, a candidate can never move a cursor, ring a bell or break a line in a form field.
/// A null pointer reads as empty.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that stays valid for the call.
pub(crate) unsafe fn from_c(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: the caller promises a valid NUL-terminated string.
    let raw = unsafe { CStr::from_ptr(p) };
    raw.to_string_lossy()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_leave() {
        let raw = c"\x1b[2J\u{7}\u{85}中\n文\t";
        assert_eq!(unsafe { from_c(raw.as_ptr()) }, "[2J中文");
        assert_eq!(unsafe { from_c(std::ptr::null()) }, "");
    }
}
