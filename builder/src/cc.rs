//! C compiler discovery, identity and invocation.
