//! Secrets are wiped before their memory goes back to the allocator. This test binary installs
//! a global allocator that, while a check is watching, looks inside every block being freed for
//! the secret's bytes. A negative control (a plain buffer holding the same bytes) shows the
//! allocator does see what is left behind.
//!
//! A binary of its own, not a module of `tests/suite/`: a global allocator serves the whole
//! process. In the suite it would also inspect the blocks freed by the tests running beside
//! these checks, and one of those holding the same digits would fail a check that found
//! nothing wrong.
#![cfg(feature = "testkit")]

#[allow(dead_code, reason = "these checks use part of the suite's helpers")]
#[path = "suite/common.rs"]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use buyster::testkit::block_on;
use buyster::{OtpCode, Pin, PinCheck, Policy, SecretKey};
use common::*;

const MAX_SENTINEL: usize = 32;

static WATCHING: AtomicBool = AtomicBool::new(false);
static SENTINEL: [AtomicU8; MAX_SENTINEL] = [const { AtomicU8::new(0) }; MAX_SENTINEL];
static SENTINEL_LEN: AtomicUsize = AtomicUsize::new(0);
static FOUND: AtomicUsize = AtomicUsize::new(0);

struct Inspecting;

// SAFETY: every call is forwarded to `System` with the same arguments; `dealloc` only reads
// the block it is about to free, which is valid for `layout.size()` bytes until then.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.load(Ordering::SeqCst) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes, not yet freed.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_sentinel(block) {
                FOUND.fetch_add(1, Ordering::SeqCst);
            }
        }
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

/// In a sentinel, this byte stands for any ASCII digit.
const ANY_DIGIT: u8 = 0xff;

fn holds_sentinel(block: &[u8]) -> bool {
    let len = SENTINEL_LEN.load(Ordering::SeqCst);
    let mut sentinel = [0u8; MAX_SENTINEL];
    for (byte, slot) in sentinel.iter_mut().zip(&SENTINEL).take(len) {
        *byte = slot.load(Ordering::SeqCst);
    }
    let matches = |w: &[u8]| {
        w.iter()
            .zip(&sentinel[..len])
            .all(|(b, s)| b == s || (*s == ANY_DIGIT && b.is_ascii_digit()))
    };
    len > 0 && block.windows(len).any(matches)
}

/// How many freed blocks still held `sentinel` while `free` ran.
fn leftovers(sentinel: &[u8], free: impl FnOnce()) -> usize {
    assert!(sentinel.len() <= MAX_SENTINEL);
    for (slot, byte) in SENTINEL.iter().zip(sentinel) {
        slot.store(*byte, Ordering::SeqCst);
    }
    SENTINEL_LEN.store(sentinel.len(), Ordering::SeqCst);
    FOUND.store(0, Ordering::SeqCst);
    WATCHING.store(true, Ordering::SeqCst);
    free();
    WATCHING.store(false, Ordering::SeqCst);
    FOUND.load(Ordering::SeqCst)
}

// One test function: the allocator's state is global, and checks must not overlap.
#[test]
fn secrets_are_wiped_before_their_memory_is_freed() {
    // Negative control: the same kinds of bytes, in memory nobody wipes, are seen.
    let plain: Box<[u8; 6]> = Box::new(*b"975310");
    assert_eq!(
        leftovers(b"975310", || drop(plain)),
        1,
        "the inspector must see unwiped bytes"
    );
    let text = String::from("Code 975310 : paiement");
    assert_eq!(leftovers(b"Code 975310", || drop(text)), 1);

    let boxed_pin: Box<Pin> = Box::new("975310".parse().unwrap());
    assert_eq!(
        leftovers(b"975310", || drop(boxed_pin)),
        0,
        "a PIN was freed unwiped"
    );

    // The weak-PIN rules look at the digits' values; no copy of them is left behind.
    let chosen: Pin = "975310".parse().unwrap();
    assert_eq!(
        leftovers(&[9, 7, 5, 3, 1, 0], || {
            Policy::default().check_new_pin(&chosen).unwrap();
        }),
        0,
        "the weak-PIN check freed the digits unwiped"
    );

    let code: Box<OtpCode> = Box::new("864209".parse().unwrap());
    assert_eq!(
        leftovers(b"864209", || drop(code)),
        0,
        "a code was freed unwiped"
    );

    let key_bytes: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
    let key = Box::new(SecretKey::from_bytes(key_bytes));
    assert_eq!(
        leftovers(&key_bytes, || drop(key)),
        0,
        "a secret key was freed unwiped"
    );

    // SMS bodies: "Code " and six digits, wherever they were put.
    let body: &[u8] = &[
        b'C', b'o', b'd', b'e', b' ', ANY_DIGIT, ANY_DIGIT, ANY_DIGIT, ANY_DIGIT, ANY_DIGIT,
        ANY_DIGIT,
    ];
    let unwiped = String::from("Code 123456 : paiement de 49,90 €");
    assert_eq!(
        leftovers(body, || drop(unwiped)),
        1,
        "the inspector must see an unwiped body"
    );

    let host = block_on(Host::new());
    let payment = block_on(host.engine.initiate(order(4990), &host.phone)).unwrap();
    let PinCheck::Verified(verified) =
        block_on(host.engine.verify_pin(payment, &pin(PIN))).unwrap()
    else {
        panic!("right PIN refused");
    };
    // The engine makes the message, hands it to the gateway, and frees it.
    assert_eq!(
        leftovers(body, || drop(
            block_on(host.engine.send_code(verified)).unwrap()
        )),
        0,
        "the engine freed an SMS body unwiped"
    );
    // The outbox's copies, handed out and dropped.
    let copies = host.sms.sent();
    assert_eq!(copies.len(), 1);
    assert_eq!(
        leftovers(body, || drop(copies)),
        0,
        "a copy of an SMS body was freed unwiped"
    );
    // The outbox itself.
    let Host {
        engine,
        store,
        sms,
        bank,
        clock,
        events,
        phone,
    } = host;
    assert_eq!(
        leftovers(body, || drop((
            engine, store, sms, bank, clock, events, phone
        ))),
        0,
        "the outbox freed a body unwiped"
    );
}
