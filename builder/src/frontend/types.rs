//! The types of the X07 core language.

use std::fmt;

/// A value type (plus `Never`, the type of `return`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// 32-bit integer; arithmetic wraps, `u32` is an alias.
    I32,
    /// Owned byte string.
    Bytes,
    /// Borrowed byte string.
    BytesView,
    /// Owned growable byte vector.
    VecU8,
    /// Optional i32.
    OptionI32,
    /// Optional owned bytes.
    OptionBytes,
    /// Optional view.
    OptionBytesView,
    /// i32 or an error code.
    ResultI32,
    /// Owned bytes or an error code.
    ResultBytes,
    /// A view or an error code.
    ResultBytesView,
    /// The type of an expression that does not return (`return`).
    Never,
    /// `ptr_const_u8`: a raw pointer for C calls (unsafe code only).
    PtrConstU8,
    /// `ptr_mut_u8`.
    PtrMutU8,
    /// `ptr_const_void`.
    PtrConstVoid,
    /// `ptr_mut_void`.
    PtrMutVoid,
    /// `ptr_const_i32`.
    PtrConstI32,
    /// `ptr_mut_i32`.
    PtrMutI32,
    /// A reader: a data word and a vtable id (copied freely).
    Iface,
}

/// How values of a type behave under the ownership rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Copied freely (i32, option_i32, result_i32).
    Copy,
    /// Moved on use in a value position, dropped at scope end.
    Owned,
    /// Borrows from owners; copied freely but may not outlive them.
    View,
}

impl Ty {
    /// Parses a type token of the surface syntax (`"i32"`, `"bytes_view"`, ...).
    pub fn parse(token: &str) -> Option<Ty> {
        Some(match token {
            "i32" | "u32" => Ty::I32,
            "bytes" => Ty::Bytes,
            "bytes_view" => Ty::BytesView,
            "vec_u8" => Ty::VecU8,
            "option_i32" => Ty::OptionI32,
            "option_bytes" => Ty::OptionBytes,
            "option_bytes_view" => Ty::OptionBytesView,
            "result_i32" => Ty::ResultI32,
            "result_bytes" => Ty::ResultBytes,
            "result_bytes_view" => Ty::ResultBytesView,
            "ptr_const_u8" => Ty::PtrConstU8,
            "ptr_mut_u8" => Ty::PtrMutU8,
            "ptr_const_void" => Ty::PtrConstVoid,
            "ptr_mut_void" => Ty::PtrMutVoid,
            "ptr_const_i32" => Ty::PtrConstI32,
            "ptr_mut_i32" => Ty::PtrMutI32,
            "iface" => Ty::Iface,
            _ => return None,
        })
    }

    /// Type tokens that exist in x07 but that this compiler does not support yet.
    pub fn is_known_unsupported(token: &str) -> bool {
        matches!(token, "f64" | "result_result_bytes")
    }

    /// The ownership class of the type.
    pub fn ownership(self) -> Ownership {
        match self {
            Ty::Bytes | Ty::VecU8 | Ty::OptionBytes | Ty::ResultBytes => Ownership::Owned,
            Ty::BytesView | Ty::OptionBytesView | Ty::ResultBytesView => Ownership::View,
            Ty::I32 | Ty::OptionI32 | Ty::ResultI32 | Ty::Never => Ownership::Copy,
            Ty::PtrConstU8
            | Ty::PtrMutU8
            | Ty::PtrConstVoid
            | Ty::PtrMutVoid
            | Ty::PtrConstI32
            | Ty::PtrMutI32
            | Ty::Iface => Ownership::Copy,
        }
    }

    /// Whether values of the type are owned (moved, dropped).
    pub fn is_owned(self) -> bool {
        self.ownership() == Ownership::Owned
    }

    /// Whether values of the type borrow from an owner.
    pub fn is_view_like(self) -> bool {
        self.ownership() == Ownership::View
    }

    /// The surface name.
    pub fn name(self) -> &'static str {
        match self {
            Ty::I32 => "i32",
            Ty::Bytes => "bytes",
            Ty::BytesView => "bytes_view",
            Ty::VecU8 => "vec_u8",
            Ty::OptionI32 => "option_i32",
            Ty::OptionBytes => "option_bytes",
            Ty::OptionBytesView => "option_bytes_view",
            Ty::ResultI32 => "result_i32",
            Ty::ResultBytes => "result_bytes",
            Ty::ResultBytesView => "result_bytes_view",
            Ty::Never => "never",
            Ty::PtrConstU8 => "ptr_const_u8",
            Ty::PtrMutU8 => "ptr_mut_u8",
            Ty::PtrConstVoid => "ptr_const_void",
            Ty::PtrMutVoid => "ptr_mut_void",
            Ty::PtrConstI32 => "ptr_const_i32",
            Ty::PtrMutI32 => "ptr_mut_i32",
            Ty::Iface => "iface",
        }
    }

    /// The C type of the runtime (`docs/internals/runtime-abi.md`).
    pub fn c_type(self) -> &'static str {
        match self {
            Ty::I32 | Ty::Never => "uint32_t",
            Ty::Bytes => "x7_bytes",
            Ty::BytesView => "x7_view",
            Ty::VecU8 => "x7_vec",
            Ty::OptionI32 => "x7_opt_i32",
            Ty::OptionBytes => "x7_opt_bytes",
            Ty::OptionBytesView => "x7_opt_view",
            Ty::ResultI32 => "x7_res_i32",
            Ty::ResultBytes => "x7_res_bytes",
            Ty::ResultBytesView => "x7_res_view",
            Ty::PtrConstU8 => "const uint8_t *",
            Ty::PtrMutU8 => "uint8_t *",
            Ty::PtrConstVoid => "const void *",
            Ty::PtrMutVoid => "void *",
            Ty::PtrConstI32 => "const uint32_t *",
            Ty::PtrMutI32 => "uint32_t *",
            Ty::Iface => "x7_iface",
        }
    }

    /// Whether this is one of the raw pointer types of unsafe code.
    pub fn is_pointer(self) -> bool {
        matches!(
            self,
            Ty::PtrConstU8
                | Ty::PtrMutU8
                | Ty::PtrConstVoid
                | Ty::PtrMutVoid
                | Ty::PtrConstI32
                | Ty::PtrMutI32
        )
    }

    /// A C expression for the empty (moved-from / zero) value.
    pub fn c_empty(self) -> &'static str {
        match self {
            Ty::I32 | Ty::Never => "0",
            Ty::Bytes => "X7_EMPTY_BYTES",
            Ty::BytesView => "X7_EMPTY_VIEW",
            Ty::VecU8 => "X7_EMPTY_VEC",
            Ty::OptionI32 => "((x7_opt_i32){0, 0})",
            Ty::OptionBytes => "((x7_opt_bytes){0, X7_EMPTY_BYTES})",
            Ty::OptionBytesView => "((x7_opt_view){0, X7_EMPTY_VIEW})",
            Ty::ResultI32 => "((x7_res_i32){0, 0})",
            Ty::ResultBytes => "((x7_res_bytes){0, 0, X7_EMPTY_BYTES})",
            Ty::ResultBytesView => "((x7_res_view){0, 0, X7_EMPTY_VIEW})",
            Ty::PtrConstU8
            | Ty::PtrMutU8
            | Ty::PtrConstVoid
            | Ty::PtrMutVoid
            | Ty::PtrConstI32
            | Ty::PtrMutI32 => "0",
            Ty::Iface => "((x7_iface){0, 0})",
        }
    }

    /// The C drop function for owned types.
    pub fn c_drop(self) -> Option<&'static str> {
        match self {
            Ty::Bytes => Some("x7_bytes_drop"),
            Ty::VecU8 => Some("x7_vec_drop"),
            Ty::OptionBytes => Some("x7_opt_bytes_drop"),
            Ty::ResultBytes => Some("x7_res_bytes_drop"),
            _ => None,
        }
    }

    /// Whether `self` can stand where `expected` is needed (`Never` fits anywhere).
    pub fn fits(self, expected: Ty) -> bool {
        self == expected || self == Ty::Never
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
