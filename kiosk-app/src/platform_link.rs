//! The terminal's HTTP link to the central platform.

use std::time::Duration;

use kiosk_protocol::{
    ApiError, ApplicationReceipt, ApplicationRequest, Catalog, Health, IDEMPOTENCY_KEY_HEADER,
    RatingRequest,
};
use reqwest::StatusCode;

/// Why a platform call failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No answer: network down, platform down, or too slow.
    #[error("the platform at {url} cannot be reached: {detail}")]
    Unreachable {
        /// Platform base URL.
        url: String,
        /// Transport error.
        detail: String,
    },
    /// The platform answered with an error.
    #[error("the platform refused the request ({status}): {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Error code from the body.
        code: String,
        /// Explanation from the body.
        message: String,
    },
    /// The platform answered something this terminal does not understand.
    #[error("the platform's answer cannot be understood: {0}")]
    BadAnswer(String),
}

impl LinkError {
    /// True when retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            LinkError::Unreachable { .. } => true,
            LinkError::Refused { status, .. } => *status >= 500 || *status == 429,
            LinkError::BadAnswer(_) => false,
        }
    }
}

/// Client of the platform's terminal API.
#[derive(Clone)]
pub struct PlatformLink {
    base: String,
    http: reqwest::Client,
}

impl PlatformLink {
    /// A link to the platform at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, timeout: Duration) -> Result<Self, LinkError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("lianyibao-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| LinkError::Unreachable {
                url: base.to_owned(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The platform's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn unreachable(&self, e: reqwest::Error) -> LinkError {
        LinkError::Unreachable {
            url: self.base.clone(),
            detail: e.to_string(),
        }
    }

    async fn refused(response: reqwest::Response) -> LinkError {
        let status = response.status().as_u16();
        match response.json::<ApiError>().await {
            Ok(body) => LinkError::Refused {
                status,
                code: body.code,
                message: body.message,
            },
            Err(_) => LinkError::Refused {
                status,
                code: "unknown".into(),
                message: "no error body".into(),
            },
        }
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, LinkError> {
        let response = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            return Err(Self::refused(response).await);
        }
        response
            .json()
            .await
            .map_err(|e| LinkError::BadAnswer(e.to_string()))
    }

    /// `GET /v1/catalog`, validated before use.
    pub async fn catalog(&self) -> Result<Catalog, LinkError> {
        let response = self
            .http
            .get(format!("{}/v1/catalog", self.base))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if !response.status().is_success() {
            return Err(Self::refused(response).await);
        }
        let catalog: Catalog = response
            .json()
            .await
            .map_err(|e| LinkError::BadAnswer(e.to_string()))?;
        catalog
            .validate()
            .map_err(|e| LinkError::BadAnswer(format!("catalog {}: {e}", catalog.version)))?;
        Ok(catalog)
    }

    /// `POST /v1/applications` with its idempotency key.
    pub async fn submit(
        &self,
        key: &str,
        request: &ApplicationRequest,
    ) -> Result<ApplicationReceipt, LinkError> {
        let response = self
            .http
            .post(format!("{}/v1/applications", self.base))
            .header(IDEMPOTENCY_KEY_HEADER, key)
            .json(request)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        match response.status() {
            StatusCode::OK | StatusCode::CREATED => response
                .json()
                .await
                .map_err(|e| LinkError::BadAnswer(e.to_string())),
            _ => Err(Self::refused(response).await),
        }
    }

    /// `POST /v1/ratings`.
    pub async fn rate(&self, rating: &RatingRequest) -> Result<(), LinkError> {
        let response = self
            .http
            .post(format!("{}/v1/ratings", self.base))
            .json(rating)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::refused(response).await)
        }
    }
}
