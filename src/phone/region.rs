//! [`Region`]: the territory whose national forms a number is read in.

use core::fmt;
use core::str::FromStr;

use super::plan;
use super::territory::Territory;
use crate::Error;

/// A territory of libphonenumber's numbering plan, by its ISO 3166 code: how to read a number
/// typed without its country code (its national prefix, its international prefix, its plan).
///
/// # Examples
///
/// ```
/// use buyster::{PhoneNumber, Region};
///
/// let reunion: Region = "RE".parse()?;
/// assert_eq!(reunion.calling_code(), 262);
/// let phone = PhoneNumber::parse_in("0692 12 34 56", reunion)?;
/// assert_eq!(phone.to_string(), "+262692123456");
/// # Ok::<(), buyster::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    code: &'static str,
    calling_code: u16,
}

impl Region {
    /// France (+33): `06 12 34 56 78` is `+33 6 12 34 56 78`.
    pub const FRANCE: Self = Self::new("FR", 33);
    /// Belgium (+32).
    pub const BELGIUM: Self = Self::new("BE", 32);
    /// Switzerland (+41).
    pub const SWITZERLAND: Self = Self::new("CH", 41);
    /// Luxembourg (+352).
    pub const LUXEMBOURG: Self = Self::new("LU", 352);
    /// Germany (+49).
    pub const GERMANY: Self = Self::new("DE", 49);
    /// Spain (+34).
    pub const SPAIN: Self = Self::new("ES", 34);
    /// The United Kingdom (+44).
    pub const UNITED_KINGDOM: Self = Self::new("GB", 44);

    const fn new(code: &'static str, calling_code: u16) -> Self {
        Self { code, calling_code }
    }

    /// The region with ISO 3166 alpha-2 code `code` (either case), among the 245 regions of
    /// libphonenumber's plan.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegion`] for a code the plan has no region for.
    pub fn from_code(code: &str) -> Result<Self, Error> {
        let upper = code.to_ascii_uppercase();
        let territory = plan::region(&upper).ok_or(Error::InvalidRegion)?;
        Ok(Self::new(territory.id, territory.country_code))
    }

    /// The region's country calling code.
    #[must_use]
    pub const fn calling_code(self) -> u16 {
        self.calling_code
    }

    /// The region's ISO 3166 alpha-2 code, for example `"FR"`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        self.code
    }

    /// The region's metadata.
    pub(super) fn territory(self) -> Option<&'static Territory> {
        plan::region(self.code)
    }
}

impl FromStr for Region {
    type Err = Error;

    /// Same as [`Region::from_code`].
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_code(s)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_regions_are_the_plans() {
        for region in [
            Region::FRANCE,
            Region::BELGIUM,
            Region::SWITZERLAND,
            Region::LUXEMBOURG,
            Region::GERMANY,
            Region::SPAIN,
            Region::UNITED_KINGDOM,
        ] {
            assert_eq!(Region::from_code(region.code()).unwrap(), region);
            assert!(region.territory().is_some());
        }
    }

    #[test]
    fn every_region_of_the_plan_reads_by_its_code() {
        let regions: Vec<_> = super::super::plan_data::TERRITORIES
            .iter()
            .filter(|t| t.is_region())
            .collect();
        assert_eq!(regions.len(), 245);
        for territory in regions {
            let region: Region = territory.id.parse().unwrap();
            assert_eq!(region.calling_code(), territory.country_code);
            assert_eq!(region.to_string(), territory.id);
        }
        assert_eq!("re".parse::<Region>().unwrap().code(), "RE");
    }

    #[test]
    fn unknown_codes_are_refused() {
        for odd in ["", "F", "FRA", "XX", "001", "ZZ", "é"] {
            assert!(
                matches!(Region::from_code(odd), Err(Error::InvalidRegion)),
                "{odd}"
            );
        }
    }
}
