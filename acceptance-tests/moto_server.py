"""moto's server with the state transitions it cannot play, played.

The provider waits for what real AWS eventually reports (it never
special-cases the emulator), so the tests configure the emulator instead:

- ElastiCache: AWS finishes deleting a replication group a few minutes
  after DeleteReplicationGroup and then lets its cache subnet group go.
  moto leaves the group `deleting` forever and has no
  DeleteCacheSubnetGroup. Here a group in `deleting` is reported once, then
  gone; a cache subnet group can be deleted once no group uses it, and
  changed (ModifyCacheSubnetGroup, which moto lacks too: adding a zone).
- ECS: when UpdateService changes the task definition, AWS starts a new
  PRIMARY deployment of it, which completes once its tasks run. moto keeps
  the old deployment. Here the deployment moves to the new task definition,
  completed, with the service's running count.
- RDS: moto's ModifyDBSubnetGroup drops the group from its registry (it
  pops it and never puts it back); here it is put back.
- S3: moto answers GetBucketVersioning with the root element
  `GetBucketVersioningResponse`; AWS (and so the Rust SDK, which checks
  it) uses `VersioningConfiguration`. Here it does too.

Everything else is moto's.
"""

import sys

from moto.core.exceptions import JsonRESTError  # noqa: F401  (import order)
from moto.elasticache import exceptions as exc
from moto.elasticache import models, responses
from moto.core.responses import EmptyResult  # type: ignore[attr-defined]


class CacheSubnetGroupInUse(exc.ElastiCacheException):
    code = 400

    def __init__(self, name: str):
        super().__init__("CacheSubnetGroupInUse", f"Cache subnet group {name} is currently in use by a replication group.")


_describe = models.ElastiCacheBackend.describe_replication_groups


def describe_replication_groups(self, replication_group_id=None):
    groups = _describe(self, replication_group_id)
    for g in groups:
        if g.status == "deleting":
            # Seen deleting once; the next call finds it gone.
            if getattr(g, "_seen_deleting", False):
                self.replication_groups.pop(g.replication_group_id, None)
            g._seen_deleting = True
    return groups


def delete_cache_subnet_group(self, cache_subnet_group_name):
    if cache_subnet_group_name not in self.cache_subnet_groups:
        raise exc.CacheSubnetGroupNotFound(cache_subnet_group_name)
    for g in self.replication_groups.values():
        if getattr(g, "cache_subnet_group_name", None) == cache_subnet_group_name:
            raise CacheSubnetGroupInUse(cache_subnet_group_name)
    return self.cache_subnet_groups.pop(cache_subnet_group_name)


def modify_cache_subnet_group(self, name, subnet_ids):
    if name not in self.cache_subnet_groups:
        raise exc.CacheSubnetGroupNotFound(name)
    old = self.cache_subnet_groups[name]
    new = models.CacheSubnetGroup(
        account_id=self.account_id,
        region_name=self.region_name,
        cache_subnet_group_name=name,
        cache_subnet_group_description=old.cache_subnet_group_description,
        subnet_ids=subnet_ids,
        tags=old.tags,
    )
    self.cache_subnet_groups[name] = new
    return new


def modify_cache_subnet_group_response(self):
    from moto.core.responses import ActionResult

    group = self.elasticache_backend.modify_cache_subnet_group(self._get_param("CacheSubnetGroupName"), self._get_param("SubnetIds", []))
    return ActionResult({"CacheSubnetGroup": group})


def delete_cache_subnet_group_response(self):
    self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
    return EmptyResult()


from moto.ecs import models as ecs_models  # noqa: E402

_update_service = ecs_models.EC2ContainerServiceBackend.update_service


def update_service(self, service_properties):
    service = _update_service(self, dict(service_properties))
    for d in service.deployments[:1]:
        if d.get("taskDefinition") != service.task_definition:
            d["id"] = f"ecs-svc/{abs(hash((service.name, service.task_definition))) % 10**12}"
            d["taskDefinition"] = service.task_definition
            d["rolloutState"] = "COMPLETED"
        d["desiredCount"] = service.desired_count
        d["runningCount"] = service.running_count
    return service


ecs_models.EC2ContainerServiceBackend.update_service = update_service

from moto.rds import models as rds_models  # noqa: E402

_modify_db_subnet_group = rds_models.RDSBackend.modify_db_subnet_group


def modify_db_subnet_group(self, subnet_name, description, subnets):
    group = _modify_db_subnet_group(self, subnet_name, description, subnets)
    self.subnet_groups[subnet_name] = group
    return group


rds_models.RDSBackend.modify_db_subnet_group = modify_db_subnet_group
models.ElastiCacheBackend.describe_replication_groups = describe_replication_groups
models.ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group
responses.ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group_response
models.ElastiCacheBackend.modify_cache_subnet_group = modify_cache_subnet_group
responses.ElastiCacheResponse.modify_cache_subnet_group = modify_cache_subnet_group_response

from moto.s3 import responses as s3_responses  # noqa: E402


def get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}</VersioningConfiguration>'
    return 200, {"Content-Type": "application/xml"}, body


s3_responses.S3Response.get_bucket_versioning = get_bucket_versioning

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
