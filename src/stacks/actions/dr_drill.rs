//! `awsstack_dr_drill`: Luneo's semestrial "Aurora promotion and back", as
//! an action on a multi-region platform. It checks first that every member
//! of the global database is available and that the secondary's
//! replication lag is within the bound (refusing to start otherwise),
//! switches the writer over to the other region (planned: no data loss),
//! and back unless `return = false`, and reports what it measured: the
//! replication lag before, the time without a writer in each direction and
//! the failover health checks' observations.
//!
//! The action keeps no state of its own: wherever it ends or is
//! interrupted, the writer is where AWS says, and the platform's next
//! refresh reads it back (`writer_region`), so a one-way drill shows in the
//! next plan as the change of `writer_region` that it is.

use super::*;
use crate::components::rds::{arn_region, describe_global, writer_region, MemberCluster, Writer};
use crate::schema::config::{read, FromBlock, Reader, Setting};

pub(super) fn action(shared: Arc<Shared>) -> Arc<dyn Action> {
    Arc::new(DrDrill {
        schema: dr_drill_schema(),
        shared,
    })
}

fn dr_drill_schema() -> Schema {
    Schema {
        version: 0,
        block: Block {
            description: "A disaster-recovery drill of a multi-region platform: a switchover of the Aurora global database to the other region and back (`return = false`: one way). Refuses to start when a member is not available or the replication lag exceeds `max_replication_lag_seconds`; reports the lag before the switch, the time without a writer in each direction and the Route 53 failover health checks' observations. Wherever it ends or is interrupted, the next plan shows the writer where AWS has it (`writer_region`).",
            attributes: vec![
                stack_id_attr("The platform's stack id (`awsstack_multi_region_platform.<name>.id`)."),
                Attribute::optional("return", Type::Bool, "Switch back to the region that wrote before the drill (true by default). With false the drill ends with the other region writing: set `writer_region` to it, or the next apply switches back."),
                Attribute::optional("max_replication_lag_seconds", Type::Number, "The drill starts only if the secondary's latest `AuroraGlobalDBReplicationLag` (CloudWatch, last 10 minutes) is at most this: 60 by default."),
            ],
            blocks: vec![],
        },
    }
}

pub struct DrDrill {
    schema: Schema,
    shared: Arc<Shared>,
}

/// The calls this action makes, besides the writer's switchover
/// (`Writer::switch_to`, declared by the `rds_global_writer` kind).
pub(super) const CALLS: &[crate::engine::Call] = &[
    crate::engine::Call::read("rds:DescribeGlobalClusters"),
    crate::engine::Call::read("rds:DescribeDBClusters"),
    crate::engine::Call::read("rds:ListTagsForResource"),
    crate::engine::Call::settled("rds:SwitchoverGlobalCluster"),
    crate::engine::Call::read("cloudwatch:GetMetricStatistics"),
    crate::engine::Call::read("route53:ListHealthChecks"),
    crate::engine::Call::read("route53:GetHealthCheckStatus"),
];

/// One member of the global database, as the pre-flight check saw it.
#[derive(Clone, Debug, PartialEq)]
struct Member {
    region: String,
    id: String,
    writer: bool,
    status: String,
}

/// The pre-flight verdict: the writer's and the target's members, or why
/// the drill must not start.
fn preflight<'a>(
    global_status: &str,
    members: &'a [Member],
    lag: Option<f64>,
    max_lag: f64,
) -> Result<(&'a Member, &'a Member), String> {
    if global_status != "available" {
        return Err(format!(
            "the global database is {global_status}, not available"
        ));
    }
    let unhealthy: Vec<String> = members
        .iter()
        .filter(|m| m.status != "available")
        .map(|m| format!("{} in {} is {}", m.id, m.region, m.status))
        .collect();
    if !unhealthy.is_empty() {
        return Err(format!("a member is not healthy: {}", unhealthy.join(", ")));
    }
    let (writers, readers): (Vec<&Member>, Vec<&Member>) = members.iter().partition(|m| m.writer);
    let (&[from], &[to]) = (writers.as_slice(), readers.as_slice()) else {
        return Err(format!(
            "the drill needs one writer and one secondary; the global database has {} writer(s) and {} secondary member(s)",
            writers.len(),
            readers.len()
        ));
    };
    match lag {
        None => Err(format!(
            "no AuroraGlobalDBReplicationLag reported for {} in the last 10 minutes (AWS publishes it every minute for a replicating secondary): replication cannot be shown to be caught up",
            to.id
        )),
        Some(ms) if ms / 1000.0 > max_lag => Err(format!(
            "the replication lag of {} is {:.1} s, above max_replication_lag_seconds = {max_lag}",
            to.id,
            ms / 1000.0
        )),
        Some(_) => Ok((from, to)),
    }
}

/// The members of the global database with their clusters' status, each
/// read in its own region (`MemberCluster::describe`).
async fn members(
    env: &Arc<Env<AwsContext>>,
    g: &aws_sdk_rds::types::GlobalCluster,
) -> Result<Vec<Member>, OpError> {
    let mut out = vec![];
    for m in g.global_cluster_members() {
        let arn = m.db_cluster_arn().unwrap_or_default();
        let region = arn_region(arn).to_string();
        let id = arn.rsplit(':').next().unwrap_or_default().to_string();
        let placed = crate::engine::placed(env, Some(&region));
        let status = MemberCluster::describe(&placed, &id)
            .await?
            .and_then(|c| c.status().map(str::to_string))
            .unwrap_or_else(|| "missing".to_string());
        out.push(Member {
            region,
            id,
            writer: m.is_writer() == Some(true),
            status,
        });
    }
    Ok(out)
}

/// The secondary's latest replication lag in milliseconds (CloudWatch, in
/// its region, over the last 10 minutes).
async fn replication_lag(ctx: &Arc<AwsContext>, member: &Member) -> Result<Option<f64>, OpError> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let now = std::time::SystemTime::now();
    let o = ctx
        .clone()
        .region_context(&member.region)
        .cloudwatch()
        .get_metric_statistics()
        .namespace("AWS/RDS")
        .metric_name("AuroraGlobalDBReplicationLag")
        .dimensions(
            Dimension::builder()
                .name("DBClusterIdentifier")
                .value(&member.id)
                .build(),
        )
        .start_time(DateTime::from(now - Duration::from_secs(600)))
        .end_time(DateTime::from(now + Duration::from_secs(60)))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .map_err(|e| {
            OpError::new(format!(
                "GetMetricStatistics AuroraGlobalDBReplicationLag {}: {}",
                member.id,
                crate::aws::error_text(&e)
            ))
        })?;
    Ok(o.datapoints()
        .iter()
        .filter(|d| d.timestamp().is_some())
        .max_by_key(|d| d.timestamp().map(|t| t.as_nanos()))
        .and_then(|d| d.maximum()))
}

/// What Route 53's checkers last saw of each of the platform's failover
/// health checks (found by their caller reference, `<stack id>/...`).
async fn health_checks(ctx: &AwsContext, id: &str) -> Result<Vec<String>, OpError> {
    let r53 = ctx.route53();
    let mut out = vec![];
    let mut pages = r53.list_health_checks().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            OpError::new(format!("ListHealthChecks: {}", crate::aws::error_text(&e)))
        })?;
        for h in page
            .health_checks()
            .iter()
            .filter(|h| h.caller_reference().starts_with(&format!("{id}/")))
        {
            let name = h
                .health_check_config()
                .and_then(|c| c.fully_qualified_domain_name())
                .unwrap_or(h.id())
                .to_string();
            let seen = r53
                .get_health_check_status()
                .health_check_id(h.id())
                .send()
                .await
                .map_err(|e| {
                    OpError::new(format!(
                        "GetHealthCheckStatus {}: {}",
                        h.id(),
                        crate::aws::error_text(&e)
                    ))
                })?;
            let obs = seen.health_check_observations();
            let ok = obs
                .iter()
                .filter(|o| {
                    o.status_report()
                        .and_then(|r| r.status())
                        .is_some_and(|s| s.starts_with("Success"))
                })
                .count();
            out.push(format!(
                "{name}: {ok}/{} checkers see it healthy",
                obs.len()
            ));
        }
    }
    Ok(out)
}

#[tonic::async_trait]
impl Action for DrDrill {
    fn type_name(&self) -> &'static str {
        "awsstack_dr_drill"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = stack_id(config).err().unwrap_or_default();
        let args: Arguments = read(&self.schema.block, config);
        if let Some(&n) = args.max_replication_lag_seconds.known() {
            if !(n > 0.0 && n <= 3600.0) {
                d.error_at(
                    Path::attr("max_replication_lag_seconds"),
                    "Invalid replication lag bound",
                    format!("{n} is not a number of seconds above 0 and at most 3600"),
                );
            }
        }
        d
    }
    async fn invoke(&self, config: Value, progress: Progress) -> Diagnostics {
        let (id, ctx) = match target(&self.shared, &config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let args: Arguments = read(&self.schema.block, &config);
        let round_trip = args.round_trip.known().copied().unwrap_or(true);
        let max_lag = args
            .max_replication_lag_seconds
            .known()
            .copied()
            .unwrap_or(60.0);
        let env = Arc::new(env(ctx.clone(), &id));
        let global = format!("{id}-aurora");
        let g = match describe_global(&env, &global).await {
            Ok(Some(g)) => g,
            Ok(None) => {
                return error(
                    "No such platform",
                    format!("no awsstack_multi_region_platform stack {id:?}: its global database {global} does not exist"),
                )
            }
            Err(e) => return error("Cannot drill", e.message),
        };
        let arn = g.global_cluster_arn().unwrap_or_default().to_string();
        match carries(&ctx, &TagRef::Rds(arn), &id).await {
            Ok(true) => {}
            Ok(false) => {
                return error(
                    "Not the stack's database",
                    format!("the global database {global} does not carry the stack id {id:?} in {TAG_STACK_ID}: awsstack acts only on what a stack created"),
                )
            }
            Err(e) => return error("Cannot drill", e.message),
        }
        let members = match members(&env, &g).await {
            Ok(m) => m,
            Err(e) => return error("Cannot drill", e.message),
        };
        let secondary = members.iter().find(|m| !m.writer);
        let lag = match secondary {
            Some(m) => match replication_lag(&ctx, m).await {
                Ok(l) => l,
                Err(e) => return error("Cannot drill", e.message),
            },
            None => None,
        };
        let status = g.status().unwrap_or("unknown");
        let (from, to) = match preflight(status, &members, lag, max_lag) {
            Ok(pair) => pair,
            Err(why) => {
                return error(
                    "The drill did not start",
                    format!("{why}. Nothing was switched."),
                )
            }
        };
        let lag_s = lag.unwrap_or_default() / 1000.0;
        progress
            .say(format!(
                "pre-flight: every member available ({}), replication lag of {} {lag_s:.3} s (bound {max_lag} s)",
                members
                    .iter()
                    .map(|m| format!("{} {}", m.id, m.status))
                    .collect::<Vec<_>>()
                    .join(", "),
                to.id
            ))
            .await;
        let mut report = vec![format!("replication lag before the switch: {lag_s:.3} s")];
        let mut legs = vec![(from, to)];
        if round_trip {
            legs.push((to, from));
        }
        for (leg_from, leg_to) in legs {
            progress
                .say(format!(
                    "switching the writer of {global} over from {} ({}) to {} ({})",
                    leg_from.region, leg_from.id, leg_to.region, leg_to.id
                ))
                .await;
            let started = std::time::Instant::now();
            if let Err(e) =
                Writer::switch_to(&env, &global, &leg_to.region, &leg_to.id, false).await
            {
                let now = match describe_global(&env, &global).await {
                    Ok(Some(g)) => writer_region(&g).unwrap_or_else(|| "no region".into()),
                    _ => "unknown".into(),
                };
                return error(
                    "The drill failed",
                    format!(
                        "switching over to {}: {}. The writer is now in {now}; the next plan shows `writer_region` as AWS has it.",
                        leg_to.region, e.message
                    ),
                );
            }
            let without = started.elapsed();
            let line = format!(
                "{} → {}: {:.1} s without a writer",
                leg_from.region,
                leg_to.region,
                without.as_secs_f64()
            );
            progress
                .say(format!("{} writes again ({line})", leg_to.region))
                .await;
            report.push(line);
        }
        match health_checks(&ctx, &id).await {
            Ok(checks) if checks.is_empty() => {
                report.push("failover health checks: none yet (ingress hostnames unset)".into())
            }
            Ok(checks) => report.extend(checks.into_iter().map(|c| format!("health check {c}"))),
            Err(e) => report.push(format!("failover health checks unread: {}", e.message)),
        }
        let end = if round_trip { from } else { to };
        report.push(format!("the writer is in {} ({})", end.region, end.id));
        progress
            .say(format!("drill complete: {}", report.join("; ")))
            .await;
        Diagnostics::default()
    }
}

/// The action's arguments, typed (besides `stack_id`, which every action
/// reads alike).
pub(super) struct Arguments {
    /// `return`: switch back after the drill.
    round_trip: Setting<bool>,
    max_replication_lag_seconds: Setting<f64>,
}

impl FromBlock for Arguments {
    fn read(r: &Reader) -> Self {
        r.text("stack_id");
        Arguments {
            round_trip: r.flag("return"),
            max_replication_lag_seconds: r.number("max_replication_lag_seconds"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(region: &str, writer: bool, status: &str) -> Member {
        Member {
            region: region.into(),
            id: format!("luneo-prod-aurora-{region}"),
            writer,
            status: status.into(),
        }
    }

    #[test]
    fn the_drill_starts_only_with_every_member_available_and_the_lag_within_bound() {
        let ok = [
            member("eu-west-1", true, "available"),
            member("eu-west-3", false, "available"),
        ];
        let (from, to) = preflight("available", &ok, Some(800.0), 60.0).unwrap();
        assert_eq!(
            (from.region.as_str(), to.region.as_str()),
            ("eu-west-1", "eu-west-3")
        );
        let stopped = [
            member("eu-west-1", true, "available"),
            member("eu-west-3", false, "stopped"),
        ];
        let e = preflight("available", &stopped, Some(800.0), 60.0).unwrap_err();
        assert!(
            e.contains("luneo-prod-aurora-eu-west-3 in eu-west-3 is stopped"),
            "{e}"
        );
        let e = preflight("available", &ok, Some(90_000.0), 60.0).unwrap_err();
        assert!(
            e.contains("90.0 s, above max_replication_lag_seconds = 60"),
            "{e}"
        );
        let e = preflight("available", &ok, None, 60.0).unwrap_err();
        assert!(e.contains("no AuroraGlobalDBReplicationLag"), "{e}");
        let e = preflight("modifying", &ok, Some(1.0), 60.0).unwrap_err();
        assert!(e.contains("is modifying"), "{e}");
        let alone = [member("eu-west-1", true, "available")];
        assert!(preflight("available", &alone, Some(1.0), 60.0)
            .unwrap_err()
            .contains("0 secondary"));
    }

    #[test]
    fn a_lag_bound_that_is_not_a_positive_number_of_seconds_is_refused_on_its_attribute() {
        let drill = action(Arc::new(Shared::default()));
        let config = |lag: f64| {
            Value::Object(BTreeMap::from([
                ("stack_id".to_string(), Value::str("luneo-prod")),
                (
                    "max_replication_lag_seconds".to_string(),
                    Value::Number(lag),
                ),
            ]))
        };
        assert!(!drill.validate(&config(30.0)).has_errors());
        for bad in [0.0, -5.0, 7200.0] {
            let d = drill.validate(&config(bad));
            assert_eq!(
                d.0[0].path,
                Some(Path::attr("max_replication_lag_seconds")),
                "{bad}: {d:?}"
            );
        }
    }
}
