//! Numbers with a structure of their own: citizen ID numbers, bank cards, phone numbers.
//!
//! The terminal checks them as the citizen types and the platform checks them on arrival; a
//! mistyped digit is caught on the screen, where it can still be corrected.

/// ISO 7064 MOD 11-2 weights of GB 11643-1999.
const GB11643_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// The check character for a weighted sum mod 11.
const GB11643_CHECK: [u8; 11] = *b"10X98765432";

/// The GB 11643 check character for the first 17 characters of an ID number, or `None` if
/// they are not 17 ASCII digits.
pub fn gb11643_check_digit(first17: &str) -> Option<char> {
    let digits = first17.as_bytes();
    if digits.len() != 17 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = digits
        .iter()
        .zip(GB11643_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(char::from(GB11643_CHECK[(sum % 11) as usize]))
}

/// A GB 11643-1999 citizen ID number: 17 digits whose 7th to 14th are a real birth date, then
/// the right check character (`X` upper case).
pub fn is_citizen_id_number(text: &str) -> bool {
    let Some((first17, check)) = text.split_at_checked(17) else {
        return false;
    };
    let Some(expected) = gb11643_check_digit(first17) else {
        return false;
    };
    // Only ASCII digits from here on, so byte slicing is exact.
    let d = &first17[6..14];
    let birth = super::definition::parse_date(&format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]));
    birth.is_some() && check.len() == 1 && check.starts_with(expected)
}

/// A bank card number: 12 to 19 digits whose last is the Luhn check digit of the rest.
pub fn is_bank_card(text: &str) -> bool {
    let digits = text.as_bytes();
    if !(12..=19).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A mainland mobile number (11 digits starting 13–19) or a landline with its area code
/// (`0518-85821234`, `051885821234`: 0, two or three more digits, then 7 or 8).
pub fn is_phone_number(text: &str) -> bool {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if text.len() == 11 && all_digits(text) && text.starts_with('1') {
        return matches!(text.as_bytes()[1], b'3'..=b'9');
    }
    let landline = |area: &str, number: &str| {
        all_digits(area)
            && all_digits(number)
            && area.starts_with('0')
            && (3..=4).contains(&area.len())
            && (7..=8).contains(&number.len())
            && !number.starts_with('0')
    };
    match text.split_once('-') {
        Some((area, number)) => landline(area, number),
        None => {
            all_digits(text)
                && (landline(&text[..3.min(text.len())], &text[3.min(text.len())..])
                    || landline(&text[..4.min(text.len())], &text[4.min(text.len())..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_need_a_real_birth_date_and_the_check_character() {
        assert!(is_citizen_id_number("11010519491231002X"));
        assert!(
            !is_citizen_id_number("110105194912310021"),
            "wrong check character"
        );
        assert!(
            !is_citizen_id_number("11010519491231002x"),
            "the check X is upper case"
        );
        assert!(!is_citizen_id_number("110105194902300021"), "30 February");
        assert!(!is_citizen_id_number("11010519491231002"), "17 characters");
        assert!(
            !is_citizen_id_number("１１010519491231002X"),
            "full-width digits"
        );
    }

    #[test]
    fn bank_cards_carry_the_luhn_digit() {
        assert!(is_bank_card("6222021001116245702"));
        assert!(is_bank_card("4111111111111111"));
        assert!(!is_bank_card("4111111111111112"), "one digit off");
        assert!(!is_bank_card("41111111111"), "too short");
        assert!(
            !is_bank_card("4111 1111 1111 1111"),
            "spaces are not digits"
        );
    }

    #[test]
    fn phones_are_mobiles_or_landlines_with_an_area_code() {
        for good in [
            "13912345678",
            "0518-85821234",
            "051885821234",
            "025-8888888",
        ] {
            assert!(is_phone_number(good), "{good}");
        }
        for bad in [
            "12912345678",
            "1391234567",
            "85821234",
            "0518-0582123",
            "0518--8582123",
            "",
        ] {
            assert!(!is_phone_number(bad), "{bad}");
        }
    }
}
