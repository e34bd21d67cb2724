"""Stacks placed in an existing network (a VPC and subnets the team already
has): the stack creates no VPC, subnet, internet gateway, NAT gateway or
route table, and leaves the network exactly as it found it through apply,
update and destroy. Bad networks are refused at plan with read-only calls
only; moving a live stack between networks is refused at plan."""

import json
import re

import pytest

from fault_proxy import MUTATING, FaultProxy
from harness import REGION, Terraform, container_leftovers, leftovers, moto_ami, network_snapshot, write_config

NETWORK_TAGS = [{"Key": "team", "Value": "network"}]


def make_network(emu, cidr="10.20.0.0/16", zones=("a", "b"), region=REGION) -> dict:
    """What a VPC module makes: public subnets routed to an internet
    gateway, private ones through a NAT gateway."""
    ec2 = emu.client("ec2", region)
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": NETWORK_TAGS}])["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    base = cidr.split(".")
    public, private = [], []
    for i, z in enumerate(zones):
        for kind, lst, n in (("public", public, i), ("private", private, 10 + i)):
            sid = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base[0]}.{base[1]}.{n}.0/24", AvailabilityZone=region + z, TagSpecifications=[{"ResourceType": "subnet", "Tags": NETWORK_TAGS}])["Subnet"]["SubnetId"]
            lst.append(sid)
    rt_public = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=public[0], AllocationId=eip)["NatGateway"]["NatGatewayId"]
    rt_private = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt_private, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    for s in public:
        ec2.associate_route_table(RouteTableId=rt_public, SubnetId=s)
    for s in private:
        ec2.associate_route_table(RouteTableId=rt_private, SubnetId=s)
    return {"vpc": vpc, "public": public, "private": private, "igw": igw, "nat": nat, "route_tables": [rt_public, rt_private]}


def snapshot(emu, net: dict) -> dict:
    return network_snapshot(emu, net["vpc"], net["public"] + net["private"], net["route_tables"])


def service_config(net: dict, desired_count: int = 1, project: str = "netco") -> str:
    return f"""resource "awsstack_container_service" "app" {{
  project_name       = "{project}"
  vpc_id             = "{net['vpc']}"
  public_subnet_ids  = {json.dumps(net['public'])}
  private_subnet_ids = {json.dumps(net['private'])}
  desired_count      = {desired_count}
  app_secrets        = ["api-key"]
}}

output "ids" {{
  value = {{
    vpc     = awsstack_container_service.app.vpc_id
    public  = awsstack_container_service.app.public_subnet_ids
    private = awsstack_container_service.app.private_subnet_ids
    alb     = awsstack_container_service.app.alb_arn
    res     = awsstack_container_service.app.resource_ids
  }}
}}
"""


@pytest.mark.parametrize("version", ["1.0", "1.15"])
def test_container_service_in_an_existing_network(version, fresh_emulator, workdir):
    emu = fresh_emulator
    net = make_network(emu)
    before = snapshot(emu, net)
    write_config(workdir, service_config(net))
    tf = Terraform(version, workdir, emu.endpoint)
    tf.init()
    tf.apply()
    ids = tf.outputs()["ids"]
    assert (ids["vpc"], ids["public"], ids["private"]) == (net["vpc"], net["public"], net["private"]), "the outputs are the network given"
    kinds = set(ids["res"])
    assert not any(k.startswith(("igw", "nat", "eip.nat", "rtb")) for k in kinds), kinds
    assert ids["res"]["vpc"] == net["vpc"] and ids["res"][f"subnet.private.{net['private'][0]}"] == net["private"][0]
    ec2 = emu.client("ec2")
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:awsstack:stack-id", "Values": ["netco-dev"]}])["Vpcs"] == []
    assert ec2.describe_subnets(Filters=[{"Name": "tag:awsstack:stack-id", "Values": ["netco-dev"]}])["Subnets"] == []
    # Placed where asked: the load balancer in the public subnets, the
    # tasks, database and cache in the private ones, the groups in the VPC.
    lb = emu.client("elbv2").describe_load_balancers(LoadBalancerArns=[ids["alb"]])["LoadBalancers"][0]
    assert lb["VpcId"] == net["vpc"] and sorted(a["SubnetId"] for a in lb["AvailabilityZones"]) == sorted(net["public"])
    svc = emu.client("ecs").describe_services(cluster="netco-dev-cluster", services=["netco-dev-app"])["services"][0]
    assert sorted(svc["networkConfiguration"]["awsvpcConfiguration"]["subnets"]) == sorted(net["private"])
    group = emu.client("rds").describe_db_subnet_groups(DBSubnetGroupName="netco-dev-db")["DBSubnetGroups"][0]
    assert group["VpcId"] == net["vpc"] and sorted(s["SubnetIdentifier"] for s in group["Subnets"]) == sorted(net["private"])
    assert snapshot(emu, net) == before

    p = tf.plan()
    assert p.returncode == 0, p.stdout + p.stderr
    write_config(workdir, service_config(net, desired_count=2))
    p = tf.plan()
    assert p.returncode == 2 and "update service (ecs_service): desired_count" in p.stdout, p.stdout
    tf.apply()
    assert tf.plan().returncode == 0
    assert snapshot(emu, net) == before

    tf.destroy()
    assert container_leftovers(emu, "netco-dev") == []
    assert snapshot(emu, net) == before, "destroy leaves the network as it was"


def host_config(vpc: str | None, subnet: str | None, ami: str) -> str:
    network = f'  vpc_id    = "{vpc}"\n  subnet_id = "{subnet}"\n' if vpc else ""
    return f"""resource "awsstack_docker_host" "box" {{
  project_name   = "netbox"
  ami_id         = "{ami}"
  enable_budgets = false
  force_destroy  = true
  skip_final_snapshot = true
{network}}}
"""


def test_bad_networks_are_refused_at_plan_with_reads_only(fresh_emulator, workdir):
    emu = fresh_emulator
    net = make_network(emu)
    other = make_network(emu, cidr="10.30.0.0/16")
    one_zone = make_network(emu, cidr="10.40.0.0/16", zones=("a",))
    proxy = FaultProxy(emu.endpoint).start()
    try:
        tf = Terraform("1.15", workdir, proxy.endpoint)
        cases = [
            ({**net, "private": [net["private"][0], other["private"][1]]}, "private_subnet_ids[1]", "Subnet of another VPC"),
            ({**net, "public": [net["public"][0], "subnet-0123456789abcdef0"]}, "public_subnet_ids[1]", "Subnet not found"),
            ({**one_zone, "public": one_zone["public"] * 1, "private": one_zone["private"]}, "public_subnet_ids", "Not enough availability zones"),
            ({**net, "vpc": "vpc-0123456789abcdef0"}, "vpc_id", "VPC not found"),
        ]
        write_config(workdir, service_config(net))
        tf.init()
        for bad, attribute, summary in cases:
            write_config(workdir, service_config(bad))
            proxy.reset_counts()
            p = tf.plan()
            assert p.returncode == 1, p.stdout + p.stderr
            assert summary in p.stderr, (summary, p.stderr)
            # On the attribute: Terraform quotes its source line under the error.
            after = p.stderr.split(summary, 1)[1]
            assert re.search(rf"^\s*\d+:\s+{re.escape(attribute.split('[')[0])}\s+=", after, re.M), p.stderr
            written = [a for a in proxy.calls if MUTATING.match(a) or a.startswith("Delete") or a in ("S3:PUT", "S3:DELETE", "S3:POST")]
            assert written == [], f"{summary}: only reads at plan, saw {written}"
        # A private subnet without a default route: a warning, not an error.
        ec2 = emu.client("ec2")
        isolated = [ec2.create_subnet(VpcId=net["vpc"], CidrBlock=f"10.20.{n}.0/24", AvailabilityZone=REGION + z)["Subnet"]["SubnetId"] for n, z in ((30, "a"), (31, "b"))]
        rt = ec2.create_route_table(VpcId=net["vpc"])["RouteTable"]["RouteTableId"]
        for s in isolated:
            ec2.associate_route_table(RouteTableId=rt, SubnetId=s)
        write_config(workdir, service_config({**net, "private": isolated}))
        p = tf.plan()
        assert p.returncode == 2 and "Subnet without a default route" in p.stderr + p.stdout, p.stdout + p.stderr
        assert emu.client("ecs").list_clusters()["clusterArns"] == []
    finally:
        proxy.stop()


def test_moving_a_live_stack_between_networks_is_refused(fresh_emulator, workdir):
    emu = fresh_emulator
    ami = moto_ami(emu)
    net = make_network(emu)
    write_config(workdir, host_config(None, None, ami))
    tf = Terraform("1.15", workdir, emu.endpoint)
    tf.init()
    tf.apply()
    own_vpc = tf.state()["values"]["root_module"]["resources"][0]["values"]["vpc_id"]
    assert own_vpc != net["vpc"]
    write_config(workdir, host_config(net["vpc"], net["public"][0], ami))
    p = tf.plan()
    assert p.returncode == 1 and "Cannot move vpc to another network" in p.stderr, p.stdout + p.stderr
    assert "vpc_id" in p.stderr
    # Nothing changed: back to the stack's own network, an empty plan.
    write_config(workdir, host_config(None, None, ami))
    assert tf.plan().returncode == 0
    tf.destroy()
    assert leftovers(emu, "netbox-dev") == []

    # And the other way: a host made in the existing network stays there.
    before = snapshot(emu, net)
    write_config(workdir, host_config(net["vpc"], net["public"][0], ami))
    tf.apply()
    vals = tf.state()["values"]["root_module"]["resources"][0]["values"]
    assert (vals["vpc_id"], vals["subnet_id"]) == (net["vpc"], net["public"][0])
    inst = emu.client("ec2").describe_instances(Filters=[{"Name": "tag:awsstack:stack-id", "Values": ["netbox-dev"]}, {"Name": "instance-state-name", "Values": ["running", "pending"]}])
    assert [i["SubnetId"] for r in inst["Reservations"] for i in r["Instances"]] == [net["public"][0]]
    assert tf.plan().returncode == 0
    write_config(workdir, host_config(None, None, ami))
    p = tf.plan()
    assert p.returncode == 1 and "Cannot move vpc to another network" in p.stderr, p.stdout + p.stderr
    write_config(workdir, host_config(net["vpc"], net["public"][0], ami))
    tf.destroy()
    assert leftovers(emu, "netbox-dev") == []
    assert snapshot(emu, net) == before


def platform_config(net: dict) -> str:
    return f"""resource "awsstack_multi_region_platform" "p" {{
  project_name  = "luneo"
  profile       = "ephemeral"
  force_destroy = true

  primary_vpc_id             = "{net['vpc']}"
  primary_public_subnet_ids  = {json.dumps(net['public'])}
  primary_private_subnet_ids = {json.dumps(net['private'])}
}}

output "v" {{
  value = {{
    vpc               = awsstack_multi_region_platform.p.primary_vpc_id
    public            = awsstack_multi_region_platform.p.primary_public_subnet_ids
    private           = awsstack_multi_region_platform.p.primary_private_subnet_ids
    secondary_private = awsstack_multi_region_platform.p.secondary_private_subnet_ids
    ids               = awsstack_multi_region_platform.p.resource_ids
  }}
}}
"""


def test_multi_region_platform_with_one_region_in_an_existing_network(fresh_emulator, workdir):
    """The primary region in the team's network, the secondary in the
    stack's own: the primary's cluster, nodes and database sit in the given
    subnets, the database admits the cluster's security group (the subnets
    are shared), and nothing of the network is created, changed or deleted
    there, through apply, a second plan and destroy."""
    from test_multi_region import P, S, STACK, platform_leftovers

    emu = fresh_emulator
    net = make_network(emu, cidr="10.50.0.0/16", region=P)
    before = snapshot(emu, net)
    ec2 = emu.client("ec2", P)
    nats_before = {n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]}
    write_config(workdir, platform_config(net))
    tf = Terraform("1.15", workdir, emu.endpoint)
    tf.init()
    tf.apply()
    v = tf.outputs()["v"]
    assert (v["vpc"], v["public"], v["private"]) == (net["vpc"], net["public"], net["private"]), "the outputs are the network given"
    assert len(v["secondary_private"]) == 3, "the secondary region keeps its own network"
    ids = v["ids"]
    assert not [k for k in ids if k.startswith("primary/") and k.split("/")[1].split(".")[0] in ("igw", "nat", "eip", "rtb", "s3")], ids
    assert {n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]} == nats_before
    assert ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["VpcEndpoints"] == []
    assert len(emu.client("ec2", S).describe_vpc_endpoints()["VpcEndpoints"]) == 1, "the own network's S3 endpoint"
    # The cluster and its nodes in the given subnets.
    eks = emu.client("eks", P)
    cluster = eks.describe_cluster(name=f"{STACK}-eks-primary")["cluster"]
    assert set(cluster["resourcesVpcConfig"]["subnetIds"]) == set(net["public"] + net["private"])
    for g in eks.list_nodegroups(clusterName=cluster["name"])["nodegroups"]:
        assert set(eks.describe_nodegroup(clusterName=cluster["name"], nodegroupName=g)["nodegroup"]["subnets"]) == set(net["private"])
    # The database: in the private subnets, reached from the cluster's
    # security group only.
    rds = emu.client("rds", P)
    member = rds.describe_db_clusters(DBClusterIdentifier=f"{STACK}-aurora-primary")["DBClusters"][0]
    group = rds.describe_db_subnet_groups(DBSubnetGroupName=member["DBSubnetGroup"])["DBSubnetGroups"][0]
    assert {x["SubnetIdentifier"] for x in group["Subnets"]} == set(net["private"])
    sg = ec2.describe_security_groups(GroupIds=[ids["primary/sg.db"]])["SecurityGroups"][0]
    assert sg["VpcId"] == net["vpc"]
    assert [(p["FromPort"], p["IpRanges"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in sg["IpPermissions"]] == [
        (5432, [], [cluster["resourcesVpcConfig"]["clusterSecurityGroupId"]])
    ]
    assert snapshot(emu, net) == before, "the network is as the team left it"
    assert tf.plan().returncode == 0, "a second plan is empty"
    tf.destroy()
    assert snapshot(emu, net) == before
    assert {n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"} == nats_before
    assert platform_leftovers(emu) == []
