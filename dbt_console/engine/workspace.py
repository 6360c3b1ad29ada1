"""Where a run's dbt project comes from: a local directory, or a persistent clone per job
fetched and checked out to the branch head before every run. The sha is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dbt_console.engine import gitauth
from dbt_console.model import Job, redact


class WorkspaceError(Exception):
    """The project could not be made ready; the message is the run's failure reason."""


@dataclass(frozen=True)
class Workspace:
    project_dir: Path
    git_sha: str | None
    git_branch: str | None


def _git_failure(action: str, exc: Exception) -> WorkspaceError:
    import git

    if isinstance(exc, git.GitCommandError):
        # GitPython hands stderr over as "\n  stderr: 'fatal: ...\n'"; git's own words
        # are the line that starts with fatal: or error:.
        lines = [ln.strip().removeprefix("stderr:").strip().strip("'").strip()
                 for ln in (exc.stderr or "").splitlines()]
        lines = [ln for ln in lines if ln]
        fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
        reason = (fatal or lines or [f"exit code {exc.status}"])[-1]
    else:
        reason = str(exc)
    return WorkspaceError(redact(f"git {action} failed: {reason}"))


def _check_project(project_dir: Path, where: str) -> Path:
    if not project_dir.is_dir():
        raise WorkspaceError(f"project directory {project_dir} does not exist{where}")
    if not (project_dir / "dbt_project.yml").is_file():
        raise WorkspaceError(f"no dbt_project.yml in {project_dir}{where}")
    return project_dir


def prepare(job: Job, workspaces: Path, say, branch: str | None = None,
            sha: str | None = None) -> Workspace:
    """Make the job's project ready to run. `say(msg)` writes a line to the run's log.
    A git job checks out `branch` (default: the job's) at `sha` (default: its head)."""
    if job.git is not None:
        return _prepare_clone(job, workspaces / job.name, say, branch or job.git.branch, sha)
    if branch or sha:
        raise WorkspaceError("a branch or sha was asked for, but this job runs a local "
                             "project_dir, not a git repository")
    project_dir = _check_project(Path(job.project_dir), "")
    return _prepare_local(job, project_dir, say)


def _prepare_clone(job: Job, clone_dir: Path, say, branch: str, want: str | None) -> Workspace:
    import git

    src = job.git
    url, auth = gitauth.split(src.url)
    try:
        if (clone_dir / ".git").is_dir():
            repo = git.Repo(clone_dir)
            if repo.remotes.origin.url != url:  # also drops credentials an older one kept
                repo.remotes.origin.set_url(url)
            say(f"git fetch {redact(url)} {branch}")
            repo.git.fetch("origin", f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
                           "--prune", env=auth)
        else:
            say(f"git clone {redact(url)} (branch {branch})")
            clone_dir.parent.mkdir(parents=True, exist_ok=True)
            repo = git.Repo.clone_from(url, clone_dir, branch=branch, single_branch=True,
                                       env=auth)
        # The clone belongs to dbt-console: whatever a previous run left is thrown away.
        repo.git.checkout("--force", "-B", branch, want or f"origin/{branch}")
        repo.git.clean("-fd")
        sha = repo.head.commit.hexsha
    except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError,
            ValueError) as exc:
        raise _git_failure("fetch" if (clone_dir / ".git").is_dir() else "clone", exc) from None
    say(f"checked out {branch} at {sha[:12]}: {repo.head.commit.summary}")
    project_dir = clone_dir / src.subdirectory if src.subdirectory else clone_dir
    _check_project(project_dir, f" (repository {redact(url)}, branch {branch})")
    return Workspace(project_dir, sha, branch)


def _in_git_checkout(path: Path) -> bool:
    return any((p / ".git").exists() for p in (path, *path.parents))


def _prepare_local(job: Job, project_dir: Path, say) -> Workspace:
    if not job.pull and not _in_git_checkout(project_dir):
        return Workspace(project_dir, None, None)  # nothing to record; spare GitPython's import
    import git

    try:
        repo = git.Repo(project_dir, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        if job.pull:
            raise WorkspaceError(
                f"pull: true but {project_dir} is not in a git checkout") from None
        return Workspace(project_dir, None, None)
    branch = None if repo.head.is_detached else repo.active_branch.name
    if job.pull:
        if branch is None:
            raise WorkspaceError(f"pull: true but {repo.working_dir} has no branch checked out")
        try:
            say(f"git pull --ff-only in {repo.working_dir}")
            repo.git.pull("--ff-only")
        except git.GitCommandError as exc:
            raise _git_failure("pull", exc) from None
    try:
        sha = repo.head.commit.hexsha
    except ValueError:  # a repository with no commit yet
        sha = None
    if sha:
        say(f"{project_dir} is at {sha[:12]}" + (f" on {branch}" if branch else ""))
    return Workspace(project_dir, sha, branch)


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    subject: str


def commits_between(job: Job, workspaces: Path, old_sha: str, new_sha: str,
                    limit: int = 50) -> list[Commit]:
    """Commits in new_sha that old_sha lacks, newest first: what changed between a green
    run and a failed one. Read from the job's clone, or its local checkout."""
    import git

    where = workspaces / job.name if job.git is not None else Path(job.project_dir or ".")
    try:
        repo = git.Repo(where, search_parent_directories=job.git is None)
        out = repo.git.log(f"{old_sha}..{new_sha}", f"--max-count={limit}",
                           "--format=%H%x1f%an%x1f%s")
    except (git.GitCommandError, git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise WorkspaceError(redact(f"cannot read commits in {where}: {exc}")) from None
    return [Commit(*line.split("\x1f", 2)) for line in out.splitlines() if line]


def remote_head(url: str, branch: str) -> str:
    """The sha at the head of a remote branch (cheap: ls-remote, no objects fetched)."""
    import git

    try:
        clean, auth = gitauth.split(url)
        heads = git.cmd.Git().ls_remote("--heads", clean, f"refs/heads/{branch}", env=auth)
    except git.GitCommandError as exc:
        raise _git_failure("ls-remote", exc) from None
    if not heads.strip():
        raise WorkspaceError(redact(f"{url} has no branch {branch!r}"))
    return heads.split()[0]


def remote_heads(url: str) -> dict[str, str]:
    """Every branch of a remote and its head sha, in one ls-remote."""
    import git

    try:
        clean, auth = gitauth.split(url)
        out = git.cmd.Git().ls_remote("--heads", clean, env=auth)
    except git.GitCommandError as exc:
        raise _git_failure("ls-remote", exc) from None
    heads = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith("refs/heads/"):
            heads[ref.removeprefix("refs/heads/")] = sha
    return heads


def check_remote(url: str, branch: str | None) -> str | None:
    """The problem reaching a git URL's branch (None: the repository itself), or None
    when it is there."""
    try:
        if branch is None:
            remote_heads(url)
        else:
            remote_head(url, branch)
    except WorkspaceError as exc:
        return str(exc)
    return None
