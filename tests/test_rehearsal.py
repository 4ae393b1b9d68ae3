"""The trust rehearsal: tokens from a local AWS-shaped issuer, judged by each planned relying party."""

import json

import pytest
from conftest import ROOT

from fedctl.cli import main
from fedctl.testing.issuer import LocalIssuer
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, OPEN_DOOR, PENDING, REJECT, SCENARIOS, actual_role, rehearse

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def dev():
    return rehearse(run_program(load_project(ROOT, "dev")))


def cases_of(result, party_fragment):
    return {c.scenario: c for c in result.cases if party_fragment in c.relying_party}


def test_every_planned_relying_party_of_the_dev_stack_is_rehearsed(dev):
    from components.stack.config import parse_stack_config

    config = load_project(ROOT, "dev").config
    spec = parse_stack_config(*(json.loads(config.get(f"outbound-federation:{key}", "null"))
                                for key in ("account", "workloads")), "dev")
    parties = {c.relying_party for c in dev.cases}
    assert len(parties) == len(spec.relying_parties)
    assert dev.tokens_minted == len(dev.cases) == 5 * len(parties)


def test_the_dev_stack_has_no_wrong_cell(dev):
    assert dev.wrong_cells == []


@pytest.mark.parametrize("party", ["managed identity", "GCP provider"])
def test_the_intended_role_with_the_intended_audience_is_accepted(dev, party):
    assert cases_of(dev, party)[INTENDED].outcome == ACCEPT


def test_an_identity_center_role_whose_policy_the_stack_cannot_attach_is_a_manual_step_not_a_pass(dev):
    intended = cases_of(dev, "Entra app")[INTENDED]
    assert intended.outcome == PENDING and intended.ok and "tokenPolicy" in intended.reason
    assert dev.pending == [intended]


@pytest.mark.parametrize("party", ["managed identity", "Entra app", "GCP provider"])
@pytest.mark.parametrize("scenario", SCENARIOS[1:])
def test_every_other_token_is_rejected(dev, party, scenario):
    assert cases_of(dev, party)[scenario].outcome == REJECT


def test_gcp_rejects_a_neighbour_by_its_attribute_condition_evaluated_by_cel(dev):
    assert cases_of(dev, "GCP")["neighbouring role"].reason == "attribute_condition"
    assert cases_of(dev, "GCP")[INTENDED].reason.startswith("impersonates as 123456789012:")


def test_entra_rejects_by_the_exact_subject_and_audience(dev):
    cases = cases_of(dev, "Entra app")
    assert (cases["neighbouring role"].reason, cases["another audience"].reason) == ("bad_subject", "bad_audience")


def test_the_local_issuer_publishes_its_rsa_key_without_alg_like_aws():
    keys = {k["kty"]: k for k in LocalIssuer().jwks()["keys"]}
    assert "alg" not in keys["RSA"] and keys["EC"]["alg"] == "ES384" and keys["EC"]["crv"] == "P-384"


def test_a_subject_rebuilt_without_its_path_fails_the_intended_cell():
    result = rehearse(run_program(load_project(FIXTURES / "rebuilt-subject", "dev")))
    [wrong] = result.wrong_cells
    assert (wrong.scenario, wrong.outcome, wrong.reason) == (INTENDED, REJECT, "bad_subject")
    assert wrong.role == "arn:aws:iam::123456789012:role/teams/reporting/reports"


def test_an_es384_only_role_trusted_by_entra_fails_the_intended_cell():
    result = rehearse(run_program(load_project(FIXTURES / "unsafe-project", "dev")))
    signer = cases_of(result, "signer-aws")[INTENDED]
    assert not signer.ok and signer.reason.startswith("STS would refuse") and "sts:SigningAlgorithm" in signer.reason


def test_a_pool_without_a_condition_lets_any_role_in_and_fails():
    result = rehearse(run_program(load_project(FIXTURES / "unsafe-project", "dev")))
    door = cases_of(result, "GCP provider")[OPEN_DOOR]
    assert (door.expected, door.outcome) == (REJECT, ACCEPT)


def test_a_subject_names_the_planned_role_of_that_name_and_account():
    planned = ["arn:aws:iam::123456789012:role/teams/x/app", "arn:aws:iam::210987654321:role/app"]
    assert actual_role("arn:aws:iam::123456789012:role/app", planned) == planned[0]
    assert actual_role("arn:aws:iam::123456789012:role/other", planned) == "arn:aws:iam::123456789012:role/other"


def test_a_wrong_cell_fails_the_preview_even_when_every_policy_passes(capsys):
    code = main(["preview", "--cwd", str(FIXTURES / "rebuilt-subject"), "--json", "--quiet"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["violations"] == [] and report["rehearsal"]["wrongCells"] == 1 and report["failed"]


def test_the_rehearsal_shows_in_every_output_format(capsys, dev):
    count = len(dev.cases)
    main(["preview", "--cwd", str(ROOT), "--quiet"])
    assert f"Trust rehearsal: {count} tokens" in capsys.readouterr().out
    main(["preview", "--cwd", str(ROOT), "--quiet", "--markdown"])
    assert f"<summary>Trust rehearsal: {count} cases, 0 wrong</summary>" in capsys.readouterr().out
    main(["preview", "--cwd", str(ROOT), "--quiet", "--json"])
    assert len(json.loads(capsys.readouterr().out)["rehearsal"]["cases"]) == count


def test_the_rehearsal_can_be_skipped(capsys):
    main(["preview", "--cwd", str(ROOT), "--quiet", "--json", "--no-rehearsal"])
    assert json.loads(capsys.readouterr().out)["rehearsal"] is None


def test_a_role_whose_policy_refuses_the_relying_partys_audience_fails_the_intended_cell():
    result = rehearse(run_program(load_project(FIXTURES / "audience-mismatch", "dev")))
    [wrong] = result.wrong_cells
    assert (wrong.scenario, wrong.expected, wrong.outcome) == (INTENDED, ACCEPT, REJECT)
    assert wrong.reason.startswith("STS would refuse the token")
    assert "ForAllValues:StringEquals" in wrong.reason and "api://AzureADTokenExchange" in wrong.reason


def test_the_preview_of_that_program_fails_although_every_policy_passes(capsys):
    code = main(["preview", "--cwd", str(FIXTURES / "audience-mismatch"), "--json", "--quiet"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["violations"] == [] and report["rehearsal"]["wrongCells"] == 1


def test_the_stack_exports_each_workloads_token_policy_to_paste_where_it_cannot_attach_it():
    run = run_program(load_project(ROOT, "dev"))
    policy = json.loads(run.outputs["workloads"]["sso-readonly"]["tokenPolicy"])
    pinned = policy["Statement"][0]["Condition"]["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"]
    assert pinned == ["api://AzureADTokenExchange"]


class Started:
    """Something a judge started for one rehearsal (a server), counting how often it was closed."""

    closed = 0

    def close(self):
        Started.closed += 1


def test_a_rehearsal_that_makes_its_own_review_closes_what_its_judges_started(monkeypatch):
    from fedctl.preview.review import Review

    trusts = Review.trusts

    def starting(self):
        self.shared("started", Started)
        return trusts(self)

    monkeypatch.setattr(Review, "trusts", starting)
    Started.closed = 0
    rehearse(run_program(load_project(FIXTURES / "rebuilt-subject", "dev")))
    assert Started.closed == 1


def test_claims_a_party_pins_that_only_the_account_can_show_are_in_every_token_it_judges(monkeypatch):
    import jwt

    from fedctl.preview.review import Review

    trusts, seen = Review.trusts, []

    def pinning(self):
        found = trusts(self)
        for trust in found:
            if trust.judge is not None:
                trust.account_claims = {"org_id": "o-pinned12345"}
                judge = trust.judge
                trust.judge = lambda token, jwks, judge=judge: (seen.append(jwt.decode(
                    token, options={"verify_signature": False})["https://sts.amazonaws.com/"]["org_id"]),
                    judge(token, jwks))[1]
        return found

    monkeypatch.setattr(Review, "trusts", pinning)
    result = rehearse(run_program(load_project(FIXTURES / "rebuilt-subject", "dev")))
    assert seen and set(seen) == {"o-pinned12345"}
    assert any("org_id as it pins them" in note for note in result.notes)
