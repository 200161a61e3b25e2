//! The standard library modules embedded in x07.
