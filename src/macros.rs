//! Macros the generated code uses.

/// An enumerated PVE string: one variant per value the schema lists, plus `Unlisted` for a value a
/// newer PVE may send. Parses from (and prints to) the wire string; deserializes leniently, so
/// answers with new values still decode, while requests refuse `Unlisted` values before sending
/// (`Form::choice`). The name `Unlisted` cannot clash with a value's variant: the generator
/// reserves it (PVE has values named `other` and `unknown`, so neither name would do).
#[doc(hidden)]
#[macro_export]
macro_rules! pve_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this SDK's schema does not list (a newer PVE may send it). Accepted in
            /// answers; a request carrying one fails with `Error::InvalidParameter`.
            Unlisted(::std::string::String),
        }

        impl $name {
            /// The values the schema lists.
            pub const VALUES: &'static [&'static str] = &[$($value),*];

            /// True for a value the schema lists (any variant but `Unlisted`, or an `Unlisted`
            /// holding a listed value).
            pub fn is_listed(&self) -> bool {
                Self::VALUES.contains(&self.as_str())
            }

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unlisted(s) => s,
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, ::std::convert::Infallible> {
                ::std::result::Result::Ok(match s {
                    $($value => Self::$variant,)*
                    other => Self::Unlisted(other.to_string()),
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = $crate::lenient::string(d)?;
                ::std::result::Result::Ok(match s.parse::<Self>() {
                    ::std::result::Result::Ok(v) => v,
                    ::std::result::Result::Err(never) => match never {},
                })
            }
        }
    };
}
