//! Zero-sized `schema_version` values: serialize as one fixed string, refuse any other on read.

/// Declares a unit struct that (de)serializes as exactly one `schema_version` string.
macro_rules! schema_tag {
    ($(#[$doc:meta])* $name:ident = $value:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl $name {
            /// The version string.
            pub const VALUE: &'static str = $value;
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(Self::VALUE)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                if s == Self::VALUE {
                    Ok($name)
                } else {
                    Err(serde::de::Error::custom(format!(
                        "unsupported schema_version `{s}`; expected `{}`",
                        Self::VALUE
                    )))
                }
            }
        }
    };
}

pub(crate) use schema_tag;
