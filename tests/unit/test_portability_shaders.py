"""Jump's .effect files as Direct3D 11 compiles them, checked with a real HLSL front end.

On Linux OBS translates the HLSL-like effect language to GLSL, so the e2e tests never see
what Windows sees. On Direct3D 11, libobs builds one HLSL program per technique pass
(libobs/graphics/effect-parser.c, ep_makeshaderstring: the used parameters, samplers,
structs and functions, then ``main`` calling the pass's entry with its arguments) and
libobs-d3d11 (d3d11-shaderprocessor.cpp, ShaderProcessor::BuildString) prepends
``static const bool obs_glsl_compile = false;`` and swaps a few tokens (POSITION ->
SV_Position, TARGET -> SV_Target, texture2d -> Texture2D, sampler_state -> SamplerState,
...). This test does the same to every effect file in jump/ (whole file, not only the
pass's dependencies, which is stricter) and compiles each vertex and pixel shader with
glslang's HLSL front end (``glslangValidator -D -V``: HLSL to SPIR-V, Debian's glslang-tools; .ci/run installs
it). A lint catches GLSL-only names (which the GL path would accept but D3D rejects) and
non-ASCII bytes (effects are read as UTF-8 by Jump, but libobs' parser works on bytes).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EFFECTS = sorted((REPO / "jump").rglob("*.effect"))
GLSLANG = shutil.which("glslangValidator")

# d3d11-shaderprocessor.cpp, ShaderProcessor::BuildString
D3D11_TOKENS = {
    "POSITION": "SV_Position",
    "TARGET": "SV_Target",
    "texture2d": "Texture2D",
    "texture3d": "Texture3D",
    "texture_cube": "TextureCube",
    "sampler_state": "SamplerState",
    "VERTEXID": "SV_VertexID",
}
# names that only GLSL knows; HLSL spells them float2.., lerp, frac, .Sample, fmod, rsqrt, ddx
GLSL_ONLY = re.compile(
    r"\b(?:[iub]?vec[234]|mat[234](?:x[234])?|sampler[23]D|texture2D|gl_\w+|"
    r"(?:mix|fract|mod|inversesqrt|dFdx|dFdy|texture|textureLod)(?=\s*\())"
)
PASS = re.compile(r"(vertex_shader|pixel_shader)\s*=\s*(\w+)\s*\(([^;]*)\)\s*;")


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _techniques(text: str) -> tuple[str, list[tuple[str, str, str, str]]]:
    """(the effect without its technique blocks, [(technique, stage, entry, args)])."""
    passes, body, i = [], [], 0
    for m in re.finditer(r"\btechnique\s+(\w+)\s*\{", text):
        if m.start() < i:
            continue
        depth, j = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        body.append(text[i : m.start()])
        for stage, entry, args in PASS.findall(text[m.end() : j]):
            passes.append((m.group(1), stage, entry, args.strip()))
        i = j
    body.append(text[i:])
    return "".join(body), passes


def d3d11_programs(effect: Path) -> list[tuple[str, str, str]]:
    """[(label, glslang stage, HLSL source)] for each shader of each pass, as D3D11 gets it."""
    text = _strip_comments(effect.read_text(encoding="utf-8"))
    body, passes = _techniques(text)
    assert "texture_rect" not in body, "texture_rect is not supported in D3D"
    # ep_write_param writes "uniform TYPE NAME;": annotations and default values stay in
    # the effect, not in the shader
    body = re.sub(
        r"(\buniform\s+\w+\s+\w+(?:\[\d+\])?)\s*(?:<[^>]*>)?\s*(?:=[^;]*)?;", r"\1;", body
    )
    for token, hlsl in D3D11_TOKENS.items():
        body = re.sub(rf"\b{token}\b", hlsl, body)
    programs = []
    for technique, stage, entry, args in passes:
        sig = re.search(rf"(\w+)\s+{entry}\s*\(([^)]*)\)\s*(?::\s*(\w+))?\s*\{{", body)
        assert sig, f"{effect.name}: {technique} uses {entry}, which is not defined"
        ret, params, mapping = sig.group(1), sig.group(2), sig.group(3)
        main = f"\n{ret} main({params})" + (f" : {mapping}" if mapping else "")
        main += f"\n{{\n\treturn {entry}({args});\n}}\n"
        source = "static const bool obs_glsl_compile = false;\n\n" + body + main
        programs.append((f"{effect.name}:{technique}:{entry}", stage, source))
    return programs


def test_effect_files_exist() -> None:
    assert EFFECTS, "no .effect file under jump/"


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda p: p.name)
def test_effect_is_ascii_and_hlsl_only(effect: Path) -> None:
    raw = effect.read_bytes()
    bad = [(n, line) for n, line in enumerate(raw.splitlines(), 1) if not line.isascii()]
    assert not bad, f"non-ASCII bytes in {effect.name}: lines {[n for n, _ in bad]}"
    code = _strip_comments(raw.decode("ascii"))
    found = sorted({m.group(0) for m in GLSL_ONLY.finditer(code)})
    assert not found, f"{effect.name} uses GLSL-only names {found}"


@pytest.mark.skipif(
    GLSLANG is None, reason="glslangValidator missing (apt-get install glslang-tools)"
)
@pytest.mark.parametrize("effect", EFFECTS, ids=lambda p: p.name)
def test_effect_compiles_as_d3d11_hlsl(effect: Path, tmp_path: Path) -> None:
    programs = d3d11_programs(effect)
    assert any(stage == "pixel_shader" for _, stage, _ in programs)
    failures = []
    for n, (label, stage, source) in enumerate(programs):
        path = tmp_path / f"{n}.hlsl"
        path.write_text(source, encoding="ascii")
        kind = "frag" if stage == "pixel_shader" else "vert"
        out = subprocess.run(
            [GLSLANG, "-D", "-V", "-S", kind, "-e", "main", "-o", str(path.with_suffix(".spv")),
             str(path)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if out.returncode != 0:
            failures.append(f"{label} ({kind}):\n{out.stdout}{out.stderr}")
    assert not failures, "\n".join(failures)


def test_the_check_rejects_what_d3d11_rejects(tmp_path: Path) -> None:
    """The same pipeline on broken effects: GLSL names and an HLSL type error both fail."""
    good = EFFECTS[0].read_text(encoding="utf-8")
    glsl = tmp_path / "glsl.effect"
    glsl.write_text(good.replace("float4 rgba = ", "vec4 rgba = ", 1), encoding="utf-8")
    with pytest.raises(AssertionError, match="GLSL-only"):
        test_effect_is_ascii_and_hlsl_only(glsl)
    if GLSLANG is None:
        pytest.skip("glslangValidator missing")
    wrong = tmp_path / "wrong.effect"
    wrong.write_text(good.replace("float a = alpha_at", "float2 a = undefined_fn", 1), "utf-8")
    with pytest.raises(AssertionError, match=r"undefined_fn|no matching|undeclared"):
        test_effect_compiles_as_d3d11_hlsl(wrong, tmp_path)
