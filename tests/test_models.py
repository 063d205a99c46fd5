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


@pytest.fixture
def serve(shared: Path) -> Iterator:
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


def test_fetch_downloads_and_verifies(serve, shared: Path, tmp_path: Path, capsys) -> None:
    url = serve(shared / "models")
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


def test_fetch_refuses_a_file_with_the_wrong_checksum(serve, shared, tmp_path, capsys) -> None:
    mirror = tmp_path / "mirror" / "matte"
    mirror.mkdir(parents=True)
    data = bytearray((shared / "models" / "matte" / "mediapipe.onnx").read_bytes())
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


def test_lookup_order_user_dir_then_env_then_project(shared, tmp_path, monkeypatch) -> None:
    entry = catalogue.get_entry("mediapipe")
    user = tmp_path / "user"
    (user / "matte").mkdir(parents=True)
    shutil.copy(shared / "models" / entry.file, user / entry.file)
    monkeypatch.setenv("JUMP_MODELS", str(shared / "models"))
    assert catalogue.find_model("mediapipe", user) == user / entry.file
    assert catalogue.find_model("mediapipe") == shared / "models" / entry.file
    monkeypatch.setenv("JUMP_MODELS", str(tmp_path / "empty"))
    monkeypatch.setattr(catalogue, "PROJECT_MODELS", tmp_path / "project")
    with pytest.raises(catalogue.ModelError, match="models fetch mediapipe"):
        catalogue.find_model("mediapipe")


def test_every_shipped_entry_matches_the_shared_models(shared) -> None:
    sums = dict(
        reversed(line.split())
        for line in (shared / "models" / "SHA256SUMS").read_text().splitlines()
    )
    for entry in catalogue.load_manifest().values():
        if entry.spec.get("variant_of"):
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
