//! Standard base64 (RFC 4648 §4: alphabet `A-Z a-z 0-9 + /`, `=` padding), as the protocol
//! carries bytes. Decoding is strict: the length is a multiple of 4, `=` appears only as the
//! last one or two characters, no whitespace or other characters, and the unused bits of the
//! last group are zero (only the canonical encoding of some bytes is accepted).

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A text that is not the strict base64 encoding of any bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidBase64;

impl fmt::Display for InvalidBase64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid base64")
    }
}

impl std::error::Error for InvalidBase64 {}

/// The length of the encoding of `n` bytes (`None` if it would overflow `usize`).
pub fn encoded_len(n: usize) -> Option<usize> {
    (n / 3 + usize::from(n % 3 != 0)).checked_mul(4)
}

/// Appends the base64 encoding of `data` to `out`.
pub fn encode_into(out: &mut String, data: &[u8]) {
    let a = |v: u32| char::from(ALPHABET[(v & 63) as usize]);
    let mut chunks = data.chunks_exact(3);
    for g in &mut chunks {
        let v = u32::from(g[0]) << 16 | u32::from(g[1]) << 8 | u32::from(g[2]);
        out.push(a(v >> 18));
        out.push(a(v >> 12));
        out.push(a(v >> 6));
        out.push(a(v));
    }
    match *chunks.remainder() {
        [x] => {
            let v = u32::from(x) << 16;
            out.push(a(v >> 18));
            out.push(a(v >> 12));
            out.push_str("==");
        }
        [x, y] => {
            let v = u32::from(x) << 16 | u32::from(y) << 8;
            out.push(a(v >> 18));
            out.push(a(v >> 12));
            out.push(a(v >> 6));
            out.push('=');
        }
        _ => {}
    }
}

/// The base64 encoding of `data`.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(data.len()).unwrap_or(0));
    encode_into(&mut out, data);
    out
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes strict base64 (see the module docs).
pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, InvalidBase64> {
    let b = text.as_ref();
    if b.len() % 4 != 0 {
        return Err(InvalidBase64);
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    let groups = b.len() / 4;
    for (i, g) in b.chunks_exact(4).enumerate() {
        let pad = if i + 1 == groups && g[3] == b'=' {
            if g[2] == b'=' {
                2
            } else {
                1
            }
        } else {
            0
        };
        let mut x = 0u32;
        for (j, &c) in g.iter().enumerate() {
            let v = if j < 4 - pad {
                value(c).ok_or(InvalidBase64)?
            } else {
                0
            };
            x = x << 6 | v;
        }
        out.push((x >> 16) as u8);
        match pad {
            2 if x & 0xFFFF != 0 => return Err(InvalidBase64), // not the canonical encoding
            1 if x & 0xFF != 0 => return Err(InvalidBase64),
            2 => {}
            1 => out.push((x >> 8) as u8),
            _ => {
                out.push((x >> 8) as u8);
                out.push(x as u8);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(encode(plain.as_bytes()), enc);
            assert_eq!(encoded_len(plain.len()), Some(enc.len()));
            assert_eq!(decode(enc).unwrap(), plain.as_bytes());
        }
        assert_eq!(encoded_len(usize::MAX), None);
    }
}
