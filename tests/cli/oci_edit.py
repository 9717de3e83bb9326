#!/usr/bin/env python3
"""oci_edit.py IMAGE.tar OUT.tar [--layer FILE] [--flip OFFSET] [--cid CID] [--name REF]

Test helper for test_shim.sh: rewrites an `elastos oci pack` image the way an attacker could,
with every OCI digest made consistent again (so containerd imports it and only the shim's own
checks stand between it and a run): --layer puts FILE's bytes in the capsule layer, --flip
flips one byte of the layer at OFFSET, --cid sets the layer's org.elastos.capsule.cid
annotation, --name the image's name.
"""
import argparse
import hashlib
import io
import json
import sys
import tarfile


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("image")
    ap.add_argument("out")
    ap.add_argument("--layer")
    ap.add_argument("--flip", type=int)
    ap.add_argument("--cid")
    ap.add_argument("--name")
    a = ap.parse_args()
    with tarfile.open(a.image) as t:
        files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
    blob = lambda d: files["blobs/sha256/" + d.split(":", 1)[1]]
    index = json.loads(files["index.json"])
    mdesc = index["manifests"][0]
    manifest = json.loads(blob(mdesc["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    ldesc = manifest["layers"][0]
    layer = blob(ldesc["digest"])
    if a.layer:
        layer = open(a.layer, "rb").read()
    if a.flip is not None:
        b = bytearray(layer)
        b[a.flip] ^= 0x01
        layer = bytes(b)
    if a.cid:
        ldesc["annotations"]["org.elastos.capsule.cid"] = a.cid
    ldesc["digest"], ldesc["size"] = digest(layer), len(layer)
    config["rootfs"]["diff_ids"] = [ldesc["digest"]]
    cbytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    manifest["config"]["digest"], manifest["config"]["size"] = digest(cbytes), len(cbytes)
    mbytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    mdesc["digest"], mdesc["size"] = digest(mbytes), len(mbytes)
    if a.name:
        mdesc["annotations"]["io.containerd.image.name"] = a.name
    ibytes = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    out = {"oci-layout": files["oci-layout"], "index.json": ibytes}
    for b in (cbytes, layer, mbytes):
        out["blobs/sha256/" + digest(b).split(":", 1)[1]] = b
    with tarfile.open(a.out, "w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in sorted(out.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
