#!/usr/bin/python3
"""Runs a Dockerfile without a Docker engine, for tests/image/run.sh.

Only the instructions parley's Dockerfile uses are understood (FROM, RUN,
COPY, WORKDIR, ENV, USER, VOLUME, EXPOSE, HEALTHCHECK, ENTRYPOINT, CMD); any
other one stops the run, so the file cannot grow a step this skips. The
base image debian:12-slim is a minbase root made once with mmdebstrap from
Debian's archive. Each instruction's result is a layer (an overlayfs upper
folder) cached under CACHE/layers/ by a key over the base, the
instructions before it and the content of what COPY copied, as Docker's
build cache does: a second run with unchanged inputs does nothing.

  dockerfile.py build DOCKERFILE CONTEXT CACHE   writes CACHE/image.json
  dockerfile.py shell CACHE SCRIPT               runs SCRIPT (sh) as root in
      new mount, pid and network namespaces (only a loopback interface),
      with the image's layers plus an empty container layer mounted at
      $ROOT; `in_image CMD...` runs CMD in the image as its USER, in its
      WORKDIR, with its ENV (`image_exec CMD... &` the same as a background
      job whose $! is CMD itself); $IMAGE_CMD is ENTRYPOINT + CMD and
      $IMAGE_HEALTHCHECK the HEALTHCHECK command, both shell-quoted.
Needs root (mounts, chroot), mmdebstrap, unshare and ip.
"""
import fnmatch
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

BASES = {
    # image name -> how to make its root: suite, variant, archive lines
    "debian:12-slim": ("bookworm", "minbase", [
        "deb http://deb.debian.org/debian bookworm main",
        "deb http://deb.debian.org/debian bookworm-updates main",
        "deb http://deb.debian.org/debian-security bookworm-security main",
    ]),
}
# Part of every layer's key: change it when this runner's semantics change.
RUNNER_VERSION = "2"
USED = set()  # the layers this build used; the others are removed at its end
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def die(msg):
    sys.stderr.write(f"dockerfile.py: {msg}\n")
    sys.exit(1)


def log(msg):
    sys.stderr.write(f"dockerfile.py: {msg}\n")
    sys.stderr.flush()


def parse(path):
    """[(lineno, INSTRUCTION, argument text)], continuations joined."""
    out, buf, start = [], "", 0
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if buf and line.lstrip().startswith("#"):
                continue  # a comment inside a continued instruction
            if not buf:
                start = n
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            buf += line
            word, _, rest = buf.strip().partition(" ")
            out.append((start, word.upper(), rest.strip()))
            buf = ""
    if buf:
        die(f"{path}:{start}: instruction continues past the end of the file")
    return out


def exec_form(text, where):
    try:
        v = json.loads(text)
    except ValueError:
        die(f"{where}: only the exec form [\"...\"] is supported here")
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        die(f"{where}: exec form must be a list of strings")
    return v


def sh(script, **kw):
    return subprocess.run(["/bin/sh", "-ec", script], check=True, **kw)


def base_root(cache, image):
    if image not in BASES:
        die(f"FROM {image}: no recipe for this base image")
    suite, variant, lines = BASES[image]
    root = os.path.join(cache, "roots", image.replace(":", "-"))
    if os.path.exists(os.path.join(root, ".parley-complete")):
        return root
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.dirname(root), exist_ok=True)
    log(f"making {image} with mmdebstrap ({suite}, {variant}); once, then cached")
    subprocess.run(["mmdebstrap", "--mode=root", f"--variant={variant}", "--quiet",
                    suite, root] + lines, check=True)
    open(os.path.join(root, ".parley-complete"), "w").close()
    return root


def context_files(context):
    """The build context: the files git knows or would add, minus .dockerignore."""
    listed = subprocess.run(["git", "-C", context, "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], check=True, capture_output=True).stdout
    patterns = []
    ignore = os.path.join(context, ".dockerignore")
    if os.path.exists(ignore):
        for line in open(ignore):
            line = line.strip()
            if line and not line.startswith("#"):
                if line.startswith("!"):
                    die(".dockerignore: exceptions (!) are not supported here")
                patterns.append(line.rstrip("/"))

    def ignored(path):
        parts = path.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        for p in patterns:
            p2 = p[3:] if p.startswith("**/") else None
            for pre in prefixes:
                if fnmatch.fnmatchcase(pre, p):
                    return True
                if p2 and fnmatch.fnmatchcase(pre.split("/")[-1], p2):
                    return True
        return False

    files = [p for p in listed.decode().split("\0") if p]
    return sorted(p for p in files if os.path.lexists(os.path.join(context, p)) and not ignored(p))


def digest_files(base, paths):
    h = hashlib.sha256()
    for p in paths:
        full = os.path.join(base, p)
        st = os.lstat(full)
        h.update(f"{p}\0{st.st_mode:o}\0".encode())
        if os.path.islink(full):
            h.update(os.readlink(full).encode())
        elif os.path.isfile(full):
            with open(full, "rb") as f:
                h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()


class Stage:
    def __init__(self, base, name):
        self.base = base          # the base root folder
        self.layers = []          # upper folders, oldest first
        self.name = name
        self.key = hashlib.sha256(f"{RUNNER_VERSION}\0{base}".encode()).hexdigest()
        self.env = {"PATH": DEFAULT_PATH}
        self.workdir = "/"
        self.user = "root"
        self.meta = {"volumes": [], "expose": [], "entrypoint": [], "cmd": [],
                     "healthcheck": None}

    def lowerdir(self):
        return ":".join(list(reversed(self.layers)) + [self.base])


def mount_script(lower, upper, work, root):
    q = shlex.quote
    return (f"mount -t overlay overlay -o lowerdir={q(lower)},upperdir={q(upper)},"
            f"workdir={q(work)} {q(root)}\n"
            f"mount -t proc proc {q(root)}/proc\n"
            f"mount -t devpts -o newinstance,ptmxmode=0666 devpts {q(root)}/dev/pts\n")


def in_namespaces(script, net=False):
    """Runs a sh script in fresh mount+pid (and network) namespaces: its
    mounts and processes go away with it."""
    args = ["unshare", "--mount", "--pid", "--fork", "--kill-child"]
    if net:
        args.append("--net")
    return subprocess.run(args + ["/bin/sh", "-ec", script])


def layer(cache, stage, what, apply):
    """Adds a layer whose key is the stage's key + what; apply(root_script
    prefix, upper) fills it unless it is cached."""
    stage.key = hashlib.sha256((stage.key + "\0" + what).encode()).hexdigest()
    d = os.path.join(cache, "layers", stage.key[:32])
    upper = os.path.join(d, "upper")
    if os.path.exists(os.path.join(d, "complete")):
        log(f"  cached: {what[:100]}")
    else:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(upper)
        os.makedirs(os.path.join(d, "work"))
        os.makedirs(os.path.join(d, "root"))
        log(f"  run: {what[:100]}")
        apply(d, upper)
        shutil.rmtree(os.path.join(d, "work"), ignore_errors=True)
        open(os.path.join(d, "complete"), "w").close()
    stage.layers.append(upper)
    USED.add(os.path.basename(d))


def run_in(stage, d, upper, command):
    q = shlex.quote
    root = os.path.join(d, "root")
    env = " ".join(q(f"{k}={v}") for k, v in stage.env.items())
    script = mount_script(stage.lowerdir(), upper, os.path.join(d, "work"), root)
    # As Docker does: the host's resolver for the step, not kept in the layer.
    script += f"[ -e {q(root)}/etc/resolv.conf ] || touch {q(root)}/etc/resolv.conf\n"
    script += f"mount --bind /etc/resolv.conf {q(root)}/etc/resolv.conf\n"
    script += (f"chroot --userspec={q(stage.user)} {q(root)} /usr/bin/env -i HOME=/root {env} "
               f"/bin/sh -c {q('cd ' + q(stage.workdir) + ' && ' + command)}\n")
    r = in_namespaces(script)
    if r.returncode != 0:
        die(f"RUN {command}: exit {r.returncode}")


def in_overlay(stage, d, upper, script):
    """Runs a host sh script with the stage's tree mounted (writes go to
    the layer) at $R: changes land as Docker's would, e.g. an existing
    folder keeps its owner and mode."""
    root = os.path.join(d, "root")
    pre = mount_script(stage.lowerdir(), upper, os.path.join(d, "work"), root)
    pre += f"R={shlex.quote(root)}\n"
    if in_namespaces(pre + script).returncode != 0:
        die(f"could not write the layer {d}")


def copy_in(stage, d, upper, srcdir, paths, dest, name=None):
    """Copies paths (relative to srcdir) into the folder dest (a COPY), or
    one file to dest/name."""
    q = shlex.quote
    tar = os.path.join(d, "copy.tar")
    listing = "".join(p + "\0" for p in paths).encode()
    with open(tar, "wb") as out:
        subprocess.run(["tar", "-C", srcdir, "--null", "-T", "-", "-cf", "-"], input=listing,
                       check=True, stdout=out)
    script = f'mkdir -p "$R"{q(dest)}\n'
    if name is None:
        script += f'tar -C "$R"{q(dest)} --no-same-owner --no-overwrite-dir -xf {q(tar)}\n'
    else:
        script += (f'tar -C "$R"{q(dest)} --no-same-owner -xf {q(tar)}\n'
                   f'if [ {q(os.path.basename(paths[0]))} != {q(name)} ]; then '
                   f'mv "$R"{q(os.path.join(dest, os.path.basename(paths[0])))} '
                   f'"$R"{q(os.path.join(dest, name))}; fi\n')
    in_overlay(stage, d, upper, script)
    os.unlink(tar)


def stage_root_files(cache, stage, src):
    """Materialises stage's tree under src (a COPY --from) into a temp dir."""
    tmp = tempfile.mkdtemp(dir=cache)
    root = os.path.join(tmp, "root")
    os.makedirs(root)
    os.makedirs(os.path.join(tmp, "out"))
    q = shlex.quote
    script = (f"mount -t overlay overlay -o ro,lowerdir={q(stage.lowerdir())} {q(root)}\n"
              f"cp -a {q(root + '/' + src.strip('/'))}/. {q(tmp)}/out/\n")
    if in_namespaces(script).returncode != 0:
        die(f"COPY --from: could not read {src}")
    return tmp


def build(dockerfile, context, cache):
    cache = os.path.abspath(cache)
    context = os.path.abspath(context)
    stages = {}
    stage = None
    ctx_files = None
    for n, ins, arg in parse(dockerfile):
        where = f"{dockerfile}:{n}"
        log(f"{ins} {arg}"[:120])
        if ins == "FROM":
            words = arg.split()
            if len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
                die(f"{where}: FROM IMAGE [AS NAME]")
            stage = Stage(base_root(cache, words[0]), words[2] if len(words) == 3 else None)
            stages[len(stages)] = stage
            if stage.name:
                stages[stage.name] = stage
            continue
        if stage is None:
            die(f"{where}: {ins} before FROM")
        if ins == "RUN":
            if arg.startswith("["):
                die(f"{where}: RUN in exec form is not supported here")
            layer(cache, stage, f"RUN {stage.user} {stage.workdir} {sorted(stage.env.items())} {arg}",
                  lambda d, up: run_in(stage, d, up, arg))
        elif ins == "COPY":
            words = shlex.split(arg)
            src_stage = None
            while words and words[0].startswith("--"):
                opt = words.pop(0)
                if opt.startswith("--from="):
                    src_stage = stages.get(opt[7:]) or die(f"{where}: no stage {opt[7:]}")
                else:
                    die(f"{where}: COPY option {opt} is not supported here")
            if len(words) != 2:
                die(f"{where}: COPY SRC DEST (one source) is what is supported here")
            src, dest = words
            if not dest.startswith("/"):
                dest = os.path.join(stage.workdir, dest)
            if src_stage is not None:
                tmp = stage_root_files(cache, src_stage, src)
                out = os.path.join(tmp, "out")
                paths = sorted(os.path.relpath(os.path.join(dp, f), out)
                               for dp, dns, fns in os.walk(out) for f in fns + [
                                   x for x in dns if os.path.islink(os.path.join(dp, x))])
                digest = digest_files(out, paths)
                layer(cache, stage, f"COPY {src_stage.key} {src} {dest} {digest}",
                      lambda d, up: copy_in(stage, d, up, out, ["."], dest))
                shutil.rmtree(tmp)
            else:
                if ctx_files is None:
                    ctx_files = context_files(context)
                src = os.path.normpath(src)
                if src == ".":
                    paths = ctx_files
                elif src in ctx_files:
                    paths = [src]
                else:
                    die(f"{where}: {src} is not in the build context")
                digest = digest_files(context, paths)
                if src != ".":
                    # A single file to a file path: copy it under its new name.
                    dsrc = os.path.dirname(os.path.join(context, src))
                    layer(cache, stage, f"COPY {src} {dest} {digest}",
                          lambda d, up: copy_in(stage, d, up, dsrc, [os.path.basename(src)],
                                                os.path.dirname(dest), os.path.basename(dest)))
                else:
                    layer(cache, stage, f"COPY . {dest} {digest}",
                          lambda d, up: copy_in(stage, d, up, context, paths, dest))
        elif ins == "WORKDIR":
            stage.workdir = os.path.join(stage.workdir, arg)
            wd = stage.workdir
            layer(cache, stage, f"WORKDIR {wd}",
                  lambda d, up: in_overlay(stage, d, up, f'mkdir -p "$R"{shlex.quote(wd)}\n'))
        elif ins == "ENV":
            k, eq, v = arg.partition("=")
            if not eq or " " in k:
                die(f"{where}: ENV NAME=VALUE is what is supported here")
            stage.env[k] = v
            stage.key = hashlib.sha256((stage.key + "\0ENV " + arg).encode()).hexdigest()
        elif ins == "USER":
            stage.user = arg
        elif ins == "VOLUME":
            stage.meta["volumes"] += arg.split()
        elif ins == "EXPOSE":
            stage.meta["expose"] += arg.split()
        elif ins == "HEALTHCHECK":
            words = arg.split()
            while words and words[0].startswith("--"):
                words.pop(0)
            if not words or words[0] != "CMD":
                die(f"{where}: HEALTHCHECK [OPTIONS] CMD command")
            stage.meta["healthcheck"] = arg[arg.index(" CMD ") + 5:] if " CMD " in arg else ""
        elif ins == "ENTRYPOINT":
            stage.meta["entrypoint"] = exec_form(arg, where)
        elif ins == "CMD":
            stage.meta["cmd"] = exec_form(arg, where)
        else:
            die(f"{where}: instruction {ins} is not supported by this runner; teach "
                f"tests/image/dockerfile.py or leave it out")
    if stage is None:
        die(f"{dockerfile}: no FROM")
    image = {"base": stage.base, "layers": stage.layers, "env": stage.env,
             "workdir": stage.workdir, "user": stage.user, **stage.meta}
    with open(os.path.join(cache, "image.json"), "w") as f:
        json.dump(image, f, indent=1)
    log(f"image: {len(stage.layers)} layers on {os.path.basename(stage.base)}")
    # Only this build's layers are kept: the cache holds one image, not a history.
    for name in os.listdir(os.path.join(cache, "layers")):
        if name not in USED:
            shutil.rmtree(os.path.join(cache, "layers", name))


def shell(cache, script):
    cache = os.path.abspath(cache)
    image = json.load(open(os.path.join(cache, "image.json")))
    c = tempfile.mkdtemp(prefix="container.", dir=cache)
    for sub in ("upper", "work", "root"):
        os.makedirs(os.path.join(c, sub))
    q = shlex.quote
    root = os.path.join(c, "root")
    env = " ".join(q(f"{k}={v}") for k, v in image["env"].items())
    prelude = "ip link set lo up\n"
    prelude += mount_script(":".join(list(reversed(image["layers"])) + [image["base"]]),
                            os.path.join(c, "upper"), os.path.join(c, "work"), root)
    prelude += f"ROOT={q(root)}\nexport ROOT\n"
    prelude += f"IMAGE_CMD={q(shlex.join(image['entrypoint'] + image['cmd']))}\n"
    prelude += f"IMAGE_HEALTHCHECK={q(image['healthcheck'] or '')}\n"
    inner = "cd " + q(image["workdir"]) + ' && exec "$@"'
    prelude += ("image_exec() {\n"
                f"\texec chroot --userspec={q(image['user'])} \"$ROOT\" /usr/bin/env -i "
                f"HOME={q(image['workdir'])} {env} /bin/sh -c {q(inner)} sh \"$@\"\n"
                "}\n"
                "in_image() { (image_exec \"$@\"); }\n")
    try:
        r = in_namespaces(prelude + script, net=True)
    finally:
        shutil.rmtree(c, ignore_errors=True)
    return r.returncode


def main():
    if os.geteuid() != 0:
        die("needs root (overlay mounts, chroot)")
    if len(sys.argv) == 5 and sys.argv[1] == "build":
        build(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "shell":
        sys.exit(shell(sys.argv[2], open(sys.argv[3]).read()))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
