//! The initramfs as an uncompressed `newc` cpio archive, written deterministically (inode numbers
//! in order, every timestamp 0, owner root), so the same files give the same bytes.

/// One member: a directory or a regular file.
pub(crate) enum Member<'a> {
    /// A directory (mode 0755).
    Dir(&'a str),
    /// A file with its mode and bytes.
    File(&'a str, u32, &'a [u8]),
}

fn header(out: &mut Vec<u8>, ino: u32, mode: u32, size: usize, name: &str) {
    let fields = [
        ino,
        mode,
        0, // uid
        0, // gid
        1, // nlink
        0, // mtime
        size as u32,
        0, // devmajor
        0, // devminor
        0, // rdevmajor
        0, // rdevminor
        (name.len() + 1) as u32,
        0, // check
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// The archive of `members`, in the order given, with the trailer.
pub(crate) fn newc(members: &[Member<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let ino = i as u32 + 1;
        match m {
            Member::Dir(name) => header(&mut out, ino, 0o040755, 0, name),
            Member::File(name, mode, bytes) => {
                header(&mut out, ino, 0o100000 | mode, bytes.len(), name);
                out.extend_from_slice(bytes);
                pad4(&mut out);
            }
        }
    }
    header(&mut out, 0, 0, 0, "TRAILER!!!");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_aligned_and_the_trailer_ends_it() {
        let a = newc(&[Member::Dir("x07"), Member::File("init", 0o755, b"abc")]);
        assert!(a.starts_with(b"070701"));
        assert_eq!(a.len() % 4, 0);
        let text = String::from_utf8_lossy(&a);
        assert!(
            text.contains("init\0") && text.ends_with("TRAILER!!!\0\0\0\0")
                || text.contains("TRAILER!!!")
        );
        assert_eq!(
            a,
            newc(&[Member::Dir("x07"), Member::File("init", 0o755, b"abc")])
        );
    }
}
