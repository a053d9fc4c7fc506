//! Which images `honnin-lab eval` embeds and which comparisons it makes:
//! pairs (LFW pairs files or CSV), identity folders, and card-like references
//! in place of the first image of each pair.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use honnin::input::ReferenceKind;

use super::args::EvalArgs;
use crate::lfw::{read_pairs, ImageId};

/// One image to embed: a file, read as a live frame, or a card-like reference read as a card photo.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Item {
    pub(super) path: PathBuf,
    pub(super) card_like: bool,
}

/// The comparisons of a protocol, by item index, and who is who.
pub(super) struct Protocol {
    pub(super) description: String,
    pub(super) items: Vec<Item>,
    /// Subject of each item.
    pub(super) subject_of: Vec<u32>,
    pub(super) subjects: u32,
    pub(super) genuine: Vec<(usize, usize)>,
    pub(super) impostor: Vec<(usize, usize)>,
    /// Fold of each genuine and impostor pair, when the protocol has folds
    /// (`folds[k]` for `genuine` then `impostor`, in order).
    pub(super) folds: Option<(Vec<usize>, Vec<usize>)>,
    pub(super) reference: ReferenceKind,
    /// What about the protocol the reader should know (doubtful rows, fewer pairs than asked for).
    pub(super) warnings: Vec<String>,
    /// Entries of an identity tree left out, and why.
    pub(super) skipped: Skipped,
}

/// The protocol `args` name: identity folders (`--identities`), else pairs.
pub(super) fn protocol(args: &EvalArgs) -> Result<Protocol> {
    match &args.identities {
        Some(dir) => identity_protocol(dir, args),
        None => pairs_protocol(args),
    }
}

fn pairs_protocol(args: &EvalArgs) -> Result<Protocol> {
    let path = if Path::new(&args.pairs).is_absolute() || Path::new(&args.pairs).exists() {
        PathBuf::from(&args.pairs)
    } else {
        args.lfw.join(&args.pairs)
    };
    let images_root = args.images.clone().unwrap_or_else(|| args.lfw.join("images"));
    // (first image, second image, same, fold), paths relative to the image root.
    let mut rows: Vec<(PathBuf, PathBuf, bool, usize)> = Vec::new();
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for (n, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if line.trim().is_empty() || (n == 0 && fields.first().is_some_and(|f| f.eq_ignore_ascii_case("img1"))) {
                continue;
            }
            let (a, b, same, fold) = match fields.as_slice() {
                [a, b, same] => (a, b, same, "0"),
                [a, b, same, fold] => (a, b, same, *fold),
                _ => bail!("{} line {}: expected img1,img2,same[,fold]", path.display(), n + 1),
            };
            let same = match same.to_ascii_lowercase().as_str() {
                "1" | "true" | "same" => true,
                "0" | "false" | "different" => false,
                other => bail!("{} line {}: `same` must be 1/0 or true/false, got {other:?}", path.display(), n + 1),
            };
            let fold = fold.parse().with_context(|| format!("{} line {}: fold", path.display(), n + 1))?;
            if a == b {
                bail!("{} line {}: an image compared with itself", path.display(), n + 1);
            }
            rows.push((PathBuf::from(a), PathBuf::from(b), same, fold));
        }
    } else {
        for p in read_pairs(&path)? {
            let rel = |id: &ImageId| PathBuf::from(&id.name).join(format!("{}_{:04}.jpg", id.name, id.number));
            rows.push((rel(&p.a), rel(&p.b), p.same, p.fold));
        }
    }
    if rows.is_empty() {
        bail!("{} holds no pairs", path.display());
    }
    // Subjects: the folder an image is in (LFW: the identity).
    let mut subject_ids: BTreeMap<String, u32> = BTreeMap::new();
    let mut subject = |rel: &Path| -> u32 {
        let name = rel.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let next = subject_ids.len() as u32;
        *subject_ids.entry(name).or_insert(next)
    };
    let mut index: BTreeMap<Item, usize> = BTreeMap::new();
    let mut items = Vec::new();
    let mut subject_of = Vec::new();
    let mut intern = |item: Item, s: u32| -> usize {
        *index.entry(item.clone()).or_insert_with(|| {
            items.push(item);
            subject_of.push(s);
            items.len() - 1
        })
    };
    let (mut genuine, mut impostor, mut gf, mut imf) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (a, b, same, fold) in &rows {
        let first = match &args.card_like {
            Some(dir) => Item { path: dir.join(a.with_extension("jp2")), card_like: true },
            None => Item { path: images_root.join(a), card_like: false },
        };
        let (sa, sb) = (subject(a), subject(b));
        let ia = intern(first, sa);
        let ib = intern(Item { path: images_root.join(b), card_like: false }, sb);
        if *same {
            genuine.push((ia, ib));
            gf.push(*fold);
        } else {
            impostor.push((ia, ib));
            imf.push(*fold);
        }
    }
    let folds = rows.iter().map(|r| r.3).collect::<std::collections::BTreeSet<_>>().len();
    // Subjects are folders: say so when the rows contradict that.
    let folder = |p: &Path| p.parent().map(Path::to_path_buf);
    let split = rows.iter().filter(|r| r.2 && folder(&r.0) != folder(&r.1)).count();
    let joined = rows.iter().filter(|r| !r.2 && folder(&r.0) == folder(&r.1)).count();
    let mut warnings = Vec::new();
    if split + joined > 0 {
        warnings.push(format!(
            "subjects are taken from image folders, but {split} genuine pair(s) span two folders and {joined} \
             impostor pair(s) lie in one: the subject-bootstrap intervals do not follow the real subjects"
        ));
    }
    Ok(Protocol {
        description: format!(
            "pairs {} ({} pairs, {folds} fold(s)){}",
            path.display(),
            rows.len(),
            if args.card_like.is_some() { "; first image of each pair as its card-like reference" } else { "" }
        ),
        subjects: subject_ids.len() as u32,
        items,
        subject_of,
        genuine,
        impostor,
        folds: (folds >= 2).then_some((gf, imf)),
        reference: if args.card_like.is_some() { ReferenceKind::Grey } else { ReferenceKind::Colour },
        warnings,
        skipped: Skipped::default(),
    })
}

/// Files an identity folder may hold as images (others, such as notes, are skipped).
const IMAGE_EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "webp", "jp2", "j2k", "j2c"];

/// Entries of an identity tree that the protocol does not use, by reason,
/// so that a report says what it left out rather than leaving it out silently.
#[derive(Default)]
pub(super) struct Skipped(BTreeMap<&'static str, Vec<PathBuf>>);

impl Skipped {
    const HIDDEN: &'static str = "hidden (name starts with a dot)";
    const NOT_AN_IMAGE: &'static str = "not an image file (by extension)";
    const NOT_FILE_OR_FOLDER: &'static str = "neither a file nor a folder (device, pipe or socket)";
    const BROKEN_LINK: &'static str = "broken symbolic link";
    const UNREADABLE: &'static str = "unreadable entry";
    const LOOP: &'static str = "link to the tree itself or a folder above it (a loop)";
    const SAME_FOLDER: &'static str = "another path to an identity folder already listed";
    const SAME_FILE: &'static str = "another path to an image already listed";
    const FILE_AT_TOP: &'static str = "file beside the identity folders";
    const NESTED_FOLDER: &'static str = "folder inside an identity folder (not searched)";
    const NO_IMAGES: &'static str = "identity folder without images";
    const OVER_MAX: &'static str = "beyond --max-per-identity";

    fn add(&mut self, reason: &'static str, path: PathBuf) {
        self.0.entry(reason).or_default().push(path);
    }

    fn total(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// Each reason with its count and up to five of its paths.
    pub(super) fn json(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|(reason, paths)| {
                serde_json::json!({ "reason": reason, "count": paths.len(), "examples": &paths[..paths.len().min(5)] })
            })
            .collect()
    }

    /// `3 entries: 2 broken symbolic link, 1 hidden (...)`.
    pub(super) fn summary(&self) -> Option<String> {
        (self.total() > 0).then(|| {
            let parts: Vec<String> = self.0.iter().map(|(reason, paths)| format!("{} {reason}", paths.len())).collect();
            format!("{} entries: {}", self.total(), parts.join("; "))
        })
    }
}

/// What an entry of a folder is, symbolic links followed; `Err` with the
/// reason to skip it otherwise.
fn entry_kind(
    entry: &std::io::Result<std::fs::DirEntry>,
) -> std::result::Result<(PathBuf, std::fs::Metadata), &'static str> {
    let entry = entry.as_ref().map_err(|_| Skipped::UNREADABLE)?;
    let path = entry.path();
    if entry.file_name().to_string_lossy().starts_with('.') {
        return Err(Skipped::HIDDEN);
    }
    match std::fs::metadata(&path) {
        Ok(meta) => Ok((path, meta)),
        Err(_) if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) => {
            Err(Skipped::BROKEN_LINK)
        }
        Err(_) => Err(Skipped::UNREADABLE),
    }
}

/// The entries of `dir`, sorted by name, each with its metadata (symbolic
/// links followed) or the reason it is skipped.
type Listing = Vec<(PathBuf, std::result::Result<std::fs::Metadata, &'static str>)>;

fn list(dir: &Path) -> Result<Listing> {
    let mut entries: Listing = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|entry| {
            let path = entry.as_ref().map_or_else(|_| dir.to_path_buf(), std::fs::DirEntry::path);
            match entry_kind(&entry) {
                Ok((path, meta)) => (path, Ok(meta)),
                Err(reason) => (path, Err(reason)),
            }
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// An identity's name (its folder's) and its images.
type Identity = (String, Vec<PathBuf>);

/// The identity folders of `dir` and their images (at most `max_per_identity`
/// each, in file-name order), symbolic links followed, and what was skipped.
/// Each folder and each image is taken once, by its canonical path: a second
/// link to either would pair a face with itself, and a link back up the tree
/// is a loop.
fn identity_tree(dir: &Path, max_per_identity: usize) -> Result<(Vec<Identity>, Skipped)> {
    let root = std::fs::canonicalize(dir).with_context(|| format!("opening {}", dir.display()))?;
    let mut skipped = Skipped::default();
    let mut folders_seen = std::collections::BTreeSet::new();
    let mut images_seen = std::collections::BTreeSet::new();
    let mut identities = Vec::new();
    for (folder, meta) in list(dir)? {
        let meta = match meta {
            Ok(meta) => meta,
            Err(reason) => {
                skipped.add(reason, folder);
                continue;
            }
        };
        if !meta.is_dir() {
            skipped.add(if meta.is_file() { Skipped::FILE_AT_TOP } else { Skipped::NOT_FILE_OR_FOLDER }, folder);
            continue;
        }
        let canonical = std::fs::canonicalize(&folder).with_context(|| format!("opening {}", folder.display()))?;
        if root.starts_with(&canonical) {
            skipped.add(Skipped::LOOP, folder);
            continue;
        }
        if !folders_seen.insert(canonical) {
            skipped.add(Skipped::SAME_FOLDER, folder);
            continue;
        }
        let mut files = Vec::new();
        for (path, meta) in list(&folder)? {
            let meta = match meta {
                Ok(meta) => meta,
                Err(reason) => {
                    skipped.add(reason, path);
                    continue;
                }
            };
            if meta.is_dir() {
                skipped.add(Skipped::NESTED_FOLDER, path);
                continue;
            }
            // Only regular files are read: a pipe would block the evaluation.
            if !meta.is_file() {
                skipped.add(Skipped::NOT_FILE_OR_FOLDER, path);
                continue;
            }
            let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
            if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
                skipped.add(Skipped::NOT_AN_IMAGE, path);
                continue;
            }
            if files.len() >= max_per_identity.max(1) {
                skipped.add(Skipped::OVER_MAX, path);
                continue;
            }
            let canonical = std::fs::canonicalize(&path).with_context(|| format!("opening {}", path.display()))?;
            if !images_seen.insert(canonical) {
                skipped.add(Skipped::SAME_FILE, path);
                continue;
            }
            files.push(path);
        }
        if files.is_empty() {
            skipped.add(Skipped::NO_IMAGES, folder);
            continue;
        }
        let name = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
        identities.push((name, files));
    }
    Ok((identities, skipped))
}

fn identity_protocol(dir: &Path, args: &EvalArgs) -> Result<Protocol> {
    let (identities, skipped) = identity_tree(dir, args.max_per_identity)?;
    if identities.len() < 2 {
        let left_out = skipped.summary().map_or(String::new(), |s| format!(" (left out: {s})"));
        bail!("{}: fewer than 2 identity folders with images{left_out}", dir.display());
    }
    let mut items = Vec::new();
    let mut subject_of = Vec::new();
    let mut first_of = Vec::new();
    let mut genuine = Vec::new();
    for (s, (_, files)) in identities.iter().enumerate() {
        let start = items.len();
        first_of.push(start);
        for f in files {
            items.push(Item { path: f.clone(), card_like: false });
            subject_of.push(s as u32);
        }
        for i in start..items.len() {
            for j in i + 1..items.len() {
                genuine.push((i, j));
            }
        }
    }
    let n = identities.len();
    let mut impostor: Vec<(usize, usize)> = match args.impostors.as_str() {
        "first" => {
            (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))).map(|(a, b)| (first_of[a], first_of[b])).collect()
        }
        "all" => {
            let count = items.len();
            let subject_of = &subject_of;
            (0..count)
                .flat_map(|i| (i + 1..count).filter(move |&j| subject_of[i] != subject_of[j]).map(move |j| (i, j)))
                .collect()
        }
        number => {
            let wanted: usize = number.parse().context("--impostors first, all or a number")?;
            let mut rng = args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = || {
                // xorshift64*: a repeatable draw, nothing secret.
                rng ^= rng >> 12;
                rng ^= rng << 25;
                rng ^= rng >> 27;
                rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
            };
            let mut seen = std::collections::BTreeSet::new();
            // Cross-identity pairs: all pairs less the within-identity ones.
            let sizes = identities.iter().map(|(_, f)| f.len());
            let total_cross = (items.len() * items.len() - sizes.map(|k| k * k).sum::<usize>()) / 2;
            let wanted = wanted.min(total_cross);
            let mut tries = 0usize;
            while seen.len() < wanted && tries < wanted.saturating_mul(50) {
                tries += 1;
                let (i, j) = ((next() % items.len() as u64) as usize, (next() % items.len() as u64) as usize);
                if subject_of[i] != subject_of[j] {
                    seen.insert((i.min(j), i.max(j)));
                }
            }
            seen.into_iter().collect()
        }
    };
    // Card-like references: the first image of every pair is replaced by its
    // card-like reference (`<dir>/<identity>/<file stem>.jp2`), read as a card photo.
    if let Some(card_dir) = &args.card_like {
        let colour = items.len();
        let mut card_of = vec![usize::MAX; colour];
        for pair in genuine.iter_mut().chain(impostor.iter_mut()) {
            let a = pair.0;
            if card_of[a] == usize::MAX {
                let rel = items[a].path.strip_prefix(dir).unwrap_or(&items[a].path).with_extension("jp2");
                items.push(Item { path: card_dir.join(rel), card_like: true });
                subject_of.push(subject_of[a]);
                card_of[a] = items.len() - 1;
            }
            pair.0 = card_of[a];
        }
    }
    let mut warnings = Vec::new();
    if let Ok(asked) = args.impostors.parse::<usize>() {
        if impostor.len() < asked {
            warnings.push(format!("{asked} impostor pairs asked for, {} drawn", impostor.len()));
        }
    }
    if args.card_like.is_some() {
        // Colour images that no pair uses any more (first images only ever on
        // the reference side) are dropped, so that they count nowhere.
        let mut used = vec![false; items.len()];
        genuine.iter().chain(&impostor).for_each(|&(a, b)| {
            used[a] = true;
            used[b] = true;
        });
        let mut new_index = vec![usize::MAX; items.len()];
        let (mut kept_items, mut kept_subjects) = (Vec::new(), Vec::new());
        for (i, item) in items.into_iter().enumerate() {
            if used[i] {
                new_index[i] = kept_items.len();
                kept_items.push(item);
                kept_subjects.push(subject_of[i]);
            }
        }
        for pair in genuine.iter_mut().chain(impostor.iter_mut()) {
            *pair = (new_index[pair.0], new_index[pair.1]);
        }
        items = kept_items;
        subject_of = kept_subjects;
    }
    Ok(Protocol {
        description: format!(
            "identity folders {} ({n} identities, at most {} images each, {} images): every within-identity pair \
             genuine; impostors: {}{}",
            dir.display(),
            args.max_per_identity,
            items.len(),
            match args.impostors.as_str() {
                "first" => "each identity's first image against every other identity's first image".to_string(),
                "all" => "every cross-identity pair".to_string(),
                _ => format!("{} cross-identity pairs drawn with seed {}", impostor.len(), args.seed),
            },
            if args.card_like.is_some() {
                "; the first image of every pair as its card-like reference (grey JPEG 2000, read as a card photo), \
                 the second in colour"
            } else {
                ""
            }
        ),
        subjects: n as u32,
        items,
        subject_of,
        genuine,
        impostor,
        folds: None,
        reference: if args.card_like.is_some() { ReferenceKind::Grey } else { ReferenceKind::Colour },
        warnings,
        skipped,
    })
}
