//! The private state: a stack's component records, encoded for Terraform.

use super::*;

/// The engine's records as kept in the resource's private state, with the
/// region they are in.
#[derive(Serialize, Deserialize, Default)]
struct Private {
    version: u32,
    records: Records,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
}

/// The records in a private state. One that cannot be read is an error,
/// never "nothing exists": that would re-create every sub-resource. So is
/// a stack recorded in another region than the provider's: reading it there
/// would find nothing, and the plan would create a second stack and orphan
/// the first.
pub(crate) fn decode_private(
    b: &[u8],
    region: &str,
    kinds: &Kinds<AwsContext>,
) -> Result<Records, Diagnostic> {
    if b.is_empty() {
        return Ok(Records::new());
    }
    let p = serde_json::from_slice::<Private>(b).map_err(|e| {
        Diagnostic::error(
            "Unreadable stack state",
            format!("The private state of this stack (its record of every sub-resource) cannot be read: {e}. Nothing was changed. A newer awsstack may have written it: use that version, or re-import the stack (`terraform state rm` then `terraform import` with its stack id)."),
        )
    })?;
    match p.region {
        Some(r) if r != region && !p.records.is_empty() => Err(Diagnostic::error(
            "Stack in another region",
            format!(
                "The {} sub-resources of this stack are in {r}, and the provider is now configured for {region}. awsstack does not move a stack between regions (nothing was changed): set the provider's region back to {r}, or destroy the stack from {r} and create it again in {region}.",
                p.records.len()
            ),
        )),
        _ => {
            let mut records = p.records;
            crate::engine::upgrade(kinds, &mut records);
            Ok(records)
        }
    }
}

pub(crate) fn encode_private(r: &Records, region: &str) -> Vec<u8> {
    serde_json::to_vec(&Private {
        version: 1,
        records: r.clone(),
        region: Some(region.to_string()),
    })
    .expect("records serialize")
}
