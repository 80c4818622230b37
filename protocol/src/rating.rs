//! 好差评: the citizen's rating of a finished matter (国办发〔2019〕51号, GB/T 39734-2020).
//!
//! Five levels; a bad rating (★1–2) carries a reason. The rater's identity is confidential: a
//! rating names the application, never the person.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::text::LocalizedText;

/// Why a citizen gave a bad rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatingReason {
    /// 办理时间长.
    TookTooLong,
    /// 流程繁琐.
    TooComplicated,
    /// 指南不清楚.
    UnclearGuide,
    /// 设备不好用.
    DeviceProblem,
    /// 其他.
    Other,
}

impl RatingReason {
    /// Every reason, in display order.
    pub const ALL: [RatingReason; 5] = [
        RatingReason::TookTooLong,
        RatingReason::TooComplicated,
        RatingReason::UnclearGuide,
        RatingReason::DeviceProblem,
        RatingReason::Other,
    ];

    /// Display text.
    pub fn label(self) -> LocalizedText {
        match self {
            RatingReason::TookTooLong => LocalizedText::new("办理时间长", "Took too long"),
            RatingReason::TooComplicated => LocalizedText::new("流程繁琐", "Too complicated"),
            RatingReason::UnclearGuide => LocalizedText::new("指南不清楚", "Guide was unclear"),
            RatingReason::DeviceProblem => LocalizedText::new("设备不好用", "Terminal hard to use"),
            RatingReason::Other => LocalizedText::new("其他", "Other"),
        }
    }
}

/// The name of a 好差评 level, 5 (非常满意) down to 1 (非常不满意).
pub fn level_name(level: u8) -> Option<LocalizedText> {
    Some(match level {
        5 => LocalizedText::new("非常满意", "Very satisfied"),
        4 => LocalizedText::new("满意", "Satisfied"),
        3 => LocalizedText::new("基本满意", "Fairly satisfied"),
        2 => LocalizedText::new("不满意", "Dissatisfied"),
        1 => LocalizedText::new("非常不满意", "Very dissatisfied"),
        _ => return None,
    })
}

/// Body of `POST /v1/ratings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatingRequest {
    /// The application rated.
    pub application_no: String,
    /// Its matter.
    pub matter_id: String,
    /// The terminal it was given at.
    pub terminal_id: String,
    /// 1 (非常不满意) to 5 (非常满意).
    pub level: u8,
    /// Required when `level` ≤ 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RatingReason>,
    /// What is rated: the acceptance at the terminal (right after the receipt) or the completed
    /// matter. Each once per application.
    #[serde(default, skip_serializing_if = "RatingStage::is_acceptance")]
    pub stage: RatingStage,
    /// The national indicators, each 1 to 5; asked when the completed matter is rated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicators: Option<RatingIndicators>,
    /// The card on the reader, for a rating of completion at a terminal: the platform accepts
    /// it only from the application's applicant, and keeps neither (the rater stays anonymous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<crate::terminal::CardHolder>,
}

/// What a 好差评 rating is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RatingStage {
    /// The service at the terminal, rated right after the receipt.
    #[default]
    Acceptance,
    /// The matter, once completed or refused (办结评价).
    Completion,
}

impl RatingStage {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RatingStage::Acceptance => "acceptance",
            RatingStage::Completion => "completion",
        }
    }

    /// True for [`RatingStage::Acceptance`].
    pub fn is_acceptance(&self) -> bool {
        *self == RatingStage::Acceptance
    }
}

/// The national 好差评 indicators (GB/T 39734-2020), each 1 (非常不满意) to 5 (非常满意).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RatingIndicators {
    /// 整体满意度.
    pub overall: u8,
    /// 服务效率.
    pub efficiency: u8,
    /// 服务水平.
    pub competence: u8,
    /// 服务态度.
    pub attitude: u8,
}

impl RatingIndicators {
    /// Each indicator with its name, in display order.
    pub fn named(&self) -> [(LocalizedText, u8); 4] {
        [
            (
                LocalizedText::new("整体满意度", "Overall satisfaction"),
                self.overall,
            ),
            (
                LocalizedText::new("服务效率", "Efficiency"),
                self.efficiency,
            ),
            (
                LocalizedText::new("服务水平", "Competence"),
                self.competence,
            ),
            (LocalizedText::new("服务态度", "Attitude"), self.attitude),
        ]
    }
}

impl RatingRequest {
    /// Checks the level, the reason rule and field sizes.
    pub fn validate(&self) -> Result<(), ApiError> {
        if !(1..=5).contains(&self.level) {
            return Err(ApiError::new("invalid_field", "level: 1 to 5"));
        }
        if let Some(indicators) = &self.indicators
            && indicators.named().iter().any(|(_, v)| !(1..=5).contains(v))
        {
            return Err(ApiError::new("invalid_field", "indicators: each 1 to 5"));
        }
        if self.stage == RatingStage::Completion && self.indicators.is_none() {
            return Err(ApiError::new(
                "indicators_required",
                "a rating of completion carries the four indicators",
            ));
        }
        if let Some(holder) = &self.holder {
            holder.validate()?;
        }
        if self.level <= 2 && self.reason.is_none() {
            return Err(ApiError::new(
                "reason_required",
                "a rating of 1 or 2 needs a reason",
            ));
        }
        for (field, value) in [
            ("application_no", &self.application_no),
            ("matter_id", &self.matter_id),
            ("terminal_id", &self.terminal_id),
        ] {
            if value.is_empty()
                || value.len() > 64
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ApiError::new(
                    "invalid_field",
                    format!("{field}: 1 to 64 letters, digits, - or _"),
                ));
            }
        }
        Ok(())
    }
}
