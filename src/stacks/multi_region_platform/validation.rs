//! The platform's cross-field rules (each attribute's own rules are on
//! its schema): names that fit, two distinct regions and a writer among
//! them, networks that do not overlap, node group sizes, counts, bucket
//! names, routing and alarm thresholds.

use super::*;

pub(super) fn validate_config(c: &Config) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let (Some(p), Some(e)) = (c.project_name.as_str(), c.env.as_str()) {
        // `<project>-<env>-aurora-secondary-15` must fit RDS's 63 characters,
        // `<project>-<env>-lb-controller-secondary` IAM's 64.
        if p.len() + e.len() > 36 {
            d.error_at(
                Path::attr("env"),
                "Name too long",
                format!("project_name and env together are {} characters; keep them within 36 so that every AWS name fits", p.len() + e.len()),
            );
        }
    }
    validate_regions(c, &mut d);
    validate_networks(c, &mut d);
    validate_node_groups(c, &mut d);
    // Aurora.
    for side in SIDES {
        let attr = format!("db_{side}_instance_count");
        if let Some(&n) = c.side(side).db_instance_count.known() {
            if n.fract() != 0.0 || !(1.0..=15.0).contains(&n) {
                let why = if side == "secondary" && n == 0.0 {
                    ": a secondary cluster without an instance cannot be switched over to"
                } else {
                    ""
                };
                d.error_at(
                    Path::attr(&attr),
                    "Invalid instance count",
                    format!("{attr} must be a whole number between 1 and 15, got {n}{why}"),
                );
            }
        }
    }
    if let Some(x) = c.artifact_bucket_suffix.as_str() {
        if x.is_empty()
            || x.len() > 20
            || !x
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            || x.starts_with('-')
            || x.ends_with('-')
        {
            d.error_at(
                Path::attr("artifact_bucket_suffix"),
                "Invalid bucket suffix",
                format!("{x:?}: 1-20 lowercase letters, digits or inner hyphens"),
            );
        } else if let (Some(p), Some(e)) = (
            c.project_name
                .as_str()
                .filter(|p| v::project_name(p).is_ok()),
            c.env.as_str().filter(|e| v::project_name(e).is_ok()),
        ) {
            for side in SIDES {
                let name = format!("{p}-{e}-{x}-{}", region_of(c, side));
                if let Err(err) = v::bucket_name(&name) {
                    d.error_at(
                        Path::attr("artifact_bucket_suffix"),
                        "Invalid bucket name",
                        format!("{name}: {err}"),
                    );
                }
            }
        }
    }
    // Routing.
    let routing = &c.routing;
    if routing
        .hosted_zone_id
        .as_str()
        .is_some_and(|z| v::hosted_zone_id(z).is_ok())
        && routing.record_name.is_unset()
    {
        d.error_at(Path::attr("record_name"), "Missing record name", "hosted_zone_id is set: record_name names the failover records (e.g. \"api.luneo.app\")");
    }
    if routing.hosted_zone_id.as_str().is_some()
        && !routing_ready(c)
        && !c.primary.ingress_hostname.is_unknown()
        && !c.secondary.ingress_hostname.is_unknown()
    {
        d.warning_at(
            Path::attr("hosted_zone_id"),
            "Failover records not created yet",
            "the Route53 failover records and their health checks are created once both primary_ingress_hostname and secondary_ingress_hostname are set (after the Kubernetes ingress is deployed); setting them later adds them in place",
        );
    }
    // Observability.
    let a = &c.alarms;
    for (attr, n) in [
        ("replication_lag_alarm_ms", &a.replication_lag_ms),
        ("rpo_lag_alarm_ms", &a.rpo_lag_ms),
        (
            "replication_backlog_alarm_bytes",
            &a.replication_backlog_bytes,
        ),
    ] {
        if let Some(&n) = n.known() {
            if n <= 0.0 || n.fract() != 0.0 {
                d.error_at(
                    Path::attr(attr),
                    "Value out of range",
                    format!("{attr} must be a positive whole number, got {n}"),
                );
            }
        }
    }
    d
}

/// Two regions where EKS and Aurora Global Database run, and a writer
/// that is one of them.
fn validate_regions(c: &Config, d: &mut Diagnostics) {
    let mut regions = vec![];
    for side in SIDES {
        let attr = format!("{side}_region");
        if let Some(r) = c.side(side).region.as_str() {
            if !REGIONS.contains(&r) {
                d.error_at(Path::attr(&attr), "Unknown region", format!("{r:?} is not an AWS region with EKS and Aurora Global Database (e.g. eu-west-1, us-east-1)"));
            } else {
                regions.push(r.to_string());
            }
        }
    }
    if regions.len() == 2 && regions[0] == regions[1] {
        d.error_at(
            Path::attr("secondary_region"),
            "Same region twice",
            format!("primary_region and secondary_region are both {}: the secondary must be another region", regions[0]),
        );
    }
    if let Some(w) = c.writer_region.as_str() {
        let known = !c.primary.region.is_unknown() && !c.secondary.region.is_unknown();
        if known && w != region_of(c, "primary") && w != region_of(c, "secondary") {
            d.error_at(
                Path::attr("writer_region"),
                "Invalid writer region",
                format!(
                    "{w:?} is neither the primary region ({}) nor the secondary ({})",
                    region_of(c, "primary"),
                    region_of(c, "secondary")
                ),
            );
        }
    }
}

/// Each region's VPC (not overlapping the other's) and its three zones.
fn validate_networks(c: &Config, d: &mut Diagnostics) {
    let mut nets: Vec<(String, ipnet::Ipv4Net)> = vec![];
    for side in SIDES {
        let attr = format!("{side}_vpc_cidr");
        if let Some(x) = c.side(side).vpc_cidr.as_str() {
            match v::vpc_cidr(x) {
                Err(e) => d.error_at(Path::attr(&attr), "Invalid VPC CIDR block", e),
                Ok(n) if n.prefix_len() < 16 || n.prefix_len() > 20 => d.error_at(
                    Path::attr(&attr),
                    "Invalid VPC CIDR block",
                    format!("{x}: the VPC must be between /16 and /20 (AWS allows no larger; smaller leaves too few addresses for pods)"),
                ),
                Ok(n) => nets.push((attr, n)),
            }
        }
    }
    if nets.len() == 2
        && (nets[0].1.contains(&nets[1].1.network()) || nets[1].1.contains(&nets[0].1.network()))
    {
        d.error_at(
            Path::attr(&nets[1].0),
            "Overlapping VPCs",
            format!(
                "{} overlaps {}: the two regions' networks must not overlap (peering, VPN)",
                nets[1].1, nets[0].1
            ),
        );
    }
    for side in SIDES {
        let attr = format!("{side}_availability_zones");
        let Some(zs) = c.side(side).availability_zones.known() else {
            continue;
        };
        if zs.len() != 3 {
            d.error_at(
                Path::attr(&attr),
                "Three zones",
                format!("{attr} needs exactly three zones, got {}", zs.len()),
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, z) in zs.iter().enumerate() {
            let Some(z) = z.as_str() else { continue };
            let p = Path::attr(&attr).then_index(i);
            match v::availability_zone(z) {
                Err(e) => d.error_at(p, "Invalid availability zone", e),
                Ok(r) if !c.side(side).region.is_unknown() && r != region_of(c, side) => d
                    .error_at(
                        p,
                        "Invalid availability zone",
                        format!(
                            "{z} is a zone of {r}, not of the {side} region {}",
                            region_of(c, side)
                        ),
                    ),
                Ok(_) if !seen.insert(z) => d.error_at(
                    p,
                    "Duplicate availability zone",
                    format!("{z} is listed twice"),
                ),
                Ok(_) => {}
            }
        }
    }
}

/// The Kubernetes version, and node groups with distinct names, instance
/// types and sizes that fit together.
fn validate_node_groups(c: &Config, d: &mut Diagnostics) {
    if let Some(x) = c.kubernetes.version.as_str() {
        match kubernetes::check(x, chrono::Utc::now().date_naive()) {
            Err(e) => d.error_at(
                Path::attr("kubernetes_version"),
                "Invalid Kubernetes version",
                e,
            ),
            Ok(Some(w)) => d.warning_at(
                Path::attr("kubernetes_version"),
                "Kubernetes version out of standard support",
                w,
            ),
            Ok(None) => {}
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, b) in c
        .kubernetes
        .node_groups
        .known()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = |a: &str| Path::attr("node_group").then_index(i).then_attr(a);
        // A valid name (the schema's rule reports the others) used twice.
        if let Some(n) = b.name.as_str().filter(|n| v::node_group_name(n).is_ok()) {
            if !names.insert(n.to_string()) {
                d.error_at(
                    at("name"),
                    "Duplicate node group",
                    format!("two node groups are named {n:?}"),
                );
            }
        }
        if b.instance_types.known().is_some_and(Vec::is_empty) {
            d.error_at(
                at("instance_types"),
                "No instance type",
                "a node group needs at least one instance type",
            );
        }
        let num = |d: &mut Diagnostics, a: &str, n: &Setting<f64>| -> Option<i64> {
            let n = *n.known()?;
            if n.fract() != 0.0 || !(0.0..=450.0).contains(&n) {
                d.error_at(
                    at(a),
                    "Invalid size",
                    format!("{a} must be a whole number between 0 and 450, got {n}"),
                );
                return None;
            }
            Some(n as i64)
        };
        let (min, max, desired, standby) = (
            num(d, "min_size", &b.min_size),
            num(d, "max_size", &b.max_size),
            num(d, "desired_size", &b.desired_size),
            num(d, "secondary_desired_size", &b.secondary_desired_size),
        );
        if let (Some(min), Some(max)) = (min, max) {
            if max < 1 || min > max {
                d.error_at(
                    at("max_size"),
                    "Invalid sizes",
                    format!("min_size ({min}) ≤ max_size ({max}) and max_size ≥ 1 are required"),
                );
            }
            // Only against a valid range: one error, not three, for min > max.
            for (a, n) in [
                ("desired_size", desired),
                ("secondary_desired_size", standby),
            ]
            .into_iter()
            .filter(|_| max >= 1 && min <= max)
            {
                if let Some(n) = n {
                    if n < min || n > max {
                        d.error_at(
                            at(a),
                            "Invalid sizes",
                            format!(
                                "{a} ({n}) must be between min_size ({min}) and max_size ({max})"
                            ),
                        );
                    }
                }
            }
        }
    }
}
