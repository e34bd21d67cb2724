//! A configuration of the stack's own schema type, made from the fuzzer's
//! bytes: start from a valid configuration and replace, fill or reshape its
//! attributes with values drawn from strings and numbers the validators
//! care about (zones, CIDRs, durations, expressions, huge and odd numbers)
//! or from raw bytes. Where the wire decoder target mostly meets decoding
//! errors, this one reaches every validator and, through a configured
//! provider, the whole plan: the stack's components and the engine's plan.
//!
//! - ValidateResourceConfig and PlanResourceChange (create, and update from
//!   the valid configuration) give a response, never a panic.
//! - A plan without errors has a planned state of the schema's type.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use terraform_provider_awsstack::tfplugin::proto::tfplugin6::{
    self as pb, provider_server::Provider as _,
};
use terraform_provider_awsstack::value::{
    decode_json, decode_msgpack, encode_msgpack, Type, Value,
};

/// Valid configurations to start from, one per stack.
const BASES: [&str; 2] = [
    r#"{"project_name": "kauri", "environment": "prod", "availability_zone": "eu-west-3a", "ssh_ingress_cidrs": ["203.0.113.0/24"],
        "port": [{"port": 3000, "cidr_blocks": ["10.0.0.0/8"]}], "budget": [{"name": "b", "monthly_limit_usd": 10}],
        "ssm_parameters": {"db_password": {"value": "s3cret", "secure": true}}, "timeouts": {"create": "45m"}}"#,
    r#"{"project_name": "kavak", "env": "dev", "availability_zones": ["eu-west-3a", "eu-west-3b"], "app_secrets": ["OPENAI_API_KEY"],
        "environment": {"A": "b"}, "timeouts": {"create": "45m"}}"#,
];

/// Strings the validators treat specially, and their near misses.
const STRINGS: &[&str] = &[
    "",
    " ",
    "a",
    "A",
    "-",
    "é",
    "日本",
    "\u{0}",
    "\n",
    "kauri",
    "kavak",
    "prod",
    "dev",
    "eu-west-3",
    "eu-west-3a",
    "eu-west-3d",
    "us-east-1a",
    "eu-west-1b",
    "us-gov-west-1a",
    "eu-west-3é",
    "10.0.0.0/24",
    "10.0.0.0/16",
    "10.0.0.0/28",
    "10.0.0.0/29",
    "10.0.1.0/24",
    "10.0.0.128/25",
    "10.0.0.1/24",
    "0.0.0.0/0",
    "192.168.0.0/33",
    "256.0.0.0/8",
    "t4g.small",
    "m7i-flex.xlarge",
    "t4g",
    "ami-0123456789abcdef0",
    "30m",
    "1h30m",
    "0s",
    "1.5h",
    "168h",
    "999999999999999999999h",
    "cron(0 7 ? * MON-FRI *)",
    "cron(0 19 ? * MON-FRI *)",
    "cron(61 7 ? * * *)",
    "rate(1 hour)",
    "rate(0 hours)",
    "at(2026-12-02T10:00:00)",
    "Europe/Paris",
    "Mars/Olympus",
    "a@b.co",
    "a@b",
    "arn:aws:acm:eu-west-3:123456789012:certificate/abc",
    "tcp",
    "udp",
    "icmp",
    "postgres",
    "app",
    "15.4",
    "16",
    "7.0",
    "7.1",
    "/health",
    "health",
    "256",
    "512",
    "1024",
    "ephemeral",
    "production",
    "none",
    "single",
    "per_az",
    "backups/",
    "/data",
    "/data/../etc",
    "${x}",
    "%{if}",
    "COMPOSE_EOF",
    "services:\n  web:\n    image: nginx\n",
    "OPENAI_API_KEY",
    "DATABASE_URL",
    "key:value",
    "awsstack:stack-id",
    "aws:reserved",
    "nginx:1.27",
    "123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:latest",
];

const NUMBERS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    3.0,
    7.0,
    16.0,
    20.0,
    22.0,
    24.0,
    80.0,
    100.0,
    256.0,
    443.0,
    512.0,
    1024.0,
    3000.0,
    5432.0,
    6379.0,
    16384.0,
    65535.0,
    65536.0,
    2147483647.0,
    2147483648.0,
    4294967296.0,
    9007199254740993.0,
    1e18,
    1e300,
    -1e300,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    f64::EPSILON,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

fn string(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0..=2 => u.choose(STRINGS)?.to_string(),
        3 => u.arbitrary::<String>()?,
        4 => format!("{}{}", u.choose(STRINGS)?, u.choose(STRINGS)?),
        _ => u.choose(STRINGS)?.repeat(u.int_in_range(2..=300)?),
    })
}

fn number(u: &mut Unstructured) -> Result<f64> {
    Ok(match u.int_in_range(0..=3)? {
        0 | 1 => *u.choose(NUMBERS)?,
        2 => f64::from(u.arbitrary::<i32>()?),
        _ => u.arbitrary::<f64>()?,
    })
}

/// Any value of type `t` (null and unknown included).
fn value(u: &mut Unstructured, t: &Type, depth: u32) -> Result<Value> {
    match u.int_in_range(0..=11)? {
        0 => return Ok(Value::Null),
        1 => return Ok(Value::Unknown),
        _ => {}
    }
    Ok(match t {
        Type::String => Value::String(string(u)?),
        Type::Number => Value::Number(number(u)?),
        Type::Bool => Value::Bool(u.arbitrary()?),
        Type::List(e) | Type::Set(e) => {
            let n = if depth > 3 { 0 } else { u.int_in_range(0..=4)? };
            Value::List(
                (0..n)
                    .map(|_| value(u, e, depth + 1))
                    .collect::<Result<_>>()?,
            )
        }
        Type::Map(e) => {
            let mut m = BTreeMap::new();
            for _ in 0..(if depth > 3 { 0 } else { u.int_in_range(0..=3)? }) {
                m.insert(string(u)?, value(u, e, depth + 1)?);
            }
            Value::Map(m)
        }
        Type::Object(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(k, a)| Ok((k.clone(), value(u, a, depth + 1)?)))
                .collect::<Result<_>>()?,
        ),
    })
}

/// `base` with some of its parts kept, replaced, or changed inside.
fn mutate(u: &mut Unstructured, base: &Value, t: &Type, depth: u32) -> Result<Value> {
    Ok(match (base, t) {
        (Value::Object(m), Type::Object(attrs)) => {
            let mut out = BTreeMap::new();
            for (k, a) in attrs {
                let b = m.get(k).cloned().unwrap_or(Value::Null);
                let v = match u.int_in_range(0..=5)? {
                    0 => value(u, a, depth + 1)?,
                    1 => mutate(u, &b, a, depth + 1)?,
                    _ => b,
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        (Value::List(items), Type::List(e) | Type::Set(e)) if !items.is_empty() => {
            let mut items: Vec<Value> = items
                .iter()
                .map(|i| mutate(u, i, e, depth + 1))
                .collect::<Result<_>>()?;
            match u.int_in_range(0..=3)? {
                0 => items.push(value(u, e, depth + 1)?),
                1 => items.push(items[0].clone()),
                2 => {
                    items.pop();
                }
                _ => {}
            }
            Value::List(items)
        }
        _ => value(u, t, depth)?,
    })
}

fn dv(v: &Value, t: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: encode_msgpack(v, t),
        json: vec![],
    })
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(sel) = u.arbitrary::<u8>() else { return };
    let n = (sel & 1) as usize;
    let (type_name, ty) = common::stack(n);
    let base = decode_json(BASES[n].as_bytes(), ty).expect("the base configuration decodes");
    let Ok(config) = mutate(&mut u, &base, ty, 0) else {
        return;
    };
    let (server, rt) = common::configured();
    rt.block_on(async {
        let v = pb::validate_resource_config::Request {
            type_name: type_name.into(),
            config: dv(&config, ty),
            ..Default::default()
        };
        server
            .validate_resource_config(tonic::Request::new(v))
            .await
            .expect("a validate response");
        for prior in [Value::Null, base.clone()] {
            let p = pb::plan_resource_change::Request {
                type_name: type_name.into(),
                prior_state: dv(&prior, ty),
                proposed_new_state: dv(&config, ty),
                config: dv(&config, ty),
                ..Default::default()
            };
            let r = server
                .plan_resource_change(tonic::Request::new(p))
                .await
                .expect("a plan response")
                .into_inner();
            let failed = r
                .diagnostics
                .iter()
                .any(|d| d.severity == pb::diagnostic::Severity::Error as i32);
            if !failed {
                let planned = r
                    .planned_state
                    .expect("a plan without errors has a planned state");
                decode_msgpack(&planned.msgpack, ty)
                    .expect("the planned state has the schema's type");
            }
        }
    });
});
