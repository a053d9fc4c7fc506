//! How untrusted card and live input is read: which face of the card data,
//! and under which limits.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Args;
use honnin::card::CardData;
use honnin::{CardPhoto, Limits, LiveFrame};

/// How untrusted card and live input is read.
#[derive(Args, Clone)]
pub(crate) struct InputArgs {
    /// Which face image of the card data to use, from 0 (a record may hold several).
    #[arg(long, default_value_t = 0)]
    pub(crate) face: usize,
    /// Lift every input limit (bytes, dimensions, decoder memory, TLV depth, faces).
    /// Only for trusted, offline data.
    #[arg(long)]
    pub(crate) no_limits: bool,
}

impl InputArgs {
    pub(crate) fn limits(&self) -> Limits {
        if self.no_limits {
            Limits::no_limits()
        } else {
            Limits::default()
        }
    }

    /// Reads card data and decodes the chosen face image.
    pub(crate) fn card(&self, path: &Path) -> Result<CardPhoto> {
        let limits = self.limits();
        let bytes = honnin::input::read_input_file(path, &limits)?;
        let data = CardData::parse(&bytes, &limits).with_context(|| format!("card data {}", path.display()))?;
        CardPhoto::from_card_data(&data, self.face, &limits).with_context(|| format!("card photo {}", path.display()))
    }

    /// Reads and decodes a live photo; its bytes are wiped once decoded.
    pub(crate) fn live(&self, path: &Path) -> Result<LiveFrame> {
        let limits = self.limits();
        let bytes = honnin::input::read_input_file(path, &limits)?;
        LiveFrame::from_bytes_with_limits(&bytes, &limits).with_context(|| format!("live photo {}", path.display()))
    }
}
