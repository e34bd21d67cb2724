//! Import: a stack's configuration rebuilt from its manifest and secrets.

use super::*;

impl<S: Stack> StackResource<S> {
    /// The configuration recorded in the stack's manifest, with its secrets
    /// read back from AWS.
    pub(super) async fn import_config(&self, ctx: &AwsContext, id: &str) -> Result<Value, String> {
        let name = manifest_name(id);
        let o = ctx.ssm().get_parameter().name(&name).send().await.map_err(|e| {
            if crate::aws::is_not_found(&e) {
                format!("no awsstack stack with id {id:?} in {}: the parameter {name} does not exist", ctx.region)
            } else {
                format!("reading {name}: {}", crate::aws::error_text(&e))
            }
        })?;
        let text = o.parameter().and_then(|p| p.value()).unwrap_or_default();
        let t = self.stack.schema().block.value_type();
        let mut config = crate::value::decode_json(text.as_bytes(), &t)
            .map_err(|e| format!("the manifest {name} is not readable: {e}"))?;
        self.stack.restore_secrets(ctx, &mut config).await?;
        Ok(config)
    }
}
