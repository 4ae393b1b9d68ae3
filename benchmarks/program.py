"""The stack program on the SDK's mock runtime for N generated workloads, and the SDK's own floor.

*Ours* is the real ``__main__.py`` (config parsing, our components, their checks) run through
:func:`fedctl.preview.engine.run_program` with :class:`~fedctl.testing.mocks.RecordingMonitor`.
*The floor* is :func:`floor_program`: a plain script registering the SAME custom resources (same
types, counts and wiring between them, similar inputs) directly with the provider SDKs, under the
same :class:`~fedctl.testing.mocks.CloudMocks` and the SDK's own ``MockMonitor``: what any
program creating these resources pays, whoever wrote it.

Each measurement runs in a fresh interpreter (``python -m benchmarks.program ours 100``) so one
run's heap, caches and event-loop state cannot slow the next; it prints one JSON line.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STACK = "dev"  # the dev stack's provider config (regions, GCP project); workloads replaced
SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
AUDIENCE = "api://AzureADTokenExchange"
GCP_PROJECT = "bench-project"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
KINDS = ("ours", "floor", "floor-gc-paused")
"""ours: the stack program; floor: the plain script on the SDK as it is; floor-gc-paused: the plain
script under the runtime setting run_program applies (the like-for-like floor for our time)."""


def workload_config(n: int) -> list[dict[str, Any]]:
    """N workloads, each a role trusted by its own Azure app, managed identity and GCP pool.

    The Azure audience is listed explicitly: both Azure parties default to it, and the stack
    program only de-duplicates the targets' audiences against the explicit ones.
    """
    workloads = []
    for index in range(n):
        name = f"w{index:04d}"
        workloads.append({
            "name": name,
            "trustedServices": ["lambda.amazonaws.com"],
            "audiences": [AUDIENCE],
            "maxDurationSeconds": 300,
            "azureApp": {
                "displayName": f"aws-{name}",
                "roleAssignments": [{"scope": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/shared",
                                     "role": "Reader"}],
            },
            "azureManagedIdentity": {
                "identityName": f"aws-{name}",
                "resourceGroupName": "bench",
                "location": "westeurope",
                "roleAssignments": [{"scope": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/bench",
                                     "role": "Reader"}],
            },
            "gcp": {"project": GCP_PROJECT, "createServiceAccount": True},
        })
    return workloads


def bench_project(n: int, directory: Path = ROOT, stack: str = STACK):
    """The project with the stack's config, its workloads replaced by :func:`workload_config`."""
    from fedctl.preview.project import load_project

    project = load_project(directory, stack)
    config = dict(project.config)
    config[f"{project.name}:account"] = json.dumps({"manage": True})
    config[f"{project.name}:workloads"] = json.dumps(workload_config(n))
    return dataclasses.replace(project, config=config)


def preload() -> None:
    """Import everything either side uses, so no measurement pays for module imports."""
    import pulumi  # noqa: F401
    import pulumi_aws  # noqa: F401
    import pulumi_azuread  # noqa: F401
    import pulumi_gcp  # noqa: F401
    from pulumi_azure_native import authorization, managedidentity  # noqa: F401

    import components.aws  # noqa: F401
    import components.relying_parties.azure.component  # noqa: F401
    import components.relying_parties.gcp.component  # noqa: F401
    import components.stack.compose  # noqa: F401
    import fedctl.preview.engine  # noqa: F401


# ---------------------------------------------------------------------------------------------
# Ours
# ---------------------------------------------------------------------------------------------

def run_ours(n: int):
    """Run the stack program for N workloads; return the ProgramRun (its monitor holds the record)."""
    from fedctl.preview.engine import run_program

    return run_program(bench_project(n))


# ---------------------------------------------------------------------------------------------
# The floor
# ---------------------------------------------------------------------------------------------

def floor_program(n: int, stack: str = STACK) -> None:
    """Register, without our components, the custom resources the stack program registers for N."""
    import pulumi
    import pulumi_aws as aws
    import pulumi_azuread as azuread
    import pulumi_gcp as gcp
    from pulumi_azure_native import authorization, managedidentity

    enablement = aws.iam.OutboundWebIdentityFederation(
        f"{stack}-account-enablement", opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True))
    issuer = enablement.issuer_identifier
    aws.get_caller_identity_output()
    client = azuread.get_client_config_output()
    number = gcp.organizations.get_project_output(project_id=GCP_PROJECT).number
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "TrustedServices", "Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]},
        "Action": "sts:AssumeRole"}]}, indent=2)
    for index in range(n):
        workload = f"w{index:04d}"
        name = f"{stack}-{workload}"
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "MintOutboundWebIdentityTokens", "Effect": "Allow", "Action": "sts:GetWebIdentityToken",
            "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": [AUDIENCE]},
                                           "Null": {"sts:IdentityTokenAudience": "false"}}}]}, indent=2)
        role = aws.iam.Role(f"{name}-role", path="/", assume_role_policy=trust,
                            tags={"outbound-federation:stack": stack, "outbound-federation:workload": workload},
                            description=f"Mints outbound web identity tokens ({name})")
        aws.iam.RolePolicy(f"{name}-token-policy", role=role.name, policy=policy)
        subject = role.arn

        # Azure app
        app = azuread.Application(f"{name}-azureapp-app", display_name=f"aws-{workload}", owners=[client.object_id])
        principal = azuread.ServicePrincipal(f"{name}-azureapp-sp", client_id=app.client_id,
                                             owners=[client.object_id])
        azuread.ApplicationFederatedIdentityCredential(
            f"{name}-azureapp-credential-{name}", application_id=app.id, display_name=name,
            issuer=issuer, subject=subject, audiences=[AUDIENCE])
        shared = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/shared"
        authorization.RoleAssignment(
            f"{name}-azureapp-reader", scope=shared, principal_id=principal.object_id,
            role_definition_id=f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
                               f"roleDefinitions/{READER}",
            principal_type="ServicePrincipal", role_assignment_name=f"{index:08d}-0000-4000-8000-000000000001",
            opts=pulumi.ResourceOptions(delete_before_replace=True))

        # Azure managed identity
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-azuremanagedidentity-identity", resource_name_=f"aws-{workload}",
            resource_group_name="bench", location="westeurope")
        managedidentity.FederatedIdentityCredential(
            f"{name}-azuremanagedidentity-credential-{name}", federated_identity_credential_resource_name=name,
            resource_name_=identity.name, resource_group_name="bench", issuer=issuer, subject=subject,
            audiences=[AUDIENCE])
        authorization.RoleAssignment(
            f"{name}-azuremanagedidentity-reader", scope=f"/subscriptions/{SUBSCRIPTION}/resourceGroups/bench",
            principal_id=identity.principal_id,
            role_definition_id=f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/"
                               f"roleDefinitions/{READER}",
            principal_type="ServicePrincipal", role_assignment_name=f"{index:08d}-0000-4000-8000-000000000002",
            opts=pulumi.ResourceOptions(delete_before_replace=True))

        # GCP pool
        pool_id, provider_id = f"{name}-gcp-pool", f"{name}-gcp-prov"
        pool = gcp.iam.WorkloadIdentityPool(
            f"{name}-gcp-pool", project=GCP_PROJECT, workload_identity_pool_id=pool_id,
            display_name=f"{name}-gcp", description=f"AWS roles trusted through outbound identity federation ({name})")
        provider = gcp.iam.WorkloadIdentityPoolProvider(
            f"{name}-gcp-provider", project=GCP_PROJECT, workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=provider_id, display_name=f"AWS {name}-gcp",
            description=f"The AWS account issuer, for the roles of {name}-gcp",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=issuer, allowed_audiences=[]),
            attribute_mapping={"google.subject": "assertion.sub", "attribute.aws_account": "assertion.aws_account"},
            attribute_condition=subject.apply(lambda arn: f"assertion.sub in ['{arn}']"))
        account = gcp.serviceaccount.Account(
            f"{name}-gcp-sa", project=GCP_PROJECT, account_id=f"{name}-gcp"[:30],
            display_name=f"AWS roles of {name}-gcp", description=f"Impersonated by AWS roles through {pool_id}")
        gcp.serviceaccount.IAMMember(
            f"{name}-gcp-binding-{name}", service_account_id=account.name, role="roles/iam.workloadIdentityUser",
            member=pulumi.Output.all(number, subject).apply(
                lambda v, p=pool_id: f"principal://iam.googleapis.com/projects/{v[0]}/locations/global/"
                                     f"workloadIdentityPools/{p}/subject/{v[1]}"),
            opts=pulumi.ResourceOptions(depends_on=[provider]))


def run_floor(n: int, *, pause_gc: bool = False):
    """Run :func:`floor_program` on the mock runtime with CloudMocks and the SDK's MockMonitor.

    ``pause_gc``: under the same runtime setting ``run_program`` uses (the cyclic garbage
    collector paused, see :func:`fedctl.preview.engine.paused_cyclic_gc`).
    """
    import contextlib

    import pulumi
    from pulumi.runtime.mocks import MockMonitor

    from fedctl.preview.engine import paused_cyclic_gc
    from fedctl.testing.mocks import CloudMocks

    mocks = CloudMocks()
    monitor = MockMonitor(mocks)
    pulumi.runtime.set_all_config({})
    pulumi.runtime.set_mocks(mocks, project="outbound-federation", stack=STACK, preview=True, monitor=monitor)

    @pulumi.runtime.test
    def execute():
        floor_program(n)

    with paused_cyclic_gc() if pause_gc else contextlib.nullcontext():
        execute()
    return monitor


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

def custom_types_of_ours(run) -> Counter:
    return Counter(r.type for r in run.monitor.registrations.values() if r.custom)


def custom_types_of_floor(monitor) -> Counter:
    # The SDK's monitor keeps urn, id and state; the type is the URN's last type segment.
    return Counter(urn.split("::")[2].split("$")[-1] for urn in monitor.resources)


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def measure(kind: str, n: int) -> dict[str, Any]:
    """Run one side once for N workloads in THIS process; wall time, memory and what was registered."""
    from .critical_path import critical_path

    preload()
    gc.collect()
    rss_before = _peak_rss_kib()
    started = time.perf_counter()
    if kind == "ours":
        run = run_ours(n)
        wall = time.perf_counter() - started
        types = custom_types_of_ours(run)
        path = critical_path(run.monitor.registrations)
        extra = {"critical_path": path.depth, "credential_chain": path.credential_chain,
                 "chain": [urn.split("::")[-1] for urn in path.chain],
                 "registrations": len(run.monitor.registrations)}
    elif kind in KINDS:
        monitor = run_floor(n, pause_gc=kind == "floor-gc-paused")
        wall = time.perf_counter() - started
        types = custom_types_of_floor(monitor)
        extra = {"registrations": len(monitor.resources)}
    else:
        raise ValueError(f"kind={kind!r}: one of {', '.join(KINDS)}")
    peak = _peak_rss_kib()
    return {
        "kind": kind, "n": n, "wall_s": wall,
        "peak_rss_mib": peak / 1024, "rss_growth_mib": (peak - rss_before) / 1024,
        "custom_resources": sum(types.values()), "types": dict(sorted(types.items())),
        **extra,
    }


def measure_in_subprocess(kind: str, n: int, *, timeout: float = 1800) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter, so runs cannot pollute each other."""
    import subprocess

    env = dict(os.environ)
    env.pop("PULUMI_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.program", kind, str(n)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmarks.program {kind} {n} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: python -m benchmarks.program {'|'.join(KINDS)} N")
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
