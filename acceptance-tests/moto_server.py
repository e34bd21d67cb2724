"""moto's server with the state transitions it cannot play, played.

Real AWS finishes deleting an ElastiCache replication group a few minutes
after DeleteReplicationGroup and lets the cache subnet group go afterwards.
moto leaves the group in `deleting` forever and has no
DeleteCacheSubnetGroup. The provider waits for real completion (it never
special-cases the emulator), so the tests configure the emulator instead:
a group in `deleting` is reported once, then gone; cache subnet groups can
be deleted once no replication group uses them. Everything else is moto's.
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


def delete_cache_subnet_group_response(self):
    self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
    return EmptyResult()


models.ElastiCacheBackend.describe_replication_groups = describe_replication_groups
models.ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group
responses.ElastiCacheResponse.delete_cache_subnet_group = delete_cache_subnet_group_response

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
