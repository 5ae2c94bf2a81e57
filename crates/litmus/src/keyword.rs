//! `keyword_enum!`: an enum whose variants are spelled as fixed keywords in the format.
//!
//! One table gives parsing, printing, the list for did-you-mean, and the JSON name, so the
//! four can never disagree.

macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $kw:tt,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $kw)] $variant,)+
        }

        impl $name {
            /// Every variant, in canonical order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// How the format spells this variant.
            pub fn keyword(self) -> &'static str {
                match self {
                    $($name::$variant => $kw,)+
                }
            }

            /// The variant spelled `text`, if any.
            pub fn from_keyword(text: &str) -> Option<$name> {
                match text {
                    $($kw => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// All spellings, in canonical order.
            pub fn keywords() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.keyword()).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.keyword())
            }
        }
    };
}

pub(crate) use keyword_enum;
