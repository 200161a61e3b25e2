//! The C runtime fragments embedded in x07 and their assembly.
