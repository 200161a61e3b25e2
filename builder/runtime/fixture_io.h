/* x07-fragment: requires=core,fixture_fs,io */
/* fixture_io: `fs.open_read`, a reader over a file of the world's filesystem (as `fs.read`). */

X7_FN x7_iface x7_fs_open_read(x7_view path, const char *at) {
    x7_bytes b = x7_fs_read(path, at);
    x7_iface r = x7_io_open_read_bytes((x7_view){b.ptr, b.len}, at);
    x7_bytes_drop(b);
    return r;
}
