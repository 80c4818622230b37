//! Bilingual text. Every string a citizen may read exists in Chinese and English.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The two languages every citizen-facing string is published in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Simplified Chinese, the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Language {
    /// The other language: what the language button switches to.
    pub fn toggled(self) -> Self {
        match self {
            Language::Zh => Language::En,
            Language::En => Language::Zh,
        }
    }

    /// BCP 47 tag, as sent in `Accept-Language` and used to pick translations.
    pub fn tag(self) -> &'static str {
        match self {
            Language::Zh => "zh-CN",
            Language::En => "en",
        }
    }
}

/// A string published in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct LocalizedText {
    /// Simplified Chinese.
    pub zh: String,
    /// English.
    pub en: String,
}

impl LocalizedText {
    /// Builds a text from its two language versions.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text in `language`.
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Zh => &self.zh,
            Language::En => &self.en,
        }
    }

    /// True when either language version is blank: such a text must not be published.
    pub fn is_incomplete(&self) -> bool {
        self.zh.trim().is_empty() || self.en.trim().is_empty()
    }
}
