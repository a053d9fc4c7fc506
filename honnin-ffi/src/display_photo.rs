//! A card photo scaled for the staff's screen, behind one C handle: made
//! from a session, read, and wiped when freed (or when its session decides
//! or is freed).

use honnin::counter::DisplayPhoto;

use crate::args::check_out;
use crate::handles::{self, id, issue, Object};
use crate::session::{honnin_session, lock};
use crate::status::{guard, honnin_status};

/// A card photo scaled for the staff's screen. Opaque; a handle, never dereferenced.
pub struct honnin_display_photo {
    _private: [u8; 0],
}

/// A display photo handle's kind, in words.
const PHOTO: &str = "a display photo";

/// For the staff visual check: the card photo scaled to fit `max_width` x
/// `max_height` pixels (never enlarged), as a new display-photo handle in
/// `*out`. Read its pixels with `honnin_display_photo_pixels`, show them,
/// then free it with `honnin_display_photo_free`, which wipes them. At the
/// latest, the photo is wiped and its handle invalidated when the session
/// decides or is freed. Computes no biometric.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_card_for_display(
    session: *const honnin_session,
    max_width: u32,
    max_height: u32,
    out: *mut *mut honnin_display_photo,
) -> honnin_status {
    guard(|| {
        let session = crate::session::lookup(id(session))?;
        check_out(out, "out")?;
        let mut session = lock(&session)?;
        let photo = session.session().card_for_display(max_width, max_height)?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        let photo = unsafe { issue(out, Object::new(PHOTO, photo)) };
        // Invalidated and wiped when the session decides or is freed.
        session.photos.push(photo);
        Ok(())
    })
}

/// Writes a display photo's pixels (row-major, `*channels` bytes per pixel:
/// 1 for grey, 3 for RGB; no row padding), their length, width and height.
/// The pixels stay valid, unchanged, until `honnin_display_photo_free`.
///
/// Thread safety: callable from any thread; not at the same time as freeing
/// this photo.
///
/// # Safety
/// `photo` must be a handle (any value is checked); the other arguments must
/// point to writable storage of their types.
#[no_mangle]
pub unsafe extern "C" fn honnin_display_photo_pixels(
    photo: *const honnin_display_photo,
    pixels: *mut *const u8,
    len: *mut usize,
    width: *mut u32,
    height: *mut u32,
    channels: *mut u32,
) -> honnin_status {
    guard(|| {
        let photo = handles::get::<DisplayPhoto>(id(photo), PHOTO)?;
        check_out(pixels, "pixels")?;
        check_out(len, "len")?;
        check_out(width, "width")?;
        check_out(height, "height")?;
        check_out(channels, "channels")?;
        let data = photo.pixels();
        // SAFETY: checked non-NULL; the caller promised they are writable. The
        // pointer stays valid while the table holds the photo (until its `_free`).
        unsafe {
            *pixels = data.as_ptr();
            *len = data.len();
            *width = photo.width();
            *height = photo.height();
            *channels = if photo.is_grey() { 1 } else { 3 };
        }
        Ok(())
    })
}

/// Wipes and frees a display photo; the handle and its pixel pointer are
/// invalid from now on.
///
/// Thread safety: callable from any thread; not while another thread reads
/// this photo's pixels.
///
/// # Safety
/// `photo` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_display_photo_free(photo: *mut honnin_display_photo) -> honnin_status {
    guard(|| {
        // The photo's buffer wipes itself when the last reference drops (here,
        // unless a call on another thread still holds one).
        drop(handles::remove(id(photo), PHOTO)?);
        Ok(())
    })
}
