"""KubernetesClusterTrust on the mock runtime, through the stack, the rehearsal, the pack and `fedctl exchange`."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pulumi
import pytest
import yaml
from conftest import ROOT, deploy

from components import KubernetesClusterTrust, ValidationError
from components.relying_parties.kubernetes import rules
from components.relying_parties.kubernetes.cel import KubernetesCel
from components.relying_parties.kubernetes.facts import (
    AKS_AUTHENTICATOR_TYPE,
    CLUSTER_ROLE_BINDING_TYPE,
    COMPONENT_TYPE,
    ROLE_BINDING_TYPE,
)
from fedctl.preview.engine import run_program
from fedctl.preview.project import load_project
from fedctl.preview.rehearsal import ACCEPT, INTENDED, OPEN_DOOR, REJECT, rehearse
from fedctl.testing.mocks import Registration, issuer_for_account

ACCOUNT = "123456789012"
ISSUER = issuer_for_account(ACCOUNT)
DEPLOYER = "arn:aws:iam::123456789012:role/teams/platform/deployer"
READER = "arn:aws:iam::123456789012:role/readers/reader"
BASE = {"cluster_name": "prod-eu", "issuer": ISSUER, "aws_account_id": ACCOUNT,
        "subjects": {"deployer": DEPLOYER, "reader": READER}}


def trust(args=None, name="prod-eu"):
    return KubernetesClusterTrust(name, {**BASE, **(args or {})})


def outputs(component, *names):
    return pulumi.Output.all(*[getattr(component, n) for n in names])


# -- the component --------------------------------------------------------------------------------------

def test_a_self_managed_cluster_gets_the_rendered_file_and_no_cloud_resource(cloud):
    text = deploy(lambda: trust().authentication_configuration)
    configuration = yaml.safe_load(text)
    assert [a["issuer"]["url"] for a in configuration["jwt"]] == [ISSUER]
    assert [r for r in cloud.registrations.values() if r.custom] == []


def test_the_file_holds_the_authenticator_of_the_trusted_roles(cloud):
    text, entry = deploy(lambda: outputs(trust(), "authentication_configuration", "authenticator"))
    assert yaml.safe_load(text)["jwt"] == [json.loads(entry)]
    assert json.loads(entry) == rules.authenticator(ISSUER, "kubernetes:prod-eu", ACCOUNT, [DEPLOYER, READER], "aws:")


def test_the_usernames_are_what_the_mapping_gives(cloud):
    usernames, entry = deploy(lambda: outputs(trust(), "usernames", "authenticator"))
    cel = KubernetesCel()
    from judges.cel import aws_claims

    assert usernames == {"deployer": "aws:123456789012:deployer", "reader": "aws:123456789012:reader"}
    assert cel.judge(json.loads(entry), aws_claims(DEPLOYER))[1]["username"] == usernames["deployer"]


def test_the_api_version_is_a_setting(cloud):
    text = deploy(lambda: trust({"api_version": "apiserver.k8s.io/v1beta1"}).authentication_configuration)
    assert yaml.safe_load(text)["apiVersion"] == "apiserver.k8s.io/v1beta1"


def test_the_outputs_are_registered_for_the_review(cloud):
    deploy(lambda: trust().audience)
    [component] = cloud.of_type(COMPONENT_TYPE)
    assert component.component_outputs["trusted_roles"] == [DEPLOYER, READER]
    assert component.component_outputs["audience"] == "kubernetes:prod-eu"


def test_audience_for_equals_the_trusts_audience(cloud):
    assert deploy(lambda: trust().audience) == KubernetesClusterTrust.audience_for("prod-eu")


def test_audience_for_refuses_a_bad_cluster_name():
    with pytest.raises(ValidationError) as refused:
        KubernetesClusterTrust.audience_for("prod eu")
    assert [v.code for v in refused.value.violations] == ["kubernetes.cluster-name.format"]


def test_the_file_is_written_on_up(tmp_path, monkeypatch):
    from fedctl.testing.mocks import CloudMocks, RecordingMonitor

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    mocks = CloudMocks()
    pulumi.runtime.set_mocks(mocks, project="outbound-federation", stack="dev", preview=False,
                             monitor=RecordingMonitor(mocks))
    target = tmp_path / "etc" / "authentication-config.yaml"
    text = deploy(lambda: trust({"output_file": str(target)}).authentication_configuration)
    assert target.read_text() == text


def test_the_file_is_not_written_on_preview(tmp_path, monkeypatch):
    from fedctl.testing.mocks import CloudMocks, RecordingMonitor

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    mocks = CloudMocks()
    pulumi.runtime.set_mocks(mocks, project="outbound-federation", stack="dev", preview=True,
                             monitor=RecordingMonitor(mocks))
    target = tmp_path / "authentication-config.yaml"
    deploy(lambda: trust({"output_file": str(target)}).authentication_configuration)
    assert not target.exists()


def test_on_aks_the_authenticator_is_created_on_the_named_cluster(cloud):
    deploy(lambda: trust({"aks_resource_group_name": "platform"}).audience)
    [authenticator] = cloud.of_type(AKS_AUTHENTICATOR_TYPE)
    assert (authenticator.name, authenticator.inputs["resourceGroupName"], authenticator.inputs["resourceName"]) == (
        "prod-eu-authenticator", "platform", "prod-eu")
    properties = authenticator.inputs["properties"]
    assert properties["claimMappings"]["username"]["expression"] == rules.username_expression("aks:jwt:aws:")
    assert properties["issuer"] == {"url": ISSUER, "audiences": ["kubernetes:prod-eu"]}
    assert authenticator.id.endswith("/managedClusters/prod-eu/jwtAuthenticators/prod-eu")


def test_aks_properties_are_the_same_authenticator(cloud):
    entry = deploy(lambda: trust({"aks_resource_group_name": "platform"}).authenticator)
    [authenticator] = cloud.of_type(AKS_AUTHENTICATOR_TYPE)
    assert rules.authenticator_of_aks(authenticator.inputs["properties"]) == {**json.loads(entry), "userValidationRules": []}


def test_role_bindings_bind_the_mapped_users_through_the_kubeconfig(cloud):
    deploy(lambda: trust({"kubeconfig": "~/.kube/config", "role_bindings": [
        {"cluster_role": "view"}, {"cluster_role": "edit", "namespace": "apps"}]}).audience)
    [cluster_wide] = cloud.of_type(CLUSTER_ROLE_BINDING_TYPE)
    [in_namespace] = cloud.of_type(ROLE_BINDING_TYPE)
    users = [s["name"] for s in cluster_wide.inputs["subjects"]]
    assert users == ["aws:123456789012:deployer", "aws:123456789012:reader"]
    assert cluster_wide.inputs["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert in_namespace.inputs["metadata"]["namespace"] == "apps"
    assert cluster_wide.provider.split("::")[-2] == "prod-eu-provider"


def test_a_binding_to_a_group_names_the_principal_tags_group(cloud):
    deploy(lambda: trust({"kubeconfig": "k", "groups_from_principal_tag": "team",
                          "role_bindings": [{"cluster_role": "admin", "group": "platform"}]}).audience)
    [binding] = cloud.of_type(CLUSTER_ROLE_BINDING_TYPE)
    assert binding.inputs["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                                           "name": "aws:team:platform"}]


def test_every_child_is_parented_to_the_component_and_named_after_it(cloud):
    deploy(lambda: trust({"aks_resource_group_name": "rg", "kubeconfig": "k",
                          "role_bindings": [{"cluster_role": "view"}]}).audience)
    [component] = cloud.of_type(COMPONENT_TYPE)
    children = [r for r in cloud.registrations.values() if r.urn != component.urn]
    assert children and all(r.parent == component.urn and r.name.startswith("prod-eu-") for r in children)


def test_bad_input_is_refused_before_anything_is_registered(cloud):
    with pytest.raises(ValidationError) as refused:
        trust({"username_prefix": "", "audience": "a b"})
    assert sorted(v.code for v in refused.value.violations) == ["kubernetes.audience.whitespace", "kubernetes.prefix.empty"]
    assert cloud.registrations == {}


def test_an_output_subject_of_another_account_fails_when_it_resolves(cloud):
    with pytest.raises(Exception, match="aws.subject.other-account|belongs to account 210987654321"):
        deploy(lambda: trust({"subjects": {"x": pulumi.Output.from_input(DEPLOYER.replace(ACCOUNT, "210987654321"))}})
               .authentication_configuration)


# -- through the stack ------------------------------------------------------------------------------------

def run_with(workloads):
    project = load_project(ROOT, "dev")
    return run_program(replace(project, config={**project.config,
                                                "outbound-federation:workloads": json.dumps(workloads)}))


DEPLOY_JOB = {"name": "deployer", "trustedServices": ["codebuild.amazonaws.com"], "tags": {"team": "platform"},
              "kubernetes": {"clusterName": "onprem-prod", "groupsFromPrincipalTag": "team"}}


@pytest.fixture(scope="module")
def stack_run():
    return run_with([DEPLOY_JOB])


def test_the_stack_exports_the_audience_usernames_and_file(stack_run):
    exported = stack_run.outputs["workloads"]["deployer"]["kubernetes"]
    assert exported["audience"] == "kubernetes:onprem-prod"
    assert list(exported["usernames"].values())[0].startswith("aws:123456789012:dev-deployer-role")
    assert yaml.safe_load(exported["authenticationConfiguration"])["kind"] == "AuthenticationConfiguration"


def test_the_role_pins_the_clusters_audience(stack_run):
    [policy] = stack_run.monitor.of_type("aws:iam/rolePolicy:RolePolicy")
    condition = json.loads(policy.inputs["policy"])["Statement"][0]["Condition"]
    assert condition["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"] == ["kubernetes:onprem-prod"]


def test_the_stack_names_the_config_path_in_errors():
    from fedctl.preview.engine import ProgramError

    with pytest.raises(ProgramError, match=r"workloads\[0\]\.kubernetes\.usernamePrefix"):
        run_with([{**DEPLOY_JOB, "kubernetes": {"clusterName": "onprem-prod", "usernamePrefix": ""}}])


def test_workloads_naming_one_cluster_share_one_authenticator():
    run = run_with([DEPLOY_JOB, {**DEPLOY_JOB, "name": "migrator"}])
    [component] = run.monitor.of_type(COMPONENT_TYPE)
    assert len(component.component_outputs["trusted_roles"]) == 2


def test_the_rehearsal_judges_the_rendered_authenticator_with_cel(stack_run):
    result = rehearse(stack_run)
    cases = {c.scenario: c for c in result.cases if c.relying_party.startswith("Kubernetes authenticator")}
    assert cases[INTENDED].outcome == ACCEPT and cases[INTENDED].reason.startswith("signs in as aws:123456789012:")
    assert cases["neighbouring role"].outcome == REJECT and cases["neighbouring role"].reason.startswith("claim_validation")
    assert cases["same role, another account"].reason.startswith("claim_validation")
    assert {c.outcome for s, c in cases.items() if s != INTENDED} == {REJECT}
    assert result.wrong_cells == []


def test_the_graph_draws_the_cluster(stack_run):
    from fedctl.preview.graph import build_trust_graph

    graph = build_trust_graph(stack_run)
    assert graph.nodes["cluster:onprem-prod"].kind == "cluster"
    assert [e.label for e in graph.edges if e.target == "cluster:onprem-prod"] == ["kubernetes:onprem-prod"]


def test_the_plan_shows_the_audience_and_the_aks_authenticator():
    from fedctl.preview.report import build_plan

    run = run_with([{**DEPLOY_JOB, "kubernetes": {"clusterName": "aks-prod", "aksResourceGroupName": "platform"}}])
    lines = [line for resource in build_plan(run).resources for line in resource.details]
    assert "audience: kubernetes:aks-prod" in lines
    assert "on AKS cluster platform/aks-prod" in lines


# -- hand-written authenticators, judged by the rehearsal ------------------------------------------------------

def hand_written(claim_rules, name="jwt"):
    return Registration(
        urn=f"urn:pulumi:dev::p::{AKS_AUTHENTICATOR_TYPE}::{name}", type=AKS_AUTHENTICATOR_TYPE, name=name, custom=True,
        parent="", inputs={"resourceGroupName": "platform", "resourceName": "aks-prod", "properties": {
            "issuer": {"url": ISSUER, "audiences": ["kubernetes:aks-prod"]}, "claimValidationRules": claim_rules,
            "claimMappings": {"username": {"expression": rules.username_expression("aks:jwt:aws:")}}}},
        outputs={})


def role(arn):
    name = arn.split("/")[-1]
    return Registration(urn=f"urn:pulumi:dev::p::aws:iam/role:Role::{name}", type="aws:iam/role:Role", name=name,
                        custom=True, parent="", inputs={}, outputs={"arn": arn})


def review_of(*registrations):
    from fedctl.preview.review import Review

    return Review(registrations)


def test_a_hand_written_authenticator_trusts_the_roles_its_rules_let_in():
    from components.relying_parties.kubernetes.review import kubernetes_trusts

    review = review_of(role(DEPLOYER), role(READER),
                       hand_written(rules.claim_validation_rules(ACCOUNT, [DEPLOYER])))
    [planned] = kubernetes_trusts(review)
    assert planned.roles == [DEPLOYER] and planned.judge is not None


def test_a_hand_written_authenticator_without_rules_lets_every_role_in_and_fails_the_rehearsal():
    class Run:
        class monitor:
            registrations = {}

    registrations = [role(DEPLOYER), hand_written([])]
    Run.monitor.registrations = {r.urn: r for r in registrations}
    result = rehearse(Run)
    wrong = {(c.scenario, c.outcome) for c in result.wrong_cells}
    assert ("neighbouring role", ACCEPT) in wrong


def test_an_authenticator_pinning_no_role_is_knocked_on_with_any_role():
    class Run:
        class monitor:
            registrations = {}

    registrations = [hand_written([{"expression": 'claims.sub == "arn:aws:iam::123456789012:role/nobody"'}])]
    Run.monitor.registrations = {r.urn: r for r in registrations}
    result = rehearse(Run)
    assert [(c.scenario, c.outcome) for c in result.cases] == [(OPEN_DOOR, REJECT)]


def test_an_authenticator_of_another_issuer_is_not_judged():
    from components.relying_parties.kubernetes.review import kubernetes_trusts

    github = hand_written([])
    github.inputs["properties"]["issuer"]["url"] = "https://token.actions.githubusercontent.com"
    [planned] = kubernetes_trusts(review_of(github))
    assert planned.judge is None and "not an AWS account issuer" in planned.skipped


# -- the pack, as the CLI runs it ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pack():
    from fedctl.preview.analyzer import PolicyPackServer

    with PolicyPackServer(ROOT / "policy", project="p", stack="dev") as server:
        server.configure()
        yield server


def test_the_pack_blocks_a_hand_written_authenticator_without_an_account_pin(pack):
    verdicts = pack.analyze(hand_written([{"expression": f'claims.sub in ["{DEPLOYER}"]'}]))
    assert [(v.policy, v.enforcement) for v in verdicts] == [("kubernetes-authenticators-pinned", "mandatory")]


def test_the_pack_blocks_two_authenticators_for_one_issuer_on_one_cluster(pack):
    good = rules.claim_validation_rules(ACCOUNT, [DEPLOYER])
    one, two = hand_written(good, "one"), hand_written(good, "two")
    verdicts = pack.analyze_stack([one, two])
    assert [v.policy for v in verdicts] == ["kubernetes-one-authenticator-per-issuer"] * 2  # issuer and prefix


# -- the runtime: kubectl's credential and `fedctl exchange kubernetes` ----------------------------------------

def test_the_exec_credential_is_what_kubectl_reads():
    from components.relying_parties.kubernetes.runtime import exec_credential

    document = json.loads(exec_credential("header.payload.signature", 300))
    assert document["apiVersion"] == "client.authentication.k8s.io/v1" and document["kind"] == "ExecCredential"
    assert document["status"]["token"] == "header.payload.signature"
    assert document["status"]["expirationTimestamp"].endswith("Z")


class _ApiServer(BaseHTTPRequestHandler):
    accepted_token = "good.token.value"
    username = "aws:123456789012:deployer"

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/apis/authentication.k8s.io/v1/selfsubjectreviews":
            self.send_response(404)
            self.end_headers()
            return
        if self.headers.get("Authorization") != f"Bearer {self.accepted_token}":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                           "status": {"userInfo": {"username": self.username, "groups": ["system:authenticated"]}}})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def api_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class _Supplier:
    expires_in = 300.0

    def __init__(self, token):
        self.token = token

    def get_token(self):
        return self.token


def exchange_with(server, token, exported=None):
    import argparse

    from components.relying_parties.kubernetes.runtime import exchange

    exported = exported or {"audience": "kubernetes:prod-eu", "usernames": {"d": "aws:123456789012:deployer"}}
    asked = []
    result = exchange(exported, "deployer", argparse.Namespace(server=server, certificate_authority=None),
                      supplier_for=lambda audience, algorithm: asked.append(audience) or _Supplier(token))
    return result, asked


def test_the_exchange_reports_the_user_the_cluster_maps_the_token_to(api_server):
    result, asked = exchange_with(api_server, "good.token.value")
    assert asked == ["kubernetes:prod-eu"] and result.principal == "Kubernetes user aws:123456789012:deployer"


def test_a_refused_token_is_an_exchange_error(api_server):
    from components.rules.errors import ExchangeError

    with pytest.raises(ExchangeError) as refused:
        exchange_with(api_server, "bad.token.value")
    assert refused.value.code == "kubernetes-refused"


def test_a_token_another_authenticator_took_is_an_exchange_error(api_server):
    from components.rules.errors import ExchangeError

    with pytest.raises(ExchangeError) as refused:
        exchange_with(api_server, "good.token.value", {"audience": "a", "usernames": {"d": "aws:1:other"}})
    assert refused.value.code == "kubernetes-other-user"


def test_a_plain_http_server_off_loopback_is_refused():
    with pytest.raises(ValidationError) as refused:
        exchange_with("http://cluster.example.com", "t")
    assert [v.code for v in refused.value.violations] == ["kubernetes.server.scheme"]
