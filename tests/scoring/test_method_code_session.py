"""The shell session that ``executed_files`` follows: ``cd``/``pushd``/``popd``, the folders a ``cd`` may have
failed to enter, copies and links (``cp``, ``ln``, ``cat > f``, ``tee``), and scripts that run their
arguments."""

from __future__ import annotations

import itertools

import pytest

from gym_core.scoring.method_code import executed_files

SESSION_WORKSPACE = {
    "train.py": "print('train')\n",
    "sub/job.py": "print('job')\n",
    # `a` holds no file itself, only the folder `a/b`: it exists all the same
    "a/b/deep.py": "print('deep')\n",
}
TRAIN = {"train.py"}


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # cd's options are not its folder
        (["cd -L sub && python job.py"], {"sub/job.py"}),
        (["cd -P sub && python job.py"], {"sub/job.py"}),
        (["cd -P -e sub && python job.py"], {"sub/job.py"}),
        (["cd -- sub && python job.py"], {"sub/job.py"}),
        # popd returns to the folder pushd left; pushd without a folder (and an empty stack) stays
        (["pushd sub && popd && python train.py"], TRAIN),
        (["pushd sub", "python job.py", "popd", "python train.py"], {"sub/job.py", "train.py"}),
        (["pushd", "python train.py"], TRAIN),
        (["popd", "python train.py"], TRAIN),
        # `cd` alone goes to HOME (/tmp), outside the workspace
        (["cd && python train.py"], None),
        (["cd", "python ../workspace/train.py"], TRAIN),
        # a folder that holds only folders exists: the cd into it cannot have failed
        (["cd a && python train.py"], None),
        (["cd a && python b/deep.py"], {"a/b/deep.py"}),
        # a folder known outside the workspace: the cd did not fail
        (["cd /tmp && python train.py"], None),
        (["cd /nowhere && python train.py"], TRAIN),
        # folders that may not exist keep the ones before them as fallbacks, the four likeliest
        (["cd gone; cd lost; python train.py"], TRAIN),
        (["cd gone; cd lost; cd /nope; python train.py"], None),
    ],
)
def test_cd_pushd_popd_and_the_folders_a_cd_may_have_missed(
    commands: list[str], expected: set[str] | None
) -> None:
    assert executed_files(commands, SESSION_WORKSPACE) == expected


def _folder(length: int) -> str:
    """A workspace folder path of ``length`` characters, in names of at most 200 (NAME_MAX is 255)."""
    parts, left = [], length
    while left > 0:
        name = "d" * min(200, left)
        if left - len(name) == 1:  # no room for "/" and one more character: end with a longer name
            name = name[:-2]
        parts.append(name)
        left -= len(name) + 1
    path = "/".join(parts)
    assert len(path) == length
    return path


# /workspace/ + 4084 characters = 4095: PATH_MAX (4096) counts the final NUL
ENTERABLE, TOO_LONG = _folder(4084), _folder(4085)


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # bash reads `.` and `..` before entering: a long path to a short folder is entered
        ([f"cd {'./' * 3000}sub && python job.py"], {"sub/job.py"}),
        ([f"cd {'x/../' * 1000}sub && python job.py"], {"sub/job.py"}),
        ([f"cd {'./' * 2046}sub/ && python job.py"], {"sub/job.py"}),
        # a folder whose absolute path reaches PATH_MAX is not: the cd fails and the shell stays
        ([f"cd {ENTERABLE} && python job.py"], {f"{ENTERABLE}/job.py"}),
        ([f"cd {TOO_LONG} && python job.py"], None),
        ([f"cd {TOO_LONG}; python train.py"], TRAIN),
        ([f"cd {TOO_LONG}; python $PWD/train.py"], TRAIN),
        ([f"cd {TOO_LONG}; cd ..; python train.py"], None),
        ([f"cd {TOO_LONG}; python ../train.py"], None),
    ],
)
def test_a_cd_too_long_for_path_max_fails_and_the_shell_stays(
    commands: list[str], expected: set[str] | None
) -> None:
    workspace = {
        **SESSION_WORKSPACE,
        f"{ENTERABLE}/job.py": "print('job')\n",
        f"{TOO_LONG}/job.py": "print('job')\n",
    }
    assert executed_files(commands, workspace) == expected


COPY_WORKSPACE = {
    "solve.py": "print('solve')\n",
    "sub/solve.py": "print('sub solve')\n",
    "sub/job.py": "print('job')\n",
    "pkg/mod.py": "print('mod')\n",
    "ONNX/export.py": "print('export')\n",
}


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # a symbolic link's relative target is read from the link's own folder...
        (["ln -s solve.py sub/link.py", "python sub/link.py"], {"sub/solve.py"}),
        (["ln -sf solve.py sub/link.py", "python sub/link.py"], {"sub/solve.py"}),
        (["ln --symbolic solve.py sub/link.py", "python sub/link.py"], {"sub/solve.py"}),
        (["ln -s /workspace/solve.py sub/link.py", "python sub/link.py"], {"solve.py"}),
        # ...a hard link's, a copy's or a move's from the current folder
        (["ln solve.py sub/link.py", "python sub/link.py"], {"solve.py"}),
        (["ln --physical solve.py sub/link.py", "python sub/link.py"], {"solve.py"}),
        (["ln -f solve.py sub/link.py", "python sub/link.py"], {"solve.py"}),
        (["cp solve.py sub/copy.py", "python sub/copy.py"], {"solve.py"}),
        # a copy into a folder keeps the file's name: a trailing "/", a folder known outside, a workspace folder
        (["cp solve.py /opt/", "python /opt/solve.py"], {"solve.py"}),
        (["cp solve.py /tmp/", "python /tmp/solve.py"], {"solve.py"}),
        (["cp solve.py /tmp", "python /tmp/solve.py"], {"solve.py"}),
        (["mkdir /opt/run", "cp solve.py /opt/run", "python /opt/run/solve.py"], {"solve.py"}),
        (["cp solve.py pkg", "python pkg/solve.py"], {"solve.py"}),
        (["cp -r pkg/ /tmp/", "python /tmp/pkg/mod.py"], {"pkg/mod.py"}),
        (["cp -r ONNX /tmp/", "python /tmp/ONNX/export.py"], {"ONNX/export.py"}),
        (["cp -r ONNX/ /tmp/", "python /tmp/ONNX/export.py"], {"ONNX/export.py"}),
        # cat and tee write a copy through every output redirection
        (["cat solve.py > /tmp/s.py", "python /tmp/s.py"], {"solve.py"}),
        (["cat solve.py >> /tmp/s.py", "python /tmp/s.py"], {"solve.py"}),
        (["cat solve.py >| /tmp/s.py", "python /tmp/s.py"], {"solve.py"}),
        (["cat solve.py &> /tmp/s.py", "python /tmp/s.py"], {"solve.py"}),
        (["cat < solve.py > /tmp/s.py", "python /tmp/s.py"], {"solve.py"}),
        (["tee /tmp/s.py < solve.py", "python /tmp/s.py"], {"solve.py"}),
        (["tee /tmp/s.py /tmp/t.py < solve.py > /tmp/u.py", "python /tmp/t.py"], {"solve.py"}),
        (["tee /tmp/s.py /tmp/t.py < solve.py > /tmp/u.py", "python /tmp/u.py"], {"solve.py"}),
        # the input of a copy is not written: a copy of a copy still leads to the original
        (["cp solve.py /tmp/s.py", "cat < /tmp/s.py > /tmp/t.py", "python /tmp/s.py"], {"solve.py"}),
        (["cp solve.py /tmp/s.py", "cat < /tmp/s.py > /tmp/t.py", "python /tmp/t.py"], {"solve.py"}),
        # tee with no input file copies nothing it can know
        (["tee /tmp/s.py", "python /tmp/s.py"], None),
    ],
)
def test_copies_and_links_lead_back_to_the_workspace_file(
    commands: list[str], expected: set[str] | None
) -> None:
    assert executed_files(commands, COPY_WORKSPACE) == expected


FORWARD_WORKSPACE = {
    "run.sh": '#!/bin/bash\nfor f in "$@"; do python "$f"; done\n',
    "run.bash": 'python "$1"\n',
    "run.zsh": 'python "$1"\n',
    "run": '#!/bin/sh\npython "$1"\n',
    "show.py": "import sys\nprint(open(sys.argv[1]).read())\n",
    "exec.py": "import sys\nexec(open(sys.argv[1]).read())\n",
    "a.py": "print('a')\n",
    "b.py": "print('b')\n",
    # python -x.py reads -x as its own option: never a file the script runs
    "-x.py": "print('x')\n",
}


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        # every argument a forwarding script gets is code it may run
        (["bash run.sh a.py b.py"], {"run.sh", "a.py", "b.py"}),
        (["bash run.sh a.py -x.py"], {"run.sh", "a.py"}),
        # shell scripts of every extension, and one known by its `#!` line only
        (["bash run.bash a.py"], {"run.bash", "a.py"}),
        (["zsh run.zsh a.py"], {"run.zsh", "a.py"}),
        (["./run a.py"], {"run", "a.py"}),
        # a Python script hands its argument on only when it reads argv and runs code dynamically
        (["python exec.py a.py"], {"exec.py", "a.py"}),
        (["python show.py a.py"], {"show.py"}),
    ],
)
def test_scripts_that_run_their_arguments(commands: list[str], expected: set[str]) -> None:
    assert executed_files(commands, FORWARD_WORKSPACE) == expected


@pytest.mark.parametrize("forwarding", ["run.sh", "a/run.sh"])
def test_one_forwarding_script_of_several_candidates_is_enough(forwarding: str) -> None:
    """After a cd that may have failed, ``run.sh`` is ``a/run.sh`` or the root's ``run.sh``; when either hands
    its arguments on, they may run (both orders of the two scripts are played)."""
    other = "a/run.sh" if forwarding == "run.sh" else "run.sh"
    workspace = {forwarding: 'python "$1"\n', other: "echo hi\n", "job.py": "print('job')\n"}
    found = executed_files(["cd nowhere", "cd a", "bash run.sh job.py"], workspace)
    assert found == {"run.sh", "a/run.sh", "job.py"}


def _copies(hops: int) -> list[str]:
    """``hops`` copies in a row, each of the one before, the first of solve.py; then the last one runs."""
    names = ["solve.py", *(f"/tmp/c{k}.py" for k in range(1, hops + 1))]
    return [f"cp {src} {dest}" for src, dest in itertools.pairwise(names)] + [f"python {names[-1]}"]


def test_a_chain_of_copies_leads_back_seven_hops() -> None:
    """Bash runs the last copy of any chain; the module follows seven copies or links from the path it is
    given, a bound that keeps link loops (``ln -s /tmp/w/x /tmp/w``) from running forever, and no more."""
    assert executed_files(_copies(1), COPY_WORKSPACE) == {"solve.py"}
    assert executed_files(_copies(7), COPY_WORKSPACE) == {"solve.py"}
    assert executed_files(_copies(8), COPY_WORKSPACE) is None


GLOB_WORKSPACE = {
    "a/x.py": "print('a/x')\n",
    "b.py": "print('b')\n",
    "real.py": "print('real')\n",
    "sub/job.py": "print('job')\n",
    "sub/deep/z.py": "print('z')\n",
}


# Each checked with bash 5.2: a glob runs the first file it matches, in sorted order, and `*`, `?` and `[...]`
# never match the `/` between folders (`echo *.py` lists neither a/x.py nor sub/job.py).
@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("python *.py", {"b.py"}),
        ("python sub/j*.py", {"sub/job.py"}),
        ("python */*.py", {"a/x.py"}),
        ("python [r]ea*.p?", {"real.py"}),  # all three glob characters in one word
        ("python ?/x.py", {"a/x.py"}),
    ],
)
def test_a_glob_runs_the_first_file_it_matches_in_its_own_folder(command: str, expected: set[str]) -> None:
    assert executed_files([command], GLOB_WORKSPACE) == expected
