#!/usr/bin/env python3
"""Lay out the libobs harness's native side for a machine that has none of it.

    python3 scripts/gpu/obs_bundle.py TREE     (scripts/gpu/obs_prepare.sh calls it)

TREE gets, from this Debian 12 machine's packages (obs-studio 29.0.2, xvfb, x11-xkb-utils,
xkb-data, libglvnd): libobs, its OpenGL module, the image-source and obs-ffmpeg plugins,
libobs's effects, Xvfb with xkbcomp and the keyboard data, the libraries they load
(`readelf -d` NEEDED, walked from those roots), and the EGL device shim. It is unpacked
at /tmp/obs on the other machine (`obs_run.sh`): two paths compiled into the binaries
are rewritten to point there (same length, so nothing moves):
- libobs.so.0: "/usr/share/obs/libobs/" (its effects) → "/tmp/obs/share/libobs/";
- Xvfb: "/usr/bin" (where it runs xkbcomp) → "/tmp/obs".

Only the libraries in REAL travel as they are. Every other library the walk reaches
(x264, x265, AV1, gnutls, PulseAudio, GIO, Wayland… — what libav* and libobs link for
features this scene never uses) is replaced by a stub of the same soname: a library that
defines exactly the symbols (and symbol versions) the real libraries import from it, each
function returning 0 and each object zero-filled. That keeps the bundle small and still
lets the dynamic loader bind everything (libobs is linked with BIND_NOW). On the target,
`obs_run.sh` drops any of ours whose soname the machine has itself, stubs included.
SYSTEM libraries (glibc, the C++ runtime, zlib) are never carried.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
SYSTEM = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libresolv.so.2",
    "ld-linux-x86-64.so.2",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "libz.so.1",
}
REAL = {
    # OBS and the FFmpeg it is built against (PNG and Motion JPEG decoding, scaling)
    "libobs.so.0",
    "libobs-opengl.so.1",
    "libobsglad.so.1",
    "libavcodec.so.59",
    "libavformat.so.59",
    "libavutil.so.57",
    "libswscale.so.6",
    "libswresample.so.4",
    "libjansson.so.4",
    # libavformat probes every file with gme_identify_header and reads the string it returns
    "libgme.so.0",
    # X11 client side, libglvnd (the GPU's vendor EGL/GLX libraries come with its driver)
    "libX11.so.6",
    "libX11-xcb.so.1",
    "libxcb.so.1",
    "libXau.so.6",
    "libXdmcp.so.6",
    "libXext.so.6",
    "libbsd.so.0",
    "libmd.so.0",
    "libEGL.so.1",
    "libGL.so.1",
    "libGLX.so.0",
    "libGLdispatch.so.0",
    # Xvfb and xkbcomp
    "libxkbfile.so.1",
    "libpixman-1.so.0",
    "libXfont2.so.2",
    "libfontenc.so.1",
    "libfreetype.so.6",
    "libpng16.so.16",
    "libbrotlidec.so.1",
    "libbrotlicommon.so.1",
    "libbz2.so.1.0",
    "libunwind.so.8",
    "liblzma.so.5",
    "libgcrypt.so.20",
    "libgpg-error.so.0",
}
PLUGINS = ("image-source", "obs-ffmpeg")
ROOTS = [
    LIBDIR / "libobs.so.0",
    LIBDIR / "libobs-opengl.so.1",
    LIBDIR / "libGL.so.1",  # dlopened by libobs's GL loader
    *(LIBDIR / "obs-plugins" / f"{p}.so" for p in PLUGINS),
    Path("/usr/bin/Xvfb"),
    Path("/usr/bin/xkbcomp"),
]
PATCHES = {
    "libobs.so.0": (b"/usr/share/obs/libobs/\0", b"/tmp/obs/share/libobs/\0"),
    "Xvfb": (b"\0/usr/bin\0", b"\0/tmp/obs\0"),
}


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def soname_paths() -> dict[str, Path]:
    """soname → file, from the loader's cache (x86-64 entries)."""
    found: dict[str, Path] = {}
    for line in run("ldconfig", "-p").splitlines():
        m = re.match(r"\s+(\S+) \(libc6,x86-64[^)]*\) => (\S+)", line)
        if m and m.group(1) not in found:
            found[m.group(1)] = Path(m.group(2))
    return found


def needed(path: Path) -> list[str]:
    return re.findall(
        r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-dW", str(path))
    )


def symbols(path: Path) -> tuple[set[tuple[str, str | None]], dict[str, list[tuple]]]:
    """(imports: {(name, version)}, exports: name → [(version, default, type, size)])."""
    imports: set[tuple[str, str | None]] = set()
    exports: dict[str, list[tuple]] = {}
    for line in run("readelf", "--dyn-syms", "-W", str(path)).splitlines():
        parts = line.split(None, 7)
        if len(parts) < 8 or not parts[0].rstrip(":").isdigit():
            continue
        _, _, size, kind, bind, _, ndx, rest = parts
        full = rest.split(" (")[0].strip()
        name, _, version = full.partition("@")
        default = version.startswith("@")
        version = version.lstrip("@") or None
        if ndx == "UND":
            if bind != "WEAK" and name:
                imports.add((name, version))
        elif ndx != "ABS" and bind in ("GLOBAL", "WEAK", "UNIQUE"):
            exports.setdefault(name, []).append((version, default, kind, int(size, 0)))
    return imports, exports


def walk() -> tuple[dict[str, Path], dict[str, Path]]:
    """(real: soname → file, stubbed: soname → the real file the stub replaces)."""
    where = soname_paths()
    real: dict[str, Path] = {}
    stubbed: dict[str, Path] = {}
    queue = list(ROOTS)
    seen: set[Path] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in needed(path):
            if name in SYSTEM or name in real or name in stubbed:
                continue
            if name not in where:
                raise SystemExit(f"{path} needs {name}, which this machine lacks")
            if name in REAL:
                real[name] = where[name]
                queue.append(where[name])
            else:
                stubbed[name] = where[name]
    for root in ROOTS:
        if root.parent == LIBDIR:
            real.setdefault(root.name, root)
    return real, stubbed


def stub_source(
    soname: str, exports: dict[str, list[tuple]], wanted: set[tuple[str, str | None]]
) -> tuple[str, list[str]]:
    """C source defining the `wanted` imports this library exports, and its version nodes."""
    lines = [f"/* stub of {soname}: generated by obs_bundle.py */", STUB_PRELUDE]
    versions = sorted({v for defs in exports.values() for v, *_ in defs if v})
    n = 0
    for name in sorted({w[0] for w in wanted}):
        defs = exports[name]
        for version, default, kind, size in defs:
            n += 1
            internal = f"jump_stub_{n}"
            if kind == "OBJECT" or kind == "TLS":
                tls = "__thread " if kind == "TLS" else ""
                lines.append(f"{tls}char {internal}[{max(size, 1)}] __attribute__((aligned(16)));")
            else:  # FUNC, IFUNC, NOTYPE: a function that says it was called, returns 0
                text = f"obs bundle: {name} (stub of {soname}) called, returns 0\\n"
                lines.append(
                    f"static char {internal}_said;\n"
                    f"long {internal}(void) {{ if (!{internal}_said++) "
                    f'say("{text}", {len(text) - 1}); return 0; }}'
                )
            if version:
                at = "@@" if default else "@"
                lines.append(f'__asm__(".symver {internal}, {name}{at}{version}");')
            else:
                kind_asm = "@object" if kind in ("OBJECT", "TLS") else "@function"
                lines.append(
                    f'__asm__(".globl {name}\\n.set {name}, {internal}\\n'
                    f'.type {name}, {kind_asm}\\n.size {name}, {max(size, 1)}");'
                )
    return "\n".join(lines) + "\n", versions


# no libc in a stub: stderr through the write system call (x86-64)
STUB_PRELUDE = r"""
static void say(const char *text, long n) {
    long ret;
    __asm__ volatile ("syscall" : "=a"(ret) : "a"(1L), "D"(2L), "S"(text), "d"(n)
                      : "rcx", "r11", "memory");
}
"""


def build_stub(soname: str, source: str, versions: list[str], out: Path, work: Path) -> None:
    c = work / f"{soname}.c"
    c.write_text(source)
    args = ["gcc", "-shared", "-fPIC", "-O0", "-nostdlib", "-o", str(out), str(c)]
    args += [f"-Wl,-soname,{soname}"]
    if versions:
        script = work / f"{soname}.map"
        nodes = [
            f"{v} {{ {'local: jump_stub_*;' if i == 0 else ''} }};" for i, v in enumerate(versions)
        ]
        script.write_text("\n".join(nodes) + "\n")
        args.append(f"-Wl,--version-script={script}")
    subprocess.run(args, check=True)


def patch(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert len(old) == len(new) and data.count(old) == 1, (path, old, data.count(old))
    path.write_bytes(data.replace(old, new))


def main(tree: Path) -> int:
    here = Path(__file__).resolve().parent
    if tree.exists():
        shutil.rmtree(tree)
    lib, bin_, share = tree / "lib", tree / "bin", tree / "share"
    for d in (lib / "obs-plugins", bin_, share, tree / ".work"):
        d.mkdir(parents=True)
    real, stubbed = walk()

    # what the real side imports, and who exports what
    imports: set[tuple[str, str | None]] = set()
    carried = [*real.values(), *ROOTS]
    for path in carried:
        imports |= symbols(path)[0]
    # an unversioned import that a real or system library exports is theirs, not a stub's
    where = soname_paths()
    provided: set[str] = set()
    for file in [*real.values(), *(where[s] for s in SYSTEM if s in where)]:
        provided |= set(symbols(file)[1])
    stubs = {}
    for soname, path in sorted(stubbed.items()):
        exports = symbols(path)[1]
        versions = {v for defs in exports.values() for v, *_ in defs if v}
        wanted = {
            (name, ver)
            for name, ver in imports
            if name in exports and (ver in versions if ver else name not in provided)
        }
        source, vers = stub_source(soname, exports, wanted)
        build_stub(soname, source, vers, lib / soname, tree / ".work")
        stubs[soname] = len({w[0] for w in wanted})

    for soname, path in real.items():
        shutil.copy2(path.resolve(), lib / soname)
    for p in PLUGINS:
        shutil.copy2(LIBDIR / "obs-plugins" / f"{p}.so", lib / "obs-plugins" / f"{p}.so")
        locale = share / "obs-plugins" / p / "locale"
        locale.mkdir(parents=True)
        shutil.copy2(Path("/usr/share/obs/obs-plugins") / p / "locale" / "en-US.ini", locale)
    shutil.copytree("/usr/share/obs/libobs", share / "libobs")
    shutil.copytree("/usr/share/X11/xkb", share / "X11" / "xkb", symlinks=True)
    for exe in ("Xvfb", "xkbcomp"):
        shutil.copy2(Path("/usr/bin") / exe, bin_ / exe)
    (tree / "xkbcomp").symlink_to("bin/xkbcomp")  # where the patched Xvfb runs it
    patch(lib / "libobs.so.0", *PATCHES["libobs.so.0"])
    patch(bin_ / "Xvfb", *PATCHES["Xvfb"])
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-O2",
            "-o",
            str(lib / "libjump_egl_device.so"),
            str(here / "egl_device_shim.c"),
            "-ldl",
        ],
        check=True,
    )
    shutil.rmtree(tree / ".work")

    # every carried file finds each library it needs in the tree or on any glibc system
    have = {p.name for p in lib.iterdir()} | SYSTEM
    missing = {
        f"{f.relative_to(tree)}: {n}"
        for f in [*lib.rglob("*.so*"), *bin_.iterdir()]
        for n in needed(f)
        if n not in have
    }
    if missing:
        raise SystemExit("unresolved: " + ", ".join(sorted(missing)))
    manifest = {
        "real": sorted(real),
        "stubs": stubs,
        "system_not_carried": sorted(SYSTEM),
        "patched": {
            k: [o.decode().strip("\0"), n.decode().strip("\0")] for k, (o, n) in PATCHES.items()
        },
    }
    (tree / "MANIFEST.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(real)} real libraries, {len(stubs)} stubs ({sum(stubs.values())} symbols)")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
