//! The framing around an archive's entries: a tar ends with its end-of-archive blocks and zero
//! padding, nothing else; a zstd archive is one complete frame with nothing after it; and no
//! archive inflates past what its limits allow, so reading stops at a cap instead of inflating a
//! bomb hidden after the end blocks.

use std::io::{self, BufRead, Read};

use crate::archive::error::UnpackError;
use crate::archive::limits::UnpackLimits;

/// A tar block.
const BLOCK: u64 = 512;

/// Most zero padding accepted after the first end-of-archive block: GNU tar pads to 10 KiB
/// records; anything past this is refused without being read.
pub(crate) const MAX_TRAILER_BYTES: u64 = 64 * 1024;

/// The most bytes a tar within `limits` can take: the files, and per entry a header, an extension
/// header with its data and the padding of each, then the end blocks and their padding.
pub(crate) fn max_tar_bytes(limits: &UnpackLimits) -> u64 {
    let per_entry = 4 * BLOCK + limits.max_extension_bytes();
    limits
        .max_total_bytes
        .saturating_add((limits.max_entries as u64).saturating_mul(per_entry))
        .saturating_add(BLOCK + MAX_TRAILER_BYTES)
}

/// Wraps the tar byte stream: counts it (failing past `cap`), remembers how many zero bytes ended
/// it so far, and whether the tar reader ever saw its end.
pub(crate) struct TarStream<R> {
    inner: R,
    read: u64,
    cap: u64,
    zero_run: u64,
    eof: bool,
}

impl<R: Read> TarStream<R> {
    /// A stream over `inner` that refuses to yield more than `cap` bytes.
    pub(crate) fn new(inner: R, cap: u64) -> Self {
        Self {
            inner,
            read: 0,
            cap,
            zero_run: 0,
            eof: false,
        }
    }

    /// After the tar reader stopped: it must have stopped at an end-of-archive block (not at the
    /// end of the input), and what follows must be at least one more zero block and zero padding,
    /// at most [`MAX_TRAILER_BYTES`] of it, up to the end of the input.
    pub(crate) fn check_end(&mut self) -> Result<(), UnpackError> {
        if self.eof || self.zero_run < BLOCK {
            return Err(UnpackError::malformed(
                "the tar has no end-of-archive blocks (it was cut short or never finished); pack it again with `x07 pkg pack`",
            ));
        }
        let end = self.read;
        let mut trailer = 0u64;
        let mut buf = [0u8; 8192];
        loop {
            let n = self
                .read(&mut buf)
                .map_err(|e| UnpackError::malformed(format!("after the end of the tar: {e}")))?;
            if n == 0 {
                break;
            }
            if buf[..n].iter().any(|b| *b != 0) {
                return Err(UnpackError::malformed(format!(
                    "data follows the end-of-archive blocks of the tar (at byte {}); an archive ends with its end blocks and zero padding only",
                    end + trailer + buf[..n].iter().position(|b| *b != 0).unwrap_or(0) as u64
                )));
            }
            trailer += n as u64;
            if trailer > MAX_TRAILER_BYTES {
                return Err(UnpackError::malformed(format!(
                    "more than {MAX_TRAILER_BYTES} bytes of padding follow the end of the tar; refusing to read on"
                )));
            }
        }
        if trailer < BLOCK {
            return Err(UnpackError::malformed(
                "the tar ends after one end-of-archive block; it must end with two (it was cut short); pack it again with `x07 pkg pack`",
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for TarStream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
            return Ok(0);
        }
        self.read += n as u64;
        if self.read > self.cap {
            return Err(io::Error::other(format!(
                "the archive inflates past {} bytes, more than any archive within the limits holds; refusing to read on",
                self.cap
            )));
        }
        let chunk = &buf[..n];
        match chunk.iter().rposition(|b| *b != 0) {
            Some(last) => self.zero_run = (n - last - 1) as u64,
            None => self.zero_run += n as u64,
        }
        Ok(n)
    }
}

/// After a zstd frame was read to its end: nothing may follow it in the input.
pub(crate) fn check_no_trailing_input(mut rest: impl BufRead) -> Result<(), UnpackError> {
    let left = rest
        .fill_buf()
        .map_err(|e| UnpackError::malformed(format!("after the zstd frame: {e}")))?;
    if !left.is_empty() {
        return Err(UnpackError::malformed(
            "bytes follow the zstd frame; an archive is exactly one zstd frame (or a plain tar)",
        ));
    }
    Ok(())
}
