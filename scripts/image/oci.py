#!/usr/bin/env python3
"""OCI image layout writer and rootfs runner for scripts/build-image.

  oci.py assemble SPEC.json   writes the layout SPEC describes, prints a JSON summary
  oci.py run BUNDLE ARG...    runs ARG... in a bundle that `umoci unpack` made, as its
                              runtime spec says (user, groups, cwd, env): what a runtime does

Layers are plain tars, sorted, with fixed owners and times, gzipped without a
name or time: the same inputs give the same digests.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

# Debian bookworm packages put files in /lib and /bin; the distroless base
# merges them into /usr as usrmerge does, with these links at the root.
USRMERGE = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def norm(path):
    """A package's path as the merged base holds it."""
    if path.startswith("./"):
        path = path[2:]
    path = path.strip("/")
    if path == ".":
        return ""
    head = path.split("/", 1)[0]
    if head in USRMERGE:
        path = "usr/" + path
    return path


class Layer:
    """Entries keyed by path; the first directory entry for a path wins."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.entries = {}

    def add(self, info, data=None):
        if not info.name:
            return
        if info.name in self.entries:
            old = self.entries[info.name][0]
            if old.isdir() and info.isdir():
                return
            if not (old.isdir() or info.isdir()) and self.entries[info.name][1] == data:
                return
            raise SystemExit(f"oci.py: {info.name} comes twice with different content")
        info.uname = info.gname = ""
        self.entries[info.name] = (info, data)

    def dir(self, path, mode=0o755, uid=0, gid=0):
        info = tarfile.TarInfo(path)
        info.type = tarfile.DIRTYPE
        info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, self.epoch
        self.add(info)

    def file(self, path, data, mode=0o644, uid=0, gid=0):
        info = tarfile.TarInfo(path)
        info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, self.epoch
        self.add(info, data)

    def symlink(self, path, target):
        info = tarfile.TarInfo(path)
        info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, self.epoch
        self.add(info)

    def write(self, out):
        """Writes the tar to the open file `out`, parents before children."""
        for name in list(self.entries):
            parts = name.split("/")
            for i in range(1, len(parts)):
                parent = "/".join(parts[:i])
                if parent not in self.entries:
                    self.dir(parent)
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(self.entries):
                info, data = self.entries[name]
                if info.isdir():
                    info.name = name + "/"
                tar.addfile(info, io.BytesIO(data) if data is not None else None)


def deb_members(deb):
    """Yields (TarInfo, bytes or None) for each entry of a .deb's data."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for info in tar:
            data = tar.extractfile(info).read() if info.isreg() else None
            yield info, data
    if proc.wait() != 0:
        raise SystemExit(f"oci.py: dpkg-deb failed on {deb}")


def base_layer(spec):
    """The stand-in for the distroless base: its Debian packages, users and files.

    What it adds takes the packages' newest time, so the layer changes only with them.
    """
    layer = Layer(0)
    certs = []
    for deb in spec["debs"]:
        only_certs = os.path.basename(deb).startswith("ca-certificates_")
        for info, data in deb_members(deb):
            name = info.name = norm(info.name)
            if info.islnk():
                info.linkname = norm(info.linkname)
            if only_certs:
                # As distroless: the bundle update-ca-certificates would make, and the copyright.
                if name.startswith("usr/share/ca-certificates/") and name.endswith(".crt"):
                    certs.append((name, data))
                if name != "usr/share/doc/ca-certificates/copyright":
                    continue
            layer.add(info, data)
            layer.epoch = max(layer.epoch, int(info.mtime))
    for link in ("bin", "sbin", "lib", "lib64"):
        layer.dir("usr/" + link)
        layer.symlink(link, "usr/" + link)
    bundle = b"".join(data if data.endswith(b"\n") else data + b"\n" for _, data in sorted(certs))
    layer.file("etc/ssl/certs/ca-certificates.crt", bundle)
    users = spec["users"]
    layer.file("etc/passwd", "".join(
        f"{u['name']}:x:{u['uid']}:{u['uid']}:{u['name']}:{u['home']}:/sbin/nologin\n"
        for u in users).encode())
    layer.file("etc/group", "".join(
        f"{g['name']}:x:{g['gid']}:\n" for g in spec["groups"]).encode())
    layer.file("etc/nsswitch.conf", b"passwd: files\ngroup: files\nshadow: files\n"
               b"hosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n")
    layer.dir("tmp", 0o1777)
    for u in users:
        if u["home"].startswith("/home/") or u["home"] == "/root":
            layer.dir(u["home"].lstrip("/"), 0o700, u["uid"], u["uid"])
    return layer


def files_layer(files, epoch):
    layer = Layer(epoch)
    for path, src in files.items():
        with open(src, "rb") as f:
            layer.file(path.lstrip("/"), f.read(), 0o755)
    return layer


def write_blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def store_layer(layer, blobs, cache):
    """Writes the layer's gzipped tar as a blob; returns (descriptor, diff_id, tar size)."""
    with tempfile.TemporaryFile() as raw:
        layer.write(raw)
        size = raw.tell()
        raw.seek(0)
        tar_sha = hashlib.sha256()
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            tar_sha.update(chunk)
        diff_id = "sha256:" + tar_sha.hexdigest()
        cached = os.path.join(cache, tar_sha.hexdigest() + ".tar.gz") if cache else None
        if not (cached and os.path.exists(cached)):
            # Compressing is the slow part; a layer already compressed once is reused.
            target = cached or os.path.join(blobs, "layer.tar.gz")
            raw.seek(0)
            # Builds running side by side may fill the same cache entry.
            part = f"{target}.{os.getpid()}.tmp"
            with open(part, "wb") as out:
                with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
                    shutil.copyfileobj(raw, gz, 1 << 20)
            os.replace(part, target)
            cached = target
    if cache:
        os.utime(cached)
    sha = hashlib.sha256()
    with open(cached, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    digest = sha.hexdigest()
    dest = os.path.join(blobs, digest)
    if cache:
        shutil.copyfile(cached, dest)
    else:
        os.replace(cached, dest)
    desc = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:" + digest, "size": os.path.getsize(dest)}
    return desc, diff_id, size


def prune(cache, days=30):
    """Drops cache entries no build used for a while."""
    import time
    limit = time.time() - days * 86400
    for name in os.listdir(cache):
        path = os.path.join(cache, name)
        try:
            if os.path.getmtime(path) < limit:
                os.remove(path)
        except FileNotFoundError:
            pass


def assemble(spec):
    from datetime import datetime, timezone
    epoch = int(spec["epoch"])
    created = datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = spec["out"]
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    blobs = os.path.join(tmp, "blobs", "sha256")
    os.makedirs(blobs)
    if spec.get("cache"):
        os.makedirs(spec["cache"], exist_ok=True)
        prune(spec["cache"])

    # Only layers that recur from build to build are worth a cache entry; a
    # layer's own "epoch" keeps it the same across commits, for registries too.
    layers = [(base_layer(spec["base"]), spec["base"]["created_by"], spec.get("cache"))]
    for extra in spec["layers"]:
        cache = spec.get("cache") if extra.get("cache") else None
        layer = files_layer(extra["files"], int(extra.get("epoch", epoch)))
        layers.append((layer, extra["created_by"], cache))
    descs, diff_ids, history, summary = [], [], [], []
    for layer, created_by, cache in layers:
        desc, diff_id, size = store_layer(layer, blobs, cache)
        descs.append(desc)
        diff_ids.append(diff_id)
        history.append({"created": created, "created_by": created_by})
        summary.append({"created_by": created_by, "digest": desc["digest"],
                        "compressed": desc["size"], "uncompressed": size})

    config = {
        "created": created,
        "architecture": spec["arch"],
        "os": "linux",
        "config": spec["config"],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_digest, config_size = write_blob(blobs, json.dumps(config, indent=2, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": descs,
        "annotations": spec.get("annotations", {}),
    }
    manifest_digest, manifest_size = write_blob(blobs, json.dumps(manifest, indent=2, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size,
            "platform": {"architecture": spec["arch"], "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": spec["tag"]},
        }],
    }
    with open(os.path.join(tmp, "index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
    with open(os.path.join(tmp, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    json.dump({"manifest": manifest_digest, "config": config_digest, "layers": summary},
              sys.stdout, indent=2)
    print()


def run(bundle, args):
    """Starts ARGS the way the bundle's runtime spec says, chrooted into its rootfs."""
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    process = spec["process"]
    user = process.get("user", {})
    env = dict(e.split("=", 1) for e in process.get("env", []))
    root = os.path.join(bundle, spec["root"]["path"])
    pid = os.fork()
    if pid == 0:
        try:
            os.chroot(root)
            os.chdir(process.get("cwd", "/"))
            os.setgroups(user.get("additionalGids", []))
            os.setgid(user.get("gid", 0))
            os.setuid(user.get("uid", 0))
            os.execvpe(args[0], args, env)
        except OSError as e:
            print(f"oci.py: cannot start {args[0]} in the image: {e}", file=sys.stderr)
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "assemble":
        with open(sys.argv[2]) as f:
            assemble(json.load(f))
    elif len(sys.argv) >= 4 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
