#!/usr/bin/env bash
# Hostile archives, validly signed by a TRUSTED key (the worst case: a publisher's packer was
# compromised), are refused with exit 65 by verify, inspect, install and run, and nothing is
# written anywhere: no extracted file, nothing in the store, nothing in the working directory.
source "$(dirname "$0")/lib.sh"
: "${ELASTOS_TESTTOOL:?}"
setup_publisher
[ ! -e /etc/x ] || { echo "/etc/x exists already; cannot test" >&2; exit 1; }

python3 - "$WORK/bodies" <<'PY'
import hashlib, os, sys
out = sys.argv[1]; os.makedirs(out)
def hdr(name, size, typ=b'0', mode=b'0000644', mtime=b'00000000000', link=b'', magic=b'ustar\x00', size_field=None):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = mode + b'\x00'; h[108:116] = b'0000000\x00'; h[116:124] = b'0000000\x00'
    h[124:136] = size_field if size_field is not None else b'%011o\x00' % size
    h[136:148] = mtime + b'\x00'; h[156:157] = typ; h[157:157 + len(link)] = link
    h[257:263] = magic; h[263:265] = b'00'; h[329:337] = b'0000000\x00'; h[337:345] = b'0000000\x00'
    h[148:156] = b' ' * 8
    h[148:156] = b'%06o\x00 ' % sum(h)
    return bytes(h)
def member(name, data, **kw):
    return hdr(name, len(data), **kw) + data + b'\x00' * (-len(data) % 512)
def sums(files):
    return b''.join(b'%s  %s\n' % (hashlib.sha256(d).hexdigest().encode(), n) for n, d in files)
MAN = b'{"name":"evil","version":"1.0.0","type":"wasm","entry":"m.wasm"}'
WASM = b'\x00asm\x01\x00\x00\x00'
def archive(files, extra_sums=None, listed=None, raw=None):
    body = raw if raw is not None else b''.join(member(n, d) for n, d in files)
    s = sums(listed if listed is not None else files) + (extra_sums or b'')
    return body + member(b'.elastos/SHA256SUMS', s)
base = [(b'capsule.json', MAN), (b'm.wasm', WASM)]
cases = {
    'dotdot':      archive(base + [(b'../x', b'pwned')]),
    'dotdot-deep': archive([(b'a/../../x', b'pwned')] + base),
    'absolute':    archive([(b'/etc/x', b'pwned')] + base),
    'symlink':     archive(base, raw=b''.join(member(n, d) for n, d in base) + member(b'n', b'', typ=b'2', link=b'/etc/passwd')),
    'hardlink':    archive(base, raw=b''.join(member(n, d) for n, d in base) + member(b'n', b'', typ=b'1', link=b'capsule.json')),
    'device':      archive(base, raw=b''.join(member(n, d) for n, d in base) + member(b'n', b'', typ=b'3')),
    'directory':   archive(base, raw=member(b'd/', b'', typ=b'5') + b''.join(member(n, d) for n, d in base)),
    'pax':         archive(base, raw=member(b'pax', b'30 path=../../../../etc/x\n', typ=b'x') + b''.join(member(n, d) for n, d in base)),
    'gnu-longname': archive(base, raw=member(b'././@LongLink', b'../x\x00', typ=b'L') + b''.join(member(n, d) for n, d in base)),
    'duplicate':   archive(base + [(b'm.wasm', WASM)]),
    'unlisted':    archive(base + [(b'payload.sh', b'rm -rf /')], listed=base),
    'listed-missing': archive(base, extra_sums=b'%s  ghost\n' % hashlib.sha256(b'').hexdigest().encode()),
    'wrong-checksum': archive(base, listed=[(b'capsule.json', MAN), (b'm.wasm', b'other')]),
    'out-of-order': archive([(b'm.wasm', WASM), (b'capsule.json', MAN)]),
    'oversize-header': archive(base, raw=b''.join(member(n, d) for n, d in base) + hdr(b'big', 0, size_field=b'77777777777\x00')),
    'bad-size-field': archive(base, raw=b''.join(member(n, d) for n, d in base) + hdr(b'big', 0, size_field=b'0000000001x\x00')),
    'truncated':   archive(base, raw=b''.join(member(n, d) for n, d in base) + hdr(b'cut', 100000) + b'short' + b'\x00' * 507),
    'mode-0755':   archive(base, raw=member(b'capsule.json', MAN, mode=b'0000755') + member(b'm.wasm', WASM)),
    'mtime':       archive(base, raw=member(b'capsule.json', MAN, mtime=b'14000000000') + member(b'm.wasm', WASM)),
    'not-ustar':   archive(base, raw=member(b'capsule.json', MAN, magic=b'ustaR\x00') + member(b'm.wasm', WASM)),
    'early-eof':   archive(base, raw=b''.join(member(n, d) for n, d in base) + b'\x00' * 1024),
    'reserved':    archive(base + [(b'.elastos/SIGNATURE', b'x')]),
    'no-manifest': archive([(b'm.wasm', WASM)]),
    'bad-manifest': archive([(b'capsule.json', b'{"name":"evil","name":"twice"}'), (b'm.wasm', WASM)]),
    'entry-missing': archive([(b'capsule.json', MAN)]),
    'no-sums':     b''.join(member(n, d) for n, d in base),
}
for k, v in cases.items():
    open(os.path.join(out, k), 'wb').write(v)
PY

mkdir -p "$WORK/cwd" "$WORK/hostile"
touch "$WORK/marker"; sleep 0.01
for body in "$WORK"/bodies/*; do
    name=$(basename "$body")
    "$ELASTOS_TESTTOOL" seal "$body" "$WORK/keys/publisher.key" "$WORK/hostile/$name.capsule" || bad "seal $name"
    for cmd in verify inspect install run; do
        cd "$WORK/cwd"
        expect 65 "$E" $cmd "$WORK/hostile/$name.capsule"; expect_err_line
        cd - >/dev/null
    done
done
n=$(ls "$WORK/bodies" | wc -l)
check "[ $n -ge 25 ]"
# Nothing written anywhere.
check '[ -z "$(ls -A "$WORK/cwd")" ]'
check '[ ! -e "$WORK/x" ] && [ ! -e /etc/x ] && [ ! -e "$WORK/hostile/x" ]'
check '[ ! -e "$ELASTOS_HOME/store" ] || [ -z "$(ls -A "$ELASTOS_HOME/store")" ]'
check '[ -z "$(find "$ELASTOS_HOME" "$WORK/cwd" "$WORK/hostile" -newer "$WORK/marker" -type f ! -name "*.capsule")" ]'
# An unsigned hostile tar is refused before any parsing: 77.
expect 77 "$E" verify "$WORK/bodies/dotdot"; expect_err_line
finish
