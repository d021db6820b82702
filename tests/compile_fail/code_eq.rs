//! error: E0369
// Codes are not comparable either.
fn main() {
    let a: buyster::OtpCode = "482913".parse().unwrap();
    let b: buyster::OtpCode = "482913".parse().unwrap();
    let _ = a == b;
}
