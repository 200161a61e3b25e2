//! x07-registry-server: `x07 registry serve`.
