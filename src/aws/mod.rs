//! Small AWS helpers shared by stacks: error classification, tags, waiters
//! and retries for eventual consistency.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::future::Future;
use std::time::Duration;

/// A readable one-line description of an SDK error (code and message, or the
/// transport failure), without request bodies.
pub fn error_text<E>(e: &SdkError<E, aws_smithy_runtime_api::http::Response>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match (err.code(), err.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                // Never the raw response: it may carry secret values.
                _ => format!("unexpected response from AWS (HTTP {})", se.raw().status().as_u16()),
            }
        }
        _ => format!("{}", aws_smithy_types::error::display::DisplayErrorContext(e)),
    }
}

pub fn error_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<String> {
    match e {
        SdkError::ServiceError(se) => se.err().code().map(str::to_string),
        _ => None,
    }
}

/// True when the service error's code is one of `codes`.
pub fn code_in<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>, codes: &[&str]) -> bool {
    error_code(e).map(|c| codes.contains(&c.as_str())).unwrap_or(false)
}

/// True for the "does not exist" family of error codes.
pub fn is_not_found<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    match error_code(e) {
        Some(c) => c.contains("NotFound") || c.contains("NoSuch") || c == "ResourceNotFoundException" || c == "ParameterNotFound" || c == "InvalidParameterValue.NotFound",
        None => false,
    }
}

/// Runs `f` again while it fails with an error that `retryable` accepts
/// (eventual consistency: a just-created role not yet visible to EC2, a
/// dependency still being detached), with capped exponential backoff, for at
/// most `budget`.
pub async fn retry_while<T, E, F, Fut>(budget: Duration, mut retryable: impl FnMut(&E) -> bool, mut f: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut attempt = 0u32;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if retryable(&e) && start.elapsed() + delay < budget => {
                attempt += 1;
                tracing::debug!(attempt, "retrying after a retryable error (eventual consistency)");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
}
