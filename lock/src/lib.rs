//! x07-lock: version requirements, resolution, the lockfile and its signature.
