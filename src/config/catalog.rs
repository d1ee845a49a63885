//! `[[programs]]`: programs and their catalog (products, device, wallet and promotion plans),
//! and the checks of codes and references.

use super::{
    err, parse_ymd, AccountType, Config, ConfigError, ProductRules, WalletKind, WalletUsage,
};
use serde::Deserialize;
use time::Date;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub code: String,
    pub name: String,
    pub bin: String,
    pub pan_length: usize,
    #[serde(default)]
    pub products: Vec<Product>,
    #[serde(default)]
    pub device_plans: Vec<DevicePlan>,
    #[serde(default)]
    pub wallet_plans: Vec<WalletPlan>,
    #[serde(default)]
    pub promotion_plans: Vec<PromotionPlan>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub code: String,
    pub name: String,
    pub account_type: AccountType,
    #[serde(default)]
    pub instant_issue: bool,
    #[serde(default)]
    pub instant_issue_physical_card: bool,
    #[serde(default)]
    pub upgrade_to: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePlan {
    pub code: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletPlan {
    pub code: String,
    pub currency: String,
    pub usage: WalletUsage,
    pub kind: WalletKind,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionPlan {
    pub code: String,
    #[serde(deserialize_with = "de_date")]
    pub effective: Date,
    /// Inclusive.
    #[serde(deserialize_with = "de_date")]
    pub end: Date,
    /// Plans it may be used with; empty = all of the program's.
    #[serde(default)]
    pub wallet_plans: Vec<String>,
}

impl PromotionPlan {
    pub fn valid_on(&self, day: Date) -> bool {
        self.effective <= day && day <= self.end
    }
    pub fn allows_plan(&self, plan: &str) -> bool {
        self.wallet_plans.is_empty() || self.wallet_plans.iter().any(|p| p == plan)
    }
}

fn de_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
    let s = String::deserialize(d)?;
    parse_ymd(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a YYYY-MM-DD date")))
}

impl Product {
    /// What enrollment validation needs of this product.
    pub fn rules(&self) -> ProductRules {
        ProductRules {
            instant_issue: self.instant_issue,
            instant_issue_physical_card: self.instant_issue_physical_card,
        }
    }
}

impl Program {
    /// The validation rules of product `code` of this program, if it has one.
    pub fn product_rules(&self, code: &str) -> Option<ProductRules> {
        self.product(code).map(Product::rules)
    }

    pub fn product(&self, code: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.code == code)
    }
    pub fn wallet_plan(&self, code: &str) -> Option<&WalletPlan> {
        self.wallet_plans.iter().find(|p| p.code == code)
    }
    pub fn promotion_plan(&self, code: &str) -> Option<&PromotionPlan> {
        self.promotion_plans.iter().find(|p| p.code == code)
    }
    pub fn has_device_plan(&self, code: &str) -> bool {
        self.device_plans.iter().any(|p| p.code == code)
    }
}

/// Config codes (program, product, plan): 1-10 characters of `[A-Z0-9]`.
pub fn is_valid_code(code: &str) -> bool {
    (1..=10).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn check_code(what: &str, code: &str) -> Result<(), ConfigError> {
    if is_valid_code(code) {
        Ok(())
    } else {
        err(format!(
            "{what} code `{code}` must be 1-10 characters of A-Z and 0-9"
        ))
    }
}

fn check_unique<'a>(what: &str, codes: impl Iterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for c in codes {
        if !seen.insert(c) {
            return err(format!("{what} code `{c}` appears twice"));
        }
    }
    Ok(())
}

impl Config {
    /// At least one program, codes unique, and each program's catalog.
    pub(super) fn validate_programs(&self) -> Result<(), ConfigError> {
        if self.programs.is_empty() {
            return err("at least one [[programs]] entry is required");
        }
        check_unique("program", self.programs.iter().map(|p| p.code.as_str()))?;
        for p in &self.programs {
            self.validate_program(p)?;
        }
        Ok(())
    }

    fn validate_program(&self, p: &Program) -> Result<(), ConfigError> {
        check_code("program", &p.code)?;
        if !(6..=8).contains(&p.bin.len()) || !p.bin.bytes().all(|b| b.is_ascii_digit()) {
            return err(format!("program `{}`: bin must be 6-8 digits", p.code));
        }
        if !(15..=19).contains(&p.pan_length) {
            return err(format!("program `{}`: pan_length must be 15-19", p.code));
        }
        check_unique("product", p.products.iter().map(|x| x.code.as_str()))?;
        check_unique(
            "device plan",
            p.device_plans.iter().map(|x| x.code.as_str()),
        )?;
        check_unique(
            "wallet plan",
            p.wallet_plans.iter().map(|x| x.code.as_str()),
        )?;
        check_unique(
            "promotion plan",
            p.promotion_plans.iter().map(|x| x.code.as_str()),
        )?;
        for prod in &p.products {
            check_code("product", &prod.code)?;
            for target in &prod.upgrade_to {
                if p.product(target).is_none() || target == &prod.code {
                    return err(format!(
                        "product `{}`: upgrade_to names `{target}`, not another product of program `{}`",
                        prod.code, p.code
                    ));
                }
            }
        }
        for dp in &p.device_plans {
            check_code("device plan", &dp.code)?;
        }
        for wp in &p.wallet_plans {
            check_code("wallet plan", &wp.code)?;
            if wp.currency.len() != 3 || !wp.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                return err(format!(
                    "wallet plan `{}`: currency must be an ISO 4217 alpha code",
                    wp.code
                ));
            }
        }
        for pp in &p.promotion_plans {
            check_code("promotion plan", &pp.code)?;
            if pp.end < pp.effective {
                return err(format!(
                    "promotion plan `{}`: end is before effective",
                    pp.code
                ));
            }
            for wp in &pp.wallet_plans {
                if p.wallet_plan(wp).is_none() {
                    return err(format!(
                        "promotion plan `{}`: unknown wallet plan `{wp}`",
                        pp.code
                    ));
                }
            }
        }
        Ok(())
    }
}
