//! Secrets Manager: application secrets (value optional, from
//! `Spec::secret`, only its hash recorded), generated database credentials,
//! and the database connection fields added once the database exists.

use super::tagging::TagRef;
use super::Tagging;
use super::{op, sha256_hex, spec_tags, E};
use crate::engine::{Kind, Need, OpError, Record, Records, Spec};
use crate::provider::AwsContext;
use aws_sdk_secretsmanager::types::Tag;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value as Json};

mod secret;
pub use secret::*;
mod db_connection;
pub use db_connection::*;

crate::aws::not_found_codes!("ResourceNotFoundException");

/// A random password that RDS and URLs accept (letters and digits).
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}
