//! base64 and JSON: round trips against independent references, the protocol's exact string
//! escaping, strict parsing, the depth bound, integers, duplicate keys.
mod common;

use elastos_guest::base64;
use elastos_guest::json::{self, Number, Value};

/// xorshift64: deterministic pseudo-random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Reference encoder: bit by bit, independent of base64.rs's grouping.
fn ref_b64(d: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bits = d.len() * 8;
    let mut out = String::new();
    let mut pos = 0;
    while pos < bits {
        let mut v = 0usize;
        for j in 0..6 {
            let bit = pos + j;
            let b = if bit < bits {
                (d[bit / 8] >> (7 - bit % 8)) & 1
            } else {
                0
            };
            v = v << 1 | usize::from(b);
        }
        out.push(char::from(A[v]));
        pos += 6;
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

#[test]
fn base64_round_trips() {
    let mut rng = Rng(88172645463325252);
    for n in 0..=300usize {
        let src: Vec<u8> = (0..n).map(|_| (rng.next() >> 24) as u8).collect();
        let enc = base64::encode(&src);
        assert_eq!(enc, ref_b64(&src), "length {n}");
        assert_eq!(enc.len(), (n + 2) / 3 * 4);
        assert_eq!(base64::encoded_len(n), Some(enc.len()));
        let pads = enc.bytes().rev().take_while(|&c| c == b'=').count();
        assert_eq!(pads, (3 - n % 3) % 3);
        assert_eq!(base64::decode(&enc).unwrap(), src);
        // Any single-character corruption to a non-alphabet byte is refused.
        if !enc.is_empty() {
            let mut bad = enc.clone().into_bytes();
            bad[n % enc.len()] = b'*';
            assert!(base64::decode(&bad).is_err());
        }
    }
    // Every byte value in every position of a group.
    let all: Vec<u8> = (0..=255u8).collect();
    for k in 0..3 {
        let d = &all[k..];
        assert_eq!(base64::decode(base64::encode(d)).unwrap(), d);
    }
}

#[test]
fn base64_strict() {
    let bad = [
        "A",
        "AA",
        "AAA",
        "A===",
        "AA=A",
        "=AAA",
        "AAAA=",
        "AB==",
        "AAB=",
        "Zh==",
        "Zm9=",
        "A\nAA",
        "AAAA====",
        "AA==AAAA",
        "AA-_",
        "AA =",
        "====",
        "AAA\u{e9}",
    ];
    for b in bad {
        assert!(base64::decode(b).is_err(), "{b:?}");
    }
    assert!(base64::decode(b"AAAA\0AAA").is_err());
    assert_eq!(base64::decode("AA==").unwrap(), [0]);
    assert_eq!(base64::decode("AAA=").unwrap(), [0, 0]);
    assert_eq!(base64::decode("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
    assert_eq!(base64::decode("").unwrap(), b"");
}

fn w(s: &str) -> String {
    let mut out = String::new();
    json::write_str(&mut out, s);
    out
}

#[test]
fn json_escaping() {
    // Every ASCII byte, escaped per the protocol and read back.
    for ch in 0u8..128 {
        let s = format!("a{}b", char::from(ch));
        let expect = match ch {
            b'"' => "\"a\\\"b\"".to_owned(),
            b'\\' => "\"a\\\\b\"".to_owned(),
            0x08 => "\"a\\bb\"".to_owned(),
            0x0c => "\"a\\fb\"".to_owned(),
            b'\n' => "\"a\\nb\"".to_owned(),
            b'\r' => "\"a\\rb\"".to_owned(),
            b'\t' => "\"a\\tb\"".to_owned(),
            c if c < 0x20 => format!("\"a\\u{c:04x}b\""),
            c => format!("\"a{}b\"", char::from(c)),
        };
        let got = w(&s);
        assert_eq!(got, expect, "byte 0x{ch:02x}");
        assert_eq!(Value::parse(&got).unwrap(), Value::String(s));
    }
    // E, as in the vectors.
    assert_eq!(
        w(common::E),
        "\"We\\\"ird\\\\name\\n\\t\\r\\b\\f\\u0001\\u001f\u{7f} \u{e9}\u{65e5}\u{672c}\u{1F600}/\""
    );
    // Every escape form read back, and written back the protocol's way.
    let esc = r#""\"\\\/\b\f\n\r\tA\u0041\u00e9\u65E5\ud83d\ude00\uDBFF\uDFFF\u0000""#;
    let want = "\"\\/\u{8}\u{c}\n\r\tAA\u{e9}\u{65e5}\u{1F600}\u{10FFFF}\u{0}";
    assert_eq!(Value::parse(esc).unwrap(), Value::String(want.into()));
    assert_eq!(
        w(want),
        "\"\\\"\\\\/\\b\\f\\n\\r\\tAA\u{e9}\u{65e5}\u{1F600}\u{10FFFF}\\u0000\""
    );
}

#[test]
fn json_string_round_trips() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for _ in 0..2000 {
        let len = (rng.next() % 24) as usize;
        let s: String = (0..len)
            .map(|_| {
                let r = rng.next();
                let cp = match r % 4 {
                    0 => (r >> 8) % 0x20,
                    1 => 0x20 + (r >> 8) % 0x60,
                    2 => (r >> 8) % 0x1_0000,
                    _ => (r >> 8) % 0x11_0000,
                } as u32;
                char::from_u32(cp).unwrap_or('\u{fffd}')
            })
            .collect();
        let enc = w(&s);
        assert!(!enc[1..enc.len() - 1].bytes().any(|b| b < 0x20), "{enc:?}");
        assert_eq!(Value::parse(&enc).unwrap(), Value::String(s.clone()));
        // As a key, too.
        let obj = Value::Object(vec![(s.clone(), Value::Null)]);
        assert_eq!(Value::parse(&obj.to_json()).unwrap(), obj);
    }
}

fn parses(s: &str, depth: usize) -> bool {
    json::parse(s.as_bytes(), depth).is_ok()
}

#[test]
fn json_strict_parsing() {
    let good = [
        "0",
        "-0",
        "1.5e+10",
        "1E5",
        "-12.34e-5",
        " [ ] ",
        "{}",
        "\"\"",
        "[true,false,null]",
        "{\"a\":{\"b\":[1,{\"c\":\"d\"}]}}",
        "\t\r\n1\n",
    ];
    for g in good {
        assert!(parses(g, 32), "{g:?}");
    }
    let bad = [
        "",
        " ",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "tru",
        "nul",
        "[1,]",
        "{\"a\":1,}",
        "{'a':1}",
        "[1 2]",
        "{\"a\" 1}",
        "{1:2}",
        "\"abc",
        "[",
        "]",
        "\"\\u00\"",
        "NaN",
        "Infinity",
        "[1]]",
        "{\"a\":1}}",
        "1 2",
        "[\"\\a\"]",
        "\"\\u0\"",
        "-01",
        "0x10",
        "[.1]",
        "{\"a\"}",
        "{,}",
        "[,1]",
        "\u{feff}1",
        "\u{a0}1",
        "\"\\ud800\"",
        "\"\u{1}\"",
        "1\u{0}",
        "[1,\u{b}2]",
        "{\"a\":1,\"a\":1}",
    ];
    for b in bad {
        assert!(!parses(b, 32), "accepted {b:?}");
    }
    for b in [
        &b"\"\xff\""[..],
        b"\"\xc0\x80\"",
        b"\"\xed\xa0\x80\"",
        b"\"\xe6\x97\"",
        b"\xff",
    ] {
        assert!(json::parse(b, 32).is_err(), "{b:?}");
    }
    // The depth bound, counted in arrays/objects.
    let deep = format!("{}{}", "[".repeat(32), "]".repeat(32));
    assert!(parses(&deep, 32));
    let e = json::parse(deep.as_bytes(), 31).unwrap_err();
    assert!(e.reason.contains("deep") && e.offset == 31, "{e}");
    let objs = format!("{}1{}", "{\"a\":".repeat(32), "}".repeat(32));
    assert!(parses(&objs, 32) && !parses(&objs, 31));
    assert!(Value::parse(&format!("{}{}", "[".repeat(33), "]".repeat(33))).is_err());
    // The 1 MiB input bound of Value::parse.
    let big = format!("\"{}\"", "x".repeat(json::MAX_INPUT - 2));
    assert!(Value::parse(&big).is_ok());
    let big = format!("\"{}\"", "x".repeat(json::MAX_INPUT - 1));
    assert!(Value::parse(&big).is_err());
}

#[test]
fn json_integers() {
    let cases: [(&str, Option<u64>); 8] = [
        ("0", Some(0)),
        ("18446744073709551615", Some(u64::MAX)),
        ("18446744073709551616", None),
        ("99999999999999999999", None),
        ("-0", None),
        ("1e3", None),
        ("1.0", None),
        ("42", Some(42)),
    ];
    for (s, v) in cases {
        assert_eq!(Value::parse(s).unwrap().as_u64(), v, "{s}");
    }
    assert_eq!(Value::from(u64::MAX).to_json(), "18446744073709551615");
    assert_eq!(Value::from(-7i32).to_json(), "-7");
    assert_eq!(
        Number::from_text("2.50").map(|n| n.to_string()).as_deref(),
        Some("2.50")
    );
}

#[test]
fn json_duplicates_and_reencoding() {
    // Duplicate keys among many.
    let nk = 5000;
    let members: Vec<String> = (0..nk).map(|i| format!("\"k{i}\":{i}")).collect();
    let obj = format!("{{{}}}", members.join(","));
    assert!(parses(&obj, 2));
    let dup = format!("{{{},\"k{}\":0}}", members.join(","), nk / 2);
    assert_eq!(
        json::parse(dup.as_bytes(), 2).unwrap_err().reason,
        "duplicate key"
    );
    // Re-encoding a parsed value is compact, keeps order and number texts.
    let v =
        Value::parse(" { \"b\" : [ 1 , -2.5e3 , \"\\u00e9\\n\" ] , \"a\" : { } , \"c\" : null } ")
            .unwrap();
    assert_eq!(
        v.to_json(),
        "{\"b\":[1,-2.5e3,\"\u{e9}\\n\"],\"a\":{},\"c\":null}"
    );
    assert_eq!(v.to_string(), v.to_json());
    assert_eq!(Value::parse(&v.to_json()).unwrap(), v);
    assert_eq!(
        v.get("b").and_then(Value::as_array).map(<[Value]>::len),
        Some(3)
    );
    assert!(v.get("c").unwrap().is_null());
    assert_eq!(v.get("nope"), None);
}
