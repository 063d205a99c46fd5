"""Model manifest, lookup order, and `python -m jump models fetch` against a local server."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jump import catalogue
from jump.cli import main
from tests.conftest import SHARED

SHIPPED = catalogue.PROJECT_MODELS  # the default models ship with Jump


@pytest.fixture
def serve() -> Iterator:
    """Serve a folder over HTTP on 127.0.0.1 (an ephemeral port) for the test's duration."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *a, **k: None
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_fetch_downloads_and_verifies(serve, tmp_path: Path, capsys) -> None:
    url = serve(SHIPPED)
    dest = tmp_path / "models"
    assert (
        main(["models", "fetch", "mediapipe", "silero-vad", "--dest", str(dest), "--base-url", url])
        == 0
    )
    for model_id in ("mediapipe", "silero-vad"):
        entry = catalogue.get_entry(model_id)
        assert catalogue.verify(entry, dest / entry.file)
    # a second run finds them and downloads nothing
    assert main(["models", "fetch", "mediapipe", "--dest", str(dest), "--base-url", url]) == 0
    assert "already present" in capsys.readouterr().out


def test_fetch_refuses_a_file_with_the_wrong_checksum(serve, tmp_path, capsys) -> None:
    mirror = tmp_path / "mirror" / "matte"
    mirror.mkdir(parents=True)
    data = bytearray((SHIPPED / "matte" / "mediapipe.onnx").read_bytes())
    data[1000] ^= 0xFF  # one flipped byte
    (mirror / "mediapipe.onnx").write_bytes(bytes(data))
    dest = tmp_path / "models"
    code = main(
        [
            "models",
            "fetch",
            "mediapipe",
            "--dest",
            str(dest),
            "--base-url",
            serve(tmp_path / "mirror"),
        ]
    )
    assert code == 1
    assert "checksum mismatch" in capsys.readouterr().out
    assert not (dest / "matte" / "mediapipe.onnx").exists()
    assert not list(dest.rglob("*.part"))  # nothing half-written is left behind


def test_lookup_order_user_dir_then_env_then_project(tmp_path, monkeypatch) -> None:
    entry = catalogue.get_entry("mediapipe")
    user, env = tmp_path / "user", tmp_path / "env"
    for folder in (user, env):
        (folder / "matte").mkdir(parents=True)
        shutil.copy(SHIPPED / entry.file, folder / entry.file)
    monkeypatch.setenv("JUMP_MODELS", str(env))
    assert catalogue.find_model("mediapipe", user) == user / entry.file
    assert catalogue.find_model("mediapipe") == env / entry.file
    monkeypatch.setenv("JUMP_MODELS", str(tmp_path / "empty"))
    assert catalogue.find_model("mediapipe") == SHIPPED / entry.file
    monkeypatch.setattr(catalogue, "PROJECT_MODELS", tmp_path / "project")
    with pytest.raises(catalogue.ModelError, match="models fetch mediapipe"):
        catalogue.find_model("mediapipe")


def test_the_default_models_ship_with_their_checksum_and_licence(capsys) -> None:
    from jump.denoise.settings import DenoiseSettings
    from jump.matte.settings import MatteSettings

    manifest = catalogue.load_manifest()
    shipped = {
        i for i, e in manifest.items() if e.spec.get("shipped") and "variant_of" not in e.spec
    }
    defaults = {MatteSettings().model, DenoiseSettings().neural_model, "silero-vad"}
    assert defaults <= shipped, defaults - shipped
    for model_id in shipped:
        entry = manifest[model_id]
        path = SHIPPED / entry.file
        assert catalogue.verify(entry, path), model_id
        licence = [p.name for p in path.parent.glob("*LICENSE*")]
        assert licence, f"{entry.file}: no licence file beside it"
        assert model_id in (SHIPPED / "README.md").read_text(), model_id
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    for model_id in shipped:
        line = next(row for row in listing.splitlines() if row.startswith(f"{model_id} "))
        assert " shipped " in line and " ok " in line, line


@pytest.mark.shared
def test_every_fetchable_entry_matches_the_shared_models() -> None:
    sums = dict(
        reversed(line.split())
        for line in (SHARED / "models" / "SHA256SUMS").read_text().splitlines()
    )
    for entry in catalogue.load_manifest().values():
        if entry.spec.get("variant_of") or entry.spec.get("shipped"):
            continue
        assert sums[entry.file] == entry.sha256, entry.id
        assert entry.url.startswith("https://"), entry.id


def test_manifest_is_parsed_once_and_again_when_a_file_changes(tmp_path: Path) -> None:
    import json
    import os

    entry = {"id": "a", "kind": "matte", "file": "a.onnx", "sha256": "0", "licence": "x", "url": ""}
    path = tmp_path / "m.json"
    path.write_text(json.dumps([entry]))
    first = catalogue.load_manifest(tmp_path)
    assert catalogue.load_manifest(tmp_path) is first  # no re-parse while nothing changed
    path.write_text(json.dumps([entry, {**entry, "id": "b"}]))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert sorted(catalogue.load_manifest(tmp_path)) == ["a", "b"]
    catalogue.forget_manifests()
    assert sorted(catalogue.load_manifest(tmp_path)) == ["a", "b"]
