"""Reproducible OCI image layout archives, written directly (no engine).

Used by the demo workload (scripts/demo-workload.py) and by the tests that
need images (tests/integration/workload_cases.py, dockerfix.py). Every tar
member has mtime 0, uid/gid 0 and a fixed mode, so the same inputs give the
same digests on any machine.
"""
import gzip
import hashlib
import io
import json
import tarfile


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer_tar(files):
    """A layer from [(name, bytes, mode)]; directories as (name/, None, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode in files:
            ti = tarfile.TarInfo(name.rstrip("/"))
            ti.mode, ti.mtime = mode, 0
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def oci_archive(layer, cmd, gz=False, diff_id=None):
    """An OCI image layout tar with one layer (uncompressed, or gzip with gz);
    returns (tar, manifest digest, config digest)."""
    blob = gzip.compress(layer, mtime=0) if gz else layer
    mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": cmd},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id or sha(layer)]}}).encode()
    man = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(cfg), "size": len(cfg)},
        "layers": [{"mediaType": mt, "digest": sha(blob), "size": len(blob)}]}).encode()
    idx = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha(man), "size": len(man)}]}).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in (("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                           ("index.json", idx), *((f"blobs/sha256/{sha(b)[7:]}", b)
                                                  for b in (blob, cfg, man))):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue(), sha(man), sha(cfg)
