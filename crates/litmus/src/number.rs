//! Number syntax: decimal or `0x` hex, with an optional binary size suffix `K`, `M`, `G`.

/// Why a number's text is not a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Not of the form `123`, `0x7b`, `4K`.
    Malformed,
    /// Does not fit in 64 bits.
    TooLarge,
}

/// Parses `42`, `0x2a`, `4K` (4096), `2M`, `1G`, `0x10K`.
pub fn parse_number(text: &str) -> Result<u64, NumberError> {
    let (body, shift) = match text.as_bytes().last() {
        Some(b'K') => (&text[..text.len() - 1], 10),
        Some(b'M') => (&text[..text.len() - 1], 20),
        Some(b'G') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let (digits, radix) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (body, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(NumberError::Malformed);
    }
    let value = u64::from_str_radix(digits, radix).map_err(|_| NumberError::TooLarge)?;
    value
        .checked_mul(1u64 << shift)
        .ok_or(NumberError::TooLarge)
}

/// Prints a size with the largest suffix that divides it exactly (`2M`, `12K`, `4097`).
pub fn format_size(value: u64) -> String {
    const SUFFIXES: [(u32, char); 3] = [(30, 'G'), (20, 'M'), (10, 'K')];
    if value != 0 {
        for (shift, suffix) in SUFFIXES {
            if value.trailing_zeros() >= shift {
                return format!("{}{suffix}", value >> shift);
            }
        }
    }
    value.to_string()
}

/// Prints an address in hex (`0x7f0000200000`).
pub fn format_address(value: u64) -> String {
    format!("{value:#x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_number("0"), Ok(0));
        assert_eq!(parse_number("42"), Ok(42));
        assert_eq!(parse_number("0x2a"), Ok(42));
        assert_eq!(parse_number("0X2A"), Ok(42));
        assert_eq!(parse_number("4K"), Ok(4096));
        assert_eq!(parse_number("2M"), Ok(2 << 20));
        assert_eq!(parse_number("1G"), Ok(1 << 30));
        assert_eq!(parse_number("0x10K"), Ok(16 << 10));
        assert_eq!(parse_number("18446744073709551615"), Ok(u64::MAX));
    }

    #[test]
    fn rejects() {
        for bad in ["", "K", "0x", "0xK", "12q", "4k", "1.5", "-1", "4KB", "0xg"] {
            assert_eq!(parse_number(bad), Err(NumberError::Malformed), "{bad}");
        }
        assert_eq!(
            parse_number("18446744073709551616"),
            Err(NumberError::TooLarge)
        );
        assert_eq!(parse_number("17179869184G"), Err(NumberError::TooLarge));
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(format_size(0), "0");
        assert_eq!(format_size(4096), "4K");
        assert_eq!(format_size(2 << 20), "2M");
        assert_eq!(format_size(3 << 30), "3G");
        assert_eq!(format_size(1 << 40), "1024G");
        assert_eq!(format_size(4097), "4097");
        assert_eq!(format_size(6144), "6K");
        for v in [0, 1, 4096, 12288, 1 << 21, u64::MAX, u64::MAX - 1023] {
            assert_eq!(parse_number(&format_size(v)), Ok(v));
        }
        assert_eq!(format_address(0x200000), "0x200000");
    }
}
