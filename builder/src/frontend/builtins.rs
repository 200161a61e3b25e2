//! The builtin table: x07 signature, parameter passing, C runtime function and fragment.
//!
//! `docs/internals/runtime-abi.md` is the contract this table implements.

use super::types::Ty;

/// How a builtin receives one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A copyable value of this type (i32, option_i32, result_i32, view-like options/results).
    Val(Ty),
    /// A `bytes_view`; a `bytes` or `vec_u8` argument is borrowed for the call.
    View,
    /// Ownership moves into the builtin.
    Own(Ty),
    /// An owned value passed without moving it (the caller keeps and later drops it).
    Ref(Ty),
    /// Like `Ref`, but the argument must be an identifier: the result borrows from it.
    Ident(Ty),
    /// Literal text (the JSON string itself), for `bytes.lit` / `bytes.view_lit`.
    Text,
    /// Any raw pointer type (unsafe code).
    AnyPtr,
}

/// One builtin function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// The x07 name (`bytes.get_u8`).
    pub name: &'static str,
    /// Parameters in order.
    pub params: &'static [ParamKind],
    /// Result type.
    pub result: Ty,
    /// Whether the C function takes a trailing `const char *at` (it can trap).
    pub traps: bool,
    /// The runtime fragment that defines it.
    pub fragment: &'static str,
}

impl Builtin {
    /// The C function name: `x7_` + the name with `.` replaced by `_`.
    pub fn c_name(&self) -> String {
        match self.name {
            // the runtime's own x7_memcpy counts copies; the unsafe builtins get their own names
            "memcpy" | "memmove" | "memset" => format!("x7_ffi_{}", self.name),
            _ => format!("x7_{}", self.name.replace('.', "_")),
        }
    }

    /// Whether the builtin is an OS capability (needs an OS world).
    pub fn is_os(&self) -> bool {
        self.fragment.starts_with("os_") || self.is_unsafe()
    }

    /// Whether the builtin reads the world's filesystem (`fs.*`: solve-fs, solve-full, run-os).
    pub fn is_fixture_fs(&self) -> bool {
        matches!(self.fragment, "fixture_fs" | "fixture_io")
    }
    /// Whether the builtin uses record/replay cassettes (`rr.*`: solve-full and run-os).
    pub fn is_rr(&self) -> bool {
        self.fragment == "rr"
    }

    /// Whether the builtin may wait for other tasks (allowed only in solve and defasync bodies).
    pub fn waits(&self) -> bool {
        matches!(
            self.name,
            "task.join.bytes"
                | "task.join.result_bytes"
                | "task.scope.await_slot_bytes_v1"
                | "task.scope.await_slot_result_bytes_v1"
                | "task.scope.wait_all_v1"
                | "task.yield"
                | "task.sleep"
                | "chan.bytes.send"
                | "chan.bytes.recv"
        )
    }

    /// Whether the builtin handles raw pointers (an OS-world capability).
    pub fn is_unsafe(&self) -> bool {
        self.fragment == "ffi"
    }

    /// Whether the builtin must sit inside an `unsafe` block: pointer arithmetic, casts, reads,
    /// writes and copies do; taking a pointer (`*.as_ptr`, `ptr.null`, `ptr.is_null`) does not,
    /// as on the public toolchain.
    pub fn needs_unsafe_block(&self) -> bool {
        self.is_unsafe()
            && !matches!(
                self.name,
                "view.as_ptr"
                    | "bytes.as_ptr"
                    | "bytes.as_mut_ptr"
                    | "vec_u8.as_mut_ptr"
                    | "ptr.null"
                    | "ptr.is_null"
            )
    }
}

use ParamKind::{AnyPtr, Ident, Own, Ref, Text, Val, View};
use Ty::{
    Bytes, BytesView, Iface, OptionBytes, OptionBytesView, OptionI32, PtrConstI32, PtrConstU8,
    PtrConstVoid, PtrMutI32, PtrMutU8, PtrMutVoid, ResultBytes, ResultBytesView, ResultI32, VecU8,
    I32,
};

const I: ParamKind = Val(I32);

macro_rules! b {
    ($name:literal, [$($p:expr),*], $res:expr, $traps:literal, $frag:literal) => {
        Builtin { name: $name, params: &[$($p),*], result: $res, traps: $traps, fragment: $frag }
    };
}

/// Every builtin, sorted by name.
pub static BUILTINS: &[Builtin] = &[
    b!("bufread.consume", [I, I], I32, true, "io"),
    b!("bufread.fill", [I], BytesView, true, "io"),
    b!("bufread.new", [Val(Iface), I], I32, true, "io"),
    b!("bytes.alloc", [I], Bytes, false, "bytes"),
    b!("bytes.as_mut_ptr", [Ident(Bytes)], PtrMutU8, false, "ffi"),
    b!("bytes.as_ptr", [Ident(Bytes)], PtrConstU8, false, "ffi"),
    b!(
        "bytes.cmp_range",
        [View, I, I, View, I, I],
        I32,
        true,
        "bytes"
    ),
    b!(
        "bytes.concat",
        [Own(Bytes), Own(Bytes)],
        Bytes,
        true,
        "bytes"
    ),
    b!("bytes.copy", [View, Own(Bytes)], Bytes, true, "bytes"),
    b!("bytes.empty", [], Bytes, false, "core"),
    b!("bytes.eq", [View, View], I32, false, "bytes"),
    b!(
        "bytes.from_ptr_v1",
        [Val(PtrConstU8), I],
        Bytes,
        false,
        "ffi"
    ),
    b!("bytes.get_u8", [View, I], I32, true, "core"),
    b!("bytes.len", [View], I32, false, "core"),
    b!("bytes.lit", [Text], Bytes, false, "core"),
    b!("bytes.set_u8", [Own(Bytes), I, I], Bytes, true, "bytes"),
    b!("bytes.slice", [View, I, I], Bytes, true, "bytes"),
    b!(
        "bytes.subview",
        [Ident(Bytes), I, I],
        BytesView,
        true,
        "core"
    ),
    b!("bytes.view", [Ident(Bytes)], BytesView, false, "core"),
    b!("bytes.view_lit", [Text], BytesView, false, "core"),
    b!("bytes1", [I], Bytes, false, "bytes"),
    b!("chan.bytes.close", [I], I32, true, "async"),
    b!("chan.bytes.new", [I], I32, true, "async"),
    b!("chan.bytes.recv", [I], Bytes, true, "async"),
    b!("chan.bytes.send", [I, Own(Bytes)], I32, true, "async"),
    b!("chan.bytes.try_recv", [I], ResultBytes, true, "async"),
    b!("chan.bytes.try_send", [I, View], I32, true, "async"),
    b!("codec.read_u32_le", [View, I], I32, true, "codec"),
    b!("codec.write_u32_le", [I], Bytes, false, "codec"),
    b!("fmt.s32_to_dec", [I], Bytes, false, "fmt"),
    b!("fmt.u32_to_dec", [I], Bytes, false, "fmt"),
    b!("fs.open_read", [View], Iface, true, "fixture_io"),
    b!("fs.read", [View], Bytes, true, "fixture_fs"),
    b!("i32.lit", [I], I32, false, "core"),
    b!("iface.make_v1", [I, I], Iface, false, "io"),
    b!("io.open_read_bytes", [View], Iface, true, "io"),
    b!("io.read", [Val(Iface), I], Bytes, true, "io"),
    b!("map_u32.contains", [I, I], I32, true, "maps"),
    b!("map_u32.dump_kv_u32le_u32le", [I], Bytes, true, "maps"),
    b!("map_u32.get", [I, I, I], I32, true, "maps"),
    b!("map_u32.len", [I], I32, true, "maps"),
    b!("map_u32.new", [I], I32, true, "maps"),
    b!("map_u32.set", [I, I, I], I32, true, "maps"),
    b!("math.f64.abs_v1", [View], Bytes, true, "f64"),
    b!("math.f64.add_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.atan2_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.ceil_v1", [View], Bytes, true, "f64"),
    b!("math.f64.cos_v1", [View], Bytes, true, "f64"),
    b!("math.f64.div_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.exp_v1", [View], Bytes, true, "f64"),
    b!("math.f64.floor_v1", [View], Bytes, true, "f64"),
    b!("math.f64.fmt_shortest_v1", [View], Bytes, true, "f64"),
    b!("math.f64.from_i32_v1", [I], Bytes, true, "f64"),
    b!("math.f64.log_v1", [View], Bytes, true, "f64"),
    b!("math.f64.max_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.min_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.mul_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.neg_v1", [View], Bytes, true, "f64"),
    b!("math.f64.parse_v1", [View], ResultBytes, true, "f64"),
    b!("math.f64.pow_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.sin_v1", [View], Bytes, true, "f64"),
    b!("math.f64.sqrt_v1", [View], Bytes, true, "f64"),
    b!("math.f64.sub_v1", [View, View], Bytes, true, "f64"),
    b!("math.f64.tan_v1", [View], Bytes, true, "f64"),
    b!("math.f64.to_bits_u64le_v1", [View], Bytes, true, "f64"),
    b!("math.f64.to_i32_trunc_v1", [View], ResultI32, true, "f64"),
    b!("memcpy", [AnyPtr, AnyPtr, I], I32, false, "ffi"),
    b!("memmove", [AnyPtr, AnyPtr, I], I32, false, "ffi"),
    b!("memset", [AnyPtr, I, I], I32, false, "ffi"),
    b!(
        "option_bytes.is_some",
        [Ref(OptionBytes)],
        I32,
        false,
        "optres"
    ),
    b!("option_bytes.none", [], OptionBytes, false, "optres"),
    b!(
        "option_bytes.some",
        [Own(Bytes)],
        OptionBytes,
        false,
        "optres"
    ),
    b!(
        "option_bytes.unwrap_or",
        [Own(OptionBytes), Own(Bytes)],
        Bytes,
        false,
        "optres"
    ),
    b!(
        "option_bytes_view.is_some",
        [Val(OptionBytesView)],
        I32,
        false,
        "optres"
    ),
    b!(
        "option_bytes_view.none",
        [],
        OptionBytesView,
        false,
        "optres"
    ),
    b!(
        "option_bytes_view.some",
        [View],
        OptionBytesView,
        false,
        "optres"
    ),
    b!(
        "option_bytes_view.unwrap_or",
        [Val(OptionBytesView), View],
        BytesView,
        false,
        "optres"
    ),
    b!("option_i32.is_some", [Val(OptionI32)], I32, false, "optres"),
    b!("option_i32.none", [], OptionI32, false, "optres"),
    b!("option_i32.some", [I], OptionI32, false, "optres"),
    b!(
        "option_i32.unwrap_or",
        [Val(OptionI32), I],
        I32,
        false,
        "optres"
    ),
    // os.db.mysql.* — MariaDB/MySQL over libmariadb (builder/runtime/os_db_mysql.h). The table is
    // sorted, so os.db.pg.* belongs between this block and os.db.redis.*.
    b!(
        "os.db.mysql.close_v1",
        [View, View],
        Bytes,
        false,
        "os_db_mysql"
    ),
    b!(
        "os.db.mysql.exec_v1",
        [View, View],
        Bytes,
        false,
        "os_db_mysql"
    ),
    b!(
        "os.db.mysql.open_v1",
        [View, View],
        Bytes,
        false,
        "os_db_mysql"
    ),
    b!(
        "os.db.mysql.query_v1",
        [View, View],
        Bytes,
        false,
        "os_db_mysql"
    ),
    // os.db.pg.* — PostgreSQL over libpq (runtime/os_db_pg.h; docs/stdlib/os-db.md).
    b!("os.db.pg.close_v1", [View, View], Bytes, false, "os_db_pg"),
    b!("os.db.pg.exec_v1", [View, View], Bytes, false, "os_db_pg"),
    b!("os.db.pg.open_v1", [View, View], Bytes, false, "os_db_pg"),
    b!("os.db.pg.query_v1", [View, View], Bytes, false, "os_db_pg"),
    // os.db.redis.* — Redis over hiredis (builder/runtime/os_db_redis.h).
    b!(
        "os.db.redis.close_v1",
        [View, View],
        Bytes,
        false,
        "os_db_redis"
    ),
    b!(
        "os.db.redis.cmd_v1",
        [View, View],
        Bytes,
        false,
        "os_db_redis"
    ),
    b!(
        "os.db.redis.open_v1",
        [View, View],
        Bytes,
        false,
        "os_db_redis"
    ),
    // os.db.sqlite.* — SQLite over libsqlite3 (runtime/os_db_sqlite.h; docs/stdlib/os-db.md).
    b!(
        "os.db.sqlite.close_v1",
        [View, View],
        Bytes,
        false,
        "os_db_sqlite"
    ),
    b!(
        "os.db.sqlite.exec_v1",
        [View, View],
        Bytes,
        false,
        "os_db_sqlite"
    ),
    b!(
        "os.db.sqlite.open_v1",
        [View, View],
        Bytes,
        false,
        "os_db_sqlite"
    ),
    b!(
        "os.db.sqlite.query_v1",
        [View, View],
        Bytes,
        false,
        "os_db_sqlite"
    ),
    b!("os.env.get", [View], Bytes, false, "os_env"),
    b!(
        "os.fs.append_all_v1",
        [View, View, View],
        ResultI32,
        false,
        "os_fs"
    ),
    b!(
        "os.fs.copy_file_v1",
        [View, View, View, View],
        ResultI32,
        false,
        "os_fs"
    ),
    b!(
        "os.fs.list_dir_sorted_text_v1",
        [View, View],
        ResultBytes,
        false,
        "os_fs"
    ),
    b!("os.fs.mkdirs_v1", [View, View], ResultI32, false, "os_fs"),
    b!(
        "os.fs.read_all_v1",
        [View, View],
        ResultBytes,
        false,
        "os_fs"
    ),
    b!("os.fs.read_file", [View], Bytes, true, "os_fs"),
    b!(
        "os.fs.remove_dir_all_v1",
        [View, View],
        ResultI32,
        false,
        "os_fs"
    ),
    b!(
        "os.fs.remove_file_v1",
        [View, View],
        ResultI32,
        false,
        "os_fs"
    ),
    b!(
        "os.fs.rename_v1",
        [View, View, View],
        ResultI32,
        false,
        "os_fs"
    ),
    b!("os.fs.stat_v1", [View, View], ResultBytes, false, "os_fs"),
    b!(
        "os.fs.write_all_v1",
        [View, View, View],
        ResultI32,
        false,
        "os_fs"
    ),
    b!("os.fs.write_file", [View, View], I32, false, "os_fs"),
    b!(
        "os.net.tcp_connect_v1",
        [View, I],
        ResultI32,
        false,
        "os_net"
    ),
    b!("os.process.drop_v1", [I], I32, false, "os_process"),
    b!("os.process.exit", [I], I32, false, "os_process"),
    b!("os.process.kill_v1", [I, I], I32, false, "os_process"),
    b!(
        "os.process.run_capture_v1",
        [View, View],
        Bytes,
        false,
        "os_process"
    ),
    b!(
        "os.process.spawn_capture_v1",
        [View, View],
        I32,
        false,
        "os_process"
    ),
    b!(
        "os.process.spawn_piped_v1",
        [View, View],
        I32,
        false,
        "os_process"
    ),
    b!(
        "os.process.stderr_read_v1",
        [I, I],
        Bytes,
        false,
        "os_process"
    ),
    b!("os.process.stdin_close_v1", [I], I32, false, "os_process"),
    b!(
        "os.process.stdin_write_v1",
        [I, View],
        I32,
        false,
        "os_process"
    ),
    b!(
        "os.process.stdout_read_v1",
        [I, I],
        Bytes,
        false,
        "os_process"
    ),
    b!("os.process.take_exit_v1", [I], I32, false, "os_process"),
    b!(
        "os.process.try_join_capture_v1",
        [I],
        OptionBytes,
        false,
        "os_process"
    ),
    b!("os.process.try_wait_v1", [I], I32, false, "os_process"),
    b!("os.rand.bytes_v1", [I, View], ResultBytes, false, "os_rand"),
    b!("os.rand.u64_v1", [View], ResultBytes, false, "os_rand"),
    b!("os.time.local_tzid_v1", [], Bytes, false, "os_time"),
    b!("os.time.now_instant_v1", [], Bytes, false, "os_time"),
    b!("os.time.now_unix_ms", [], I32, false, "os_time"),
    b!("os.time.sleep_ms_v1", [I], I32, false, "os_time"),
    b!("parse.u32_dec", [View], I32, true, "parse"),
    b!("parse.u32_dec_at", [View, I], I32, true, "parse"),
    b!("prng.lcg_next_u32", [I], I32, false, "core"),
    b!("process.set_exit_code_v1", [I], I32, false, "core"),
    b!(
        "ptr.add_const_i32",
        [Val(PtrConstI32), I],
        PtrConstI32,
        false,
        "ffi"
    ),
    b!(
        "ptr.add_const_u8",
        [Val(PtrConstU8), I],
        PtrConstU8,
        false,
        "ffi"
    ),
    b!(
        "ptr.add_const_void",
        [Val(PtrConstVoid), I],
        PtrConstVoid,
        false,
        "ffi"
    ),
    b!(
        "ptr.add_mut_i32",
        [Val(PtrMutI32), I],
        PtrMutI32,
        false,
        "ffi"
    ),
    b!("ptr.add_mut_u8", [Val(PtrMutU8), I], PtrMutU8, false, "ffi"),
    b!(
        "ptr.add_mut_void",
        [Val(PtrMutVoid), I],
        PtrMutVoid,
        false,
        "ffi"
    ),
    b!("ptr.cast_const_i32", [AnyPtr], PtrConstI32, false, "ffi"),
    b!("ptr.cast_const_u8", [AnyPtr], PtrConstU8, false, "ffi"),
    b!("ptr.cast_const_void", [AnyPtr], PtrConstVoid, false, "ffi"),
    b!("ptr.cast_mut_i32", [AnyPtr], PtrMutI32, false, "ffi"),
    b!("ptr.cast_mut_u8", [AnyPtr], PtrMutU8, false, "ffi"),
    b!("ptr.cast_mut_void", [AnyPtr], PtrMutVoid, false, "ffi"),
    b!("ptr.is_null", [AnyPtr], I32, false, "ffi"),
    b!("ptr.null", [], PtrMutVoid, false, "ffi"),
    b!("ptr.read_i32", [AnyPtr], I32, false, "ffi"),
    b!("ptr.read_u32_le", [Val(PtrConstU8)], I32, false, "ffi"),
    b!("ptr.read_u8", [AnyPtr], I32, false, "ffi"),
    b!(
        "ptr.sub_const_i32",
        [Val(PtrConstI32), I],
        PtrConstI32,
        false,
        "ffi"
    ),
    b!(
        "ptr.sub_const_u8",
        [Val(PtrConstU8), I],
        PtrConstU8,
        false,
        "ffi"
    ),
    b!(
        "ptr.sub_const_void",
        [Val(PtrConstVoid), I],
        PtrConstVoid,
        false,
        "ffi"
    ),
    b!(
        "ptr.sub_mut_i32",
        [Val(PtrMutI32), I],
        PtrMutI32,
        false,
        "ffi"
    ),
    b!("ptr.sub_mut_u8", [Val(PtrMutU8), I], PtrMutU8, false, "ffi"),
    b!(
        "ptr.sub_mut_void",
        [Val(PtrMutVoid), I],
        PtrMutVoid,
        false,
        "ffi"
    ),
    b!("ptr.write_i32", [AnyPtr, I], I32, false, "ffi"),
    b!("ptr.write_u8", [AnyPtr, I], I32, false, "ffi"),
    b!("regex.compile_opts_v1", [View, I], Bytes, true, "regex"),
    b!(
        "regex.exec_caps_from_v1",
        [View, View, I],
        Bytes,
        true,
        "regex"
    ),
    b!("regex.exec_from_v1", [View, View, I], Bytes, true, "regex"),
    b!(
        "regex.find_all_x7sl_v1",
        [View, View, I],
        Bytes,
        true,
        "regex"
    ),
    b!(
        "regex.replace_all_v1",
        [View, View, View, I],
        Bytes,
        true,
        "regex"
    ),
    b!("regex.split_v1", [View, View, I], Bytes, true, "regex"),
    b!("result_bytes.err", [I], ResultBytes, false, "optres"),
    b!(
        "result_bytes.err_code",
        [Ref(ResultBytes)],
        I32,
        false,
        "optres"
    ),
    b!(
        "result_bytes.is_ok",
        [Ref(ResultBytes)],
        I32,
        false,
        "optres"
    ),
    b!(
        "result_bytes.ok",
        [Own(Bytes)],
        ResultBytes,
        false,
        "optres"
    ),
    b!(
        "result_bytes.unwrap_or",
        [Own(ResultBytes), Own(Bytes)],
        Bytes,
        false,
        "optres"
    ),
    b!(
        "result_bytes_view.err",
        [I],
        ResultBytesView,
        false,
        "optres"
    ),
    b!(
        "result_bytes_view.err_code",
        [Val(ResultBytesView)],
        I32,
        false,
        "optres"
    ),
    b!(
        "result_bytes_view.is_ok",
        [Val(ResultBytesView)],
        I32,
        false,
        "optres"
    ),
    b!(
        "result_bytes_view.ok",
        [View],
        ResultBytesView,
        false,
        "optres"
    ),
    b!(
        "result_bytes_view.unwrap_or",
        [Val(ResultBytesView), View],
        BytesView,
        false,
        "optres"
    ),
    b!("result_i32.err", [I], ResultI32, false, "optres"),
    b!(
        "result_i32.err_code",
        [Val(ResultI32)],
        I32,
        false,
        "optres"
    ),
    b!("result_i32.is_ok", [Val(ResultI32)], I32, false, "optres"),
    b!("result_i32.ok", [I], ResultI32, false, "optres"),
    b!(
        "result_i32.unwrap_or",
        [Val(ResultI32), I],
        I32,
        false,
        "optres"
    ),
    // record/replay cassettes (docs/rr.md); std.rr wraps them
    b!("rr.append_v1", [I, View], ResultI32, true, "rr"),
    b!("rr.close_v1", [I], I32, false, "rr"),
    b!("rr.current_v1", [], I32, false, "rr"),
    b!("rr.entry_err_v1", [View], I32, true, "rr"),
    b!("rr.entry_resp_v1", [View], Bytes, true, "rr"),
    b!("rr.next_v1", [I, View, View, View], ResultBytes, true, "rr"),
    b!("rr.open_v1", [View], ResultI32, false, "rr"),
    b!("rr.stats_v1", [I], Bytes, true, "rr"),
    b!("set_u32.add", [I, I], I32, true, "maps"),
    b!("set_u32.contains", [I, I], I32, true, "maps"),
    b!("set_u32.dump_u32le", [I], Bytes, true, "maps"),
    b!("set_u32.new", [I], I32, true, "maps"),
    // brands tag bytes-like values in signatures but are not checked at call sites (the public
    // compiler does not enforce them either: shared/reference/ecosystem.md §0.3), so these are
    // the identity and `bytes.view`
    b!(
        "std.brand.erase_bytes_v1",
        [Own(Bytes)],
        Bytes,
        false,
        "core"
    ),
    b!("std.brand.erase_view_v1", [View], BytesView, false, "core"),
    b!(
        "std.brand.view_v1",
        [Ident(Bytes)],
        BytesView,
        false,
        "core"
    ),
    b!("task.is_finished", [I], I32, true, "async"),
    b!("task.join.bytes", [I], Bytes, true, "async"),
    b!("task.join.result_bytes", [I], ResultBytes, true, "async"),
    b!("task.scope.async_let_bytes_v1", [I], I32, true, "async"),
    b!(
        "task.scope.async_let_result_bytes_v1",
        [I],
        I32,
        true,
        "async"
    ),
    b!("task.scope.await_slot_bytes_v1", [I], Bytes, true, "async"),
    b!(
        "task.scope.await_slot_result_bytes_v1",
        [I],
        ResultBytes,
        true,
        "async"
    ),
    b!("task.scope.slot_is_finished_v1", [I], I32, true, "async"),
    b!("task.scope.start_soon_v1", [I], I32, true, "async"),
    b!("task.scope.wait_all_v1", [], I32, true, "async"),
    b!("task.sleep", [I], I32, true, "async"),
    b!("task.spawn", [I], I32, true, "async"),
    b!("task.yield", [], I32, true, "async"),
    b!("vec_u8.as_mut_ptr", [Ident(VecU8)], PtrMutU8, false, "ffi"),
    b!("vec_u8.as_view", [Ident(VecU8)], BytesView, false, "core"),
    b!("vec_u8.cap", [Ref(VecU8)], I32, false, "vec"),
    b!("vec_u8.clear", [Own(VecU8)], VecU8, false, "vec"),
    b!(
        "vec_u8.extend_bytes",
        [Own(VecU8), View],
        VecU8,
        false,
        "vec"
    ),
    b!(
        "vec_u8.extend_bytes_range",
        [Own(VecU8), View, I, I],
        VecU8,
        true,
        "vec"
    ),
    b!("vec_u8.extend_zeroes", [Own(VecU8), I], VecU8, false, "vec"),
    b!("vec_u8.get", [Ref(VecU8), I], I32, true, "vec"),
    b!("vec_u8.into_bytes", [Own(VecU8)], Bytes, false, "vec"),
    b!("vec_u8.len", [Ref(VecU8)], I32, false, "vec"),
    b!("vec_u8.push", [Own(VecU8), I], VecU8, false, "vec"),
    b!("vec_u8.reserve_exact", [Own(VecU8), I], VecU8, false, "vec"),
    b!("vec_u8.set", [Own(VecU8), I, I], VecU8, true, "vec"),
    b!("vec_u8.with_capacity", [I], VecU8, false, "vec"),
    b!("view.as_ptr", [View], PtrConstU8, false, "ffi"),
    b!(
        "view.cmp_range",
        [View, I, I, View, I, I],
        I32,
        true,
        "bytes"
    ),
    b!("view.eq", [View, View], I32, false, "bytes"),
    b!("view.get_u8", [View, I], I32, true, "core"),
    b!("view.len", [View], I32, false, "core"),
    b!("view.slice", [View, I, I], BytesView, true, "core"),
    b!("view.to_bytes", [View], Bytes, false, "core"),
];

/// Looks a builtin up by name.
pub fn lookup(name: &str) -> Option<&'static Builtin> {
    BUILTINS
        .binary_search_by(|b| b.name.cmp(name))
        .ok()
        .map(|i| &BUILTINS[i])
}

/// Namespaces that only builtins use: an unknown name in them is an unknown *builtin*.
pub fn is_builtin_namespace(name: &str) -> bool {
    let ns = name.split('.').next().unwrap_or("");
    matches!(
        ns,
        "bytes"
            | "math"
            | "regex"
            | "map_u32"
            | "set_u32"
            | "memcpy"
            | "memmove"
            | "memset"
            | "view"
            | "vec_u8"
            | "codec"
            | "fmt"
            | "parse"
            | "i32"
            | "prng"
            | "option_i32"
            | "option_bytes"
            | "option_bytes_view"
            | "result_i32"
            | "result_bytes"
            | "result_bytes_view"
            | "os"
            | "process"
            | "ptr"
    ) || name == "bytes1"
}

/// Binary operators `(i32, i32) -> i32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+` wrapping.
    Add,
    /// `-` wrapping.
    Sub,
    /// `*` wrapping.
    Mul,
    /// `/` unsigned, x/0 = 0.
    Div,
    /// `%` unsigned, x%0 = x.
    Rem,
    /// `&`.
    And,
    /// `|`.
    Or,
    /// `^`.
    Xor,
    /// `<<u` (count masked by 31).
    Shl,
    /// `>>u` logical (count masked by 31).
    Shr,
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<` signed.
    Lt,
    /// `<=` signed.
    Le,
    /// `>` signed.
    Gt,
    /// `>=` signed.
    Ge,
    /// `<u`.
    LtU,
    /// `<=u`.
    LeU,
    /// `>u`.
    GtU,
    /// `>=u`.
    GeU,
}

impl BinOp {
    /// Parses an operator head.
    pub fn parse(head: &str) -> Option<BinOp> {
        Some(match head {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Rem,
            "&" => BinOp::And,
            "|" => BinOp::Or,
            "^" => BinOp::Xor,
            "<<u" => BinOp::Shl,
            ">>u" => BinOp::Shr,
            "=" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "<u" => BinOp::LtU,
            "<=u" => BinOp::LeU,
            ">u" => BinOp::GtU,
            ">=u" => BinOp::GeU,
            _ => return None,
        })
    }

    /// Whether the C expression repeats an operand (so operands must be plain names or literals).
    pub fn repeats_operands(self) -> bool {
        matches!(self, BinOp::Div | BinOp::Rem)
    }

    /// C expression for the operator applied to two `uint32_t` C expressions.
    pub fn c_expr(self, a: &str, b: &str) -> String {
        match self {
            BinOp::Add => format!("({a} + {b})"),
            BinOp::Sub => format!("({a} - {b})"),
            BinOp::Mul => format!("({a} * {b})"),
            BinOp::Div => format!("({b} ? {a} / {b} : 0u)"),
            BinOp::Rem => format!("({b} ? {a} % {b} : {a})"),
            BinOp::And => format!("({a} & {b})"),
            BinOp::Or => format!("({a} | {b})"),
            BinOp::Xor => format!("({a} ^ {b})"),
            BinOp::Shl => format!("({a} << ({b} & 31u))"),
            BinOp::Shr => format!("({a} >> ({b} & 31u))"),
            BinOp::Eq => format!("(uint32_t)({a} == {b})"),
            BinOp::Ne => format!("(uint32_t)({a} != {b})"),
            BinOp::Lt => format!("(uint32_t)((int32_t){a} < (int32_t){b})"),
            BinOp::Le => format!("(uint32_t)((int32_t){a} <= (int32_t){b})"),
            BinOp::Gt => format!("(uint32_t)((int32_t){a} > (int32_t){b})"),
            BinOp::Ge => format!("(uint32_t)((int32_t){a} >= (int32_t){b})"),
            BinOp::LtU => format!("(uint32_t)({a} < {b})"),
            BinOp::LeU => format!("(uint32_t)({a} <= {b})"),
            BinOp::GtU => format!("(uint32_t)({a} > {b})"),
            BinOp::GeU => format!("(uint32_t)({a} >= {b})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for w in BUILTINS.windows(2) {
            assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
        }
        assert_eq!(lookup("view.get_u8").unwrap().c_name(), "x7_view_get_u8");
        assert!(lookup("nope").is_none());
    }
}
