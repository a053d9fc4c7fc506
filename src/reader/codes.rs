//! The codes a card asks for: 照合番号B and the JPKI user-authentication
//! PIN. Each is held in a buffer wiped when dropped; `Debug` shows nothing
//! of it, and it has no `Display`, `Clone` or `Serialize`. Errors about
//! them name the field that is wrong, never its digits.

use crate::error::{Error, Result};
use crate::privacy::secret::Secret;

/// 照合番号B: the 14 ASCII digits that open the My Number card's
/// card-surface application (the holder's birth date as Japanese-era YYMMDD,
/// the card's expiry year, the 4-digit security code printed on its front).
///
/// ```
/// # #[cfg(feature = "reader")] {
/// use honnin::reader::VerificationNumberB;
/// let b = VerificationNumberB::from_parts((1980, 2, 17), 2030, "1234").unwrap();
/// assert_eq!(format!("{b:?}"), "VerificationNumberB(hidden)");
/// # }
/// ```
pub struct VerificationNumberB {
    digits: Secret<u8>,
}

impl VerificationNumberB {
    /// Builds 照合番号B from its parts: the birth date (Gregorian year,
    /// month, day), the card's expiry year and the 4-digit security code.
    /// The birth date must be a real calendar date on or after 1926-12-25
    /// (the first day of Shōwa); it is written in the era of that day
    /// (Reiwa from 2019-05-01, Heisei from 1989-01-08, Shōwa before).
    pub fn from_parts(birth_date: (u16, u8, u8), expiry_year: u16, security_code: &str) -> Result<Self> {
        let (year, month, day) = birth_date;
        let era_year = japanese_era_year(year, month, day)?;
        check_expiry_year(expiry_year)?;
        let code = four_digits(security_code, "the security code")?;
        let mut digits = Secret::<u8>::zeroed(14);
        let mut at = 0;
        for (value, width) in [(u32::from(era_year), 2), (u32::from(month), 2), (u32::from(day), 2)] {
            write_decimal(&mut digits, &mut at, value, width);
        }
        write_decimal(&mut digits, &mut at, u32::from(expiry_year), 4);
        if let Some(dst) = digits.get_mut(10..14) {
            dst.copy_from_slice(&code);
        }
        Ok(Self { digits })
    }

    /// Takes 照合番号B as 14 ASCII digits, checked: a plausible era date
    /// (year 01-99, month 01-12, a day that month can have in some year) and
    /// an expiry year from 2016 to 2099.
    pub fn from_digits(digits: &str) -> Result<Self> {
        let bytes = digits.as_bytes();
        if bytes.len() != 14 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(invalid("照合番号B as 14 digits"));
        }
        let num = |range: std::ops::Range<usize>| {
            bytes.get(range).map_or(0, |d| d.iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0')))
        };
        let (era_year, month, day, expiry) = (num(0..2), num(2..4), num(4..6), num(6..10));
        if era_year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(2000, month as u8) {
            return Err(invalid("照合番号B beginning with a Japanese-era date (YYMMDD)"));
        }
        check_expiry_year(expiry as u16)?;
        let mut secret = Secret::<u8>::zeroed(14);
        secret.copy_from_slice(bytes);
        Ok(Self { digits: secret })
    }

    /// The 14 ASCII digits, for the VERIFY command.
    pub(crate) fn digits(&self) -> &[u8] {
        &self.digits
    }
}

impl std::fmt::Debug for VerificationNumberB {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VerificationNumberB(hidden)")
    }
}

/// The JPKI user-authentication PIN (利用者証明用電子証明書の暗証番号): 4 ASCII digits.
pub struct CardPin {
    digits: Secret<u8>,
}

impl CardPin {
    /// Takes the PIN as 4 ASCII digits.
    pub fn from_digits(digits: &str) -> Result<Self> {
        let code = four_digits(digits, "a pin of 4 digits")?;
        Ok(Self { digits: Secret::adopt(code.to_vec()) })
    }

    /// The 4 ASCII digits, for the VERIFY command.
    pub(crate) fn digits(&self) -> &[u8] {
        &self.digits
    }
}

impl std::fmt::Debug for CardPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardPin(hidden)")
    }
}

fn invalid(expected: &str) -> Error {
    Error::InvalidArgument { reason: format!("expected {expected}") }
}

fn four_digits(text: &str, what: &str) -> Result<[u8; 4]> {
    let bytes: [u8; 4] = text.as_bytes().try_into().map_err(|_| invalid(&format!("{what} (4 digits)")))?;
    if bytes.iter().all(u8::is_ascii_digit) {
        Ok(bytes)
    } else {
        Err(invalid(&format!("{what} (4 digits)")))
    }
}

fn check_expiry_year(year: u16) -> Result<()> {
    if (2016..=2099).contains(&year) {
        Ok(())
    } else {
        Err(invalid("the card's expiry year, from 2016 to 2099"))
    }
}

fn write_decimal(out: &mut [u8], at: &mut usize, value: u32, width: u32) {
    for k in (0..width).rev() {
        if let Some(slot) = out.get_mut(*at) {
            *slot = b'0' + ((value / 10u32.pow(k)) % 10) as u8;
        }
        *at += 1;
    }
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The year of the Japanese era a Gregorian date falls in (Shōwa, Heisei,
/// Reiwa); dates before Shōwa (1926-12-25), impossible dates and Reiwa
/// years past 99 are refused.
pub(crate) fn japanese_era_year(year: u16, month: u8, day: u8) -> Result<u8> {
    if !(1..=12).contains(&month) || day == 0 || u32::from(day) > days_in_month(year, month) {
        return Err(invalid("a birth date that exists in the calendar"));
    }
    let date = (year, month, day);
    let era_start = if date >= (2019, 5, 1) {
        2018
    } else if date >= (1989, 1, 8) {
        1988
    } else if date >= (1926, 12, 25) {
        1925
    } else {
        return Err(invalid("a birth date on or after 1926-12-25 (Shōwa 1)"));
    };
    u8::try_from(year - era_start)
        .ok()
        .filter(|y| *y <= 99)
        .ok_or_else(|| invalid("a birth date whose era year has two digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(date: (u16, u8, u8)) -> String {
        let number = VerificationNumberB::from_parts(date, 2030, "0123").unwrap();
        String::from_utf8(number.digits().to_vec()).unwrap()
    }

    #[test]
    fn birth_dates_are_written_in_their_japanese_era() {
        assert_eq!(b((1980, 2, 17)), "55021720300123");
        assert_eq!(b((1989, 1, 7)), "64010720300123");
        assert_eq!(b((1989, 1, 8)), "01010820300123");
        assert_eq!(b((2019, 4, 30)), "31043020300123");
        assert_eq!(b((2019, 5, 1)), "01050120300123");
        assert_eq!(b((1926, 12, 25)), "01122520300123");
        assert_eq!(b((2000, 2, 29)), "12022920300123");
    }

    #[test]
    fn dates_before_showa_and_impossible_dates_are_refused() {
        for date in [(1926, 12, 24), (2023, 2, 30), (1900, 2, 29), (2021, 13, 1), (2021, 4, 31), (2021, 1, 0)] {
            let err = VerificationNumberB::from_parts(date, 2030, "0123").unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }), "{date:?}: {err:?}");
        }
        assert!(VerificationNumberB::from_parts((2118, 1, 1), 2030, "0123").is_err());
    }

    #[test]
    fn expiry_years_and_security_codes_are_checked() {
        assert!(VerificationNumberB::from_parts((1980, 2, 17), 1999, "0123").is_err());
        assert!(VerificationNumberB::from_parts((1980, 2, 17), 2030, "123").is_err());
        assert!(VerificationNumberB::from_parts((1980, 2, 17), 2030, "12a4").is_err());
        assert!(VerificationNumberB::from_parts((1980, 2, 17), 2030, "１２３４").is_err());
    }

    #[test]
    fn fourteen_digits_are_checked() {
        assert_eq!(VerificationNumberB::from_digits("55021720300123").unwrap().digits(), b"55021720300123");
        for bad in [
            "5502172030012",
            "550217203001234",
            "5502172030012a",
            "00021720300123",
            "55131720300123",
            "55023220300123",
            "55021719990123",
        ] {
            assert!(VerificationNumberB::from_digits(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_show_nothing_of_themselves() {
        let number = VerificationNumberB::from_digits("55021720300123").unwrap();
        assert_eq!(format!("{number:?}"), "VerificationNumberB(hidden)");
        let pin = CardPin::from_digits("4321").unwrap();
        assert_eq!(format!("{pin:?}"), "CardPin(hidden)");
        assert_eq!(pin.digits(), b"4321");
        for bad in ["432", "43210", "43a1", ""] {
            let err = CardPin::from_digits(bad).unwrap_err();
            assert!(!err.to_string().contains(bad) || bad.is_empty(), "{err}");
        }
        let err = VerificationNumberB::from_parts((1980, 2, 17), 2030, "98x6").unwrap_err().to_string();
        assert!(!err.contains("98x6") && !err.contains("1980"), "{err}");
    }
}
