"""The saved instance a request names, or the integration error that says why not."""

from __future__ import annotations

from ...directory.instances import Instance, Instances
from .errors import Conflict, NotFound
from .jobs import JobRef, job_of


def saved_instance(instances: Instances, org_id: str, instance_id: str) -> Instance:
    instance = instances.get(org_id, instance_id)
    if instance is None:
        raise NotFound(f"Instance {instance_id}")
    return instance


def push_instance(instances: Instances, org_id: str, instance_id: str) -> tuple[Instance, JobRef]:
    """An instance with the Entra provisioning job it steers."""
    instance = saved_instance(instances, org_id, instance_id)
    job = job_of(instance)
    if job is None:
        raise Conflict("This instance has no Entra provisioning job (it uses pull sync).")
    return instance, job
