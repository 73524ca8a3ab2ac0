//! A counting global allocator for the allocation tests: it counts the
//! allocations made by a thread while that thread has asked to be counted
//! (the test harness's own threads never are). Counts are per thread, so
//! tests running in parallel never see each other's. A test crate installs
//! it with `#[global_allocator] static GLOBAL: Counting = Counting;`; each
//! uses a subset of the functions.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` with this thread's allocations counted when `count` is true.
pub fn counted<R>(count: bool, f: impl FnOnce() -> R) -> R {
    COUNTING.with(|c| c.set(count));
    let r = f();
    COUNTING.with(|c| c.set(false));
    r
}

/// The allocations counted on this thread since the last call.
pub fn take_allocations() -> usize {
    ALLOCATIONS.with(|a| a.replace(0))
}

/// How many allocations `f` makes on this thread.
pub fn allocations_in(f: impl FnOnce()) -> usize {
    take_allocations();
    counted(true, f);
    take_allocations()
}
