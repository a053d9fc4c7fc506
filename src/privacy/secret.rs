//! `Secret`: the one buffer type for biometric data.
//!
//! A `Secret` is allocated once at its final size and can never grow (it
//! derefs to a slice, not to a `Vec`), so no reallocation leaves a stale copy
//! behind. It is not `Clone`, not `Serialize`, and its `Debug` shows only the
//! length. It is locked in RAM when process hardening asks for it
//! ([`crate::privacy::hardening`]) and zeroed (`explicit_bzero`, capacity included),
//! then unlocked, when dropped.

use std::ops::{Deref, DerefMut};

use crate::privacy::hardening::Plain;

pub(crate) struct Secret<T: Plain> {
    buf: Vec<T>,
    locked: bool,
}

impl<T: Plain + Default> Secret<T> {
    /// `len` default (zero) values.
    pub(crate) fn zeroed(len: usize) -> Self {
        Self::adopt(vec![T::default(); len])
    }
}

impl<T: Plain> Secret<T> {
    /// Takes over a buffer filled elsewhere (a decoder's output) without
    /// copying it; its spare capacity, if any, is wiped with it on drop.
    pub(crate) fn adopt(buf: Vec<T>) -> Self {
        let bytes = buf.capacity() * std::mem::size_of::<T>();
        let locked = crate::privacy::hardening::lock(buf.as_ptr().cast(), bytes);
        Self { buf, locked }
    }
}

/// A [`Secret`] a model stage keeps from one run to the next (its input
/// tensor): all zero between runs, filled by [`Scratch::fill`] and zeroed by
/// [`Scratch::clear`] once the model has run. A run that panicked between the
/// two leaves it marked dirty, and the next `fill` zeroes it first.
pub(crate) struct Scratch<T: Plain> {
    buf: Secret<T>,
    dirty: bool,
}

impl<T: Plain + Default> Scratch<T> {
    pub(crate) fn new(len: usize) -> Self {
        Self { buf: Secret::zeroed(len), dirty: false }
    }

    /// The buffer, `len` zero values, to be filled: reallocated when `len`
    /// differs (the old one is already zero, and is wiped as it drops).
    pub(crate) fn fill(&mut self, len: usize) -> &mut [T] {
        if self.buf.len() != len {
            self.buf = Secret::zeroed(len);
        } else if self.dirty {
            crate::privacy::hardening::wipe(&mut self.buf[..]);
        }
        self.dirty = true;
        &mut self.buf
    }

    /// Zeroes the buffer after the run, whatever its outcome.
    pub(crate) fn clear(&mut self) {
        crate::privacy::hardening::wipe(&mut self.buf[..]);
        self.dirty = false;
    }
}

impl<T: Plain> Deref for Scratch<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.buf
    }
}

impl<T: Plain> Deref for Secret<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.buf
    }
}

impl<T: Plain> DerefMut for Secret<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf
    }
}

impl<T: Plain> Drop for Secret<T> {
    fn drop(&mut self) {
        let (addr, bytes) = (self.buf.as_ptr().cast::<u8>(), self.buf.capacity() * std::mem::size_of::<T>());
        // Zeroes every element and the spare capacity.
        crate::privacy::hardening::wipe_vec(&mut self.buf);
        if self.locked {
            crate::privacy::hardening::unlock(addr, bytes);
        }
    }
}

impl<T: Plain> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} values, contents hidden)", self.buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_has_its_final_size_and_hides_its_contents() {
        let mut s = Secret::<f32>::zeroed(5);
        s[4] = 1.5;
        assert_eq!(s.len(), 5);
        assert_eq!(format!("{s:?}"), "Secret(5 values, contents hidden)");
        let adopted = Secret::adopt(vec![7u8; 3]);
        assert_eq!(&adopted[..], &[7, 7, 7]);
    }
}
