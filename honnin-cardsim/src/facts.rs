//! The card holder's facts the simulated card carries, and 照合番号B built from them.
//! Test values only: the defaults are made up, and nothing here comes from a real card.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Gregorian calendar date (`YYYY-MM-DD` in JSON and on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    /// Year (e.g. 1980).
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
}

impl Date {
    /// A valid date, or `None` (February 30th, month 13 and the like).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (day >= 1 && day <= days && (1..=9999).contains(&year)).then_some(Date { year, month, day })
    }

    /// `YYYYMMDD`, as `DF22` holds the birth date.
    pub fn compact(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = String;

    /// `YYYY-MM-DD`.
    fn from_str(text: &str) -> Result<Date, String> {
        let bad = || format!("expected a date as YYYY-MM-DD, not {text:?}");
        let parts: Vec<&str> = text.split('-').collect();
        let [y, m, d] = parts.as_slice() else { return Err(bad()) };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (y, m, d) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        Date::new(y, m, d).ok_or_else(|| format!("{text} is not a calendar date"))
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.to_string()
    }
}

impl TryFrom<String> for Date {
    type Error = String;

    fn try_from(text: String) -> Result<Date, String> {
        text.parse()
    }
}

/// The Japanese era date `YYMMDD` of `date` (Reiwa from 2019-05-01, Heisei from
/// 1989-01-08, Shōwa from 1926-12-25), or `None` for earlier dates.
pub fn japanese_era_yymmdd(date: Date) -> Option<String> {
    let eras = [
        (Date { year: 2019, month: 5, day: 1 }, 2019),
        (Date { year: 1989, month: 1, day: 8 }, 1989),
        (Date { year: 1926, month: 12, day: 25 }, 1926),
    ];
    let (_, first_year) = eras.iter().find(|(start, _)| date >= *start)?;
    let era_year = date.year - first_year + 1;
    Some(format!("{:02}{:02}{:02}", era_year, date.month, date.day))
}

/// What the card says about its holder, and the secrets it checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFacts {
    /// Birth date (`DF22`, and the first part of 照合番号B in the Japanese era).
    pub birth: Date,
    /// The card's expiry year (`DF29` is that year and the birth month and day;
    /// the second part of 照合番号B).
    pub expiry_year: u16,
    /// The 4-digit security code printed on the card (`DF2A` renders it; the
    /// third part of 照合番号B).
    pub security_code: String,
    /// The 4-digit user-authentication PIN of the JPKI AP.
    pub pin: String,
    /// `DF23`: `1` male, `2` female, `9` not applicable (ISO/IEC 5218).
    pub sex: u8,
    /// Rendered (as a placeholder image) in `DF25`.
    pub name: String,
    /// Rendered (as a placeholder image) in `DF26`.
    pub address: String,
}

impl Default for CardFacts {
    /// A made-up holder: born 1980-02-17 (Shōwa 55), card expiring in 2034,
    /// security code 1234, PIN 4321.
    fn default() -> CardFacts {
        CardFacts {
            birth: Date { year: 1980, month: 2, day: 17 },
            expiry_year: 2034,
            security_code: "1234".into(),
            pin: "4321".into(),
            sex: 1,
            name: "HONNIN TARO".into(),
            address: "1-1 TEST-CHO, SIM CITY".into(),
        }
    }
}

impl CardFacts {
    /// Checks the facts the card needs to be well formed: a birth date from
    /// Shōwa on, a 4-digit expiry year after the birth year, 4-digit code and PIN.
    pub fn check(&self) -> Result<(), String> {
        let digits = |s: &str| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
        if japanese_era_yymmdd(self.birth).is_none() {
            return Err(format!("birth date {} predates the Shōwa era (1926-12-25)", self.birth));
        }
        if !(self.birth.year..=9999).contains(&self.expiry_year) {
            return Err(format!("expiry year {} is before the birth year", self.expiry_year));
        }
        if !digits(&self.security_code) {
            return Err(format!("the security code must be 4 digits, not {:?}", self.security_code));
        }
        if !digits(&self.pin) {
            return Err(format!("the PIN must be 4 digits, not {:?}", self.pin));
        }
        if ![1, 2, 9].contains(&self.sex) {
            return Err(format!("sex must be 1, 2 or 9, not {}", self.sex));
        }
        Ok(())
    }

    /// 照合番号B: the birth date as Japanese-era YYMMDD, the expiry year and the
    /// security code (14 ASCII digits).
    pub fn shogo_b(&self) -> String {
        let era = japanese_era_yymmdd(self.birth).unwrap_or_else(|| "000000".into());
        format!("{era}{:04}{}", self.expiry_year, self.security_code)
    }

    /// `DF29`: the expiry year with the birth month and day (`YYYYMMDD`; a card
    /// expires on its holder's birthday). February 29th becomes the 28th in a
    /// common year.
    pub fn expiry_date(&self) -> String {
        let day = match Date::new(self.expiry_year, self.birth.month, self.birth.day) {
            Some(_) => self.birth.day,
            None => 28,
        };
        format!("{:04}{:02}{:02}", self.expiry_year, self.birth.month, day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn era_dates_switch_on_the_first_day_of_each_era() {
        assert_eq!(japanese_era_yymmdd(date("1980-02-17")).as_deref(), Some("550217"));
        assert_eq!(japanese_era_yymmdd(date("1926-12-24")), None);
        assert_eq!(japanese_era_yymmdd(date("1926-12-25")).as_deref(), Some("011225"));
        assert_eq!(japanese_era_yymmdd(date("1989-01-07")).as_deref(), Some("640107"));
        assert_eq!(japanese_era_yymmdd(date("1989-01-08")).as_deref(), Some("010108"));
        assert_eq!(japanese_era_yymmdd(date("2019-04-30")).as_deref(), Some("310430"));
        assert_eq!(japanese_era_yymmdd(date("2019-05-01")).as_deref(), Some("010501"));
        assert_eq!(japanese_era_yymmdd(date("2024-02-29")).as_deref(), Some("060229"));
    }

    #[test]
    fn shogo_b_is_era_birth_expiry_year_and_security_code() {
        let facts = CardFacts::default();
        assert_eq!(facts.shogo_b(), "55021720341234");
        assert_eq!(facts.shogo_b().len(), 14);
        assert_eq!(facts.expiry_date(), "20340217");
        facts.check().unwrap();
    }

    #[test]
    fn dates_are_checked() {
        assert!("2023-02-29".parse::<Date>().is_err());
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!("1980-2-17".parse::<Date>().is_err());
        assert!("19800217".parse::<Date>().is_err());
        assert_eq!(serde_json::to_string(&date("1980-02-17")).unwrap(), r#""1980-02-17""#);
        assert_eq!(serde_json::from_str::<Date>(r#""1980-02-17""#).unwrap(), date("1980-02-17"));
        let leap = CardFacts { birth: date("2000-02-29"), expiry_year: 2031, ..CardFacts::default() };
        assert_eq!(leap.expiry_date(), "20310228");
    }
}
