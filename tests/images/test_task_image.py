"""Task images for real: wheels from the host, no network in the build, a second build is a no-op."""

from __future__ import annotations

from collections.abc import Callable

import docker
import pytest

from gym_core.errors import ImageError
from gym_core.images import ensure_task_image, prepare_task_image, task_image
from gym_core.images.task_image import LABEL_BASE_ID, LABEL_CHECKSUM, LABEL_TASK
from gym_core.tasks.loader import Task

MakeTask = Callable[..., Task]

pytestmark = pytest.mark.docker


def _run(client: docker.DockerClient, image: str, *command: str) -> str:
    """Run a command as the agent user with networking off, in a labelled container removed after."""
    output = client.containers.run(
        image,
        list(command),
        user="1000:1000",
        network_mode="none",
        labels={"rgym.test": "images"},
        remove=True,
    )
    return output.decode().strip()


@pytest.mark.slow
def test_requirements_are_installed_offline_and_a_second_build_is_a_no_op(
    docker_client: docker.DockerClient, make_task: MakeTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make_task(requirements="six==1.16.0\n")
    first = prepare_task_image(task, docker_client)
    assert first.built
    assert first.tag == task.image_tag
    assert _run(docker_client, first.tag, "python", "-c", "import six; print(six.__version__)") == "1.16.0"
    image = docker_client.images.get(first.tag)
    assert image.labels[LABEL_TASK] == task.id
    assert image.labels[LABEL_CHECKSUM] == task.environment_checksum
    # The wheels were installed in a throwaway stage, never copied into the image.
    assert _run(docker_client, first.tag, "sh", "-c", "ls /tmp | wc -l") == "0"

    def no_build(*args: object, **kwargs: object) -> str:
        raise AssertionError("an up-to-date image was built again")

    monkeypatch.setattr(task_image, "stream_build", no_build)
    second = prepare_task_image(task, docker_client)
    assert not second.built
    assert second.image_id == first.image_id
    assert ensure_task_image(task, docker_client) == first.tag


@pytest.mark.slow
def test_task_dockerfile_extends_the_generated_image_without_network(
    docker_client: docker.DockerClient, make_task: MakeTask
) -> None:
    dockerfile = (
        "ARG RGYM_BASE\nFROM ${RGYM_BASE}\n"
        "COPY data.txt /opt/data.txt\n"
        # Only the loopback interface exists while the task's own steps run.
        'RUN test "$(ls /sys/class/net)" = lo && python -c "import six" && echo built > /opt/marker\n'
    )
    task = make_task(requirements="six==1.16.0\n", dockerfile=dockerfile, **{"data.txt": "hello\n"})
    result = prepare_task_image(task, docker_client)
    assert result.built
    assert _run(docker_client, result.tag, "cat", "/opt/marker", "/opt/data.txt") == "built\nhello"
    # The intermediate tag is gone; the labels are on the final image.
    assert not docker_client.images.list(name=f"{result.tag}-deps")
    assert docker_client.images.get(result.tag).labels[LABEL_TASK] == task.id


def test_task_without_environment_gets_its_own_labelled_tag(
    docker_client: docker.DockerClient, make_task: MakeTask
) -> None:
    task = make_task()
    result = prepare_task_image(task, docker_client)
    image = docker_client.images.get(result.tag)
    assert image.labels[LABEL_TASK] == task.id
    assert image.labels[LABEL_BASE_ID] == docker_client.images.get("rgym/base:py3.11").id
    assert _run(docker_client, result.tag, "id", "-un") == "agent"


def test_a_failing_build_quotes_the_error_line(
    docker_client: docker.DockerClient, make_task: MakeTask
) -> None:
    dockerfile = "ARG RGYM_BASE\nFROM ${RGYM_BASE}\nRUN echo 'ERROR: the task setup broke' && false\n"
    task = make_task(dockerfile=dockerfile)
    with pytest.raises(ImageError, match="the task setup broke") as info:
        prepare_task_image(task, docker_client)
    assert "build log" in str(info.value)
    assert not docker_client.images.list(name=task.image_tag)


@pytest.mark.parametrize(
    "dockerfile",
    ["FROM rgym/base:py3.11\n", "FROM ${RGYM_BASE}\n", "# no FROM at all\nRUN true\n"],
)
def test_a_dockerfile_that_does_not_extend_rgym_base_is_refused(
    docker_client: docker.DockerClient, make_task: MakeTask, dockerfile: str
) -> None:
    task = make_task(dockerfile=dockerfile)
    with pytest.raises(ImageError, match="ARG RGYM_BASE"):
        prepare_task_image(task, docker_client)
