"""Bad jobs files, kept as data (tests/data/bad_jobs/: each file's first line is the
message it must give) and generated extremes: each is refused with exit 2 and a message
naming what and where, and nothing is saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write_jobs

CORPUS = sorted((Path(__file__).parent / "data" / "bad_jobs").glob("*.yml"))
JOB = '  - {name: j%d, project_dir: /srv/a, commands: ["dbt build"]}\n'
GENERATED = {
    "a_2_MiB_description": (
        'jobs:\n  - name: big\n    project_dir: /srv/a\n    commands: ["dbt build"]\n'
        "    description: " + "x" * (2 << 20) + "\n",
        "job 'big': description: over 1 MiB"),
    "10001_jobs": ("jobs:\n" + "".join(JOB % i for i in range(10_001)),
                   "10001 jobs, more than the 10000 a store may hold"),
    "100000_open_brackets": ("jobs: " + "[" * 100_000, "nested too deeply"),
    "20000_nested_maps": ("jobs: " + "{a: " * 20_000 + "1" + "}" * 20_000,
                          "nested too deeply"),
    "a_17_MiB_file": ("# " + "x" * (17 << 20) + "\njobs: []\n", "over 16 MiB"),
    "101_commands": ('jobs:\n  - name: many\n    project_dir: /srv/a\n    commands: ['
                     + ", ".join(['"dbt build"'] * 101) + "]\n",
                     "101 commands, more than the 100 a job may run"),
    # A message quotes at most 200 characters of what it refuses (the check below).
    "a_5000_character_name": ('jobs:\n  - name: "' + "N " * 2500 + '"\n    project_dir: '
                              '/srv/a\n    commands: ["dbt build"]\n', "must be a slug"),
}


@pytest.fixture
def kept(cli, tmp_path):
    """A store holding one job, which a refused import must leave as it is."""
    good = write_jobs(tmp_path / "good" / "jobs.yml", JOB.join(["jobs:\n", ""]) % 0)
    assert cli("jobs", "import", str(good)).code == 0

    def refused(path: Path, expected: str) -> None:
        before = cli("jobs", "export", "--include-secrets").out
        result = cli("jobs", "import", str(path))
        assert result.code == 2, result.out + result.err
        assert expected in result.err, result.err[:500]
        assert result.err.startswith("dbt-console: ") and "Traceback" not in result.err
        assert len(result.err) < 2000  # a message, not an echo of the input
        assert "N " * 101 not in result.err  # nor more than 200 characters of one
        assert cli("jobs", "export", "--include-secrets").out == before
    return refused


# A dbt_path is checked by running it (`--version`): that case is of the real tier.
@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.real if p.stem ==
                                               "dbt_path_not_dbt" else pytest.mark.unit)
                                  for p in CORPUS], ids=lambda p: p.stem)
def test_each_bad_jobs_file_is_refused_naming_the_problem(kept, tmp_path, path):
    raw = path.read_bytes()
    expected = raw.split(b"\n", 1)[0].decode().removeprefix("# expect: ")
    try:
        file = write_jobs(tmp_path / path.name, raw.decode("utf-8"))
    except UnicodeDecodeError:
        file = path
    kept(file, expected)


@pytest.mark.unit
@pytest.mark.parametrize("name", GENERATED)
def test_extremes_are_refused_quickly_and_nothing_is_saved(kept, tmp_path, name):
    text, expected = GENERATED[name]
    kept(write_jobs(tmp_path / f"{name}.yml", text), expected)


@pytest.mark.unit
def test_the_corpus_covers_every_case_it_names():
    assert len(CORPUS) >= 20
    assert all(p.read_bytes().startswith(b"# expect: ") for p in CORPUS)


@pytest.mark.unit
def test_what_is_not_a_regular_file_is_refused_before_a_byte_is_read(kept, tmp_path):
    """/dev/zero grew to gigabytes and a FIFO blocked forever, when the size limit was
    checked after reading."""
    import os

    fifo = tmp_path / "jobs.fifo"
    os.mkfifo(fifo)
    for path in (Path("/dev/zero"), fifo):
        kept(path, "not a regular file")
