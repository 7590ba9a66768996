"""Which wheels the GPU machine needs for the HalfCheetah route, and which of them to install.

The GPU machine is a fixed image without network access (Python 3.12, jax 0.11 with the CUDA 13
plugin, optax, flax, chex, sympy, matplotlib, pandas, scipy, tensorstore, ...: :data:`IMAGE`).
What `scripts/gpu_fig6.sh` imports beyond it travels as wheels (:data:`WHEELS`), downloaded here
by `scripts/gpu_wheels.sh` at the versions of ``requirements.lock`` and installed there offline.

Standard library only: it runs with the image's Python as well as with the project's.

    python3 scripts/gpu_wheels.py list [binary|build]  # NAME==VERSION per wheel, from the lock
                                                       # (binary: downloaded; build: BUILT_HERE)
    python3 scripts/gpu_wheels.py slim DIR             # leave SLIM's unused folders out of wheels
    python3 scripts/gpu_wheels.py size DIR [MIB]       # total size of DIR/*.whl; exit 1 if > MIB
    python3 scripts/gpu_wheels.py missing DIR          # wheel files in DIR that this Python
                                                       # needs (exit 2 if one has none)
    python3 scripts/gpu_wheels.py check TRACE.json     # every distribution a run imported is in
                                                       # the image, the wheels or OPTIONAL

How :data:`WHEELS` was found (import tracing): ``gpu_fig6.sh --cpu --tiny`` records, in its
``route.json``, every installed distribution whose top-level modules the whole route imported
(record, train both arms, report); that set minus :data:`IMAGE` minus :data:`OPTIONAL` is the
list. ``tests/test_gpu_route.py`` re-derives it from a fresh tiny run.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"

#: Distributions of the GPU image ('cuda'), as the device notes list them (read on a machine
#: running it, 2026-11-17). Versions seen there include jax/jaxlib 0.11.2 and numpy 2.5.2.
IMAGE = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch
build certifi charset-normalizer chex click cloudpickle cmake colorama contourpy coverage
cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn
einops equinox etils execnet filelock flatbuffers flax fonttools formulaic frozenlist fsspec
gpytorch grpcio h11 h5py hf-xet httpcore httpx huggingface-hub humanize hypothesis idna imageio
iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib
kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml markdown
markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack multidict
multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13
nvidia-cufft nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13
nvidia-ml-py nvidia-nccl-cu13 nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir
onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx optimistix
orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout
pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests rich sacrebleu safetensors
scikit-build-core scikit-image scikit-learn scipy seaborn sentencepiece sentence-transformers
setuptools shellingham simplejson six sortedcontainers statsmodels sympy tabulate tensorboard
tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch
torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt
xarray xxhash yarl zipp
""".split())

#: What the route needs and the image lacks, each with who imports it.
WHEELS = {
    "mujoco": "the HalfCheetah simulator (gymnasium_robotics.mamujoco_v1)",
    "mujoco-core": "mujoco 4's compiled core (same top-level package)",
    "gymnasium": "MuJoCo environments under gymnasium_robotics",
    "gymnasium-robotics": "mamujoco_v1, the 2x3 HalfCheetah",
    "pettingzoo": "gymnasium_robotics.mamujoco_v1's parallel API",
    "farama-notifications": "imported by gymnasium",
    "glfw": "imported by gymnasium.envs.mujoco.mujoco_rendering at module level",
    "flashbax": "the Vault format of the datasets (verify.halfcheetah.vault)",
    "rliable": "stratified-bootstrap intervals in the report",
    "arch": "imported by rliable.library",
}

#: Distributions the image has, but possibly at another major version than the lock's, under
#: which the route fails: their wheel is installed (ahead of the image's copy, for this run only)
#: when the major versions differ, together with the distributions listed beside them.
MAJOR_PINNED = {
    "pandas": ("arch 7.2.0 fails to import under pandas 3 (pandas.util._decorators."
               "deprecate_kwarg changed), and rliable 1.2.0 fails under arch 8 (random_state)",
               ("pytz", "tzdata")),
}

#: Folders of a wheel that the route never reads, left out of the copy that travels (``slim``):
#: gymnasium-robotics' Adroit-hand and Franka-kitchen meshes are 23.4 of its 25.0 MiB; the 2x3
#: HalfCheetah uses gymnasium's own half_cheetah.xml.
SLIM = {
    "gymnasium-robotics": ("gymnasium_robotics/envs/assets/adroit_hand/",
                           "gymnasium_robotics/envs/assets/kitchen_franka/"),
}

#: Of :data:`WHEELS`, those published as a source archive only (pure Python): gpu_wheels.sh
#: builds their wheel here (``pip wheel --no-deps``), which then installs on any platform.
BUILT_HERE = {"rliable"}

#: Distributions a traced run imported that need no wheel: optional imports (inside
#: try/except ImportError) of this machine's environment, or dependencies of image packages.
OPTIONAL = {
    "brud-analysis": "this project (travels as the working tree)",
    "mujoco-studio": "mujoco 4's viewer: shares the `mujoco` top-level name, never imported",
    "cffi": "optional in glfw",
    "pycparser": "cffi's",
    "ipython": "optional (tqdm.auto, rich)",
    "ipywidgets": "optional (tqdm.auto)",
    "comm": "ipywidgets'",
    "traitlets": "ipywidgets'",
}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
_MARKER = re.compile(r"^(python_full_version|sys_platform)\s*(<|>=|==|!=)\s*'([^']+)'$")


def normalise(name: str) -> str:
    """PEP 503 name.

    Example:
        >>> normalise("Farama_Notifications"), normalise("gymnasium.robotics")
        ('farama-notifications', 'gymnasium-robotics')
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _marker_holds(marker: str, python: str, platform: str) -> bool:
    """The few environment markers the lock uses, for ``python`` (e.g. "3.12") on ``platform``."""
    for part in marker.split(" and "):
        found = _MARKER.match(part.strip())
        if found is None:
            raise ValueError(f"unsupported marker in {LOCK.name}: {marker!r}")
        key, op, value = found.groups()
        if key == "sys_platform":
            holds = (platform == value) == (op == "==")
        else:
            here, there = _version_tuple(python), _version_tuple(value)
            holds = {"<": here < there, ">=": here >= there, "==": here == there,
                     "!=": here != there}[op]
        if not holds:
            return False
    return True


def lock_pins(text: str, python: str = "3.12", platform: str = "linux") -> dict[str, str]:
    """``{normalised name: version}`` of a uv/pip-compile lock for one Python and platform.

    Example:
        >>> lock_pins("numpy==2.4.6 ; python_full_version < '3.12' \\\\\\n"
        ...           "numpy==2.5.5 ; python_full_version >= '3.12' \\\\\\nglfw==2.11.0 \\\\\\n")
        {'numpy': '2.5.5', 'glfw': '2.11.0'}
    """
    pins: dict[str, str] = {}
    for line in text.splitlines():
        found = _PIN.match(line.strip())
        if found is None:
            continue
        name, version, marker = found.groups()
        if marker is None or _marker_holds(marker, python, platform):
            pins[normalise(name)] = version
    return pins


def _all_wheels() -> list[str]:
    """Every distribution that travels: :data:`WHEELS` and :data:`MAJOR_PINNED` with theirs."""
    names = set(WHEELS) | set(MAJOR_PINNED)
    for _, companions in MAJOR_PINNED.values():
        names |= set(companions)
    return sorted(names)


def wheel_requirements(lock_text: str | None = None) -> list[str]:
    """``NAME==VERSION`` of every wheel that travels, at the lock's version for Python 3.12.

    Example:
        >>> [r for r in wheel_requirements() if r.startswith(("mujoco==", "pandas=="))]
        ['mujoco==4.0.0', 'pandas==2.3.3']
    """
    pins = lock_pins(LOCK.read_text() if lock_text is None else lock_text)
    missing = sorted(name for name in _all_wheels() if name not in pins)
    if missing:
        raise ValueError(f"not pinned in {LOCK.name}: {missing}")
    return [f"{name}=={pins[name]}" for name in _all_wheels()]


def wheel_name(path: Path) -> str:
    """The normalised distribution name of a wheel file.

    Example:
        >>> wheel_name(Path("gymnasium_robotics-1.4.2-py3-none-any.whl"))
        'gymnasium-robotics'
    """
    return normalise(path.name.split("-", 1)[0])


def _installed_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def needed(version=_installed_version, lock_text: str | None = None) -> list[str]:
    """The distributions to install here: the :data:`WHEELS` that ``version(name)`` (None: not
    installed) lacks, and each :data:`MAJOR_PINNED` one whose installed major version differs
    from the lock's, with its companions.

    Example:
        >>> needed(lambda name: {"pandas": "3.1.1"}.get(name, "1"))
        ['pandas', 'pytz', 'tzdata']
        >>> needed(lambda name: {"mujoco": None}.get(name, "2.3.3"))
        ['mujoco']
    """
    pins = lock_pins(LOCK.read_text() if lock_text is None else lock_text)
    names = {name for name in WHEELS if version(name) is None}
    for name, (_, companions) in MAJOR_PINNED.items():
        have = version(name)
        if have is None or have.split(".")[0] != pins[name].split(".")[0]:
            names |= {name, *companions}
    return sorted(names)


def missing_wheels(directory: Path, version=_installed_version) -> list[Path]:
    """The wheel files in ``directory`` of :func:`needed`'s distributions.

    Raises ``FileNotFoundError`` naming a needed distribution that has no wheel there.

    Example:
        >>> missing_wheels(Path("/nonexistent"), version=lambda name: "2.0")
        []
    """
    files = {wheel_name(p): p for p in sorted(Path(directory).glob("*.whl"))}
    needed_here = needed(version)
    absent = [name for name in needed_here if name not in files]
    if absent:
        raise FileNotFoundError(f"no wheel in {directory} for {absent}: run scripts/gpu_wheels.sh"
                                " on a machine with network access and carry the folder")
    return [files[name] for name in needed_here]


def slim(wheel: Path) -> int:
    """Rewrite ``wheel`` without the :data:`SLIM` folders of its distribution (and their lines
    in its RECORD); the number of files left out (0: nothing to do, e.g. already slim).

    Example:
        >>> slim(Path("flashbax-0.1.3-py3-none-any.whl"))  # not in SLIM: untouched
        0
    """
    import zipfile

    drop = SLIM.get(wheel_name(wheel), ())
    if not drop:
        return 0
    with zipfile.ZipFile(wheel) as source:
        infos = source.infolist()
        gone = [i for i in infos if i.filename.startswith(drop)]
        if not gone:
            return 0
        tmp = wheel.with_suffix(".slim")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as target:
            for info in infos:
                if info.filename.startswith(drop):
                    continue
                data = source.read(info)
                if info.filename.endswith(".dist-info/RECORD"):
                    data = b"".join(line for line in data.splitlines(keepends=True)
                                    if not line.decode().startswith(drop))
                target.writestr(info, data)
    tmp.replace(wheel)
    return len(gone)


def unexplained(traced: list[str]) -> list[str]:
    """Distributions a run imported that are neither in the image, nor wheels, nor optional.

    Example:
        >>> unexplained(["numpy", "mujoco", "cffi", "somethingnew"])
        ['somethingnew']
    """
    known = IMAGE | set(_all_wheels()) | set(OPTIONAL)
    return sorted({normalise(n) for n in traced} - known)


def main(argv: list[str]) -> int:
    """Command line (see the module docstring)."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "list" and rest in ([], ["binary"], ["build"]):
            kinds = {"binary": lambda n: n not in BUILT_HERE, "build": lambda n: n in BUILT_HERE}
            keep = kinds.get(rest[0] if rest else "", lambda n: True)
            print("\n".join(r for r in wheel_requirements() if keep(r.split("==")[0])))
        elif command == "size" and len(rest) in (1, 2):
            limit = float(rest[1]) if len(rest) == 2 else 50.0
            files = sorted(Path(rest[0]).glob("*.whl"))
            total = sum(p.stat().st_size for p in files) / 2**20
            for p in files:
                print(f"{p.stat().st_size / 2**20:7.2f} MiB  {p.name}")
            print(f"{total:7.2f} MiB  total, {len(files)} wheels (limit {limit:g} MiB)")
            if total > limit:
                print(f"gpu_wheels: the wheels take {total:.1f} MiB, over the {limit:g} MiB "
                      "that may travel beside the working tree (64 MiB in all)", file=sys.stderr)
                return 1
        elif command == "slim" and len(rest) == 1:
            for wheel in sorted(Path(rest[0]).glob("*.whl")):
                if (count := slim(wheel)):
                    print(f"{wheel.name}: left out {count} files the route never reads")
        elif command == "missing" and len(rest) == 1:
            print("\n".join(str(p) for p in missing_wheels(Path(rest[0]))))
        elif command == "check" and len(rest) == 1:
            traced = json.loads(Path(rest[0]).read_text())["imported_distributions"]
            extra = unexplained(traced)
            if extra:
                print(f"gpu_wheels: the route imported {extra}, which are neither in the GPU "
                      "image nor in WHEELS/OPTIONAL (scripts/gpu_wheels.py)", file=sys.stderr)
                return 1
            print(f"all {len(traced)} imported distributions are covered")
        else:
            print(f"gpu_wheels: unknown command or arguments: {' '.join(argv)}", file=sys.stderr)
            return 2
    except (OSError, ValueError, KeyError) as err:
        print(f"gpu_wheels: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
