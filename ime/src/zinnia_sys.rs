//! The part of zinnia's C API (`zinnia.h`, zinnia 0.06) the recogniser uses.

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_float, c_int};

#[repr(C)]
pub struct zinnia_recognizer_t {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct zinnia_character_t {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct zinnia_result_t {
    _opaque: [u8; 0],
}

#[link(name = "zinnia")]
unsafe extern "C" {
    pub fn zinnia_recognizer_new() -> *mut zinnia_recognizer_t;
    pub fn zinnia_recognizer_destroy(recognizer: *mut zinnia_recognizer_t);
    pub fn zinnia_recognizer_open(
        recognizer: *mut zinnia_recognizer_t,
        filename: *const c_char,
    ) -> c_int;
    pub fn zinnia_recognizer_strerror(recognizer: *mut zinnia_recognizer_t) -> *const c_char;
    pub fn zinnia_recognizer_classify(
        recognizer: *mut zinnia_recognizer_t,
        character: *const zinnia_character_t,
        nbest: usize,
    ) -> *mut zinnia_result_t;

    pub fn zinnia_character_new() -> *mut zinnia_character_t;
    pub fn zinnia_character_destroy(character: *mut zinnia_character_t);
    pub fn zinnia_character_set_width(character: *mut zinnia_character_t, width: usize);
    pub fn zinnia_character_set_height(character: *mut zinnia_character_t, height: usize);
    pub fn zinnia_character_add(
        character: *mut zinnia_character_t,
        id: usize,
        x: c_int,
        y: c_int,
    ) -> c_int;

    pub fn zinnia_result_value(result: *mut zinnia_result_t, i: usize) -> *const c_char;
    pub fn zinnia_result_score(result: *mut zinnia_result_t, i: usize) -> c_float;
    pub fn zinnia_result_size(result: *mut zinnia_result_t) -> usize;
    pub fn zinnia_result_destroy(result: *mut zinnia_result_t);
}
