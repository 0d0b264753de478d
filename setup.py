"""Package layout that pyproject.toml cannot express: the repository's agents/ folder installs as
``rgym_agents``, so rgym never shadows (or is shadowed by) another distribution's top-level ``agents``
package, such as the OpenAI Agents SDK's. Everything else is configured in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["gym_core", "gym_core.*"]), "rgym_agents"],
    package_dir={"rgym_agents": "agents"},
)
