//! The French national numbering plan (ARCEP's), which metropolitan France shares with its
//! overseas departments: a ten-digit national form dialled in any of them reaches a number of
//! any of them, `0692 12 34 56` La Réunion as `06 12 34 56 78` metropolitan France.
//! libphonenumber gives each its own country code and metadata, and reads `0692 12 34 56`
//! typed in France as an invalid +33 number; here it is read as the department's.

use super::parse::{self, Parsed, Source};
use super::plan;
use super::verdict::{self, Verdict};

/// The territories of the plan, in the order they are tried: metropolitan France (+33), La
/// Réunion and Mayotte (+262), Guadeloupe, Saint-Barthélemy and Saint-Martin (+590), Martinique
/// (+596), French Guiana (+594).
pub(super) const MEMBERS: [&str; 8] = ["FR", "RE", "YT", "GP", "BL", "MF", "MQ", "GF"];

/// The reading of a national form typed in `home`, a member of the plan, as a national form of
/// another member, for a number that is not valid in `home`: the first member whose metadata
/// makes it a valid number (a mobile, or another type, which is then refused with the right
/// country's reason).
pub(super) fn elsewhere(plus: bool, digits: &str, home: &str) -> Option<(Parsed, Verdict)> {
    if !MEMBERS.contains(&home) {
        return None;
    }
    MEMBERS
        .iter()
        .filter(|member| **member != home)
        .filter_map(|member| plan::region(member))
        .find_map(|territory| {
            let parsed = parse::parse(plus, digits, territory).ok()?;
            let verdict = verdict::judge(&parsed);
            let national = parsed.source == Source::Region;
            (national && !matches!(verdict, Verdict::Invalid(_))).then_some((parsed, verdict))
        })
}
