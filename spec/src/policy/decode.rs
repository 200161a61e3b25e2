//! Decoding policy sections field by field, so that every error names its field
//! (`net.allow_hosts[2].ports[0]`) and unknown fields are rejected with the list of allowed ones.

use serde_json::Value;

use crate::document::{decode_array, FieldError, FieldPath};

/// A value that can be read from JSON with errors naming the field at `path`.
pub trait Decode: Sized {
    /// Decodes `value`, found at `path`.
    fn decode(value: Value, path: &FieldPath) -> Result<Self, FieldError>;
}

/// Leaf types are decoded by serde; their errors name the leaf's own path.
macro_rules! leaf_decode {
    ($($ty:ty),* $(,)?) => {
        $(
            impl $crate::policy::decode::Decode for $ty {
                fn decode(
                    value: serde_json::Value,
                    path: &$crate::document::FieldPath,
                ) -> Result<Self, $crate::document::FieldError> {
                    $crate::document::decode_value(value, path)
                }
            }
        )*
    };
}

leaf_decode!(bool, u16, u32, u64, String);

impl<T: Decode> Decode for Vec<T> {
    fn decode(value: Value, path: &FieldPath) -> Result<Self, FieldError> {
        decode_array(value, path, T::decode)
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(value: Value, path: &FieldPath) -> Result<Self, FieldError> {
        match value {
            Value::Null => Ok(None),
            other => T::decode(other, path).map(Some),
        }
    }
}

/// Declares a policy section: a struct whose fields are read in order from a JSON object.
///
/// A field written `name: Type` is required; `name: Type = default` may be absent (or null) and then
/// takes `default`. Any other member of the object is an error naming it.
macro_rules! policy_section {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty $(= $default:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
        }

        impl $crate::policy::decode::Decode for $name {
            fn decode(
                value: serde_json::Value,
                path: &$crate::document::FieldPath,
            ) -> Result<Self, $crate::document::FieldError> {
                let mut reader = $crate::document::ObjectReader::new(value, path.clone())?;
                let decoded = Self {
                    $( $field: policy_section!(@field reader, $field, $ty $(, $default)?), )*
                };
                reader.finish()?;
                Ok(decoded)
            }
        }
    };
    (@field $reader:ident, $field:ident, $ty:ty) => {
        $reader.required_with(stringify!($field), <$ty as $crate::policy::decode::Decode>::decode)?
    };
    (@field $reader:ident, $field:ident, $ty:ty, $default:expr) => {
        $reader
            .optional_with(stringify!($field), <$ty as $crate::policy::decode::Decode>::decode)?
            .unwrap_or_else(|| $default)
    };
}

pub(crate) use leaf_decode;
pub(crate) use policy_section;
