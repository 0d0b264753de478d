"""Docker images: the base image and one image per task (see containers/base/README.md).

Other modules call :func:`ensure_base_image` and :func:`ensure_task_image`; both return a tag and do
nothing when the image is already up to date.
"""

from __future__ import annotations

from gym_core.images.base import ensure_base_image, prepare_base_image
from gym_core.images.docker_build import ImageResult, ProgressFn
from gym_core.images.task_image import ensure_task_image, image_for, prepare_task_image

__all__ = [
    "ImageResult",
    "ProgressFn",
    "ensure_base_image",
    "ensure_task_image",
    "image_for",
    "prepare_base_image",
    "prepare_task_image",
]
