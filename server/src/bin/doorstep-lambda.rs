//! `doorstep-lambda`: the server as an AWS Lambda function (`--features
//! lambda`). Configuration comes from the function's environment; see
//! `doorstep_server::lambda`.

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // CloudWatch adds its own timestamps and shows no colours.
        .without_time()
        .with_ansi(false)
        .init();
    let state = doorstep_server::lambda::state_from_env().await?;
    doorstep_server::lambda::run(state).await
}
