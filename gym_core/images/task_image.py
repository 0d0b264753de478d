"""Task images, ``rgym/task-<id>:<environment checksum[:12]>``: the base image plus the task's environment/.

The build never reaches the network: requirements come from the host-side wheelhouse, and the
optional ``environment/Dockerfile`` is built on top with networking off. The tag names the task's
checksum and a label names the base image it was built on, so an image that exists with both
matching is up to date and is not built again.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path

import docker
from docker.errors import DockerException, ImageNotFound

from gym_core.errors import ImageError
from gym_core.images.base import PYTHON_VERSION, prepare_base_image
from gym_core.images.docker_build import ImageResult, ProgressFn, no_progress, stream_build
from gym_core.images.engine import docker_client
from gym_core.images.lock import image_lock
from gym_core.images.wheelhouse import ensure_wheels, has_requirements, requirement_files
from gym_core.settings import get_settings
from gym_core.tasks.loader import Task, display_path

LABEL_TASK = "rgym.task"
LABEL_CHECKSUM = "rgym.checksum"
LABEL_BASE_ID = "rgym.base_id"
#: The build argument a task's environment/Dockerfile starts FROM.
BASE_BUILD_ARG = "RGYM_BASE"

#: Installs the wheels in a throwaway stage and copies only /opt/venv, so the image carries no wheel files
#: (the classic builder has no RUN --mount to keep them out of a layer). The stage is labelled with a
#: per-build id so exactly its leftover image can be pruned afterwards.
_DEPS_DOCKERFILE = """\
ARG RGYM_BASE
FROM ${RGYM_BASE} AS deps
ARG RGYM_BUILD
LABEL rgym.build=${RGYM_BUILD}
COPY requirements/ /tmp/rgym/requirements/
COPY wheels/ /tmp/rgym/wheels/
RUN pip install --no-index --no-cache-dir --disable-pip-version-check \\
        --find-links /tmp/rgym/wheels --requirement /tmp/rgym/requirements/requirements.txt

FROM ${RGYM_BASE}
COPY --from=deps /opt/venv /opt/venv
"""

#: A task without requirements still gets its own tag, so it carries the task's labels.
_PLAIN_DOCKERFILE = """\
ARG RGYM_BASE
FROM ${RGYM_BASE}
"""


def ensure_task_image(
    task: Task,
    client: docker.DockerClient | None = None,
    *,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
) -> str:
    """Make sure ``task.image_tag`` exists and is up to date (building the base image first if needed).

    Raises:
        BackendUnavailableError: no Docker engine answers.
        ImageError: a wheel cannot be found, or the build fails (the message quotes the failing line).
    """
    return prepare_task_image(task, client, rebuild=rebuild, progress=progress).tag


def prepare_task_image(
    task: Task,
    client: docker.DockerClient | None = None,
    *,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
) -> ImageResult:
    """Like :func:`ensure_task_image`, also telling the image id and whether a build happened."""
    client = client or docker_client()
    report = progress or no_progress
    base = prepare_base_image(client, progress=report)
    tag = task.image_tag
    if not rebuild and (current := _up_to_date(client, tag, task, base.image_id)):
        return ImageResult(tag=tag, image_id=current, built=False)
    with image_lock(tag):
        if not rebuild and (current := _up_to_date(client, tag, task, base.image_id)):
            return ImageResult(tag=tag, image_id=current, built=False)
        image_id = _build(client, task, base, report)
    return ImageResult(tag=tag, image_id=image_id, built=True)


def _up_to_date(client: docker.DockerClient, tag: str, task: Task, base_id: str) -> str | None:
    """The id of ``tag`` when it exists and was built from this task and this base image."""
    try:
        image = client.images.get(tag)
    except ImageNotFound:
        return None
    except DockerException as exc:
        raise ImageError(f"cannot inspect image {tag}: {str(exc).splitlines()[0]}") from None
    labels = image.labels or {}
    if labels.get(LABEL_CHECKSUM) == task.environment_checksum and labels.get(LABEL_BASE_ID) == base_id:
        return str(image.id)
    return None


def _build(client: docker.DockerClient, task: Task, base: ImageResult, report: ProgressFn) -> str:
    tag = task.image_tag
    labels = {LABEL_TASK: task.id, LABEL_CHECKSUM: task.environment_checksum, LABEL_BASE_ID: base.image_id}
    env_dir = task.environment_dir
    requirements = env_dir / "requirements.txt"
    user_dockerfile = env_dir / "Dockerfile"
    if user_dockerfile.is_file():
        _check_user_dockerfile(user_dockerfile)
    with tempfile.TemporaryDirectory(prefix="rgym-build-") as tmp:
        context = Path(tmp)
        if has_requirements(requirements):
            wheels = ensure_wheels(requirements, python_version=PYTHON_VERSION, progress=report)
            _write_deps_context(context, env_dir, wheels.path, wheels.files)
        else:
            (context / "Dockerfile").write_text(_PLAIN_DOCKERFILE)
        # Without a Dockerfile of its own the generated image is the task image; with one, it is that
        # Dockerfile's base and keeps a side tag only until the final image exists.
        deps_tag = f"{tag}-deps" if user_dockerfile.is_file() else tag
        report(f"building {deps_tag}")
        build_id = uuid.uuid4().hex
        try:
            image_id = stream_build(
                client,
                tag=deps_tag,
                progress=report,
                path=str(context),
                buildargs={BASE_BUILD_ARG: base.tag, "RGYM_BUILD": build_id},
                labels=labels,
                network_mode="none",
                pull=False,
            )
        finally:
            with contextlib.suppress(DockerException):
                client.images.prune(filters={"dangling": True, "label": f"rgym.build={build_id}"})
    if not user_dockerfile.is_file():
        return image_id
    report(f"building {tag} from {display_path(user_dockerfile)}")
    try:
        image_id = stream_build(
            client,
            tag=tag,
            progress=report,
            path=str(env_dir),
            dockerfile="Dockerfile",
            buildargs={BASE_BUILD_ARG: deps_tag},
            labels=labels,
            network_mode="none",
            pull=False,
        )
    finally:
        # Untags only when the final image was built on it, deletes it when that build failed. A leftover
        # side tag is harmless (the next build replaces it), so a failed removal is ignored.
        with contextlib.suppress(DockerException):
            client.images.remove(deps_tag)
    return image_id


def _write_deps_context(context: Path, env_dir: Path, wheel_dir: Path, wheel_files: tuple[str, ...]) -> None:
    """The generated Dockerfile, the requirement files and exactly this task's wheels."""
    (context / "Dockerfile").write_text(_DEPS_DOCKERFILE)
    (context / "requirements").mkdir()
    for path in requirement_files(env_dir):
        shutil.copy2(path, context / "requirements" / path.name)
    (context / "wheels").mkdir()
    for name in wheel_files:
        source = wheel_dir / name
        try:
            # A hard link costs nothing; the wheelhouse may be on another filesystem, then we copy.
            (context / "wheels" / name).hardlink_to(source)
        except OSError:
            shutil.copy2(source, context / "wheels" / name)


def _check_user_dockerfile(path: Path) -> None:
    """Refuse a task Dockerfile that would not extend the image built for it."""
    instructions = [
        line.split(maxsplit=1)
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    declared = False
    for words in instructions:
        keyword, rest = words[0].upper(), (words[1] if len(words) > 1 else "")
        if keyword == "ARG" and rest.split("=", 1)[0].strip() == BASE_BUILD_ARG:
            declared = True
        elif keyword == "FROM":
            if declared and rest.split()[:1] in (["${RGYM_BASE}"], ["$RGYM_BASE"]):
                return
            break
    raise ImageError(
        f"{display_path(path)}: must start with `ARG {BASE_BUILD_ARG}` then `FROM ${{{BASE_BUILD_ARG}}}` "
        "to extend the task's rgym image",
        hint="see containers/base/README.md",
    )


def image_for(task: Task, backend: str) -> str:
    """The image a sandbox of ``task`` runs on: the task image on Docker (built when needed); the base
    image's tag elsewhere (the local backend ignores images)."""
    if backend == "docker":
        return ensure_task_image(task)
    return get_settings().base_image
