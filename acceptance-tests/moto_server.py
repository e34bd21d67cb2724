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
  pops it and never puts it back); here it is put back. moto keeps a
  deleted cluster's automated snapshots, which AWS deletes with it; here
  they go with the cluster.
- Budgets: AWS tags budgets (ResourceTags at CreateBudget, TagResource,
  UntagResource, ListTagsForResource); moto has none of it. Here the tags
  are kept per budget ARN and go with the budget.
- S3: AWS tags a bucket in CreateBucket itself (CreateBucketConfiguration
  Tags); moto ignores them. Here they are applied with the bucket, as AWS
  does (an apply interrupted right after CreateBucket must leave a bucket
  the stack can prove is its own).
- S3: moto answers GetBucketVersioning with the root element
  `GetBucketVersioningResponse`; AWS (and so the Rust SDK, which checks
  it) uses `VersioningConfiguration`. Here it does too.

- Data Lifecycle Manager: moto has no DLM at all. Here a small in-memory
  DLM answers its REST API (CreateLifecyclePolicy, GetLifecyclePolicy,
  GetLifecyclePolicies, UpdateLifecyclePolicy, DeleteLifecyclePolicy and
  the tag calls), per account and region, as AWS documents it.
- Aurora Global Database (the multi-region platform): moto keeps global
  clusters in its us-east-1 store, so RemoveFromGlobalCluster and
  DeleteDBCluster ignore a member of another region and the global cluster
  then stays "not empty" forever; here the member is found in its own
  region. SwitchoverGlobalCluster, FailoverGlobalCluster and
  ModifyGlobalCluster are missing: here they swap IsWriter and store
  deletion protection. Global clusters carry no tags in moto: here they
  keep the tags of CreateGlobalCluster and the tag calls, as AWS does.
- EKS: moto gives every cluster of a region one OIDC issuer (the second
  CreateOpenIDConnectProvider collides); here each cluster gets its own.
  UpdateClusterConfig answers the cluster instead of an update, and
  UpdateClusterVersion and DescribeUpdate are missing: here the update is
  applied and reported as an update that DescribeUpdate shows Successful.
  Node groups cannot be tagged after creation in moto: here they can.
  A cluster's CA data is the base64 of a PEM certificate, as AWS gives it
  (moto's is random text). A presigned STS URL (an EKS token) is routed
  by its credential scope, as AWS routes it by its host.
- Containers and shells: moto runs no process. A one-off ECS task
  (RunTask with a command override) and an SSM Run Command invocation are
  played by a tiny shell (`echo`, `exit N`, `true`, `false`, separated by
  newlines, `;` or `&&`): its lines are the task's CloudWatch Logs events
  (the awslogs stream of the task definition's container) or the
  invocation's output, and its status the container's exit code or the
  invocation's response code. moto answers every invocation Success and
  every container exit 0 otherwise. moto's RunTask also wants a memory
  on each container, which Fargate does not (the task's is enough).

Everything else is moto's.
"""

import json
import os as _os
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

_bucket_response_put = s3_responses.S3Response._bucket_response_put


def bucket_response_put(self, request, bucket_name, querystring):
    result = _bucket_response_put(self, request, bucket_name, querystring)
    if not querystring and self.body and self.data.get("Action") == "CreateBucket":
        import xmltodict

        conf = (xmltodict.parse(self.body) or {}).get("CreateBucketConfiguration") or {}
        tags = ((conf.get("Tags") or {}).get("Tag")) or []
        if isinstance(tags, dict):
            tags = [tags]
        if tags:
            self.backend.put_bucket_tagging(bucket_name, {t["Key"]: t.get("Value", "") for t in tags})
    return result


s3_responses.S3Response._bucket_response_put = bucket_response_put

from moto.budgets import models as budgets_models  # noqa: E402
from moto.budgets import responses as budgets_responses  # noqa: E402
from moto.budgets.exceptions import NotFoundException as BudgetNotFound  # noqa: E402


def _budget_tags(backend):
    if not hasattr(backend, "_resource_tags"):
        backend._resource_tags = {}
    return backend._resource_tags


def _budget_of(backend, arn):
    # arn:aws:budgets::<account>:budget/<name>
    account, name = arn.split(":")[4], arn.split("budget/", 1)[-1]
    if name not in backend.budgets.get(account, {}):
        raise BudgetNotFound(f"Unable to get budget: {name} - the budget doesn't exist.")
    return arn


_create_budget_response = budgets_responses.BudgetsResponse.create_budget
_delete_budget = budgets_models.BudgetsBackend.delete_budget


def create_budget_response(self):
    result = _create_budget_response(self)
    account, name = self._get_param("AccountId"), self._get_param("Budget")["BudgetName"]
    tags = {t["Key"]: t["Value"] for t in self._get_param("ResourceTags", [])}
    _budget_tags(self.backend)[f"arn:aws:budgets::{account}:budget/{name}"] = tags
    return result


def delete_budget(self, account_id, budget_name):
    _delete_budget(self, account_id=account_id, budget_name=budget_name)
    _budget_tags(self).pop(f"arn:aws:budgets::{account_id}:budget/{budget_name}", None)


def budget_tag_resource(self):
    arn = _budget_of(self.backend, self._get_param("ResourceARN"))
    tags = _budget_tags(self.backend).setdefault(arn, {})
    tags.update({t["Key"]: t["Value"] for t in self._get_param("ResourceTags", [])})
    return json.dumps({})


def budget_untag_resource(self):
    arn = _budget_of(self.backend, self._get_param("ResourceARN"))
    tags = _budget_tags(self.backend).setdefault(arn, {})
    for k in self._get_param("ResourceTagKeys", []):
        tags.pop(k, None)
    return json.dumps({})


def budget_list_tags_for_resource(self):
    arn = _budget_of(self.backend, self._get_param("ResourceARN"))
    tags = _budget_tags(self.backend).get(arn, {})
    return json.dumps({"ResourceTags": [{"Key": k, "Value": v} for k, v in tags.items()]})


budgets_responses.BudgetsResponse.create_budget = create_budget_response
budgets_models.BudgetsBackend.delete_budget = delete_budget
budgets_responses.BudgetsResponse.tag_resource = budget_tag_resource
budgets_responses.BudgetsResponse.untag_resource = budget_untag_resource
budgets_responses.BudgetsResponse.list_tags_for_resource = budget_list_tags_for_resource

# ---------------------------------------------------------------- DLM

import re as _re  # noqa: E402
import time as _time  # noqa: E402
import uuid as _uuid  # noqa: E402
from urllib.parse import parse_qs, unquote  # noqa: E402

from moto.moto_server import werkzeug_app  # noqa: E402

_DLM: dict = {}  # (region) -> {policy id: policy}
_DLM_TAGS: dict = {}  # arn -> {key: value}


def _dlm_scope(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _re.search(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/", auth)
    return (m.group(2), m.group(1)) if m else (None, None)


def _dlm_response(start_response, status, body=None, error=None):
    headers = [("Content-Type", "application/json")]
    if error:
        headers.append(("x-amzn-ErrorType", error))
    payload = json.dumps(body if body is not None else {}).encode()
    start_response(f"{status} {'OK' if status < 300 else 'Error'}", headers + [("Content-Length", str(len(payload)))])
    return [payload]


def _dlm_app(environ, start_response, region):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
    policies = _DLM.setdefault(region, {})
    account = "123456789012"
    not_found = lambda what: _dlm_response(start_response, 404, {"message": f"{what} not found", "Code": "ResourceNotFoundException"}, "ResourceNotFoundException")  # noqa: E731
    if path.startswith("/tags/"):
        arn = unquote(path[len("/tags/") :])
        pid = arn.rsplit("/", 1)[-1]
        if pid not in policies:
            return not_found(arn)
        tags = _DLM_TAGS.setdefault(arn, {})
        if method == "GET":
            return _dlm_response(start_response, 200, {"Tags": tags})
        if method == "POST":
            tags.update(body.get("Tags", {}))
            return _dlm_response(start_response, 200, {})
        if method == "DELETE":
            for k in query.get("tagKeys", []):
                tags.pop(k, None)
            return _dlm_response(start_response, 200, {})
    if path.rstrip("/") == "/policies":
        if method == "POST":
            pid = "policy-" + _uuid.uuid4().hex[:17]
            # DLM's timestamps are ISO 8601 with an offset, not epoch seconds.
            now = _time.strftime("%Y-%m-%dT%H:%M:%S.000Z", _time.gmtime())
            arn = f"arn:aws:dlm:{region}:{account}:policy/{pid}"
            policies[pid] = {
                "PolicyId": pid,
                "PolicyArn": arn,
                "Description": body.get("Description", ""),
                "State": body.get("State", "ENABLED"),
                "StatusMessage": "ENABLED",
                "ExecutionRoleArn": body.get("ExecutionRoleArn", ""),
                "PolicyDetails": body.get("PolicyDetails", {}),
                "DateCreated": now,
                "DateModified": now,
                "PolicyType": body.get("PolicyDetails", {}).get("PolicyType", "EBS_SNAPSHOT_MANAGEMENT"),
            }
            _DLM_TAGS[arn] = dict(body.get("Tags", {}))
            return _dlm_response(start_response, 200, {"PolicyId": pid})
        if method == "GET":
            wanted = [t.split("=", 1) for t in query.get("targetTags", [])]
            out = []
            for p in policies.values():
                targets = {t["Key"]: t["Value"] for t in p["PolicyDetails"].get("TargetTags", [])}
                if all(targets.get(k) == v for k, v in wanted):
                    out.append({"PolicyId": p["PolicyId"], "Description": p["Description"], "State": p["State"], "Tags": _DLM_TAGS.get(p["PolicyArn"], {}), "PolicyType": p["PolicyType"]})
            return _dlm_response(start_response, 200, {"Policies": out})
    m = _re.fullmatch(r"/policies/([^/]+)/?", path)
    if m:
        pid = m.group(1)
        if pid not in policies:
            return not_found(f"Policy {pid}")
        p = policies[pid]
        if method == "GET":
            return _dlm_response(start_response, 200, {"Policy": {**p, "Tags": _DLM_TAGS.get(p["PolicyArn"], {})}})
        if method == "PATCH":
            for k in ("ExecutionRoleArn", "State", "Description", "PolicyDetails"):
                if k in body:
                    p[k] = body[k]
            p["DateModified"] = _time.strftime("%Y-%m-%dT%H:%M:%S.000Z", _time.gmtime())
            return _dlm_response(start_response, 200, {})
        if method == "DELETE":
            policies.pop(pid)
            _DLM_TAGS.pop(p["PolicyArn"], None)
            return _dlm_response(start_response, 200, {})
    return _dlm_response(start_response, 400, {"message": f"unsupported DLM call {method} {path}"}, "InvalidRequestException")



# ---------------------------------------------------------------- Aurora Global Database

from moto.rds import responses as rds_responses  # noqa: E402
from moto.rds.exceptions import RDSClientError  # noqa: E402


def _rds_backends(account):
    return rds_models.rds_backends[account]


def _global_cluster(account, gid):
    g = _rds_backends(account)["us-east-1"].global_clusters.get(gid.rsplit(":", 1)[-1].lower())
    if g is None:
        raise RDSClientError("GlobalClusterNotFoundFault", f"Global cluster {gid} not found.")
    return g


def _cluster_by_arn(account, arn):
    if not arn.startswith("arn:"):
        return None
    region, cid = arn.split(":")[3], arn.rsplit(":", 1)[-1]
    return _rds_backends(account)[region].clusters.get(cid)


def remove_from_global_cluster(self, global_cluster_identifier, db_cluster_identifier):
    g = _global_cluster(self.account_id, global_cluster_identifier)
    cluster = _cluster_by_arn(self.account_id, db_cluster_identifier) or self.clusters.get(db_cluster_identifier)
    if cluster in g.members:
        g.members.remove(cluster)
        cluster.global_cluster_identifier = None
        cluster.is_writer = False
    return g


rds_models.RDSBackend.remove_from_global_cluster = remove_from_global_cluster

_delete_db_cluster = rds_models.RDSBackend.delete_db_cluster


def delete_db_cluster(self, cluster_identifier, snapshot_name=None):
    # AWS refuses to delete a member that is still in its global cluster.
    cluster = self.clusters.get(cluster_identifier)
    if cluster is not None and cluster.global_cluster_identifier:
        g = _rds_backends(self.account_id)["us-east-1"].global_clusters.get(cluster.global_cluster_identifier)
        if g is not None and cluster in g.members:
            raise RDSClientError("InvalidDBClusterStateFault", f"Cluster {cluster_identifier} is a member of global cluster {g.global_cluster_identifier}; remove it first.")
    deleted = _delete_db_cluster(self, cluster_identifier, snapshot_name)
    # AWS removes a cluster's automated backups with it (DeleteAutomatedBackups
    # defaults to true); moto keeps them, and a cluster made again with the
    # name in the same minute collides with its predecessor's `rds:` snapshot.
    for sid, snap in list(self.cluster_snapshots.items()):
        if snap.snapshot_type == "automated" and snap.cluster.db_cluster_identifier == cluster_identifier:
            del self.cluster_snapshots[sid]
    return deleted


rds_models.RDSBackend.delete_db_cluster = delete_db_cluster


def _switch(self, allow_data_loss):
    g = _global_cluster(self.current_account, self.params["GlobalClusterIdentifier"])
    target = _cluster_by_arn(self.current_account, self.params["TargetDbClusterIdentifier"])
    if target is None or target not in g.members:
        raise RDSClientError("InvalidParameterValue", f"{self.params['TargetDbClusterIdentifier']} is not a member of {g.global_cluster_identifier}.")
    for m in g.members:
        m.is_writer = m is target
    return rds_responses.ActionResult({"GlobalCluster": g})


rds_responses.RDSResponse.switchover_global_cluster = lambda self: _switch(self, False)
rds_responses.RDSResponse.failover_global_cluster = lambda self: _switch(self, True)


def modify_global_cluster(self):
    g = _global_cluster(self.current_account, self.params["GlobalClusterIdentifier"])
    if self.params.get("DeletionProtection") is not None:
        g.deletion_protection = self.params["DeletionProtection"] in (True, "true")
    return rds_responses.ActionResult({"GlobalCluster": g})


rds_responses.RDSResponse.modify_global_cluster = modify_global_cluster

_create_global_cluster = rds_responses.RDSResponse.create_global_cluster


def create_global_cluster(self):
    result = _create_global_cluster(self)
    tags = self.params.get("Tags") or []
    if tags:
        _global_cluster(self.current_account, self.params["GlobalClusterIdentifier"]).add_tags([{"Key": t["Key"], "Value": t.get("Value", "")} for t in tags])
    return result


rds_responses.RDSResponse.create_global_cluster = create_global_cluster

_get_resource_for_tagging = rds_models.RDSBackend._get_resource_for_tagging


def get_resource_for_tagging(self, arn):
    if ":global-cluster:" in arn:
        return _global_cluster(self.account_id, arn)
    return _get_resource_for_tagging(self, arn)


rds_models.RDSBackend._get_resource_for_tagging = get_resource_for_tagging

# ---------------------------------------------------------------- EKS

from moto.eks import models as eks_models  # noqa: E402
from moto.eks import responses as eks_responses  # noqa: E402

_eks_cluster_init = eks_models.Cluster.__init__


def eks_cluster_init(self, *args, **kwargs):
    _eks_cluster_init(self, *args, **kwargs)
    region = self.arn.split(":")[3]
    self.identity = {"oidc": {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{_uuid.uuid4().hex[:32].upper()}"}}
    # AWS's CA data is the base64 of a PEM certificate; moto's is random text.
    import base64

    body = base64.b64encode(_os.urandom(600)).decode()
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i : i + 64] for i in range(0, len(body), 64)) + "\n-----END CERTIFICATE-----\n"
    self.certificate_authority = {"data": base64.b64encode(pem.encode()).decode()}
    _eks_cluster_security_group(self)


eks_models.Cluster.__init__ = eks_cluster_init


def _eks_cluster_security_group(cluster):
    # EKS makes a security group for each cluster, in the VPC of its subnets
    # (every node and pod carries it), reports it as
    # `resourcesVpcConfig.clusterSecurityGroupId`, and deletes it with the
    # cluster. moto does neither.
    from moto.ec2.models import ec2_backends

    _, _, _, region, account, _ = cluster.arn.split(":", 5)
    ec2 = ec2_backends[account][region]
    config = dict(cluster.resources_vpc_config or {})
    subnets = config.get("subnetIds") or []
    try:
        vpc_id = ec2.get_subnet(subnets[0]).vpc_id
    except Exception:  # no subnet given, or one moto does not know
        return
    group = ec2.create_security_group(
        name=f"eks-cluster-sg-{cluster.name}-{_uuid.uuid4().hex[:8]}",
        description="EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.",
        vpc_id=vpc_id,
        tags={"aws:eks:cluster-name": cluster.name, f"kubernetes.io/cluster/{cluster.name}": "owned"},
    )
    config["clusterSecurityGroupId"] = group.id
    config["vpcId"] = vpc_id
    cluster.resources_vpc_config = config


_eks_delete_cluster = eks_models.EKSBackend.delete_cluster


def eks_delete_cluster(self, name):
    cluster = _eks_delete_cluster(self, name)
    group = (cluster.resources_vpc_config or {}).get("clusterSecurityGroupId")
    if group:
        from moto.ec2.models import ec2_backends

        ec2_backends[self.account_id][self.region_name].delete_security_group(group_id=group)
    return cluster


eks_models.EKSBackend.delete_cluster = eks_delete_cluster

_EKS_UPDATES: dict = {}  # update id -> update


def _eks_update(kind, params, cluster=None):
    u = {"id": str(_uuid.uuid4()), "status": "Successful", "type": kind, "params": params, "createdAt": _time.time(), "errors": [], "cluster": cluster}
    _EKS_UPDATES[u["id"]] = u
    return u


def _eks_shown(u):
    return {k: v for k, v in u.items() if k not in ("params", "cluster")}


def _eks_node_group(backend, arn):
    for c in backend.clusters.values():
        for g in c.nodegroups.values():
            if g.arn == arn:
                return g
    return None


for _name in ("tag_resource", "untag_resource", "list_tags_for_resource"):
    _orig = getattr(eks_models.EKSBackend, _name)

    def _with_node_groups(self, resource_arn, *args, _orig=_orig, _name=_name):
        g = _eks_node_group(self, resource_arn)
        if g is None:
            return _orig(self, resource_arn, *args)
        g.tags = dict(g.tags or {})
        if _name == "tag_resource":
            g.tags.update(args[0])
        elif _name == "untag_resource":
            keys = args[0] if isinstance(args[0], list) else [args[0]]
            for k in keys:
                g.tags.pop(k, None)
        else:
            return dict(g.tags)

    setattr(eks_models.EKSBackend, _name, _with_node_groups)


def _eks_app(environ, start_response, region, account="123456789012"):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
    backend = eks_models.eks_backends[account][region]
    m = _re.fullmatch(r"/clusters/([^/]+)/(update-config|updates)(?:/([^/]+))?", path)
    name = unquote(m.group(1))
    cluster = backend.clusters.get(name)
    if cluster is None:
        return _dlm_response(start_response, 404, {"message": f"No cluster found for name: {name}."}, "ResourceNotFoundException")
    if m.group(2) == "update-config" and method == "POST":
        if "resourcesVpcConfig" in body:
            cluster.resources_vpc_config.update({k: v for k, v in body["resourcesVpcConfig"].items() if k.startswith("endpoint")})
        if "logging" in body:
            cluster.logging = body["logging"]
        u = _eks_update("EndpointAccessUpdate" if "resourcesVpcConfig" in body else "LoggingUpdate", body, name)
        return _dlm_response(start_response, 200, {"update": _eks_shown(u)})
    if m.group(3) is None and method == "POST":
        cluster.version = body["version"]
        u = _eks_update("VersionUpdate", body, name)
        return _dlm_response(start_response, 200, {"update": _eks_shown(u)})
    if m.group(2) == "updates" and m.group(3) is None and method == "GET":
        # ListUpdates (moto lacks it): the cluster's updates, newest last.
        ids = [i for i, u in _EKS_UPDATES.items() if u["cluster"] == name]
        return _dlm_response(start_response, 200, {"updateIds": ids})
    if m.group(3) and method == "GET":
        u = _EKS_UPDATES.get(m.group(3))
        if u is None:
            return _dlm_response(start_response, 404, {"message": f"No update {m.group(3)}."}, "ResourceNotFoundException")
        return _dlm_response(start_response, 200, {"update": _eks_shown(u)})
    return _dlm_response(start_response, 400, {"message": f"unsupported EKS call {method} {path}"}, "InvalidRequestException")



# --- Containers and shells: a played process (see the module's doc). ---
import shlex as _shlex  # noqa: E402
import time as _time  # noqa: E402


def _play_shell(script):
    """What a tiny shell prints and exits with: `echo`, `exit N`, `true`,
    `false`; any other command succeeds silently."""
    out, code = [], 0
    for line in script.replace("&&", ";").replace("\n", ";").split(";"):
        try:
            words = _shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            continue
        if words[0] == "echo":
            out.append(" ".join(words[1:]))
            code = 0
        elif words[0] == "exit":
            return out, int(words[1]) if len(words) > 1 else code
        elif words[0] == "false":
            code = 1
        else:
            code = 0
    return out, code


def _script_of(command):
    """The script a container command runs: `sh -c <script>` or the words."""
    if len(command) >= 3 and command[0] in ("sh", "bash", "/bin/sh", "/bin/bash") and command[1] == "-c":
        return command[2]
    return " ".join(_shlex.quote(w) for w in command)


_run_task = ecs_models.EC2ContainerServiceBackend.run_task
_requirements = ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements


def _fargate_requirements(task_definition):
    """A Fargate container needs no memory of its own (the task's is
    enough); moto's RunTask adds up the containers' and fails on None."""
    saved = task_definition.container_definitions
    task_definition.container_definitions = [
        d if any(k in d for k in ("memory", "memoryReservation", "Memory", "MemoryReservation")) else dict(d, memory=0)
        for d in saved
    ]
    try:
        return _requirements(task_definition)
    finally:
        task_definition.container_definitions = saved


ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_fargate_requirements)


def run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs):
    tasks = _run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs)
    from moto.logs.models import logs_backends

    definition = self.describe_task_definition(task_definition_str)
    for task in tasks:
        container = definition.container_definitions[0]
        command = container.get("command") or []
        for o in (overrides or {}).get("containerOverrides", []):
            if o.get("name") == container.get("name") and o.get("command"):
                command = o["command"]
        lines, code = _play_shell(_script_of(command)) if command else ([], 0)
        task.containers[0].exitCode = code
        task.stopped_reason = "Essential container in task exited"
        options = (container.get("logConfiguration") or {}).get("options") or {}
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if group and prefix:
            logs = logs_backends[self.account_id][self.region_name]
            stream = f"{prefix}/{container.get('name')}/{task.task_arn.split('/')[-1]}"
            if group in logs.groups:
                logs.create_log_stream(group, stream)
                now = int(_time.time() * 1000)
                if lines:
                    logs.put_log_events(group, stream, [{"timestamp": now + i, "message": m} for i, m in enumerate(lines)])
    return tasks


ecs_models.EC2ContainerServiceBackend.run_task = run_task

# moto's awsvpc task reads the interface's private DNS name, which moto
# sets only in a VPC with DNS hostnames (AWS leaves it empty otherwise).
from moto.ec2.models import elastic_network_interfaces as _enis  # noqa: E402

_enis.NetworkInterface.private_dns_name = None

from moto.ssm import models as ssm_models  # noqa: E402

_invocation_response = ssm_models.Command.invocation_response


def invocation_response(self, instance_id, plugin_name):
    r = _invocation_response(self, instance_id, plugin_name)
    commands = (self.parameters or {}).get("commands") or []
    lines, code = _play_shell("\n".join(commands))
    r["ResponseCode"] = code
    r["Status"] = r["StatusDetails"] = "Success" if code == 0 else "Failed"
    r["StandardOutputContent"] = "".join(f"{m}\n" for m in lines)
    return r


ssm_models.Command.invocation_response = invocation_response

_dispatch = werkzeug_app.DomainDispatcherApplication.__call__
_RESETS = [0]  # how many times the state was reset, for the harness to compare


def dispatch(self, environ, start_response):
    query = environ.get("QUERY_STRING", "")
    if "X-Amz-Credential=" in query and not environ.get("HTTP_AUTHORIZATION"):
        # A presigned request (an EKS token's STS URL): AWS knows the
        # service by its host; moto only by a signature header, so the
        # query's credential scope is given to it as one.
        from urllib.parse import parse_qs

        q = parse_qs(query)
        if q.get("X-Amz-Credential", [""])[0].split("/")[3:4] == ["sts"]:
            environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential={q['X-Amz-Credential'][0]}, SignedHeaders={q.get('X-Amz-SignedHeaders', ['host'])[0]}, Signature={q.get('X-Amz-Signature', [''])[0]}"
    service, region = _dlm_scope(environ)
    if service == "dlm":
        return _dlm_app(environ, start_response, region)
    if service == "eks" and _re.fullmatch(r"/clusters/[^/]+/(update-config|updates(/[^/]+)?)", environ.get("PATH_INFO", "")):
        return _eks_app(environ, start_response, region)
    if environ.get("PATH_INFO", "") == "/awsstack-emulator-id":
        # Which launcher answers on this port (see harness.Emulator.start).
        return _dlm_response(start_response, 200, {"id": _os.environ.get("AWSSTACK_EMULATOR_ID", ""), "resets": _RESETS[0]})
    if environ.get("PATH_INFO", "").startswith("/moto-api/reset"):
        _RESETS[0] += 1
        _DLM.clear()
        _DLM_TAGS.clear()
        _EKS_UPDATES.clear()
    return _dispatch(self, environ, start_response)


werkzeug_app.DomainDispatcherApplication.__call__ = dispatch

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
