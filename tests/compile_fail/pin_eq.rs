//! error: E0369
// Secrets are not comparable: a PIN is checked only through its keyed hash, in constant time.
fn main() {
    let a: buyster::Pin = "123456".parse().unwrap();
    let b: buyster::Pin = "123456".parse().unwrap();
    let _ = a == b;
}
