//! Reading a Debian kernel package without installing it: the `ar` archive, its
//! `data.tar.xz`, and from it the compressed kernel and the modules the guest needs.

use std::collections::BTreeMap;
use std::io::Read;

/// What the image takes from the package.
#[derive(Debug)]
pub(crate) struct KernelFiles {
    /// The kernel release (`6.1.0-57-amd64`).
    pub release: String,
    /// `boot/vmlinuz-<release>`.
    pub vmlinuz: Vec<u8>,
    /// Wanted module file name → its path under `lib/modules/<release>/` and bytes.
    pub modules: BTreeMap<String, (String, Vec<u8>)>,
}

/// The members of an `ar` archive: name → bytes.
fn ar_members(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, String> {
    let rest = bytes
        .strip_prefix(b"!<arch>\n")
        .ok_or("not a Debian package (no ar header)")?;
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 60 <= rest.len() {
        let h = &rest[at..at + 60];
        let name = String::from_utf8_lossy(&h[..16])
            .trim()
            .trim_end_matches('/')
            .to_string();
        let size: usize = String::from_utf8_lossy(&h[48..58])
            .trim()
            .parse()
            .map_err(|_| format!("bad ar member size for `{name}`"))?;
        let start = at + 60;
        let end = start
            .checked_add(size)
            .filter(|e| *e <= rest.len())
            .ok_or("a truncated ar member")?;
        out.push((name, &rest[start..end]));
        at = end + (size % 2);
    }
    Ok(out)
}

/// The kernel and the `wanted` modules (file names such as `virtio_mmio.ko`) from a kernel `.deb`.
pub(crate) fn kernel_files(deb: &[u8], wanted: &[&str]) -> Result<KernelFiles, String> {
    let members = ar_members(deb)?;
    let (name, data) = members
        .iter()
        .find(|(n, _)| n.starts_with("data.tar"))
        .ok_or("the package has no data.tar member")?;
    let reader: Box<dyn Read + '_> = match name.as_str() {
        "data.tar.xz" => Box::new(xz2::read::XzDecoder::new(*data)),
        "data.tar" => Box::new(*data),
        other => return Err(format!("`{other}` is not supported yet (xz or plain tar)")),
    };
    let mut tar = tar::Archive::new(reader);
    let mut vmlinuz = None;
    let mut release = None;
    let mut modules = BTreeMap::new();
    for entry in tar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches("./").to_string();
        if let Some(rel) = path.strip_prefix("boot/vmlinuz-") {
            let mut b = Vec::new();
            entry.read_to_end(&mut b).map_err(|e| e.to_string())?;
            release = Some(rel.to_string());
            vmlinuz = Some(b);
            continue;
        }
        let Some(file) = path.rsplit('/').next() else {
            continue;
        };
        if path.starts_with("lib/modules/") && wanted.contains(&file) {
            let mut b = Vec::new();
            entry.read_to_end(&mut b).map_err(|e| e.to_string())?;
            let under = path.splitn(4, '/').nth(3).unwrap_or(file).to_string();
            modules.insert(file.to_string(), (under, b));
        }
    }
    Ok(KernelFiles {
        release: release.ok_or("the package has no boot/vmlinuz-*")?,
        vmlinuz: vmlinuz.expect("set with the release"),
        modules,
    })
}
