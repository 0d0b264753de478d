"""Expected output of tests/report/test_suite_comparison_render.py (generated from the unmutated code, checked by eye)."""
# ruff: noqa: W291  (rich pads the lines of a table with spaces)

TABLE_HEAD = """\
rgym compare · suite runs · each against A (base on suite core)
 suite run   suite run id   suite   agent    K   status        tasks run 
─────────────────────────────────────────────────────────────────────────
 A           SRA            core    base    12   completed     6/6       
 B           SRB            core    tuner   12   interrupted   5/6       
 C           SRC            other   cc      12   completed     2/2       
warning: suite run A has more than one run of t-same: the newest, a3, is compared (not a3-old)
warning: C ran suite other and A suite core: only the tasks both ran are compared
╭─ B vs A, task by task ───────────────────────────────────────────────────────────────────────────────────────────────╮
│ B (tuner on suite core) vs A (base on suite core), task by task: 1 better, 1 worse, 1 no detectable difference, 3    │
│ not compared                                                                                                         │
│  task        A success   B success    Δ B-A             95% CI         p   verdict                                   │
│ ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────── │
│  t-better        0.000       1.000   +1.000   [+1.000, +1.000]   < 0.001   better                                    │
│  t-worse         1.000       0.000   -1.000   [-1.000, -1.000]   < 0.001   worse                                     │
│  t-same          0.500       0.500   +0.000   [+0.000, +0.000]     1.000   no detectable difference at n = 12 pairs  │
│  t-version           -           -        -                  -         -   not compared: run b4 used t-version v2,   │
│                                                                            run a4 v1: scores of two task versions    │
│                                                                            are not comparable                        │
│  t-changed           -           -        -                  -         -   not compared: run b5 used t-changed v1    │
│                                                                            with checksum sha256:fedcb, run a5 with   │
│                                                                            sha256:01234: the task folder changed     │
│                                                                            between them (--allow-changed-task        │
│                                                                            compares it anyway, with a warning)       │
│  t-gone              -           -        -                  -         -   not compared: suite run B is interrupted  │
│                                                                            and recorded no run of t-gone             │
╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯
╭─ C vs A, task by task ───────────────────────────────────────────────────────────────────────────────────────────────╮
│ C (cc on suite other) vs A (base on suite core), task by task: 1 better, 6 not compared                              │
│  task        A success   C success    Δ C-A             95% CI       p   verdict                                     │
│ ──────────────────────────────────────────────────────────────────────────────────────────────────────────────────── │
│  t-better        0.000       0.500   +0.500   [+0.250, +0.750]   0.031   better                                      │
│  t-worse             -           -        -                  -       -   not compared: C ran suite other, which has  │
│                                                                          no task t-worse                             │
│  t-same              -           -        -                  -       -   not compared: C ran suite other, which has  │
│                                                                          no task t-same                              │
│  t-version           -           -        -                  -       -   not compared: C ran suite other, which has  │
│                                                                          no task t-version                           │
│  t-changed           -           -        -                  -       -   not compared: C ran suite other, which has  │
│                                                                          no task t-changed                           │
│  t-gone              -           -        -                  -       -   not compared: C ran suite other, which has  │
│                                                                          no task t-gone                              │
│  t-extra             -           -        -                  -       -   not compared: A ran suite core, which has   │
│                                                                          no task t-extra (every suite run is         │
│                                                                          compared with A)                            │
╰──────────────────────────────────────────────────────────────────────────────────────────────────────────────────────╯
"""
MARKDOWN_HEAD = """\
# rgym compare: suite runs

Each suite run against A (base on suite core), task by task.

| suite run | suite run id | suite | agent | K | status | tasks run |
|---|---|---|---|---|---|---|
| A | SRA | core | base | 12 | completed | 6/6 |
| B | SRB | core | tuner | 12 | interrupted | 5/6 |
| C | SRC | other | cc | 12 | completed | 2/2 |

> **Warning:** suite run A has more than one run of t-same: the newest, a3, is compared (not a3-old)
> **Warning:** C ran suite other and A suite core: only the tasks both ran are compared

## B vs A, task by task

**B (tuner on suite core) vs A (base on suite core), task by task: 1 better, 1 worse, 1 no detectable difference, 3 not compared**

| task | A success | B success | Δ B-A | 95% CI | p | verdict |
|---|---|---|---|---|---|---|
| t-better | 0.000 | 1.000 | +1.000 | [+1.000, +1.000] | < 0.001 | better |
| t-worse | 1.000 | 0.000 | -1.000 | [-1.000, -1.000] | < 0.001 | worse |
| t-same | 0.500 | 0.500 | +0.000 | [+0.000, +0.000] | 1.000 | no detectable difference at n = 12 pairs |
| t-version | - | - | - | - | - | not compared: run b4 used t-version v2, run a4 v1: scores of two task versions are not comparable |
| t-changed | - | - | - | - | - | not compared: run b5 used t-changed v1 with checksum sha256:fedcb, run a5 with sha256:01234: the task folder changed between them (--allow-changed-task compares it anyway, with a warning) |
| t-gone | - | - | - | - | - | not compared: suite run B is interrupted and recorded no run of t-gone |

## C vs A, task by task

**C (cc on suite other) vs A (base on suite core), task by task: 1 better, 6 not compared**

| task | A success | C success | Δ C-A | 95% CI | p | verdict |
|---|---|---|---|---|---|---|
| t-better | 0.000 | 0.500 | +0.500 | [+0.250, +0.750] | 0.031 | better |
| t-worse | - | - | - | - | - | not compared: C ran suite other, which has no task t-worse |
| t-same | - | - | - | - | - | not compared: C ran suite other, which has no task t-same |
| t-version | - | - | - | - | - | not compared: C ran suite other, which has no task t-version |
| t-changed | - | - | - | - | - | not compared: C ran suite other, which has no task t-changed |
| t-gone | - | - | - | - | - | not compared: C ran suite other, which has no task t-gone |
| t-extra | - | - | - | - | - | not compared: A ran suite core, which has no task t-extra (every suite run is compared with A) |
"""
NARROW_HEAD = """\
rgym compare · suite runs · each against A (base on suite core)
A  SRA
  suite core · agent base · K 12 · status completed · tasks run 6/6
B  SRB
  suite core · agent tuner · K 12 · status interrupted · tasks run 5/6
C  SRC
  suite other · agent cc · K 12 · status completed · tasks run 2/2
warning: suite run A has more than one run of t-same: the newest, a3, 
is compared (not a3-old)
warning: C ran suite other and A suite core: only the tasks both ran 
are compared
╭─ B vs A, task by task ─────────────────────────────────────────────╮
│ B (tuner on suite core) vs A (base on suite core), task by task: 1 │
│ better, 1 worse, 1 no detectable difference, 3 not compared        │
│ t-better                                                           │
│   A success 0.000 · B success 1.000 · Δ B-A +1.000 · 95% CI        │
│ [+1.000, +1.000] · p < 0.001 · verdict better                      │
│ t-worse                                                            │
│   A success 1.000 · B success 0.000 · Δ B-A -1.000 · 95% CI        │
│ [-1.000, -1.000] · p < 0.001 · verdict worse                       │
│ t-same                                                             │
│   A success 0.500 · B success 0.500 · Δ B-A +0.000 · 95% CI        │
│ [+0.000, +0.000] · p 1.000 · verdict no detectable difference at n │
│ = 12 pairs                                                         │
│ t-version                                                          │
│   A success - · B success - · Δ B-A - · 95% CI - · p - · verdict   │
│ not compared: run b4 used t-version v2, run a4 v1: scores of two   │
│ task versions are not comparable                                   │
│ t-changed                                                          │
│   A success - · B success - · Δ B-A - · 95% CI - · p - · verdict   │
│ not compared: run b5 used t-changed v1 with checksum sha256:fedcb, │
│ run a5 with sha256:01234: the task folder changed between them     │
│ (--allow-changed-task compares it anyway, with a warning)          │
│ t-gone                                                             │
│   A success - · B success - · Δ B-A - · 95% CI - · p - · verdict   │
│ not compared: suite run B is interrupted and recorded no run of    │
│ t-gone                                                             │
╰────────────────────────────────────────────────────────────────────╯
"""
JSON_WITHOUT_TASKS = {
    "schema": "rgym.compare-suites/1",
    "detect": 0.1,
    "warnings": [
        "suite run A has more than one run of t-same: the newest, a3, is compared (not a3-old)",
        "C ran suite other and A suite core: only the tasks both ran are compared",
    ],
    "suite_runs": [
        {
            "label": "A",
            "suite_run_id": "SRA",
            "suite": "core",
            "agent": "base",
            "k": 12,
            "status": "completed",
            "tasks": ["t-better", "t-worse", "t-same", "t-version", "t-changed", "t-gone"],
            "runs": {
                "t-better": "a1",
                "t-worse": "a2",
                "t-same": "a3",
                "t-version": "a4",
                "t-changed": "a5",
                "t-gone": "a6",
            },
        },
        {
            "label": "B",
            "suite_run_id": "SRB",
            "suite": "core",
            "agent": "tuner",
            "k": 12,
            "status": "interrupted",
            "tasks": ["t-better", "t-worse", "t-same", "t-version", "t-changed", "t-gone"],
            "runs": {"t-better": "b1", "t-worse": "b2", "t-same": "b3", "t-version": "b4", "t-changed": "b5"},
        },
        {
            "label": "C",
            "suite_run_id": "SRC",
            "suite": "other",
            "agent": "cc",
            "k": 12,
            "status": "completed",
            "tasks": ["t-better", "t-extra"],
            "runs": {"t-better": "c1", "t-extra": "c2"},
        },
    ],
    "pairs": [
        {
            "a": "A",
            "b": "B",
            "counts": {
                "better": 1,
                "worse": 1,
                "no detectable difference": 1,
                "not estimable": 0,
                "not compared": 3,
            },
            "summary": [
                {
                    "task_id": "t-better",
                    "a_run_id": "a1",
                    "b_run_id": "b1",
                    "verdict": "better",
                    "verdict_text": "better",
                    "headline": "B (x) vs A (x): better: success rate 0.000 -> 1.000, Δ +1.000, 95% CI [+1.000, +1.000], p = < 0.001",
                    "success_rate": {
                        "a": 0.0,
                        "b": 1.0,
                        "diff": 1.0,
                        "ci95": [1.0, 1.0],
                        "p_value": 0.00048828125,
                    },
                },
                {
                    "task_id": "t-worse",
                    "a_run_id": "a2",
                    "b_run_id": "b2",
                    "verdict": "worse",
                    "verdict_text": "worse",
                    "headline": "B (x) vs A (x): worse: success rate 1.000 -> 0.000, Δ -1.000, 95% CI [-1.000, -1.000], p = < 0.001",
                    "success_rate": {
                        "a": 1.0,
                        "b": 0.0,
                        "diff": -1.0,
                        "ci95": [-1.0, -1.0],
                        "p_value": 0.00048828125,
                    },
                },
                {
                    "task_id": "t-same",
                    "a_run_id": "a3",
                    "b_run_id": "b3",
                    "verdict": "no detectable difference",
                    "verdict_text": "no detectable difference at n = 12 pairs",
                    "headline": "B (x) vs A (x): no detectable difference at n = 12 pairs: success rate 0.500 -> 0.500, Δ +0.000, 95% CI [+0.000, +0.000], p = 1.000",
                    "success_rate": {"a": 0.5, "b": 0.5, "diff": 0.0, "ci95": [0.0, 0.0], "p_value": 1.0},
                },
            ],
            "unpaired": [
                {
                    "task_id": "t-version",
                    "reason": "run b4 used t-version v2, run a4 v1: scores of two task versions are not comparable",
                    "run_ids": ["a4", "b4"],
                },
                {
                    "task_id": "t-changed",
                    "reason": "run b5 used t-changed v1 with checksum sha256:fedcb, run a5 with sha256:01234: the task folder changed between them (--allow-changed-task compares it anyway, with a warning)",
                    "run_ids": ["a5", "b5"],
                },
                {
                    "task_id": "t-gone",
                    "reason": "suite run B is interrupted and recorded no run of t-gone",
                    "run_ids": ["a6"],
                },
            ],
        },
        {
            "a": "A",
            "b": "C",
            "counts": {
                "better": 1,
                "worse": 0,
                "no detectable difference": 0,
                "not estimable": 0,
                "not compared": 6,
            },
            "summary": [
                {
                    "task_id": "t-better",
                    "a_run_id": "a1",
                    "b_run_id": "c1",
                    "verdict": "better",
                    "verdict_text": "better",
                    "headline": "C (x) vs A (x): better: success rate 0.000 -> 0.500, Δ +0.500, 95% CI [+0.250, +0.750], p = 0.031",
                    "success_rate": {
                        "a": 0.0,
                        "b": 0.5,
                        "diff": 0.5,
                        "ci95": [0.25, 0.75],
                        "p_value": 0.03125,
                    },
                }
            ],
            "unpaired": [
                {
                    "task_id": "t-worse",
                    "reason": "C ran suite other, which has no task t-worse",
                    "run_ids": ["a2"],
                },
                {
                    "task_id": "t-same",
                    "reason": "C ran suite other, which has no task t-same",
                    "run_ids": ["a3"],
                },
                {
                    "task_id": "t-version",
                    "reason": "C ran suite other, which has no task t-version",
                    "run_ids": ["a4"],
                },
                {
                    "task_id": "t-changed",
                    "reason": "C ran suite other, which has no task t-changed",
                    "run_ids": ["a5"],
                },
                {
                    "task_id": "t-gone",
                    "reason": "C ran suite other, which has no task t-gone",
                    "run_ids": ["a6"],
                },
                {
                    "task_id": "t-extra",
                    "reason": "A ran suite core, which has no task t-extra (every suite run is compared with A)",
                    "run_ids": ["c2"],
                },
            ],
        },
    ],
}

LONG_NAMES_SUITE_RUNS = """\
 suite run   suite run id                 suite                     agent                     K   status      tasks run 
────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 A           01JSUITERUNAAAAAAAAAAAAAAA   a-suite-with-a-long-lon   agent-with-a-rather-lo   12   completed   1/1       
                                          g-name                    ng-name-agent-with-a-r                              
                                                                    ather-long-name-agent-                              
                                                                    with-a-rather-long-nam                              
                                                                    e-                                                  
 B           01JSUITERUNBBBBBBBBBBBBBBB   a-suite-with-a-long-lon   b                        12   completed   1/1       
                                          g-name                                                                        
"""

# B against A at 100 columns (the narrowest that gets tables) where a task id without spaces and a
# not-compared reason are longer than their columns: the id folds whole over lines, the reason wraps, and
# the numbers stay on one line each.
SQUEEZED_SUMMARY = """\
╭─ B vs A, task by task ───────────────────────────────────────────────────────────────────────────╮
│ B (tuner on suite core) vs A (base on suite core), task by task: 1 better, 1 not compared        │
│  task             A success   B success    Δ B-A             95% CI         p   verdict          │
│ ──────────────────────────────────────────────────────────────────────────────────────────────── │
│  t-abcdefghijab       0.000       1.000   +1.000   [+1.000, +1.000]   < 0.001   better           │
│  cdefghijabcdef                                                                                  │
│  ghijabcdefghij                                                                                  │
│  abcdefghijabcd                                                                                  │
│  efghijabcdefgh                                                                                  │
│  ij                                                                                              │
│  t-version                -           -        -                  -         -   not compared:    │
│                                                                                 run b2 used      │
│                                                                                 t-version v2,    │
│                                                                                 run a2 v1:       │
│                                                                                 scores of two    │
│                                                                                 task versions    │
│                                                                                 are not          │
│                                                                                 comparable       │
╰──────────────────────────────────────────────────────────────────────────────────────────────────╯
"""
