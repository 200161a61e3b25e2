//! The uncompressed kernel inside a Debian `vmlinuz` (a bzImage whose payload is xz): qemu's
//! microvm boots the ELF `vmlinux` directly through its PVH entry, which is faster than letting
//! the kernel decompress itself under TCG (docs/vm.md).

use xz2::stream::{Action, Status, Stream};

/// The xz stream magic.
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// The ELF vmlinux compressed inside `bzimage`.
pub(crate) fn extract(bzimage: &[u8]) -> Result<Vec<u8>, String> {
    let mut from = 0;
    while let Some(at) = find(&bzimage[from..], &XZ_MAGIC).map(|i| i + from) {
        if let Some(out) = one_stream(&bzimage[at..]).filter(|o| o.starts_with(b"\x7fELF")) {
            return Ok(out);
        }
        from = at + 1;
    }
    Err("no xz-compressed ELF kernel inside it (not a Debian x86_64 vmlinuz?)".into())
}

/// Decodes the one xz stream at the start of `input`, ignoring what follows it (the bzImage's
/// trailer); `None` when it is not a valid stream.
fn one_stream(input: &[u8]) -> Option<Vec<u8>> {
    let mut stream = Stream::new_stream_decoder(u64::MAX, 0).ok()?;
    let mut out: Vec<u8> = Vec::with_capacity(64 << 20);
    loop {
        let consumed = usize::try_from(stream.total_in()).ok()?;
        if out.len() == out.capacity() {
            out.reserve(16 << 20);
        }
        let produced = out.len();
        match stream
            .process_vec(input.get(consumed..)?, &mut out, Action::Run)
            .ok()?
        {
            Status::StreamEnd => return Some(out),
            _ if stream.total_in() as usize == consumed && out.len() == produced => return None,
            _ => {}
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
