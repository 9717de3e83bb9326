#!/usr/bin/env python3
"""make_artifact_corpus.py - writes the seed corpus of tests/fuzz/fuzz_artifact.c.

Each file is a tar *body* (what comes before the signature seal): canonical ustar members as
lib/artifact.c writes them, then .elastos/SHA256SUMS. One is valid; the others are hostile in
one way each. The fuzz target seals every input itself. Run from anywhere:
    python3 tests/fuzz/make_artifact_corpus.py
"""
import hashlib
import os

BLOCK = 512
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "artifact")

MANIFEST = b'{"name":"mini","version":"1.0.0","type":"wasm","entry":"m.wasm"}'


def header(path, size, typ=b"0", mode=b"0000644", mtime=b"00000000000", size_field=None,
           linkname=b"", bad_checksum=False):
    p = path.encode() if isinstance(path, str) else path
    name, prefix = p, b""
    if len(p) > 100:
        i = p.rindex(b"/", 0, 156)
        name, prefix = p[i + 1:], p[:i]
    h = bytearray(BLOCK)
    h[0:len(name)] = name[:100]
    h[100:108] = mode + b"\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[136:148] = mtime + b"\0"
    h[156:157] = typ
    h[157:157 + len(linkname)] = linkname
    h[257:265] = b"ustar\x0000"
    h[329:337] = b"0000000\0"
    h[337:345] = b"0000000\0"
    h[345:345 + len(prefix)] = prefix
    h[148:156] = b"        "
    s = sum(h) + (1 if bad_checksum else 0)
    h[148:156] = b"%06o\0 " % s
    return bytes(h)


def pad(data):
    return data + b"\0" * (-len(data) % BLOCK)


def member(path, data=b"", **kw):
    return header(path, len(data), **kw) + pad(data)


def sums(files):
    return b"".join(b"%s  %s\n" % (hashlib.sha256(d).hexdigest().encode(), p.encode()) for p, d in files)


def body(files, extra_sums=None, listed=None):
    """files: [(path, data)] in the given order; SHA256SUMS lists `listed` (default: all)."""
    out = b"".join(member(p, d) for p, d in files)
    s = sums(listed if listed is not None else files) if extra_sums is None else extra_sums
    return out + member(".elastos/SHA256SUMS", s)


def main():
    os.makedirs(OUT, exist_ok=True)
    ok = [("capsule.json", MANIFEST), ("m.wasm", b"\0asm\x01\0\0\0")]
    longp = "d" * 60 + "/" + "e" * 60 + "/" + "f" * 40
    multi = sorted(ok + [("a/b/c.txt", b"hello\n"), ("a/big.bin", bytes(range(256)) * 5),
                         ("empty", b""), (longp, b"long path")])
    corpus = {
        "valid-minimal": body(ok),
        "valid-multi": body(multi),
        "dotdot": body([("../x", b"x")] + ok),
        "absolute": body([("/etc/passwd", b"x")] + ok),
        "dot-segment": body([("a/./b", b"x")] + ok),
        "symlink": member("capsule.json", MANIFEST) + header("link", 0, typ=b"2", linkname=b"/etc/passwd")
        + member("m.wasm", ok[1][1]) + member(".elastos/SHA256SUMS", sums(ok)),
        "hardlink": member("capsule.json", MANIFEST) + header("link", 0, typ=b"1", linkname=b"capsule.json")
        + member("m.wasm", ok[1][1]) + member(".elastos/SHA256SUMS", sums(ok)),
        "duplicate": body(ok + [("m.wasm", ok[1][1])]),
        "unsorted": body([ok[1], ok[0]]),
        "unlisted": body(ok + [("zz-extra", b"unlisted")], listed=ok),
        "wrong-sum": body(ok, extra_sums=sums([ok[0], ("m.wasm", b"other")])),
        "no-sums": b"".join(member(p, d) for p, d in ok),
        "truncated": member("capsule.json", MANIFEST) + header("m.wasm", 100000),
        "huge-size": member("capsule.json", MANIFEST) + header("m.wasm", 0, size_field=b"77777777777\0")
        + member(".elastos/SHA256SUMS", sums(ok)),
        "base256-size": member("capsule.json", MANIFEST)
        + header("m.wasm", 0, size_field=b"\x80" + b"\0" * 10 + b"\x08") + pad(ok[1][1])
        + member(".elastos/SHA256SUMS", sums(ok)),
        "pax": member("PaxHeaders/m.wasm", b"19 path=../../evil\n", typ=b"x") + body(ok),
        "gnu-longname": member("././@LongLink", b"x" * 200 + b"\0", typ=b"L") + body(ok),
        "mode-0755": member("capsule.json", MANIFEST) + member("m.wasm", ok[1][1], mode=b"0000755")
        + member(".elastos/SHA256SUMS", sums(ok)),
        "mtime": member("capsule.json", MANIFEST, mtime=b"14000000000") + member("m.wasm", ok[1][1])
        + member(".elastos/SHA256SUMS", sums(ok)),
        "bad-checksum": member("capsule.json", MANIFEST) + header("m.wasm", 8, bad_checksum=True)
        + pad(ok[1][1]) + member(".elastos/SHA256SUMS", sums(ok)),
        "zero-block-inside": member("capsule.json", MANIFEST) + b"\0" * BLOCK + member("m.wasm", ok[1][1])
        + member(".elastos/SHA256SUMS", sums(ok)),
        "dirty-padding": member("capsule.json", MANIFEST)[:-1] + b"p" + member("m.wasm", ok[1][1])
        + member(".elastos/SHA256SUMS", sums(ok)),
        "forged-signature-member": body(ok) + member(".elastos/SIGNATURE", b"elastos-signature-v1\n"),
        "newline-in-name": body([("a\nb", b"x")] + ok),
        "bad-manifest": body([("capsule.json", b'{"name":"mini","name":"dup"}'), ok[1]]),
        "entry-missing": body([ok[0], ("n.wasm", b"x")]),
        "no-manifest": body([ok[1]]),
        "empty": b"",
    }
    for name, data in corpus.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d files in %s" % (len(corpus), OUT))


if __name__ == "__main__":
    main()
