"""The offline preview: run a Pulumi program on the SDK's mock runtime and review what it would do.

Needs the Pulumi SDKs (the ``provision`` extra); the rest of ``fedctl`` does not.
"""
