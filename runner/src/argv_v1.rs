//! argv_v1: command-line arguments as input bytes (`u32_le argc`, then `u32_le len` + bytes per argument).

/// An argument list that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgvError {
    /// An argument or the argument count does not fit in a u32.
    #[error("argument list too large for argv_v1: {0} does not fit in 32 bits")]
    TooLarge(&'static str),
    /// The bytes end before the declared arguments do.
    #[error("argv_v1 bytes are truncated: {0}")]
    Truncated(&'static str),
    /// Bytes remain after the last argument.
    #[error("argv_v1 bytes have {0} trailing bytes after the last argument")]
    TrailingBytes(usize),
}

/// Encodes arguments as argv_v1. There is no implicit argv0: pass exactly the tokens the program sees.
pub fn encode<I, A>(args: I) -> Result<Vec<u8>, ArgvError>
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut out = vec![0u8; 4];
    let mut argc: u32 = 0;
    for arg in args {
        let arg = arg.as_ref();
        let len =
            u32::try_from(arg.len()).map_err(|_| ArgvError::TooLarge("an argument's length"))?;
        argc = argc
            .checked_add(1)
            .ok_or(ArgvError::TooLarge("the argument count"))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(arg);
    }
    out[..4].copy_from_slice(&argc.to_le_bytes());
    Ok(out)
}

/// Decodes argv_v1 bytes back into arguments; the whole input must be consumed.
pub fn decode(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ArgvError> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &'static str) -> Result<&'a [u8], ArgvError> {
        if bytes.len() < n {
            return Err(ArgvError::Truncated(what));
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    fn u32_le(bytes: &[u8]) -> usize {
        u32::from_le_bytes(bytes.try_into().expect("4 bytes")) as usize
    }
    let mut rest = bytes;
    let argc = u32_le(take(&mut rest, 4, "missing the argument count")?);
    let mut args = Vec::with_capacity(argc.min(rest.len() / 4));
    for _ in 0..argc {
        let len = u32_le(take(&mut rest, 4, "missing an argument length")?);
        args.push(take(&mut rest, len, "an argument is shorter than its length")?.to_vec());
    }
    if rest.is_empty() {
        Ok(args)
    } else {
        Err(ArgvError::TrailingBytes(rest.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_count_then_length_prefixed_arguments() {
        let bytes = encode(["tool", "", "--help"]).unwrap();
        let expected: Vec<u8> = [
            &3u32.to_le_bytes()[..],
            &4u32.to_le_bytes(),
            b"tool",
            &0u32.to_le_bytes(),
            &6u32.to_le_bytes(),
            b"--help",
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(
            decode(&bytes).unwrap(),
            vec![b"tool".to_vec(), vec![], b"--help".to_vec()]
        );
        assert_eq!(encode(Vec::<&[u8]>::new()).unwrap(), 0u32.to_le_bytes());
    }

    #[test]
    fn decode_rejects_truncated_and_trailing_bytes() {
        let bytes = encode(["ab"]).unwrap();
        assert!(matches!(
            decode(&bytes[..bytes.len() - 1]),
            Err(ArgvError::Truncated(_))
        ));
        assert!(matches!(decode(&bytes[..2]), Err(ArgvError::Truncated(_))));
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(decode(&extra), Err(ArgvError::TrailingBytes(1)));
    }
}
