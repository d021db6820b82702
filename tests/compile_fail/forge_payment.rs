//! error: E0451
// A payment is made only by the engine, never from the client's data.
fn main() {
    let _ = buyster::Initiated { _private: () };
}
