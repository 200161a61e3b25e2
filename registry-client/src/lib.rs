//! x07-registry-client: talks to x07 registries and keeps the content-addressed archive cache.
